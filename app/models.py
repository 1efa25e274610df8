"""The stored things: users, groups, sites, versions, sources, jobs, usage, tokens, audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# What a site's data categories (and a template's usual ones) may hold: PRODUCT.md §3.
DATA_CATEGORIES = ("customer", "finance", "legal", "security", "employee")


def utcnow() -> dt.datetime:
    """Return the current time in UTC, without tzinfo (stored as UTC everywhere)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _where(condition: str) -> dict[str, Any]:
    """Make an index partial on SQLite and PostgreSQL alike."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


user_groups = Table(
    "user_groups",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    """A workspace member, keyed by identity provider issuer and subject."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320), index=True)
    name: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Owner departure: set when an admin deactivates the user, or the identity provider no
    # longer vouches for them; their sites wait in the admin's departures list.
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    deactivation_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # True when the identity provider stopped admitting them (not an admin): admitted again, they
    # are reactivated at sign-in.
    deactivated_by_idp: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )

    groups: Mapped[list[Group]] = relationship(secondary=user_groups, lazy="selectin")

    @property
    def group_names(self) -> list[str]:
        """Return the names of the user's groups."""
        return sorted(group.name for group in self.groups)


class Group(Base):
    """A group from the identity provider's groups claim."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class UserSession(Base):
    """A browser sign-in; deleting the row signs that browser out at once."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    method: Mapped[str] = mapped_column(String(20))  # "oidc" or "dev"

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(Base):
    """A personal API token; only its sha256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(lazy="joined")


class Site(Base):
    """A generated internal web app with an owner, an expiry and a life cycle."""

    __tablename__ = "sites"
    __table_args__ = (
        # Deleted sites are few: only the purge and "deleted" lists look them up.
        Index("ix_sites_deleted_at", "deleted_at", **_where("deleted_at IS NOT NULL")),
        # The admin inventory pages through live sites sorted by one of these (then by id).
        *(
            Index(f"ix_sites_live_{column}", column, "id", **_where("deleted_at IS NULL"))
            for column in (
                "name",
                "department",
                "template",
                "expires_on",
                "created_at",
                "last_viewed_at",
                "view_count",
                "latest_version",
                "tokens_spent",
            )
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    department: Mapped[str] = mapped_column(String(100), default="")
    template: Mapped[str] = mapped_column(String(50), index=True)
    # How Sitewright chose the template when the builder left it open (None: the builder chose):
    # {"by": "rules" or "model", "title", "reason", "model", "ask_model": the job asks a model}.
    template_choice: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text, default="")
    expires_on: Mapped[dt.date] = mapped_column(Date, index=True)
    data_source_note: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[list[Any]] = mapped_column(JSON, default=list)
    audience: Mapped[str] = mapped_column(String(20), default="owner")
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    published_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    # Review gate: "not_required", "pending" (not yet approved), "approved" or "rejected".
    review_state: Mapped[str] = mapped_column(String(20), default="not_required")
    review_note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Official: one version confirmed by a reviewer for a validity window.
    official_version: Mapped[int | None] = mapped_column(Integer)
    official_since: Mapped[dt.date | None] = mapped_column(Date)
    official_until: Mapped[dt.date | None] = mapped_column(Date)
    official_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unpublished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    disabled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Counters kept on the row so the admin inventory sorts and filters without aggregating.
    view_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_viewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    tokens_spent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # What the sweep did, so running it again does nothing new.
    expired_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    idle_warned_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    transferred_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    transferred_from_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    owner: Mapped[User] = relationship(lazy="joined", foreign_keys=[owner_id])
    versions: Mapped[list[SiteVersion]] = relationship(
        back_populates="site", order_by="SiteVersion.number", lazy="select"
    )
    grants: Mapped[list[Grant]] = relationship(
        back_populates="site", lazy="selectin", cascade="all, delete-orphan"
    )


class Grant(Base):
    """Access to one site for a person (by e-mail) or an identity-provider group."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("site_id", "email", "group_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), default="")  # a person, or "" for a group
    group_name: Mapped[str] = mapped_column(String(200), default="")  # a group, or ""
    role: Mapped[str] = mapped_column(String(10), default="viewer")  # "viewer" or "editor"
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    site: Mapped[Site] = relationship(back_populates="grants")


