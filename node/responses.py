"""How the node answers when something is refused or fails: a Thai page for the clerk's
pages, ``{"error", "reason", "message_th"}`` JSON for ``/api``. One place, never a
traceback; the hub answers the same way (:mod:`hub.responses`).

Every request is bounded before anything reads it (:func:`bound_requests`, the bounds of
:mod:`protocol.refusal`, which the hub shares): its body, for the pages and API calls that
carry files up to ``MAX_UPLOAD_BYTES``, for anything else up to
:data:`~protocol.refusal.SMALL_BODY_BYTES` (beyond, 413 ``too_large``: a Thai page naming
the limit in MB); each query parameter; an id in a path (beyond, it matches no route:
:class:`RowId`). A refused request leaves one line in the log
(:func:`protocol.refusal.log_refusal`); a failure nobody expected, one traceback.

Does not: decide what is refused (the domain raises :mod:`node.errors`).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from node.errors import BadInput, NodeError, TooLarge, from_protocol
from node.web.session import is_page
from protocol import refusal
from protocol.errors import SarabanError
from protocol.limits import MAX_SAFE_INT
from protocol.refusal import SMALL_BODY_BYTES

HTML = "text/html; charset=utf-8"

PAGE_MESSAGES = {
    404: "ไม่พบหน้าที่ต้องการ",
    405: "วิธีการเรียกใช้ไม่ถูกต้อง",
    413: "ข้อมูลที่ส่งมีขนาดใหญ่เกินกำหนด",
}
"""What a clerk reads for an HTTP refusal of the web framework, by status."""
BAD_REQUEST_TH = "คำขอไม่ถูกต้อง"
GENERIC_TH = "เกิดข้อผิดพลาดภายในระบบ"

UPLOAD_ENDPOINTS = frozenset(
    {
        "web_compose.compose",
        "web_compose.edit",
        "web_paper.paper",
        "letters.send",
        "letters.create_draft",
        "letters.paper_letter",
    }
)
"""Where files travel: these read up to ``MAX_UPLOAD_BYTES``; any other request up to
:data:`~protocol.refusal.SMALL_BODY_BYTES`."""


def body_limit(endpoint: str | None) -> int:
    """The largest body the node reads for a request to ``endpoint``."""
    if endpoint in UPLOAD_ENDPOINTS:
        return int(current_app.config["MAX_CONTENT_LENGTH"])
    return SMALL_BODY_BYTES


def long_query() -> BadInput:
    """The refusal of a query parameter longer than :data:`~protocol.refusal.MAX_QUERY_VALUE`."""
    return BadInput(
        refusal.QUERY_TOO_LONG, code="query_too_long", message_th=refusal.QUERY_TOO_LONG_TH
    )


def too_large(limit: int) -> TooLarge:
    """The refusal of a body over ``limit`` bytes, naming the limit."""
    shown = refusal.shown_size(limit)
    return TooLarge(
        f"the request body is larger than the limit of {shown}",
        message_th=(
            f"ข้อมูลที่ส่งมีขนาดใหญ่เกินกำหนด: ส่งได้ไม่เกิน {shown} ต่อครั้ง (รวมไฟล์แนบทุกไฟล์) ยังไม่ได้บันทึกสิ่งใด"
        ),
    )


class RowId(IntegerConverter):
    """``<int:...>`` in a node's URL: a row id of :data:`~protocol.refusal.ROW_ID_DIGITS` digits
    up to ``MAX_SAFE_INT``; any other matches no route, a 404."""

    regex = refusal.ROW_ID_DIGITS

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(url_map, *args, **{"max": MAX_SAFE_INT, **kwargs})


def bound_requests(app: Flask) -> None:
    """Bound the node's URL ids (:class:`RowId`: call this before any route is added) and
    each request by its endpoint's :func:`body_limit`, a chunked body as soon as reading
    passes it. Call before any other ``before_request``."""
    app.url_map.converters["int"] = RowId

    @app.before_request
    def bound_body() -> None:
        request.max_content_length = limit = body_limit(request.endpoint)
        query = request.args.items(multi=True)
        refusal.check_bounds(request.content_length, limit, query, too_large, long_query)


def log_refusal(status: int, code: str, reason: str) -> None:
    """The node's one line for a refused request (:func:`protocol.refusal.log_refusal`);
    none from an app whose ``LOG_REFUSALS`` is false (the command line's in-process node,
    which says each refusal itself)."""
    g.refusal_logged = True
    if current_app.config.get("LOG_REFUSALS", True):
        refusal.log_refusal(current_app.logger, request.method, request.path, status, code, reason)


def error_page(status: int, message_th: str) -> tuple[Response, int]:
    """A Thai error page; never a traceback, and a bare one if the layout itself fails."""
    try:
        page = render_template("error.html", status=status, message_th=message_th)
    except Exception:  # the error page must not fail in turn
        current_app.logger.exception("error page could not be rendered")
        page = refusal.bare_error_page(message_th)
    return Response(page, status=status, content_type=HTML), status


def render_errors(app: Flask) -> None:
    """Render every error of ``app``: a Thai page for the clerk's pages, JSON for ``/api``."""

    @app.after_request
    def log_refused_form(response: Response) -> Response:
        """A page that shows its refused form again answers 4xx without raising."""
        status = response.status_code
        if 400 <= status < 500 and not g.get("refusal_logged") and is_page():
            log_refusal(status, "form_refused", "the form was shown again with its errors")
        return response

    @app.errorhandler(NodeError)
    def node_error(e: NodeError) -> tuple[Response, int]:
        if e.status < 500:
            log_refusal(e.status, e.code, e.reason)
        if is_page():
            return error_page(e.status, e.message_th)
        return jsonify(e.to_json()), e.status

    @app.errorhandler(SarabanError)
    def protocol_error(e: SarabanError) -> tuple[Response, int]:
        return node_error(from_protocol(e))

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> tuple[Response, int]:
        status = e.code or 500
        if status == 413:  # a chunked body read past its limit, or a form past Flask's
            return node_error(too_large(int(request.max_content_length or SMALL_BODY_BYTES)))
        message_th = PAGE_MESSAGES.get(status, BAD_REQUEST_TH)
        code = (e.name or "http_error").lower().replace(" ", "_")
        reason = e.description or e.name
        if status < 500:
            log_refusal(status, code, reason)
        if is_page():
            return error_page(status, message_th)
        return jsonify({"error": code, "reason": reason, "message_th": message_th}), status

    @app.errorhandler(Exception)
    def internal_error(e: Exception) -> tuple[Response, int]:
        current_app.logger.exception("unexpected error")
        if is_page():
            return error_page(500, GENERIC_TH)
        return jsonify(
            {"error": "internal_error", "reason": type(e).__name__, "message_th": GENERIC_TH}
        ), 500
