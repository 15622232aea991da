"""How the hub answers when something is refused or fails: JSON for the API, Thai pages
for the console, 429 when too many requests are in flight. One place, never a traceback.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from html import escape
from typing import Any

from flask import Flask, Response, render_template
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import ClosingIterator

from hub.console.session import is_page
from hub.errors import HubError, from_protocol
from protocol import errors as perr

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


def render_errors(app: Flask) -> None:
    @app.errorhandler(HubError)
    def hub_error(e: HubError) -> Response:
        if is_page():
            if e.status >= 500:
                log.error("hub failure on a console page: %s", e.reason)
                return error_page(e.status, GENERIC_TH)
            message = e.message_th or PAGE_MESSAGES.get(e.status, GENERIC_TH)
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