class Annotation(Base):
    """A comment anchored to a content path (JSON Pointer) and the text it quotes."""

    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)  # the version it was written on
    path: Mapped[str] = mapped_column(String(500))  # where it is anchored now
    quote: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # "open", "resolved" or "orphaned" (the element is gone from the latest version).
    status: Mapped[str] = mapped_column(String(20), default="open")
    anchored_version: Mapped[int] = mapped_column(Integer)
    resolved_version: Mapped[int | None] = mapped_column(Integer)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    author: Mapped[User] = relationship(lazy="joined", foreign_keys=[author_id])


version_sources = Table(
    "version_sources",
    Base.metadata,
    Column("version_id", ForeignKey("site_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
)


class Source(Base):
    """An uploaded file as attached to a site; the bytes are stored once by sha256."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))  # "table" or "text"
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    uploader: Mapped[User] = relationship(lazy="joined")


class SiteVersion(Base):
    """One immutable, numbered version of a site's content, with its provenance."""

    __tablename__ = "site_versions"
    __table_args__ = (UniqueConstraint("site_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    template: Mapped[str] = mapped_column(String(50))
    template_version: Mapped[str] = mapped_column(String(20))
    # prompt, revision, annotations, edit, restore or regenerate
    instruction_kind: Mapped[str] = mapped_column(String(20))
    instruction: Mapped[str] = mapped_column(Text, default="")
    parent_number: Mapped[int | None] = mapped_column(Integer)
    annotation_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    changed_paths: Mapped[list[Any]] = mapped_column(JSON, default=list)
    model: Mapped[str] = mapped_column(String(100))
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    site: Mapped[Site] = relationship(back_populates="versions")
    author: Mapped[User] = relationship(lazy="joined")
    sources: Mapped[list[Source]] = relationship(secondary=version_sources, lazy="selectin")


class Job(Base):
    """A generation request, persisted before the model is called; the source of truth."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="generate")  # generate/revise/regenerate
    status: Mapped[str] = mapped_column(String(20), default="queued")
    step: Mapped[str] = mapped_column(String(30), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    prompt: Mapped[str] = mapped_column(Text, default="")
    source_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    base_version: Mapped[int | None] = mapped_column(Integer)  # revisions: the version revised
    annotation_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # The lease: the process running the job touches heartbeat_at every few seconds; a running
    # job whose heartbeat is older than JOB_LEASE_S lost its worker (see app/services/job_lease).
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    restarts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    site: Mapped[Site] = relationship(lazy="joined")


class UsageRecord(Base):
    """Tokens spent by one model call (generation, repair or revision)."""

    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="SET NULL"), index=True
    )
    job_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(100))
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # The site's department when the tokens were spent, for usage by department.
    department: Mapped[str] = mapped_column(String(100), default="", server_default="")


class WorkspaceSettingsRow(Base):
    """The workspace settings admins change; one row, a JSON object of the changed values.

    Values not stored here come from the environment (see app/services/workspace.py).
    """

    __tablename__ = "workspace_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Notice(Base):
    """Something a member is told on "My sites": a transfer, an idle warning, a disabled site."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditHead(Base):
    """The end of the audit chain, moved in the same transaction as each append, so deleting
    the newest events (which no later event would point to) is found too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(Integer)


class AuditEvent(Base):
    """One state change; append-only, each row chained to the previous by hash."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(50), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_email: Mapped[str] = mapped_column(String(320), default="")
    site_id: Mapped[int | None] = mapped_column(Integer, index=True)
    site_name: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    request_id: Mapped[str] = mapped_column(String(40), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
