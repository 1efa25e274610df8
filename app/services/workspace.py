"""Workspace settings: what admins decide for everyone, stored in the database and audited.

Each setting has a typed field below. A value an admin never changed comes from the
environment (``SITEWRIGHT_<NAME>`` where one exists) or the default here, so a fresh deployment
configured by environment variables keeps working. Services read the settings through
:func:`settings_for`, which lays the workspace values over the process configuration under the
same upper-case names (``MAX_EXPIRY_DAYS``, ``REVIEW_CATEGORIES``...), once per database session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app import audit
from app.errors import BadInput, Forbidden, SwitchedOff
from app.models import User, WorkspaceSettingsRow, utcnow
from app.services.categories import CATEGORIES

ROW_ID = 1
AUDIENCES = ("owner", "workspace")
_CACHE_KEY = "sitewright.workspace"


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("true or false")


def _whole(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"a whole number from {low} to {high}")
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"a whole number from {low} to {high}") from None
        if not low <= number <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return number

    return parse


def _price(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("a number of at least 0, like 0.002")
    try:
        number = float(value)
    except ValueError:
        raise ValueError("a number of at least 0, like 0.002") from None
    if not 0 <= number <= 1000:
        raise ValueError("a number from 0 to 1000, like 0.002")
    return round(number, 6)


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.replace("\n", ",").split(",")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("a list of group names")
    names = sorted({item.strip() for item in value if item.strip()})
    if any(len(name) > 200 for name in names) or len(names) > 100:
        raise ValueError("at most 100 group names of at most 200 characters")
    return names


def _group(value: Any) -> str:
    if not isinstance(value, str) or len(value.strip()) > 200:
        raise ValueError("a group name of at most 200 characters (empty: none)")
    return value.strip()


def _categories(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"a list of categories from: {', '.join(CATEGORIES)}")
    chosen = {item.strip().lower() for item in value if item.strip()}
    unknown = sorted(chosen - set(CATEGORIES))
    if unknown:
        raise ValueError(f"categories from: {', '.join(CATEGORIES)} (not {', '.join(unknown)})")
    return [c for c in CATEGORIES if c in chosen]


def _audience(value: Any) -> str:
    if value not in AUDIENCES:
        raise ValueError("'owner' (only the owner) or 'workspace' (every member)")
    return str(value)


def _currency(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 10:
        raise ValueError("a short currency label like USD or EUR")
    return value.strip()


@dataclass(frozen=True)
class Field:
    """One workspace setting: its name, default, parser, label and help for the admin page."""

    name: str
    default: Any
    parse: Callable[[Any], Any]
    label: str
    help: str
    group: str


FIELDS: tuple[Field, ...] = (
    Field(
        "feature_enabled",
        True,
        _boolean,
        "Sitewright is on",
        "Off: nobody can create sites (HTTP 503); existing sites stay as they are.",
        "Feature",
    ),
    Field(
        "hide_sites_when_off",
        False,
        _boolean,
        "Hide every site while switched off",
        "With the feature off, members who open any site get the “switched off” page; "
        "admins still see everything.",
        "Feature",
    ),
    Field(
        "creator_groups",
        [],
        _names,
        "Who may create sites",
        "Identity-provider groups whose members may create sites, one per line. "
        "Empty: every member. Admins always may.",
        "Feature",
    ),
    Field(
        "default_audience",
        "owner",
        _audience,
        "Default audience of a new site",
        "Who can open a new site once it is published, until its owner shares it otherwise.",
        "Sites",
    ),
    Field(
        "default_expiry_days",
        90,
        _whole(1, 3650),
        "Default expiry (days)",
        "The expiry date prefilled for a new site.",
        "Sites",
    ),
    Field(
        "max_expiry_days",
        365,
        _whole(1, 3650),
        "Maximum expiry (days)",
        "The furthest a site's expiry can be set, counted from today.",
        "Sites",
    ),
    Field(
        "expiry_warning_days",
        14,
        _whole(0, 365),
        "Expiry warning (days)",
        "Owners are told this many days before their site expires.",
        "Sites",
    ),
    Field(
        "admins_see_all_sites",
        True,
        _boolean,
        "Admins can open every site",
        "Off: admins see sites in the inventory and can disable or transfer them, but open "
        "and review only the sites shared with them (or as members of the reviewer group).",
        "Sites",
    ),
    Field(
        "review_categories",
        list(CATEGORIES),
        _categories,
        "Categories that require review",
        "A site holding data of these categories is shared beyond its owner only after a "
        "reviewer approves it.",
        "Review",
    ),
    Field(
        "reviewer_group",
        "",
        _group,
        "Reviewer group",
        "Identity-provider group whose members review sites (admins too, while they can "
        "open every site).",
        "Review",
    ),
    Field(
        "inactivity_days",
        0,
        _whole(0, 3650),
        "Inactivity limit (days)",
        "A site nobody opened or changed for this long is disabled by the sweep. 0: never.",
        "Clean-up",
    ),
    Field(
        "inactivity_warning_days",
        14,
        _whole(1, 365),
        "Inactivity warning (days)",
        "Owners are warned this long before an idle site is disabled.",
        "Clean-up",
    ),
    Field(
        "retention_days",
        30,
        _whole(1, 3650),
        "Retention of deleted sites (days)",
        "A deleted site can be restored this long; then the sweep purges it and its files.",
        "Clean-up",
    ),
    Field(
        "monthly_token_budget",
        0,
        _whole(0, 10**12),
        "Monthly token budget per person",
        "Tokens (in and out) one person may spend on generations and revisions in a "
        "calendar month (UTC). 0: no limit.",
        "Usage",
    ),
    Field(
        "price_per_1k_tokens",
        0.0,
        _price,
        "Price per 1,000 tokens",
        "Used for the cost estimates on the usage page.",
        "Usage",
    ),
    Field("currency", "USD", _currency, "Currency", "The label of cost estimates.", "Usage"),
)
FIELDS_BY_NAME = {field.name: field for field in FIELDS}


def _initial(env: Mapping[str, Any]) -> dict[str, Any]:
    """Return the values an admin has not changed: the environment's, else the defaults."""
    values = {}
    for field in FIELDS:
        try:
            values[field.name] = field.parse(env.get(field.name.upper(), field.default))
        except ValueError:
            values[field.name] = field.default
    return values


