"""Array fields: one source for each (a text block, a table, the people named), then its items."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.llm.offline.schema import MAIN_NAMES, ItemShape, Path, capacity, has_type, ref_kind
from app.llm.offline.tables import TableInfo, cell
from app.llm.offline.text import Block, Person, split_label
from app.llm.offline.values import complete_item
from app.llm.offline.words import DASHES, DATE, MATCH_THRESHOLD, FieldWords, capital, tokens

_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)


@dataclass(frozen=True)
class FromBlock:
    """A labelled block of text: its table rows, else its list items."""

    index: int  # into the draft's blocks


@dataclass(frozen=True, eq=False)
class FromRows:
    """The rows of a table whose columns hold the item's properties."""

    table: TableInfo
    mapping: dict[str, str]  # item property → column


@dataclass(frozen=True, eq=False)
class FromValues:
    """The distinct values of a table column named like the array."""

    table: TableInfo
    column: str


@dataclass(frozen=True)
class FromPeople:
    """The people named in the files."""


ListSource = FromBlock | FromRows | FromValues | FromPeople


def _identity(source: ListSource) -> tuple[type, int | str | None]:
    """What makes two sources the same: the block, or the table used the same way."""
    if isinstance(source, FromBlock):
        return FromBlock, source.index
    if isinstance(source, FromRows | FromValues):
        return type(source), source.table.name
    return FromPeople, None


def _match_columns(
    shape: ItemShape, columns: Sequence[str], array_tokens: set[str]
) -> dict[str, str]:
    """Map item properties to the columns that hold them (``due_date`` ↔ ``Due``)."""
    mapping: dict[str, str] = {}
    for prop in shape.props:
        wanted = tokens(prop)
        for column in columns:
            have = tokens(column)
            same = re.sub(r"\W|_", "", prop.lower()) == re.sub(r"\W|_", "", column.lower())
            overlap = bool(wanted and have) and (wanted <= have or have <= wanted)
            named = prop in MAIN_NAMES and bool(have) and have == array_tokens
            if (same or overlap or named) and column not in mapping.values():
                mapping[prop] = column
                break
    return mapping


def _shown_as(
    refs: dict[Path, list[dict[str, Any]]], table: TableInfo, array_tokens: set[str]
) -> bool:
    """Is the table already on the page through a table field named like this array?"""
    return any(
        ref["source"] == table.name and array_tokens <= tokens(path[-1])
        for path, found in refs.items()
        for ref in found
        if "columns" in ref
    )


def assign_lists(
    fields: Sequence[tuple[Path, dict[str, Any]]],
    blocks: Sequence[Block],
    tables: Sequence[TableInfo],
    refs: dict[Path, list[dict[str, Any]]],
) -> dict[Path, ListSource]:
    """Pick one source per array field, best matches first; each source used once."""
    candidates: list[tuple[int, int, Path, ListSource]] = []
    for order, (path, schema) in enumerate(fields):
        items = schema.get("items")
        if not has_type(schema, "array") or not isinstance(items, dict) or ref_kind(items):
            continue
        spec = FieldWords.of(path[-1], schema)
        objects = has_type(items, "object")
        for index, block in enumerate(blocks):
            keyed = block.kind == "key"
            usable = block.rows or (
                block.items and not (keyed and objects and len(block.items) < 2)
            )
            if keyed and not block.label_tokens <= spec.name_tokens | spec.desc_tokens:
                continue
            score = spec.score(block.label_tokens)
            if usable and score >= MATCH_THRESHOLD:  # sections win ties over key lines
                candidates.append((score * 2 - keyed, -order, path, FromBlock(index)))
        if not objects:
            continue
        shape = ItemShape.of(items)
        for table in tables:
            if _shown_as(refs, table, set(spec.name_tokens)):
                continue
            usable_columns = table.text_columns + [table.time_column or ""]
            mapping = _match_columns(shape, [c for c in usable_columns if c], set(spec.name_tokens))
            if len(mapping) >= 2 and (shape.main is None or shape.main in mapping):
                candidates.append((10 + len(mapping), -order, path, FromRows(table, mapping)))
            for column in table.text_columns:
                values = table.frame[column].dropna()
                if tokens(column) == spec.name_tokens and 0 < values.nunique() < len(values):
                    candidates.append((10, -order, path, FromValues(table, column)))
        if "name" in shape.props and {"role", "area", "title", "position"} & set(shape.props):
            candidates.append((1, -order, path, FromPeople()))
    chosen: dict[Path, ListSource] = {}
    used: set[tuple[type, int | str | None]] = set()
    for _, _, path, source in sorted(candidates, key=lambda c: c[:2], reverse=True):
        identity = _identity(source)
        if path in chosen or (identity in used and not isinstance(source, FromPeople)):
            continue
        chosen[path] = source
        used.add(identity)
    return chosen


