"""Load test: many signed-in viewers on published sites; forbidden requests must stay refused.

What runs
    ``bench/stack.py`` starts gunicorn (the repository's ``gunicorn.conf.py``) on loopback on a
    fresh database (SQLite by default; ``--database-url`` for a new PostgreSQL schema). Seeded:
    the demo workspace (three sites published to everyone) and, made through the API by another
    owner, a draft never published, a site shared only with the group ``finance``, a site an
    admin disabled and an unpublished one. ``--users`` members sign in through the development
    sign-in (every other one in ``finance``); ``--viewers`` asyncio tasks share their cookies
    and loop for ``--seconds``: a published page (its assets too on a cold cache: a viewer's
    first visit of a page, and one visit in ten after), and one time in ten a request they must
    not get: someone else's draft (page and version), a site not shared with them, an admin
    page, a disabled or unpublished site, a page without a cookie.

    What "refused" means is what the app answers (checked once before the load, below in
    ``REFUSED``); a 200 on a forbidden request is a leak. Errors: 5xx, connection errors,
    timeouts, any other unexpected status. A GET the server drops on a kept-alive connection
    without answering is sent once more, as browsers do, and counted ("resent");
    ``--no-resend`` counts it as an error.

``--restart-db-at T`` (PostgreSQL only) restarts the PostgreSQL cluster at T seconds with
``pg_ctlcluster`` (it briefly affects every user of that server: a bench script, never a test).
Failures from the restart until the service recovers are explained if they are 503 (the app's
"database unavailable" answer); anything else is unexplained. The load goes on until 15 s after
the restart command returns, however long it takes. Time to recovery: from the end of the
restart to the first success after the last 503.

Prints one summary line and exits 1 on errors, leaks, unexplained failures or no recovery::

    .venv/bin/python bench/load_viewers.py                       # SQLite, 200 viewers, 60 s
    .venv/bin/python bench/load_viewers.py --database-url env    # PostgreSQL
    .venv/bin/python bench/load_viewers.py --database-url env --restart-db-at 20
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from harness import percentile, postgres_url
from stack import (
    ADMIN_EMAIL,
    SESSION_COOKIE,
    Skip,
    Stack,
    StackOptions,
    running_stack,
    sample_files,
    sign_in,
    site_form,
    skip,
)

GROUP = "finance"
OWNER = "olivia.owner@example.com"
# What the app answers each forbidden request (checked once before the load): a 200 is a leak.
REFUSED: dict[str, tuple[int, ...]] = {
    "draft page of another owner": (404,),
    "draft version of another owner": (404,),
    "site shared with a group they are not in": (404,),
    "admin page": (403,),
    "admin API without a token": (401,),
    "disabled site": (410,),
    "unpublished site": (410,),
    "no cookie": (302,),
}
ALLOWED = ("allowed", "asset")
RESTART_RECOVERY_LIMIT_S = 30.0
RECOVERY_WATCH_S = 15.0  # load kept on after a restart ends, to measure recovery
# gunicorn's lines about its workers: a restart closes the keep-alive connections it holds.
GUNICORN_EVENTS = r"Autorestarting|WORKER TIMEOUT|Booting worker|Worker exiting|SIGKILL|SIGABRT"
# Log lines of a 500: the app's error handler, or gunicorn's when the app itself raised.
SERVER_ERRORS = r"unhandled error|Error handling request|WORKER TIMEOUT|CRITICAL"
ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')


@dataclass
class Seeded:
    """The sites of the run by what viewers may do with them."""

    published: list[str]  # slugs every member may open
    group_only: str  # published, shared with GROUP only
    draft: str  # never published, someone else's
    disabled: str
    unpublished: str


@dataclass
class Outcome:
    """One request: when it started (s since the start), its latency, what it was, the answer."""

    at: float
    latency: float
    kind: str  # "allowed" (a page), "asset" or a key of REFUSED
    status: int | None  # None: no answer (connection error, timeout)
    error: str = ""


@dataclass
class Tally:
    """Every outcome of the run, and the restart window when there was one."""

    outcomes: list[Outcome] = field(default_factory=list)
    restart: tuple[float, float] | None = None  # (start, end) of the restart command
    restart_failed: str = ""
    until: float = 0.0  # the viewers stop then (monotonic); a restart pushes it back
    resend: bool = True  # send a GET again once when the server closed its connection
    resent: list[float] = field(default_factory=list)  # when a GET was sent again
    elapsed: float = 0.0


def create_sites(api: httpx.Client, names: list[str], template: str) -> list[tuple[int, str]]:
    """Create sites through the API and wait until each has its first version."""
    jobs = []
    for name in names:
        made = api.post(
            "/api/v1/sites", data=site_form(template, name), files=sample_files(template)
        )
        if made.status_code != 202:
            raise RuntimeError(f"creating {name!r} answered {made.status_code}: {made.text[:300]}")
        jobs.append((made.json()["site"], made.json()["job"]["id"]))
    deadline = time.monotonic() + 300
    for site, job_id in jobs:
        while (job := api.get(f"/api/v1/jobs/{job_id}").json())["status"] != "succeeded":
            if job["status"] == "failed" or time.monotonic() > deadline:
                raise RuntimeError(f"generating {site['name']!r} did not succeed: {job}")
            time.sleep(0.5)
    return [(site["id"], site["slug"]) for site, _ in jobs]


def seed(stack: Stack) -> Seeded:
    """Load the demo workspace and make, as another owner, the sites viewers may not see."""
    with ThreadPoolExecutor(3) as pool:  # each command starts the app: run them side by side
        demo = pool.submit(stack.cli, "demo")
        owner_token = pool.submit(stack.token, OWNER)
        admin_token = pool.submit(stack.token, ADMIN_EMAIL)
    published = re.findall(r"created at /s/([^/]+)/", demo.result())
    owner = httpx.Client(
        base_url=stack.base_url,
        headers={"Authorization": f"Bearer {owner_token.result()}"},
        timeout=60,
    )
    admin = httpx.Client(
        base_url=stack.base_url,
        headers={"Authorization": f"Bearer {admin_token.result()}"},
        timeout=60,
    )
    with owner, admin:
        names = ["Draft, never published", "Finance only", "Disabled", "Unpublished"]
        draft, group, disabled, unpublished = create_sites(owner, names, "launch_hub")
        for site_id, audience in (
            (group[0], "owner"),
            (disabled[0], "workspace"),
            (unpublished[0], "workspace"),
        ):
            owner.post(
                f"/api/v1/sites/{site_id}/publish", json={"version": 1, "audience": audience}
            ).raise_for_status()
        owner.post(f"/api/v1/sites/{unpublished[0]}/unpublish").raise_for_status()
        owner.put(
            f"/api/v1/sites/{group[0]}/sharing",
            json={"audience": "groups", "grants": [{"group": GROUP, "role": "viewer"}]},
        ).raise_for_status()
        admin.post(
            f"/api/v1/admin/sites/{disabled[0]}/disable", json={"reason": "load test"}
        ).raise_for_status()
    return Seeded(published, group[1], draft[1], disabled[1], unpublished[1])


def forbidden_requests(seeded: Seeded, in_group: bool) -> list[tuple[str, str, bool]]:
    """Return (kind, path, with cookie) of what a member may not get."""
    asks = [
        ("draft page of another owner", f"/s/{seeded.draft}/", True),
        ("draft version of another owner", f"/s/{seeded.draft}/v/1/", True),
        ("admin page", "/admin/sites", True),
        ("admin API without a token", "/api/v1/admin/audit", True),
        ("disabled site", f"/s/{seeded.disabled}/", True),
        ("unpublished site", f"/s/{seeded.unpublished}/", True),
        ("no cookie", f"/s/{seeded.published[0]}/", False),
    ]
    if not in_group:
        asks.append(("site shared with a group they are not in", f"/s/{seeded.group_only}/", True))
    return asks


class Viewer:
    """One browser of one signed-in member: its cache of assets and what it may open."""

    def __init__(
        self, client: httpx.AsyncClient, anonymous: httpx.AsyncClient, pages: list[str]
    ) -> None:
        self.client, self.anonymous, self.pages = client, anonymous, pages
        self.cached: set[str] = set()
        self.assets: dict[str, list[str]] = {}

    async def fetch(
        self, tally: Tally, started: float, path: str, kind: str, cookie: bool = True
    ) -> httpx.Response | None:
        """Request ``path`` and record the outcome."""
        client = self.client if cookie else self.anonymous
        at = time.monotonic()
        try:
            try:
                response = await client.get(path)
            except (httpx.RemoteProtocolError, httpx.ReadError):
                # The server closed a kept-alive connection as the request went out (e.g. a
                # worker recycled after max_requests): browsers send such a GET again (RFC 9112
                # 9.3.1). Counted and printed; --no-resend counts them as errors instead.
                if not tally.resend:
                    raise
                tally.resent.append(time.monotonic() - started)
                response = await client.get(path)
        except httpx.HTTPError as exc:
            tally.outcomes.append(
                Outcome(at - started, time.monotonic() - at, kind, None, type(exc).__name__)
            )
            return None
        tally.outcomes.append(
            Outcome(at - started, time.monotonic() - at, kind, response.status_code)
        )
        return response

    async def visit(self, tally: Tally, started: float, rng: random.Random) -> None:
        """Open a page this member may see, with the assets a cold cache lacks."""
        path = rng.choice(self.pages)
        if rng.random() < 0.1:
            self.cached.clear()  # a browser with an empty cache
        page = await self.fetch(tally, started, path, "allowed")
        if page is None or page.status_code != 200:
            return
        if path not in self.assets:
            self.assets[path] = sorted(set(ASSET.findall(page.text)))
        for asset in self.assets[path]:
            if asset not in self.cached:
                await self.fetch(tally, started, asset, "asset")
                self.cached.add(asset)


async def view(
    viewer: Viewer, forbidden: list[tuple[str, str, bool]], tally: Tally, started: float, seed: int
) -> None:
    """Loop until ``tally.until``: mostly pages, one request in ten forbidden."""
    rng = random.Random(seed)  # noqa: S311 - a load mix, not a secret
    while time.monotonic() < tally.until:
        if rng.random() < 0.1:
            kind, path, cookie = rng.choice(forbidden)
            await viewer.fetch(tally, started, path, kind, cookie)
        else:
            await viewer.visit(tally, started, rng)


def pg_ctlcluster(action: str) -> list[str]:
    """The command that runs ``action`` (restart, start) on this machine's PostgreSQL cluster.

    pg_ctl waits 180 s, not its default 60: the shutdown checkpoint of a server many test
    schemas have written to can take longer than a minute on a busy disk.
    """
    folder = Path("/etc/postgresql")
    versions = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        raise Skip("no local PostgreSQL cluster to restart (pg_ctlcluster, /etc/postgresql)")
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", action]


async def run_command(command: list[str]) -> tuple[int, str]:
    """Run ``command``; return its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode(errors="replace").strip()


