"""Markdown and plain-text files: decode whatever encoding they came in and find their headings."""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata

from charset_normalizer import from_bytes

from app.ingest.model import IngestError

logger = logging.getLogger(__name__)

# Share of control characters (other than tab and line breaks) above which text is binary.
MAX_CONTROL_SHARE = 0.01
WESTERN = "cp1252"
# Detector "chaos" scores this close count as a tie.
CHAOS_TIE = 0.01
MAX_OUTLINE_ENTRIES = 200
MAX_HEADING_CHARS = 120

_UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_LIST_OR_QUOTE = re.compile(r"^\s*([-*+>]|\d+[.)])\s")


def decode_text(filename: str, data: bytes, what: str = "text file") -> str:
    """Decode ``data`` (UTF-8 first, else the detected charset) or raise if it is binary."""
    text = _decode(filename, data, what)
    if _looks_binary(text):
        raise _binary_error(filename, what)
    if "\r" not in text:  # one quick search instead of two replacing passes over a large file
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(filename: str, data: bytes) -> str:
    """Read a Markdown or plain-text file into its text with ``\n`` line breaks."""
    text = decode_text(filename, data)
    if not text.strip():
        raise IngestError(f"{filename} is empty: upload a file that contains some text.")
    return text


def markdown_outline(text: str) -> list[str]:
    """Return the Markdown headings of ``text`` as ``"## Title"`` lines, skipping code blocks."""
    outline: list[str] = []
    in_code = False
    previous = ""
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            previous = ""
            continue
        if in_code:
            continue
        heading = _heading(line, previous)
        if heading:
            outline.append(heading[:MAX_HEADING_CHARS])
            if len(outline) >= MAX_OUTLINE_ENTRIES:
                break
        previous = line
    return outline


def _heading(line: str, previous: str) -> str | None:
    atx = _ATX_HEADING.match(line)
    if atx:
        return f"{atx.group(1)} {atx.group(2).strip()}"
    underline = _SETEXT_UNDERLINE.match(line)
    if (
        underline
        and previous.strip()
        and not _ATX_HEADING.match(previous)
        and not _LIST_OR_QUOTE.match(previous)
        and "|" not in previous
    ):
        level = "#" if underline.group(1).startswith("=") else "##"
        return f"{level} {previous.strip()}"
    return None


def _decode(filename: str, data: bytes, what: str) -> str:
    for bom, encoding in _UNICODE_BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise _binary_error(filename, what) from exc
    if b"\x00" in data:
        raise _binary_error(filename, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise _binary_error(filename, what)
    # Short files tie between many 8-bit code pages and the detector's pick among them is
    # arbitrary ("À" became "Ą"); Windows-1252, the usual legacy export, wins such ties.
    tied_western = any(
        WESTERN in (match.encoding, *match.could_be_from_charset)
        and match.chaos <= best.chaos + CHAOS_TIE
        for match in matches
    )
    encoding = WESTERN if tied_western else best.encoding
    logger.info("decoded %s as %s", filename, encoding)
    return data.decode(encoding, errors="replace")


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ch not in "\t\n\r\f" and unicodedata.category(ch) == "Cc")
    return controls / len(sample) > MAX_CONTROL_SHARE or "\ufffd" * 4 in sample


def _binary_error(filename: str, what: str) -> IngestError:
    return IngestError(
        f"{filename} does not look like a {what}: it contains binary data. "
        "Save or export it again as plain text (UTF-8) and upload that file."
    )
