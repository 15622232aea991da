"""The node's local JSON API (``/api/...``) for the CLI, the demo and the clerk UI.

Every route except ``/api/health`` needs ``Authorization: Bearer <token>`` with the token
written at init into ``<instance>/api_token``. Errors are rendered in one place
(:func:`node.app.register_error_handlers`) as
``{"error": code, "reason": English, "message_th": Thai}``; bad input is a 4xx and
stores nothing.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from . import inbox, letters, registers
from .context import NodeContext
from .errors import BadInput, Unauthorised
from .store import Store
from .sync import node_status, startup_check, sync_once

bp = Blueprint("api", __name__, url_prefix="/api")


def ctx() -> NodeContext:
    """The node this app serves."""
    node: NodeContext = current_app.extensions["saraban_node"]
    return node


def store() -> Store:
    """This request's database connection."""
    if "store" not in g:
        g.store = ctx().open_store()
    s: Store = g.store
    return s


def actor() -> str:
    """Who is acting, as the caller names them (the clerk UI sets it after login)."""
    return (request.headers.get("X-Saraban-User") or "clerk")[:100]


def body() -> dict[str, Any]:
    """The JSON object sent, or :class:`BadInput`."""
    data = request.get_json(silent=True)
    if data is None and not request.data:
        return {}
    if not isinstance(data, dict):
        raise BadInput(
            "the request body must be a JSON object",
            code="bad_json",
            message_th="รูปแบบข้อมูลไม่ถูกต้อง (ต้องเป็น JSON)",
        )
    return data


def _text(data: dict[str, Any], name: str, default: str = "") -> str:
    value = data.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadInput(
            f"{name} must be text", code="bad_field", message_th=f"ช่อง {name} ต้องเป็นข้อความ"
        )
    return value


def _strings(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput(
            f"{name} must be a list of text",
            code="bad_field",
            message_th=f"ช่อง {name} ต้องเป็นรายการข้อความ",
        )
    return value


def _int(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(
            f"{name} must be a whole number", code="bad_field", message_th=f"ช่อง {name} ต้องเป็นตัวเลข"
        )
    return value


@bp.before_request
def require_token() -> None:
    """Refuse any call without the right bearer token."""
    if request.endpoint == "api.health":
        return
    expected = current_app.config.get("API_TOKEN") or ""
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header.startswith("Bearer ") else ""
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorised("missing or wrong bearer token")


@bp.before_request
def check_hub_highwater_once() -> None:
    """Before the first action that issues anything, make sure the hub is not ahead."""
    if request.method == "POST" and request.endpoint != "api.sync_now":
        startup_check(ctx())


@bp.get("/health")
def health() -> Response:
    """Liveness, without a token."""
    return jsonify({"ok": True, "office": current_app.config.get("OFFICE")})


@bp.get("/status")
def status() -> Response:
    """Online/offline, last sync, outbox backlog, counts."""
    return jsonify(node_status(ctx()))


@bp.post("/letters")
def send() -> tuple[Response, int]:
    """Compose, number and queue a letter."""
    data = body()
    attachments = data.get("attachments") or []
    if not isinstance(attachments, list):
        raise BadInput("attachments must be a list", code="bad_attachment")
    result = letters.send_letter(
        ctx(),
        store(),
        subject=_text(data, "subject"),
        recipients=_strings(data, "recipients"),
        lists=_strings(data, "lists"),
        letter_type=_text(data, "letter_type", "ภายนอก") or "ภายนอก",
        speed=_text(data, "speed"),
        secrecy=_text(data, "secrecy"),
        body=_text(data, "body"),
        salutation=_text(data, "salutation"),
        sender=_text(data, "sender"),
        references=_strings(data, "references"),
        enclosures=_strings(data, "enclosures"),
        deadline=_text(data, "deadline") or None,
        series=_text(data, "series") or None,
        attachments=[letters.NewAttachment.from_json(a) for a in attachments],
        reserved_number=_int(data, "reserved_number"),
        actor=actor(),
    )
    return jsonify(result), 201


@bp.get("/letters")
def list_letters() -> Response:
    """``?box=inbox|sent|all``."""
    return jsonify({"letters": letters.list_letters(store(), request.args.get("box", "all"))})


@bp.get("/letters/<int:letter_id>")
def get_letter(letter_id: int) -> Response:
    """One letter with tracking and history."""
    return jsonify(letters.get_letter(store(), letter_id))


@bp.post("/letters/<int:letter_id>/register")
def register(letter_id: int) -> Response:
    """ลงรับ."""
    body()
    return jsonify(inbox.register_receipt(ctx(), store(), letter_id, actor()))


@bp.post("/letters/<int:letter_id>/return")
def return_letter(letter_id: int) -> Response:
    """ส่งคืน with a reason."""
    return jsonify(inbox.return_letter(ctx(), store(), letter_id, _text(body(), "reason"), actor()))


@bp.post("/letters/<int:letter_id>/withdraw")
def withdraw(letter_id: int) -> Response:
    """ถอนหนังสือ."""
    return jsonify(
        letters.withdraw_letter(ctx(), store(), letter_id, _text(body(), "reason"), actor())
    )


@bp.post("/paper-letters")
def paper_letter() -> tuple[Response, int]:
    """ลงรับหนังสือกระดาษ."""
    data = body()
    result = inbox.register_paper_letter(
        ctx(),
        store(),
        subject=_text(data, "subject"),
        origin=_text(data, "origin") or _text(data, "sender"),
        number=_text(data, "number"),
        letter_date=_text(data, "letter_date"),
        addressee=_text(data, "addressee"),
        secrecy=_text(data, "secrecy"),
        speed=_text(data, "speed"),
        clerk=actor(),
    )
    return jsonify(result), 201


@bp.post("/registers/<series>/reserve")
def reserve(series: str) -> tuple[Response, int]:
    """จองเลข."""
    issued = registers.reserve(ctx(), store(), series, _text(body(), "reason"), actor())
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
    number = _int(data, "number")
    if number is None:
        raise BadInput("number is required", code="number_required", message_th="กรุณาระบุเลข")
    reg_id = _text(data, "register")
    if not reg_id:
        s = store()
        with s.transaction():
            reg_id = registers.ensure_register(
                ctx(), s, registers.parse_series(series), ctx().now()
            )["id"]
    return jsonify(registers.void(ctx(), store(), reg_id, number, _text(data, "reason"), actor()))


@bp.get("/registers")
def list_registers() -> Response:
    """Every register and its entries."""
    return jsonify({"registers": registers.list_registers(store())})


@bp.post("/sync")
def sync_now() -> Response:
    """Run one sync now, ignoring back-off."""
    return jsonify(sync_once(ctx()).to_json())


@bp.get("/stats")
def stats() -> Response:
    """Counts of letters."""
    return jsonify(letters.stats(store()))
