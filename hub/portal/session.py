"""The portal's sessions: a random token in a cookie, the session itself a row at the hub.

The cookie ``saraban_portal`` holds only a random token (256 bits); the hub keeps its
SHA-256 in ``portal_sessions`` (:mod:`hub.store.portal_sessions`) with the account, the
account version and a digest of the credentials the session began with, the CSRF token of
its forms, and when it began and was last seen. The cookie is ``Secure``, ``HttpOnly`` and
``SameSite=Strict`` and carries no expiry: the hub's clock (``CLOCK``) ends a session idle
longer than ``PORTAL_SESSION_MINUTES``. Chromium keeps a ``Secure`` cookie on
``http://127.0.0.1`` (a trustworthy origin), so tests need no setting to turn it off.

On every page (:func:`load_session`) the account is read again from what its office
published: a disabled or vanished account, or one whose password hash or TOTP secret has
changed since the session began, ends the session there and then (a new version that
changed neither keeps it). A session that has only passed the password (stage ``code``)
lasts :data:`PENDING_SECONDS` and opens nothing but the code form.

Every POST carries the session's CSRF token; the sign-in form, sent before any session
exists, carries the token of a cookie of its own (``saraban_portal_form``, double submit).
A form without the right token is refused before anything is done.

Does not: check passwords or codes (:mod:`hub.portal.signin`), or decide what a person
may see (:mod:`hub.portal.access`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from hub.portal.access import Person, person_of
from hub.portal.kit import PortalError, admit_address, client_address, get_store, now
from hub.store.portal_accounts import PortalAccounts
from hub.store.portal_sessions import PortalSessions
from protocol.sessions import CSRF_FIELD, CSRF_REFUSED_TH, csrf_refusal, has_idled_out

COOKIE = "saraban_portal"
FORM_COOKIE = "saraban_portal_form"
PENDING_SECONDS = 300
"""How long a session that passed the password waits for its code."""
TOUCH_SECONDS = 15
"""A session's last-seen time is written at most this often (one write per page saved)."""
MAX_TOKEN = 100
"""Characters of a cookie's token read (a longer one is no token of ours)."""
SESSIONLESS = (None, "static", "portal.font")
"""Endpoints that never read the session (no route, static files, fonts)."""
SIGN_IN_FORMS = ("portal.login_submit",)
"""Forms sent before a session exists: their CSRF token is the form cookie's."""

F = TypeVar("F", bound=Callable[..., Any])


class CsrfRefused(PortalError):
    """A form came back without its token: forged, stale or replayed; nothing was done."""

    def __init__(self, reason: str):
        super().__init__(reason, CSRF_REFUSED_TH, code="csrf_refused", status=403)


def token_hash(token: str) -> str:
    """What the hub keeps of a session's token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def credential_digest(account: Mapping[str, Any]) -> str:
    """A digest of an account's password hash and TOTP secret: a session begun under other
    credentials ends. Neither is kept in the session."""
    material = f"{account.get('password_hash') or ''}\0{account.get('totp_secret') or ''}"
    return hashlib.sha256(b"saraban-portal-credential\0" + material.encode("utf-8")).hexdigest()


def session_minutes() -> float:
    """How long an idle session lasts (at least a minute)."""
    return max(1.0, float(current_app.config["PORTAL_SESSION_MINUTES"]))


def _ministry_office() -> str:
    return str(current_app.config["PORTAL_MINISTRY_OFFICE"])


def load_session() -> None:
    """Before every page (not its styles and fonts): count the address's request, load
    the session and its person
    (``g.person``) or the pending sign-in (``g.pending``), then check a form's token."""
    g.person = None
    g.session = None
    g.pending = None
    g.ended = None
    if request.endpoint in SESSIONLESS:
        return
    admit_address("pages")
    token = request.cookies.get(COOKIE, "")
    if token and len(token) <= MAX_TOKEN:
        _judge_session(token_hash(token))
    check_csrf()


