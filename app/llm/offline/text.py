"""Text files as labelled blocks (sections, bold labels, ``Key: value`` lines) and who they name."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from app.llm.offline.words import capital, clean, split_sentences, tokens

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_BOLD_LINE = re.compile(r"^\s*(\*\*|__)([^*_]+?)\1\s*:?\s*$")
_BOLD_KEY = re.compile(r"^\s*(\*\*|__)([^*_]{1,60}?):?\s*\1\s*:?\s+(.+)$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(.*)$")
_TABLE_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]*-{3,}[\s:|-]*$")
_KEY_VALUE = re.compile(r"^([A-Z][\w '’()&/.-]{0,40}?):\s+(.+)$")
_PERSON = r"[A-ZÀ-Ö][\w'’-]+(?: [A-ZÀ-Ö][\w'’-]+){1,2}"
_PERSON_VALUE = re.compile(rf"^({_PERSON})(?:\s*\(([^)]{{1,60}})\))?\.?$")
_APPOSITIVE = re.compile(rf"\b(?:[Tt]heir|[Oo]ur|[Tt]he)\s+([\w ]{{2,30}}?),\s+({_PERSON})\b")


@dataclass
class Block:
    """A labelled piece of a text file: a section, a bold label or a ``Key: value`` line."""

    label: str
    kind: str  # "section", "key" (Key: value) or "sheet" (a text-only sheet)
    items: list[str] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Return the block's paragraphs as one line."""
        return " ".join(self.lines)

    @property
    def label_tokens(self) -> set[str]:
        """Return the words of the block's label."""
        return tokens(self.label)


@dataclass
class Doc:
    """One text file: its title, its blocks and its text."""

    source: str
    title: str
    blocks: list[Block]
    text: str

    @cached_property
    def sentences(self) -> list[tuple[str, set[str]]]:
        """Return every sentence with its words, worked out once per file."""
        return [(sentence, tokens(sentence)) for sentence in split_sentences(self.text)]

    @property
    def intro(self) -> str:
        """Return the first paragraph that is not a ``Key: value`` line."""
        for block in self.blocks:
            if block.kind != "key" and block.lines:
                return block.text
        return ""


def parse_text(source: str, text: str) -> Doc:
    """Split a Markdown or plain text file into labelled blocks."""
    lines = text.split("\n")
    title = ""
    if not any(_HEADING.match(line) for line in lines):  # plain text, PDF: a short first line
        start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
        first = lines[start].strip() if start < len(lines) else ""
        if first and len(first) <= 120 and not first.endswith("."):
            title, lines = clean(first), lines[start + 1 :]
    current = Block(label=title or source.rsplit(".", 1)[0], kind="section")
    blocks = [current]
    table: list[list[str]] = []

    def flush_table() -> None:
        if len(table) >= 2:
            header = [clean(cell) for cell in table[0]]
            for cells in table[1:]:
                current.rows.append({h: clean(c) for h, c in zip(header, cells, strict=False)})
        table.clear()

    for line in lines:
        row = _TABLE_ROW.match(line)
        if row and not _TABLE_RULE.match(line):
            table.append(row.group(1).split("|"))
            continue
        if row:
            continue
        flush_table()
        heading = _HEADING.match(line) or _BOLD_LINE.match(line)
        bold_key = _BOLD_KEY.match(line)
        if heading:
            label = clean(heading.group(2))
            if heading.group(1) == "#" and not title:
                title = label
            current = Block(label=label, kind="section")
            blocks.append(current)
        elif bold_key:
            value = capital(clean(bold_key.group(3)))
            blocks.append(
                Block(
                    label=clean(bold_key.group(2)),
                    kind="key",
                    items=[capital(v.strip()) for v in value.split(";") if v.strip()],
                    lines=[value],
                )
            )
        elif item := _LIST_ITEM.match(line):
            current.items.append(clean(item.group(1)))
        elif line.strip():
            current.lines.append(clean(line))
            for sentence in split_sentences(line):
                pair = _KEY_VALUE.match(clean(sentence))
                if pair:
                    value = pair.group(2).rstrip(".")
                    blocks.append(
                        Block(
                            label=pair.group(1),
                            kind="key",
                            items=[capital(value)],
                            lines=[capital(value)],
                        )
                    )
    flush_table()
    return Doc(source=source, title=title, blocks=blocks, text=text)


def split_label(text: str) -> tuple[str | None, str]:
    """Split a leading label off: ``"Tomás: run a workshop"`` → ``("Tomás", "run a workshop")``."""
    match = _KEY_VALUE.match(text)
    if match and not re.search(r"[.!?]", match.group(1)):
        return match.group(1).strip(), match.group(2).strip()
    return None, text


@dataclass(frozen=True)
class Person:
    """Someone named in the files, with the label they were named under."""

    name: str
    label: str
    team: str | None
    context: str


def people(docs: Sequence[Doc]) -> list[Person]:
    """Return people named as ``Role: Name (Team)`` or ``their role, Name``, first mention first."""
    found: dict[str, Person] = {}
    for doc in docs:
        for block in doc.blocks:
            person = _PERSON_VALUE.match(block.text) if block.kind == "key" else None
            if person and len(block.label.split()) <= 4 and person.group(1) not in found:
                found[person.group(1)] = Person(
                    person.group(1), block.label, person.group(2), block.label
                )
        for match in _APPOSITIVE.finditer(doc.text):
            if match.group(2) not in found:
                found[match.group(2)] = Person(
                    match.group(2), capital(match.group(1).strip()), None, match.group(0)
                )
    return list(found.values())
