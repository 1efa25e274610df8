"""Creating sites, retrying their generation and publishing their versions."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app import audit
from app.access import Action, Principal, Role, State, can, role_of, sees_gone_page, state_of
from app.auth import identity
from app.errors import BadInput, Conflict, Forbidden, Gone, NotFound, TooLarge
from app.ingest import IngestedFile, IngestError, ingest, safe_filename
from app.models import Grant, Job, Site, SiteVersion, Source, User
from app.services import Deps, review, sharing, template_choice, usage, workspace
from app.services.categories import CATEGORIES as CATEGORIES  # the new-site form lists them
from app.services.categories import check_categories, suggest_categories

AUDIENCES = ("owner", "workspace")  # what publishing may set; people and groups are shared
MAX_PROMPT_CHARS = 8000


@dataclass(frozen=True)
class Upload:
    """A file as it arrived with a request."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class NewSite:
    """What a builder asks for: template ("" lets Sitewright choose), prompt, files, metadata."""

    template: str
    prompt: str
    name: str
    department: str
    expires_on: dt.date | None
    data_source_note: str = ""
    categories: Sequence[str] = ()
    purpose: str = ""


def slugify(name: str) -> str:
    """Return a URL slug: lowercase words from the name plus a random suffix."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40].strip("-")
    return f"{words or 'site'}-{secrets.token_hex(3)}"


def parse_date(raw: str | None, field: str = "expires_on") -> dt.date | None:
    """Parse YYYY-MM-DD, or raise BadInput naming the field."""
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise BadInput(f"{field} must be a date like 2027-03-31.") from exc


def default_expiry(settings: dict[str, object], today: dt.date | None = None) -> dt.date:
    """Return the expiry date prefilled for a new site."""
    days = int(settings["DEFAULT_EXPIRY_DAYS"])  # type: ignore[call-overload]
    return (today or dt.date.today()) + dt.timedelta(days=days)


def check_expiry(expires_on: dt.date, settings: dict[str, object]) -> None:
    """Refuse an expiry date in the past or beyond the admins' maximum."""
    today = dt.date.today()
    latest = today + dt.timedelta(days=int(settings["MAX_EXPIRY_DAYS"]))  # type: ignore[call-overload]
    if expires_on <= today:
        raise BadInput("The expiry date must be in the future.")
    if expires_on > latest:
        raise BadInput(
            f"The expiry date can be at most {latest.isoformat()} "
            f"({settings['MAX_EXPIRY_DAYS']} days from today)."
        )


def read_uploads(deps: Deps, uploads: Sequence[Upload]) -> list[IngestedFile]:
    """Read every upload, refusing the whole request with a clear message if one is bad."""
    if len(uploads) > deps.settings["MAX_FILES"]:
        raise BadInput(f"At most {deps.settings['MAX_FILES']} files can be uploaded at once.")
    names = [safe_filename(upload.filename) for upload in uploads]
    if len(set(names)) != len(names):
        raise BadInput("Two files have the same name; rename one and upload again.")
    files = []
    for upload in uploads:
        if len(upload.data) > deps.ingest_limits.max_file_bytes:
            raise TooLarge(
                f"{safe_filename(upload.filename)} is larger than "
                f"{deps.settings['MAX_FILE_MB']} MB; upload a smaller extract."
            )
        try:
            files.append(ingest(upload.filename, upload.data, deps.ingest_limits))
        except IngestError as exc:
            raise BadInput(str(exc)) from exc
    return files


def suggest_source_note(files: Sequence[IngestedFile]) -> str:
    """Describe the uploaded files for the data-source note."""
    parts = []
    for file in files:
        if file.kind == "table":
            rows = sum(len(table.frame) for table in file.tables)
            parts.append(f"{file.filename} ({rows} rows)")
        else:
            parts.append(file.filename)
    return "Uploaded files: " + ", ".join(parts) + "." if parts else ""


