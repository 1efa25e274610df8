"""CSV reading: encodings, delimiters, decimal commas, literal cells and limits."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from app.ingest import IngestedFile, IngestError, IngestLimits, ingest, load_tables
from app.ingest.frames import QUICK_CHECK_ROWS


def frame_of(name: str, data: bytes, limits: IngestLimits | None = None) -> pd.DataFrame:
    return load_tables(name, data, limits or IngestLimits())[name]


def test_usage_has_18_months_of_numeric_users(
    ingest_sample: Callable[[str], IngestedFile],
) -> None:
    frame = ingest_sample("customer_review/usage.csv").tables[0].frame
    assert len(frame) == 18
    assert list(frame.columns) == [
        "month",
        "active_users",
        "seats_purchased",
        "api_calls",
        "support_tickets",
        "nps",
    ]
    assert pd.api.types.is_numeric_dtype(frame["active_users"])
    assert frame["active_users"].iloc[0] == 821
    assert frame["active_users"].sum() == 17370
    assert frame["month"].iloc[-1] == "2026-11"


def test_tickets_has_60_rows(ingest_sample: Callable[[str], IngestedFile]) -> None:
    frame = ingest_sample("customer_review/tickets.csv").tables[0].frame
    assert len(frame) == 60
    assert frame["ticket_id"].iloc[0] == "T-4100"
    assert pd.api.types.is_float_dtype(frame["hours_to_first_reply"])
    assert set(frame["severity"]) == {"low", "medium", "high", "urgent"}


def test_latin1_city_names(ingest_sample: Callable[[str], IngestedFile]) -> None:
    frame = ingest_sample("adversarial/latin1.csv").tables[0].frame
    assert frame["Stadt"].tolist() == ["Köln", "München"]
    assert frame["Umsatz"].tolist() == [100, 200]


def test_semicolon_file_with_decimal_comma(ingest_sample: Callable[[str], IngestedFile]) -> None:
    frame = ingest_sample("adversarial/semicolon_decimal_comma.csv").tables[0].frame
    assert list(frame.columns) == ["month", "revenue"]
    assert frame["revenue"].tolist() == pytest.approx([1234.5, 2001.1])
    assert frame["month"].tolist() == ["2026-01", "2026-02"]


def test_script_and_formula_cells_stay_literal_text(
    ingest_sample: Callable[[str], IngestedFile],
) -> None:
    frame = ingest_sample("adversarial/xss_and_formula.csv").tables[0].frame
    assert frame["name"].tolist() == ["Acme", '=HYPERLINK("http://evil.example/","x")', "Bob"]
    assert frame["comment"].iloc[0] == "<script>alert(1)</script>"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_detects_the_delimiter(delimiter: str) -> None:
    rows = [["region", "units", "note"], ["north", "12", "ok, fine"], ["south", "7", "late"]]
    text = "\n".join(
        delimiter.join(f'"{c}"' if delimiter in c or "," in c else c for c in row) for row in rows
    )
    frame = frame_of("sales.csv", text.encode())
    assert list(frame.columns) == ["region", "units", "note"]
    assert frame["units"].tolist() == [12, 7]
    assert frame["note"].tolist() == ["ok, fine", "late"]


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("utf-8", "city,amount\nKöln,1\n"),
        ("utf-8-sig", "city,amount\nKöln,1\n"),
        ("utf-16", "city\tamount\nKöln\t1\n"),
        ("cp1252", "city;amount\nKöln;1\nÀ la carte;2\nCafé;3\n"),
    ],
)
def test_decodes_common_encodings(encoding: str, text: str) -> None:
    frame = frame_of("cities.csv", text.encode(encoding))
    assert list(frame.columns) == ["city", "amount"], "a BOM must not end up in the header"
    assert frame["city"].iloc[0] == "Köln"
    if encoding == "cp1252":
        assert frame["city"].tolist() == ["Köln", "À la carte", "Café"]


def test_windows_line_endings() -> None:
    frame = frame_of("crlf.csv", b"a,b\r\n1,x\r\n2,y\r\n")
    assert frame["b"].tolist() == ["x", "y"]


def test_decimal_comma_keeps_dotted_dates_as_text() -> None:
    data = b"day;amount;count\n01.02.2026;1.234,50;1.000\n02.02.2026;7,25;12\n"
    frame = frame_of("eu.csv", data)
    assert frame["day"].tolist() == ["01.02.2026", "02.02.2026"]
    assert frame["amount"].tolist() == pytest.approx([1234.5, 7.25])
    assert frame["count"].tolist() == [1000, 12]


def test_thousands_separators_in_quoted_numbers() -> None:
    frame = frame_of("us.csv", b'item,price\nA,"1,234.50"\nB,"12.00"\n')
    assert frame["price"].tolist() == pytest.approx([1234.5, 12.0])


def test_grouped_numbers_are_checked_past_the_first_rows() -> None:
    # The first rows are only a quick check: a separator or a word after them decides too.
    plain = "".join(f"{n}\n" for n in range(QUICK_CHECK_ROWS + 5))
    late_separator = frame_of("late.csv", f'price\n{plain}"1,234.50"\n'.encode())
    assert late_separator["price"].iloc[-1] == pytest.approx(1234.5)
    grouped = "".join(f'"1,{n % 1000:03d}.50"\n' for n in range(QUICK_CHECK_ROWS + 5))
    late_word = frame_of("word.csv", f"price\n{grouped}tbd\n".encode())
    assert late_word["price"].iloc[0] == "1,000.50" and late_word["price"].iloc[-1] == "tbd"


def test_decimal_point_file_with_semicolons_is_not_decimal_comma() -> None:
    frame = frame_of("points.csv", b"a;b\n1.5;2.25\n3.75;4.5\n")
    assert frame["a"].tolist() == pytest.approx([1.5, 3.75])


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02\x03binary",
        bytes(range(256)) * 8,
        b"PK\x03\x04" + bytes(500),
    ],
)
def test_rejects_binary_content(data: bytes) -> None:
    with pytest.raises(IngestError, match="does not look like a CSV text file"):
        ingest("data.csv", data)


def test_rejects_header_without_rows() -> None:
    with pytest.raises(IngestError, match="header row but no data rows"):
        ingest("header.csv", b"month,revenue\n")


def test_rows_limit() -> None:
    data = b"n\n" + b"".join(f"{i}\n".encode() for i in range(10))
    assert len(frame_of("ten.csv", data, IngestLimits(max_rows=10))) == 10
    with pytest.raises(IngestError, match="more than 9 rows"):
        ingest("ten.csv", data, IngestLimits(max_rows=9))


def test_columns_limit() -> None:
    header = ",".join(f"c{i}" for i in range(6))
    data = f"{header}\n{','.join('1' * 6)}\n".encode()
    assert frame_of("wide.csv", data, IngestLimits(max_columns=6)).shape == (1, 6)
    with pytest.raises(IngestError, match="6 columns; at most 5"):
        ingest("wide.csv", data, IngestLimits(max_columns=5))


def test_ragged_rows_give_a_clear_error() -> None:
    with pytest.raises(IngestError, match="same number of columns") as caught:
        ingest("ragged.csv", b"a,b\n1,2\n3,4,5,6\n")
    assert "ragged.csv could not be read as CSV" in str(caught.value)


def test_tidies_header_names_and_empty_columns() -> None:
    frame = frame_of("messy.csv", b"name,,name, value ,\nx,1,y,2,\nz,3,w,4,\n,,,,\n")
    assert list(frame.columns) == ["name", "column_2", "name_2", "value"]
    assert len(frame) == 2, "the empty row is dropped"


def test_missing_values_and_mixed_columns() -> None:
    frame = frame_of("gaps.csv", b"a,b,c\n1,,x\n,2.5,7\n3,1,\n")
    assert frame["a"].isna().sum() == 1
    assert pd.api.types.is_numeric_dtype(frame["b"])
    assert frame["c"].tolist()[:2] == ["x", "7"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a,b\n1,2,\n3,4,\n", {"a": [1, 3], "b": [2, 4]}),
        (b"a,b,\n1,2,\n", {"a": [1], "b": [2]}),
        (b"a,b\n1,2,\n3,4,5\n", {"a": [1, 3], "b": [2, 4], "column_3": [None, 5]}),
    ],
)
def test_rows_longer_than_the_header_never_shift_values(
    data: bytes, expected: dict[str, list[object]]
) -> None:
    # Pandas alone would take the first column as an index and shift every value one column left.
    frame = frame_of("trailing.csv", data)
    assert frame.astype(object).where(frame.notna(), None).to_dict("list") == expected