def _judge_session(digest: str) -> None:
    store = get_store()
    sessions = PortalSessions(store)
    row = sessions.session(digest)
    if row is None:
        return
    moment = now()
    if row["stage"] == "code":
        if moment - float(row["created_at"]) > PENDING_SECONDS:
            with store.write():
                sessions.end_session(digest)
            g.ended = "expired"
            return
        g.pending = row
        return
    account = PortalAccounts(store).get(row["office"], row["username"])
    if account is None or not account["active"] or credential_digest(account) != row["credential"]:
        with store.write():
            sessions.end_session(digest)
        g.ended = "revoked"
        return
    if has_idled_out(float(row["last_seen"]), moment, session_minutes()):
        with store.write():
            sessions.end_session(digest)
        g.ended = "expired"
        return
    version = int(account["version"])
    if moment - float(row["last_seen"]) >= TOUCH_SECONDS or version != row["account_version"]:
        with store.write():
            sessions.touch_session(digest, moment, version)
    g.session = row
    g.person = person_of(account, _ministry_office())


def check_csrf() -> None:
    """Refuse a POST whose form does not carry its token."""
    if request.method != "POST":
        return
    given = request.form.get(CSRF_FIELD, "")
    if request.endpoint in SIGN_IN_FORMS:
        expected: object = request.cookies.get(FORM_COOKIE)
    else:
        row = g.get("session") or g.get("pending")
        expected = None if row is None else row["csrf"]
    refusal = csrf_refusal(given, expected)
    if refusal is not None:
        raise CsrfRefused(refusal)


def csrf_token() -> str:
    """The token this page's forms send back: the session's, or the sign-in form's."""
    row = g.get("session") or g.get("pending")
    if row is not None:
        return str(row["csrf"])
    token = g.get("form_token")
    if token is None:
        token = request.cookies.get(FORM_COOKIE, "")
        if not token or len(token) > MAX_TOKEN:
            token = secrets.token_urlsafe(32)
            g.new_form_token = token
        g.form_token = token
    return str(token)


def set_cookies(response: BaseResponse) -> BaseResponse:
    """After every page: give the sign-in form's cookie when a new one was made, and
    forget a session cookie whose session has ended."""
    fresh = g.get("new_form_token")
    if fresh:
        _set(response, FORM_COOKIE, fresh)
    if g.get("ended") and not g.get("started"):
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    return response


def _set(response: BaseResponse, name: str, value: str) -> None:
    response.set_cookie(name, value, path="/", secure=True, httponly=True, samesite="Strict")


def start_session(
    response: BaseResponse, account: Mapping[str, Any], stage: str, replaces: str | None = None
) -> None:
    """Begin a session of ``account`` at ``stage`` with a fresh token (never the one
    before it: the cookie changes when the code is accepted) and put it in the cookie."""
    token = secrets.token_urlsafe(32)
    store = get_store()
    sessions = PortalSessions(store)
    with store.write():
        if replaces is not None:
            sessions.end_session(replaces)
        sessions.end_idle_sessions(now() - session_minutes() * 60)
        sessions.add_session(
            token_hash(token),
            dict(account),
            credential_digest(account),
            stage,
            secrets.token_urlsafe(32),
            now(),
            client_address(),
        )
    g.started = True
    _set(response, COOKIE, token)


def end_session(response: BaseResponse) -> None:
    """Sign out: end this session at the hub and forget the cookie."""
    row = g.get("session") or g.get("pending")
    if row is not None:
        store = get_store()
        with store.write():
            PortalSessions(store).end_session(str(row["token_hash"]))
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")


def current_person() -> Person:
    """The signed-in person (a page behind :func:`signed_in`)."""
    person: Person = g.person
    return person


def signed_in(view: F) -> F:
    """Send anyone not signed in to the sign-in page, and back here after it."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("person") is None:
            target = request.full_path.rstrip("?") if request.method == "GET" else ""
            reason = g.get("ended")
            return redirect(url_for("portal.login", next=target or None, ended=reason))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def ministry_only(view: F) -> F:
    """Only the ministry's view may open the page; anyone else is told so in Thai."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        person = g.get("person")
        if person is None:
            return redirect(url_for("portal.login"))
        if not person.ministry:
            raise PortalError(
                f"{person.username}@{person.office} has no ministry view",
                "หน้านี้สำหรับผู้บริหารและผู้ดูแลระบบของสำนักงานปลัดกระทรวงมหาดไทย",
                code="forbidden",
                status=403,
            )
        return view(*args, **kwargs)

    return cast(F, wrapper)


def redirect_home() -> BaseResponse:
    """To the search page."""
    return redirect(url_for("portal_letters.search"))
