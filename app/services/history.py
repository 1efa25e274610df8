"""A site's history: the versions with their provenance, readable diffs, restoring a version.

A diff walks the template's schema, so changes come section by section in page order, with
list items matched by content (an inserted risk is "added", not "every risk changed") and chart
or table references described in words.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import BadInput, Conflict
from app.models import Site, SiteVersion, User
from app.services import Deps
from app.services.content_patch import (
    data_ref_pointers,
    diff_operations,
    humanise,
    join,
    label_for,
)
from app.services.content_versions import Provenance, add_version, lock_site
from app.services.sites import get_version
from app.site_template import SiteTemplate


@dataclass(frozen=True)
class Change:
    """One difference between two versions, at a content path."""

    path: str
    op: str  # "added", "removed" or "changed"
    old: Any
    new: Any
    section: str  # the top-level field it lies in
    label: str  # the path in words: "Risks › 2 › Mitigation"
    summary: str  # one sentence for people
    kind: str | None = None  # "chart" or "table" when the change is a data reference


@dataclass
class Section:
    """The changes of one top-level field, titled for people."""

    name: str
    title: str
    description: str
    changes: list[Change] = field(default_factory=list)


def versions_of(session: Session, site: Site) -> list[SiteVersion]:
    """Return every version of a site, newest first."""
    return list(
        session.scalars(
            select(SiteVersion)
            .where(SiteVersion.site_id == site.id)
            .order_by(SiteVersion.number.desc())
        ).all()
    )


def version_numbers(site: Site, raw_from: Any, raw_to: Any) -> tuple[int, int]:
    """Read ``from`` and ``to`` (``to`` defaults to the latest, ``from`` to the one before).

    :raise 400: not version numbers.
    """
    try:
        to = int(raw_to) if raw_to not in (None, "") else site.latest_version
        start = int(raw_from) if raw_from not in (None, "") else max(to - 1, 1)
    except (TypeError, ValueError) as exc:
        raise BadInput("'from' and 'to' must be version numbers.") from exc
    return start, to


def content_changes(template: SiteTemplate, old: Any, new: Any) -> list[Change]:
    """List the changes from ``old`` to ``new`` content, in page order."""
    refs = list(zip(template.data_refs, data_ref_pointers(template), strict=True))
    changes: list[Change] = []
    _diff(template.schema, old, new, [], refs, changes)
    return changes


def sections(template: SiteTemplate, changes: Sequence[Change]) -> list[Section]:
    """Group changes by top-level field, in the schema's order, skipping unchanged ones."""
    properties = template.schema.get("properties", {})
    grouped = {
        name: Section(name, humanise(name), str(node.get("description", "")))
        for name, node in properties.items()
    }
    for change in changes:
        grouped.setdefault(change.section, Section(change.section, humanise(change.section), ""))
        grouped[change.section].changes.append(change)
    return [section for section in grouped.values() if section.changes]


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _ref_kind(path: str, refs: Sequence[tuple[Any, re.Pattern[str]]]) -> str | None:
    return next((ref.kind for ref, pattern in refs if pattern.match(path)), None)


