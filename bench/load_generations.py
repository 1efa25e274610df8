"""Fault test: concurrent generations against a slow, faulty OpenAI-compatible server.

What runs
    ``tests/fakes/llm_server.py``'s ``FakeLLMServer`` on loopback with a responder that picks,
    per request and from a seeded random, one of: a good answer (the test replay of the
    template, written for the shared samples) after 0.2-3 s, an answer later than
    ``SITEWRIGHT_LLM_TIMEOUT_S`` (5 s here), 429, 500, text that is not JSON, or JSON that fails
    the template's schema (a field missing, another of the wrong type). ``bench/stack.py``
    starts gunicorn and, by default, a Redis queue with ``sitewright worker --processes 2``
    (``--runner threads``: the thread pool inside gunicorn). ``--jobs`` sites are created at
    once through ``POST /api/v1/sites`` with the shared samples of the three templates, and each
    job is polled (``GET /api/v1/jobs/<id>``) until it ends or ``--deadline`` passes.

    Every job must end succeeded, or failed with a message a user can read; none may be lost
    (its id unknown) or stuck (still queued or running at the deadline).

``--kill-worker-at T`` kills -9, T seconds after the submissions, a worker process that is
running a job (the job lease is 6 s for the run); the lease must bring that job to an end too.

Prints one summary line; exits 1 on a lost or stuck job, a 5xx on submit, or a failed job
without a message::

    .venv/bin/python bench/load_generations.py                   # Redis + 2 workers, SQLite
    .venv/bin/python bench/load_generations.py --kill-worker-at 5
    .venv/bin/python bench/load_generations.py --runner threads
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from harness import TEMPLATES, postgres_url, replay
from stack import (
    DEFAULT_REDIS,
    Skip,
    Stack,
    StackOptions,
    running_stack,
    sample_files,
    site_form,
    skip,
)

# harness put the repository on the path: the fake is the tests' own, not a copy.
from tests.fakes.llm_server import FakeLLMServer, Reply

LLM_TIMEOUT_S = 5.0
KILL_LEASE_S = 6
# Chance of each answer of the fake server; the rest are good answers.
FAULTS = {
    "timeout": 0.10,
    "429": 0.12,
    "500": 0.10,
    "malformed JSON": 0.10,
    "schema-invalid": 0.13,
}
ENDED = ("succeeded", "failed")


@dataclass
class FaultyLLM:
    """The responder of the fake server: a seeded choice of delay and fault per request."""

    seed: int
    served: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - a fault mix, not a secret
        self._lock = threading.Lock()
        self._good = {name: replay(name) for name in TEMPLATES}

    def __call__(self, body: dict[str, Any]) -> Reply:
        """Answer one chat completion request."""
        with self._lock:
            roll, delay = self._rng.random(), self._rng.uniform(0.2, 3.0)
            self.served["requests"] += 1
        good = self._good.get(_template_of(body))
        kind = "good"
        for name, chance in FAULTS.items():
            if roll < chance:
                kind = name
                break
            roll -= chance
        if good is None and kind in ("good", "schema-invalid", "timeout"):
            kind = "unknown template"  # a request this bench did not expect
        with self._lock:
            self.served[kind] += 1
        if kind == "timeout":
            return Reply(content=json.dumps(good), delay_s=LLM_TIMEOUT_S + 2)
        if kind in ("429", "500"):
            return Reply(status=int(kind), delay_s=delay, error_message=f"fake {kind}")
        if kind in ("malformed JSON", "unknown template"):
            return Reply(content='{"title": "Half an answer", "sections": [', delay_s=delay)
        if kind == "schema-invalid":
            assert good is not None
            return Reply(content=json.dumps(_break_schema(good)), delay_s=delay)
        return Reply(content=json.dumps(good), delay_s=delay)


def _template_of(body: dict[str, Any]) -> str:
    """Return the template a request drafts for (the response format's name)."""
    schema = (body.get("response_format") or {}).get("json_schema") or {}
    return str(schema.get("name") or "")


def _break_schema(content: dict[str, Any]) -> dict[str, Any]:
    """Return ``content`` with its first field missing and its second of the wrong type."""
    keys = list(content)
    broken = {k: v for k, v in content.items() if k != keys[0]}
    broken[keys[1]] = 12345 if not isinstance(content[keys[1]], int) else "twelve"
    return broken


@dataclass
class Submitted:
    """One POST /api/v1/sites and what became of its job."""

    template: str
    status: int | None
    job_id: str | None = None
    final: dict[str, Any] | None = None  # the last job state read
    found: bool = True  # False: the job id was unknown (404) when polled


async def submit(api: httpx.AsyncClient, n: int) -> Submitted:
    """Create one site through the API."""
    template = TEMPLATES[n % len(TEMPLATES)]
    try:
        answer = await api.post(
            "/api/v1/sites",
            data=site_form(template, f"Generation {n:02d}"),
            files=sample_files(template),
        )
    except httpx.HTTPError as exc:
        print(f"  submit {n}: {type(exc).__name__}")
        return Submitted(template, None)
    if answer.status_code != 202:
        print(f"  submit {n}: {answer.status_code} {answer.text[:200]}")
        return Submitted(template, answer.status_code)
    return Submitted(template, 202, answer.json()["job"]["id"])


async def follow(api: httpx.AsyncClient, job: Submitted, deadline: float) -> None:
    """Poll the job until it ends or the deadline passes."""
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            answer = await api.get(f"/api/v1/jobs/{job.job_id}")
            if answer.status_code == 404:
                job.found = False
                return
            if answer.status_code == 200:
                job.final = answer.json()
                if job.final["status"] in ENDED:
                    return
        await asyncio.sleep(1)


async def kill_worker(stack: Stack, at: float, started: float) -> str | None:
    """At ``at`` seconds, kill -9 a worker running a job; return that job's id."""
    await asyncio.sleep(max(0.0, started + at - time.monotonic()))
    give_up = time.monotonic() + 30
    while time.monotonic() < give_up:
        busy = [(pid, job) for pid, job in await asyncio.to_thread(stack.rq_workers) if job]
        if busy:
            pid, job_id = busy[0]
            os.kill(pid, signal.SIGKILL)
            print(
                f"  t={time.monotonic() - started:.1f}s: killed worker {pid} (kill -9) "
                f"while it ran job {job_id}",
                flush=True,
            )
            return job_id
        await asyncio.sleep(0.5)
    print("  no worker was running a job within 30 s: nothing killed")
    return None


async def run(
    stack: Stack, token: str, args: argparse.Namespace
) -> tuple[list[Submitted], float, str | None]:
    """Submit the jobs at once, follow each to its end; return them, the wall time and the
    id of the job whose worker was killed."""
    async with httpx.AsyncClient(
        base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as api:
        started = time.monotonic()
        jobs = await asyncio.gather(*(submit(api, n) for n in range(args.jobs)))
        print(f"  submitted {len(jobs)} in {time.monotonic() - started:.1f}s", flush=True)
        killer, killed = None, None
        if args.kill_worker_at is not None:
            killer = asyncio.create_task(kill_worker(stack, args.kill_worker_at, started))
        deadline = started + args.deadline
        await asyncio.gather(*(follow(api, j, deadline) for j in jobs if j.job_id))
        wall = time.monotonic() - started
        if killer is not None:
            killed = await killer
    return jobs, wall, killed


def summarize(
    stack: Stack,
    jobs: list[Submitted],
    wall: float,
    killed: str | None,
    llm: FaultyLLM,
    args: argparse.Namespace,
) -> int:
    """Print the summary line and the failure messages; return the exit code."""
    accepted = [j for j in jobs if j.status == 202]
    server_errors = [j for j in jobs if j.status is None or j.status >= 500]
    lost = [j for j in accepted if not j.found]
    ended = [j for j in accepted if j.final and j.final["status"] in ENDED]
    stuck = [j for j in accepted if j.found and j not in ended]
    succeeded = [j for j in ended if j.final and j.final["status"] == "succeeded"]
    failed = [j for j in ended if j not in succeeded]
    silent = [j for j in failed if not (j.final and (j.final.get("error") or "").strip())]
    served = llm.served
    print(
        f"generations runner={args.runner} db={args.db} submitted={len(jobs)} "
        f"accepted={len(accepted)} succeeded={len(succeeded)} "
        f"failed-with-reason={len(failed) - len(silent)} failed-silently={len(silent)} "
        f"stuck={len(stuck)} lost={len(lost)} submit-5xx={len(server_errors)} "
        f"llm requests={served['requests']} (429={served['429']} 500={served['500']} "
        f"timeout={served['timeout']} malformed={served['malformed JSON']} "
        f"schema-invalid={served['schema-invalid']} good={served['good']}) "
        f"wall={wall:.1f}s",
        flush=True,
    )
    messages = Counter((j.final or {}).get("error") or "" for j in failed)
    for message, count in messages.most_common():
        print(f"  {count} x failed: {message}")
    for job in stuck:
        print(f"  stuck: {job.job_id} {job.final}")
    code = 1 if lost or stuck or server_errors or silent else 0
    if killed:
        final = next((j.final for j in jobs if j.job_id == killed), None)
        print(f"  the killed worker's job {killed} ended: {final}")
        reclaimed = stack.count_in_logs(r"abandoned jobs (queued again|failed): .*" + killed)
        print(f"  lease maintenance log lines naming it: {reclaimed}")
        if not final or final["status"] not in ENDED:
            code = 1
    if stuck or lost:
        for block in stack.tracebacks():
            print(block)
    return code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--runner", choices=("redis", "threads"), default="redis")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (redis)")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("SITEWRIGHT_BENCH_REDIS_URL", DEFAULT_REDIS),
        help="Redis server (without a database number: the run takes a free one of 9-15)",
    )
    parser.add_argument("--deadline", type=float, default=300, help="seconds for every job")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--kill-worker-at", type=float, help="kill -9 a busy worker at T s")
    parser.add_argument(
        "--database-url",
        help='PostgreSQL URL, or "env" (SITEWRIGHT_BENCH_POSTGRES_URL, ...); default SQLite',
    )
    args = parser.parse_args()
    if args.kill_worker_at is not None and args.runner != "redis":
        skip("--kill-worker-at kills a `sitewright worker` process: use --runner redis")
    url = postgres_url(args.database_url)
    args.db = "postgresql" if url else "sqlite"
    llm = FaultyLLM(args.seed)
    env = {
        "SITEWRIGHT_LLM_API_KEY": "load-test",
        "SITEWRIGHT_LLM_TIMEOUT_S": str(LLM_TIMEOUT_S),
        "SITEWRIGHT_LLM_MAX_RETRIES": "2",
    }
    if args.kill_worker_at is not None:
        env["SITEWRIGHT_JOB_LEASE_S"] = str(KILL_LEASE_S)
    try:
        with FakeLLMServer(llm) as server:
            env["SITEWRIGHT_LLM_BASE_URL"] = server.base_url
            options = StackOptions(
                postgres_url=url,
                runner=args.runner,
                worker_processes=args.workers,
                redis_base=args.redis_url,
                env=env,
            )
            with running_stack(options) as stack:
                token = stack.token("generator@example.com")
                jobs, wall, killed = asyncio.run(run(stack, token, args))
                code = summarize(stack, jobs, wall, killed, llm, args)
    except Skip as exc:
        skip(str(exc))
    sys.exit(code)


if __name__ == "__main__":
    main()
