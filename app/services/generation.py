"""Running one job: read files, draft, check (one repair), render, save a version.

Each step is written to the job row first, so the progress page shows where it is and a failure
leaves the saved inputs (prompt, files) and every earlier version untouched. Jobs of kind
"revise" and "regenerate" run the same way through :mod:`app.services.revisions`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from sqlalchemy import update
from sqlalchemy.orm import Session

from app import audit
from app.errors import ComputeError, OverBudget
from app.ingest import IngestedFile, IngestError, ingest, render_digest
from app.llm import Draft, DraftRequest, LLMError
from app.models import Job, Site, Source, User, utcnow
from app.services import Deps, template_choice, usage, workspace
from app.services.content_versions import Provenance, add_version
from app.site_template import SiteTemplate
from app.validation import validate_content

log = logging.getLogger(__name__)

STEPS = ("reading files", "drafting", "checking", "rendering")


class GenerationFailed(Exception):
    """The job cannot produce a valid version; the message is shown to the user."""


class LeaseLost(Exception):
    """Another runner owns the job now (its lease ran out here); this runner stops quietly."""


@dataclass
class Inputs:
    """What a job reads: its template, prompt, source rows and the files they hold."""

    template: SiteTemplate
    prompt: str
    sources: list[Source]
    files: list[IngestedFile]

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Return every uploaded table by name."""
        return {table.name: table.frame for file in self.files for table in file.tables}

    @property
    def columns(self) -> dict[str, list[str]]:
        """Return every uploaded table's column names by table name."""
        return {name: [str(c) for c in frame.columns] for name, frame in self.tables.items()}


def set_step(deps: Deps, job_id: str, step: str, **fields: Any) -> None:
    """Write the job's current step (and other fields) in its own transaction."""
    with deps.db.transaction() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise GenerationFailed("The job was deleted.")
        if job.status != "running":
            raise LeaseLost(f"job {job_id} is no longer running here")
        job.step = step
        for key, value in fields.items():
            setattr(job, key, value)


def load_inputs(deps: Deps, session: Session, job: Job) -> Inputs:
    """Read the job's template and files again from the blob store."""
    template = deps.registry.get(job.site.template)
    if template is None:
        broken = (
            " is broken (the server log says how)"
            if job.site.template in deps.registry.skipped
            else " is no longer installed"
        )
        raise GenerationFailed(f"The template {job.site.template!r}{broken}; ask an admin.")
    sources = [session.get(Source, source_id) for source_id in job.source_ids]
    present = [source for source in sources if source is not None]
    files = []
    for source in present:
        try:
            files.append(ingest(source.filename, deps.blobs.get(source.sha256), deps.ingest_limits))
        except (OSError, IngestError) as exc:
            raise GenerationFailed(f"Could not read {source.filename} again: {exc}") from exc
    return Inputs(template, job.prompt, present, files)


def _problems(inputs: Inputs, draft: Draft) -> list[str]:
    if draft.content is None:
        return [f"the answer was not a JSON object: {draft.parse_error or 'unreadable'}"]
    return validate_content(inputs.template, draft.content, inputs.columns)


def draft_content(
    deps: Deps, job: Job, inputs: Inputs, usage_kind: str = "generate"
) -> tuple[dict[str, Any], list[Draft]]:
    """Ask the provider for content; repair once with the validation errors.

    :raise GenerationFailed: no valid content after the repair attempt.
    """
    digest = render_digest(inputs.files, deps.settings["DIGEST_TOKEN_BUDGET"])
    request = DraftRequest(
        template=inputs.template.spec, prompt=inputs.prompt, digest=digest, files=inputs.files
    )
    drafts = []
    set_step(deps, job.id, "drafting")
    draft = deps.provider.draft(request)
    drafts.append(draft)
    usage.record(deps, job, draft, usage_kind)
    set_step(deps, job.id, "checking")
    errors = _problems(inputs, draft)
    if errors:
        log.info("job %s: %d validation errors, asking for one repair", job.id, len(errors))
        set_step(deps, job.id, "repairing")
        draft = deps.provider.draft(replace(request, previous_output=draft.raw, errors=errors))
        drafts.append(draft)
        usage.record(deps, job, draft, "repair")
        errors = _problems(inputs, draft)
    if errors or draft.content is None:
        shown = "; ".join(errors[:3])
        raise GenerationFailed(
            "The model's answer did not fit the template, even after one repair attempt "
            f"({shown}). Your prompt and files are saved: press Retry, or reword the prompt."
        )
    return draft.content, drafts


