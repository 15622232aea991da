"""What every page of the operator's console shares: forms, Thai pages, the menu and the
record of who did what.

* :func:`configure_console` sets up sessions (:mod:`hub.console.session`, which also holds
  the ``login_required`` and ``operator_required`` guards), the headers of every page and
  the template helpers.
* Form values are read by :func:`form_text`, :func:`form_choice`, :func:`form_int` and
  :func:`form_confirmed`, which refuse bad input with a Thai message
  (:class:`hub.errors.ConsoleError`); the app renders it as a Thai page, never a traceback.
* :func:`done` flashes a Thai confirmation and redirects (post/redirect/get).
* :func:`record` writes an operator action to the append-only ``operator_actions`` table.

Does not: keep sessions (:mod:`hub.console.session`), check passwords
(:mod:`hub.console.operators`) or decide anything about the federation.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import Flask, current_app, flash, g, redirect, request, url_for
from markupsafe import Markup, escape
from werkzeug.wrappers import Response as BaseResponse

from hub.console.operators import ROLES
from hub.console.session import configure_sessions, csrf_token, is_page, may_act, operator_name
from hub.context import get_store
from hub.errors import ConsoleError
from hub.monitoring.offices import clock_skew_text
from hub.monitoring.timings import thai_span
from protocol.keys import fingerprint
from protocol.sessions import CSRF_FIELD
from protocol.thai import (
    BANGKOK,
    format_thai_date,
    format_thai_datetime,
    format_thai_time,
    normalize_thai,
)

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


def now() -> float:
    """The hub's time, Unix seconds."""
    return float(current_app.config["CLOCK"]())


def configure_console(app: Flask) -> None:
    """Sessions, CSRF, the signed-in operator, headers and template helpers for every page."""
    configure_sessions(app)
    app.after_request(_page_headers)
    app.context_processor(_page_globals)
    app.add_template_filter(thai_datetime, "thai_datetime")
    app.add_template_filter(thai_date, "thai_date")
    app.add_template_filter(thai_moment, "thai_moment")
    app.add_template_filter(thai_duration, "thai_duration")
    app.add_template_filter(clock_skew_text, "clock_skew")
    app.add_template_filter(thai_number, "thai_number")


def _page_headers(response: Any) -> Any:
    if is_page():
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def record(
    action: str, target: str | None, reason: str | None = None, detail: str | None = None
) -> None:
    """Write what the signed-in operator did; call inside the action's write transaction."""
    get_store().log_action(operator_name(), action, target, reason, detail, now())


def done(message_th: str, endpoint: str, **values: Any) -> BaseResponse:
    """Flash a Thai confirmation and go to ``endpoint`` (post/redirect/get)."""
    flash(message_th)
    return redirect(url_for(endpoint, **values))


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
    if not (text.isascii() and text.isdigit() and len(text) <= 15) or not low <= int(text) <= high:
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
    # The date and the time each stay whole; a narrow column may put the time under the date.
    return Markup(
        '<time datetime="{}" title="{}"><span class="nowrap">{}</span>'
        ' <span class="nowrap">{}</span></time>'
    ).format(
        moment.isoformat(),
        format_thai_datetime(moment),
        format_thai_date(moment, abbreviated=True),
        format_thai_time(moment),
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
    """A span of time in Thai words, its two largest units to the second (``7 วินาที``,
    ``2 นาที 5 วินาที``, ``1 ชม. 3 นาที``; ``-`` for none): :func:`thai_span`."""
    return thai_span(None if seconds is None else float(seconds))


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
