"""What ingest produces: tables, text and a digest per uploaded file, and the limits it enforces."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

ACCEPTED_EXTENSIONS = (".csv", ".xlsx", ".md", ".markdown", ".txt", ".pdf")

MAX_FILENAME_CHARS = 120
FALLBACK_FILENAME = "upload"


class IngestError(ValueError):
    """A file cannot be read; str(exc) is a user-facing message that says why and what to do."""


@dataclass(frozen=True)
class IngestLimits:
    """Upper bounds that keep one upload from exhausting memory or time."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_rows: int = 1_000_000
    max_columns: int = 500
    max_xlsx_uncompressed_bytes: int = 200 * 1024 * 1024
    max_xlsx_entries: int = 2_000
    max_pdf_pages: int = 200


@dataclass
class Table:
    """One table of an uploaded file: ``usage.csv`` or ``model.xlsx#Assumptions``."""

    name: str
    frame: pd.DataFrame


@dataclass
class IngestedFile:
    """An uploaded file after reading: its tables or text, and a JSON-serialisable digest."""

    filename: str
    kind: str  # "table" (csv/xlsx) or "text" (md/txt/pdf)
    tables: list[Table]
    text: str | None
    digest: dict[str, Any] = field(default_factory=dict)


_PATH_SEPARATORS = re.compile(r"[/\\]")


def safe_filename(name: str) -> str:
    """Return the base name of ``name`` without control characters, at most 120 characters."""
    base = _PATH_SEPARATORS.split(name)[-1]
    # Cc: control characters; Cf: invisible format characters such as right-to-left overrides.
    base = "".join(ch for ch in base if unicodedata.category(ch) not in {"Cc", "Cf"}).strip()
    if base in {"", ".", ".."}:
        return FALLBACK_FILENAME
    if len(base) <= MAX_FILENAME_CHARS:
        return base
    stem, dot, ext = base.rpartition(".")
    if dot and stem and len(ext) < 10:
        return stem[: MAX_FILENAME_CHARS - len(ext) - 1] + "." + ext
    return base[:MAX_FILENAME_CHARS]


def extension_of(filename: str) -> str | None:
    """Return the accepted extension ``filename`` ends with (lower case), or None."""
    lowered = filename.lower()
    return next((ext for ext in ACCEPTED_EXTENSIONS if lowered.endswith(ext)), None)


def megabytes(size: int) -> str:
    """Format a byte count as megabytes for messages: ``20 MB``."""
    return f"{size / (1024 * 1024):.3g} MB"
