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
    close to 1; here it shows what the loopback HTTP round trip and the SDK cost. "cpu" is the
    processor time of the after-answer part: on a busy machine (a load of 10 or more on two
    cores) wall times are mostly waiting for a processor, and this shows what the code costs.

Each job belongs to a new site made from the samples (not timed), so every job renders and
stores a first version, as a new site's job does. The sites share the same sample files, so
what is kept by a file's hash is made once, in the warm-up: the scenario planner's compiled
workbook and its cross-check by the ``formulas`` package (a second engine, run once per workbook
for a new version, never for a version rendered again). ``--new-workbooks`` gives every job a
workbook never seen before (the same sheets, a different zip comment), so each of its jobs also
compiles the workbook and runs the cross-check, as the first version made from a new upload
does; "cross-check" then shows that part alone.
"""

from __future__ import annotations

import argparse
import io
import json
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any

from harness import TEMPLATES, bench_app, percentile, postgres_url, replay, sample_uploads

from app.auth.identity import provision_user
from app.llm import Draft, DraftRequest
from app.models import Job
from app.scenario import crosscheck
from app.services import Deps
from app.services.generation import claim, draft_content, load_inputs, save_version
from app.services.sites import NewSite, Upload, create_site
from tests.fakes.llm_server import FakeLLMServer, Reply

TARGET_P95_MS = 50.0


@dataclass
class Timings:
    """Milliseconds of each part of the jobs of one template."""

    read: list[float] = field(default_factory=list)
    before: list[float] = field(default_factory=list)  # digest + steps before the call
    model: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)
    after_cpu: list[float] = field(default_factory=list)
    cross_check: list[float] = field(default_factory=list)  # part of after; new workbooks only

    def whole(self, i: int) -> float:
        return self.read[i] + self.before[i] + self.model[i] + self.after[i]


class TimedProvider:
    """Wraps the app's provider and notes when each model call started and ended."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self.name = provider.name
        self.calls: list[tuple[float, float, float]] = []  # started, answered, cpu answered

    def draft(self, request: DraftRequest) -> Draft:
        started = time.perf_counter()
        draft: Draft = self.provider.draft(request)
        self.calls.append((started, time.perf_counter(), time.process_time()))
        return draft

    def __getattr__(self, name: str) -> Any:
        return getattr(self.provider, name)


class TimedCrossCheck:
    """Notes how long each run of the ``formulas`` cross-check took, in milliseconds."""

    def __init__(self) -> None:
        self.real = crosscheck.formulas_values
        self.runs: list[float] = []

    def __call__(self, data: bytes) -> dict[str, Any]:
        started = time.perf_counter()
        values: dict[str, Any] = self.real(data)
        self.runs.append((time.perf_counter() - started) * 1000)
        return values


def renamed_workbooks(uploads: list[Upload], n: int) -> list[Upload]:
    """Return the uploads with every workbook made new: same sheets, its own zip comment."""
    changed = []
    for upload in uploads:
        if upload.filename.lower().endswith(".xlsx"):
            buffer = io.BytesIO(upload.data)
            with zipfile.ZipFile(buffer, "a") as archive:
                archive.comment = f"bench job {n}".encode()
            upload = Upload(upload.filename, buffer.getvalue())
        changed.append(upload)
    return changed


def new_job(deps: Deps, template: str, n: int, new_workbooks: bool = False) -> str:
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
        uploads = sample_uploads(template)
        if new_workbooks:
            uploads = renamed_workbooks(uploads, n)
        _site, job = create_site(session, deps, owner, request, uploads)
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
        cpu_done = time.process_time()
    finally:
        session.close()
    if len(drafts) != 1:
        raise SystemExit("the replayed answer needed a repair: the benchmark would time two calls")
    called, answered, cpu_answered = provider.calls[-1]
    timings.read.append((t1 - t0) * 1000)
    timings.before.append((called - t1) * 1000)
    timings.model.append((answered - called) * 1000)
    timings.after.append(((t2 - answered) + (t3 - t2)) * 1000)
    timings.after_cpu.append((cpu_done - cpu_answered) * 1000)


def bench_template(
    deps: Deps, provider: TimedProvider, template: str, runs: int, new_workbooks: bool = False
) -> Timings:
    timings = Timings()
    warm = Timings()
    checks = TimedCrossCheck()
    crosscheck.formulas_values = checks  # type: ignore[assignment]
    try:
        run_job(deps, provider, new_job(deps, template, 0, new_workbooks), warm)  # caches
        checks.runs.clear()
        for n in range(1, runs + 1):
            run_job(deps, provider, new_job(deps, template, n, new_workbooks), timings)
            if checks.runs:
                timings.cross_check.append(checks.runs.pop())
    finally:
        crosscheck.formulas_values = checks.real  # type: ignore[assignment]
    return timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="timed jobs per template")
    parser.add_argument("--template", action="append", choices=TEMPLATES, help="(repeatable)")
    parser.add_argument(
        "--new-workbooks",
        action="store_true",
        help="a workbook never seen before for every job (compile and cross-check it each time)",
    )
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
                results[template] = bench_template(
                    deps, provider, template, args.runs, args.new_workbooks
                )
                print(f"  measured {template}", flush=True)
    database = "postgresql" if args.database_url else "sqlite"
    workbooks = ", a new workbook each job" if args.new_workbooks else ""
    print(
        f"\n{args.runs} jobs per template after one warm-up, {database}{workbooks}; ms; "
        f"target: after-answer p95 <= {TARGET_P95_MS:.0f} ms"
    )
    header = (
        f"{'template':<18}{'read p50':>9}{'model p50':>10}{'after p50':>10}{'after p95':>10}"
        f"{'p95/target':>11}{'model share':>12}{'cpu p50':>11}{'cpu p95':>8}"
    )
    print(header)
    print("-" * len(header))
    for template, t in results.items():
        shares = [t.model[i] / t.whole(i) for i in range(len(t.model))]
        p95 = percentile(t.after, 0.95)
        print(
            f"{template:<18}{percentile(t.read, 0.5):>9.1f}{percentile(t.model, 0.5):>10.1f}"
            f"{percentile(t.after, 0.5):>10.1f}{p95:>10.1f}{p95 / TARGET_P95_MS:>10.2f}x"
            f"{percentile(shares, 0.5):>11.0%} {'ok' if p95 <= TARGET_P95_MS else 'MISSED':<6}"
            f"{percentile(t.after_cpu, 0.5):>8.1f}{percentile(t.after_cpu, 0.95):>8.1f}"
        )
    for template, t in results.items():
        if t.cross_check:
            without = [a - c for a, c in zip(t.after, t.cross_check, strict=True)]
            print(
                f"{template}: cross-check by the formulas package p50 "
                f"{percentile(t.cross_check, 0.5):.1f} / p95 {percentile(t.cross_check, 0.95):.1f}"
                f"; after answer without it p50 {percentile(without, 0.5):.1f} / "
                f"p95 {percentile(without, 0.95):.1f}"
            )
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
