"""Words in files and schemas: plain text from Markdown, sentences, stems and field matching."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 600
MATCH_THRESHOLD = 2

_STOP = frozenset(
    "a an and are as at be by can do e eg etc for from g how i if in into is it its of on one or "
    "our per so than that the their them then there they this to was we what when where which "
    "who whom why will with you your each plain text sentence sentences null file files "
    "uploaded upload none yyyy mm dd".split()
)
_ACRONYMS = frozenset({"usd", "eur", "gbp", "api", "nps", "arr", "mrr", "id", "sla", "kpi", "csv"})

WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]{2,}")
DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
DASHES = re.compile(r"\s+[—–]\s+|\s+-\s+")  # "Title — note", "Title - note"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_INLINE_MARKUP = re.compile(r"\*\*|__|`")


def stem(word: str) -> str:
    """Return the form a word is matched by: lower case, no plural ``s``, five letters."""
    word = word.lower()
    if len(word) > 3 and word.endswith("s"):
        word = word[:-1]
    return word[:5]


def tokens(text: str) -> set[str]:
    """Return the stems of the words in ``text`` that are not stop words."""
    return {stem(w) for w in WORD.findall(text) if w.lower() not in _STOP}


def clean(text: str) -> str:
    """Return plain text from a Markdown fragment: no emphasis markers, one line, bounded."""
    text = " ".join(_INLINE_MARKUP.sub("", str(text)).split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def capital(text: str) -> str:
    """Return ``text`` with its first letter in upper case."""
    return text[:1].upper() + text[1:]


def humanise(name: str) -> str:
    """Return a column or field name as words: ``api_calls`` → ``API calls``."""
    words = [
        w.upper() if w.lower() in _ACRONYMS else w.lower() for w in re.split(r"[\s_-]+", name) if w
    ]
    return capital(" ".join(words))


def lower_words(name: str) -> str:
    """Return a name as words inside a sentence: ``Due_date`` → ``due date``, ``api`` → ``API``."""
    text = humanise(name)
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def split_sentences(text: str) -> list[str]:
    """Split text into sentences, never across lines."""
    return [s.strip() for line in text.split("\n") for s in _SENTENCE_END.split(line) if s.strip()]


def has_word(text: str, phrase: str) -> bool:
    """Say whether ``phrase`` occurs in ``text`` as whole words, ignoring case."""
    return re.search(rf"(?<!\w){re.escape(phrase.lower())}(?!\w)", text.lower()) is not None


@dataclass(frozen=True)
class FieldWords:
    """A schema field's words: its name counts double against a label, its description once."""

    name_tokens: frozenset[str]
    desc_tokens: frozenset[str]

    @classmethod
    def of(cls, name: str, schema: dict[str, Any]) -> FieldWords:
        """Return the words of field ``name``; what its description says about null is left out."""
        description = re.split(r"[;,.]?\s*null\b|\bNull\b", str(schema.get("description", "")))[0]
        names = tokens(name)
        return cls(frozenset(names), frozenset(tokens(description) - names))

    def score(self, label: Iterable[str], weight: int = 1) -> int:
        """Return how well the words of ``label`` match this field."""
        words = set(label)
        return weight * (2 * len(self.name_tokens & words) + len(self.desc_tokens & words))
