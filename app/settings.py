"""Every setting Sitewright reads, in one place: name, default and help line.

Settings come from environment variables prefixed ``SITEWRIGHT_``. The README's settings table is
checked against :data:`SETTINGS` by a test, so a setting cannot exist without documentation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PREFIX = "SITEWRIGHT_"


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected 1/0, true/false, yes/no or on/off, got {raw!r}")


def _list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def _lower_list(raw: str) -> list[str]:
    return [item.lower() for item in _list(raw)]


@dataclass(frozen=True)
class Setting:
    """One environment setting: its name without prefix, default, parser and help line."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False


_WORKSPACE = " Initial value of the workspace setting; admins change it under Admin → Settings."

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL. Default: SQLite file `sitewright.db` inside DATA_DIR. "
        "PostgreSQL: `postgresql+psycopg://user:pass@host/db`.",
    ),
    Setting(
        "DATA_DIR",
        "generated_sites",
        "Folder for uploaded files (stored once by content hash) and rendered pages.",
    ),
    Setting(
        "SECRET_KEY",
        None,
        "Key that signs session cookies and CSRF tokens. Required unless DEV_LOGIN is on "
        "(then a random per-process key is used).",
        secret=True,
    ),
    Setting(
        "DEV_LOGIN",
        False,
        "`1` enables the password-less development sign-in; it only answers on loopback "
        "addresses and puts a banner on every page.",
        _bool,
    ),
    Setting("ADMINS", [], "Comma-separated e-mail addresses of admins.", _lower_list),
    Setting("ADMIN_GROUP", "", "Identity-provider group whose members are admins."),
    Setting("OIDC_ISSUER", "", "OpenID Connect issuer URL of the company's identity provider."),
    Setting("OIDC_CLIENT_ID", "", "OpenID Connect client id."),
    Setting("OIDC_CLIENT_SECRET", "", "OpenID Connect client secret.", secret=True),
    Setting("OIDC_GROUPS_CLAIM", "groups", "ID-token/userinfo claim that lists the user's groups."),
    Setting(
        "ALLOWED_EMAIL_DOMAINS",
        [],
        "Comma-separated e-mail domains whose users are workspace members "
        "(empty: any domain the identity provider vouches for).",
        _lower_list,
    ),
    Setting("REQUIRED_GROUP", "", "If set, only members of this identity-provider group get in."),
    Setting(
        "LLM_BASE_URL",
        "",
        "Base URL of an OpenAI-compatible API (e.g. `http://127.0.0.1:8080/v1`). "
        "Empty with no API key: the offline drafter.",
    ),
    Setting("LLM_MODEL", "gpt-4o-mini", "Model name sent to the LLM endpoint."),
    Setting(
        "LLM_API_KEY",
        "",
        "API key for the LLM endpoint; falls back to `OPENAI_API_KEY`.",
        secret=True,
    ),
    Setting("LLM_TIMEOUT_S", 60.0, "Seconds to wait for one LLM answer before giving up.", float),
    Setting(
        "LLM_MAX_RETRIES",
        2,
        "Retries of a timed-out, rate-limited (429) or failed (5xx) LLM call.",
        int,
    ),
    Setting("MAX_UPLOAD_MB", 25, "Largest accepted request (all files of one upload), in MB.", int),
    Setting("MAX_FILE_MB", 20, "Largest accepted single file, in MB.", int),
    Setting("MAX_FILES", 10, "Most files accepted with one site or revision.", int),
    Setting(
        "DIGEST_TOKEN_BUDGET",
        6000,
        "Approximate tokens of file digest sent to the model for one generation.",
        int,
    ),
    Setting(
        "REVIEWER_GROUP",
        "",
        "Identity-provider group whose members review sites (admins too, while they can open "
        "every site)." + _WORKSPACE,
    ),
    Setting(
        "REVIEW_CATEGORIES",
        ["customer", "finance", "legal", "security", "employee"],
        "Comma-separated data categories that need a reviewer's approval before a site "
        "is shared beyond its owner." + _WORKSPACE,
        _lower_list,
    ),
    Setting(
        "EXPIRY_WARNING_DAYS",
        14,
        "Days before expiry when owners see a warning banner." + _WORKSPACE,
        int,
    ),
    Setting(
        "RETENTION_DAYS",
        30,
        "Days a deleted site can be restored before it is purged." + _WORKSPACE,
        int,
    ),
    Setting(
        "DEFAULT_EXPIRY_DAYS",
        90,
        "Expiry date prefilled for a new site, in days." + _WORKSPACE,
        int,
    ),
    Setting(
        "MAX_EXPIRY_DAYS",
        365,
        "Latest expiry a site may have, in days from today." + _WORKSPACE,
        int,
    ),
    Setting(
        "STORAGE_URL",
        "",
        "Where uploads and rendered pages live: empty for files under DATA_DIR, or "
        "`s3://bucket/prefix` for any S3-compatible store (credentials from the usual "
        "`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` variables).",
    ),
    Setting(
        "S3_ENDPOINT_URL",
        "",
        "Endpoint of the S3-compatible store (e.g. `http://minio:9000`); empty for AWS S3.",
    ),
    Setting("S3_REGION", "us-east-1", "Region name sent to the S3-compatible store."),
    Setting(
        "REDIS_URL",
        "",
        "Redis URL of the job queue (e.g. `redis://redis:6379/0`). Empty: jobs run on a thread "
        "pool inside the web process. Set: web processes only queue jobs and "
        "`sitewright worker` processes run them.",
    ),
    Setting("JOB_WORKERS", 2, "Threads that run generation jobs in the web process.", int),
    Setting(
        "JOB_LEASE_S",
        60,
        "Seconds a running job may go without a heartbeat before it counts as abandoned "
        "(its worker died) and is queued again or failed.",
        int,
    ),
    Setting(
        "JOB_MAX_ATTEMPTS",
        2,
        "Times a job is started before an abandoned job is failed instead of queued again.",
        int,
    ),
    Setting(
        "LOG_FORMAT",
        "text",
        "`text` for readable log lines, `json` for one JSON object per line (with request id).",
    ),
    Setting(
        "METRICS_TOKEN",
        "",
        "Bearer token that opens `/metrics` to a Prometheus scraper; empty: `/metrics` answers "
        "loopback addresses only.",
        secret=True,
    ),
    Setting(
        "SWEEP_MINUTES",
        10,
        "Minutes between sweeps (expire, warn and disable idle, purge deleted) inside "
        "`sitewright run`; 0 turns the timer off (run `sitewright sweep` from cron instead).",
        int,
    ),
    Setting("SESSION_HOURS", 12, "How long a sign-in lasts, in hours.", int),
    Setting(
        "SECURE_COOKIES", False, "`1` marks cookies Secure (set it when serving over HTTPS).", _bool
    ),
    Setting(
        "TRUSTED_HOSTS", [], "Comma-separated host names the server answers to (empty: any).", _list
    ),
    Setting("DEMO", False, "`1` loads the demo workspace at start-up (idempotent).", _bool),
    Setting(
        "TEMPLATES_DIR",
        "",
        "Folder of vetted site templates (default: the repository's `site_templates/`).",
    ),
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def load_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read every setting from the environment, parsed and with defaults applied."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = env.get(PREFIX + setting.name)
        if raw is None or raw == "":
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise SettingsError(f"{PREFIX}{setting.name}: {exc}") from exc
    if not values["LLM_API_KEY"]:
        values["LLM_API_KEY"] = env.get("OPENAI_API_KEY", "")
    return values


def resolve_paths(values: dict[str, Any]) -> dict[str, Any]:
    """Turn relative folders into absolute ones and derive the default database URL."""
    data_dir = Path(values["DATA_DIR"])
    if not data_dir.is_absolute():
        data_dir = (Path.cwd() / data_dir).resolve()
    values["DATA_DIR"] = str(data_dir)
    templates_dir = values["TEMPLATES_DIR"] or str(REPO_ROOT / "site_templates")
    values["TEMPLATES_DIR"] = str(Path(templates_dir).resolve())
    if not values["DATABASE_URL"]:
        values["DATABASE_URL"] = f"sqlite:///{data_dir / 'sitewright.db'}"
    return values
