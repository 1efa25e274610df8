"""PDF reading: text extraction, page cap, and clear errors for what cannot be read."""

from __future__ import annotations

import io
from collections.abc import Callable

import pypdf
import pytest

from app.ingest import IngestedFile, IngestError, IngestLimits, ingest
from tests.ingest.factories import make_pdf


def test_contract_summary_text(ingest_sample: Callable[[str], IngestedFile]) -> None:
    file = ingest_sample("customer_review/contract_summary.pdf")
    assert file.kind == "text"
    assert file.text is not None
    assert "Master Subscription Agreement" in file.text
    assert "Term: 2024-04-01 to 2027-03-31" in file.text
    assert "99.9% monthly uptime" in file.text
    assert file.digest["pages"] == 1
    assert "pages_read" not in file.digest


def test_reads_every_page_in_order() -> None:
    file = ingest("two.pdf", make_pdf(["First page (intro)", "Second page"]))
    assert file.text == "First page (intro)\n\nSecond page"
    assert file.digest["pages"] == 2


def test_caps_the_pages_read() -> None:
    data = make_pdf(["one", "two", "three"])
    file = ingest("long.pdf", data, IngestLimits(max_pdf_pages=2))
    assert file.text == "one\n\ntwo"
    assert file.digest["pages"] == 3
    assert file.digest["pages_read"] == 2


def test_pdf_without_text_may_be_a_scan() -> None:
    with pytest.raises(IngestError, match="may be a scanned image"):
        ingest("scan.pdf", make_pdf([""]))


def test_decompression_bomb_is_stopped() -> None:
    bomb = make_pdf(["x"], stream=b" " * (40 * 1024 * 1024))
    assert len(bomb) < 100_000
    with pytest.raises(IngestError, match="more compressed content than a document may have"):
        ingest("bomb.pdf", bomb)


def test_password_protected_pdf() -> None:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(make_pdf(["secret"])))
    writer.encrypt("a password", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(IngestError, match="password-protected"):
        ingest("locked.pdf", out.getvalue())


@pytest.mark.parametrize(
    "data",
    [b"just some text, not a pdf", b"%PDF-1.4\n1 0 obj\n<<\n", make_pdf(["ok"])[:200]],
)
def test_damaged_pdf(data: bytes) -> None:
    with pytest.raises(IngestError, match="could not be read as a PDF"):
        ingest("broken.pdf", data)