def _diff(
    node: dict[str, Any],
    old: Any,
    new: Any,
    parts: list[str],
    refs: Sequence[tuple[Any, re.Pattern[str]]],
    out: list[Change],
) -> None:
    if old == new:
        return
    path = join(parts)
    kind = _ref_kind(path, refs)
    if old is None or new is None or kind or type(old) is not type(new):
        op = "added" if old is None else "removed" if new is None else "changed"
        out.append(_change(path, parts, op, old, new, kind))
    elif isinstance(old, dict):
        properties = node.get("properties", {})
        for key in [*properties, *(k for k in {**old, **new} if k not in properties)]:
            _diff(properties.get(key, {}), old.get(key), new.get(key), [*parts, key], refs, out)
    elif isinstance(old, list):
        items = node.get("items") if isinstance(node.get("items"), dict) else {}
        matcher = SequenceMatcher(None, [_key(i) for i in old], [_key(i) for i in new], False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
            for k in range(paired):
                _diff(items or {}, old[i1 + k], new[j1 + k], [*parts, str(j1 + k)], refs, out)
            for k in range(i1 + paired, i2):
                out.append(_item_change([*parts, str(k)], "removed", old[k], None, refs))
            for k in range(j1 + paired, j2):
                out.append(_item_change([*parts, str(k)], "added", None, new[k], refs))
    else:
        out.append(_change(path, parts, "changed", old, new, None))


def _item_change(
    parts: list[str], op: str, old: Any, new: Any, refs: Sequence[tuple[Any, re.Pattern[str]]]
) -> Change:
    path = join(parts)
    return _change(path, parts, op, old, new, _ref_kind(path, refs))


def _change(path: str, parts: list[str], op: str, old: Any, new: Any, kind: str | None) -> Change:
    label = label_for(parts)
    if kind and op == "changed":
        summary = describe_ref_change(kind, old, new)
    elif kind:
        summary = f"{op.capitalize()} {describe_ref(kind, new if op == 'added' else old)}"
    elif op == "changed":
        summary = f"{label} changed"
    else:
        summary = f"{label} {op}"
    return Change(path, op, old, new, parts[0] if parts else "", label, summary, kind)


def _names(values: Any) -> str:
    items = values if isinstance(values, list) else [values]
    return ", ".join(str(v) for v in items) or "nothing"


def describe_ref(kind: str, ref: dict[str, Any]) -> str:
    """Describe a chart or table reference in words."""
    title = ref.get("title") or "untitled"
    if kind == "chart":
        shows = _names(ref.get("y")) if ref.get("y") else "a count"
        return (
            f"{ref.get('kind', '')} chart '{title}': {shows} by {ref.get('x')} "
            f"from {ref.get('source')}"
        )
    return f"table '{title}': columns {_names(ref.get('columns'))} from {ref.get('source')}"


def describe_ref_change(kind: str, old: dict[str, Any], new: dict[str, Any]) -> str:
    """Say how a chart or table reference changed: "chart 'X' now shows column Y (was Z)"."""
    phrases = []
    if old.get("title") != new.get("title"):
        phrases.append(f"is now titled '{new.get('title')}' (was '{old.get('title')}')")
    if old.get("source") != new.get("source"):
        phrases.append(f"now reads {new.get('source')} (was {old.get('source')})")
    for key, words in (("y", "shows"), ("columns", "shows")):
        if key in new and old.get(key) != new.get(key):
            count = len(new.get(key) or [])
            noun = "column" if count == 1 else "columns"
            was = _names(old.get(key))
            phrases.append(f"now {words} {noun} {_names(new.get(key))} (was {was})")
    if old.get("x") != new.get("x"):
        phrases.append(f"now plots by {new.get('x')} (was {old.get('x')})")
    if old.get("kind") != new.get("kind"):
        phrases.append(f"is now a {new.get('kind')} chart (was {old.get('kind')})")
    if old.get("aggregate") != new.get("aggregate"):
        phrases.append(f"now aggregates by {new.get('aggregate')} (was {old.get('aggregate')})")
    if old.get("max_rows") != new.get("max_rows"):
        phrases.append(f"shows at most {new.get('max_rows')} rows (was {old.get('max_rows')})")
    return f"{kind.capitalize()} '{new.get('title') or old.get('title')}' " + "; ".join(phrases)


def restore_version(
    session: Session, deps: Deps, site: Site, number: int, actor: User
) -> SiteVersion:
    """Make a new version equal to version ``number``; the caller checked Action.EDIT.

    :raise 404: no such version.
    :raise 409: it is already the latest version.
    """
    source = get_version(session, site, number)
    lock_site(session, site)
    latest = get_version(session, site, site.latest_version)
    if number == latest.number:
        raise Conflict(f"Version {number} is already the latest version.")
    changed = [op["path"] for op in diff_operations(latest.content, source.content)]
    version = add_version(
        session,
        deps,
        site,
        actor,
        copy.deepcopy(source.content),
        source.sources,
        Provenance(
            kind="restore",
            instruction=f"Restored version {number}",
            parent=latest.number,
            changed_paths=changed,
            model=source.model,
            offline=source.offline,
        ),
    )
    session.commit()
    return version


def word_diff(old: Any, new: Any) -> list[tuple[str, str]]:
    """Split two texts into ("same" | "removed" | "added", text) runs, word by word."""
    before, after = _words(old), _words(new)
    runs: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, before, after, False).get_opcodes():
        if tag == "equal":
            runs.append(("same", "".join(before[i1:i2])))
            continue
        if i2 > i1:
            runs.append(("removed", "".join(before[i1:i2])))
        if j2 > j1:
            runs.append(("added", "".join(after[j1:j2])))
    return runs


def _words(text: Any) -> list[str]:
    return re.findall(r"\s+|[^\s]+", "" if text is None else str(text))
