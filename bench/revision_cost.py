"""Benchmark what a patch revision costs in tokens against regenerating the whole page.

What is measured
    For a fixed set of realistic edit instructions on sites made from the shared samples
    (customer review and launch hub), each edit is made twice through the real services
    (``request_revision`` then ``run_generation``, the OpenAI SDK provider, a loopback
    OpenAI-compatible server from ``tests/fakes/llm_server.py``):

    * as a revision: the model sees the sections the instruction is about and answers with
      JSON Patch operations (the fake answers the realistic patch of that edit);
    * as a regeneration with the same instruction: the model sees everything and answers with
      the whole content (the fake answers the content with the edit applied).

    Tokens are counted on the wire, four characters a token as the fake server counts them:
    input = the request's message texts, output = the answer's text. Printed per edit and in
    total: revision / regeneration, targets at most 0.10 for output and 0.25 for input.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from dataclasses import dataclass
from typing import Any

import jsonpatch
from harness import bench_app, replay, sample_uploads

from app.auth.identity import provision_user
from app.models import Job, Site, User
from app.services import Deps
from app.services.generation import run_generation
from app.services.revisions import request_revision
from app.services.sites import NewSite, create_site
from tests.fakes.llm_server import FakeLLMServer, Reply, estimate_tokens

TARGET_OUTPUT = 0.10
TARGET_INPUT = 0.25
Op = tuple[str, str, Any]

EDITS: dict[str, list[tuple[str, list[Op]]]] = {
    "customer_review": [
        (
            "Set the health status to red: the competitor evaluation is now formal.",
            [
                ("replace", "/health/status", "red"),
                (
                    "replace",
                    "/health/summary",
                    "Usage exceeds the contracted seats, but they now formally evaluate a "
                    "competitor for mobile and their admin leaves in January.",
                ),
            ],
        ),
        (
            "Add a risk about the pen-test slot for the security review not being confirmed.",
            [
                (
                    "add",
                    "/risks/-",
                    {
                        "risk": "The pen-test slot for the security review is not confirmed.",
                        "severity": "medium",
                        "mitigation": "Book the vendor's December slot this week.",
                    },
                )
            ],
        ),
        (
            "Mark the Rotterdam adoption workshop next step as done.",
            [("replace", "/next_steps/0/status", "done")],
        ),
        (
            "Add Dana Kim, their VP Operations, to the contacts.",
            [
                (
                    "add",
                    "/contacts/-",
                    {"name": "Dana Kim", "role": "VP Operations", "side": "customer"},
                )
            ],
        ),
        (
            "Add an open question: who owns the Hamburg budget? Priya should find out.",
            [
                (
                    "add",
                    "/open_questions/-",
                    {
                        "question": "Who owns the budget for the Hamburg site?",
                        "owner": "Priya Raman",
                    },
                )
            ],
        ),
        (
            "Give the competitor risk a mitigation: offer them the offline mode beta in January.",
            [("replace", "/risks/0/mitigation", "Offer the offline mode beta in January.")],
        ),
    ],
    "launch_hub": [
        (
            "Move the feature freeze milestone to 2026-12-22 and mark it at risk.",
            [
                ("replace", "/milestones/0/due_date", "2026-12-22"),
                ("replace", "/milestones/0/status", "at risk"),
            ],
        ),
        (
            "Add a FAQ entry: does the beta cost anything? No, the beta is free.",
            [
                (
                    "add",
                    "/faq/-",
                    {"question": "Does the beta cost anything?", "answer": "No: the beta is free."},
                )
            ],
        ),
        (
            "Add a risk that the German translation of the docs may be late, owned by Mei Chen.",
            [
                (
                    "add",
                    "/risks/-",
                    {
                        "risk": "The German translation of the docs may be late for GA.",
                        "severity": "low",
                        "owner": "Mei Chen",
                        "mitigation": "Ship English docs first; German follows within two weeks.",
                    },
                )
            ],
        ),
        (
            "Say in the summary that twelve customers have joined the beta.",
            [
                (
                    "replace",
                    "/summary",
                    "**Atlas Reports 2.0** turns scheduled exports into live, shareable report "
                    "pages for operations managers and analysts; twelve customers have joined "
                    "the beta.",
                )
            ],
        ),
        (
            "Add a link to the pricing page note in the links.",
            [
                (
                    "add",
                    "/links/-",
                    {"label": "Pricing page", "url": None, "note": "Draft on the wiki."},
                )
            ],
        ),
    ],
}


@dataclass
class Cost:
    template: str
    instruction: str
    revise_in: int
    revise_out: int
    regen_in: int
    regen_out: int


class EditingModel:
    """The loopback model: the queued patch for a revision, the whole content otherwise."""

    def __init__(self) -> None:
        self.next_patch = ""
        self.next_content = ""
        self.answers: list[str] = []

    def __call__(self, body: dict[str, Any]) -> Reply:
        name = (body.get("response_format") or {}).get("json_schema", {}).get("name")
        answer = self.next_patch if name == "json_patch" else self.next_content
        self.answers.append(answer)
        return Reply(content=answer)


def patch_answer(ops: list[Op]) -> str:
    """The revision contract: operations with their values as JSON text."""
    return json.dumps(
        {
            "operations": [
                {"op": op, "path": path, "value_json": None if op == "remove" else json.dumps(v)}
                for op, path, v in ops
            ]
        }
    )


def applied(content: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
    patch = [
        {"op": op, "path": path} if op == "remove" else {"op": op, "path": path, "value": v}
        for op, path, v in ops
    ]
    result: dict[str, Any] = jsonpatch.apply_patch(copy.deepcopy(content), patch)
    return result


def input_tokens(body: dict[str, Any]) -> int:
    return sum(estimate_tokens(str(m.get("content") or "")) for m in body.get("messages", []))


def run_job(deps: Deps, site_id: int, instruction: str, regenerate: bool) -> None:
    session = deps.db.session(write=True)
    try:
        site = session.get_one(Site, site_id)
        actor = session.get_one(User, site.owner_id)
        job = request_revision(session, deps, site, actor, instruction, regenerate=regenerate)
        job_id = job.id
    finally:
        session.close()
    run_generation(deps, job_id)
    with deps.db.session() as session:
        row = session.get_one(Job, job_id)
        if row.status != "succeeded":
            raise SystemExit(f"{instruction!r} ({row.kind}): {row.status}: {row.error}")


def new_site(deps: Deps, template: str, name: str) -> int:
    """Make a site from the template's samples (first version: the replayed content)."""
    session = deps.db.session(write=True)
    try:
        owner = provision_user(session, email="bench@example.com", name="Bench")
        session.flush()
        request = NewSite(template, "A site from these files.", name, "Bench", None)
        site, job = create_site(session, deps, owner, request, sample_uploads(template))
        site_id, job_id = site.id, job.id
        session.commit()
    finally:
        session.close()
    run_generation(deps, job_id)
    return site_id


