"""The access policy, table-driven: every role x action x site state."""

from __future__ import annotations

import datetime as dt

import pytest

from app.access import Action, Principal, can
from app.models import Site

TODAY = dt.date(2026, 11, 24)
OWNER, MEMBER, ADMIN = 1, 2, 3

ROLES = {
    "owner": Principal(id=OWNER, email="o@example.com"),
    "admin": Principal(id=ADMIN, email="a@example.com", is_admin=True),
    "member": Principal(id=MEMBER, email="m@example.com"),
    "signed_out": Principal(id=None),
    "deactivated_owner": Principal(id=OWNER, email="o@example.com", is_active=False),
}


def site(state: str, audience: str) -> Site:
    published = state in ("published", "expired")
    return Site(
        id=10,
        owner_id=OWNER,
        audience=audience,
        status="published" if published else "draft",
        published_version=1 if published else None,
        latest_version=1,
        expires_on=TODAY - dt.timedelta(days=1)
        if state == "expired"
        else TODAY + dt.timedelta(days=30),
    )


# (role, state, audience) -> the actions allowed; everything else is refused.
ALL = set(Action)
EXPECTED: dict[tuple[str, str, str], set[Action]] = {}
for state in ("draft", "published", "expired"):
    for audience in ("owner", "workspace"):
        EXPECTED[("owner", state, audience)] = ALL
        EXPECTED[("admin", state, audience)] = ALL
        EXPECTED[("signed_out", state, audience)] = set()
        EXPECTED[("deactivated_owner", state, audience)] = set()
        EXPECTED[("member", state, audience)] = (
            {Action.VIEW} if (state, audience) == ("published", "workspace") else set()
        )


@pytest.mark.parametrize("role, state, audience", sorted(EXPECTED))
@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
def test_policy(role: str, state: str, audience: str, action: Action) -> None:
    allowed = action in EXPECTED[(role, state, audience)]
    assert can(ROLES[role], action, site(state, audience), today=TODAY) is allowed
