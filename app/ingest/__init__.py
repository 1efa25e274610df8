"""Uploaded files → tables, text and a digest the model can read.

``ingest()`` checks and reads one upload (CSV, XLSX, Markdown, text or PDF) into an
:class:`IngestedFile`; ``load_tables()`` returns only its tables; ``render_digest()`` turns several
ingested files into the plain-text digest sent to the model, within a token budget.
"""

from app.ingest.digest_text import render_digest
from app.ingest.model import (
    ACCEPTED_EXTENSIONS,
    IngestedFile,
    IngestError,
    IngestLimits,
    Table,
    safe_filename,
)
from app.ingest.reader import ingest, load_tables

__all__ = [
    "ACCEPTED_EXTENSIONS",
    "IngestError",
    "IngestLimits",
    "IngestedFile",
    "Table",
    "ingest",
    "load_tables",
    "render_digest",
    "safe_filename",
]
