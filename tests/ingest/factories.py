"""Small hand-built files for ingest tests: PDFs, workbooks and zips shaped to order."""

from __future__ import annotations

import io
import zipfile
import zlib

import openpyxl


def make_pdf(pages: list[str], *, stream: bytes | None = None) -> bytes:
    """Build a PDF with one line of Helvetica text per page (or one raw Flate content stream)."""
    count = len(pages)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{4 + 2 * i} 0 R".encode() for i in range(count))
        + f"] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> " + f"/Contents {5 + 2 * i} 0 R >>".encode()
        )
        if stream is not None:
            body = zlib.compress(stream, 9)
            head = f"<< /Length {len(body)} /Filter /FlateDecode >>".encode()
        else:
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            body = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode("latin-1")
            head = f"<< /Length {len(body)} >>".encode()
        objects.append(head + b"\nstream\n" + body + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def make_workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    """Build an .xlsx whose sheets hold the given rows (an empty list makes an empty sheet)."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def make_zip(entries: dict[str, bytes] | None = None, *, filler: int = 0, big: int = 0) -> bytes:
    """Build a zip with ``entries``, ``filler`` tiny extra parts and one ``big``-byte zero part."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in (entries or {}).items():
            archive.writestr(name, data)
        for i in range(filler):
            archive.writestr(f"xl/media/part{i}.bin", b"x")
        if big:
            chunk = bytes(1024 * 1024)
            with archive.open("xl/worksheets/sheet9.xml", "w") as part:
                for _ in range(big // len(chunk)):
                    part.write(chunk)
                part.write(bytes(big % len(chunk)))
    return out.getvalue()
