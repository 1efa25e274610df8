"""XLSX workbooks: guard against zip bombs, then read every non-empty sheet with calamine."""

from __future__ import annotations

import datetime as dt
import io
import logging
import zipfile
from typing import Any

import pandas as pd
from python_calamine import CalamineError, CalamineWorkbook

from app.ingest.frames import cell_text, tidy_frame
from app.ingest.model import IngestError, IngestLimits, Table, megabytes

logger = logging.getLogger(__name__)


def read_xlsx(filename: str, data: bytes, limits: IngestLimits) -> list[Table]:
    """Read every non-empty sheet of a workbook into a table named ``file#Sheet``."""
    check_zip(filename, data, limits)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        tables = [
            table
            for sheet_name in workbook.sheet_names
            if (table := _read_sheet(filename, workbook, sheet_name, limits)) is not None
        ]
    except IngestError:
        raise
    except (CalamineError, ValueError, OSError) as exc:
        logger.info("calamine could not read %s: %s", filename, type(exc).__name__)
        raise _not_xlsx_error(filename) from exc
    if not tables:
        raise IngestError(
            f"{filename} has no data in any sheet: add the data to the workbook and upload it "
            "again."
        )
    logger.info("read %s: %d sheets with data", filename, len(tables))
    return tables


def check_zip(filename: str, data: bytes, limits: IngestLimits) -> None:
    """Reject a workbook that is not a zip or that would unpack to too many entries or bytes."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise _not_xlsx_error(filename) from exc
    if len(entries) > limits.max_xlsx_entries:
        raise IngestError(
            f"{filename} contains {len(entries):,} parts, more than the "
            f"{limits.max_xlsx_entries:,} a workbook may have: save it again from Excel, or export "
            "the sheets you need as CSV."
        )
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > limits.max_xlsx_uncompressed_bytes:
        raise IngestError(
            f"{filename} would unpack to {megabytes(unpacked)}, over the "
            f"{megabytes(limits.max_xlsx_uncompressed_bytes)} limit for workbooks: remove unused "
            "sheets, or export the sheets you need as CSV."
        )


def _read_sheet(
    filename: str, workbook: CalamineWorkbook, sheet_name: str, limits: IngestLimits
) -> Table | None:
    sheet = workbook.get_sheet_by_name(sheet_name)
    if sheet.height > limits.max_rows + 1:
        raise IngestError(
            f"{filename} sheet {sheet_name!r} has more than {limits.max_rows:,} rows, the most one "
            "table may have: upload a filtered or aggregated version."
        )
    if sheet.width > limits.max_columns:
        raise IngestError(
            f"{filename} sheet {sheet_name!r} has {sheet.width:,} columns; at most "
            f"{limits.max_columns:,} are supported. Remove the columns you do not need."
        )
    rows = [
        [None if value == "" else value for value in row]
        for row in sheet.to_python(skip_empty_area=True)
    ]
    rows = [row for row in rows if any(value is not None for value in row)]
    if not rows:
        return None
    if len(rows) == 1:
        # A lone row (a note, a title) is content, not a header: keep it as data.
        header = [_column_letter(i) for i in range(len(rows[0]))]
        body = rows
    else:
        header = [cell_text(value) for value in rows[0]]
        body = rows[1:]
    frame = pd.DataFrame(
        {
            i: _typed_column([row[i] if i < len(row) else None for row in body])
            for i in range(len(header))
        }
    )
    frame.columns = pd.Index(header)
    frame = tidy_frame(frame)
    return Table(name=f"{filename}#{sheet_name}", frame=frame)


def _typed_column(values: list[Any]) -> pd.Series:
    """Build a column with one type: numbers, dates, booleans, or else text."""
    present = [value for value in values if value is not None]
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        numbers = pd.Series([float("nan") if v is None else v for v in values], dtype="float64")
        if numbers.notna().all() and ((numbers % 1 == 0) & (numbers.abs() < 2**53)).all():
            return numbers.astype("int64")  # Excel stores every number as a float
        return numbers
    if present and all(isinstance(v, dt.datetime | dt.date) for v in present):
        try:
            return pd.Series(pd.to_datetime(pd.Series(values, dtype=object)))
        except (ValueError, OverflowError):  # dates beyond what pandas can hold stay as text
            return _text_column(values)
    if present and len(present) == len(values) and all(isinstance(v, bool) for v in present):
        return pd.Series(values, dtype="bool")
    return _text_column(values)


def _text_column(values: list[Any]) -> pd.Series:
    return pd.Series([None if v is None else cell_text(v) for v in values], dtype="str")


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _not_xlsx_error(filename: str) -> IngestError:
    return IngestError(
        f"{filename} is not a readable .xlsx workbook (it may be an old .xls file, "
        "password-protected or damaged): open it in Excel, save it as .xlsx and upload it again."
    )
