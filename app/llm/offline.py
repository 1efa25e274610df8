"""The offline drafter: fills a template from the uploaded files by rules, with no model.

It is driven by the template's schema (field names, descriptions, types) and by the files, never
by template names, so a new template folder works too:

* Markdown headings, bold labels and ``Key: value`` lines become labelled blocks of text, list
  items and table rows; each array field takes the block whose label best matches its name and
  description ("next_steps" ↔ "## Proposed next steps"), each text field a matching value.
* Item properties are filled from table columns or from the item text: dates (YYYY-MM-DD) go to
  date fields, a ``Name: text`` prefix to an owner field, an em dash splits a title from a note.
* Uploaded tables become chart and table references (time-like x with numeric y, counts per
  category) and, when their columns match an array's item properties, the array's items.

Text from files is copied as plain text (escaping happens at render). The answer always
validates against the schema: nullable fields are null when nothing fits, and filler items say
honestly that nothing was found, only where ``minItems`` demands one.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd
from jsonschema import Draft202012Validator

from app.llm.base import Draft, DraftRequest, TemplateSpec
from app.site_template import CHART_KEYS, TABLE_KEYS

if TYPE_CHECKING:
    from app.ingest import IngestedFile

log = logging.getLogger(__name__)

NOT_FOUND = "Not found in the uploaded files."
MAX_TEXT = 600
MATCH_THRESHOLD = 2
TABLE_ROWS_SHOWN_IN_FULL = 50
TABLE_ROWS_DEFAULT = 20
MAX_CATEGORIES = 20

_STOP = frozenset(
    "a an and are as at be by can do e eg etc for from g how i if in into is it its of on one or "
    "our per so than that the their them then there they this to was we what when where which "
    "who whom why will with you your each plain text sentence sentences null file files "
    "uploaded upload none yyyy mm dd".split()
)
_GENERIC_FIELD_WORDS = frozenset({"name", "title", "summa", "descr", "note", "statu", "text",
                                  "date", "detai", "label"})
_GENERIC_TITLE_WORDS = frozenset(
    "plan notes note draft review prep messaging meeting minutes summary agreement master "
    "subscription quarterly business launch overview memo brief v1 v2 v3 v4 version the and "
    "for of a".split()
)
_ENUM_DEFAULTS = ("unknown", "not assessed", "not started", "medium", "none", "other")
_ENUM_SYNONYMS: dict[str, tuple[str, ...]] = {
    "shipped": ("released", "launched", "generally available"),
    "in beta": ("beta", "preview", "pilot"),
    "slipped": ("delayed", "postponed", "slipped"),
    "planned": ("roadmap", "planned", "scheduled"),
    "done": ("completed", "complete", "finished"),
    "late": ("overdue",),
    "high": ("urgent", "critical", "severe", "blocker"),
    "low": ("minor",),
    "customer": ("their", "they", "customer"),
    "ours": ("our", "we", "us"),
    "accountable": ("owner", "accountable"),
    "responsible": ("lead", "responsible"),
}
_PERSON_PROPS = frozenset({"owner", "who", "assignee", "author", "lead", "responsible"})
_MAIN_NAMES = frozenset({"name", "title", "label"})

_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]{2,}")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_BOLD_LINE = re.compile(r"^\s*(\*\*|__)([^*_]+?)\1\s*:?\s*$")
_BOLD_KEY = re.compile(r"^\s*(\*\*|__)([^*_]{1,60}?):?\s*\1\s*:?\s+(.+)$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(.*)$")
_TABLE_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]*-{3,}[\s:|-]*$")
_KEY_VALUE = re.compile(r"^([A-Z][\w '’()&/.-]{0,40}?):\s+(.+)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_PERSON = r"[A-ZÀ-Ö][\w'’-]+(?: [A-ZÀ-Ö][\w'’-]+){1,2}"
_PERSON_VALUE = re.compile(rf"^({_PERSON})(?:\s*\(([^)]{{1,60}})\))?\.?$")
_APPOSITIVE = re.compile(rf"\b(?:[Tt]heir|[Oo]ur|[Tt]he)\s+([\w ]{{2,30}}?),\s+({_PERSON})\b")
_DASHES = re.compile(r"\s+[—–]\s+|\s+-\s+")
_INLINE_MARKUP = re.compile(r"\*\*|__|`")


class OfflineDrafter:
    """Drafts site content from the files by rules; used when no LLM is configured."""

    name = "offline"
    model = "offline-drafter"

    def draft(self, request: DraftRequest) -> Draft:
        """Fill the template from the request's files; never raises on odd input."""
        content = self.draft_content(request.template, request.prompt, request.files)
        return Draft(content=content, raw=json.dumps(content), model=self.model,
                     tokens_in=0, tokens_out=0, offline=True)

    def draft_content(
        self, template: TemplateSpec, prompt: str, files: Sequence[IngestedFile]
    ) -> dict[str, Any]:
        """Return content for ``template`` that validates against its schema."""
        schema = template.schema
        try:
            content = _Drafter(schema, prompt or "", files).build()
            if not list(Draft202012Validator(schema).iter_errors(content)):
                return content
            log.warning("offline draft for %s broke its schema; using the empty draft",
                        template.name)
        except Exception as exc:  # odd files must never stop a draft: use the empty one
            log.warning("offline draft for %s failed (%s); using the empty draft",
                        template.name, type(exc).__name__)
        return _Drafter(schema, "", ()).build()


