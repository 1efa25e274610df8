"""The checks every upload gets (name, type, size, emptiness) and the public entry points."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from app.ingest import (
    ACCEPTED_EXTENSIONS,
    IngestedFile,
    IngestError,
    IngestLimits,
    ingest,
    load_tables,
    safe_filename,
)

READABLE_SAMPLES = [
    ("customer_review/usage.csv", "table", ["usage.csv"]),
    ("customer_review/tickets.csv", "table", ["tickets.csv"]),
    ("customer_review/qbr_notes.md", "text", []),
    ("customer_review/contract_summary.pdf", "text", []),
    (
        "scenario_planner/model.xlsx",
        "table",
        ["model.xlsx#Assumptions", "model.xlsx#Projection", "model.xlsx#Notes"],
    ),
    ("scenario_planner/history.csv", "table", ["history.csv"]),
    ("launch_hub/launch_plan.md", "text", []),
    ("launch_hub/messaging.md", "text", []),
    ("launch_hub/decisions.csv", "table", ["decisions.csv"]),
    ("adversarial/injection.md", "text", []),
    ("adversarial/xss_and_formula.csv", "table", ["xss_and_formula.csv"]),
    ("adversarial/semicolon_decimal_comma.csv", "table", ["semicolon_decimal_comma.csv"]),
    ("adversarial/latin1.csv", "table", ["latin1.csv"]),
]
UNREADABLE_SAMPLES = [
    ("adversarial/binary_named.csv", "does not look like a CSV text file"),
    ("adversarial/empty.csv", "empty.csv is empty"),
]


def test_every_sample_file_is_covered(samples_dir: Path) -> None:
    covered = {path for path, *_ in READABLE_SAMPLES} | {path for path, _ in UNREADABLE_SAMPLES}
    on_disk = {
        path.relative_to(samples_dir).as_posix()
        for path in samples_dir.rglob("*")
        if path.is_file() and path.name != "README.md"
    }
    assert on_disk == covered


@pytest.mark.parametrize(("relative", "kind", "table_names"), READABLE_SAMPLES)
def test_reads_sample(
    ingest_sample: Callable[[str], IngestedFile], relative: str, kind: str, table_names: list[str]
) -> None:
    file = ingest_sample(relative)
    assert file.filename == Path(relative).name
    assert file.kind == kind
    assert [table.name for table in file.tables] == table_names
    assert (file.text is None) == (kind == "table")
    assert file.digest["filename"] == file.filename
    assert file.digest["kind"] == kind
    json.dumps(file.digest, allow_nan=False)


@pytest.mark.parametrize(("relative", "message"), UNREADABLE_SAMPLES)
def test_rejects_unreadable_sample(
    ingest_sample: Callable[[str], IngestedFile], relative: str, message: str
) -> None:
    with pytest.raises(IngestError, match=message) as caught:
        ingest_sample(relative)
    assert ":" in str(caught.value), "the message should say what to do next"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("usage.csv", "usage.csv"),
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\Users\\ana\\Desktop\\notes.md", "notes.md"),
        ("/tmp/x/../model.xlsx", "model.xlsx"),
        ("re\x00port\x1b[31m.csv", "report[31m.csv"),
        ("\u202egpj.csv", "gpj.csv"),
        ("  spaced name.txt  ", "spaced name.txt"),
        ("", "upload"),
        ("..", "upload"),
        ("dir/", "upload"),
    ],
)
def test_safe_filename(raw: str, expected: str) -> None:
    assert safe_filename(raw) == expected


def test_safe_filename_keeps_extension_of_long_names() -> None:
    name = safe_filename("a" * 300 + ".csv")
    assert len(name) == 120
    assert name.endswith(".csv")


def test_table_and_file_names_are_base_names() -> None:
    file = ingest("../../etc/passwd.csv", b"a,b\n1,2\n")
    assert file.filename == "passwd.csv"
    assert [table.name for table in file.tables] == ["passwd.csv"]


@pytest.mark.parametrize("name", ["report.docx", "data.xls", "evil.csv.exe", "README", "x.json"])
def test_rejects_unsupported_types_naming_accepted_ones(name: str) -> None:
    with pytest.raises(IngestError, match="not a supported file type") as caught:
        ingest(name, b"anything")
    for extension in ACCEPTED_EXTENSIONS:
        assert extension in str(caught.value)


@pytest.mark.parametrize("name", ["USAGE.CSV", "Notes.Markdown", "plan.TXT"])
def test_extensions_are_case_insensitive(name: str) -> None:
    assert ingest(name, b"a,b\n1,2\n").filename == name


def test_rejects_files_over_the_size_limit_naming_it_in_mb() -> None:
    with pytest.raises(IngestError, match=r"over the 20 MB limit") as caught:
        ingest("huge.csv", b"a\n" * (10 * 1024 * 1024 + 1))
    assert "huge.csv" in str(caught.value)


@pytest.mark.parametrize("extension", ACCEPTED_EXTENSIONS)
def test_size_limit_applies_to_every_type_before_reading(extension: str) -> None:
    limits = IngestLimits(max_file_bytes=1024)  # stands in for a 50 MB upload against 20 MB
    with pytest.raises(IngestError, match=r"over the 0\.000977 MB limit"):
        ingest(f"big{extension}", b"\x00" * 1025, limits)
    # Exactly at the limit the size check passes (and the reader then judges the content).
    with pytest.raises(IngestError, match="does not look like|not a readable|could not be read"):
        ingest(f"big{extension}", b"\x00" * 1024, limits)


@pytest.mark.parametrize("extension", ACCEPTED_EXTENSIONS)
@pytest.mark.parametrize("data", [b"", b"   \r\n\t "])
def test_rejects_empty_files(extension: str, data: bytes) -> None:
    with pytest.raises(IngestError, match=f"empty{extension} is empty"):
        ingest(f"empty{extension}", data)


def test_load_tables_returns_frames_by_table_name(samples_dir: Path) -> None:
    workbook = (samples_dir / "scenario_planner" / "model.xlsx").read_bytes()
    tables = load_tables("model.xlsx", workbook)
    assert list(tables) == ["model.xlsx#Assumptions", "model.xlsx#Projection", "model.xlsx#Notes"]
    assert load_tables("usage.csv", b"month,users\n2026-01,5\n")["usage.csv"]["users"].tolist() == [
        5
    ]


def test_load_tables_is_empty_for_text_files() -> None:
    assert load_tables("notes.md", b"# Notes\nhello\n") == {}


def test_load_tables_applies_the_same_checks() -> None:
    with pytest.raises(IngestError, match="is empty"):
        load_tables("empty.csv", b"")
