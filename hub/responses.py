"""How the hub answers when something is refused or fails: JSON for the API, Thai pages
for the console, 429 when too many requests are in flight. One place, never a traceback.

Every request is bounded before anything reads it (:func:`bound_requests`, the bounds
of :mod:`protocol.refusal`, which a node shares): its body, a push (or an office's
accounts) up to ``MAX_CONTENT_LENGTH``, a blob chunk up to :data:`~protocol.api.MAX_CHUNK`,
anything else up to :data:`~protocol.refusal.SMALL_BODY_BYTES` (beyond, 413 ``too_large``
naming the limit); each query parameter; an id in a path (beyond, it matches no route:
:class:`RowId`). A refused request leaves one line in the log
(:func:`protocol.refusal.log_refusal`); a failure of the hub's own, one traceback.

Does not: decide what is refused (the views raise :mod:`hub.errors`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, current_app, g, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wsgi import ClosingIterator

from hub.console.session import is_page
from hub.errors import BadRequest, HubError, TooLarge, from_protocol
from protocol import errors as perr
from protocol import refusal
from protocol.api import MAX_CHUNK
from protocol.limits import MAX_SAFE_INT
from protocol.refusal import SMALL_BODY_BYTES

UNAVAILABLE = "the hub cannot reach its database just now; try again later"
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
        page = refusal.bare_error_page(message_th)
    return Response(page, status=status, mimetype="text/html")


def body_limit(endpoint: str | None) -> int:
    """The largest body the hub reads for a request to ``endpoint``."""
    if endpoint in ("api.push", "accounts_api.publish"):  # an office's whole account list
        return int(current_app.config["MAX_CONTENT_LENGTH"])
    if endpoint == "api.blob_put":
        return MAX_CHUNK
    return SMALL_BODY_BYTES


def _long_query() -> BadRequest:
    error = BadRequest(refusal.QUERY_TOO_LONG, code="query_too_long")
    error.message_th = refusal.QUERY_TOO_LONG_TH
    return error


def _too_large(limit: int) -> TooLarge:
    shown = refusal.shown_size(limit)
    error = TooLarge(f"the request body is larger than this endpoint's limit of {shown}")
    error.message_th = f"ข้อมูลที่ส่งมีขนาดใหญ่เกินกำหนด: ส่งได้ไม่เกิน {shown} ต่อครั้ง (ยังไม่ได้บันทึกสิ่งใด)"
    error.extra["limit_bytes"] = limit
    return error


class RowId(IntegerConverter):
    """``<int:...>`` in a hub URL: a row id of :data:`~protocol.refusal.ROW_ID_DIGITS` digits
    up to ``MAX_SAFE_INT``; any other matches no route, a 404."""

    regex = refusal.ROW_ID_DIGITS

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(url_map, *args, **{"max": MAX_SAFE_INT, **kwargs})


def bound_requests(app: Flask) -> None:
    """Bound the hub's URL ids (:class:`RowId`: call this before any route is added) and
    each request by its endpoint's :func:`body_limit`, a chunked body as soon as reading
    passes it. Call before any other ``before_request``."""
    app.url_map.converters["int"] = RowId

    @app.before_request
    def bound_body() -> None:
        request.max_content_length = limit = body_limit(request.endpoint)
        query = request.args.items(multi=True)
        refusal.check_bounds(request.content_length, limit, query, _too_large, _long_query)


def log_refusal(status: int, code: str, reason: str) -> None:
    """The hub's one line for a refused request (:func:`protocol.refusal.log_refusal`)."""
    g.refusal_logged = True
    refusal.log_refusal(log, request.method, request.path, status, code, reason)


def render_errors(app: Flask) -> None:
    """Render every error of ``app``: a Thai page for the console, JSON for the API."""

    @app.after_request
    def log_refused_form(response: Response) -> Response:
        """A page that shows its refused form again answers 4xx without raising."""
        status = response.status_code
        if 400 <= status < 500 and not g.get("refusal_logged") and is_page():
            log_refusal(status, "form_refused", "the form was shown again with its errors")
        return response

    @app.errorhandler(HubError)
    def hub_error(e: HubError) -> Response:
        if e.status < 500 and e.status != 429:  # rate limits log an office's first refusal
            log_refusal(e.status, e.code, e.reason)
        if is_page():
            if e.status >= 500:
                log.error("hub failure on a console page: %s", e.reason)
                return error_page(e.status, GENERIC_TH)
            message = e.message_th or PAGE_MESSAGES.get(e.status, GENERIC_TH)
            return error_page(e.status, message)
        if e.status >= 500:
            log.error("hub failure: %s", e.reason)
            if e.status == 503:  # the database is away for a while: say when to come back
                resp = error_response(e.status, e.code, UNAVAILABLE, **e.extra)
            else:
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
        if status == 413:  # a chunked body read past its limit, or a form past Flask's
            return hub_error(_too_large(int(request.max_content_length or SMALL_BODY_BYTES)))
        code = _HTTP_CODES.get(status, f"http_{status}")
        reason = e.description or e.name
        if status < 500:
            log_refusal(status, code, reason)
        if is_page():
            return error_page(status, PAGE_MESSAGES.get(status, GENERIC_TH))
        return error_response(status, code, reason)

    @app.errorhandler(Exception)
    def internal_error(e: Exception) -> Response:
        log.exception("unexpected hub error")
        if is_page():
            return error_page(500, GENERIC_TH)
        return error_response(500, "internal", "the hub failed; try again later")
