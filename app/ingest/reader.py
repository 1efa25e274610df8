"""Route an uploaded file to the reader for its type, after the checks every file gets."""

from __future__ import annotations

import logging

import pandas as pd

from app.ingest.csv_reader import read_csv
from app.ingest.digest import table_file_digest, text_digest
from app.ingest.model import (
    ACCEPTED_EXTENSIONS,
    IngestedFile,
    IngestError,
    IngestLimits,
    Table,
    extension_of,
    megabytes,
    safe_filename,
)
from app.ingest.pdf_reader import read_pdf
from app.ingest.text_reader import markdown_outline, read_text
from app.ingest.xlsx_reader import read_xlsx

logger = logging.getLogger(__name__)

DEFAULT_LIMITS = IngestLimits()
TABLE_EXTENSIONS = (".csv", ".xlsx")


def ingest(filename: str, data: bytes, limits: IngestLimits = DEFAULT_LIMITS) -> IngestedFile:
    """Read one uploaded file into tables or text plus a digest, or raise IngestError."""
    name, extension = _check(filename, data, limits)
    if extension in TABLE_EXTENSIONS:
        tables = _read_tables(name, extension, data, limits)
        return IngestedFile(
            filename=name,
            kind="table",
            tables=tables,
            text=None,
            digest=table_file_digest(name, tables),
        )
    if extension == ".pdf":
        pdf = read_pdf(name, data, limits)
        digest = text_digest(name, pdf.text, pdf.outline, pdf.pages, pdf.pages_read)
        return IngestedFile(filename=name, kind="text", tables=[], text=pdf.text, digest=digest)
    text = read_text(name, data)
    digest = text_digest(name, text, markdown_outline(text))
    return IngestedFile(filename=name, kind="text", tables=[], text=text, digest=digest)


def load_tables(
    filename: str, data: bytes, limits: IngestLimits = DEFAULT_LIMITS
) -> dict[str, pd.DataFrame]:
    """Name → frame for every table in the file ({} for text files)."""
    name, extension = _check(filename, data, limits)
    if extension not in TABLE_EXTENSIONS:
        return {}
    return {table.name: table.frame for table in _read_tables(name, extension, data, limits)}


def _check(filename: str, data: bytes, limits: IngestLimits) -> tuple[str, str]:
    """Return the safe name and extension of an upload that passes the checks every file gets."""
    name = safe_filename(filename)
    extension = extension_of(name)
    if extension is None:
        raise IngestError(
            f"{name} is not a supported file type: upload one of {', '.join(ACCEPTED_EXTENSIONS)}."
        )
    if len(data) > limits.max_file_bytes:
        raise IngestError(
            f"{name} is {megabytes(len(data))}, over the {megabytes(limits.max_file_bytes)} "
            "limit for one file: upload a smaller file, or split it into several."
        )
    if not data or data.isspace():  # not data.strip(), which would copy a large file
        advice = (
            "export the data again and upload a file with a header row and data"
            if extension in TABLE_EXTENSIONS
            else "upload a file that contains some text"
        )
        raise IngestError(f"{name} is empty: {advice}.")
    logger.info("reading %s (%d bytes)", name, len(data))
    return name, extension


def _read_tables(name: str, extension: str, data: bytes, limits: IngestLimits) -> list[Table]:
    if extension == ".csv":
        return [read_csv(name, data, limits)]
    return read_xlsx(name, data, limits)
