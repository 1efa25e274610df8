"""Revising a site: an instruction or chosen comments become a JSON Patch from the model, new
files can come with it, or the page is regenerated from scratch when the user asks for that.

A revision is a job like a generation (persisted first, run by the JobRunner). The model sees
the parts of the current content the instruction is about and answers with add/remove/replace
operations; the server checks every path against the template's schema (and, for comments,
against the commented paths), applies the patch, validates the result, repairs once, and saves
a new draft version whose ``changed_paths`` are exactly the patched paths.

Without a model (the offline drafter), a revision with new files re-drafts by rules and keeps
only what the new files changed; a revision by wording alone is refused with a clear message.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.errors import BadInput, Conflict
from app.ingest import IngestedFile
from app.llm import Draft, RevisionRequest
from app.llm.offline import NEEDS_MODEL
from app.models import Annotation, Job, Site, SiteVersion, Source, User
from app.services import Deps, usage, workspace
from app.services.annotations import open_annotations
from app.services.categories import suggest_categories
from app.services.content_answer import patch_problems
from app.services.content_offline import offline_operations
from app.services.content_patch import (
    OUTSIDE,
    PatchProblem,
    apply_operations,
    diff_operations,
    escape,
    exists,
    resolve,
    section_of,
)
from app.services.content_scope import (
    files_digest,
    narrowest,
    other_sections,
    select_scope,
    touches_data,
)
from app.services.content_versions import Provenance, add_version
from app.services.generation import (
    GenerationFailed,
    Inputs,
    draft_content,
    finish_job,
    load_inputs,
    set_step,
)
from app.services.sites import Upload, read_uploads
from app.validation import validate_content

log = logging.getLogger(__name__)

MAX_INSTRUCTION_CHARS = 4000
APPLY_NEEDS_MODEL = (
    "Applying comments needs an AI model, and none is configured: edit the text by hand "
    "(Edit by hand), then resolve the comments."
)
_KEPT = (
    "Your instruction and files are saved: press Retry, reword the instruction, or edit by hand."
)


def request_revision(
    session: Session,
    deps: Deps,
    site: Site,
    actor: User,
    instruction: str,
    uploads: Sequence[Upload] = (),
    annotation_ids: Sequence[Any] = (),
    regenerate: bool = False,
) -> Job:
    """Persist a revision (or regeneration) job and its new files; the caller submits it.

    :raise 400: nothing asked, too long, unreadable file, comments not open, no model for it.
    :raise 409: the site has no version yet, or a version is being made right now.
    :raise 429: ``actor`` spent their monthly token budget.
    """
    usage.check_budget(session, actor, workspace.settings_for(session, deps.settings))
    instruction = (instruction or "").strip()
    if len(instruction) > MAX_INSTRUCTION_CHARS:
        raise BadInput(f"Keep the instruction under {MAX_INSTRUCTION_CHARS} characters.")
    if site.latest_version == 0:
        raise Conflict("The site has no version yet: wait for the first draft, or retry it.")
    busy = session.scalars(
        select(Job.id).where(Job.site_id == site.id, Job.status.in_(("queued", "running")))
    ).first()
    if busy:
        raise Conflict("A new version of this site is being made; wait for it to finish.")
    comments = open_annotations(session, site, annotation_ids) if annotation_ids else []
    if comments and regenerate:
        raise BadInput("Applying comments changes exactly their elements; it cannot regenerate.")
    if not (instruction or comments or uploads or regenerate):
        raise BadInput("Say what to change, add files, or choose to regenerate from scratch.")
    if deps.provider.name == "offline" and not regenerate:
        if comments:
            raise BadInput(APPLY_NEEDS_MODEL)
        if not uploads:
            raise BadInput(NEEDS_MODEL)
    files = read_uploads(deps, uploads)
    base = session.scalars(
        select(SiteVersion).where(
            SiteVersion.site_id == site.id, SiteVersion.number == site.latest_version
        )
    ).one()
    added = _store_sources(session, deps, site, actor, uploads, files)
    replaced = {source.filename for source in added}
    kept = [source for source in base.sources if source.filename not in replaced]
    job = Job(
        id=str(uuid.uuid4()),
        site_id=site.id,
        kind="regenerate" if regenerate else "revise",
        prompt=instruction,
        source_ids=[source.id for source in [*kept, *added]],
        base_version=base.number,
        annotation_ids=[row.id for row in comments],
        created_by_id=actor.id,
    )
    session.add(job)
    # New files may hold data the site's categories do not cover yet: ask the owner again.
    suggestions = [s for s in suggest_categories(files) if s.category not in site.categories]
    if suggestions and site.review_state in ("not_required", "approved"):
        site.review_state = "unconfirmed"
    audit.track_event(
        session,
        audit.RevisionRequested(
            data={
                "job_id": job.id,
                "kind": job.kind,
                "instruction": instruction,
                "base_version": base.number,
                "annotation_ids": job.annotation_ids,
                "new_sources": [{"filename": s.filename, "sha256": s.sha256} for s in added],
                "suggested_categories": [s.as_json() for s in suggestions],
                "review_state": site.review_state,
            }
        ),
        actor=actor,
        site=site,
        version=base.number,
    )
    session.commit()
    return job


def _store_sources(
    session: Session,
    deps: Deps,
    site: Site,
    actor: User,
    uploads: Sequence[Upload],
    files: Sequence[IngestedFile],
) -> list[Source]:
    sources = [
        Source(
            site_id=site.id,
            filename=file.filename,
            sha256=deps.blobs.put(upload.data),
            size=len(upload.data),
            kind=file.kind,
            uploader=actor,
        )
        for upload, file in zip(uploads, files, strict=True)
    ]
    session.add_all(sources)
    session.flush()
    return sources


def run_revision(deps: Deps, session: Session, job: Job) -> None:
    """Run a revise or regenerate job to a new version, or raise GenerationFailed."""
    inputs = load_inputs(deps, session, job)
    base = session.scalars(
        select(SiteVersion).where(
            SiteVersion.site_id == job.site_id, SiteVersion.number == job.base_version
        )
    ).one()
    old_ids = {source.id for source in base.sources}
    new_files = [
        f for s, f in zip(inputs.sources, inputs.files, strict=True) if s.id not in old_ids
    ]
    if job.kind == "regenerate":
        prompt = job.prompt or _first_prompt(session, job.site_id)
        content, drafts = draft_content(deps, job, replace(inputs, prompt=prompt), "regenerate")
        _save(deps, job, inputs, base, diff_operations(base.content, content), drafts)
        return
    rows = session.scalars(
        select(Annotation).where(Annotation.id.in_(job.annotation_ids or [-1]))
    ).all()
    order = {annotation_id: n for n, annotation_id in enumerate(job.annotation_ids or [])}
    comments = sorted((row for row in rows if row.status == "open"), key=lambda r: order[r.id])
    if job.annotation_ids and not comments:
        raise GenerationFailed("The chosen comments were resolved or orphaned meanwhile.")
    if deps.provider.name == "offline":
        if comments or not new_files:
            raise GenerationFailed(APPLY_NEEDS_MODEL if comments else NEEDS_MODEL)
        ops = offline_operations(deps, job, inputs, base)
        _save(deps, job, inputs, base, ops, [])
        return
    ops, drafts = draft_patch(deps, job, inputs, base, comments, new_files)
    _save(deps, job, inputs, base, ops, drafts, comments)


def draft_patch(
    deps: Deps,
    job: Job,
    inputs: Inputs,
    base: SiteVersion,
    comments: Sequence[Annotation],
    new_files: Sequence[IngestedFile],
) -> tuple[list[dict[str, Any]], list[Draft]]:
    """Ask the model for a patch to the parts in scope; repair once with the problems.

    :raise GenerationFailed: no usable patch after the repair attempt.
    """
    template = inputs.template
    if comments:
        scope = narrowest([row.path for row in comments])
        if not all(exists(base.content, path) for path in scope):
            raise GenerationFailed(
                "The page changed after the comments were chosen; apply them again."
            )
    else:
        scope = select_scope(template, base.content, job.prompt)
    new_names = {file.filename for file in new_files}
    old_files = [file for file in inputs.files if file.filename not in new_names]
    digest = files_digest(
        old_files,
        new_files,
        with_columns=bool(new_files) or touches_data(template, scope),
        token_budget=deps.settings["DIGEST_TOKEN_BUDGET"],
    )
    request = RevisionRequest(
        template=template.spec,
        instruction=job.prompt,
        parts=[(path, resolve(base.content, path)) for path in scope],
        others=other_sections(template, scope),
        digest=digest,
        comments=[(row.path, row.quote, row.body) for row in comments],
    )
    set_step(deps, job.id, "drafting")
    draft = deps.provider.revise(request)
    usage.record(deps, job, draft, "revise")
    drafts = [draft]
    set_step(deps, job.id, "checking")
    ops, problems = patch_problems(template, base.content, draft, scope, inputs.columns)
    if problems:
        log.info("job %s: %d patch problems, asking for one repair", job.id, len(problems))
        set_step(deps, job.id, "repairing")
        repair = replace(request, previous_output=draft.raw, errors=problems)
        if not comments and any(OUTSIDE in problem for problem in problems):
            # The instruction was about more than the sections chosen: show the whole page.
            scope = ["/" + escape(name) for name in template.schema.get("properties", {})]
            repair.parts = [(path, resolve(base.content, path)) for path in scope]
            repair.others = []
            repair.errors = [p for p in problems if OUTSIDE not in p] + [
                "every section is shown now: change whichever the instruction needs"
            ]
        draft = deps.provider.revise(repair)
        usage.record(deps, job, draft, "repair")
        drafts.append(draft)
        ops, problems = patch_problems(template, base.content, draft, scope, inputs.columns)
    if problems:
        raise GenerationFailed(
            "The model's changes did not fit the template, even after one repair attempt "
            f"({'; '.join(problems[:3])}). {_KEPT}"
        )
    return ops, drafts


def _first_prompt(session: Session, site_id: int) -> str:
    prompt = session.scalars(
        select(SiteVersion.instruction)
        .where(SiteVersion.site_id == site_id, SiteVersion.instruction_kind == "prompt")
        .order_by(SiteVersion.number)
    ).first()
    return prompt or ""


def _save(
    deps: Deps,
    job: Job,
    inputs: Inputs,
    base: SiteVersion,
    ops: list[dict[str, Any]],
    drafts: Sequence[Draft],
    comments: Sequence[Annotation] = (),
) -> int:
    """Apply the patch to the latest version and store the result as a new draft version.

    If someone saved a version while the job ran, the patch still applies when it touches
    other sections; otherwise the job fails and asks for the revision again.
    """
    set_step(deps, job.id, "rendering")
    with deps.db.transaction() as session:
        site = session.get(Site, job.site_id, with_for_update={"of": Site})
        author = session.get(User, job.created_by_id)
        assert site is not None and author is not None
        latest = session.scalars(
            select(SiteVersion).where(
                SiteVersion.site_id == site.id, SiteVersion.number == site.latest_version
            )
        ).one()
        if latest.number != base.number:
            moved = {section_of(op["path"]) for op in diff_operations(base.content, latest.content)}
            if moved & {section_of(op["path"]) for op in ops}:
                raise GenerationFailed(
                    f"Version {latest.number} was saved while this revision ran and changed the "
                    "same sections. Nothing was lost: ask for the revision again on the latest "
                    "version."
                )
        try:
            content, changed = apply_operations(latest.content, ops)
        except PatchProblem as exc:
            raise GenerationFailed(f"The changes no longer apply ({exc}). {_KEPT}") from exc
        errors = validate_content(inputs.template, content, inputs.columns)
        if errors:
            raise GenerationFailed(f"The revised page is not valid ({errors[0]}). {_KEPT}")
        if not changed and set(job.source_ids) == {s.id for s in latest.sources}:
            raise GenerationFailed(
                f"Nothing changed: the result is the same as version {latest.number}. Reword "
                "the instruction (say which part of the page to change), or edit by hand."
            )
        sources = [s for s in (session.get(Source, sid) for sid in job.source_ids) if s]
        applied = session.scalars(
            select(Annotation).where(Annotation.id.in_([row.id for row in comments] or [-1]))
        ).all()
        kind = (
            "regenerate" if job.kind == "regenerate" else "annotations" if comments else "revision"
        )
        version = add_version(
            session,
            deps,
            site,
            author,
            content,
            sources,
            Provenance(
                kind=kind,
                instruction=job.prompt or _comments_text(comments),
                parent=latest.number,
                changed_paths=changed,
                annotation_ids=[row.id for row in comments],
                model=drafts[-1].model if drafts else deps.provider.model,
                offline=drafts[-1].offline if drafts else True,
                tokens_in=sum(d.tokens_in for d in drafts),
                tokens_out=sum(d.tokens_out for d in drafts),
                job_id=job.id,
            ),
            inputs.tables,
            resolves=[row for row in applied if row.status == "open"],
        )
        finish_job(session, job, version.number)
    return version.number


def _comments_text(comments: Sequence[Annotation]) -> str:
    return "Applied comments: " + " · ".join(" ".join(row.body.split())[:200] for row in comments)
