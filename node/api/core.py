"""The node's local JSON API (``/api/...``) for the CLI, the demo and the clerk UI.

Every route except ``/api/health`` needs ``Authorization: Bearer <token>`` with the token
written at init into ``<instance>/api_token``. Errors are rendered in one place
(:func:`node.responses.render_errors`) as
``{"error": code, "reason": English, "message_th": Thai}``; bad input is a 4xx and
stores nothing. A state-changing call may carry an ``Idempotency-Key`` header: the same key
again gets the first answer and nothing is done twice (:func:`node.api.kit.answered_once`).
"""

from __future__ import annotations

from flask import Response, current_app, jsonify

from node.api.kit import (
    actor,
    acts_every_time,
    body,
    ctx,
    int_field,
    protected_blueprint,
    store,
    text_field,
)
from node.errors import BadInput
from node.records import inbox, letters, registers
from node.sync.health import node_status
from node.sync.worker import sync_once

bp = protected_blueprint("api", __name__)


@bp.get("/health")
def health() -> Response:
    """Liveness, without a token."""
    return jsonify({"ok": True, "office": current_app.config.get("OFFICE")})


@bp.get("/status")
def status() -> Response:
    """Online/offline, last sync, outbox backlog, counts."""
    return jsonify(node_status(ctx()))


@bp.post("/letters/<int:letter_id>/register")
def register(letter_id: int) -> Response:
    """ลงรับ."""
    body()
    return jsonify(inbox.register_receipt(ctx(), store(), letter_id, actor()))


@bp.post("/letters/<int:letter_id>/return")
def return_letter(letter_id: int) -> Response:
    """ส่งคืน with a reason."""
    return jsonify(
        inbox.return_letter(ctx(), store(), letter_id, text_field(body(), "reason"), actor())
    )


@bp.post("/letters/<int:letter_id>/withdraw")
def withdraw(letter_id: int) -> Response:
    """ถอนหนังสือ."""
    return jsonify(
        letters.withdraw_letter(ctx(), store(), letter_id, text_field(body(), "reason"), actor())
    )


@bp.post("/registers/<series>/reserve")
def reserve(series: str) -> tuple[Response, int]:
    """จองเลข."""
    issued = registers.reserve(ctx(), store(), series, text_field(body(), "reason"), actor())
    return jsonify(
        {
            "register": issued.register,
            "number": issued.number,
            "display": issued.display,
            "provisional": issued.provisional,
        }
    ), 201


@bp.post("/registers/<series>/void")
def void(series: str) -> Response:
    """ยกเลิกเลข (``{"number", "reason", "register"?}``)."""
    data = body()
    number = int_field(data, "number")
    if number is None:
        raise BadInput("number is required", code="number_required", message_th="กรุณาระบุเลข")
    reg_id = text_field(data, "register")
    if not reg_id:
        s = store()
        with s.transaction():
            reg_id = registers.ensure_register(
                ctx(), s, registers.parse_series(series), ctx().now()
            )["id"]
    return jsonify(
        registers.void(ctx(), store(), reg_id, number, text_field(data, "reason"), actor())
    )


@bp.get("/registers")
def list_registers() -> Response:
    """Every register and its entries."""
    return jsonify({"registers": registers.list_registers(store())})


@bp.post("/sync")
@acts_every_time
def sync_now() -> Response:
    """Run one sync now, ignoring back-off."""
    return jsonify(sync_once(ctx()).to_json())


@bp.get("/stats")
def stats() -> Response:
    """Counts of letters."""
    return jsonify(letters.stats(store()))
