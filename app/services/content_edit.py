"""Editing content by hand: a JSON Patch from a person, with optimistic concurrency.

The edit names the version it was made on (``base_version``). If another version was saved
since, nothing is written and the person is told what changed (409); the edit page keeps their
text and puts it on top of the latest version for them to check and save again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.errors import BadInput, Conflict, InvalidContent
from app.models import Site, SiteVersion, User
from app.services import Deps
from app.services.content_patch import (
    PatchProblem,
    TextField,
    apply_operations,
    check_operations,
    exists,
    label_for,
    pointer_parts,
    resolve,
    text_fields,
)
from app.services.content_versions import Provenance, add_version, lock_site
from app.services.pages import version_tables
from app.services.sites import get_version
from app.site_template import SiteTemplate
from app.validation import validate_content

HAND_EDIT_MODEL = "none (edited by hand)"


def edit_content(
    session: Session,
    deps: Deps,
    site: Site,
    actor: User,
    base_version: Any,
    ops: Any,
) -> SiteVersion:
    """Apply a person's patch to the latest version as a new version; the caller checked EDIT.

    :raise 400: no base version, or the patch is not a list of operations, or changes nothing.
    :raise 409: ``base_version`` is not the latest version.
    :raise 422: the patch leaves the template, or the result is invalid.
    """
    if not isinstance(base_version, int) or isinstance(base_version, bool):
        raise BadInput("'base_version' must be the number of the version you edited.")
    if not isinstance(ops, list) or not ops or not all(isinstance(op, dict) for op in ops):
        raise BadInput("'patch' must be a non-empty list of JSON Patch operations.")
    template = deps.registry.get(site.template)
    if template is None:
        raise InvalidContent(f"The template {site.template!r} is no longer installed.")
    lock_site(session, site)
    if base_version != site.latest_version:
        raise Conflict(
            f"Version {base_version} is not the latest: version {site.latest_version} was saved "
            "since. Look at what changed, then make your edit on the latest version.",
            details=[f"latest_version={site.latest_version}"],
        )
    latest = get_version(session, site, site.latest_version)
    problems = check_operations(template.schema, ops)
    if problems:
        raise InvalidContent("The patch does not fit the template.", details=problems)
    try:
        content, changed = apply_operations(latest.content, ops)
    except PatchProblem as exc:
        raise InvalidContent("The patch does not apply.", details=exc.problems) from exc
    tables = version_tables(deps, latest.sources)
    columns = {name: [str(c) for c in frame.columns] for name, frame in tables.items()}
    errors = validate_content(template, content, columns)
    if errors:
        raise InvalidContent("The edited content is not valid for this template.", details=errors)
    if content == latest.content:
        raise BadInput("Nothing changed: the edit gives the same content as the latest version.")
    changed = [path for path in changed if _differs(latest.content, content, path)] or changed
    version = add_version(
        session,
        deps,
        site,
        actor,
        content,
        latest.sources,
        Provenance(
            kind="edit",
            instruction="Edited by hand: "
            + ", ".join(label_for(pointer_parts(p)) for p in changed),
            parent=latest.number,
            changed_paths=changed,
            model=HAND_EDIT_MODEL,
        ),
        tables,
    )
    session.commit()
    return version


def _labels(paths: Sequence[str]) -> list[str]:
    return [label_for(pointer_parts(path)) for path in paths]


def _differs(old: Any, new: Any, path: str) -> bool:
    before = resolve(old, path) if exists(old, path) else None
    after = resolve(new, path) if exists(new, path) else None
    return before != after or exists(old, path) != exists(new, path)


def form_operations(
    template: SiteTemplate, content: dict[str, Any], submitted: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Return replace operations for the text fields whose submitted text differs."""
    ops: list[dict[str, Any]] = []
    for field in text_fields(template, content):
        if field.path not in submitted:
            continue
        text = _normal(submitted[field.path])
        if text == _normal(field.value):
            continue
        value: str | None = text
        if field.nullable and not text.strip():
            value = None
        ops.append({"op": "replace", "path": field.path, "value": value})
    return ops


def _normal(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class KeptEdit:
    """A field of the edit page after a conflict: the latest text, or the person's own."""

    field: TextField
    text: str
    mine: bool  # the person changed this field
    theirs: bool  # the field changed in the versions saved since


def keep_edits(
    template: SiteTemplate,
    base: dict[str, Any],
    latest: dict[str, Any],
    submitted: Mapping[str, str],
) -> tuple[list[KeptEdit], list[tuple[str, str]]]:
    """Put a person's edits made on ``base`` on top of ``latest``.

    Returns every text field of ``latest`` (with the person's text where they changed it) and
    the edits whose field no longer exists, as (label, text), so no typed text is lost.
    """
    mine = {
        field.path: (field.label, _normal(submitted[field.path]))
        for field in text_fields(template, base)
        if field.path in submitted and _normal(submitted[field.path]) != _normal(field.value)
    }
    before = {field.path: field.value for field in text_fields(template, base)}
    fields = []
    for field in text_fields(template, latest):
        own = mine.pop(field.path, None)
        fields.append(
            KeptEdit(
                field=field,
                text=own[1] if own else field.value,
                mine=own is not None,
                theirs=before.get(field.path) != field.value,
            )
        )
    return fields, list(mine.values())


@dataclass
class EditGroup:
    """A section of the edit page, its list items, and each field with its short label."""

    title: str
    items: list[tuple[str, list[tuple[str, KeptEdit]]]]  # (item title or "", fields)


def group_fields(fields: Sequence[KeptEdit]) -> list[EditGroup]:
    """Group fields by page section and list item, in page order, with short labels."""
    groups: dict[str, dict[str, list[tuple[str, KeptEdit]]]] = {}
    for kept in fields:
        section, *rest = kept.field.label.split(" › ")
        items = groups.setdefault(section, {})
        if len(rest) >= 2 and rest[0].isdigit():
            item, short = rest[0], " › ".join(rest[1:])
        else:
            item, short = "", " › ".join(rest) or section
        items.setdefault(item, []).append((short, kept))
    return [
        EditGroup(section, [(_item_title(item, rows), rows) for item, rows in items.items()])
        for section, items in groups.items()
    ]


def _item_title(item: str, rows: list[tuple[str, KeptEdit]]) -> str:
    if not item:
        return ""
    first = " ".join(rows[0][1].text.split())
    return f"{item}. {first[:70] + '…' if len(first) > 70 else first}" if first else item


def edit_page_fields(template: SiteTemplate, content: dict[str, Any]) -> Sequence[KeptEdit]:
    """Return the edit page's fields for a version, nobody's edits yet."""
    return [KeptEdit(f, f.value, False, False) for f in text_fields(template, content)]
