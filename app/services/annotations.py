"""Comments anchored to a content path (JSON Pointer) plus the text they quote.

Anchoring rule, applied to every open (or orphaned) comment whenever a version is added:

1. keep the path if the element is still there and its text still contains the quote;
2. else look for the quote: first in elements of the same kind (``/risks/3`` looks at every
   ``/risks/*``), then in any text of the page, and anchor there;
3. else keep the path if it names a fixed field of the template (no list index in it, so it
   cannot disappear: ``/summary``, ``/risks``);
4. else the comment is orphaned (it stays listed, with its last path and quote).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app import audit
from app.access import Action, Principal, can
from app.errors import BadInput, NotFound
from app.models import Annotation, Site, User, utcnow
from app.services.content_patch import escape, exists, label_for, pointer_parts, resolve
from app.services.sites import get_version

MAX_BODY_CHARS = 4000
MAX_QUOTE_CHARS = 300
MAX_APPLY = 20
STATUSES = ("open", "resolved", "orphaned")


def element_text(value: Any) -> str:
    """Return all the text of an element, leaves joined by spaces."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return " ".join(t for t in (element_text(v) for v in value.values()) if t)
    if isinstance(value, list):
        return " ".join(t for t in (element_text(v) for v in value) if t)
    return "" if value is None else str(value)


def quote_of(value: Any) -> str:
    """Return what a comment on this element quotes: its text, or its first line of text."""
    text = _first_text(value) if isinstance(value, dict | list) else element_text(value)
    return _normal(text)[:MAX_QUOTE_CHARS]


def _first_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        text = _first_text(child)
        if text.strip():
            return text
    return ""


def _normal(text: str) -> str:
    return " ".join(text.split())


def _contains(value: Any, quote: str) -> bool:
    return not quote or quote in _normal(element_text(value))


def _same_kind(content: Any, parts: Sequence[str], prefix: str = "") -> Iterator[str]:
    """Yield every pointer shaped like ``parts`` with each list index free."""
    if not parts:
        yield prefix
        return
    head, rest = parts[0], parts[1:]
    if isinstance(content, list) and head.isdigit():
        for index, item in enumerate(content):
            yield from _same_kind(item, rest, f"{prefix}/{index}")
    elif isinstance(content, dict) and head in content:
        yield from _same_kind(content[head], rest, f"{prefix}/{escape(head)}")