def bench_template(
    deps: Deps, server: FakeLLMServer, model: EditingModel, template: str
) -> list[Cost]:
    """Make each edit on one site by revision and on a twin site by regeneration."""
    content = replay(template)
    model.next_content = json.dumps(content)
    revised = new_site(deps, template, f"Bench {template} revised")
    regenerated = new_site(deps, template, f"Bench {template} regenerated")
    costs = []
    for instruction, ops in EDITS[template]:
        content = applied(content, ops)
        model.next_patch, model.next_content = patch_answer(ops), json.dumps(content)
        first = len(server.requests)
        run_job(deps, revised, instruction, regenerate=False)
        middle = len(server.requests)
        run_job(deps, regenerated, instruction, regenerate=True)
        if len(server.requests) - first != 2:
            raise SystemExit(f"{instruction!r}: a repair was needed; fix the edit's patch")
        revise_body, regen_body = server.requests[first], server.requests[middle]
        costs.append(
            Cost(
                template,
                instruction,
                input_tokens(revise_body),
                estimate_tokens(model.answers[first]),
                input_tokens(regen_body),
                estimate_tokens(model.answers[middle]),
            )
        )
    return costs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", action="append", choices=sorted(EDITS), help="(repeatable)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    model = EditingModel()
    costs: list[Cost] = []
    with (
        FakeLLMServer(model) as server,
        bench_app(overrides={"LLM_BASE_URL": server.base_url}) as (_app, deps),
    ):
        for template in args.template or sorted(EDITS):
            costs += bench_template(deps, server, model, template)
    print(
        f"\n{'template':<16}{'instruction':<52}{'rev in':>7}{'regen in':>9}{'in':>6}"
        f"{'rev out':>8}{'regen out':>10}{'out':>6}"
    )
    for c in costs:
        print(
            f"{c.template:<16}{c.instruction[:50]:<52}{c.revise_in:>7}{c.regen_in:>9}"
            f"{c.revise_in / c.regen_in:>6.2f}{c.revise_out:>8}{c.regen_out:>10}"
            f"{c.revise_out / c.regen_out:>6.2f}"
        )
    for template in sorted({c.template for c in costs}) + ["all"]:
        rows = [c for c in costs if template in ("all", c.template)]
        ratio_in = sum(c.revise_in for c in rows) / sum(c.regen_in for c in rows)
        ratio_out = sum(c.revise_out for c in rows) / sum(c.regen_out for c in rows)
        print(
            f"{template + ' total':<22} input {ratio_in:.3f} (target <= {TARGET_INPUT}) "
            f"{'ok' if ratio_in <= TARGET_INPUT else 'MISSED'}, output {ratio_out:.3f} "
            f"(target <= {TARGET_OUTPUT}) {'ok' if ratio_out <= TARGET_OUTPUT else 'MISSED'}"
        )
    print(f"\ntokens = characters / 4 on the wire; total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
