"""The clerk's web pages in Thai, rendered on the server: login, logout and งานของฉัน.

Routes (blueprint ``web``, no prefix):

* ``GET/POST /login``, ``POST /logout``: sessions of :mod:`node.web.session`;
* ``GET /``: งานของฉัน (:mod:`node.records.worklist`), for a signed-in user only;
* ``GET /fonts/<name>``: the Sarabun font, served by the node itself (offices may have no
  internet, so no CDN); the stylesheet is the app's ``/static/saraban.css``.

Every page shows the sync badge (online or offline, last sync, letters waiting to leave).
Errors on these pages are Thai HTML pages (:func:`error_page`); ``/api`` keeps JSON.

Does not: check passwords (:mod:`node.staff.accounts`) or decide what a user may see
(:mod:`node.records.access`, applied by :mod:`node.records.worklist`).
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from fontpkg_sarabun import ROOT as SARABUN_ROOT
from werkzeug.exceptions import NotFound as HTTPNotFound
from werkzeug.wrappers import Response as BaseResponse

from node.api.kit import ctx, store
from node.errors import NodeError
from node.records.access import ROLES
from node.records.worklist import my_work
from node.staff.accounts import MAX_PASSWORD, LoginRefused, authenticate
from node.sync.worker import node_status
from node.web.session import (
    CSRF_FIELD,
    check_csrf,
    csrf_token,
    end_session,
    login_required,
    start_session,
    touch_session,
)
from protocol.thai import BANGKOK, format_thai_datetime

bp = Blueprint("web", __name__)

NAV_ITEMS: tuple[tuple[str, str, str | None], ...] = (
    ("web.home", "งานของฉัน", None),
    ("web_letters.inbox", "หนังสือเข้า", None),
    ("web_letters.sent", "หนังสือออก", None),
    ("web_compose.compose", "เขียนหนังสือ", "compose"),
    ("web_paper.paper", "ลงรับหนังสือกระดาษ", "receive"),
    ("web_search.search", "ค้นหา", None),
    ("web_registers.registers", "ทะเบียนหนังสือ", "registers"),
    ("web_library.library", "หนังสือเวียน คำสั่ง ระเบียบ", None),
    ("web_retention.retention", "การเก็บรักษา", "retention"),
    ("web_admin.users", "ผู้ดูแลระบบ", "admin"),
)
"""The main menu: endpoint, Thai title, and the permission it needs (None: every user)."""

SECTIONS = frozenset(
    {"web_retention", "web_admin", "web_registers", "web_search", "web_library", "web_compose"}
)
"""Blueprints whose every page belongs to one menu item."""

FONT_FILES = frozenset({"Sarabun-Regular.ttf", "Sarabun-Bold.ttf"})
FONT_MAX_AGE = 7 * 24 * 3600
HTML = "text/html; charset=utf-8"


def wants_html() -> bool:
    """Whether this request is for a page (Thai HTML errors) rather than the JSON API."""
    path = request.path
    return not (path == "/api" or path.startswith("/api/"))


@bp.before_app_request
def load_session() -> None:
    """For every page (all page blueprints, not ``/api``, static files or fonts): check the
    CSRF token of a form first, so a forged form changes nothing, not even the session;
    then load the signed-in user."""
    if not wants_html() or request.endpoint in (None, "static", "web.font"):
        return
    check_csrf()
    touch_session(ctx(), store())


PAGE_HEADERS = {
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "frame-ancestors 'self'; object-src 'self'; base-uri 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
"""Sent with every page: no framing by other sites (clickjacking), no guessing of types."""


@bp.after_app_request
def page_headers(response: Response) -> Response:
    if wants_html():
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def nav_current(endpoint: str) -> bool:
    """Whether the menu item ``endpoint`` is the section of this page: its own page, or any
    page of a section the menu names by its first page (retention, admin)."""
    if request.endpoint == endpoint:
        return True
    blueprint = endpoint.partition(".")[0]
    return blueprint in SECTIONS and request.blueprint == blueprint


def thai_datetime(value: Any) -> str:
    """Unix seconds or an ISO 8601 moment as a Buddhist-era date and time, Bangkok time."""
    if value is None or value == "":
        return "-"
    try:
        if isinstance(value, int | float):
            moment = datetime.fromtimestamp(float(value), tz=BANGKOK)
        else:
            moment = datetime.fromisoformat(str(value))
    except (TypeError, ValueError, OverflowError):
        return str(value)
    return format_thai_datetime(moment)


def sync_badge() -> dict[str, Any] | None:
    """What the badge shows, or None when the node cannot tell (the page still renders)."""
    try:
        s = node_status(ctx())
    except NodeError:
        return None
    return {
        "online": bool(s["online"]),
        "last_sync": thai_datetime(s["last_sync_ok"]) if s["last_sync_ok"] else "ยังไม่เคย",
        "outbox": int(s["outbox"] or 0),
        "office": s["office"] or "",
    }


@bp.app_context_processor
def page_globals() -> dict[str, Any]:
    return {
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token,
        "sync_badge": sync_badge,
        "current_user": g.get("user"),
        "current_viewer": g.get("viewer"),
        "nav_items": NAV_ITEMS,
        "nav_current": nav_current,
        "role_titles": ROLES,
    }


@bp.app_template_filter("thai_datetime")
def thai_datetime_filter(value: Any) -> str:
    return thai_datetime(value)


@bp.get("/login")
def login() -> BaseResponse | str:
    if g.get("user") is not None:
        return redirect(url_for("web.home"))
    return render_template("login.html", username="", error=None)


@bp.post("/login")
def login_submit() -> BaseResponse | tuple[str, int]:
    username = request.form.get("username", "")[:64]
    # A password longer than any allowed one cannot match; scrypt need not read it all.
    password = request.form.get("password", "")[: MAX_PASSWORD + 1]
    try:
        user = authenticate(ctx(), store(), username, password)
    except LoginRefused as e:
        page = render_template("login.html", username=username, error=e.message_th)
        return page, e.status
    start_session(ctx(), user)
    return redirect(url_for("web.home"))


@bp.post("/logout")
def logout() -> BaseResponse:
    end_session()
    return redirect(url_for("web.login"))


@bp.get("/")
@login_required
def home() -> str:
    work = my_work(store(), g.viewer, ctx().now())
    return render_template("home.html", **work)


@bp.get("/fonts/<name>")
def font(name: str) -> Response:
    if name not in FONT_FILES:
        raise HTTPNotFound()
    return send_file(SARABUN_ROOT / "files" / name, mimetype="font/ttf", max_age=FONT_MAX_AGE)


def error_page(status: int, message_th: str) -> tuple[Response, int]:
    """A Thai error page; never a traceback, and a bare one if the layout itself fails."""
    try:
        page = render_template("error.html", status=status, message_th=message_th)
    except Exception:  # the error page must not fail in turn
        current_app.logger.exception("error page could not be rendered")
        page = (
            '<!doctype html><html lang="th"><head><meta charset="utf-8">'
            f"<title>เกิดข้อผิดพลาด</title></head><body><p>{html.escape(message_th)}</p>"
            "</body></html>"
        )
    return Response(page, status=status, content_type=HTML), status