def save_version(
    deps: Deps, job: Job, inputs: Inputs, content: dict[str, Any], drafts: Sequence[Draft]
) -> int:
    """Render the page, then store the first version and mark the job succeeded."""
    set_step(deps, job.id, "rendering")
    with deps.db.transaction() as session:
        site = session.get(Site, job.site_id, with_for_update={"of": Site})
        author = session.get(User, job.created_by_id)
        assert site is not None and author is not None
        sources = [s for s in (session.get(Source, sid) for sid in job.source_ids) if s]
        last = drafts[-1]
        version = add_version(
            session,
            deps,
            site,
            author,
            content,
            sources,
            Provenance(
                kind="prompt",
                instruction=job.prompt,
                model=last.model,
                offline=last.offline,
                tokens_in=sum(d.tokens_in for d in drafts),
                tokens_out=sum(d.tokens_out for d in drafts),
                job_id=job.id,
            ),
            inputs.tables,
        )
        finish_job(session, job, version.number)
    return version.number


def finish_job(session: Session, job: Job, number: int) -> None:
    """Mark a job succeeded with the version it made; the caller commits.

    :raise GenerationFailed: the job's lease was lost (it was queued again or failed while this
        process ran it), so the caller's transaction, and its version, must not be committed.
    """
    row = session.get(Job, job.id, populate_existing=True)
    if row is None or row.status != "running" or row.attempts != job.attempts:
        raise LeaseLost(f"job {job.id} is no longer this runner's")
    row.status, row.step, row.version, row.finished_at = "succeeded", "done", number, utcnow()


def fail_job(deps: Deps, job_id: str, message: str) -> None:
    """Mark the running job failed with a message for the user; inputs and versions stay.

    A job that is no longer running (its lease ran out and maintenance queued it again or
    failed it) is left as it is.
    """
    with deps.db.transaction() as session:
        job = session.get(Job, job_id)
        if job is None or job.status != "running":
            return
        job.status, job.error, job.finished_at = "failed", message, utcnow()
        actor = session.get(User, job.created_by_id)
        audit.track_event(
            session,
            audit.GenerationFailed(data={"job_id": job.id, "step": job.step, "error": message}),
            actor=actor,
            site=job.site,
        )


def run_generation(deps: Deps, job_id: str) -> None:
    """Run one queued job to a new version, or to a clear failure."""
    if not claim(deps, job_id):
        log.info("job %s is not queued (another runner has it, or it ended); skipping", job_id)
        return
    with deps.lease.holding(job_id):
        _run_claimed(deps, job_id)


def claim(deps: Deps, job_id: str) -> bool:
    """Move the job from queued to running; False if it was not queued (someone else has it).

    A conditional UPDATE, so two runners handed the same job cannot both run it.
    """
    now = utcnow()
    with deps.db.transaction() as session:
        changed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued")
            .values(
                status="running",
                step="reading files",
                started_at=now,
                heartbeat_at=now,
                attempts=Job.attempts + 1,
            )
        )
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def _run_claimed(deps: Deps, job_id: str) -> None:
    session = deps.db.session()
    try:
        job = session.get(Job, job_id)
        assert job is not None
        if deps.provider.name != "offline":
            # Checked again as the job starts: jobs queued together must not all overspend.
            creator = session.get_one(User, job.created_by_id)
            usage.check_budget(session, creator, workspace.settings_for(session, deps.settings))
        if job.kind in ("revise", "regenerate"):
            from app.services.revisions import run_revision  # it builds on this module

            run_revision(deps, session, job)
        else:
            inputs = load_inputs(deps, session, job)
            if template_choice.model_should_choose(job):
                set_step(deps, job.id, template_choice.CHOOSING)
                chosen = template_choice.choose_with_model(deps, job, inputs.files, inputs.sources)
                inputs = replace(inputs, template=chosen)
            content, drafts = draft_content(deps, job, inputs)
            save_version(deps, job, inputs, content, drafts)
    except LeaseLost:
        log.warning("job %s: its lease ran out while it ran here; its version is dropped", job_id)
    except (GenerationFailed, LLMError, OverBudget, ComputeError) as exc:
        fail_job(deps, job_id, str(exc))
    except Exception:
        log.exception("job %s failed unexpectedly", job_id)
        fail_job(
            deps,
            job_id,
            "Something went wrong on the server while making this version. "
            "Your prompt and files are saved: press Retry; if it fails again, tell an admin.",
        )
    finally:
        session.close()
