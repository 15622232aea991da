"""The portal's Flask application factory (ADR 0024).

``create_portal_app(test_config=None, instance_path=None)`` as :func:`hub.app.create_app`:
the hub's settings (:mod:`hub.config`, the ``PORTAL_*`` rows among them), the hub's
database (one connection per request, :func:`hub.portal.kit.get_store`) and blob folder,
and ``app.config["CLOCK"]`` as the only source of time, so tests move it. It shares
nothing else with the federation API or the console: its own templates and static files
(``hub/portal/templates``, ``hub/portal/static``), its own cookie and sessions
(:mod:`hub.portal.session`), its own rate limits per address (:mod:`hub.portal.kit`).

Every request is bounded before anything reads it (:func:`protocol.refusal.check_bounds`:
a body up to :data:`~protocol.refusal.SMALL_BODY_BYTES`, each query parameter), and every
error is a Thai page with the portal's layout, never a traceback; a refusal leaves one log
line (:func:`protocol.refusal.log_refusal`: method, path, status, code, reason; never a
form, a cookie or a query string).

Behind the ministry's TLS reverse proxy, ``PORTAL_PROXY_HOPS`` (1) makes the portal
believe that many proxies' ``X-Forwarded-For`` and ``X-Forwarded-Proto``, so the rate
limits and the audit see the person's address.

The hub instance must exist (``saraban hub init``); the portal's tables are created when
missing (:mod:`hub.store.portal_sessions`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from hub.config import load_settings
from hub.errors import HubError, StoreError, TooLarge
from hub.federation.letter_index import catch_up
from hub.portal import entry, ministry, pages
from hub.portal.kit import AddressLimits, close_store, configure_pages, get_store, log_refusal
from hub.portal.session import csrf_token, load_session, set_cookies
from hub.processes import HubProcesses
from hub.store import HubStore, database_exists
from hub.store.modes import check_file_modes
from hub.store.portal_sessions import PortalSessions
from hub.store.portal_tracking import PortalTracking
from protocol import errors as perr
from protocol import refusal
from protocol.sessions import CSRF_FIELD

log = logging.getLogger(__name__)

GENERIC_TH = "ระบบขัดข้อง กรุณาลองใหม่ภายหลัง"
PORTAL_MESSAGES = {
    400: "คำขอไม่ถูกต้อง",
    403: "ท่านไม่มีสิทธิ์ดำเนินการนี้",
    404: "ไม่พบหน้าที่ต้องการ",
    405: "ไม่รองรับวิธีการเรียกหน้านี้",
    413: "ข้อมูลที่ส่งมีขนาดใหญ่เกินกำหนด",
    429: "มีการเรียกใช้บ่อยเกินกำหนด กรุณารอสักครู่แล้วลองอีกครั้ง",
}
"""The Thai words of each refusal that carries none of its own."""

NAV_ITEMS: tuple[tuple[str, str, bool], ...] = (
    ("portal_letters.search", "ค้นหาและติดตามหนังสือ", False),
    ("portal_letters.library", "คลังหนังสือของกระทรวง", False),
    ("portal_ministry.waiting", "หนังสือค้างลงรับ", True),
)
"""The menu: endpoint, Thai title, and whether only the ministry's view sees it."""


