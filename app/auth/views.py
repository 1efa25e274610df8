"""Sign-in pages: the identity provider's redirect and callback, dev sign-in, sign-out."""

from __future__ import annotations

import logging
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from joserfc.errors import JoseError
from sqlalchemy import select
from werkzeug.wrappers import Response

from app import audit
from app.auth import dev_login_available, oidc, safe_next
from app.auth.identity import (
    DEV_ISSUER,
    MembershipRefused,
    check_membership,
    upsert_user,
)
from app.auth.sessions import end_session, start_session
from app.db import get_db, get_session
from app.models import User
from app.services.admin_sites import deactivate, reactivate

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__, url_prefix="/auth")


def _sign_in(
    *,
    issuer: str,
    subject: str,
    email: str,
    name: str,
    groups: list[str] | None,
    method: str,
    next_url: str,
) -> Response:
    db = get_session()
    user = upsert_user(db, issuer=issuer, subject=subject, email=email, name=name, groups=groups)
    if not user.is_active and user.deactivated_by_idp:
        reactivate(db, user, None)  # the identity provider admits them again
    if not user.is_active:
        db.commit()
        return _refused("Your account has been deactivated; ask an admin.")
    db.flush()
    token = start_session(db, user, method, current_app.config["SESSION_HOURS"])
    audit.track_event(db, audit.SignedIn(data={"method": method}), actor=user)
    db.commit()
    session.clear()
    session["sid"] = token
    session.permanent = True
    return redirect(safe_next(next_url))


def _record_refusal(
    issuer: str, subject: str, email: str, exc: MembershipRefused, *, definite: bool
) -> None:
    """Audit a refused sign-in. A member the identity provider definitely no longer admits
    (outside the allowed domains, or its groups lack the required one) is deactivated, so
    admins see their sites; a missing claim (a provider fault) deactivates nobody."""
    db = get_session()
    audit.track_event(
        db, audit.SignInRefused(data={"email": email, "reason": str(exc)}), actor=None
    )
    known = db.scalars(select(User).where(User.issuer == issuer, User.subject == subject)).first()
    if definite and known is not None and known.is_active:
        deactivate(db, known, None, f"The identity provider no longer admits them: {exc}")
    db.commit()


def _use_write_session() -> None:
    """Make this GET request's database session a write transaction.

    The callback reads and then writes (user, session, audit chain). In a deferred SQLite
    transaction that fails at once with "database is locked" if another writer committed in
    between, so take the write lock before the first read (see app/db.py).
    """
    previous = g.pop("db_session", None)
    if previous is not None:
        previous.close()
    g.db_session = get_db().session(write=True)


def _refused(message: str) -> Response:
    return Response(render_template("auth/refused.html", message=message), status=403)


@bp.get("/login")
def login() -> str:
    """Show the sign-in choices."""
    return render_template(
        "auth/login.html",
        next_url=safe_next(request.args.get("next")),
        oidc_enabled=oidc.enabled(),
        dev_enabled=dev_login_available(),
    )


@bp.get("/oidc")
def oidc_start() -> Any:
    """Send the browser to the identity provider (with state, nonce and PKCE)."""
    try:
        idp = oidc.client()
    except oidc.IdentityProviderError as exc:
        return Response(render_template("auth/refused.html", message=str(exc)), status=503)
    session["next_url"] = safe_next(request.args.get("next"))
    return idp.authorize_redirect(url_for("auth.callback", _external=True))


@bp.get("/callback")
def callback() -> Response:
    """Finish the code flow, check membership, and start a server-side session."""
    _use_write_session()
    try:
        idp = oidc.client()
        token = idp.authorize_access_token()
    except oidc.IdentityProviderError as exc:
        return Response(render_template("auth/refused.html", message=str(exc)), status=503)
    except requests.RequestException as exc:
        log.warning("identity provider token endpoint unavailable: %s", type(exc).__name__)
        return Response(render_template("auth/refused.html", message=oidc.UNREACHABLE), status=503)
    except (OAuthError, JoseError) as exc:  # JoseError: the ID token failed a check (nonce, iss...)
        log.info("sign-in failed: %s", exc.error)
        return _refused(
            "Sign-in did not complete (the request was invalid or expired). "
            "Go back to the sign-in page and try again."
        )
    claims = dict(token.get("userinfo") or {})
    claim_name = current_app.config["OIDC_GROUPS_CLAIM"]
    if claim_name not in claims or "email" not in claims:
        try:
            claims.update({k: v for k, v in idp.userinfo(token=token).items() if k not in claims})
        except Exception:  # noqa: BLE001 - userinfo is optional; the ID token may suffice
            log.info("userinfo endpoint unavailable; using ID token claims only")
    groups_raw = claims.get(claim_name) or []
    groups = [str(g) for g in groups_raw] if isinstance(groups_raw, list) else [str(groups_raw)]
    email = str(claims.get("email") or "")
    if claims.get("email_verified") is False:
        return _refused("Your identity provider has not verified your e-mail address.")
    try:
        check_membership(email, groups, current_app.config)
    except MembershipRefused as exc:
        # Groups missing from the claims may be a provider fault, not a departure.
        definite = exc.rule == "domain" or (exc.rule == "group" and claim_name in claims)
        issuer, subject = str(claims.get("iss") or ""), str(claims.get("sub") or "")
        _record_refusal(issuer, subject, email, exc, definite=definite)
        return _refused(str(exc))
    return _sign_in(
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        email=email,
        name=str(claims.get("name") or email),
        groups=groups,
        method="oidc",
        next_url=session.pop("next_url", "/"),
    )


@bp.route("/dev", methods=["GET", "POST"])
def dev_login() -> Any:
    """Password-less development sign-in: only when enabled, only on loopback."""
    if not dev_login_available():
        abort(404)
    if request.method == "GET":
        return render_template("auth/dev_login.html", next_url=safe_next(request.args.get("next")))
    email = request.form.get("email", "").strip().lower()
    name = request.form.get("name", "").strip() or email.split("@")[0]
    groups = [g.strip() for g in request.form.get("groups", "").split(",") if g.strip()]
    try:
        check_membership(email, groups, current_app.config)
    except MembershipRefused as exc:
        _record_refusal(DEV_ISSUER, email, email, exc, definite=exc.rule != "email")
        flash(str(exc), "error")
        return render_template(
            "auth/dev_login.html", next_url=request.form.get("next", "/"), email=email, name=name
        ), 400
    return _sign_in(
        issuer=DEV_ISSUER,
        subject=email,
        email=email,
        name=name,
        groups=groups,
        method="dev",
        next_url=request.form.get("next", "/"),
    )


@bp.post("/logout")
def logout() -> Response:
    """Sign out: the server-side session is deleted, so the old cookie stops working."""
    db = get_session()
    end_session(db, session.get("sid"))
    db.commit()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
