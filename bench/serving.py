"""Benchmark serving a published site against a hello-world route on the same gunicorn.

What is measured
    gunicorn runs ``bench/serving_app.py`` (the real app from ``app.wsgi`` plus ``GET
    /bench/hello``, which answers "hello" with no sign-in and no database) with the repository's
    ``gunicorn.conf.py``, bound to loopback, on a fresh data folder with the demo workspace
    (SQLite in a temporary folder, or a new PostgreSQL schema dropped afterwards). A workspace
    member signs in through the development sign-in with ``requests``; ``wrk`` then loads the
    demo customer review's published page (charts; access check, page read, view counted) with
    that session cookie, and the hello route with the same connections, threads and duration,
    alternating, in the same run.

    Printed: requests/s, p50 and p99 of each, and the ratios page / hello of throughput
    (target >= 0.6) and of p99 latency (target <= 2.5).

wrk comes from Debian: ``apt-get install -y wrk``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from harness import REPO, database, postgres_url
from sqlalchemy import select

from app import create_app
from app.cli import upgrade_database
from app.demo import load_demo
from app.models import Site

TARGET_THROUGHPUT = 0.6
TARGET_P99 = 2.5
# What gunicorn.conf.py sets, for when it is missing (it is the file that counts).
INLINE_CONFIG = [
    "--workers",
    str(min(2 * (os.cpu_count() or 1) + 1, 12)),
    "--worker-class",
    "gthread",
    "--threads",
    "4",
    "--timeout",
    "120",
    "--keep-alive",
    "5",
]


@dataclass
class Load:
    """What one wrk run reported."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def prepare(data_dir: Path, database_url: str) -> dict[str, str]:
    """Migrate the database, load the demo workspace; return the server's environment."""
    settings: dict[str, Any] = {
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "DEV_LOGIN": True,
        "LLM_BASE_URL": "http://127.0.0.1:9/v1",  # nothing listens: no call leaves
        "LLM_MAX_RETRIES": 0,
    }
    app = create_app(settings)
    upgrade_database(app)
    deps = app.extensions["sitewright.deps"]
    try:
        for line in load_demo(deps):
            print(f"  {line}")
    finally:
        deps.close()
        app.extensions["sitewright.db"].dispose()
    return {
        "SITEWRIGHT_DATA_DIR": str(data_dir),
        "SITEWRIGHT_DATABASE_URL": database_url,
        "SITEWRIGHT_DEV_LOGIN": "1",
        "SITEWRIGHT_SECRET_KEY": os.urandom(32).hex(),  # one key for every worker
        "SITEWRIGHT_LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "SITEWRIGHT_LLM_MAX_RETRIES": "0",
    }


def demo_slug(database_url: str, data_dir: Path, template: str) -> str:
    app = create_app({"DATA_DIR": str(data_dir), "DATABASE_URL": database_url, "DEV_LOGIN": True})
    deps = app.extensions["sitewright.deps"]
    try:
        with deps.db.session() as session:
            slug: str = session.scalars(select(Site.slug).where(Site.template == template)).one()
    finally:
        deps.close()
        app.extensions["sitewright.db"].dispose()
    return slug