def list_items(
    source: ListSource,
    path: Path,
    schema: dict[str, Any],
    blocks: Sequence[Block],
    people: Sequence[Person],
) -> list[Any]:
    """Return the items an array field gets from its source."""
    items: dict[str, Any] = schema.get("items", {})
    shape = ItemShape.of(items) if has_type(items, "object") else None
    if isinstance(source, FromBlock):
        block = blocks[source.index]
        if shape is None:
            texts = [" — ".join(v for v in row.values() if v) for row in block.rows]
            return [capital(t) for t in texts + block.items if t]
        if block.rows:
            mapping = _match_columns(shape, list(block.rows[0]), set(tokens(path[-1])))
            return [
                complete_item(
                    shape, {p: row.get(c) for p, c in mapping.items()}, " ".join(row.values())
                )
                for row in block.rows
            ]
        return [_item_from_text(shape, text, people) for text in block.items]
    if shape is None:  # tables and people fill arrays of objects only
        return []
    if isinstance(source, FromRows):
        return [
            complete_item(
                shape,
                {p: cell(row[c]) for p, c in source.mapping.items()},
                " ".join(filter(None, (cell(v) for v in row.values))),
            )
            for _, row in source.table.frame.head(capacity(schema)).iterrows()
        ]
    if isinstance(source, FromValues):
        values = [cell(v) for v in source.table.frame[source.column].dropna().unique()]
        main = shape.main or next(iter(shape.props), "")
        return [
            complete_item(shape, {main: v}, v or "", filler=f"As named in {source.table.name}.")
            for v in values
            if v
        ]
    return [_person_item(shape, person) for person in people]


def _item_from_text(shape: ItemShape, text: str, people: Sequence[Person]) -> dict[str, Any]:
    """An item from a line of text: ``Name: task``, ``title — note``, dates and links in it."""
    values: dict[str, Any] = {}
    head, rest = split_label(text)
    if head and shape.person and len(head.split()) <= 4 and head[:1].isupper():
        values[shape.person] = _full_name(head, people)
        body: str | None = capital(rest)
    elif head and shape.notes and shape.main:
        values[shape.main], values[shape.notes[0]] = head, capital(rest)
        body = None
    else:
        body = text
    if body is not None and shape.main:
        parts = DASHES.split(body, maxsplit=1) if shape.notes else [body]
        values[shape.main] = parts[0]
        if len(parts) > 1 and shape.notes[0] not in values:
            values[shape.notes[0]] = capital(parts[1])
    for prop, date in zip(shape.dates, DATE.findall(text), strict=False):
        values[prop] = date
    for prop, url in zip(shape.urls, _URL.findall(text), strict=False):
        values[prop] = url
    return complete_item(shape, values, text)


def _person_item(shape: ItemShape, person: Person) -> dict[str, Any]:
    """An item for someone named in the files: name, role or area, team."""
    labels = [p for p in ("area", "role", "title", "position") if p in shape.props]
    teams = [p for p in ("role", "team", "department") if p in shape.props and p not in labels[:1]]
    values: dict[str, Any] = {"name": person.name}
    if labels:
        values[labels[0]] = (
            person.label if teams or not person.team else f"{person.label} ({person.team})"
        )
    if teams and person.team:
        values[teams[0]] = person.team
    return complete_item(shape, values, f"{person.context} {person.label}")


def _full_name(name: str, people: Sequence[Person]) -> str:
    """``Tomás`` → ``Tomás Ortega`` when the files name exactly one such person."""
    matches = [p.name for p in people if p.name.split()[0] == name]
    return matches[0] if len(matches) == 1 else name
