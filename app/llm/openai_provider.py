"""The provider for any OpenAI-compatible chat completions API (OpenAI, vLLM, Ollama, llama.cpp).

Structured output: the template's schema is sent as a strict ``json_schema`` response format.
Some servers refuse that format; llama-cpp-python's answers HTTP 500 "Input should be 'text' or
'json_object'" but enforces ``{"type": "json_object", "schema": ...}``. The rule:

* A 400, 422 or 5xx answer to a ``json_schema`` request whose error message names the response
  format (``response_format``, ``json_schema``, ``json_object`` or ``'text'``) is a refusal of
  the format, not a failure: the same request is sent once more with ``json_object`` plus the
  schema, and this provider uses ``json_object`` for the rest of its life.
* Every other error, and any error of the ``json_object`` request, becomes :class:`LLMError`.
  So one ``draft()`` makes at most two requests and the switch happens at most once.

The SDK retries timeouts, 429 and 5xx itself (``max_retries``), also on the refused request: the
first draft against a llama-cpp-python server pays those quick retries once.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.chat.completion_create_params import ResponseFormat

from app.llm.base import PATCH_SCHEMA, Draft, DraftRequest, LLMError, RevisionRequest
from app.llm.choice import ChoiceRequest, choice_schema
from app.llm.prompts import (
    build_choice_messages,
    build_messages,
    build_revision_messages,
    with_schema,
)

log = logging.getLogger(__name__)

_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "'text'")
_FORMAT_REFUSAL_STATUSES = frozenset({400, 422})
_CODE_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n(?P<body>.*?)\n?\s*```\s*$", re.DOTALL)
_RETRY = "Your prompt and files are saved: press Retry"


class OpenAIProvider:
    """Drafts through an OpenAI-compatible chat completions endpoint."""

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str,
        model: str,
        timeout_s: float,
        max_retries: int,
    ) -> None:
        self.model = model
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.response_format_type = "json_schema"  # becomes "json_object" if the server refuses
        self._client = openai.OpenAI(
            base_url=base_url or None,
            api_key=api_key or "not-needed",  # local servers often take no key
            timeout=timeout_s,
            max_retries=max_retries,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def draft(self, request: DraftRequest) -> Draft:
        """Ask the model for the template's content; raise :class:`LLMError` if no answer came."""
        return self._ask(
            build_messages(request), request.template.name, request.template.schema, "draft"
        )

    def revise(self, request: RevisionRequest) -> Draft:
        """Ask the model for a JSON Patch to the content; raise :class:`LLMError` if none came."""
        return self._ask(build_revision_messages(request), "json_patch", PATCH_SCHEMA, "revision")

    def choose(self, request: ChoiceRequest) -> Draft:
        """Ask the model which template fits; raise :class:`LLMError` if no answer came."""
        return self._ask(
            build_choice_messages(request),
            "template_choice",
            choice_schema(request.names),
            "choice",
        )

    def _ask(
        self, messages: list[dict[str, str]], name: str, schema: dict[str, Any], what: str
    ) -> Draft:
        started = time.monotonic()
        try:
            response = self._complete(messages, name, schema)
        except openai.OpenAIError as exc:
            raise self._user_error(exc) from exc
        draft = _to_draft(response, self.model)
        log.info(
            "LLM %s: model=%s format=%s tokens_in=%d tokens_out=%d seconds=%.1f parsed=%s",
            what,
            draft.model,
            self.response_format_type,
            draft.tokens_in,
            draft.tokens_out,
            time.monotonic() - started,
            draft.content is not None,
        )
        return draft

    def _complete(
        self, messages: list[dict[str, str]], template_name: str, schema: dict[str, Any]
    ) -> ChatCompletion:
        if self.response_format_type == "json_schema":
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {
                    "name": schema_name(template_name),
                    "strict": True,
                    "schema": schema,
                },
            }
            try:
                return self._create(messages, response_format)
            except openai.APIStatusError as exc:
                if not _refuses_format(exc):
                    raise
                log.warning(
                    "LLM server refused json_schema (HTTP %d); using json_object from now on",
                    exc.status_code,
                )
                self.response_format_type = "json_object"
        return self._create(
            with_schema(messages, schema), {"type": "json_object", "schema": schema}
        )

    def _create(
        self, messages: list[dict[str, str]], response_format: dict[str, Any]
    ) -> ChatCompletion:
        # The SDK's TypedDicts do not know llama.cpp's "schema" key; the wire format is plain JSON.
        return self._client.chat.completions.create(
            model=self.model,
            messages=cast("list[ChatCompletionMessageParam]", messages),
            response_format=cast("ResponseFormat", response_format),
            temperature=0.2,
        )

    def _user_error(self, exc: openai.OpenAIError) -> LLMError:
        """Say what went wrong and what to do, in the user's words."""
        # Never echo the server's error text: it may quote the prompt or the files.
        tries = f"{self.max_retries + 1} time{'s' if self.max_retries else ''}"
        if isinstance(exc, openai.APITimeoutError):
            log.warning("LLM timeout after %s s, tried %s", self.timeout_s, tries)
            return LLMError(
                f"The AI service did not answer within {self.timeout_s:g} s (tried {tries}). "
                f"{_RETRY}, or try later."
            )
        if isinstance(exc, openai.APIConnectionError):
            log.warning("LLM connection failed: %s", type(exc.__cause__).__name__)
            return LLMError(
                f"The AI service could not be reached (tried {tries}). {_RETRY} later; "
                "if it keeps failing, ask an admin to check SITEWRIGHT_LLM_BASE_URL."
            )
        if not isinstance(exc, openai.APIStatusError):
            log.warning("LLM call failed: %s", type(exc).__name__)
            return LLMError(f"The AI service failed unexpectedly. {_RETRY}.")

        status = exc.status_code
        log.warning(
            "LLM call failed: HTTP %d code=%s request_id=%s", status, exc.code, exc.request_id
        )
        if isinstance(exc, openai.RateLimitError):
            return LLMError(
                f"The AI service is busy or over quota (HTTP 429, tried {tries}). "
                f"{_RETRY} in a few minutes."
            )
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return LLMError(
                f"The AI service rejected the API key (HTTP {status}); ask an admin to check "
                "SITEWRIGHT_LLM_API_KEY. Your prompt and files are saved.",
                retryable=False,
            )
        if isinstance(exc, openai.NotFoundError):
            return LLMError(
                f"The AI service does not know the model {self.model!r} (HTTP 404); ask an admin "
                "to check SITEWRIGHT_LLM_MODEL and SITEWRIGHT_LLM_BASE_URL. Your prompt and "
                "files are saved.",
                retryable=False,
            )
        if _refuses_format(exc):
            return LLMError(
                f"The AI service does not support JSON output (HTTP {status}); ask an admin to "
                "configure a model server that does. Your prompt and files are saved.",
                retryable=False,
            )
        if status >= 500:
            return LLMError(
                f"The AI service had an internal error (HTTP {status}, tried {tries}). "
                f"{_RETRY}, or try later."
            )
        if exc.code == "context_length_exceeded":
            return LLMError(
                "The prompt and files are too long for the AI model. Remove or shorten some "
                "files and try again; your inputs are saved.",
                retryable=False,
            )
        return LLMError(
            f"The AI service refused the request (HTTP {status}). Your prompt and files are "
            "saved; if Retry does not help, ask an admin to check the LLM settings.",
            retryable=False,
        )