def start_gunicorn(config: Path | None, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start gunicorn on loopback with the repository's config (or its inline equivalent)."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    options = ["--config", str(config)] if config else INLINE_CONFIG
    command = [
        str(gunicorn),
        *options,
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(REPO / "bench"),
        "--access-logfile",
        "/dev/null",
        "serving_app:app",
    ]
    log = tempfile.NamedTemporaryFile("w+", prefix="sitewright-gunicorn-", suffix=".log")  # noqa: SIM115
    server = subprocess.Popen(  # noqa: S603 - our own virtualenv's gunicorn
        command,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        start_new_session=True,
    )
    server.log = log  # type: ignore[attr-defined]
    try:
        wait_until_up(server, port)
    except BaseException:
        stop(server)
        raise
    return server


def wait_until_up(server: subprocess.Popen[str], port: int) -> None:
    log = server.log  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise SystemExit(f"gunicorn exited:\n{log.read()[-3000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/bench/hello", timeout=5).ok:
                return
        except requests.RequestException:  # still starting: the workers import the app
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within 60 s")


def stop(server: subprocess.Popen[str]) -> None:
    """Stop gunicorn (its process group: the arbiter and its workers)."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    server.log.close()  # type: ignore[attr-defined]


def sign_in(base: str, email: str) -> str:
    """Sign in through the development sign-in; return the Cookie header value."""
    browser = requests.Session()
    form = browser.get(f"{base}/auth/dev", timeout=10)
    form.raise_for_status()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if token is None:
        raise SystemExit("no CSRF token on the development sign-in form")
    answer = browser.post(
        f"{base}/auth/dev",
        data={"csrf_token": token.group(1), "email": email, "name": "Bench", "next": "/"},
        timeout=10,
    )
    answer.raise_for_status()
    return "; ".join(f"{c.name}={c.value}" for c in browser.cookies)


def wrk(url: str, args: argparse.Namespace, cookie: str | None) -> Load:
    """Load ``url`` with wrk; return requests/s and the latency percentiles."""
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(  # noqa: S603 - wrk from PATH, our arguments
        [*command, url], capture_output=True, text=True, check=True, timeout=args.duration + 60
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors:.*", output)
    if socket_errors:
        print(f"    wrk: {socket_errors.group(0)}")
    return Load(
        rps,
        _latency(output, "50%"),
        _latency(output, "99%"),
        int(errors.group(1)) if errors else 0,
    )


def _latency(output: str, percentile: str) -> float:
    match = re.search(rf"^\s+{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    if match is None:
        raise SystemExit(f"wrk printed no {percentile} latency:\n{output}")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run(args: argparse.Namespace) -> None:
    config = Path(args.config) if args.config else None
    if config and not config.is_file():
        print(f"{config} not found: using the equivalent inline config {' '.join(INLINE_CONFIG)}")
        config = None
    with (
        tempfile.TemporaryDirectory(prefix="sitewright-bench-") as folder,
        database(postgres_url(args.database_url), Path(folder)) as url,
    ):
        data_dir = Path(folder) / "data"
        env = prepare(data_dir, url)
        slug = demo_slug(url, data_dir, args.template)
        port = free_port()
        server = start_gunicorn(config, port, env)
        try:
            base = f"http://127.0.0.1:{port}"
            cookie = sign_in(base, "bench@example.com")
            page_url = f"{base}/s/{slug}/"
            check = requests.get(page_url, headers={"Cookie": cookie}, timeout=10)
            if check.status_code != 200 or "data-figure" not in check.text:
                raise SystemExit(f"the published page answered {check.status_code}, not a page")
            print(f"  page {page_url}: {len(check.content):,} bytes; warming up", flush=True)
            wrk(page_url, _short(args), cookie)
            wrk(f"{base}/bench/hello", _short(args), None)
            hello: list[Load] = []
            page: list[Load] = []
            signed_in: list[Load] = []
            for _ in range(args.repeat):
                hello.append(wrk(f"{base}/bench/hello", args, None))
                page.append(wrk(page_url, args, cookie))
                if args.signed_in_hello:
                    signed_in.append(wrk(f"{base}/bench/hello", args, cookie))
                print(f"    hello {hello[-1].rps:7.0f} req/s, page {page[-1].rps:7.0f} req/s")
        finally:
            stop(server)
    report(args, config, url.split(":", 1)[0], hello, page, signed_in)


def _short(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), "duration": 2})


def report(
    args: argparse.Namespace,
    config: Path | None,
    db: str,
    hello: list[Load],
    page: list[Load],
    signed_in: list[Load],
) -> None:
    def med(loads: list[Load], key: str) -> float:
        return statistics.median(getattr(load, key) for load in loads)

    rps_ratio = med(page, "rps") / med(hello, "rps")
    p99_ratio = med(page, "p99_ms") / med(hello, "p99_ms")
    print(
        f"\ngunicorn config: {config or 'inline: ' + ' '.join(INLINE_CONFIG)}; database {db}; "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
        f"median of {args.repeat} alternating runs"
    )
    print(f"{'route':<28}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
    rows = [(f"published {args.template}", page), ("/bench/hello", hello)]
    if signed_in:
        rows.append(("/bench/hello, signed in", signed_in))
    for name, loads in rows:
        errors = sum(load.errors for load in loads)
        print(
            f"{name:<28}{med(loads, 'rps'):>9.0f}{med(loads, 'p50_ms'):>9.2f}"
            f"{med(loads, 'p99_ms'):>9.2f}{errors:>9}"
        )
    print(
        f"throughput page/hello {rps_ratio:.2f} (target >= {TARGET_THROUGHPUT}) "
        f"{'ok' if rps_ratio >= TARGET_THROUGHPUT else 'MISSED'}\n"
        f"p99 latency page/hello {p99_ratio:.2f} (target <= {TARGET_P99}) "
        f"{'ok' if p99_ratio <= TARGET_P99 else 'MISSED'}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        default=str(REPO / "gunicorn.conf.py"),
        help="gunicorn config file (default: the repository's; missing: an inline equivalent)",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each route")
    parser.add_argument(
        "--signed-in-hello",
        action="store_true",
        help="also load the hello route with the session cookie (what signing in costs)",
    )
    parser.add_argument(
        "--template", default="customer_review", help="the demo site to load (its template)"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL to run in a new schema (dropped after); 'env' reads "
        "SITEWRIGHT_BENCH_POSTGRES_URL; default: SQLite in a temporary folder",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    started = time.perf_counter()
    run(args)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
