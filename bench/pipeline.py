"""Benchmark the generation pipeline after the model answers, per template.

What is measured
    One generation job at a time, as ``run_generation`` runs it, for each template's shared
    samples (``../shared/samples/<template>/``): ``load_inputs`` (read the files again),
    ``draft_content`` (digest, model call, validation) and ``save_version`` (compute the charts,
    render the page, store it and the version row, finish the job). The model is a loopback
    OpenAI-compatible server (``tests/fakes/llm_server.py``) answering at once with the content a
    careful model writes for those samples (``tests/templates/replays/<template>.json``), called
    through the real ``openai`` SDK provider.

    "after answer" is the part of the job that follows the model's answer: the rest of
    ``draft_content`` (parsing and validation) plus all of ``save_version``. The target is a p95
    of at most 50 ms per template. "model share" is the model call's part of the whole job
    (reading files, digest, model call, after answer): with a real model taking seconds it is
    close to 1; here it shows what the loopback HTTP round trip and the SDK cost.

Each job belongs to a new site made from the samples (not timed), so every job renders and
stores a first version, as a new site's job does.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from typing import Any

from harness import TEMPLATES, bench_app, percentile, postgres_url, replay, sample_uploads

from app.auth.identity import provision_user
from app.llm import Draft, DraftRequest
from app.models import Job
from app.services import Deps
from app.services.generation import claim, draft_content, load_inputs, save_version
from app.services.sites import NewSite, create_site
from tests.fakes.llm_server import FakeLLMServer, Reply

TARGET_P95_MS = 50.0


@dataclass
class Timings:
    """Milliseconds of each part of the jobs of one template."""

    read: list[float] = field(default_factory=list)
    before: list[float] = field(default_factory=list)  # digest + steps before the call
    model: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)

    def whole(self, i: int) -> float:
        return self.read[i] + self.before[i] + self.model[i] + self.after[i]


class TimedProvider:
    """Wraps the app's provider and notes when each model call started and ended."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self.name = provider.name
        self.calls: list[tuple[float, float]] = []

    def draft(self, request: DraftRequest) -> Draft:
        started = time.perf_counter()
        draft: Draft = self.provider.draft(request)
        self.calls.append((started, time.perf_counter()))
        return draft

    def __getattr__(self, name: str) -> Any:
        return getattr(self.provider, name)


def new_job(deps: Deps, template: str, n: int) -> str:
    """Create a site from the template's samples with a queued job; return the job id."""
    session = deps.db.session(write=True)
    try:
        owner = provision_user(session, email="bench@example.com", name="Bench")
        session.flush()
        request = NewSite(
            template=template,
            prompt=f"Bench run {n}: a site from these files.",
            name=f"Bench {template} {n}",
            department="Bench",
            expires_on=None,
        )
        _site, job = create_site(session, deps, owner, request, sample_uploads(template))
        job_id = job.id
        session.commit()
    finally:
        session.close()
    return job_id


def run_job(deps: Deps, provider: TimedProvider, job_id: str, timings: Timings) -> None:
    """Run one claimed job the way ``run_generation`` does, timing its parts."""
    if not claim(deps, job_id):
        raise SystemExit(f"job {job_id} could not be claimed")
    session = deps.db.session()
    try:
        job = session.get(Job, job_id)
        assert job is not None
        t0 = time.perf_counter()
        inputs = load_inputs(deps, session, job)
        t1 = time.perf_counter()
        content, drafts = draft_content(deps, job, inputs)
        t2 = time.perf_counter()
        save_version(deps, job, inputs, content, drafts)
        t3 = time.perf_counter()
    finally:
        session.close()
    if len(drafts) != 1:
        raise SystemExit("the replayed answer needed a repair: the benchmark would time two calls")
    called, answered = provider.calls[-1]
    timings.read.append((t1 - t0) * 1000)
    timings.before.append((called - t1) * 1000)
    timings.model.append((answered - called) * 1000)
    timings.after.append(((t2 - answered) + (t3 - t2)) * 1000)


def bench_template(deps: Deps, provider: TimedProvider, template: str, runs: int) -> Timings:
    timings = Timings()
    warm = Timings()
    run_job(deps, provider, new_job(deps, template, 0), warm)  # caches, compiled templates
    for n in range(1, runs + 1):
        run_job(deps, provider, new_job(deps, template, n), timings)
    return timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="timed jobs per template")
    parser.add_argument("--template", action="append", choices=TEMPLATES, help="(repeatable)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL to run in a new schema (dropped after); 'env' reads "
        "SITEWRIGHT_BENCH_POSTGRES_URL; default: SQLite in a temporary folder",
    )
    args = parser.parse_args(argv)
    templates = args.template or list(TEMPLATES)
    answers = {name: json.dumps(replay(name)) for name in templates}
    current = {"template": templates[0]}
    started = time.perf_counter()
    with FakeLLMServer(lambda _body: Reply(content=answers[current["template"]])) as server:
        overrides = {"LLM_BASE_URL": server.base_url, "LLM_TIMEOUT_S": 30.0}
        with bench_app(postgres_url(args.database_url), overrides) as (_app, deps):
            provider = TimedProvider(deps.provider)
            deps.provider = provider
            results = {}
            for template in templates:
                current["template"] = template
                results[template] = bench_template(deps, provider, template, args.runs)
                print(f"  measured {template}", flush=True)
    database = "postgresql" if args.database_url else "sqlite"
    print(
        f"\n{args.runs} jobs per template after one warm-up, {database}; ms; "
        f"target: after-answer p95 <= {TARGET_P95_MS:.0f} ms"
    )
    header = (
        f"{'template':<18}{'read p50':>9}{'model p50':>10}{'after p50':>10}{'after p95':>10}"
        f"{'p95/target':>11}{'model share':>12}"
    )
    print(header)
    print("-" * len(header))
    for template, t in results.items():
        shares = [t.model[i] / t.whole(i) for i in range(len(t.model))]
        p95 = percentile(t.after, 0.95)
        print(
            f"{template:<18}{percentile(t.read, 0.5):>9.1f}{percentile(t.model, 0.5):>10.1f}"
            f"{percentile(t.after, 0.5):>10.1f}{p95:>10.1f}{p95 / TARGET_P95_MS:>10.2f}x"
            f"{percentile(shares, 0.5):>11.0%} {'ok' if p95 <= TARGET_P95_MS else 'MISSED'}"
        )
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
