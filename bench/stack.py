"""A real Sitewright stack on loopback, as subprocesses, for the load and fault scripts.

``running_stack()`` migrates a fresh database (SQLite in a temporary folder, or a new PostgreSQL
schema dropped afterwards) with ``sitewright db upgrade``, then starts gunicorn with the
repository's ``gunicorn.conf.py`` bound to 127.0.0.1 and, with the Redis runner,
``sitewright worker --processes N`` on a Redis database of its own (emptied before and after).
Every process gets the same environment; their output goes to log files in the temporary
folder, which the scripts search for tracebacks. Not a benchmark itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from harness import REPO, SAMPLES, database
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

BIN = Path(sys.executable).parent
GUNICORN_CONF = REPO / "gunicorn.conf.py"
# What gunicorn.conf.py sets, for a checkout that does not have it.
INLINE_GUNICORN = ["--workers", "2", "--worker-class", "gthread", "--threads", "8"]
ADMIN_EMAIL = "admin@example.com"
SESSION_COOKIE = "sitewright_session"
DEFAULT_REDIS = "redis://127.0.0.1:6379"
# Redis databases the scripts may take, highest first (the tests take 1, 2, ... per process).
BENCH_REDIS_DBS = range(15, 8, -1)
_CLAIM_KEY = "sitewright-bench:claimed"


class Skip(Exception):
    """A service the script needs is not there: say so and exit 0."""


@dataclass
class StackOptions:
    """What to start."""

    postgres_url: str | None = None  # None: SQLite in the temporary folder
    runner: str = "threads"  # "threads" (jobs in gunicorn) or "redis" (queue + workers)
    worker_processes: int = 2
    redis_base: str = DEFAULT_REDIS
    env: dict[str, str] = field(default_factory=dict)  # more SITEWRIGHT_* settings


@dataclass
class Stack:
    """A started stack: where it answers, its environment and its processes."""

    base_url: str
    folder: Path
    env: dict[str, str]
    gunicorn: subprocess.Popen[bytes]
    workers: subprocess.Popen[bytes] | None = None
    redis_url: str | None = None
    logs: dict[str, Path] = field(default_factory=dict)

    def cli(self, *args: str) -> str:
        """Run ``sitewright ARGS`` against this stack's database; return its output."""
        return run_cli(self.env, *args)

    def token(self, email: str, name: str = "", groups: tuple[str, ...] = ()) -> str:
        """Create the user if needed and return a new API token for them."""
        args = ["token", "create", "--email", email, "--name", name or email.split("@")[0]]
        for group in groups:
            args += ["--group", group]
        return self.cli(*args).strip().splitlines()[-1]

    def rq_workers(self) -> list[tuple[int, str | None]]:
        """Return (pid, sitewright job id or None) of each live RQ worker."""
        from rq import Worker

        if self.redis_url is None:
            return []
        with Redis.from_url(self.redis_url) as connection:
            found = []
            for worker in Worker.all(connection=connection):
                current = worker.get_current_job_id()
                if worker.pid:
                    found.append((worker.pid, current.split("_", 1)[0] if current else None))
            return found

    def tracebacks(self, limit: int = 3, record: str = r"\[(ERROR|CRITICAL)\]") -> list[str]:
        """Return the last ``limit`` tracebacks of log lines matching ``record`` (ERROR).

        Tracebacks of WARNING lines (a retried heartbeat, a maintenance pass during a
        database restart) are left out: they are expected.
        """
        found: list[str] = []
        for name, path in self.logs.items():
            header, block = "", list[str]()
            for line in path.read_text("utf-8", errors="replace").splitlines():
                if re.match(r"\[\d{4}-", line):  # a new log record: "[time] [pid] [LEVEL] ..."
                    if block:
                        found.append(f"[{name} log] {header}\n" + "\n".join(block))
                    header, block = line, []
                elif re.search(record, header):
                    block.append(line)
            if block:
                found.append(f"[{name} log] {header}\n" + "\n".join(block))
        return found[-limit:]

    def keep_logs(self) -> Path:
        """Copy the logs out of the temporary folder (for a failed run); return where."""
        kept = Path(tempfile.mkdtemp(prefix="sitewright-load-logs-"))
        for path in self.logs.values():
            shutil.copy(path, kept / path.name)
        return kept

    def log_lines(self, pattern: str) -> list[str]:
        """Return the log lines matching the regular expression ``pattern``."""
        regex = re.compile(pattern)
        return [
            line
            for path in self.logs.values()
            for line in path.read_text("utf-8", errors="replace").splitlines()
            if regex.search(line)
        ]

    def count_in_logs(self, pattern: str) -> int:
        """Count the log lines matching the regular expression ``pattern``."""
        return len(self.log_lines(pattern))


def skip(message: str) -> None:
    """Print ``skipped: message`` and exit 0 (a missing service is not a failed run)."""
    print(f"skipped: {message}", flush=True)
    raise SystemExit(0)