async def measure(tally: Tally, started: float) -> None:
    """Note how long the load lasted (a restart may make it longer than asked)."""
    while time.monotonic() < tally.until:
        await asyncio.sleep(0.2)
    tally.elapsed = time.monotonic() - started


async def restart_database(tally: Tally, started: float, at: float, seconds: float) -> None:
    """At ``at`` seconds, restart the PostgreSQL cluster and note when it ran."""
    await asyncio.sleep(max(0.0, started + at - time.monotonic()))
    begin = time.monotonic() - started
    tally.until = math.inf  # the load goes on until the database is back, to see recovery
    code, output = await run_command([*pg_ctlcluster("restart"), "--", "-t", "180"])
    if code != 0:
        tally.restart_failed = output
        await run_command(pg_ctlcluster("start"))  # never leave the server down
    tally.restart = (begin, time.monotonic() - started)
    tally.until = max(started + seconds, time.monotonic() + RECOVERY_WATCH_S)


def check_refusals(stack: Stack, seeded: Seeded, cookie: str) -> None:
    """Ask every forbidden request once and stop if the app answers other than ``REFUSED``."""
    with (
        httpx.Client(base_url=stack.base_url, cookies={SESSION_COOKIE: cookie}) as member,
        httpx.Client(base_url=stack.base_url) as anonymous,
    ):
        for kind, path, with_cookie in forbidden_requests(seeded, in_group=False):
            status = (member if with_cookie else anonymous).get(path).status_code
            print(f"  refused {kind}: GET {path} -> {status}")
            if status not in REFUSED[kind]:
                raise SystemExit(f"{kind}: expected {REFUSED[kind]}, the app answered {status}")


