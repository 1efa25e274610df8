"""A real OpenAI-compatible chat completions server on loopback, for tests.

It speaks HTTP like the real thing, so the real ``openai`` SDK (retries, timeouts, error classes)
runs against it::

    with FakeLLMServer(default_content='{"title": "Hi"}') as server:
        server.script(Reply(status=429), Reply(content='{"title": "Hello"}'))
        provider = OpenAIProvider(base_url=server.base_url, ...)
        ...
        assert server.requests[-1]["response_format"]["type"] == "json_schema"
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LLAMA_CPP_FORMAT_ERROR = "Input should be 'text' or 'json_object'"


@dataclass
class Reply:
    """One answer of the fake server."""

    content: str | None = None  # message content (None: the server's default content)
    status: int = 200  # e.g. 401, 429, 500
    delay_s: float = 0.0  # wait before answering (for timeout tests)
    finish_reason: str = "stop"
    error_message: str | None = None  # message of the error body for non-200 answers


Responder = Callable[[dict[str, Any]], Reply]


def estimate_tokens(text: str) -> int:
    """Count tokens the way the fake does: four characters a token."""
    return len(text) // 4


class FakeLLMServer:
    """An OpenAI-compatible ``POST /v1/chat/completions`` server in a daemon thread."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        default_content: str = "{}",
        refuse_json_schema: bool = False,
        model: str = "fake-model",
    ) -> None:
        self.responder = responder or (lambda body: Reply())
        self.default_content = default_content
        self.refuse_json_schema = refuse_json_schema
        self.model = model
        self.requests: list[dict[str, Any]] = []  # every request body received, in order
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The API base URL to give the SDK, e.g. ``http://127.0.0.1:PORT/v1``."""
        if self._httpd is None:
            raise RuntimeError("the fake LLM server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def script(self, *replies: Reply) -> None:
        """Queue replies served once each, in order, before falling back to the responder."""
        with self._lock:
            self._script.extend(replies)

    def start(self) -> FakeLLMServer:
        """Bind a free loopback port and serve in a daemon thread."""
        self._stopping.clear()
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        # Handler threads are joined on close; delays wake up on stop, so joining is quick.
        httpd.daemon_threads = False
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="fake-llm-server",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake any delayed reply, and close every socket."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()  # joins the handler threads
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _answer(self, body: dict[str, Any]) -> tuple[Reply, dict[str, Any]]:
        """Record ``body`` and decide the reply and the JSON to send."""
        with self._lock:
            self.requests.append(body)
            scripted = self._script.popleft() if self._script else None
        response_format = body.get("response_format") or {}
        if self.refuse_json_schema and response_format.get("type") == "json_schema":
            reply = Reply(status=500, error_message=LLAMA_CPP_FORMAT_ERROR)
        else:
            reply = scripted or self.responder(body)
        if reply.status != 200:
            error_type = "server_error" if reply.status >= 500 else "invalid_request_error"
            message = reply.error_message or f"fake error {reply.status}"
            return reply, {"error": {"message": message, "type": error_type, "code": None}}
        content = self.default_content if reply.content is None else reply.content
        prompt_chars = sum(len(str(m.get("content") or "")) for m in body.get("messages", []))
        prompt_tokens = prompt_chars // 4
        completion_tokens = estimate_tokens(content)
        return reply, {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads
    server_version = "FakeLLM/1.0"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        fake: FakeLLMServer = self.server.fake  # type: ignore[attr-defined]
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found", "type": "not_found"}})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send(400, {"error": {"message": "body is not JSON", "type": "invalid_request"}})
            return
        reply, payload = fake._answer(body)
        if reply.delay_s and fake._stopping.wait(reply.delay_s):
            return  # shutting down: drop the connection
        headers = {"retry-after-ms": "10"} if reply.status == 429 or reply.status >= 500 else {}
        self._send(reply.status, payload, headers)

    def _send(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep test output quiet
