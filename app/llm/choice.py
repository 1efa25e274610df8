"""Choosing a template: what the model (or the offline rules) is shown, and what it must answer.

The model sees each installed template's name, title and description, the builder's prompt and
an outline of the files: file names, table columns and headings, never cell values. It answers
``{"template": name, "reason": "..."}``; :func:`read_choice` checks that on our side, whatever
the server enforced.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.ingest import IngestedFile

MAX_REASON_CHARS = 300
MAX_HEADINGS = 12
MAX_COLUMNS = 30
FORMULA_SCAN_BYTES = 50 * 1024 * 1024
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")


@dataclass(frozen=True)
class TemplateOption:
    """A template that may be chosen."""

    name: str
    title: str
    description: str


@dataclass(frozen=True)
class FileFacts:
    """What choosing a template needs to know about one uploaded file."""

    filename: str
    tables: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (table name, column names)
    headings: tuple[str, ...] = ()  # Markdown headings, or a text's first line
    formula_cells: int = 0  # cells of a workbook that hold a formula


@dataclass
class ChoiceRequest:
    """Which template fits this prompt and these files best?"""

    options: list[TemplateOption]
    prompt: str  # the builder's instruction
    files: Sequence[FileFacts] = ()  # untrusted data: names, columns and headings come from files

    @property
    def names(self) -> list[str]:
        """Return the names that may be chosen."""
        return [option.name for option in self.options]


def file_facts(file: IngestedFile, data: bytes = b"") -> FileFacts:
    """Describe one ingested file; ``data`` (its bytes) lets a workbook's formulas be counted."""
    tables = tuple(
        (table.name, tuple(str(c) for c in table.frame.columns[:MAX_COLUMNS]))
        for table in file.tables
    )
    headings: list[str] = []
    if file.text:
        headings = [m.group(1)[:80] for m in map(_HEADING.match, file.text.splitlines()) if m]
        if not headings:
            first = next((line.strip() for line in file.text.splitlines() if line.strip()), "")
            headings = [first[:80]] if first else []
    formulas = count_formulas(data) if file.filename.lower().endswith(".xlsx") and data else 0
    return FileFacts(file.filename, tables, tuple(headings[:MAX_HEADINGS]), formulas)


def count_formulas(data: bytes, limit: int = 10_000) -> int:
    """Count the formula cells of an XLSX workbook (up to ``limit``); 0 if it cannot be read.

    Reads the worksheets' XML as a stream, so a large workbook costs little memory; ingest has
    already checked the archive's size and entry count.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError):
        return 0
    count, scanned = 0, 0
    with archive:
        for name in archive.namelist():
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            tail = b""
            with archive.open(name) as stream:
                while chunk := stream.read(1 << 16):
                    scanned += len(chunk)
                    window = tail + chunk
                    count += len(_FORMULA.findall(window)) - len(_FORMULA.findall(tail))
                    tail = window[-8:]
                    if count >= limit or scanned >= FORMULA_SCAN_BYTES:
                        return min(count, limit)
    return count


def outline(files: Sequence[FileFacts]) -> str:
    """Describe the files in a few lines for the model: names, columns, headings, formulas."""
    lines = []
    for facts in files:
        parts = []
        if facts.formula_cells:
            parts.append(f"a workbook with formulas ({facts.formula_cells} formula cells)")
        for name, columns in facts.tables:
            parts.append(f"table {name} with columns: {', '.join(columns)}")
        if facts.headings:
            parts.append("headings: " + " | ".join(facts.headings))
        lines.append(f"- {facts.filename}: " + ("; ".join(parts) or "no readable text"))
    return "\n".join(lines)


def choice_schema(names: Sequence[str]) -> dict[str, Any]:
    """Return the answer's JSON Schema (strict structured-output subset)."""
    return {
        "type": "object",
        "description": "The template chosen for the new site, and why.",
        "additionalProperties": False,
        "required": ["template", "reason"],
        "properties": {
            "template": {
                "type": "string",
                "enum": list(names),
                "description": "The name of the template that fits best.",
            },
            "reason": {
                "type": "string",
                "description": "One sentence for the builder: what in their request or files "
                "made this template the best fit.",
            },
        },
    }


def read_choice(content: Any, names: Sequence[str]) -> tuple[str, str] | None:
    """Return (template, reason) from the model's answer, or None if it is not usable."""
    if not isinstance(content, dict):
        return None
    name, reason = content.get("template"), content.get("reason")
    if name not in names or not isinstance(reason, str):
        return None
    text = " ".join(reason.split())
    if not text:
        return None
    clipped = text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"
    return str(name), clipped
