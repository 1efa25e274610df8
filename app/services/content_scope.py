"""What a revision shows the model: the parts of the page an instruction is about, and a short
description of the files.

A revision sends only the sections the instruction names (by the section's field name, or by
words found in just one or two sections), and the model may change only those. Instructions
about the whole page, or that name nothing recognisable, get the whole content. Files already
used are described in a line each; files added with the revision are digested in full.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from app.ingest import IngestedFile, render_digest
from app.services.annotations import element_text
from app.services.content_patch import escape, pointer_parts, within
from app.site_template import SiteTemplate

NAME_WEIGHT, FIELD_WEIGHT, WORD_WEIGHT = 3, 1, 2
RARE_SECTIONS = 2  # a content word points at a section if it occurs in at most this many
MIN_SCORE = 2
WHOLE_PAGE = frozenset(
    {
        "everything",
        "everywhere",
        "whole",
        "entire",
        "throughout",
        "overall",
        "page",
        "site",
        "tone",
        "translate",
        "consistent",
        "consistently",
    }
)
STOPWORDS = frozenset(
    """a an and are as at be by for from has have in into is it its of on or our please that
    the their them then there these this to was we were what when where which who why will
    with you your add adds change make new now set update remove delete replace more less
    about also than so up out can could should would may might must just per each all
    any some one two""".split()
)
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> set[str]:
    """Return the meaningful words of ``text``, lowercased and crudely singular."""
    found = set()
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS or len(word) < 2:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.add(word)
    return found


def _field_names(node: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for name, sub in node.get("properties", {}).items():
        names |= words(name.replace("_", " ")) | _field_names(sub)
    items = node.get("items")
    if isinstance(items, dict):
        names |= _field_names(items)
    return names


def select_scope(template: SiteTemplate, content: dict[str, Any], instruction: str) -> list[str]:
    """Return the top-level pointers an instruction is about (every section if unclear)."""
    sections = list(template.schema.get("properties", {}))
    everything = ["/" + escape(name) for name in sections]
    asked = words(instruction)
    if not asked or asked & WHOLE_PAGE:
        return everything
    texts = {name: words(element_text(content.get(name))) for name in sections}
    seen_in: dict[str, int] = {}
    for section_words in texts.values():
        for word in section_words:
            seen_in[word] = seen_in.get(word, 0) + 1
    named, evidence = {}, {}
    for name in sections:
        node = template.schema["properties"][name]
        named[name] = NAME_WEIGHT * len(asked & words(name.replace("_", " ")))
        rare = {w for w in asked & texts[name] if seen_in[w] <= RARE_SECTIONS}
        evidence[name] = FIELD_WEIGHT * len(asked & _field_names(node)) + WORD_WEIGHT * len(rare)
    if any(named.values()):
        # Sections named outright, plus any that the instruction's words point to strongly.
        chosen = [n for n in sections if named[n] or evidence[n] >= 2 * WORD_WEIGHT]
    else:
        best = max(evidence.values(), default=0)
        if best < MIN_SCORE:
            return everything
        chosen = [n for n in sections if evidence[n] >= max(MIN_SCORE, best / 2)]
    return ["/" + escape(name) for name in chosen]


def narrowest(paths: Sequence[str]) -> list[str]:
    """Drop paths that lie inside another path of the list, keeping the order."""
    unique = list(dict.fromkeys(paths))
    return [p for p in unique if not any(q != p and within(p, [q]) for q in unique)]


def other_sections(template: SiteTemplate, scope: Sequence[str]) -> list[str]:
    """Name the top-level sections no scope path lies in."""
    return [
        name
        for name in template.schema.get("properties", {})
        if not any(within(path, ["/" + escape(name)]) for path in scope)
    ]


def touches_data(template: SiteTemplate, scope: Sequence[str]) -> bool:
    """Say whether a chart or table reference lies in, or contains, a scope path."""
    for ref in template.data_refs:
        pattern = ref.pattern.split("/")[1:]
        for path in scope:
            parts = pointer_parts(path)
            shared = zip(pattern[: len(parts)], parts[: len(pattern)], strict=False)
            if all(p == t or (p == "*" and t.isdigit()) for p, t in shared):
                return True
    return False


def files_digest(
    old: Sequence[IngestedFile],
    new: Sequence[IngestedFile],
    *,
    with_columns: bool,
    token_budget: int,
) -> str:
    """Describe files already used in a line each (columns only if charts or tables may change)
    and digest the new ones in full."""
    lines = []
    if not with_columns and not new:
        return ""  # the parts shown do not depend on the files
    for file in old:
        if file.kind == "table" and with_columns:
            for table in file.tables:
                columns = ", ".join(str(c) for c in table.frame.columns)
                lines.append(f"{table.name}: table, {len(table.frame)} rows; columns {columns}")
        else:
            lines.append(f"{file.filename}: {file.kind}, already used")
    if new:
        lines.append("New files:\n" + render_digest(list(new), token_budget))
    return "\n".join(lines)