async def load(stack: Stack, seeded: Seeded, args: argparse.Namespace) -> Tally:
    """Run the viewers (and the database restart) and collect every outcome."""
    users = [
        (f"viewer{n:02d}@example.com", (GROUP,) if n % 2 == 0 else ()) for n in range(args.users)
    ]
    cookies = [sign_in(stack.base_url, email, groups=groups) for email, groups in users]
    check_refusals(stack, seeded, cookies[1])
    # Drop idle connections before gunicorn does (its keep-alive is 5 s), as a proxy must.
    limits = httpx.Limits(
        max_connections=args.viewers, max_keepalive_connections=args.viewers, keepalive_expiry=2
    )
    timeout = httpx.Timeout(args.timeout)
    clients = [
        httpx.AsyncClient(
            base_url=stack.base_url, cookies={SESSION_COOKIE: c}, limits=limits, timeout=timeout
        )
        for c in cookies
    ]
    anonymous = httpx.AsyncClient(base_url=stack.base_url, limits=limits, timeout=timeout)
    tally = Tally(resend=not args.no_resend)
    print(f"  load starts at {time.strftime('%H:%M:%S')}", flush=True)
    started = time.monotonic()
    tally.until = started + args.seconds
    tasks = []
    for n in range(args.viewers):
        index = n % args.users
        in_group = bool(users[index][1])
        pages = [f"/s/{slug}/" for slug in seeded.published]
        if in_group:
            pages.append(f"/s/{seeded.group_only}/")
        viewer = Viewer(clients[index], anonymous, pages)
        forbidden = forbidden_requests(seeded, in_group)
        tasks.append(view(viewer, forbidden, tally, started, args.seed + n))
    if args.restart_db_at is not None:
        tasks.append(restart_database(tally, started, args.restart_db_at, args.seconds))
    tasks.append(measure(tally, started))
    try:
        await asyncio.gather(*tasks)
    finally:
        for client in [*clients, anonymous]:
            await client.aclose()
    return tally