def load(session: Session, env: Mapping[str, Any]) -> dict[str, Any]:
    """Return every workspace setting, by its snake_case name (cached for the session)."""
    cached: dict[str, Any] | None = session.info.get(_CACHE_KEY)
    if cached is not None:
        return cached
    row = session.get(WorkspaceSettingsRow, ROW_ID)
    return remember(session, env, None if row is None else row.values)


def remember(
    session: Session, env: Mapping[str, Any], saved: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Cache for the session the settings row's values the caller has just read (None: no row).

    Sign-in reads the row with the session: no query of its own, and a change counts at once.
    """
    values = _initial(env)
    if saved is not None:
        for name, value in saved.items():
            if name in FIELDS_BY_NAME:
                values[name] = value
    session.info[_CACHE_KEY] = values
    return values


def settings_for(session: Session, env: Mapping[str, Any]) -> dict[str, Any]:
    """Return the process configuration with the workspace settings laid over it."""
    values = load(session, env)
    return {**env, **{name.upper(): value for name, value in values.items()}}


def forget(session: Session) -> None:
    """Drop the session's cached settings (after a change, or a new transaction)."""
    session.info.pop(_CACHE_KEY, None)


def check(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Parse the changed values.

    :raise 400: an unknown setting or a bad value, with one message per problem.
    """
    parsed: dict[str, Any] = {}
    problems: list[str] = []
    for name, raw in changes.items():
        field = FIELDS_BY_NAME.get(name)
        if field is None:
            problems.append(f"{name}: not a workspace setting")
            continue
        try:
            parsed[name] = field.parse(raw)
        except ValueError as exc:
            problems.append(f"{field.label}: expected {exc}")
    if problems:
        raise BadInput(
            "Some settings were not saved: " + "; ".join(problems) + ".", details=problems
        )
    return parsed


def update(
    session: Session, env: Mapping[str, Any], actor: User, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Save changed settings and audit each change with its value before and after.

    :raise 400: an unknown setting, a bad value, or a default expiry beyond the maximum.
    """
    parsed = check(changes)
    forget(session)
    current = load(session, env)
    merged = {**current, **parsed}
    if merged["default_expiry_days"] > merged["max_expiry_days"]:
        raise BadInput(
            "The default expiry cannot be later than the maximum expiry "
            f"({merged['default_expiry_days']} > {merged['max_expiry_days']} days)."
        )
    changed = {name: value for name, value in parsed.items() if current[name] != value}
    if not changed:
        return current
    row = session.get(WorkspaceSettingsRow, ROW_ID)
    if row is None:
        row = WorkspaceSettingsRow(id=ROW_ID, values={})
        session.add(row)
    row.values = {**row.values, **changed}
    row.updated_at, row.updated_by_id = utcnow(), actor.id
    audit.track_event(
        session,
        audit.SettingsChanged(
            data={
                "before": {name: current[name] for name in changed},
                "after": changed,
            }
        ),
        actor=actor,
    )
    session.commit()
    forget(session)
    return load(session, env)


def _ask(settings: Mapping[str, Any]) -> str:
    admins = list(settings.get("ADMINS") or [])
    if admins:
        return "ask an admin (" + ", ".join(admins[:3]) + ")"
    if settings.get("ADMIN_GROUP"):
        return f"ask an admin (group {settings['ADMIN_GROUP']})"
    return "ask an admin"


def check_may_create(settings: Mapping[str, Any], groups: Iterable[str], is_admin: bool) -> None:
    """Refuse creating a site while the feature is off, or to members outside the creator groups.

    :raise 503: the feature is switched off (admins too: off means off).
    :raise 403: the workspace lets only some groups create sites.
    """
    if not settings["FEATURE_ENABLED"]:
        raise SwitchedOff(
            "Sitewright is switched off for this workspace, so no new sites can be created. "
            f"Existing sites are kept. To know when it is back, {_ask(settings)}."
        )
    creators = list(settings["CREATOR_GROUPS"])
    if creators and not is_admin and not set(creators) & set(groups):
        raise Forbidden(
            "Only members of " + ", ".join(creators) + " can create sites in this workspace. "
            f"To join, {_ask(settings)}."
        )


def sites_hidden(settings: Mapping[str, Any]) -> bool:
    """Say whether sites are hidden from members (feature off, with the hiding option)."""
    return not settings["FEATURE_ENABLED"] and bool(settings["HIDE_SITES_WHEN_OFF"])


HIDDEN_MESSAGE = (
    "Sitewright is switched off for this workspace, and its sites are hidden until an admin "
    "switches it on again. Nothing is lost."
)


def last_change(session: Session) -> tuple[dt.datetime, int | None] | None:
    """Return when and by whom the settings last changed, if ever."""
    row = session.get(WorkspaceSettingsRow, ROW_ID)
    return (row.updated_at, row.updated_by_id) if row is not None else None
