"""Sessions, CSRF tokens and the signed-in user of the clerk's web pages.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax), signed with the key in
``<instance>/secret_key``, made once with mode 0600 and never logged. A session idles out
after ``SESSION_MINUTES`` by the node's clock (``ctx.now()``), so tests move time instead of
waiting. Every session carries one CSRF token that each form sends back as a hidden field;
a POST without the right token is refused before anything is done.

Does not: check passwords or lock accounts (:mod:`node.staff.accounts`), or decide what a user may
see (:mod:`node.records.access`).
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Flask, flash, g, redirect, request, session, url_for

from node.context import NodeContext
from node.errors import NodeError
from node.records.access import Viewer
from node.staff.accounts import get_user, viewer_of
from node.storage.store import Store

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
CSRF_FIELD = "csrf_token"
EXPIRED_TH = "หมดเวลาการใช้งาน กรุณาเข้าสู่ระบบอีกครั้ง"

F = TypeVar("F", bound=Callable[..., Any])


class CsrfRefused(NodeError):
    """A form came back without this session's CSRF token: forged, stale or replayed."""

    status = 400
    code = "csrf_refused"
    message_th = "แบบฟอร์มไม่ถูกต้องหรือหมดอายุ กรุณาเปิดหน้าใหม่แล้วลองอีกครั้ง (ยังไม่ได้บันทึกสิ่งใด)"


def secret_key(instance: Path) -> str:
    """The node's session-signing key, made on first use (0600, never printed)."""
    path = instance / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip()


def configure_sessions(app: Flask, ctx: NodeContext) -> None:
    """Sign sessions with the instance's key; cookies HttpOnly, SameSite=Lax."""
    app.config["SECRET_KEY"] = secret_key(ctx.instance)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_NAME"] = "saraban_session"
    # The browser forgets the cookie too; the node's own clock decides idle expiry.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=session_minutes(ctx))


def session_minutes(ctx: NodeContext) -> int:
    return max(1, int(ctx.settings.get("SESSION_MINUTES") or 480))


def csrf_token() -> str:
    """This session's CSRF token, made when first asked for."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """Refuse a POST whose form does not carry this session's token."""
    if request.method != "POST":
        return
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD, "")
    if not isinstance(expected, str) or not expected or not given:
        raise CsrfRefused("missing CSRF token")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused("wrong CSRF token")


def start_session(ctx: NodeContext, user: Viewer) -> None:
    """Sign ``user`` in: a fresh session (and CSRF token), so nothing carries over."""
    session.clear()
    session.permanent = True
    session["user"] = user.user
    session["seen"] = ctx.now()
    csrf_token()


def end_session() -> None:
    session.clear()


def touch_session(ctx: NodeContext, store: Store) -> None:
    """Expire an idle session; otherwise load its user into ``g.user`` and ``g.viewer``."""
    g.user = None
    g.viewer = None
    username = session.get("user")
    if not username:
        return
    now = ctx.now()
    seen = float(session.get("seen") or 0)
    row = get_user(store, str(username))
    if row is None or now - seen > session_minutes(ctx) * 60:
        # Keep the CSRF token, so the login form of the same tab still works.
        session.pop("user", None)
        session.pop("seen", None)
        if row is not None:
            flash(EXPIRED_TH)
        return
    session["seen"] = now
    g.user = row
    g.viewer = viewer_of(row)


def login_required(view: F) -> F:
    """Send anyone not signed in to the login page."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return redirect(url_for("web.login"))
        return view(*args, **kwargs)

    return cast(F, wrapper)
