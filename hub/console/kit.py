"""What every page of the operator's console shares: sessions, CSRF, roles, forms, Thai
pages and the record of who did what.

* Sessions are Flask's signed cookie (``saraban_hub_session``, HttpOnly, SameSite=Lax),
  signed with ``<instance>/console_secret`` (made once, mode 0600, never logged). A session
  idles out after ``SESSION_MINUTES`` by the hub's clock (``app.config["CLOCK"]``), so
  tests move time instead of waiting.
* Every POST of a page must carry the session's CSRF token; a forged form is refused before
  anything is read or written.
* :func:`login_required` lets any operator see a page; :func:`operator_required` lets only
  the ``operator`` role act (a ``viewer`` watches).
* Form values are read by :func:`form_text` and :func:`form_choice`, which refuse bad input
  with a Thai message (:class:`hub.console.operators.ConsoleError`); the app renders it as a Thai
  page, never a traceback.
* :func:`record` writes an operator action to the append-only ``operator_actions`` table.

Does not: check passwords (:mod:`hub.console.operators`) or decide anything about the federation.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from markupsafe import Markup, escape

from hub.console.operators import ROLES, active_operator
from hub.context import get_store
from hub.errors import ConsoleError
from protocol.keys import fingerprint
from protocol.thai import (
    BANGKOK,
    format_thai_date,
    format_thai_datetime,
    format_thai_duration,
    format_thai_time,
    normalize_thai,
)

SECRET_FILE = "console_secret"  # noqa: S105 - a file name, not a secret
CSRF_FIELD = "csrf_token"
EXPIRED_TH = "หมดเวลาการใช้งาน กรุณาเข้าสู่ระบบอีกครั้ง"
NOT_A_PAGE = ("/api/", "/metrics", "/static/", "/fonts/")

PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
        " frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Sent with every console page: no framing, no inline script, no caching of what an
operator saw."""

F = TypeVar("F", bound=Callable[..., Any])


class CsrfRefused(ConsoleError):
    """A form came back without this session's CSRF token."""

    def __init__(self, reason: str):
        super().__init__(
            reason,
            "แบบฟอร์มไม่ถูกต้องหรือหมดอายุ กรุณาเปิดหน้าใหม่แล้วลองอีกครั้ง (ยังไม่ได้บันทึกสิ่งใด)",
            code="csrf_refused",
        )


def is_page() -> bool:
    """Whether this request is for a console page (Thai HTML) rather than the API."""
    path = request.path
    return not any(path == p.rstrip("/") or path.startswith(p) for p in NOT_A_PAGE)


def now() -> float:
    """The hub's time, Unix seconds."""
    return float(current_app.config["CLOCK"]())


def _secret(instance: Path) -> str:
    path = instance / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip()


def session_minutes() -> float:
    """How long an idle console session lasts."""
    return max(1.0, float(current_app.config["SESSION_MINUTES"]))


def configure_console(app: Flask) -> None:
    """Sessions, CSRF, the signed-in operator, headers and template helpers for every page."""
    app.config["SECRET_KEY"] = _secret(Path(app.instance_path))
    app.config["SESSION_COOKIE_NAME"] = "saraban_hub_session"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        minutes=float(app.config["SESSION_MINUTES"])
    )
    app.before_request(_load_session)
    app.after_request(_page_headers)
    app.context_processor(_page_globals)
    app.add_template_filter(thai_datetime, "thai_datetime")
    app.add_template_filter(thai_date, "thai_date")
    app.add_template_filter(thai_moment, "thai_moment")
    app.add_template_filter(thai_duration, "thai_duration")
    app.add_template_filter(thai_number, "thai_number")


def csrf_token() -> str:
    """This session's CSRF token, made when first asked for."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _check_csrf() -> None:
    if request.method != "POST":
        return
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD, "")
    if not isinstance(expected, str) or not expected or not given:
        raise CsrfRefused("missing CSRF token")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused("wrong CSRF token")


def _load_session() -> None:
    g.operator = None
    if not is_page() or request.endpoint in (None, "static"):
        return
    _check_csrf()
    username = session.get("operator")
    if not username:
        return
    moment = now()
    row = active_operator(get_store(), str(username))
    seen = float(session.get("seen") or 0)
    if row is None or moment - seen > session_minutes() * 60:
        session.pop("operator", None)
        session.pop("seen", None)
        if row is not None:
            flash(EXPIRED_TH)
        return
    session["seen"] = moment
    g.operator = row


def start_session(operator: dict[str, Any]) -> None:
    """Sign ``operator`` in with a fresh session (and CSRF token)."""
    session.clear()
    session.permanent = True
    session["operator"] = operator["username"]
    session["seen"] = now()
    csrf_token()


def end_session() -> None:
    """Sign out."""
    session.clear()


def _page_headers(response: Any) -> Any:
    if is_page():
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def login_required(view: F) -> F:
    """Send anyone not signed in to the login page."""

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


def record(
    action: str, target: str | None, reason: str | None = None, detail: str | None = None
) -> None:
    """Write what the signed-in operator did; call inside the action's write transaction."""
    get_store().log_action(operator_name(), action, target, reason, detail, now())