def free_port() -> int:
    """Return a TCP port free on loopback now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def check_postgres(url: str) -> None:
    """:raise Skip: PostgreSQL does not answer at ``url``."""
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise Skip(f"PostgreSQL is not reachable at {url} ({type(exc).__name__})") from exc
    finally:
        engine.dispose()


@contextlib.contextmanager
def bench_redis(base: str) -> Iterator[str]:
    """Yield the URL of an empty Redis database claimed for this run; empty it afterwards.

    :raise Skip: Redis does not answer, or every bench database is in use.
    """
    for number in BENCH_REDIS_DBS:
        url = f"{base.rstrip('/')}/{number}"
        connection = Redis.from_url(url, socket_connect_timeout=2)
        try:
            if connection.dbsize() == 0 and connection.set(_CLAIM_KEY, os.getpid(), nx=True):
                break
        except RedisError as exc:
            raise Skip(f"Redis is not reachable at {base} ({exc})") from exc
        connection.close()
    else:
        raise Skip(f"every Redis database {list(BENCH_REDIS_DBS)} at {base} is in use")
    try:
        yield url
    finally:
        with contextlib.suppress(RedisError):
            connection.flushdb()
        connection.close()


def fresh_database(
    postgres_url: str | None, folder: Path
) -> contextlib.AbstractContextManager[str]:
    """A new database for the stack: SQLite in ``folder``, or a new schema (dropped afterwards)."""
    return database(postgres_url, folder, prefix="load", filename="sitewright.db")


def base_env(folder: Path, database_url: str, extra: dict[str, str]) -> dict[str, str]:
    """The environment every process of the stack gets (no SITEWRIGHT_* inherited)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITEWRIGHT_")}
    env.update(
        {
            "SITEWRIGHT_DATABASE_URL": database_url,
            "SITEWRIGHT_DATA_DIR": str(folder / "data"),
            "SITEWRIGHT_SECRET_KEY": secrets.token_hex(32),
            "SITEWRIGHT_DEV_LOGIN": "1",
            "SITEWRIGHT_ADMINS": ADMIN_EMAIL,
            "SITEWRIGHT_SWEEP_MINUTES": "0",  # no sweep changing sites under the load
            "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
            **extra,
        }
    )
    (folder / "metrics").mkdir(exist_ok=True)
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run ``sitewright ARGS`` with ``env``; return its output.

    :raise RuntimeError: the command failed (its output says why).
    """
    done = subprocess.run(  # noqa: S603 - our own console script
        [str(BIN / "sitewright"), *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"sitewright {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own virtualenv's programs
            command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_process(process: subprocess.Popen[bytes], grace_s: float = 30) -> None:
    """Stop a process and its process group: TERM, then KILL after ``grace_s``."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_ready(stack: Stack, timeout_s: float = 90) -> None:
    """Wait until gunicorn answers ``/readyz`` with 200 (database and stores usable)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if stack.gunicorn.poll() is not None:
            tail = stack.logs["gunicorn"].read_text("utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"gunicorn exited:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{stack.base_url}/readyz", timeout=5).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not become ready within {timeout_s:.0f} s")


@contextlib.contextmanager
def running_stack(options: StackOptions) -> Iterator[Stack]:
    """Start a migrated stack on loopback; stop every process and drop its data afterwards.

    :raise Skip: the PostgreSQL or Redis server asked for does not answer.
    """
    if options.postgres_url:
        check_postgres(options.postgres_url)
    with contextlib.ExitStack() as cleanup:
        folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="sitewright-load-")))
        url = cleanup.enter_context(fresh_database(options.postgres_url, folder))
        extra = dict(options.env)
        redis_url = None
        if options.runner == "redis":
            redis_url = cleanup.enter_context(bench_redis(options.redis_base))
            extra["SITEWRIGHT_REDIS_URL"] = redis_url
        env = base_env(folder, url, extra)
        port = free_port()
        config = ["--config", str(GUNICORN_CONF)] if GUNICORN_CONF.is_file() else INLINE_GUNICORN
        logs = {"gunicorn": folder / "gunicorn.log"}
        run_cli(env, "db", "upgrade")
        gunicorn = _start(
            [
                str(BIN / "gunicorn"),
                *config,
                "--bind",
                f"127.0.0.1:{port}",
                "--access-logfile",
                "/dev/null",
                "app.wsgi:app",
            ],
            env,
            logs["gunicorn"],
        )
        cleanup.callback(stop_process, gunicorn)
        stack = Stack(f"http://127.0.0.1:{port}", folder, env, gunicorn, None, redis_url, logs)
        if redis_url is not None:
            logs["worker"] = folder / "worker.log"
            stack.workers = _start(
                [str(BIN / "sitewright"), "worker", "--processes", str(options.worker_processes)],
                env,
                logs["worker"],
            )
            cleanup.callback(stop_process, stack.workers)
        wait_ready(stack)
        yield stack


def sign_in(base_url: str, email: str, name: str = "", groups: tuple[str, ...] = ()) -> str:
    """Sign in through the development sign-in form; return the session cookie's value."""
    with httpx.Client(base_url=base_url, timeout=30) as browser:
        form = browser.get("/auth/dev")
        form.raise_for_status()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        if token is None:
            raise RuntimeError("no CSRF token on the development sign-in form")
        answer = browser.post(
            "/auth/dev",
            data={
                "csrf_token": token.group(1),
                "email": email,
                "name": name or email.split("@")[0],
                "groups": ",".join(groups),
                "next": "/",
            },
        )
        if answer.status_code != 302:
            raise RuntimeError(f"development sign-in for {email} answered {answer.status_code}")
        cookie = browser.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise RuntimeError(f"no session cookie after signing in {email}")
        return cookie


def sample_files(template: str) -> list[tuple[str, tuple[str, bytes]]]:
    """Return the shared sample files of ``template`` as httpx multipart ``files``."""
    folder = SAMPLES / template
    if not folder.is_dir():
        raise SystemExit(f"sample files not found at {folder}")
    return [
        ("files", (path.name, path.read_bytes()))
        for path in sorted(folder.iterdir())
        if path.is_file()
    ]


def site_form(template: str, name: str, **fields: Any) -> dict[str, Any]:
    """Return the form fields of ``POST /api/v1/sites``."""
    return {
        "template": template,
        "prompt": f"Make a useful {template.replace('_', ' ')} site from these files.",
        "name": name,
        "department": "Load test",
        **fields,
    }