def _leaves(content: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(content, str):
        yield prefix, content
    elif isinstance(content, dict):
        for key, value in content.items():
            yield from _leaves(value, f"{prefix}/{escape(key)}")
    elif isinstance(content, list):
        for index, value in enumerate(content):
            yield from _leaves(value, f"{prefix}/{index}")


def anchor(content: dict[str, Any], path: str, quote: str) -> str | None:
    """Return where a comment on ``path`` quoting ``quote`` belongs in ``content``, or None."""
    if exists(content, path) and _contains(resolve(content, path), quote):
        return path
    parts = pointer_parts(path)
    if quote:
        for candidate in _same_kind(content, parts):
            if _contains(resolve(content, candidate), quote):
                return candidate
        for leaf, text in _leaves(content):
            if quote in _normal(text):
                return leaf
    if exists(content, path) and not any(p.isdigit() for p in parts):
        return path
    return None


def reanchor_annotations(
    session: Session,
    site: Site,
    content: dict[str, Any],
    number: int,
    skip: Collection[int] = (),
) -> dict[str, list[int]]:
    """Move every open or orphaned comment onto version ``number``; return who moved where."""
    rows = session.scalars(
        select(Annotation).where(
            Annotation.site_id == site.id, Annotation.status.in_(("open", "orphaned"))
        )
    ).all()
    report: dict[str, list[int]] = {}
    for row in rows:
        if row.id in skip:
            continue
        target = anchor(content, row.path, row.quote)
        if target is None:
            if row.status != "orphaned":
                row.status = "orphaned"
                report.setdefault("orphaned", []).append(row.id)
            continue
        if target != row.path:
            report.setdefault("moved", []).append(row.id)
        if row.status == "orphaned":
            report.setdefault("reopened", []).append(row.id)
        row.path, row.status, row.anchored_version = target, "open", number
    return report


def version_for(site: Site, who: Principal, requested: int | None) -> int:
    """Return the version a comment is written on: the one ``who`` sees unless they ask.

    :raise 404: the version does not exist or is not visible to ``who``.
    """
    drafts = can(who, Action.VIEW_DRAFTS, site)
    if requested is None:
        number = site.latest_version if drafts else site.published_version
    else:
        number = requested
    if (
        not number
        or number > site.latest_version
        or (not drafts and number != site.published_version)
    ):
        raise NotFound(f"Version {number} of this site does not exist.")
    return number


def create_annotation(
    session: Session,
    site: Site,
    author: User,
    who: Principal,
    path: Any,
    body: Any,
    version: int | None = None,
) -> Annotation:
    """Comment on the element at ``path`` of a version; the caller checked Action.COMMENT.

    :raise 400: empty or long body, or no such element.
    :raise 404: no such version, or not visible.
    """
    if not isinstance(body, str) or not body.strip():
        raise BadInput("Write a comment.")
    body = body.strip()
    if len(body) > MAX_BODY_CHARS:
        raise BadInput(f"Keep a comment under {MAX_BODY_CHARS} characters.")
    number = version_for(site, who, version)
    row = get_version(session, site, number)
    if not isinstance(path, str) or not path.startswith("/") or not exists(row.content, path):
        raise BadInput(
            f"There is no element at {path!r} in version {number}; "
            "choose an element of the page (a JSON Pointer such as /risks/0)."
        )
    quote = quote_of(resolve(row.content, path))
    annotation = Annotation(
        site_id=site.id,
        version=number,
        path=path,
        quote=quote,
        body=body,
        author_id=author.id,
        status="open",
        anchored_version=number,
    )
    if number != site.latest_version:
        # Written on an older version (the published one): anchor it on the latest at once.
        latest = get_version(session, site, site.latest_version)
        target = anchor(latest.content, path, quote)
        annotation.status = "open" if target else "orphaned"
        annotation.path = target or path
        annotation.anchored_version = site.latest_version if target else number
    session.add(annotation)
    session.flush()
    audit.track_event(
        session,
        audit.AnnotationCreated(
            data={"annotation_id": annotation.id, "path": path, "written_on": number}
        ),
        actor=author,
        site=site,
        version=number,
    )
    session.commit()
    return annotation


def list_annotations(
    session: Session, site: Site, who: Principal, status: str | None = None
) -> list[Annotation]:
    """Return the comments ``who`` may read: all of them for owners, editors and reviewers;
    for viewers, those written on the published version and their own."""
    query = select(Annotation).where(Annotation.site_id == site.id)
    if not can(who, Action.VIEW_DRAFTS, site):
        query = query.where(
            or_(Annotation.author_id == who.id, Annotation.version == site.published_version)
        )
    if status is not None:
        if status not in STATUSES:
            raise BadInput(f"status must be one of {', '.join(STATUSES)}.")
        query = query.where(Annotation.status == status)
    return list(session.scalars(query.order_by(Annotation.created_at, Annotation.id)).all())


def get_annotation(session: Session, site: Site, annotation_id: int) -> Annotation:
    """Return one comment of ``site``.

    :raise 404: no such comment on this site.
    """
    row = session.get(Annotation, annotation_id)
    if row is None or row.site_id != site.id:
        raise NotFound("No such comment on this site.")
    return row


def resolve_annotation(session: Session, site: Site, annotation_id: int, actor: User) -> Annotation:
    """Mark one comment resolved (by hand); the caller checked Action.EDIT.

    :raise 404: no such comment on this site.
    """
    row = get_annotation(session, site, annotation_id)
    if row.status != "resolved":
        mark_resolved(session, site, [row], site.latest_version, actor)
        session.commit()
    return row


def mark_resolved(
    session: Session, site: Site, rows: Sequence[Annotation], number: int, actor: User
) -> None:
    """Resolve comments in version ``number``, with one audit event; the caller commits."""
    for row in rows:
        row.status, row.resolved_version = "resolved", number
        row.resolved_by_id, row.resolved_at = actor.id, utcnow()
    audit.track_event(
        session,
        audit.AnnotationResolved(data={"annotation_ids": [row.id for row in rows]}),
        actor=actor,
        site=site,
        version=number,
    )


def open_annotations(session: Session, site: Site, ids: Sequence[Any]) -> list[Annotation]:
    """Return the open comments with these ids, for applying them.

    :raise 400: none chosen, too many, unknown, or not open.
    """
    if not ids:
        raise BadInput("Choose at least one open comment to apply.")
    if len(ids) > MAX_APPLY:
        raise BadInput(f"Apply at most {MAX_APPLY} comments at once.")
    wanted: list[int] = []
    for raw in ids:
        if isinstance(raw, bool) or not re.fullmatch(r"[0-9]{1,12}", str(raw)):
            raise BadInput("annotation_ids must be comment ids (numbers).")
        if int(raw) not in wanted:
            wanted.append(int(raw))
    rows = session.scalars(
        select(Annotation).where(Annotation.site_id == site.id, Annotation.id.in_(wanted))
    ).all()
    found = {row.id: row for row in rows}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise BadInput(f"No such comment on this site: {', '.join(map(str, missing))}.")
    closed = [i for i in wanted if found[i].status != "open"]
    if closed:
        raise BadInput(
            f"Only open comments can be applied; {', '.join(map(str, closed))} "
            "is resolved or orphaned."
        )
    return [found[i] for i in wanted]


class _DataPaths(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "data-path" and value and value not in self.paths:
                self.paths.append(value)


def page_elements(html: str, content: dict[str, Any]) -> list[dict[str, str]]:
    """List the commentable elements of a rendered page: path, label and the text quoted."""
    parser = _DataPaths()
    parser.feed(html)
    elements = []
    for path in parser.paths:
        if path.startswith("/") and exists(content, path):
            quote = quote_of(resolve(content, path))
            elements.append({"path": path, "label": label_for(pointer_parts(path)), "quote": quote})
    return elements


def annotation_json(row: Annotation) -> dict[str, Any]:
    """Describe a comment for the API and the annotate page."""
    return {
        "id": row.id,
        "site_id": row.site_id,
        "version": row.version,
        "path": row.path,
        "quote": row.quote,
        "body": row.body,
        "author": row.author.email,
        "author_name": row.author.name,
        "created_at": row.created_at.isoformat() + "Z",
        "status": row.status,
        "anchored_version": row.anchored_version,
        "resolved_version": row.resolved_version,
        "resolved_at": row.resolved_at.isoformat() + "Z" if row.resolved_at else None,
    }
