"""The clerk's web pages in Thai, rendered on the server: login, logout and งานของฉัน.

Routes (blueprint ``web``, no prefix):

* ``GET/POST /login``, ``POST /logout``: sessions of :mod:`node.web.session`;
* ``GET /``: งานของฉัน (:mod:`node.records.worklist`), for a signed-in user only;
* ``GET /fonts/<name>``: the Sarabun font, served by the node itself (offices may have no
  internet, so no CDN); the stylesheet is the app's ``/static/saraban.css``;
* ``GET /favicon.ico``: the node's icon (``/static/favicon.svg``, which every page links).

งานของฉัน names people, units and offices by their Thai names (:mod:`node.web.names`).

Every page shows the sync badge and its ส่ง/รับเดี๋ยวนี้ button (:mod:`node.web.sync`).
Errors on these pages are Thai HTML pages (:mod:`node.responses`); ``/api`` keeps JSON.

Does not: check passwords (:mod:`node.staff.accounts`) or decide what a user may see
(:mod:`node.records.access`, applied by :mod:`node.records.worklist`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
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
from node.records.access import ROLES
from node.records.worklist import my_work
from node.staff.accounts import LoginRefused, authenticate
from node.web.names import Names
from node.web.session import (
    csrf_token,
    end_session,
    form_tokens,
    is_page,
    login_required,
    start_session,
)
from node.web.sync import sync_badge
from protocol.sessions import CSRF_FIELD, login_form
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

FAVICON = Path(__file__).resolve().parent.parent / "static" / "favicon.svg"
"""The icon every page links to (``/static/favicon.svg``), also served at ``/favicon.ico``."""

FONT_FILES = frozenset({"Sarabun-Regular.ttf", "Sarabun-Bold.ttf"})
FONT_MAX_AGE = 7 * 24 * 3600


PAGE_HEADERS = {
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "frame-ancestors 'self'; object-src 'self'; base-uri 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
"""Sent with every page: no framing by other sites (clickjacking), no guessing of types."""


@bp.after_app_request
def page_headers(response: Response) -> Response:
    if is_page():
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


@bp.app_context_processor
def page_globals() -> dict[str, Any]:
    return {
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token,
        "form_tokens": form_tokens,
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
    username, password = login_form(request.form)
    try:
        user = authenticate(ctx(), store(), username, password)
    except LoginRefused as e:
        page = render_template("login.html", username=username, error=e.message_th)
        return page, e.status
    start_session(user)
    return redirect(url_for("web.home"))


@bp.post("/logout")
def logout() -> BaseResponse:
    end_session()
    return redirect(url_for("web.login"))


@bp.get("/")
@login_required
def home() -> str:
    work = my_work(store(), g.viewer, ctx().now())
    names = Names()
    for row in (r for rows in work.values() for r in rows):
        row["origin_name"] = names(row["origin"]) if row.get("origin") else ""
        row["holder"] = names.holder(row.get("assigned_to"))
    return render_template("home.html", **work)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The node's icon, for browsers that ask for it where a page does not name it."""
    return send_file(FAVICON, mimetype="image/svg+xml", max_age=FONT_MAX_AGE)


@bp.get("/fonts/<name>")
def font(name: str) -> Response:
    if name not in FONT_FILES:
        raise HTTPNotFound()
    return send_file(SARABUN_ROOT / "files" / name, mimetype="font/ttf", max_age=FONT_MAX_AGE)
