"""The access policy, table-driven: every role x action x site state."""

from __future__ import annotations

import datetime as dt

import pytest

from app.access import Action, Principal, State, can, sees_gone_page, state_of
from app.models import Grant, Site

TODAY = dt.date(2026, 11, 24)
OWNER, EDITOR, PERSON, GROUPIE, MEMBER, REVIEWER, ADMIN = range(1, 8)

ROLES = {
    "owner": Principal(id=OWNER, email="owner@example.com"),
    "editor": Principal(id=EDITOR, email="Editor@Example.com"),  # e-mail matched case-blind
    "viewer_person": Principal(id=PERSON, email="person@example.com"),
    "viewer_group": Principal(id=GROUPIE, email="g@example.com", groups=frozenset({"sales"})),
    "workspace_member": Principal(id=MEMBER, email="member@example.com"),
    "reviewer": Principal(id=REVIEWER, email="rev@example.com", is_reviewer=True),
    "admin": Principal(
        id=ADMIN, email="admin@example.com", is_admin=True, is_reviewer=True, sees_all_sites=True
    ),
    "signed_out": Principal(id=None),
    "deactivated_owner": Principal(id=OWNER, email="owner@example.com", is_active=False),
}

STATES = ("draft", "published", "unpublished", "expired", "disabled", "deleted", "pending_review")


def make_site(state: str) -> Site:
    """A site in ``state``, shared with a person, a group, an editor and the workspace."""
    site = Site(
        id=10,
        owner_id=OWNER,
        audience="workspace",
        status="published",
        published_version=1,
        latest_version=2,
        review_state="not_required",
        expires_on=TODAY + dt.timedelta(days=30),
        deleted_at=None,
        disabled_at=None,
    )
    site.grants = [
        Grant(email="editor@example.com", group_name="", role="editor"),
        Grant(email="person@example.com", group_name="", role="viewer"),
        Grant(email="", group_name="sales", role="viewer"),
    ]
    moment = dt.datetime(2026, 11, 1)
    match state:
        case "draft":
            site.status, site.published_version = "draft", None
        case "unpublished":
            site.status = "unpublished"
        case "expired":
            site.expires_on = TODAY - dt.timedelta(days=1)
        case "disabled":
            site.disabled_at = moment
        case "deleted":
            site.deleted_at = moment
        case "pending_review":
            site.review_state = "pending"
    return site


A = Action
ALL_OWNER = {A.VIEW, A.COMMENT, A.VIEW_DRAFTS, A.EDIT, A.PUBLISH, A.SHARE, A.MANAGE, A.EXPORT}
EDITOR_WORK = {A.VIEW_DRAFTS, A.EDIT, A.PUBLISH, A.EXPORT}
READ = {A.VIEW, A.COMMENT}
REVIEW = {A.VIEW_DRAFTS, A.REVIEW}
ADMIN_READ = {A.VIEW, A.COMMENT, A.VIEW_DRAFTS, A.EXPORT}
NOTHING: set[Action] = set()

# Written out by hand, one row per role, one column per state: what each role may do.
EXPECTED: dict[str, dict[str, set[Action]]] = {
    "owner": {
        "draft": ALL_OWNER,
        "published": ALL_OWNER,
        "unpublished": ALL_OWNER,
        "pending_review": ALL_OWNER,
        "expired": {A.VIEW, A.COMMENT, A.VIEW_DRAFTS, A.EXPORT, A.MANAGE},
        "disabled": {A.VIEW_DRAFTS, A.EXPORT},
        "deleted": {A.VIEW_DRAFTS, A.RESTORE},
    },
    "editor": {
        "draft": EDITOR_WORK,
        "published": EDITOR_WORK | READ,
        "unpublished": EDITOR_WORK,
        "pending_review": NOTHING,
        "expired": NOTHING,
        "disabled": NOTHING,
        "deleted": NOTHING,
    },
    "viewer_person": {s: READ if s == "published" else NOTHING for s in STATES},
    "viewer_group": {s: READ if s == "published" else NOTHING for s in STATES},
    "workspace_member": {s: READ if s == "published" else NOTHING for s in STATES},
    "reviewer": {
        "draft": REVIEW,
        "published": REVIEW | READ,
        "unpublished": REVIEW,
        "pending_review": REVIEW,
        "expired": NOTHING,
        "disabled": NOTHING,
        "deleted": NOTHING,
    },
    "admin": {
        "draft": ADMIN_READ | {A.REVIEW},
        "published": ADMIN_READ | {A.REVIEW},
        "unpublished": ADMIN_READ | {A.REVIEW},
        "pending_review": ADMIN_READ | {A.REVIEW},
        "expired": ADMIN_READ,
        "disabled": ADMIN_READ,
        "deleted": {A.VIEW_DRAFTS, A.EXPORT, A.RESTORE},
    },
    "signed_out": {s: NOTHING for s in STATES},
    "deactivated_owner": {s: NOTHING for s in STATES},
}

CASES = [(role, state, action) for role in ROLES for state in STATES for action in Action]


@pytest.mark.parametrize(
    "role, state, action", CASES, ids=[f"{r}-{s}-{a.value}" for r, s, a in CASES]
)
def test_policy(role: str, state: str, action: Action) -> None:
    allowed = action in EXPECTED[role][state]
    assert can(ROLES[role], action, make_site(state), today=TODAY) is allowed


@pytest.mark.parametrize("state", STATES)
def test_states_are_told_apart(state: str) -> None:
    assert state_of(make_site(state), TODAY) is State(state)


def test_owner_only_audience_ignores_grants() -> None:
    site = make_site("published")
    site.audience = "owner"
    for role in ("editor", "viewer_person", "viewer_group", "workspace_member"):
        assert not can(ROLES[role], A.VIEW, site, today=TODAY), role


def test_people_audience_does_not_admit_the_whole_workspace() -> None:
    site = make_site("published")
    site.audience = "people"
    assert can(ROLES["viewer_person"], A.VIEW, site, today=TODAY)
    assert not can(ROLES["workspace_member"], A.VIEW, site, today=TODAY)


@pytest.mark.parametrize(
    "state, gone",
    [
        ("unpublished", True),
        ("expired", True),
        ("disabled", True),
        ("deleted", False),
        ("draft", False),
        ("pending_review", False),
    ],
)
def test_viewers_learn_a_site_is_gone_only_when_it_was_shared_with_them(
    state: str, gone: bool
) -> None:
    site = make_site(state)
    assert sees_gone_page(ROLES["viewer_person"], site, TODAY) is gone
    site.audience = "people"
    assert sees_gone_page(ROLES["workspace_member"], site, TODAY) is False
    assert sees_gone_page(ROLES["signed_out"], site, TODAY) is False
