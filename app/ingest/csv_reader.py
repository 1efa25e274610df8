"""CSV files: detect encoding, delimiter and decimal comma, then parse with pandas' C engine."""

from __future__ import annotations

import csv
import io
import logging
import re

import pandas as pd

from app.ingest.frames import parse_grouped_numbers, tidy_frame
from app.ingest.model import IngestError, IngestLimits, Table
from app.ingest.text_reader import decode_text

logger = logging.getLogger(__name__)

DELIMITERS = ",;\t|"
SNIFF_CHARS = 64 * 1024
SNIFF_LINES = 200

_COMMA_DECIMAL = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
_POINT_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")
# "1.234" is a thousand-and-something in Europe and one-point-something elsewhere.
_AMBIGUOUS_POINT = re.compile(r"^[+-]?\d{1,3}\.\d{3}$")


def read_csv(filename: str, data: bytes, limits: IngestLimits) -> Table:
    """Read a CSV file into one table named after the file."""
    text = decode_text(filename, data, what="CSV text file")
    if not text or text.isspace():  # not text.strip(), which would copy a large file
        raise _empty_error(filename)
    sample = _sample(text)
    delimiter = detect_delimiter(sample)
    decimal_comma = delimiter != "," and uses_decimal_comma(sample, delimiter)
    header, width = _header_and_width(sample, delimiter)
    if width > limits.max_columns:
        raise _too_wide_error(filename, width, limits)
    # pandas reads UTF-8 bytes as they are, where an io.StringIO would hold four bytes a
    # character; the text is not needed past here, so it is let go before the parse.
    encoded = text.encode("utf-8")
    del text
    frame = _parse(filename, encoded, delimiter, decimal_comma, width, limits)
    # Pandas would rename repeats "a.1" and guess an index column from rows longer than the
    # header; naming the columns ourselves keeps every value under the right name.
    frame.columns = pd.Index(header + [""] * (len(frame.columns) - len(header)))
    frame = parse_grouped_numbers(tidy_frame(frame), decimal_comma)
    if frame.empty:
        raise IngestError(
            f"{filename} has a header row but no data rows: export the data again with its rows "
            "and upload that file."
        )
    logger.info(
        "read %s: %d rows, %d columns, delimiter %r, decimal comma %s",
        filename,
        len(frame),
        len(frame.columns),
        delimiter,
        decimal_comma,
    )
    return Table(name=filename, frame=frame)


def detect_delimiter(sample: str) -> str:
    """Return the delimiter of ``sample`` among ``, ; tab |`` (comma if nothing fits better)."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return _most_consistent_delimiter(sample)


def uses_decimal_comma(sample: str, delimiter: str) -> bool:
    """Tell whether numbers in ``sample`` are written ``1.234,50`` rather than ``1234.50``."""
    comma = point = 0
    try:
        for row in csv.reader(io.StringIO(sample), delimiter=delimiter):
            for raw in row:
                cell = raw.strip()
                if _COMMA_DECIMAL.match(cell):
                    comma += 1
                elif _POINT_DECIMAL.match(cell) and not _AMBIGUOUS_POINT.match(cell):
                    point += 1
    except csv.Error:
        return False
    return comma > point


def _parse(
    filename: str,
    data: bytes,
    delimiter: str,
    decimal_comma: bool,
    width: int,
    limits: IngestLimits,
) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            encoding="utf-8",
            sep=delimiter,
            decimal="," if decimal_comma else ".",
            engine="c",
            header=0,
            names=[f"c{i}" for i in range(width)] if width else None,
            index_col=False,
            low_memory=False,
            nrows=limits.max_rows + 1,
        )
    except pd.errors.EmptyDataError as exc:
        raise _empty_error(filename) from exc
    except (pd.errors.ParserError, ValueError, OverflowError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise IngestError(
            f"{filename} could not be read as CSV ({reason}). Check that every row has the same "
            "number of columns as the header, then upload it again."
        ) from exc
    if len(frame) > limits.max_rows:
        raise IngestError(
            f"{filename} has more than {limits.max_rows:,} rows, the most one file may have: "
            "upload a filtered or aggregated export."
        )
    if len(frame.columns) > limits.max_columns:
        raise _too_wide_error(filename, len(frame.columns), limits)
    return frame


def _header_and_width(sample: str, delimiter: str) -> tuple[list[str], int]:
    """Return the header row and the most fields any row of ``sample`` has."""
    try:
        rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter))
    except csv.Error:
        return [], 0
    if not rows:
        return [], 0
    return rows[0], max(len(row) for row in rows)


def _sample(text: str) -> str:
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # a cut-off last line would confuse the sniffer
    return "\n".join(line for line in sample.split("\n")[:SNIFF_LINES] if line.strip())


def _most_consistent_delimiter(sample: str) -> str:
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=delimiter)]
        if not widths or max(widths) < 2:
            continue
        mode = max(set(widths), key=widths.count)
        score = (widths.count(mode) / len(widths), mode)
        if mode > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def _empty_error(filename: str) -> IngestError:
    return IngestError(
        f"{filename} is empty: export the data again and upload a file with a header row and data."
    )


def _too_wide_error(filename: str, columns: int, limits: IngestLimits) -> IngestError:
    return IngestError(
        f"{filename} has {columns:,} columns; at most {limits.max_columns:,} are supported. "
        "Remove the columns you do not need and upload it again."
    )