# -- form values --------------------------------------------------------------------------


def form_text(name: str, label_th: str, limit: int = 200, required: bool = True) -> str:
    """A form field as normalised Thai text; a Thai refusal when missing or too long."""
    value = normalize_thai(request.form.get(name, "")).strip()
    if required and not value:
        raise ConsoleError(f"{name} is required", f"กรุณากรอก{label_th}", code="required")
    if len(value) > limit:
        raise ConsoleError(
            f"{name} is longer than {limit}",
            f"{label_th}ยาวเกิน {limit} ตัวอักษร",
            code="too_long",
        )
    return value


def form_choice(name: str, label_th: str, choices: Iterable[str]) -> str:
    """A form field that must be one of ``choices``."""
    value = request.form.get(name, "").strip()
    if value not in set(choices):
        raise ConsoleError(f"{name} is not a choice", f"กรุณาเลือก{label_th}", code="bad_choice")
    return value


def form_confirmed(label_th: str) -> None:
    """Refuse a form whose confirmation box (``confirm=yes``) is not ticked."""
    if request.form.get("confirm") != "yes":
        raise ConsoleError(
            "not confirmed",
            f"กรุณาทำเครื่องหมาย “{label_th}” ก่อนกดปุ่ม (ยังไม่ได้บันทึกสิ่งใด)",
            code="not_confirmed",
        )


def form_int(name: str, label_th: str, low: int, high: int, default: int | None = None) -> int:
    """A whole number from ``low`` to ``high`` (``default`` when empty, if given)."""
    text = request.form.get(name, "").strip()
    if not text and default is not None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ConsoleError(
            f"{name} must be a whole number from {low} to {high}",
            f"{label_th}ต้องเป็นจำนวนเต็มตั้งแต่ {low} ถึง {high}",
            code="bad_number",
        )
    return int(text)


# -- template helpers -----------------------------------------------------------------------


def thai_datetime(value: Any) -> str:
    """Unix seconds as a Buddhist-era date and time, Bangkok time (``-`` when none)."""
    if value is None or value == "":
        return "-"
    try:
        moment = datetime.fromtimestamp(float(value), tz=BANGKOK)
    except (TypeError, ValueError, OverflowError):
        return str(value)
    return format_thai_datetime(moment)


def thai_moment(value: Any) -> Markup:
    """A table cell's time: ``4 ธ.ค. 2569 16.54 น.``, the full form as its tooltip."""
    if value is None or value == "":
        return Markup("-")
    try:
        moment = datetime.fromtimestamp(float(value), tz=BANGKOK)
    except (TypeError, ValueError, OverflowError):
        return escape(str(value))
    short = f"{format_thai_date(moment, abbreviated=True)} {format_thai_time(moment)}"
    return Markup('<time datetime="{}" title="{}" class="nowrap">{}</time>').format(
        moment.isoformat(), format_thai_datetime(moment), short
    )


def thai_date(value: Any) -> str:
    """An ISO date (``2026-12-04``) or Unix seconds as a Buddhist-era date."""
    if value is None or value == "":
        return "-"
    try:
        if isinstance(value, int | float):
            return format_thai_date(datetime.fromtimestamp(float(value), tz=BANGKOK).date())
        return format_thai_date(datetime.fromisoformat(str(value)).date())
    except (TypeError, ValueError, OverflowError):
        return str(value)


def thai_duration(seconds: Any) -> str:
    """A span of time in Thai words (``-`` for none)."""
    return "-" if seconds is None else format_thai_duration(float(seconds))


def thai_number(value: Any) -> str:
    """A number with thousands separators (``-`` for none)."""
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


NAV_ITEMS: tuple[tuple[str, str], ...] = (
    ("console.dashboard", "ภาพรวม"),
    ("console.offices", "หน่วยงาน"),
    ("console_alerts.alerts", "การแจ้งเตือน"),
    ("console_enrollment.enrollment", "การลงทะเบียน"),
    ("console_numbering.numbering", "เลขหนังสือ"),
    ("console_stats.stats", "สถิติการใช้งาน"),
    ("console_lists.lists", "รายชื่อส่งหนังสือ"),
    ("console.actions", "บันทึกการดำเนินการ"),
)
"""The console's menu: endpoint and Thai title; a blueprint's every page marks its item."""


def nav_current(endpoint: str) -> bool:
    """Whether the menu item ``endpoint`` is this page's section."""
    if request.endpoint == endpoint:
        return True
    blueprint = endpoint.partition(".")[0]
    return blueprint != "console" and request.blueprint == blueprint


def _nav() -> list[tuple[str, str]]:
    return [(e, t) for e, t in NAV_ITEMS if e.partition(".")[0] in current_app.blueprints]


def _page_globals() -> dict[str, Any]:
    return {
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token,
        "current_operator": g.get("operator"),
        "may_act": may_act,
        "nav_items": _nav(),
        "nav_current": nav_current,
        "role_titles": ROLES,
        "fingerprint": fingerprint,
        "hub_now": now,
    }
