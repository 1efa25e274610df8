"""Real processes for scale tests: gunicorn web processes and ``sitewright worker``s.

Each process gets the test's settings through its environment, as a deployment would.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.conftest import REPO
from tests.jobs.conftest import env_for

BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Processes:
    """Start processes with one environment; stop them all (and keep their output) at the end."""

    def __init__(self, settings: dict[str, Any], log_dir: Path, **extra_env: str) -> None:
        self.settings, self.extra_env = settings, extra_env
        self.log_dir = log_dir
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def _start(self, name: str, args: list[str], **env: str) -> subprocess.Popen[bytes]:
        log = self.log_dir / f"{name}-{len(self.started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own commands
                args,
                env={**env_for(self.settings), **self.extra_env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        self.started.append((process, log))
        return process

    def web(self, workers: int = 2, threads: int = 4) -> str:
        """Start gunicorn with the repository's gunicorn.conf.py; return its base URL."""
        port = free_port()
        self._start(
            "web",
            [
                str(BIN / "gunicorn"),
                "-c",
                "gunicorn.conf.py",
                "-b",
                f"127.0.0.1:{port}",
                "app.wsgi:app",
            ],
            WEB_CONCURRENCY=str(workers),
            GUNICORN_THREADS=str(threads),
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    return base
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer on {base}:\n{self.output()}")

    def worker(self, *args: str) -> subprocess.Popen[bytes]:
        """Start ``sitewright worker``."""
        return self._start("worker", [str(BIN / "sitewright"), "worker", *args])

    def output(self) -> str:
        """Everything the processes printed so far."""
        return "\n".join(
            f"--- {log.name}\n{log.read_text('utf-8', 'replace')}" for _, log in self.started
        )

    def grep(self, pattern: str) -> list[str]:
        """Lines of the processes' output that match ``pattern``."""
        return [line for line in self.output().splitlines() if re.search(pattern, line)]

    def stop(self) -> None:
        """Stop every process (TERM, then KILL)."""
        for process, _ in self.started:
            if process.poll() is None:
                process.terminate()
        for process, _ in self.started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def sign_in(base: str, email: str) -> requests.Session:
    """Sign in through the development sign-in form of ``base``; return the browser session."""
    session = requests.Session()
    page = session.get(f"{base}/auth/dev", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, page[:500]
    answer = session.post(
        f"{base}/auth/dev",
        data={"csrf_token": token.group(1), "email": email, "name": email.split("@")[0]},
        timeout=10,
        allow_redirects=False,
    )
    assert answer.status_code in (302, 303), answer.text[:500]
    return session


def api(base: str, token: str) -> requests.Session:
    """A session that calls ``base``'s API with a bearer token."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def wait_job(
    session: requests.Session, base: str, job_id: str, timeout: float = 120
) -> dict[str, Any]:
    """Poll a job through the API until it ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = session.get(f"{base}/api/v1/jobs/{job_id}", timeout=10).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end: {job}")