def schema_name(template_name: str) -> str:
    """Return ``template_name`` as a response-format name: [a-zA-Z0-9_-], at most 64 chars."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", template_name)[:64] or "content"


def parse_content(raw: str) -> tuple[dict[str, Any] | None, str | None]:
    """Parse the model's text as one JSON object; return (content, None) or (None, why not)."""
    fenced = _CODE_FENCE.match(raw)
    text = fenced.group("body") if fenced else raw
    if not text.strip():
        return None, "the answer was empty"
    try:
        value = json.loads(text)
    except RecursionError:
        return None, "the answer is nested too deeply"
    except ValueError as exc:  # json.JSONDecodeError, or an over-long integer
        return None, str(exc)
    if not isinstance(value, dict):
        return None, f"the answer is a JSON {type(value).__name__}, not an object"
    return value, None


def _refuses_format(exc: openai.APIStatusError) -> bool:
    if exc.status_code not in _FORMAT_REFUSAL_STATUSES and exc.status_code < 500:
        return False
    # The SDK keeps only error.message in exc.message; FastAPI-style bodies ({"detail": [...]})
    # carry the reason elsewhere, so look at the whole body too.
    text = f"{exc.message} {json.dumps(exc.body, default=str)}".lower()
    return any(word in text for word in _FORMAT_WORDS)


def _to_draft(response: ChatCompletion, requested_model: str) -> Draft:
    usage = response.usage
    tokens_in = (usage.prompt_tokens or 0) if usage else 0
    tokens_out = (usage.completion_tokens or 0) if usage else 0
    model = response.model or requested_model
    if not response.choices:
        return Draft(None, "", model, tokens_in, tokens_out, parse_error="the answer was empty")
    choice = response.choices[0]
    if choice.message.refusal:
        raise LLMError(
            "The AI model declined to write this content. Rephrase the prompt and "
            "press Retry; your inputs are saved."
        )
    raw = choice.message.content or ""
    error: str | None
    if choice.finish_reason == "length":
        content, error = None, "the answer was cut off (too long)"
    else:
        content, error = parse_content(raw)
    return Draft(content, raw, model, tokens_in, tokens_out, parse_error=error)
