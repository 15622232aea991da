"""Sessions, CSRF tokens and the signed-in user of the clerk's web pages.

The session is Flask's signed cookie (``saraban_session``, HttpOnly, SameSite=Lax, and
Secure when ``SECURE_COOKIES`` is on for pages reached over HTTPS), signed with the key in
``<instance>/secret_key``, made once with mode 0600 and never logged. A session idles out
after ``SESSION_MINUTES`` by the node's clock (``ctx.now()``), so tests move time instead of
waiting. It also carries its user's session generation, checked on every page
(:func:`protocol.sessions.is_revoked`): signing out, a new password and deactivation move
the user's on (:mod:`node.staff.accounts`), so the old cookie stops working on the
server's side too, whoever kept a copy of it. Every session carries one CSRF token that
each form sends back as a hidden field; a POST without the right token is refused before
anything is read from the form or done. The hub's console works the same way
(:mod:`hub.console.session`); what both decide without Flask is :mod:`protocol.sessions`.

Beside the CSRF token every form carries an idempotency key issued with the page
(:func:`form_tokens` writes both hidden fields); a form that changes state without one is
refused as well, and :func:`node.web.kit.once` acts on each key once
(:mod:`node.storage.idempotency`). Signing in and out need no key: doing them twice is
doing them once.

:func:`login_required` sends a stranger to the login page; :func:`node.web.kit.requires`
also checks a permission.

Does not: check passwords or lock accounts (:mod:`node.staff.accounts`), or decide what a
user may see (:mod:`node.records.access`).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, flash, g, redirect, request, session, url_for
from markupsafe import Markup

from node.api.kit import ctx, store
from node.context import NodeContext
from node.errors import CannotWrite, NodeError
from node.records.access import Viewer
from node.staff.accounts import end_sessions, get_user, viewer_of
from node.storage.idempotency import check_key
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

SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
NOT_A_PAGE = ("/api/",)
"""Paths that are not the clerk's pages: no session, no CSRF check, JSON errors."""
SESSIONLESS_ENDPOINTS = (None, "static", "web.font")
"""Requests that never touch the session (no route, a static file, the font)."""
FORM_KEY_FIELD = "idempotency_key"
"""The hidden field through which a form sends back the idempotency key of its page."""
KEYLESS_ENDPOINTS = ("web.login_submit", "web.logout")
"""Forms that need no idempotency key: signing in or out twice is signing in or out."""

F = TypeVar("F", bound=Callable[..., Any])


class CsrfRefused(NodeError):
    """A form came back without this session's CSRF token: forged, stale or replayed."""

    status = 400
    code = "csrf_refused"
    message_th = CSRF_REFUSED_TH


def is_page() -> bool:
    """Whether this request is for a page (Thai HTML) rather than the JSON API."""
    path = request.path
    return not any(path == p.rstrip("/") or path.startswith(p) for p in NOT_A_PAGE)


def session_minutes(node: NodeContext) -> float:
    """How long an idle session of ``node``'s pages lasts."""
    # A SESSION_MINUTES of 0 has always meant the default on a node.
    return idle_minutes(node.settings.get("SESSION_MINUTES") or 480)


def configure_sessions(app: Flask, node: NodeContext) -> None:
    """Sign sessions with the instance's key (cookies HttpOnly, SameSite=Lax, Secure when
    ``SECURE_COOKIES`` is on) and load the session before every page."""
    app.config["SECRET_KEY"] = session_secret(node.instance / SECRET_FILE)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = node.settings.get("SECURE_COOKIES") is True
    app.config["SESSION_COOKIE_NAME"] = "saraban_session"
    # The browser forgets the cookie too; the node's own clock decides idle expiry.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=session_minutes(node))
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


class FormKeyMissing(NodeError):
    """A form that changes state came back without the idempotency key of its page."""

    status = 400
    code = "form_key_missing"
    message_th = "แบบฟอร์มนี้ไม่สมบูรณ์หรือเปิดไว้จากรุ่นก่อน กรุณาเปิดหน้านี้ใหม่แล้วลองอีกครั้ง (ยังไม่ได้บันทึกสิ่งใด)"


def new_form_key() -> str:
    """A fresh idempotency key for one form of a page."""
    return secrets.token_urlsafe(18)


def form_tokens() -> Markup:
    """The hidden fields of every form: this session's CSRF token and a fresh idempotency
    key (templates: ``{{ form_tokens() }}``)."""
    return Markup(
        '<input type="hidden" name="{}" value="{}">\n<input type="hidden" name="{}" value="{}">'
    ).format(CSRF_FIELD, csrf_token(), FORM_KEY_FIELD, new_form_key())


def form_key() -> str:
    """The idempotency key this form came back with; :class:`FormKeyMissing` if none."""
    key = request.form.get(FORM_KEY_FIELD, "")
    if not key:
        raise FormKeyMissing(f"{request.path}: a form without {FORM_KEY_FIELD}")
    return check_key(key)


def check_form_key() -> None:
    """Refuse a POST that changes state but carries no idempotency key."""
    if request.method == "POST" and request.endpoint not in KEYLESS_ENDPOINTS:
        form_key()


def load_session() -> None:
    """Before every page (not ``/api``, static files or fonts): check the CSRF token and the
    idempotency key of a form first, so a forged or keyless form changes nothing, not even
    the session; then load the signed-in user."""
    g.user = None
    g.viewer = None
    if not is_page() or request.endpoint in SESSIONLESS_ENDPOINTS:
        return
    check_csrf()
    check_form_key()
    touch_session()


def touch_session() -> None:
    """End an idle or revoked session; otherwise load its user into ``g.user`` and
    ``g.viewer``."""
    username = session.get("user")
    if not username:
        return
    now = ctx().now()
    row = get_user(store(), str(username))
    revoked = row is None or is_revoked(session.get("gen"), row["session_gen"])
    if revoked or has_idled_out(float(session.get("seen") or 0), now, session_minutes(ctx())):
        # Keep the CSRF token, so the login form of the same tab still works.
        session.pop("user", None)
        session.pop("seen", None)
        session.pop("gen", None)
        if not revoked:
            flash(EXPIRED_TH)
        return
    assert row is not None  # a missing user is a revoked session
    session["seen"] = now
    g.user = row
    g.viewer = viewer_of(row)


def start_session(user: Viewer) -> None:
    """Sign ``user`` in: a fresh session (and CSRF token), so nothing carries over."""
    row = get_user(store(), user.user)
    session.clear()
    session.permanent = True
    session["user"] = user.user
    session["gen"] = int(row["session_gen"] or 0) if row is not None else -1
    session["seen"] = ctx().now()
    csrf_token()


def end_session() -> None:
    """Sign out: end every session of the signed-in user on the node, so a copy of the
    cookie no longer works, and forget this one.

    On a disk that cannot be written the sessions cannot be ended there (the disk's
    condition is logged and shown already); this browser is signed out all the same."""
    who = g.get("user")
    if who is not None:
        with contextlib.suppress(CannotWrite):
            end_sessions(ctx(), store(), str(who["username"]))
    session.clear()


def login_required(view: F) -> F:
    """Send anyone not signed in to the login page."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return redirect(url_for("web.login"))
        return view(*args, **kwargs)

    return cast(F, wrapper)
