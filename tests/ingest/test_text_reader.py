"""Markdown and plain text: decoding, newlines, and the outline of headings."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.ingest import IngestedFile, IngestError, ingest
from app.ingest.text_reader import markdown_outline


def test_qbr_notes_text_and_outline(ingest_sample: Callable[[str], IngestedFile]) -> None:
    file = ingest_sample("customer_review/qbr_notes.md")
    assert file.text is not None
    assert "renewal on 2027-03-31" in file.text
    assert "Tomás Ortega" in file.text
    assert file.digest["outline"] == [
        "# Northwind Logistics — quarterly business review prep (Nov 2026)",
        "## Product updates they care about",
        "## What we heard in the last call (2026-11-12)",
        "## Open questions",
        "## Proposed next steps",
    ]
    assert file.digest["chars"] == len(file.text)
    assert file.digest["excerpt"] == file.text[:1500]


def test_markdown_tables_stay_in_the_text(ingest_sample: Callable[[str], IngestedFile]) -> None:
    file = ingest_sample("launch_hub/launch_plan.md")
    assert file.text is not None
    assert "| Security review sign-off | Alicia Gomez (Security) | 2027-01-08 | at risk |" in (
        file.text
    )
    assert file.tables == []


def test_injection_is_kept_as_inert_text(ingest_sample: Callable[[str], IngestedFile]) -> None:
    file = ingest_sample("adversarial/injection.md")
    assert file.text is not None
    assert "<script>fetch('/admin/settings'" in file.text
    assert "renewal is on 2027-03-31" in file.text
    assert file.digest["outline"] == ["# Meeting notes"]


def test_normalises_newlines() -> None:
    file = ingest("notes.txt", b"line one\r\nline two\rline three\n")
    assert file.text == "line one\nline two\nline three\n"


def test_decodes_legacy_encodings() -> None:
    file = ingest("notes.md", "# Café\n\nÀ bientôt, Grüße aus Köln.\n".encode("cp1252"))
    assert file.text == "# Café\n\nÀ bientôt, Grüße aus Köln.\n"


@pytest.mark.parametrize(
    ("text", "outline"),
    [
        ("# One\ntext\n## Two ##\n", ["# One", "## Two"]),
        ("Title\n=====\n\nSub\n---\n", ["# Title", "## Sub"]),
        ("```\n# not a heading\n```\n# Real\n", ["# Real"]),
        ("#hashtag\n####### seven\n", []),
        ("- item\n---\n| a | b |\n|---|---|\n", []),
        ("   ### Indented\n", ["### Indented"]),
    ],
)
def test_markdown_outline(text: str, outline: list[str]) -> None:
    assert markdown_outline(text) == outline


def test_long_text_digest_is_an_excerpt() -> None:
    text = "# Big\n" + "word " * 100_000
    file = ingest("big.md", text.encode())
    assert file.text == text
    assert len(file.digest["excerpt"]) == 1500
    assert file.digest["chars"] == len(text)


@pytest.mark.parametrize("name", ["blob.md", "blob.txt", "blob.markdown"])
def test_rejects_binary_text_files(name: str) -> None:
    with pytest.raises(IngestError, match="does not look like a text file"):
        ingest(name, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
