"""PDF files: extract the text of the first pages with pypdf under tight decompression limits."""

from __future__ import annotations

import contextlib
import io
import logging
import re
from dataclasses import dataclass
from typing import Any

import pypdf
from pypdf.errors import LimitReachedError, PdfReadError, PyPdfError

from app.ingest.model import IngestError, IngestLimits

logger = logging.getLogger(__name__)

# Most bytes one PDF stream may decompress to; text pages need far less.
MAX_STREAM_BYTES = 32 * 1024 * 1024
MAX_OUTLINE_ENTRIES = 200
MAX_HEADING_CHARS = 120

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class PdfText:
    """The text of a PDF, its bookmarks as an outline, and how many pages it has and were read."""

    text: str
    outline: list[str]
    pages: int
    pages_read: int


def read_pdf(filename: str, data: bytes, limits: IngestLimits) -> PdfText:
    """Read the text of a PDF (at most ``limits.max_pdf_pages`` pages) and its bookmarks."""
    try:
        with _decompression_limits():
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise IngestError(
                    f"{filename} is password-protected: save an unprotected copy and upload that."
                )
            pages = len(reader.pages)
            pages_read = min(pages, limits.max_pdf_pages)
            page_texts = [(reader.pages[i].extract_text() or "").strip() for i in range(pages_read)]
            outline = _bookmarks(reader)
    except IngestError:
        raise
    except LimitReachedError as exc:
        raise IngestError(
            f"{filename} holds more compressed content than a document may have: export it again "
            "as a plain PDF or copy its text into a .txt file."
        ) from exc
    except Exception as exc:  # pypdf raises many kinds of errors on damaged or hostile files
        kind = "damaged" if isinstance(exc, PdfReadError | PyPdfError) else "unexpected"
        logger.warning("could not read %s (%s error: %s)", filename, kind, type(exc).__name__)
        raise IngestError(
            f"{filename} could not be read as a PDF (the file may be damaged): export it again "
            "from the original application, or copy its text into a .txt file."
        ) from exc
    text = _CONTROL_CHARS.sub("", "\n\n".join(t for t in page_texts if t))
    if not text.strip():
        raise IngestError(
            f"{filename} has no text that can be extracted; it may be a scanned image. Upload a "
            "PDF with selectable text, or copy its text into a .txt file."
        )
    if pages_read < pages:
        logger.info("read the first %d of %d pages of %s", pages_read, pages, filename)
    return PdfText(text=text, outline=outline, pages=pages, pages_read=pages_read)


def _decompression_limits() -> contextlib.AbstractContextManager[Any]:
    apply = getattr(pypdf, "apply_configuration", None)
    if apply is None:  # pypdf before 7 only has its module-wide defaults (75 MB per stream)
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[Any] = apply(
        maximum_declared_stream_length=MAX_STREAM_BYTES,
        array_based_stream_maximum_output_length=MAX_STREAM_BYTES,
        zlib_maximum_output_length=MAX_STREAM_BYTES,
        lzw_maximum_output_length=MAX_STREAM_BYTES,
        run_length_maximum_output_length=MAX_STREAM_BYTES,
        brotli_maximum_output_length=MAX_STREAM_BYTES,
        jbig2_maximum_output_length=MAX_STREAM_BYTES,
        jbig2dec_binary=None,  # never start an external decoder for an uploaded file
    )
    return limits


def _bookmarks(reader: pypdf.PdfReader) -> list[str]:
    titles: list[str] = []

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if len(titles) >= MAX_OUTLINE_ENTRIES:
                return
            if isinstance(item, list):
                walk(item, depth + 1)
            elif getattr(item, "title", None):
                heading = "#" * min(depth, 6) + " " + str(item.title).strip()
                titles.append(heading[:MAX_HEADING_CHARS])

    try:
        walk(list(reader.outline), 1)
    except Exception as exc:  # bookmarks are optional: a broken outline must not lose the text
        logger.info("ignored the bookmarks of a PDF (%s)", type(exc).__name__)
    return titles
