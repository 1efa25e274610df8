"""One offline draft: read the files, then fill the schema field by field."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from app.llm.offline.lists import assign_lists, list_items
from app.llm.offline.scenarios import ScenarioModel, draft_model, is_model_slot
from app.llm.offline.schema import (
    MAIN_NAMES,
    ItemShape,
    Path,
    fields,
    has_type,
    is_date_field,
    is_nullable,
    ref_kind,
)
from app.llm.offline.tables import TableInfo, assign_refs, profile, text_sheet
from app.llm.offline.text import Doc, parse_text, people, split_label
from app.llm.offline.values import (
    NOT_FOUND,
    bounded,
    complete_item,
    default_enum,
    empty,
    fill_in,
    is_placeholder,
    is_prose,
)
from app.llm.offline.words import (
    DASHES,
    DATE,
    MATCH_THRESHOLD,
    WORD,
    FieldWords,
    clean,
    has_word,
    split_sentences,
    stem,
    tokens,
)

if TYPE_CHECKING:
    from app.ingest import IngestedFile

log = logging.getLogger(__name__)

_GENERIC_FIELD_WORDS = frozenset(
    {"name", "title", "summa", "descr", "note", "statu", "text", "date", "detai", "label"}
)
_GENERIC_TITLE_WORDS = frozenset(
    "plan notes note draft review prep messaging meeting minutes summary agreement master "
    "subscription quarterly business launch overview memo brief v1 v2 v3 v4 version the and "
    "for of a".split()
)


def fill_schema(
    schema: dict[str, Any], prompt: str, files: Sequence[IngestedFile]
) -> dict[str, Any]:
    """Return content for ``schema`` drafted from ``files`` by rules; the caller validates it."""
    return _Draft(schema, prompt, files).build()


def _markdown_literal(text: str) -> str:
    """File text for a Markdown field: shown as written, never as markup or links."""
    text = re.sub(r"([\\`*_\[\]])", r"\\\1", text)
    return text.replace("<", "&lt;").replace(">", "&gt;")


class _Draft:
    """One offline draft: the parsed files, then the schema filled field by field."""

    def __init__(self, schema: dict[str, Any], prompt: str, files: Sequence[IngestedFile]) -> None:
        self.schema = schema
        self.prompt = clean(prompt)
        self.docs: list[Doc] = []
        self.tables: list[TableInfo] = []
        for upload in files:
            try:
                self._read(upload)
            except Exception:  # one odd file must not spoil the others
                log.warning("offline drafter skipped %s", getattr(upload, "filename", "?"))
        self.blocks = [block for doc in self.docs for block in doc.blocks]
        self.people = people(self.docs)
        self.title, self.primary = self._title()
        self.fields = fields(schema)
        self.refs = assign_refs(self.fields, self.tables)
        self.lists = assign_lists(self.fields, self.blocks, self.tables, self.refs)
        slot = next(((p, s) for p, s in self.fields if is_model_slot(s)), None)
        self.model_path = slot[0] if slot else None
        self.model: ScenarioModel | None = draft_model(slot[1], self.tables) if slot else None

    def _read(self, upload: IngestedFile) -> None:
        if upload.text:
            self.docs.append(parse_text(upload.filename, upload.text))
        for table in upload.tables:
            names = list(table.frame.columns)
            if len(set(names)) != len(names) or not all(isinstance(n, str) for n in names):
                continue  # references need unique column names; ingest guarantees them
            info = profile(table.name, table.frame)
            sheet = text_sheet(info)
            if sheet:
                self.docs.append(Doc(table.name, "", [sheet], "\n".join(sheet.lines)))
            elif info.columns:
                self.tables.append(info)

    def build(self) -> dict[str, Any]:
        """Return the content object."""
        value = self._value(self.schema, ())
        return value if isinstance(value, dict) else {}

    def _value(self, schema: dict[str, Any], path: Path) -> Any:
        if path == self.model_path:
            return self.model.ref if self.model else empty(schema)
        if ref_kind(schema):
            found = self.refs.get(path)
            return found[0] if found else empty(schema)
        if has_type(schema, "object"):
            value = {
                name: self._value(sub, path + (name,))
                for name, sub in schema.get("properties", {}).items()
            }
            if is_nullable(schema) and any(is_placeholder(v) for v in value.values()):
                return None  # a nullable object is null when a text it needs was not found
            return value
        if has_type(schema, "array"):
            return bounded(self._items(schema, path), schema, path[-1] if path else "items")
        if "enum" in schema:
            return default_enum(schema["enum"])
        if has_type(schema, "string"):
            return self._text(path, schema)
        return empty(schema)

    def _items(self, schema: dict[str, Any], path: Path) -> list[Any]:
        items = schema.get("items")
        if isinstance(items, dict) and ref_kind(items):
            return list(self.refs.get(path, []))
        if self.model and tokens(path[-1]) == {"scena"} and has_type(items or {}, "object"):
            return self._scenarios(ItemShape.of(items or {}), self.model)
        source = self.lists.get(path)
        if source is None:
            return []
        return list_items(source, path, schema, self.blocks, self.people)

    def _scenarios(self, shape: ItemShape, model: ScenarioModel) -> list[dict[str, Any]]:
        """The model's scenarios, base first, each named exactly like its column."""
        main = shape.main or "name"
        others = [p for p in shape.notes if p != main]
        return [
            complete_item(
                shape,
                {main: name, **({others[0]: model.descriptions.get(name)} if others else {})},
                "base" if index == 0 else "",
            )
            for index, name in enumerate(model.scenarios)
        ]

    # titles and free text

    def _title(self) -> tuple[str | None, Doc | None]:
        """The thing the files are about: the most repeated specific part of their titles."""
        everything = "\n".join(doc.text for doc in self.docs).lower()
        best: tuple[int, int, str, Doc] | None = None
        for order, doc in enumerate(self.docs):
            for part in DASHES.split(doc.title) if doc.title else []:
                words = WORD.findall(re.sub(r"\(.*?\)", "", part))
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
        return (
            split_sentences(self.prompt)[0][:80] if self.prompt else None,
            self.docs[0] if self.docs else None,
        )

    def _text(self, path: Path, schema: dict[str, Any]) -> str | None:
        name = path[-1]
        spec = FieldWords.of(name, schema)
        markdown = "markdown" in str(schema.get("description", "")).lower()
        value = self._find_text(name, path, spec, schema)
        if value is None and self.model and spec.name_tokens == {"horiz"}:
            value = self.model.horizon
        if value is None:
            if is_nullable(schema):
                return None
            return fill_in(schema) if is_prose(schema) else NOT_FOUND
        return _markdown_literal(value) if markdown else value

    def _find_text(
        self, name: str, path: Path, spec: FieldWords, schema: dict[str, Any]
    ) -> str | None:
        if is_date_field(name, schema):
            return self._date(spec)
        description = str(schema.get("description", ""))
        if (
            name in MAIN_NAMES
            or name.endswith(("_name", "_title"))
            or has_word(split_sentences(description)[0] if description else "", "title")
        ):
            return self.title
        for doc in self.docs:  # a file named like the field: contract_summary.pdf
            if spec.name_tokens and tokens(doc.source.rsplit(".", 1)[0]) == spec.name_tokens:
                body = [s for s, _ in doc.sentences if clean(s) != doc.title]
                if body:
                    return clean(" ".join(body[:2]))
        keyed = [
            (spec.score(b.label_tokens), -i, b)
            for i, b in enumerate(self.blocks)
            if b.kind == "key"
            and b.label_tokens
            and spec.name_tokens & b.label_tokens
            and b.label_tokens <= spec.name_tokens | spec.desc_tokens
        ]
        if keyed:
            return max(keyed, key=lambda k: k[:2])[2].text
        if len(path) == 1 and spec.name_tokens and spec.name_tokens <= {"summa", "overv", "intro"}:
            intro = self.primary.intro if self.primary else ""
            return clean(intro or self.prompt) or None
        specific = FieldWords(spec.name_tokens - _GENERIC_FIELD_WORDS, spec.desc_tokens)
        sections = [
            (specific.score(b.label_tokens), -i, b)
            for i, b in enumerate(self.blocks)
            if b.kind == "section" and b.lines
        ]
        best = max(sections, key=lambda k: k[:2], default=None)
        if best and best[0] >= MATCH_THRESHOLD:
            return clean(" ".join(split_sentences(best[2].text)[:2]))
        return self._clause(spec)

    def _clause(self, spec: FieldWords) -> str | None:
        """A short clause that names the field: ``ARR 412,000 USD`` → ``412,000 USD``."""
        wanted = spec.name_tokens - _GENERIC_FIELD_WORDS
        if not wanted:
            return None
        clauses = [
            c.strip(" .")
            for doc in self.docs
            for s, words in doc.sentences
            if wanted & words
            for c in re.split(r"[,;]\s+", s)
        ]
        hits = sorted((c for c in clauses if wanted & tokens(c) and len(c) <= 80), key=len)
        for clause in hits:
            _, clause = split_label(clause)
            first, _, rest = clause.partition(" ")
            value = rest if stem(first) in wanted and rest else clause
            if re.search(r"\d", value):
                return clean(value)
        return None

    def _date(self, spec: FieldWords) -> str | None:
        """The date in the sentence that best matches the field (``renewal on 2027-03-31``)."""
        spec = FieldWords(spec.name_tokens - {"date"}, spec.desc_tokens)
        words = set(spec.name_tokens | spec.desc_tokens)
        best: tuple[int, str] | None = None
        for doc in self.docs:
            for sentence, sentence_words in doc.sentences:
                score = spec.score(sentence_words)
                if score < MATCH_THRESHOLD or (best is not None and score <= best[0]):
                    continue
                dates = DATE.findall(sentence)
                if dates:
                    best = (score, _nearest_date(sentence, dates, words))
        return best[1] if best else None


def _nearest_date(sentence: str, dates: list[str], words: set[str]) -> str:
    """The date closest to the words that matched the field."""
    hits = [m.start() for m in WORD.finditer(sentence) if stem(m.group()) in words]
    if not hits or len(dates) == 1:
        return dates[0]
    return min(dates, key=lambda d: min(abs(sentence.index(d) - h) for h in hits))
