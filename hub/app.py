"""The hub's Flask application factory.

``create_app(test_config=None, instance_path=None)`` in the flaskr manner: settings from
:mod:`hub.config`, one database connection per application context (closed on teardown),
one blueprint per endpoint family, and one place that renders every error as
``{"error": code, "reason": ...}`` JSON. ``app.config["CLOCK"]`` (Unix seconds) is the only
source of time, so tests can move it.

The instance must have been initialised first (:func:`hub.admin.init_hub`): the factory
never creates a hub identity by itself.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from html import escape
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, render_template
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import ClosingIterator

from protocol import errors as perr

from .blobs import BlobStore
from .config import load_settings
from .consolekit import configure_console, is_page
from .directory import HubKeyring
from .errors import HubError, StoreError, from_protocol
from .stats import backfill as backfill_statistics
from .store import HubStore

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "wrong_content_type",
    429: "rate_limited",
}


def error_response(status: int, code: str, reason: str, **extra: Any) -> Response:
    """The one JSON shape of every error answer."""
    body = {"error": code, "reason": reason, **extra}
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )


class InflightLimiter:
    """WSGI middleware answering 429 + Retry-After when too many requests are in flight."""

    def __init__(self, wsgi_app: Any, limit: int, retry_after: int):
        self.wsgi_app = wsgi_app
        self.limit = limit
        self.retry_after = retry_after
        self.slots = threading.BoundedSemaphore(max(1, limit))

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not self.slots.acquire(blocking=False):
            body = json.dumps(
                {"error": "rate_limited", "reason": "the hub is busy; retry later"}
            ).encode()
            start_response(
                "429 Too Many Requests",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(body))),
                    ("Retry-After", str(self.retry_after)),
                ],
            )
            return [body]
        try:
            result = self.wsgi_app(environ, start_response)
        except BaseException:
            self.slots.release()
            raise
        return ClosingIterator(result, [self.slots.release])


CONSOLE_MODULES: tuple[str, ...] = (
    "hub.console",
    "hub.console_alerts",
    "hub.console_enrollment",
    "hub.console_lists",
    "hub.console_numbering",
    "hub.console_stats",
)
"""Modules of the operator's console, each with one blueprint ``bp``."""


def clock() -> float:
    """The current time of the running app, Unix seconds."""
    return float(current_app.config["CLOCK"]())


def get_store() -> HubStore:
    """The database connection of this application context."""
    if "hub_store" not in g:
        g.hub_store = HubStore.open(current_app.config["DATABASE"], create=False)
    store: HubStore = g.hub_store
    return store


def close_store(_exc: BaseException | None = None) -> None:
    """Close this context's database connection."""
    store = g.pop("hub_store", None)
    if store is not None:
        store.close()


def get_keyring() -> HubKeyring:
    """The hub's signing keys, reloaded when an operator rotated them."""
    store = get_store()
    rows = store.hub_keys()
    current = next((r["keyid"] for r in rows if r["status"] == "current"), None)
    cache: dict[str, HubKeyring] = current_app.extensions["saraban_keyring"]
    keyring = cache.get("keyring")
    if keyring is None or keyring.current.keyid != current:
        keyring = HubKeyring.load(current_app.instance_path, store)
        cache["keyring"] = keyring
    return keyring


def get_blobs() -> BlobStore:
    """The attachment store of this app."""
    blobs: BlobStore = current_app.extensions["saraban_blobs"]
    return blobs


PAGE_MESSAGES = {
    400: "คำขอไม่ถูกต้อง",
    403: "ท่านไม่มีสิทธิ์ดำเนินการนี้",
    404: "ไม่พบหน้าหรือรายการที่ต้องการ",
    405: "ไม่รองรับวิธีการเรียกหน้านี้",
    413: "ข้อมูลที่ส่งมีขนาดใหญ่เกินกำหนด",
    429: "ศูนย์กลางมีงานมาก กรุณาลองใหม่ภายหลัง",
}
GENERIC_TH = "ระบบขัดข้อง กรุณาลองใหม่ภายหลัง (ยังไม่ได้บันทึกสิ่งใด)"


def error_page(status: int, message_th: str) -> Response:
    """A Thai error page of the console; never a traceback, and bare if the layout fails."""
    try:
        page = render_template("error.html", status=status, message_th=message_th, back=None)
    except Exception:  # the error page must not fail in turn
        log.exception("console error page could not be rendered")
        page = (
            '<!doctype html><html lang="th"><head><meta charset="utf-8"><title>เกิดข้อผิดพลาด'
            f"</title></head><body><p>{escape(message_th)}</p></body></html>"
        )
    return Response(page, status=status, mimetype="text/html")


def _render_errors(app: Flask) -> None:
    @app.errorhandler(HubError)
    def hub_error(e: HubError) -> Response:
        if is_page():
            if e.status >= 500:
                log.error("hub failure on a console page: %s", e.reason)
                return error_page(e.status, GENERIC_TH)
            message = getattr(e, "message_th", None) or PAGE_MESSAGES.get(e.status, GENERIC_TH)
            return error_page(e.status, message)
        if e.status >= 500:
            log.error("hub failure: %s", e.reason)
            resp = error_response(e.status, e.code, "the hub failed; try again later")
        else:
            resp = error_response(e.status, e.code, e.reason, **e.extra)
        resp.headers.update(e.headers)
        return resp

    @app.errorhandler(perr.SarabanError)
    def protocol_error(e: perr.SarabanError) -> Response:
        return hub_error(from_protocol(e))

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Response:
        status = e.code or 500
        if is_page():
            return error_page(status, PAGE_MESSAGES.get(status, GENERIC_TH))
        code = _HTTP_CODES.get(status, f"http_{status}")
        return error_response(status, code, e.description or e.name)

    @app.errorhandler(Exception)
    def internal_error(e: Exception) -> Response:
        log.exception("unexpected hub error")
        if is_page():
            return error_page(500, GENERIC_TH)
        return error_response(500, "internal", "the hub failed; try again later")


def create_app(
    test_config: dict[str, Any] | None = None, instance_path: str | Path | None = None
) -> Flask:
    """Build the hub application for an initialised instance folder."""
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
    )
    app.config.update(load_settings(app.instance_path, test_config))
    app.config.setdefault("CLOCK", time.time)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if not Path(app.config["DATABASE"]).exists():
        raise StoreError(f"no hub database at {app.config['DATABASE']}: run `saraban hub init`")
    upgrade = HubStore.open(app.config["DATABASE"], create=True)  # schema upgrades
    try:
        backfill_statistics(upgrade)  # once per hub: facts of what ran before them
    finally:
        upgrade.close()
    app.extensions["saraban_keyring"] = {}
    app.extensions["saraban_blobs"] = BlobStore(app.config["BLOB_DIR"])
    app.teardown_appcontext(close_store)
    _render_errors(app)

    from . import api, metrics

    app.register_blueprint(api.bp)
    metrics.init_app(app)
    configure_console(app)
    for name in CONSOLE_MODULES:
        app.register_blueprint(importlib.import_module(name).bp)
    limiter = InflightLimiter(
        app.wsgi_app, int(app.config["MAX_INFLIGHT"]), int(app.config["RETRY_AFTER_SECONDS"])
    )
    app.extensions["saraban_limiter"] = limiter
    app.wsgi_app = limiter  # type: ignore[method-assign]
    return app