def create_site(
    session: Session, deps: Deps, owner: User, request: NewSite, uploads: Sequence[Upload]
) -> tuple[Site, Job]:
    """Persist a new site, its files and a queued generation job; the caller submits the job.

    :raise BadInput: unknown template, missing name, bad date or category, unreadable file.
    :raise 429: ``owner`` spent their monthly token budget.
    """
    settings = workspace.settings_for(session, deps.settings)
    workspace.check_may_create(settings, owner.group_names, identity.is_admin(owner, settings))
    usage.check_budget(session, owner, settings)
    template = template_choice.requested_template(deps.registry, request.template)
    name = request.name.strip()
    if not name or len(name) > 200:
        raise BadInput("Give the site a name (at most 200 characters).")
    prompt = request.prompt.strip()
    if not prompt and not uploads:
        raise BadInput("Describe what the site should show, or upload at least one file.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadInput(f"The prompt is too long; keep it under {MAX_PROMPT_CHARS} characters.")
    declared = check_categories(request.categories)
    expires_on = request.expires_on or default_expiry(settings)
    check_expiry(expires_on, settings)
    files = read_uploads(deps, uploads)
    suggestions = suggest_categories(files)
    raw = [upload.data for upload in uploads]  # the rules count a workbook's formulas
    template, choice = template_choice.choose_if_open(deps, template, prompt, files, raw)

    site = Site(
        slug=slugify(name),
        name=name,
        owner=owner,
        department=request.department.strip()[:100],
        template=template.name,
        template_choice=choice.as_json() if choice else None,
        purpose=request.purpose.strip(),
        expires_on=expires_on,
        data_source_note=(request.data_source_note.strip() or suggest_source_note(files)),
        categories=declared,
        audience=settings["DEFAULT_AUDIENCE"],
        status="draft",
        review_state=review.initial_review_state(
            declared, [s.category for s in suggestions], settings
        ),
    )
    session.add(site)
    session.flush()
    sources = []
    for upload, file in zip(uploads, files, strict=True):
        sha = deps.blobs.put(upload.data)
        sources.append(
            Source(
                site_id=site.id,
                filename=file.filename,
                sha256=sha,
                size=len(upload.data),
                kind=file.kind,
                uploader=owner,
            )
        )
    session.add_all(sources)
    session.flush()
    job = Job(
        id=str(uuid.uuid4()),
        site_id=site.id,
        kind="generate",
        prompt=prompt,
        source_ids=[source.id for source in sources],
        created_by_id=owner.id,
    )
    session.add(job)
    audit.track_event(
        session,
        audit.SiteCreated(
            data={
                "template": template.name,
                "template_version": template.version,
                "template_choice": choice.as_json() if choice else None,  # None: the builder's
                "sources": [{"filename": s.filename, "sha256": s.sha256} for s in sources],
                "expires_on": expires_on.isoformat(),
                "categories": site.categories,
                "suggested_categories": [s.as_json() for s in suggestions],
                "review_state": site.review_state,
            }
        ),
        actor=owner,
        site=site,
    )
    session.commit()
    return site, job


def get_site(session: Session, who: Principal, site_id: int, action: Action) -> Site:
    """Return the site if ``who`` may do ``action``.

    :raise 403: ``who`` can see the site but not do this, in its current state.
    :raise 404: unknown, or not visible to ``who`` (never reveal that a site exists).
    :raise 410: unpublished, expired or disabled, for someone it is shared with.
    """
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound("No such site, or it is not shared with you.")
    if can(who, action, site):
        return site
    if can(who, Action.VIEW, site) or can(who, Action.VIEW_DRAFTS, site):
        raise Forbidden(refusal(site, action))
    if sees_gone_page(who, site):
        raise Gone(gone_message(site))
    raise NotFound("No such site, or it is not shared with you.")


_DOING = {
    Action.VIEW: "open",
    Action.COMMENT: "comment on",
    Action.VIEW_DRAFTS: "see the drafts of",
    Action.EDIT: "edit",
    Action.PUBLISH: "publish versions of",
    Action.SHARE: "share",
    Action.MANAGE: "change, unpublish or delete",
    Action.EXPORT: "export",
    Action.REVIEW: "review",
    Action.RESTORE: "restore",
}


def refusal(site: Site, action: Action) -> str:
    """Say why an action is refused to someone who can see the site."""
    state = state_of(site)
    if state is State.DISABLED:
        reason = f": {site.disabled_reason}" if site.disabled_reason else ""
        return f"{site.name} was disabled by an admin{reason}. Ask an admin to enable it."
    if state is State.EXPIRED:
        return f"{site.name} expired on {site.expires_on.isoformat()}; extend it first."
    if state is State.DELETED:
        return f"{site.name} is deleted; restore it first."
    if action is Action.REVIEW:
        return f"Only reviewers can review {site.name}, and nobody reviews their own site."
    return f"You cannot {_DOING[action]} {site.name}."


def gone_message(site: Site) -> str:
    """Say what happened to a site and who owns it, for people it was shared with."""
    owner = f"{site.owner.name} ({site.owner.email})"
    state = state_of(site)
    if state is State.EXPIRED:
        return f"{site.name} expired on {site.expires_on.isoformat()}. Its owner is {owner}."
    if state is State.DISABLED:
        return f"{site.name} was disabled by an admin. Its owner is {owner}."
    return f"{site.name} was unpublished by its owner, {owner}."


def listed_sites(session: Session, who: Principal, limit: int = 500) -> list[Site]:
    """Return the sites to list for ``who``: those they can open, and those they work on.

    Deleted sites are left out. The query only narrows the candidates; the policy decides.
    """
    query = select(Site).where(Site.deleted_at.is_(None)).order_by(Site.updated_at.desc())
    if not who.sees_all_sites:
        granted = select(Grant.site_id).where(
            or_(Grant.email == who.email.lower(), Grant.group_name.in_(sorted(who.groups)))
        )
        query = query.where(
            or_(Site.owner_id == who.id, Site.audience == "workspace", Site.id.in_(granted))
        )
    listed = []
    for site in session.scalars(query.limit(limit)):
        works_on = role_of(who, site) in (Role.OWNER, Role.EDITOR)
        if can(who, Action.VIEW, site) or (works_on and can(who, Action.VIEW_DRAFTS, site)):
            listed.append(site)
    return listed


def get_site_by_slug(session: Session, slug: str) -> Site | None:
    """Return the site with this slug, or None."""
    return session.scalars(select(Site).where(Site.slug == slug)).first()


def get_version(session: Session, site: Site, number: int) -> SiteVersion:
    """Return one version of a site.

    :raise 404: no such version.
    """
    version = session.scalars(
        select(SiteVersion).where(SiteVersion.site_id == site.id, SiteVersion.number == number)
    ).first()
    if version is None:
        raise NotFound(f"Version {number} of this site does not exist.")
    return version


def get_job(session: Session, who: Principal, job_id: str) -> Job:
    """Return a job of a site ``who`` may see drafts of.

    :raise 404: unknown or not visible.
    """
    job = session.get(Job, job_id)
    if job is None or not can(who, Action.VIEW_DRAFTS, job.site):
        raise NotFound("No such job.")
    return job


def retry_job(session: Session, deps: Deps, job: Job, actor: User, who: Principal) -> Job:
    """Queue a failed job again with the inputs saved when it was created.

    :raise 403/404/410: ``who`` may not edit the site (retrying makes a version).
    :raise 409: the job has not failed.
    :raise 429: ``actor`` spent their monthly token budget.
    """
    get_site(session, who, job.site_id, Action.EDIT)
    usage.check_budget(session, actor, workspace.settings_for(session, deps.settings))
    if job.status != "failed":
        raise Conflict("Only a failed generation can be retried.")
    # Whoever retries spends the tokens: the job is theirs now (and charged to their budget).
    first_by, job.created_by_id = job.created_by_id, actor.id
    job.status, job.step, job.error, job.restarts = "queued", "queued", None, 0
    job.started_at = job.finished_at = job.heartbeat_at = None
    audit.track_event(
        session,
        audit.GenerationRetried(data={"job_id": job.id, "first_requested_by": first_by}),
        actor=actor,
        site=job.site,
    )
    session.commit()
    deps.runner.submit(job.id)
    return job


def publish_version(
    session: Session,
    site: Site,
    number: int,
    actor: User,
    audience: str | None = None,
    who: Principal | None = None,
) -> Site:
    """Make version ``number`` the published one, optionally setting the audience.

    An unpublished site stays offline (only its owner republishes it); the chosen version is
    the one served once it is back. Changing the audience is sharing: it needs the SHARE
    right (``who``; the owner), not just PUBLISH, which editors have too.

    :raise 404: no such version.
    :raise 400: unknown audience.
    :raise 403: ``who`` may publish but not change who can open the site.
    :raise 409: an audience beyond the owner while the site waits for review.
    """
    get_version(session, site, number)
    if audience is not None and audience != site.audience:
        if who is None or not can(who, Action.SHARE, site):
            raise Forbidden(
                "Only the owner changes who can open the site; publish without "
                "changing the audience, or ask the owner."
            )
    if audience is not None and audience not in AUDIENCES:
        raise BadInput(
            f"audience must be one of {', '.join(AUDIENCES)}; "
            "share with people or groups through the sharing settings."
        )
    before = {"published_version": site.published_version, "status": site.status}
    if audience is not None:
        sharing.set_audience(session, site, actor, audience)
    site.published_version = number
    if site.status != "unpublished":
        site.status = "published"
    audit.track_event(
        session,
        audit.VersionPublished(
            data={
                "before": before["published_version"],
                "after": number,
                "status_before": before["status"],
            }
        ),
        actor=actor,
        site=site,
        version=number,
    )
    session.commit()
    return site
