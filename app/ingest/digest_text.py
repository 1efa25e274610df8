"""The plain-text digest of all uploaded files that the model reads, kept within a token budget."""

from __future__ import annotations

import json
import re
from typing import Any

from app.ingest.frames import number_text
from app.ingest.model import IngestedFile

CHARS_PER_TOKEN = 4
SECTION_SEPARATOR = "\n\n"
MAX_SAMPLE_COLUMNS = 20
MAX_SAMPLE_CELL_CHARS = 40
EXAMPLES = 3  # values shown for a column whose values are all different
MEAN_DIGITS = 6
# Share of a truncated text file's room that its outline may take.
OUTLINE_SHARE = 0.3

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INLINE_BREAKS = re.compile(r"[\r\n\t\x0b\x0c\u2028\u2029]+")
# A line of file text that looks like one of our own section headers.
_HEADER_LOOKALIKE = re.compile(r"^(\s*)(#+\s*FILE\b)", re.MULTILINE)


def render_digest(files: list[IngestedFile], token_budget: int) -> str:
    """Plain-text digest of all files for the model prompt, within ~token_budget tokens."""
    budget = max(token_budget, 0) * CHARS_PER_TOKEN
    if not files or budget == 0:
        return ""
    room = max(budget - len(SECTION_SEPARATOR) * (len(files) - 1), 0)
    drafts = [render_file(file, room) for file in files]
    shares = fair_shares([len(draft) for draft in drafts], room)
    sections = [
        draft if len(draft) <= share else render_file(file, share)
        for file, draft, share in zip(files, drafts, shares, strict=True)
    ]
    # A cut section may come out shorter than its share: give what is left to those still cut.
    cut = [i for i, draft in enumerate(drafts) if len(draft) > len(sections[i])]
    spare = room - sum(len(section) for section in sections)
    if cut and spare > 0:
        for i in cut:
            sections[i] = render_file(files[i], len(sections[i]) + spare // len(cut))
    return clip_text(SECTION_SEPARATOR.join(s for s in sections if s), budget)


def render_file(file: IngestedFile, max_chars: int) -> str:
    """Render one file's section in at most ``max_chars`` characters."""
    digest = file.digest if isinstance(file.digest, dict) else {}
    if file.kind == "table":
        section = _render_table_file(file.filename, digest, max_chars)
    else:
        section = _render_text_file(file.filename, file.text or "", digest, max_chars)
    return clip_text(section, max_chars)


def fair_shares(needs: list[int], total: int) -> list[int]:
    """Split ``total`` so small needs are met in full and the rest is shared equally."""
    shares = [0] * len(needs)
    remaining = total
    order = sorted(range(len(needs)), key=lambda i: needs[i])
    for position, index in enumerate(order):
        shares[index] = min(needs[index], remaining // (len(needs) - position))
        remaining -= shares[index]
    return shares


def clip_text(text: str, max_chars: int) -> str:
    """Cut ``text`` to ``max_chars`` characters, saying how much was cut when there is room."""
    if len(text) <= max_chars:
        return text
    marker = f"\n[truncated: {len(text):,} more characters]"  # widest the count can be
    if max_chars <= len(marker):
        return text[:max_chars]
    kept = max_chars - len(marker)
    return text[:kept] + f"\n[truncated: {len(text) - kept:,} more characters]"


def fit_lines(lines: list[str], max_chars: int) -> str:
    """Join as many whole ``lines`` as fit in ``max_chars``, then say how many were left out."""
    joined = "\n".join(lines)
    if len(joined) <= max_chars:
        return joined
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        marker = f"[truncated: {len(lines) - index - 1:,} more lines]"
        if used + len(line) + 1 + len(marker) > max_chars:
            break
        kept.append(line)
        used += len(line) + 1
    omitted = f"[truncated: {len(lines) - len(kept):,} more lines]"
    return "\n".join([*kept, omitted]) if used + len(omitted) <= max_chars else "\n".join(kept)


def _render_table_file(filename: str, digest: dict[str, Any], max_chars: int) -> str:
    tables = [t for t in _list(digest.get("tables")) if isinstance(t, dict)]
    if len(tables) == 1:
        size = _count(_int(tables[0].get("row_count")), "row")
    else:
        size = _count(len(tables), "sheet")
    header = f"### FILE {_inline(filename)} (table, {size})"
    room = max(max_chars - len(header), 0)
    drafts = [_render_table(table, room) for table in tables]
    shares = fair_shares([len(draft) + 1 for draft in drafts], room)
    blocks = [
        draft if len(draft) < share else _render_table(table, share - 1)
        for table, draft, share in zip(tables, drafts, shares, strict=True)
    ]
    return "\n".join([header, *(block for block in blocks if block)])


def _render_table(table: dict[str, Any], max_chars: int) -> str:
    """Render a table in the most detail that fits: stats and rows, stats, names and rows."""
    columns = [c for c in _list(table.get("columns")) if isinstance(c, dict)]
    rows = _int(table.get("row_count"))
    title = (
        f"TABLE {_inline(table.get('name'))} ({_count(rows, 'row')}, "
        f"{_count(len(columns), 'column')})"
    )
    details = ["columns:", *(f"- {_column_line(column, rows)}" for column in columns)]
    names = ", ".join(
        f"{_inline(c.get('name'))} ({_inline(c.get('dtype', 'text'))})" for c in columns
    )
    compact = f"columns: {names}"
    sample = _sample_lines(table, columns)
    for lines in ([title, *details, *sample], [title, *details], [title, compact, *sample]):
        text = "\n".join(lines)
        if len(text) <= max_chars:
            return text
    return clip_text(f"{title}\n{compact}", max_chars)


def _sample_lines(table: dict[str, Any], columns: list[dict[str, Any]]) -> list[str]:
    sample = [r for r in _list(table.get("sample_rows")) if isinstance(r, list)]
    if not sample or not columns:
        return []
    shown = columns[:MAX_SAMPLE_COLUMNS]
    note = "" if len(columns) == len(shown) else f" (first {len(shown)} columns)"
    return [
        f"first {_count(len(sample), 'row')}{note}:",
        _pipe_row([str(c.get("name", "")) for c in shown]),
        _pipe_row(["---"] * len(shown)),
        *(_pipe_row([str(cell) for cell in row[: len(shown)]]) for row in sample),
    ]


def _column_line(column: dict[str, Any], rows: int) -> str:
    name = _inline(column.get("name"))
    kind = _inline(column.get("dtype", "text"))
    nulls = _int(column.get("nulls"))
    if rows and nulls >= rows:
        return f"{name} ({kind}): all {rows:,} values empty"
    parts = [f"{nulls:,} empty", f"{_int(column.get('distinct')):,} distinct"]
    if kind == "number":
        parts += [f"{key} {_number(column.get(key))}" for key in ("min", "max", "sum")]
        parts.insert(-1, f"mean {_number(column.get('mean'), MEAN_DIGITS)}")
    elif kind == "date" and "min" in column:
        parts.append(f"from {_inline(column.get('min'))} to {_inline(column.get('max'))}")
    top = [t for t in _list(column.get("top")) if isinstance(t, dict)]
    if top and all(_int(t.get("count")) == 1 for t in top):
        parts.append("e.g. " + ", ".join(_quote(t.get("value")) for t in top[:EXAMPLES]))
    elif top:
        values = ", ".join(f"{_quote(t.get('value'))} ×{_int(t.get('count'))}" for t in top)
        parts.append(f"top: {values}")
    return f"{name} ({kind}): " + ", ".join(parts)


def _render_text_file(filename: str, text: str, digest: dict[str, Any], max_chars: int) -> str:
    facts = ["text"]
    pages = digest.get("pages")
    if pages is not None:
        facts.append(f"PDF, {_count(_int(pages), 'page')}")
        if "pages_read" in digest:
            facts.append(f"only the first {_int(digest['pages_read']):,} pages read")
    facts.append(_count(len(text), "character"))
    header = f"### FILE {_inline(filename)} ({', '.join(facts)})"
    body = _CONTROL_CHARS.sub("", _HEADER_LOOKALIKE.sub(r"\1\\\2", text)).strip("\n")
    if len(header) + 1 + len(body) <= max_chars:
        return f"{header}\n{body}"
    room = max(max_chars - len(header) - 1, 0)
    outline = [f"- {_inline(h)}" for h in _list(digest.get("outline"))]
    parts = [header]
    if outline:
        parts.append(fit_lines(["outline:", *outline], int(room * OUTLINE_SHARE)))
    parts = [part for part in parts if part]
    parts.append("beginning:")
    used = len("\n".join(parts)) + 1
    parts.append(clip_text(body, max(max_chars - used, 0)))
    return "\n".join(parts)


def _pipe_row(cells: list[str]) -> str:
    clipped = [_inline(cell).replace("|", "\\|") for cell in cells]
    clipped = [
        c if len(c) <= MAX_SAMPLE_CELL_CHARS else c[: MAX_SAMPLE_CELL_CHARS - 1] + "…"
        for c in clipped
    ]
    return "| " + " | ".join(clipped) + " |"


def _inline(value: Any) -> str:
    """Return ``value`` as one line of text without control characters."""
    return _CONTROL_CHARS.sub("", _INLINE_BREAKS.sub(" ", str(value))).strip()


def _quote(value: Any) -> str:
    return json.dumps(_inline(value), ensure_ascii=False)


def _number(value: Any, significant: int = 12) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "n/a"
    return number_text(float(value), significant) if isinstance(value, float) else str(value)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")
