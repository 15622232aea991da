"""How the node answers when something is refused or fails: a Thai page for the clerk's
pages, ``{"error", "reason", "message_th"}`` JSON for ``/api``. One place, never a
traceback; the hub answers the same way (:mod:`hub.responses`).

Does not: decide what is refused (the domain raises :mod:`node.errors`) or log anything but
a failure nobody expected.
"""

from __future__ import annotations

import html

from flask import Flask, Response, current_app, jsonify, render_template
from werkzeug.exceptions import HTTPException

from node.errors import NodeError, from_protocol
from node.web.session import is_page
from protocol.errors import SarabanError

HTML = "text/html; charset=utf-8"

PAGE_MESSAGES = {
    404: "ไม่พบหน้าที่ต้องการ",
    405: "วิธีการเรียกใช้ไม่ถูกต้อง",
    413: "ข้อมูลที่ส่งมีขนาดใหญ่เกินกำหนด",
}
"""What a clerk reads for an HTTP refusal of the web framework, by status."""
BAD_REQUEST_TH = "คำขอไม่ถูกต้อง"
GENERIC_TH = "เกิดข้อผิดพลาดภายในระบบ"


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


def render_errors(app: Flask) -> None:
    """Render every error of ``app``: a Thai page for the clerk's pages, JSON for ``/api``."""

    @app.errorhandler(NodeError)
    def node_error(e: NodeError) -> tuple[Response, int]:
        if is_page():
            return error_page(e.status, e.message_th)
        return jsonify(e.to_json()), e.status

    @app.errorhandler(SarabanError)
    def protocol_error(e: SarabanError) -> tuple[Response, int]:
        return node_error(from_protocol(e))

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> tuple[Response, int]:
        status = e.code or 500
        message_th = PAGE_MESSAGES.get(status, BAD_REQUEST_TH)
        if is_page():
            return error_page(status, message_th)
        return jsonify(
            {
                "error": (e.name or "http_error").lower().replace(" ", "_"),
                "reason": e.description or e.name,
                "message_th": message_th,
            }
        ), status

    @app.errorhandler(Exception)
    def internal_error(e: Exception) -> tuple[Response, int]:
        current_app.logger.exception("unexpected error")
        if is_page():
            return error_page(500, GENERIC_TH)
        return jsonify(
            {"error": "internal_error", "reason": type(e).__name__, "message_th": GENERIC_TH}
        ), 500