def failure(outcome: Outcome) -> bool:
    """Say whether the outcome is not what that request should get."""
    if outcome.status is None:
        return True
    if outcome.kind in ALLOWED:
        return outcome.status != 200
    return outcome.status not in REFUSED[outcome.kind]


def summarize(stack: Stack, tally: Tally, args: argparse.Namespace, database: str) -> int:
    """Print the summary line (and the evidence of any failure); return the exit code."""
    outcomes = tally.outcomes
    latencies = [o.latency * 1000 for o in outcomes]
    forbidden = [o for o in outcomes if o.kind not in ALLOWED]
    assets = sum(1 for o in outcomes if o.kind == "asset")
    leaks = [o for o in forbidden if o.status == 200]
    refused = [o for o in forbidden if o.status in REFUSED[o.kind]]
    failed = [o for o in outcomes if failure(o) and not (o.kind not in ALLOWED and o.status == 200)]
    explained: list[Outcome] = []
    recovery = ""
    code = 0
    if tally.restart is not None:
        begin, end = tally.restart
        after = [o for o in failed if o.at + o.latency >= begin]
        # The window lasts until the last 503; any other failure is unexplained, wherever.
        last_503 = max((o.at + o.latency for o in after if o.status == 503), default=end)
        window_end = max(end, last_503)
        explained = [o for o in after if o.status == 503 and o.at <= window_end]
        recovered = [o for o in outcomes if o.at > window_end and not failure(o)]
        first_ok = min((o.at + o.latency for o in recovered), default=None)
        if first_ok is None or first_ok - end > RESTART_RECOVERY_LIMIT_S:
            recovery = " recovery=NONE"
            code = 1
        else:
            recovery = (
                f" restart=[{begin:.1f}s,{end:.1f}s] recovered {max(0.0, first_ok - end):.1f}s "
                f"after the restart ended (503s stopped at {window_end:.1f}s)"
            )
        if tally.restart_failed:
            print(f"the restart command failed: {tally.restart_failed}")
            code = 1
    explained_ids = {id(o) for o in explained}
    unexplained = [o for o in failed if id(o) not in explained_ids]
    refused_when_up = [o for o in forbidden if id(o) not in explained_ids]
    elapsed = tally.elapsed
    statuses = Counter(o.status for o in outcomes)
    print(
        f"viewers db={database} viewers={args.viewers} users={args.users} "
        f"seconds={elapsed:.0f} requests={len(outcomes)} (assets {assets}) "
        f"req/s={len(outcomes) / elapsed:.0f} "
        f"p50={percentile(latencies, 0.5):.0f}ms p99={percentile(latencies, 0.99):.0f}ms "
        f"errors={len(unexplained)} explained(database restarting)={len(explained)} "
        f"forbidden refused {len(refused)}/{len(refused_when_up)} leaks={len(leaks)} "
        f"resent={len(tally.resent)}{recovery}",
        flush=True,
    )
    print(f"  statuses: {dict(sorted(statuses.items(), key=lambda kv: str(kv[0])))}")
    if tally.resent:
        times = ", ".join(f"{at:.1f}" for at in tally.resent)
        recycled = stack.count_in_logs("Autorestarting worker")
        booted = stack.count_in_logs("Booting worker")
        print(
            f"  {len(tally.resent)} GETs sent again after the server closed a kept-alive "
            f"connection (at {times} s); gunicorn recycled workers {recycled} times "
            f"(max_requests) and booted {booted} workers in all"
        )
    if unexplained or leaks:
        code = 1
        kinds = Counter((o.kind, o.status, o.error) for o in [*unexplained, *leaks])
        for (kind, status, error), count in kinds.most_common(10):
            print(f"  {count} x {kind}: {status or error}")
        times = ", ".join(f"{o.at + o.latency:.1f}" for o in unexplained[:20])
        print(f"  unexplained failures at (s): {times}")
        for line in stack.log_lines(GUNICORN_EVENTS)[-20:]:
            print(f"  gunicorn: {line}")
        for block in stack.tracebacks(record=SERVER_ERRORS):
            print(block)
        print(f"  logs kept in {stack.keep_logs()}")
    elif explained:
        print(f"  {stack.count_in_logs('database unavailable on')} 'database unavailable' logs")
    return code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--users", type=int, default=20, help="distinct signed-in members")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--timeout", type=float, default=30, help="per request, in seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-resend",
        action="store_true",
        help="count a GET the server dropped on a kept-alive connection as an error",
    )
    parser.add_argument(
        "--database-url",
        help='PostgreSQL URL, or "env" (SITEWRIGHT_BENCH_POSTGRES_URL, ...); default SQLite',
    )
    parser.add_argument(
        "--restart-db-at", type=float, help="restart PostgreSQL at this many seconds"
    )
    args = parser.parse_args()
    url = postgres_url(args.database_url)
    if args.restart_db_at is not None and not url:
        skip("--restart-db-at needs PostgreSQL (--database-url)")
    try:
        if args.restart_db_at is not None:
            pg_ctlcluster("restart")
        with running_stack(StackOptions(postgres_url=url)) as stack:
            seeded = seed(stack)
            print(
                f"  seeded {len(seeded.published)} published sites, a group-only site, a draft, "
                "a disabled and an unpublished site",
                flush=True,
            )
            tally = asyncio.run(load(stack, seeded, args))
            code = summarize(stack, tally, args, "postgresql" if url else "sqlite")
    except Skip as exc:
        skip(str(exc))
    sys.exit(code)


if __name__ == "__main__":
    main()
