"""XLSX reading: every sheet as a table, typed columns, and the zip-bomb guard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import pytest

from app.ingest import IngestedFile, IngestError, IngestLimits, ingest, load_tables, xlsx_reader
from tests.ingest.factories import make_workbook, make_zip


class RefusingWorkbook:
    """Stands in for calamine to prove a guarded file is never parsed."""

    @staticmethod
    def from_filelike(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the workbook was opened before the zip checks rejected it")


@pytest.fixture
def refuse_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_reader, "CalamineWorkbook", RefusingWorkbook)


def test_model_workbook_sheets(ingest_sample: Callable[[str], IngestedFile]) -> None:
    file = ingest_sample("scenario_planner/model.xlsx")
    tables = {table.name: table.frame for table in file.tables}
    assert list(tables) == ["model.xlsx#Assumptions", "model.xlsx#Projection", "model.xlsx#Notes"]

    assumptions = tables["model.xlsx#Assumptions"]
    assert list(assumptions.columns) == [
        "Assumption",
        "Base",
        "Optimistic",
        "Pessimistic",
        "Unit",
        "Source",
    ]
    assert len(assumptions) == 6
    assert pd.api.types.is_float_dtype(assumptions["Base"])
    base = dict(zip(assumptions["Assumption"], assumptions["Base"], strict=True))
    assert base["Starting customers"] == 5200
    assert base["Monthly churn"] == pytest.approx(0.021)


def test_formulas_without_cached_values_come_back_empty(
    ingest_sample: Callable[[str], IngestedFile],
) -> None:
    projection = ingest_sample("scenario_planner/model.xlsx").tables[1].frame
    assert len(projection) == 36
    assert projection["Month"].tolist()[:3] == [1, 2, 3]
    assert pd.api.types.is_integer_dtype(projection["Month"])
    assert projection["Scenario"].value_counts().to_dict() == {
        "Base": 12,
        "Optimistic": 12,
        "Pessimistic": 12,
    }
    # Headed columns stay (a formula engine can fill them later) even though they are empty.
    assert projection["Operating result"].isna().all()


def test_a_single_row_sheet_is_kept_as_data(ingest_sample: Callable[[str], IngestedFile]) -> None:
    notes = ingest_sample("scenario_planner/model.xlsx").tables[2].frame
    assert list(notes.columns) == ["A"]
    assert notes["A"].iloc[0].startswith("Northwind FY27 operating model.")


def test_types_header_gaps_and_empty_sheets() -> None:
    data = make_workbook(
        {
            "Empty": [],
            "Data": [
                [None, None, None, None, None],
                ["when", "amount", None, "ok", "mixed"],
                [dt.datetime(2026, 1, 31), 10, None, True, "a"],
                [None, None, None, None, None],
                [dt.datetime(2026, 2, 28), 12.5, None, False, 3],
            ],
        }
    )
    tables = load_tables("book.xlsx", data)
    assert list(tables) == ["book.xlsx#Data"], "fully empty sheets are skipped"
    frame = tables["book.xlsx#Data"]
    assert list(frame.columns) == ["when", "amount", "ok", "mixed"]
    assert len(frame) == 2
    assert pd.api.types.is_datetime64_any_dtype(frame["when"])
    assert frame["amount"].tolist() == [10, 12.5]
    assert frame["ok"].tolist() == [True, False]
    assert frame["mixed"].tolist() == ["a", "3"]


def test_workbook_without_data_is_rejected() -> None:
    with pytest.raises(IngestError, match="has no data in any sheet"):
        ingest("blank.xlsx", make_workbook({"One": [], "Two": []}))


@pytest.mark.parametrize(
    "data",
    [b"not a zip at all", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), make_zip({"a": b"b"})],
)
def test_rejects_files_that_are_not_workbooks(data: bytes) -> None:
    with pytest.raises(IngestError, match="not a readable .xlsx workbook"):
        ingest("report.xlsx", data)


@pytest.mark.usefixtures("refuse_parsing")
def test_rejects_a_zip_with_too_many_entries_before_parsing() -> None:
    bomb = make_zip(filler=2_001)
    with pytest.raises(IngestError, match="2,001 parts, more than the 2,000"):
        ingest("many.xlsx", bomb)


@pytest.mark.usefixtures("refuse_parsing")
def test_rejects_a_zip_that_unpacks_too_large_before_parsing() -> None:
    bomb = make_zip(big=201 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024, "the bomb itself is small"
    with pytest.raises(IngestError, match=r"would unpack to 201 MB, over the 200 MB limit"):
        ingest("bomb.xlsx", bomb)


@pytest.mark.usefixtures("refuse_parsing")
def test_zip_limits_come_from_ingest_limits() -> None:
    limits = IngestLimits(max_xlsx_entries=3, max_xlsx_uncompressed_bytes=10_000)
    with pytest.raises(IngestError, match="more than the 3"):
        ingest("a.xlsx", make_zip(filler=4), limits)
    with pytest.raises(IngestError, match="would unpack to"):
        ingest("b.xlsx", make_zip(big=20_000), limits)


def test_sheet_rows_and_columns_limits() -> None:
    data = make_workbook({"S": [["a", "b", "c"], *[[i, i, i] for i in range(5)]]})
    assert load_tables("s.xlsx", data, IngestLimits(max_rows=5))["s.xlsx#S"].shape == (5, 3)
    with pytest.raises(IngestError, match="more than 4 rows"):
        ingest("s.xlsx", data, IngestLimits(max_rows=4))
    with pytest.raises(IngestError, match="3 columns; at most 2"):
        ingest("s.xlsx", data, IngestLimits(max_columns=2))
