"""Revising without a model: the offline drafter re-drafts by rules, and only what the new
files changed becomes the patch (so hand edits elsewhere survive)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.ingest import IngestedFile, ingest
from app.llm import DraftRequest
from app.models import Job, SiteVersion, Source
from app.services import Deps
from app.services.content_patch import PatchProblem, apply_operations, diff_operations, escape
from app.services.generation import Inputs, set_step
from app.validation import validate_content


def offline_operations(
    deps: Deps, job: Job, inputs: Inputs, base: SiteVersion
) -> list[dict[str, Any]]:
    """Without a model: draft by rules from the old files and from all files, and keep what the
    new files changed (item by item, or whole sections where the page was edited since)."""
    spec = inputs.template.spec
    kept = {source.id for source in base.sources}
    old_files = [f for s, f in zip(inputs.sources, inputs.files, strict=True) if s.id in kept]
    if len(old_files) < len(base.sources):
        old_files += _files_of(deps, [s for s in base.sources if s.id not in set(job.source_ids)])
    set_step(deps, job.id, "drafting")
    before = deps.provider.draft(DraftRequest(spec, job.prompt, "", files=old_files)).content
    after = deps.provider.draft(DraftRequest(spec, job.prompt, "", files=inputs.files)).content
    assert before is not None and after is not None
    ops = diff_operations(before, after)
    try:
        revised, _ = apply_operations(base.content, ops)
        fits = not validate_content(inputs.template, revised, inputs.columns)
    except PatchProblem:
        fits = False
    if fits:
        return ops
    return [
        {"op": "replace", "path": "/" + escape(key), "value": after[key]}
        for key in after
        if before.get(key) != after[key]
    ]


def _files_of(deps: Deps, sources: Sequence[Source]) -> list[IngestedFile]:
    return [ingest(s.filename, deps.blobs.get(s.sha256), deps.ingest_limits) for s in sources]