# --- words and matching ---------------------------------------------------------------------


def _stem(word: str) -> str:
    word = word.lower()
    if len(word) > 3 and word.endswith("s"):
        word = word[:-1]
    return word[:5]


def _tokens(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text) if w.lower() not in _STOP}


def _clean(text: str) -> str:
    """Plain text from a Markdown fragment: no emphasis markers, one line, bounded."""
    text = " ".join(_INLINE_MARKUP.sub("", str(text)).split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _humanise(name: str) -> str:
    """Column or field name as words: ``api_calls`` → ``API calls``."""
    known = {"usd", "eur", "gbp", "api", "nps", "arr", "mrr", "id", "sla", "kpi", "csv"}
    words = [w.upper() if w.lower() in known else w.lower() for w in re.split(r"[\s_-]+", name)
             if w]
    return _capital(" ".join(words))


def _lower(name: str) -> str:
    text = _humanise(name)
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def _table_label(name: str) -> str:
    """``model.xlsx#Assumptions`` → ``Assumptions``; ``usage.csv`` → ``Usage``."""
    source, _, sheet = name.partition("#")
    return _humanise(sheet or source.rsplit(".", 1)[0])


def _sentences(text: str) -> list[str]:
    return [s.strip() for line in text.split("\n") for s in _SENTENCE_END.split(line) if s.strip()]


def _is_nullable(schema: dict[str, Any]) -> bool:
    types = schema.get("type")
    return isinstance(types, list) and "null" in types


def _has_type(schema: dict[str, Any], name: str) -> bool:
    types = schema.get("type")
    return name in types if isinstance(types, list) else types == name


def _ref_kind(schema: dict[str, Any]) -> str | None:
    if not _has_type(schema, "object"):
        return None
    keys = frozenset(schema.get("properties", {}))
    return "chart" if keys == CHART_KEYS else "table" if keys == TABLE_KEYS else None


def _is_date_field(name: str, schema: dict[str, Any]) -> bool:
    return bool({"date", "due", "deadline", "when"} & set(name.lower().split("_"))) or \
        "YYYY-MM-DD" in str(schema.get("description", ""))


@dataclass(frozen=True)
class _Field:
    """A schema field's words: its name counts double against a label, its description once."""

    name_tokens: frozenset[str]
    desc_tokens: frozenset[str]

    @classmethod
    def of(cls, name: str, schema: dict[str, Any]) -> _Field:
        description = re.split(r"[;,.]?\s*null\b|\bNull\b", str(schema.get("description", "")))[0]
        names = _tokens(name)
        return cls(frozenset(names), frozenset(_tokens(description) - names))

    def score(self, label: Iterable[str], weight: int = 1) -> int:
        words = set(label)
        return weight * (2 * len(self.name_tokens & words) + len(self.desc_tokens & words))


# --- text files ------------------------------------------------------------------------------


@dataclass
class _Block:
    """A labelled piece of a text file: a section, a bold label or a ``Key: value`` line."""

    label: str
    source: str
    kind: str  # "section", "key" (Key: value) or "sheet" (a text-only sheet)
    items: list[str] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    @property
    def label_tokens(self) -> set[str]:
        return _tokens(self.label)


@dataclass
class _Doc:
    """One text file: its title, its blocks and its text."""

    source: str
    title: str
    blocks: list[_Block]
    text: str

    @cached_property
    def sentences(self) -> list[tuple[str, set[str]]]:
        """Every sentence with its words, worked out once per file."""
        return [(sentence, _tokens(sentence)) for sentence in _sentences(self.text)]

    @property
    def intro(self) -> str:
        """The first paragraph that is not a ``Key: value`` line."""
        for block in self.blocks:
            if block.kind != "key" and block.lines:
                return block.text
        return ""


def _parse_text(source: str, text: str) -> _Doc:
    """Split a Markdown or plain text file into labelled blocks."""
    lines = text.split("\n")
    title = ""
    if not any(_HEADING.match(line) for line in lines):  # plain text, PDF: a short first line
        start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
        first = lines[start].strip() if start < len(lines) else ""
        if first and len(first) <= 120 and not first.endswith("."):
            title, lines = _clean(first), lines[start + 1:]
    current = _Block(label=title or source.rsplit(".", 1)[0], source=source, kind="section")
    blocks = [current]
    table: list[list[str]] = []

    def flush_table() -> None:
        if len(table) >= 2:
            header = [_clean(cell) for cell in table[0]]
            for cells in table[1:]:
                current.rows.append({h: _clean(c) for h, c in zip(header, cells, strict=False)})
        table.clear()

    for line in lines:
        row = _TABLE_ROW.match(line)
        if row and not _TABLE_RULE.match(line):
            table.append(row.group(1).split("|"))
            continue
        if row:
            continue
        flush_table()
        heading = _HEADING.match(line) or _BOLD_LINE.match(line)
        bold_key = _BOLD_KEY.match(line)
        if heading:
            label = _clean(heading.group(2))
            if heading.group(1) == "#" and not title:
                title = label
            current = _Block(label=label, source=source, kind="section")
            blocks.append(current)
        elif bold_key:
            value = _capital(_clean(bold_key.group(3)))
            blocks.append(_Block(label=_clean(bold_key.group(2)), source=source, kind="key",
                                 items=[_capital(v.strip()) for v in value.split(";")
                                        if v.strip()], lines=[value]))
        elif item := _LIST_ITEM.match(line):
            current.items.append(_clean(item.group(1)))
        elif line.strip():
            current.lines.append(_clean(line))
            for sentence in _sentences(line):
                pair = _KEY_VALUE.match(_clean(sentence))
                if pair:
                    value = pair.group(2).rstrip(".")
                    blocks.append(_Block(label=pair.group(1), source=source, kind="key",
                                         items=[_capital(value)], lines=[_capital(value)]))
    flush_table()
    return _Doc(source=source, title=title, blocks=blocks, text=text)


# --- tables ----------------------------------------------------------------------------------


@dataclass
class _TableInfo:
    """An uploaded table and what kind of data each column holds."""

    name: str
    frame: pd.DataFrame
    name_tokens: set[str]
    column_tokens: set[str]
    columns: list[str]  # non-empty columns, in order
    text_columns: list[str]
    numeric_columns: list[str]
    time_column: str | None
    empty_columns: int

    @property
    def computed(self) -> bool:
        """False for a sheet whose formulas came without results: most columns are empty."""
        return self.empty_columns <= len(self.columns)

    @property
    def readable(self) -> bool:
        """Rows worth reading one by one: at least two text columns."""
        return len(self.text_columns) >= 2

    def score(self, spec: _Field) -> int:
        return spec.score(self.name_tokens, 3) + spec.score(self.column_tokens - self.name_tokens)


def _looks_like_time(name: str, series: pd.Series) -> bool:
    """A column of dates or periods: by type, by name (month, date…) or by ISO values."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    words = set(re.split(r"[^a-z]+", name.lower()))
    if words & {"month", "date", "day", "week", "year", "quarter", "period", "time"}:
        return True
    values = series.dropna().astype(str).head(50)
    return bool(len(values)) and values.str.fullmatch(r"\d{4}-\d{2}(-\d{2})?.*").all()


def _profile(name: str, frame: pd.DataFrame) -> _TableInfo:
    """Sort a table's non-empty columns into time, numeric and text."""
    columns = [str(c) for c in frame.columns if frame[c].notna().any()]
    numeric, text, time_column = [], [], None
    for column in columns:
        series = frame[column]
        if time_column is None and _looks_like_time(column, series):
            time_column = column
        elif pd.api.types.is_bool_dtype(series):
            text.append(column)
        elif pd.api.types.is_numeric_dtype(series):
            if not re.search(r"(^|_)id$", column.lower()):
                numeric.append(column)
        else:
            text.append(column)
    source, _, sheet = name.partition("#")
    column_tokens: set[str] = set()
    for column in columns:
        column_tokens |= _tokens(column)
    return _TableInfo(name=name, frame=frame,
                      name_tokens=_tokens(f"{source.rsplit('.', 1)[0]} {sheet}"),
                      column_tokens=column_tokens, columns=columns, text_columns=text,
                      numeric_columns=numeric, time_column=time_column,
                      empty_columns=len(frame.columns) - len(columns))


def _cell(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    if isinstance(value, pd.Timestamp):
        return str(value.date().isoformat() if value == value.normalize() else value.isoformat())
    return _clean(str(value)) or None


def _families(frame: pd.DataFrame, columns: list[str]) -> list[list[str]]:
    """Group numeric columns of a similar size so one chart does not flatten another."""
    groups: list[tuple[float, list[str]]] = []
    for column in columns:
        size = float(pd.to_numeric(frame[column], errors="coerce").abs().median() or 0.0)
        for group_size, members in groups:
            low, high = sorted((max(size, 1e-9), max(group_size, 1e-9)))
            if high / low <= 1.6 and len(members) < 4:
                members.append(column)
                break
        else:
            groups.append((size, [column]))
    return [members for _, members in groups]


def _charts_for(table: _TableInfo) -> list[dict[str, Any]]:
    """Chart references that show a table well: trends over time, counts per category."""
    frame, rows = table.frame, len(table.frame)
    if rows == 0:
        return []
    noun = _table_label(table.name)
    charts: list[dict[str, Any]] = []
    x = table.time_column
    if x and table.numeric_columns:
        ordered = frame[x].dropna().astype(str).tolist()
        monotonic = ordered == sorted(ordered) and len(set(ordered)) == len(ordered)
        for family in _families(frame, table.numeric_columns):
            title = " and ".join(_lower(c) for c in family)
            charts.append({"title": _capital(f"{title} by {_lower(x)}"),
                           "source": table.name, "kind": "line" if monotonic else "scatter",
                           "x": x, "y": family, "aggregate": "none"})
        if monotonic:
            return charts
    categories = [
        c for c in table.text_columns
        if c.lower() != "count" and 2 <= frame[c].nunique() <= min(MAX_CATEGORIES, rows / 2)
        and frame[c].dropna().astype(str).str.len().mean() <= 30
    ]
    if categories:
        charts = []  # rows in no time order read better as counts per category
    for column in categories:
        charts.append({"title": f"{noun} by {_lower(column)}", "source": table.name,
                       "kind": "bar", "x": column, "y": [], "aggregate": "count"})
    if categories and table.numeric_columns:
        y = table.numeric_columns[0]
        charts.append({"title": f"Mean {_lower(y)} by {_lower(categories[0])}",
                       "source": table.name, "kind": "bar", "x": categories[0], "y": [y],
                       "aggregate": "mean"})
    return charts


def _table_ref(table: _TableInfo, max_columns: int) -> dict[str, Any]:
    """A table reference: every non-empty column, all rows of a short table."""
    rows = len(table.frame)
    shown = rows if rows <= TABLE_ROWS_SHOWN_IN_FULL else TABLE_ROWS_DEFAULT
    return {"title": _table_label(table.name),
            "source": table.name, "columns": table.columns[:max_columns],
            "max_rows": max(1, shown)}


def _text_sheet(table: _TableInfo) -> _Block | None:
    """A sheet of free text (e.g. notes) reads as a block of text, not as data."""
    if table.numeric_columns or len(table.columns) > 2 or table.time_column:
        return None
    cells = [c for column in table.columns for v in table.frame[column].head(200)
             if (c := _cell(v))]
    if not cells or sum(len(c) for c in cells) / len(cells) < 25:
        return None
    source, _, sheet = table.name.partition("#")
    return _Block(label=f"{source.rsplit('.', 1)[0]} {sheet}", source=table.name, kind="sheet",
                  items=cells, lines=cells)


# --- people ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Person:
    """Someone named in the files, with the label they were named under."""

    name: str
    label: str
    team: str | None
    context: str


def _people(docs: Sequence[_Doc]) -> list[_Person]:
    """People named as ``Role: Name (Team)`` or ``their role, Name``, first mention first."""
    found: dict[str, _Person] = {}
    for doc in docs:
        for block in doc.blocks:
            person = _PERSON_VALUE.match(block.text) if block.kind == "key" else None
            if person and len(block.label.split()) <= 4 and person.group(1) not in found:
                found[person.group(1)] = _Person(person.group(1), block.label, person.group(2),
                                                 block.label)
        for match in _APPOSITIVE.finditer(doc.text):
            if match.group(2) not in found:
                found[match.group(2)] = _Person(match.group(2), _capital(match.group(1).strip()),
                                                None, match.group(0))
    return list(found.values())


# --- enums and items -------------------------------------------------------------------------


def _has_word(text: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase.lower())}(?!\w)", text.lower()) is not None


def _default_enum(values: Sequence[Any]) -> Any:
    options = [v for v in values if v is not None]
    for preferred in _ENUM_DEFAULTS:
        if preferred in options:
            return preferred
    return options[0] if options else None


def _choose_enum(values: Sequence[Any], text: str) -> Any:
    """The enum value named in ``text`` (or a synonym of it), else a neutral default."""
    options = [v for v in values if isinstance(v, str)]
    for value in sorted(options, key=len, reverse=True):
        if _has_word(text, value):
            return value
    for value in options:
        if any(_has_word(text, word) for word in _ENUM_SYNONYMS.get(value.lower(), ())):
            return value
    return _default_enum(values)


@dataclass(frozen=True)
class _ItemShape:
    """What each property of an array's item is for."""

    props: dict[str, dict[str, Any]]
    main: str | None
    person: str | None
    dates: tuple[str, ...]
    urls: tuple[str, ...]
    notes: tuple[str, ...]

    @classmethod
    def of(cls, schema: dict[str, Any]) -> _ItemShape:
        props = dict(schema.get("properties", {}))
        dates, urls, notes, person, main = [], [], [], None, None
        for name, sub in props.items():
            words = set(name.lower().split("_"))
            if not _has_type(sub, "string") or "enum" in sub:
                continue
            if _is_date_field(name, sub):
                dates.append(name)
            elif words & {"url", "link", "href"}:
                urls.append(name)
            elif person is None and (words & _PERSON_PROPS or name.endswith("_by")):
                person = name
            elif main is None and not _is_nullable(sub):
                main = name
            else:
                notes.append(name)
        return cls(props, main, person, tuple(dates), tuple(urls), tuple(notes))


def _split_label(text: str) -> tuple[str | None, str]:
    """``"Tomás: run a workshop"`` → ``("Tomás", "run a workshop")``."""
    match = _KEY_VALUE.match(text)
    if match and not re.search(r"[.!?]", match.group(1)):
        return match.group(1).strip(), match.group(2).strip()
    return None, text


def _match_columns(shape: _ItemShape, columns: Sequence[str], array_tokens: set[str]
                   ) -> dict[str, str]:
    """Map item properties to the columns that hold them (``due_date`` ↔ ``Due``)."""
    mapping: dict[str, str] = {}
    for prop in shape.props:
        wanted = _tokens(prop)
        for column in columns:
            have = _tokens(column)
            same = re.sub(r"\W|_", "", prop.lower()) == re.sub(r"\W|_", "", column.lower())
            overlap = bool(wanted and have) and (wanted <= have or have <= wanted)
            named = prop in _MAIN_NAMES and bool(have) and have == array_tokens
            if (same or overlap or named) and column not in mapping.values():
                mapping[prop] = column
                break
    return mapping


# --- the draft -------------------------------------------------------------------------------

Path = tuple[str, ...]


def _fields(schema: dict[str, Any], path: Path = ()) -> list[tuple[Path, dict[str, Any]]]:
    """Every field reachable without entering an array, in schema order."""
    found: list[tuple[Path, dict[str, Any]]] = []
    for name, sub in schema.get("properties", {}).items():
        found.append((path + (name,), sub))
        if _ref_kind(sub) is None and _has_type(sub, "object"):
            found.extend(_fields(sub, path + (name,)))
    return found


def _capacity(schema: dict[str, Any]) -> int:
    return int(schema.get("maxItems", 50)) if _has_type(schema, "array") else 1


def _ref_slot_kind(schema: dict[str, Any]) -> str | None:
    if _has_type(schema, "array") and isinstance(schema.get("items"), dict):
        return _ref_kind(schema["items"])
    return _ref_kind(schema)


def _markdown_literal(text: str) -> str:
    """File text for a Markdown field: shown as written, never as markup or links."""
    text = re.sub(r"([\\`*_\[\]])", r"\\\1", text)
    return text.replace("<", "&lt;").replace(">", "&gt;")


class _Drafter:
    """One offline draft: the parsed files, then the schema filled field by field."""

    def __init__(self, schema: dict[str, Any], prompt: str, files: Sequence[IngestedFile]
                 ) -> None:
        self.schema = schema
        self.prompt = _clean(prompt)
        self.docs: list[_Doc] = []
        self.tables: list[_TableInfo] = []
        for upload in files:
            try:
                self._read(upload)
            except Exception:  # one odd file must not spoil the others
                log.warning("offline drafter skipped %s", getattr(upload, "filename", "?"))
        self.blocks = [block for doc in self.docs for block in doc.blocks]
        self.people = _people(self.docs)
        self.title, self.primary = self._title()
        self.fields = _fields(schema)
        self.refs = self._assign_refs()
        self.lists = self._assign_lists()

    def _read(self, upload: IngestedFile) -> None:
        if upload.text:
            self.docs.append(_parse_text(upload.filename, upload.text))
        for table in upload.tables:
            names = list(table.frame.columns)
            if len(set(names)) != len(names) or not all(isinstance(n, str) for n in names):
                continue  # references need unique column names; ingest guarantees them
            info = _profile(table.name, table.frame)
            sheet = _text_sheet(info)
            if sheet:
                self.docs.append(_Doc(table.name, "", [sheet], "\n".join(sheet.lines)))
            elif info.columns:
                self.tables.append(info)

    def build(self) -> dict[str, Any]:
        """Return the content object."""
        value = self._value(self.schema, ())
        return value if isinstance(value, dict) else {}

    # titles and free text

    def _title(self) -> tuple[str | None, _Doc | None]:
        """The thing the files are about: the most repeated specific part of their titles."""
        everything = "\n".join(doc.text for doc in self.docs).lower()
        best: tuple[int, int, str, _Doc] | None = None
        for order, doc in enumerate(self.docs):
            for part in _DASHES.split(doc.title) if doc.title else []:
                words = _WORD.findall(re.sub(r"\(.*?\)", "", part))
                if not words or all(w.lower() in _GENERIC_TITLE_WORDS for w in words):
                    continue
                score = (everything.count(part.strip().lower()), -order)
                if best is None or score > best[:2]:
                    best = (*score, part.strip(), doc)
        if best:
            holders = [d for d in self.docs if best[2] in d.title]
            primary = max(holders, key=lambda d: sum(b.kind == "section" for b in d.blocks))
            return best[2], primary
        titled = next((d for d in self.docs if d.title), None)
        if titled:
            return titled.title, titled
        return (_sentences(self.prompt)[0][:80] if self.prompt else None,
                self.docs[0] if self.docs else None)

    def _text(self, path: Path, schema: dict[str, Any]) -> str | None:
        name = path[-1]
        spec = _Field.of(name, schema)
        markdown = "markdown" in str(schema.get("description", "")).lower()
        value = self._find_text(name, path, spec, schema)
        if value is None:
            return None if _is_nullable(schema) else NOT_FOUND
        return _markdown_literal(value) if markdown else value

    def _find_text(self, name: str, path: Path, spec: _Field, schema: dict[str, Any]
                   ) -> str | None:
        if _is_date_field(name, schema):
            return self._date(spec)
        description = str(schema.get("description", ""))
        if name in _MAIN_NAMES or name.endswith(("_name", "_title")) or \
                _has_word(_sentences(description)[0] if description else "", "title"):
            return self.title
        for doc in self.docs:  # a file named like the field: contract_summary.pdf
            if spec.name_tokens and _tokens(doc.source.rsplit(".", 1)[0]) == spec.name_tokens:
                body = [s for s, _ in doc.sentences if _clean(s) != doc.title]
                if body:
                    return _clean(" ".join(body[:2]))
        keyed = [(spec.score(b.label_tokens), -i, b) for i, b in enumerate(self.blocks)
                 if b.kind == "key" and b.label_tokens and spec.name_tokens & b.label_tokens
                 and b.label_tokens <= spec.name_tokens | spec.desc_tokens]
        if keyed:
            return max(keyed, key=lambda k: k[:2])[2].text
        if len(path) == 1 and spec.name_tokens and spec.name_tokens <= {"summa", "overv", "intro"}:
            intro = self.primary.intro if self.primary else ""
            return _clean(intro or self.prompt) or None
        specific = _Field(spec.name_tokens - _GENERIC_FIELD_WORDS, spec.desc_tokens)
        sections = [(specific.score(b.label_tokens), -i, b) for i, b in enumerate(self.blocks)
                    if b.kind == "section" and b.lines]
        best = max(sections, key=lambda k: k[:2], default=None)
        if best and best[0] >= MATCH_THRESHOLD:
            return _clean(" ".join(_sentences(best[2].text)[:2]))
        return self._clause(spec)

    def _clause(self, spec: _Field) -> str | None:
        """A short clause that names the field: ``ARR 412,000 USD`` → ``412,000 USD``."""
        wanted = spec.name_tokens - _GENERIC_FIELD_WORDS
        if not wanted:
            return None
        clauses = [c.strip(" .") for doc in self.docs for s, words in doc.sentences
                   if wanted & words for c in re.split(r"[,;]\s+", s)]
        hits = sorted((c for c in clauses if wanted & _tokens(c) and len(c) <= 80), key=len)
        for clause in hits:
            _, clause = _split_label(clause)
            first, _, rest = clause.partition(" ")
            value = rest if _stem(first) in wanted and rest else clause
            if re.search(r"\d", value):
                return _clean(value)
        return None

    def _date(self, spec: _Field) -> str | None:
        """The date in the sentence that best matches the field (``renewal on 2027-03-31``)."""
        spec = _Field(spec.name_tokens - {"date"}, spec.desc_tokens)
        words = set(spec.name_tokens | spec.desc_tokens)
        best: tuple[int, str] | None = None
        for doc in self.docs:
            for sentence, sentence_words in doc.sentences:
                score = spec.score(sentence_words)
                if score < MATCH_THRESHOLD or (best is not None and score <= best[0]):
                    continue
                dates = _DATE.findall(sentence)
                if dates:
                    best = (score, self._nearest_date(sentence, dates, words))
        return best[1] if best else None

    @staticmethod
    def _nearest_date(sentence: str, dates: list[str], words: set[str]) -> str:
        hits = [m.start() for m in _WORD.finditer(sentence) if _stem(m.group()) in words]
        if not hits or len(dates) == 1:
            return dates[0]
        return min(dates, key=lambda d: min(abs(sentence.index(d) - h) for h in hits))

    # chart and table references

    def _assign_refs(self) -> dict[Path, list[dict[str, Any]]]:
        """Give each table's charts to the best chart field and the table to a table field."""
        refs: dict[Path, list[dict[str, Any]]] = {}
        slots = {kind: [(p, s, _Field.of(p[-1], s)) for p, s in self.fields
                        if _ref_slot_kind(s) == kind] for kind in ("chart", "table")}

        def room(path: Path, schema: dict[str, Any]) -> int:
            return _capacity(schema) - len(refs.get(path, []))

        charted: set[str] = set()
        tables = [table for table in self.tables if table.computed]
        for table in tables:
            charts = _charts_for(table)
            open_slots = [(table.score(spec), -i, p, s) for i, (p, s, spec)
                          in enumerate(slots["chart"]) if room(p, s) > 0]
            if not charts or not open_slots:
                continue
            _, _, path, schema = max(open_slots, key=lambda k: k[:2])
            y_cap = int(schema.get("items", schema)["properties"]["y"].get("maxItems", 4))
            for chart in charts[: room(path, schema)]:
                chart["y"] = chart["y"][:y_cap]
                refs.setdefault(path, []).append(chart)
            charted.add(table.name)
        pairs = sorted(((table.score(spec), -i, -j, table, p, s, spec)
                        for j, table in enumerate(tables)
                        for i, (p, s, spec) in enumerate(slots["table"])),
                       key=lambda k: k[:3], reverse=True)
        shown: set[str] = set()
        for score, _, _, table, path, schema, spec in pairs:
            # A charted table also gets a table when asked for by name or worth reading.
            named = bool(table.name_tokens & (spec.name_tokens | spec.desc_tokens))
            wanted = score > 0 and (named or table.readable or table.name not in charted)
            fallback = score == 0 and table.name not in charted and _has_type(schema, "array")
            if table.name in shown or room(path, schema) <= 0 or not (wanted or fallback):
                continue
            columns = schema.get("items", schema)["properties"]["columns"].get("maxItems", 10)
            refs.setdefault(path, []).append(_table_ref(table, int(columns)))
            shown.add(table.name)
        return refs

    def _shown_as(self, table: _TableInfo, array_tokens: set[str]) -> bool:
        """Is the table already on the page through a table field named like this array?"""
        return any(ref["source"] == table.name and array_tokens <= _tokens(path[-1])
                   for path, found in self.refs.items() for ref in found
                   if "columns" in ref)

    # arrays of items

    def _assign_lists(self) -> dict[Path, tuple[Any, ...]]:
        """Pick one source per array field, best matches first; each source used once."""
        candidates: list[tuple[int, int, Path, tuple[Any, ...]]] = []
        for order, (path, schema) in enumerate(self.fields):
            items = schema.get("items")
            if not _has_type(schema, "array") or not isinstance(items, dict) or _ref_kind(items):
                continue
            spec = _Field.of(path[-1], schema)
            objects = _has_type(items, "object")
            for index, block in enumerate(self.blocks):
                keyed = block.kind == "key"
                usable = block.rows or (block.items and not (keyed and objects
                                                             and len(block.items) < 2))
                if keyed and not block.label_tokens <= spec.name_tokens | spec.desc_tokens:
                    continue
                score = spec.score(block.label_tokens)
                if usable and score >= MATCH_THRESHOLD:  # sections win ties over key lines
                    candidates.append((score * 2 - keyed, -order, path, ("block", index)))
            if not objects:
                continue
            shape = _ItemShape.of(items)
            for table in self.tables:
                if self._shown_as(table, set(spec.name_tokens)):
                    continue
                usable_columns = table.text_columns + [table.time_column or ""]
                mapping = _match_columns(shape, [c for c in usable_columns if c],
                                         set(spec.name_tokens))
                if len(mapping) >= 2 and (shape.main is None or shape.main in mapping):
                    candidates.append((10 + len(mapping), -order, path, ("rows", table, mapping)))
                for column in table.text_columns:
                    values = table.frame[column].dropna()
                    if _tokens(column) == spec.name_tokens and 0 < values.nunique() < len(values):
                        candidates.append((10, -order, path, ("distinct", table, column)))
            if "name" in shape.props and {"role", "area", "title", "position"} & set(shape.props):
                candidates.append((1, -order, path, ("people",)))
        chosen: dict[Path, tuple[Any, ...]] = {}
        used: set[tuple[Any, ...]] = set()
        for _, _, path, source in sorted(candidates, key=lambda c: c[:2], reverse=True):
            key = source[:1] + tuple(getattr(s, "name", s) for s in source[1:2])
            if path in chosen or (key in used and source[0] != "people"):
                continue
            chosen[path] = source
            used.add(key)
        return chosen

    def _list(self, path: Path, schema: dict[str, Any]) -> list[Any]:
        source = self.lists.get(path)
        items: dict[str, Any] = schema.get("items", {})
        if source is None:
            return []
        objects = _has_type(items, "object")
        shape = _ItemShape.of(items) if objects else None
        kind = source[0]
        if kind == "block":
            block = self.blocks[source[1]]
            if shape is None:
                texts = [" — ".join(v for v in row.values() if v) for row in block.rows]
                return [_capital(t) for t in texts + block.items if t]
            if block.rows:
                mapping = _match_columns(shape, list(block.rows[0]), set(_tokens(path[-1])))
                return [self._item(shape, {p: row.get(c) for p, c in mapping.items()},
                                   " ".join(row.values())) for row in block.rows]
            return [self._item_from_text(shape, text) for text in block.items]
        if kind == "rows" and shape is not None:
            table, mapping = source[1], source[2]
            return [self._item(shape, {p: _cell(row[c]) for p, c in mapping.items()},
                               " ".join(filter(None, (_cell(v) for v in row.values))))
                    for _, row in table.frame.head(_capacity(schema)).iterrows()]
        if kind == "distinct" and shape is not None:
            table, column = source[1], source[2]
            values = [_cell(v) for v in table.frame[column].dropna().unique()]
            main = shape.main or next(iter(shape.props), "")
            return [self._item(shape, {main: v}, v or "", filler=f"As named in {table.name}.")
                    for v in values if v]
        if kind == "people" and shape is not None:
            return [self._person_item(shape, person) for person in self.people]
        return []

    def _item_from_text(self, shape: _ItemShape, text: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        head, rest = _split_label(text)
        if head and shape.person and len(head.split()) <= 4 and head[:1].isupper():
            values[shape.person] = self._full_name(head)
            body: str | None = _capital(rest)
        elif head and shape.notes and shape.main:
            values[shape.main], values[shape.notes[0]] = head, _capital(rest)
            body = None
        else:
            body = text
        if body is not None and shape.main:
            parts = _DASHES.split(body, maxsplit=1) if shape.notes else [body]
            values[shape.main] = parts[0]
            if len(parts) > 1 and shape.notes[0] not in values:
                values[shape.notes[0]] = _capital(parts[1])
        for prop, date in zip(shape.dates, _DATE.findall(text), strict=False):
            values[prop] = date
        for prop, url in zip(shape.urls, _URL.findall(text), strict=False):
            values[prop] = url
        return self._item(shape, values, text)

    def _person_item(self, shape: _ItemShape, person: _Person) -> dict[str, Any]:
        labels = [p for p in ("area", "role", "title", "position") if p in shape.props]
        teams = [p for p in ("role", "team", "department")
                 if p in shape.props and p not in labels[:1]]
        values: dict[str, Any] = {"name": person.name}
        if labels:
            values[labels[0]] = person.label if teams or not person.team \
                else f"{person.label} ({person.team})"
        if teams and person.team:
            values[teams[0]] = person.team
        return self._item(shape, values, f"{person.context} {person.label}")

    def _full_name(self, name: str) -> str:
        """``Tomás`` → ``Tomás Ortega`` when the files name exactly one such person."""
        matches = [p.name for p in self.people if p.name.split()[0] == name]
        return matches[0] if len(matches) == 1 else name

    def _item(self, shape: _ItemShape, values: dict[str, Any], context: str,
              filler: str = "") -> dict[str, Any]:
        """Complete an item: every property present, of its type, enums chosen from context."""
        item: dict[str, Any] = {}
        for prop, sub in shape.props.items():
            value = values.get(prop)
            if "enum" in sub:
                value = _choose_enum(sub["enum"], value if isinstance(value, str) else context)
            elif _has_type(sub, "boolean"):
                value = bool((_tokens(prop) - {"is", "has"}) & _tokens(context))
            elif _has_type(sub, "string"):
                value = _clean(value) if value else None
                if value is None and not _is_nullable(sub):
                    value = filler
            elif _has_type(sub, "array") or _has_type(sub, "object"):
                value = self._empty(sub)
            elif value is not None:
                value = None
            if value is None and not _is_nullable(sub):
                value = self._empty(sub)
            item[prop] = value
        return item

    # filling the schema

    def _value(self, schema: dict[str, Any], path: Path) -> Any:
        kind = _ref_kind(schema)
        if kind:
            found = self.refs.get(path)
            return found[0] if found else self._empty(schema)
        if _has_type(schema, "object"):
            return {name: self._value(sub, path + (name,))
                    for name, sub in schema.get("properties", {}).items()}
        if _has_type(schema, "array"):
            items = schema.get("items")
            values = list(self.refs.get(path, [])) if isinstance(items, dict) and \
                _ref_kind(items) else self._list(path, schema)
            return self._bounded(values, schema, path[-1] if path else "items")
        if "enum" in schema:
            return _default_enum(schema["enum"])
        if _has_type(schema, "string"):
            return self._text(path, schema)
        return self._empty(schema)

    def _bounded(self, values: list[Any], schema: dict[str, Any], name: str) -> list[Any]:
        values = values[: int(schema.get("maxItems", len(values)))]
        items = schema.get("items", {})
        while len(values) < int(schema.get("minItems", 0)):
            values.append(self._filler(items, name))
        return values

    def _filler(self, items: dict[str, Any], name: str) -> Any:
        """An item that says nothing was found, where the schema demands at least one."""
        message = f"No {_lower(name)} found in the uploaded files."
        if _has_type(items, "string") and "enum" not in items:
            return message
        if _has_type(items, "object") and not _ref_kind(items):
            shape = _ItemShape.of(items)
            main = shape.main or next((p for p, s in shape.props.items()
                                       if _has_type(s, "string") and "enum" not in s), None)
            return self._item(shape, {main: message} if main else {}, "")
        return self._empty(items)

    def _empty(self, schema: dict[str, Any]) -> Any:
        """The least-claiming valid value of a schema."""
        if _is_nullable(schema):
            return None
        if "enum" in schema:
            return _default_enum(schema["enum"])
        if _has_type(schema, "object"):
            return {name: self._empty(sub) for name, sub in schema.get("properties", {}).items()}
        if _has_type(schema, "array"):
            return self._bounded([], schema, "items")
        if _has_type(schema, "string"):
            return NOT_FOUND
        if _has_type(schema, "boolean"):
            return False
        if _has_type(schema, "integer") or _has_type(schema, "number"):
            return 0
        return None