def create_portal_app(
    test_config: dict[str, Any] | None = None, instance_path: str | Path | None = None
) -> Flask:
    """Build the portal for an initialised hub instance folder."""
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
    )
    app.config.update(load_settings(app.instance_path, test_config))
    app.config.setdefault("CLOCK", time.time)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    check_file_modes(Path(app.instance_path), app.config)
    if not database_exists(app.config["DATABASE"]):
        raise StoreError(f"no hub database at {app.config['DATABASE']}: run `saraban hub init`")
    store = HubStore.open(app.config["DATABASE"], create=True)  # schema upgrades
    try:
        PortalSessions(store).create_tables()
        PortalTracking(store).create_indexes()
    finally:
        store.close()
    app.extensions["portal_limits"] = AddressLimits(
        {
            "sign_in": int(app.config["PORTAL_SIGN_INS_PER_MINUTE"]),
            "pages": int(app.config["PORTAL_PAGES_PER_MINUTE"]),
        }
    )
    app.extensions["portal_processes"] = HubProcesses(lambda: float(app.config["CLOCK"]()))
    app.teardown_appcontext(close_store)
    _render_errors(app)
    app.before_request(_bound_request)
    app.before_request(load_session)
    app.before_request(_letters_recorded)
    app.after_request(set_cookies)
    configure_pages(app)
    app.context_processor(_page_globals)
    for blueprint in (entry.bp, pages.bp, ministry.bp):
        app.register_blueprint(blueprint)
    hops = int(app.config["PORTAL_PROXY_HOPS"])
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    return app


def _letters_recorded() -> None:
    """Before a page reads, record the letters the hub accepted since the portal's last
    step, for up to :data:`~hub.federation.letter_index.CATCH_UP_SECONDS` (ADR 0030): a
    letter pushed a moment ago is found and tracked."""
    if request.endpoint == "static":
        return
    store = get_store()
    if store.portal_followed() < store.feed_end():
        catch_up(store)


def _too_large(limit: int) -> TooLarge:
    error = TooLarge(f"the request body is larger than {refusal.shown_size(limit)}")
    error.message_th = f"ข้อมูลที่ส่งมีขนาดใหญ่เกินกำหนด: ส่งได้ไม่เกิน {refusal.shown_size(limit)}"
    return error


def _long_query() -> HubError:
    error = HubError(refusal.QUERY_TOO_LONG, code="query_too_long")
    error.message_th = refusal.QUERY_TOO_LONG_TH
    return error


def _bound_request() -> None:
    request.max_content_length = refusal.SMALL_BODY_BYTES
    query = request.args.items(multi=True)
    refusal.check_bounds(
        request.content_length, refusal.SMALL_BODY_BYTES, query, _too_large, _long_query
    )


def error_page(status: int, message_th: str) -> Response:
    """A Thai error page of the portal; bare if the layout itself fails."""
    try:
        page = render_template("portal_error.html", status=status, message_th=message_th)
    except Exception:  # the error page must not fail in turn
        log.exception("portal error page could not be rendered")
        page = refusal.bare_error_page(message_th)
    return Response(page, status=status, mimetype="text/html")


def _render_errors(app: Flask) -> None:
    @app.errorhandler(HubError)
    def hub_error(e: HubError) -> Response:
        if e.status >= 500:
            log.error("portal failure: %s", e.reason)
            return error_page(e.status, GENERIC_TH)
        log_refusal(e.status, e.code, e.reason)
        response = error_page(e.status, e.message_th or PORTAL_MESSAGES.get(e.status, GENERIC_TH))
        response.headers.update(e.headers)
        return response

    @app.errorhandler(perr.SarabanError)
    def protocol_error(e: perr.SarabanError) -> Response:
        log_refusal(400, "bad_request", str(e))
        return error_page(400, PORTAL_MESSAGES[400])

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Response:
        status = e.code or 500
        if status == 413:
            return hub_error(_too_large(refusal.SMALL_BODY_BYTES))
        if status < 500:
            log_refusal(status, f"http_{status}", e.description or e.name)
        return error_page(status, PORTAL_MESSAGES.get(status, GENERIC_TH))

    @app.errorhandler(Exception)
    def internal_error(e: Exception) -> Response:
        log.exception("unexpected portal error")
        return error_page(500, GENERIC_TH)


def _nav() -> list[tuple[str, str]]:
    person = g.get("person")
    if person is None:
        return []
    return [(e, t) for e, t, ministry_only in NAV_ITEMS if person.ministry or not ministry_only]


def _page_globals() -> dict[str, Any]:
    return {
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token,
        "current_person": g.get("person"),
        "nav_items": _nav(),
    }
