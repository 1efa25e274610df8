"""Benchmark the weight of a published page: its HTML plus every script and stylesheet it loads.

What is measured
    Pages of each built-in template, served by the app (Flask test client, signed in through the
    development sign-in): the demo workspace's published sites (each template's example) and
    sites made from the shared samples (``../shared/samples/<template>/``) with the content a
    careful model writes for them (a loopback model replaying ``tests/templates/replays/``), plus
    the customer review from the samples with its charts removed. For each page, the HTML and
    every ``<script src>`` and ``<link rel="stylesheet">`` it references are fetched through the
    app and gzipped (level 6), as a browser on a first visit downloads them.

    Targets: at most 600 KB gzipped with charts, at most 60 KB without.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from harness import TEMPLATES, bench_app, replay, sample_uploads
from sqlalchemy import select

from app.auth.identity import provision_user
from app.demo import load_demo
from app.models import Job, Site
from app.services import Deps
from app.services.generation import run_generation
from app.services.sites import NewSite, create_site
from tests.fakes.llm_server import FakeLLMServer, Reply

KB = 1024
TARGET_CHARTS = 600 * KB
TARGET_NO_CHARTS = 60 * KB
OWNER = "bench@example.com"
ASSET = re.compile(
    r'<script\b[^>]*\bsrc="([^"]+)"|<link\b(?=[^>]*\brel="stylesheet")[^>]*\bhref="([^"]+)"'
)


@dataclass
class Weight:
    label: str
    charts: bool
    parts: list[tuple[str, int, int]]  # (url, bytes, gzipped bytes)

    @property
    def gzipped(self) -> int:
        return sum(part[2] for part in self.parts)

    @property
    def raw(self) -> int:
        return sum(part[1] for part in self.parts)


def fetch(client: FlaskClient, url: str) -> bytes:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    return response.get_data()


def weigh(client: FlaskClient, label: str, url: str) -> Weight:
    """Fetch a page and what it loads; gzip each."""
    html = fetch(client, url)
    parts = [(url, len(html), len(gzip.compress(html, 6)))]
    for script, sheet in ASSET.findall(html.decode("utf-8")):
        asset = (script or sheet).replace("&amp;", "&")
        body = fetch(client, asset)
        parts.append((asset, len(body), len(gzip.compress(body, 6))))
    return Weight(label, b"data-figure" in html or b"sp-figure" in html, parts)


def sign_in(client: FlaskClient, email: str) -> None:
    form = client.get("/auth/dev").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None, "no CSRF token on the development sign-in form"
    client.post("/auth/dev", data={"csrf_token": token.group(1), "email": email, "next": "/"})


def sample_site(deps: Deps, template: str, name: str) -> str:
    """Make a site from the template's samples and run its job; return its slug."""
    session = deps.db.session(write=True)
    try:
        owner = provision_user(session, email=OWNER, name="Bench")
        session.flush()
        request = NewSite(template, f"{name} from the samples", name, "Bench", None)
        site, job = create_site(session, deps, owner, request, sample_uploads(template))
        slug, job_id = site.slug, job.id
        session.commit()
    finally:
        session.close()
    run_generation(deps, job_id)
    with deps.db.session() as session:
        status = session.get_one(Job, job_id)
        if status.status != "succeeded":
            raise SystemExit(f"{name}: the job {status.status}: {status.error}")
    return slug


def without_charts(content: dict[str, Any]) -> dict[str, Any]:
    chartless = copy.deepcopy(content)
    chartless["usage_charts"], chartless["support_charts"] = [], []
    return chartless


def measure(templates: list[str]) -> list[Weight]:
    answers: list[str] = []
    with (
        FakeLLMServer(lambda _body: Reply(content=answers.pop(0))) as server,
        bench_app(overrides={"LLM_BASE_URL": server.base_url}) as (app, deps),
    ):
        list(load_demo(deps))
        pages: list[tuple[str, str]] = []
        with deps.db.session() as session:
            for template in templates:
                slug = session.scalars(select(Site.slug).where(Site.template == template)).one()
                pages.append((f"demo {template}", f"/s/{slug}/"))
        for template in templates:
            answers.append(json.dumps(replay(template)))
            slug = sample_site(deps, template, f"Samples {template}")
            pages.append((f"samples {template}", f"/s/{slug}/v/1/"))
        answers.append(json.dumps(without_charts(replay("customer_review"))))
        slug = sample_site(deps, "customer_review", "Samples without charts")
        pages.append(("samples customer_review, no charts", f"/s/{slug}/v/1/"))
        client = app.test_client()
        sign_in(client, OWNER)
        return [weigh(client, label, url) for label, url in pages]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", action="append", choices=TEMPLATES, help="(repeatable)")
    parser.add_argument("--parts", action="store_true", help="list each file of each page")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    weights = measure(args.template or list(TEMPLATES))
    print(f"\n{'page':<38}{'files':>6}{'raw KB':>9}{'gzip KB':>9}{'target KB':>10}{'ratio':>7}")
    for w in weights:
        target = TARGET_CHARTS if w.charts else TARGET_NO_CHARTS
        print(
            f"{w.label:<38}{len(w.parts):>6}{w.raw / KB:>9.0f}{w.gzipped / KB:>9.1f}"
            f"{target / KB:>10.0f}{w.gzipped / target:>7.2f} "
            f"{'ok' if w.gzipped <= target else 'MISSED'}"
        )
        if args.parts:
            for url, raw, gz in w.parts:
                print(f"    {url.split('?')[0]:<46}{raw / KB:>9.1f}{gz / KB:>9.1f}")
    print(f"\ngzip level 6; KB = 1,024 bytes; total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
