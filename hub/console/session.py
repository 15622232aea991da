"""Sessions, CSRF tokens and the signed-in operator of the hub's console.

The session is Flask's signed cookie (``saraban_hub_session``, HttpOnly, SameSite=Lax, and
Secure when ``SECURE_COOKIES`` is on for a console reached over HTTPS), signed with the key
in ``<instance>/console_secret``, made once with mode 0600 and never logged. A session
idles out after ``SESSION_MINUTES`` by the hub's clock (``app.config["CLOCK"]``), so tests
move time instead of waiting. It also carries its operator's session generation, checked
on every page (:func:`protocol.sessions.is_revoked`): signing out, a new password and
deactivation move the account's on, so the old cookie stops working on the server's side
too, whoever kept a copy of it. Every session carries one CSRF token that each form sends
back as a hidden field; a POST without the right token is refused before anything is read
from the form or done. A node's pages work the same way (:mod:`node.web.session`); what
both decide without Flask is :mod:`protocol.sessions`.

:func:`login_required` lets any operator see a page; :func:`operator_required` lets only the
``operator`` role act (a ``viewer`` watches).

Does not: check passwords or lock accounts (:mod:`hub.console.operators`), or render pages
(:mod:`hub.console.kit`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Flask, current_app, flash, g, redirect, request, session, url_for

from hub.console.operators import active_operator, end_sessions
from hub.context import clock, get_store
from hub.errors import ConsoleError
from protocol.sessions import (
    CSRF_FIELD,
    CSRF_REFUSED_TH,
    EXPIRED_TH,
    csrf_refusal,
    has_idled_out,
    idle_minutes,
    is_revoked,
    new_csrf_token,
    session_secret,
)
from protocol.settings import switched_on

SECRET_FILE = "console_secret"  # noqa: S105 - a file name, not a secret
NOT_A_PAGE = ("/api/", "/metrics", "/static/", "/fonts/")
"""Paths that are not console pages: no session, no CSRF check, JSON errors."""
SESSIONLESS_ENDPOINTS = (None, "static")
"""Requests that never touch the session (no route, or a static file)."""

F = TypeVar("F", bound=Callable[..., Any])


class CsrfRefused(ConsoleError):
    """A form came back without this session's CSRF token: forged, stale or replayed."""

    def __init__(self, reason: str):
        super().__init__(reason, CSRF_REFUSED_TH, code="csrf_refused")


def is_page() -> bool:
    """Whether this request is for a console page (Thai HTML) rather than the API."""
    path = request.path
    return not any(path == p.rstrip("/") or path.startswith(p) for p in NOT_A_PAGE)


def session_minutes() -> float:
    """How long an idle console session lasts."""
    return idle_minutes(current_app.config["SESSION_MINUTES"])


def configure_sessions(app: Flask) -> None:
    """Sign sessions with the instance's key (cookies HttpOnly, SameSite=Lax, Secure when
    ``SECURE_COOKIES`` says so) and load the session before every page."""
    app.config["SECRET_KEY"] = session_secret(Path(app.instance_path) / SECRET_FILE)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    secure = app.config.get("SECURE_COOKIES")
    app.config["SESSION_COOKIE_SECURE"] = secure is True or switched_on(str(secure))
    app.config["SESSION_COOKIE_NAME"] = "saraban_hub_session"
    # The browser forgets the cookie too; the hub's own clock decides idle expiry.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        minutes=float(app.config["SESSION_MINUTES"])
    )
    app.before_request(load_session)


def csrf_token() -> str:
    """This session's CSRF token, made when first asked for."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = new_csrf_token()
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """Refuse a POST whose form does not carry this session's token."""
    if request.method != "POST":
        return
    refusal = csrf_refusal(request.form.get(CSRF_FIELD, ""), session.get("csrf"))
    if refusal is not None:
        raise CsrfRefused(refusal)


def load_session() -> None:
    """Before every console page: check the CSRF token of a form first, so a forged form
    changes nothing, not even the session; then load the signed-in operator."""
    g.operator = None
    if not is_page() or request.endpoint in SESSIONLESS_ENDPOINTS:
        return
    check_csrf()
    touch_session()


def touch_session() -> None:
    """End an idle or revoked session; otherwise load its operator into ``g.operator``."""
    username = session.get("operator")
    if not username:
        return
    now = clock()
    row = active_operator(get_store(), str(username))
    revoked = row is None or is_revoked(session.get("gen"), row["session_gen"])
    if revoked or has_idled_out(float(session.get("seen") or 0), now, session_minutes()):
        # Keep the CSRF token, so the login form of the same tab still works.
        session.pop("operator", None)
        session.pop("seen", None)
        session.pop("gen", None)
        if not revoked:
            flash(EXPIRED_TH)
        return
    session["seen"] = now
    g.operator = row


def start_session(operator: dict[str, Any]) -> None:
    """Sign ``operator`` in: a fresh session (and CSRF token), so nothing carries over."""
    session.clear()
    session.permanent = True
    session["operator"] = operator["username"]
    session["gen"] = int(operator["session_gen"] or 0)
    session["seen"] = clock()
    csrf_token()


def end_session() -> None:
    """Sign out: end every session of the signed-in operator at the hub, so a copy of the
    cookie no longer works, and forget this one."""
    who = g.get("operator")
    if who is not None:
        end_sessions(get_store(), str(who["username"]))
    session.clear()


def login_required(view: F) -> F:
    """Send anyone not signed in to the login page, and back here after it."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("operator") is None:
            return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def operator_required(view: F) -> F:
    """Only the ``operator`` role may act; a viewer is told so in Thai (403)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        who = g.get("operator")
        if who is None:
            # No way back after login: this is an action, not a page to return to.
            return redirect(url_for("console.login"))
        if who["role"] != "operator":
            raise ConsoleError(
                f"{who['username']} is a viewer",
                "บัญชีนี้ดูได้อย่างเดียว การดำเนินการต้องใช้บัญชีเจ้าหน้าที่ดูแลระบบ",
                code="forbidden",
                status=403,
            )
        return view(*args, **kwargs)

    return cast(F, wrapper)


def may_act() -> bool:
    """Whether the signed-in operator may use action forms."""
    who = g.get("operator")
    return who is not None and who["role"] == "operator"


def operator_name() -> str:
    """User name of the signed-in operator."""
    who = g.get("operator")
    return "" if who is None else str(who["username"])
