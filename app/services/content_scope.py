"""What a revision shows the model: the parts of the page an instruction is about, and a short
description of the files.

A revision sends only the sections the instruction names (by every word of the section's field
name, or by words found in just one or two sections), and the model may change only those; if
its answer needs another section, the repair shows it the whole page (``draft_patch``).
Instructions about the whole page ("the page", "everything", "the tone"), or that name nothing
recognisable, get the whole content. Files already used are described in a line each; files
added with the revision are digested in full.
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
LABEL_WORDS = 5  # a string of at most this many words is a label: a name, date or status
WHOLE_PAGE = frozenset(
    {
        "everything",
        "everywhere",
        "whole",
        "entire",
        "throughout",
        "overall",
        "tone",
        "translate",
        "consistent",
        "consistently",
    }
)
# "page" or "site" means the page itself after a determiner ("rewrite the page", "this site"),
# not when it is part of a name ("the pricing page", "the site's changelog").
_THE_PAGE = re.compile(r"\b(the|this|our|my|whole|entire|full)\s+(page|site)\b(?!['’]s)")
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


def _phrases(node: Any) -> set[str]:
    """Return the allowed values of the schema's enums that are several words ("at risk")."""
    found: set[str] = set()
    if isinstance(node, dict):
        for value in node.get("enum", []):
            if isinstance(value, str) and " " in value.strip():
                found.add(value.lower())
        for sub in node.values():
            found |= _phrases(sub)
    elif isinstance(node, list):
        for sub in node:
            found |= _phrases(sub)
    return found


def _prose_words(value: Any) -> set[str]:
    """Return the words of the strings in ``value`` that are longer than a label."""
    if isinstance(value, str):
        found = words(value)
        return found if len(found) > LABEL_WORDS else set()
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return set().union(*(_prose_words(item) for item in items))


def select_scope(template: SiteTemplate, content: dict[str, Any], instruction: str) -> list[str]:
    """Return the top-level pointers an instruction is about (every section if unclear)."""
    properties = template.schema.get("properties", {})
    sections = list(properties)
    everything = ["/" + escape(name) for name in sections]
    asked = words(instruction)
    if not asked or asked & WHOLE_PAGE or _THE_PAGE.search(instruction.lower()):
        return everything
    # A status written in the instruction ("mark it at risk") does not name the risks section.
    naming = asked - set().union(
        *(words(p) for p in _phrases(properties) if p in instruction.lower())
    )
    texts = {name: words(element_text(content.get(name))) for name in sections}
    seen_in: dict[str, int] = {}
    for section_words in texts.values():
        for word in section_words:
            seen_in[word] = seen_in.get(word, 0) + 1
    name_words = {name: words(name.replace("_", " ")) for name in sections}
    named = [n for n in sections if name_words[n] and name_words[n] <= naming]
    evidence = {}
    for name in sections:
        # Once the instruction names what it changes, the names, dates and statuses in it are
        # values to write, which recur in other sections' labels; only prose that discusses the
        # same thing (a summary that mentions it) may need the edit too.
        pointed = texts[name] if not named else _prose_words(content.get(name))
        rare = {w for w in asked & pointed if seen_in[w] <= RARE_SECTIONS}
        evidence[name] = (
            NAME_WEIGHT * len(naming & name_words[name])  # the "beta" of beta_date
            + FIELD_WEIGHT * len(asked & _field_names(properties[name]))
            + WORD_WEIGHT * len(rare)
        )
    if named:
        # Sections named outright, plus any that the instruction's words point to strongly.
        chosen = [n for n in sections if n in named or evidence[n] >= 2 * WORD_WEIGHT]
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
