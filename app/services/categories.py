"""Data categories: suggested from the uploaded files by simple rules, confirmed by the owner.

The rules read column names, a sample of cell values and the text of documents. They only
suggest: a site's categories are what its owner declares or confirms (PRODUCT.md §3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import BadInput
from app.ingest import IngestedFile
from app.models import DATA_CATEGORIES, AuditEvent, Site

CATEGORIES = DATA_CATEGORIES
SAMPLED_ROWS = 200
MAX_REASONS = 3

EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")

# Words in column names (split on separators and camelCase), per category.
COLUMN_WORDS: dict[str, frozenset[str]] = {
    "customer": frozenset(
        "customer customers client clients account accounts company contact contacts crm "
        "nps seats churn churned email emails phone address".split()
    ),
    "finance": frozenset(
        "revenue arr mrr price prices pricing cost costs margin profit invoice invoices billing "
        "budget ebitda usd eur gbp amount spend forecast cash payment payments".split()
    ),
    "legal": frozenset(
        "contract contracts agreement clause liability indemnity nda renewal sla "
        "jurisdiction litigation".split()
    ),
    "security": frozenset(
        "password passwords credential credentials secret secrets token tokens vulnerability "
        "vulnerabilities cve exploit pentest firewall incident incidents breach mfa".split()
    ),
    "employee": frozenset(
        "salary salaries compensation payroll bonus employee employees headcount hire "
        "termination ssn dob".split()
    ),
}
# Column names that hold personal names: people's data, suggested as customer data.
NAME_COLUMNS = frozenset(
    "name full_name first_name last_name firstname lastname surname person contact_name".split()
)

# Words and phrases in documents, per category (matched whole, case-blind).
TEXT_PATTERNS: dict[str, re.Pattern[str]] = {
    "customer": re.compile(r"\b(customers?|clients?|account owner|csm)\b", re.IGNORECASE),
    "finance": re.compile(
        r"\b(ARR|MRR|revenue|prices?|pricing|margins?|profit|invoices?|budget|EBITDA|"
        r"USD|EUR|GBP)\b",
        re.IGNORECASE,
    ),
    "legal": re.compile(
        r"\b(contracts?|agreements?|liabilit(?:y|ies)|indemni\w+|NDA|governing law|"
        r"auto-renews?|renewal|notice period|service credits)\b",
        re.IGNORECASE,
    ),
    "security": re.compile(
        r"\b(pen[- ]?tests?|penetration tests?|vulnerabilit(?:y|ies)|CVE-\d+|passwords?|"
        r"credentials?|exploits?|breach(?:es)?|security (?:review|incident)s?|api keys?)\b",
        re.IGNORECASE,
    ),
    "employee": re.compile(
        r"\b(salar(?:y|ies)|compensation|payroll|bonus(?:es)?|performance reviews?|headcount|"
        r"disciplinary|social security|date of birth)\b",
        re.IGNORECASE,
    ),
}


@dataclass(frozen=True)
class Suggestion:
    """A category the files seem to contain, with the evidence in a few words."""

    category: str
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        """Describe the suggestion for the API and the audit log."""
        return {"category": self.category, "reasons": list(self.reasons)}


def check_categories(values: Iterable[str]) -> list[str]:
    """Return the categories sorted and without duplicates.

    :raise BadInput: a category is unknown.
    """
    chosen = {str(value).strip().lower() for value in values if str(value).strip()}
    unknown = sorted(chosen - set(CATEGORIES))
    if unknown:
        raise BadInput(
            f"Unknown data categories: {', '.join(unknown)}; use {', '.join(CATEGORIES)}."
        )
    return sorted(chosen)


def _words(column: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", column)
    return {word for word in re.split(r"[^a-z0-9]+", spaced.lower()) if word}


def _has_emails(series: pd.Series) -> bool:
    sample = series.dropna().head(SAMPLED_ROWS)
    return any(isinstance(value, str) and EMAIL.search(value) for value in sample)


def _table_evidence(file: IngestedFile) -> Iterable[tuple[str, str]]:
    for table in file.tables:
        for column in table.frame.columns:
            name = str(column)
            words = _words(name)
            for category, keywords in COLUMN_WORDS.items():
                if words & keywords:
                    yield category, f"{table.name} has a column “{name}”"
            if name.strip().lower().replace(" ", "_") in NAME_COLUMNS:
                yield "customer", f"{table.name}: column “{name}” looks like personal names"
            if _has_emails(table.frame[column]):
                yield "customer", f"{table.name}: column “{name}” holds e-mail addresses"


def _text_evidence(file: IngestedFile) -> Iterable[tuple[str, str]]:
    text = file.text or ""
    for category, pattern in TEXT_PATTERNS.items():
        found: list[str] = []
        for match in pattern.finditer(text):
            word = match.group(0)
            if word.lower() not in {w.lower() for w in found}:
                found.append(word)
            if len(found) == MAX_REASONS:
                break
        if found:
            yield category, f"{file.filename} mentions " + ", ".join(f"“{w}”" for w in found)
    if EMAIL.search(text):
        yield "customer", f"{file.filename} contains e-mail addresses"


def suggest_categories(files: Sequence[IngestedFile]) -> list[Suggestion]:
    """Suggest data categories from what the files contain, with the reasons."""
    reasons: dict[str, list[str]] = {category: [] for category in CATEGORIES}
    for file in files:
        evidence = _table_evidence(file) if file.kind == "table" else _text_evidence(file)
        for category, reason in evidence:
            if reason not in reasons[category]:
                reasons[category].append(reason)
    return [
        Suggestion(category, tuple(found[:MAX_REASONS]))
        for category, found in reasons.items()
        if found
    ]


def recorded_suggestions(session: Session, site: Site) -> list[Suggestion]:
    """Return the suggestions made from the site's files (kept with the audit events that
    added files: its creation and revisions with new files), one per category."""
    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.site_id == site.id,
            AuditEvent.action.in_(("site.created", "revision.requested")),
        )
        .order_by(AuditEvent.id)
    ).all()
    found: dict[str, Suggestion] = {}
    for event in events:
        for item in event.data.get("suggested_categories", []):
            if isinstance(item, dict) and item.get("category") in CATEGORIES:
                category = str(item["category"])
                reasons = tuple(str(r) for r in item.get("reasons", []))
                found.setdefault(category, Suggestion(category, reasons))
    return list(found.values())
