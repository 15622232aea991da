"""Local API for correspondence: letters, drafts, numbering, dispatch and the workflow.

Routes (all behind the bearer token; the viewer from ``X-Saraban-User``/``-Roles``):

* ``POST /api/letters``: compose, number and dispatch in one step;
* ``POST /api/drafts``, ``PATCH /api/letters/<id>``: keep and edit a draft;
* ``POST /api/letters/<id>/number``: ออกเลข (``{"reserved_number"?}``);
* ``POST /api/letters/<id>/dispatch``: send (``{"method"?, "note"?}`` for paper);
* ``GET /api/letters``, ``GET /api/letters/<id>``, ``GET /api/letters/<id>/history``;
* ``GET /api/letters/<id>/sealed``: open a received ลับ/ลับมาก letter (subject, body,
  attachments), for those the office lets open it; ``GET
  /api/letters/<id>/sealed/<sha256>``: one of its attachments, decrypted;
* ``POST /api/paper-letters``: ลงรับหนังสือกระดาษ with its scan; one that looks registered
  already is a 409 ``possible_duplicate`` naming the ``earlier`` entry, unless
  ``"confirm_duplicate": true``;
* ``POST /api/letters/<id>/minute|assign|forward|done``: the receiving workflow
  (:data:`WORKFLOW_STEPS`);
* ``GET /api/units``, ``POST /api/units``: the office's units and their letter codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import Response, jsonify, request

from node.api.kit import actor, body, ctx, int_field, protected_blueprint, store, text_field, viewer
from node.errors import BadInput
from node.records import drafts, inbox, letters, outgoing, sealed, units, workflow
from node.records.letters import NewAttachment
from protocol.limits import MAX_NUMBER_TEXT

bp = protected_blueprint("letters", __name__)


def _attachments(data: dict[str, Any]) -> list[NewAttachment]:
    items = data.get("attachments") or []
    if not isinstance(items, list):
        raise BadInput(
            "attachments must be a list", code="bad_attachment", message_th="ไฟล์แนบไม่ถูกต้อง"
        )
    return [NewAttachment.from_json(a) for a in items]


@bp.post("/letters")
def send() -> tuple[Response, int]:
    """Compose, number and dispatch a letter in one step."""
    data = body()
    result = outgoing.send_letter(
        ctx(),
        store(),
        drafts.Draft.from_json(data),
        _attachments(data),
        reserved_number=int_field(data, "reserved_number"),
        method=text_field(data, "method"),
        actor=actor(),
    )
    return jsonify(result), 201


@bp.post("/drafts")
def create_draft() -> tuple[Response, int]:
    """Keep a new draft."""
    data = body()
    draft = drafts.Draft.from_json(data)
    result = drafts.create_draft(ctx(), store(), draft, _attachments(data), actor())
    return jsonify(result), 201


@bp.patch("/letters/<int:letter_id>")
def update_draft(letter_id: int) -> Response:
    """Edit a draft's fields."""
    data = body()
    data.pop("attachments", None)
    return jsonify(drafts.update_draft(ctx(), store(), letter_id, data, actor()))


@bp.post("/letters/<int:letter_id>/number")
def issue_number(letter_id: int) -> Response:
    """ออกเลข."""
    data = body()
    result = outgoing.issue_number(
        ctx(),
        store(),
        letter_id,
        reserved_number=int_field(data, "reserved_number"),
        actor=actor(),
    )
    return jsonify(result)


@bp.post("/letters/<int:letter_id>/dispatch")
def dispatch(letter_id: int) -> Response:
    """Send a numbered letter electronically and/or on paper."""
    data = body()
    return jsonify(
        outgoing.dispatch(
            ctx(),
            store(),
            letter_id,
            method=text_field(data, "method"),
            note=text_field(data, "note"),
            actor=actor(),
        )
    )


@bp.get("/letters")
def list_letters() -> Response:
    """``?box=inbox|sent|drafts|all``; a classified letter the viewer may not open is
    listed as existing (``hidden``), without its subject."""
    box = request.args.get("box", "all")
    rows = letters.list_letters(store(), box, viewer=viewer(), existing=True)
    return jsonify({"letters": rows})


@bp.get("/letters/<int:letter_id>")
def get_letter(letter_id: int) -> Response:
    """One letter with tracking and history."""
    return jsonify(letters.get_letter(store(), letter_id, viewer=viewer()))


@bp.get("/letters/<int:letter_id>/sealed")
def open_sealed(letter_id: int) -> Response:
    """A received sealed letter, opened (recorded in the audit trail)."""
    return jsonify(sealed.open_letter(ctx(), store(), letter_id, viewer=viewer()))


@bp.get("/letters/<int:letter_id>/sealed/<sha>")
def sealed_attachment(letter_id: int, sha: str) -> Response:
    """One attachment of a received sealed letter, decrypted (recorded)."""
    name, media, data = sealed.open_attachment(ctx(), store(), letter_id, sha, viewer=viewer())
    disposition = (
        f"attachment; filename=\"letter-{letter_id}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    return Response(
        data,
        mimetype="application/octet-stream" if not media else media,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


@bp.get("/letters/<int:letter_id>/history")
def history(letter_id: int) -> Response:
    """Every step of one letter: who and when."""
    letters.get_letter(store(), letter_id, viewer=viewer())
    return jsonify({"id": letter_id, "history": workflow.history(store(), letter_id)})


@bp.post("/paper-letters")
def paper_letter() -> tuple[Response, int]:
    """ลงรับหนังสือกระดาษ (with its scan as an attachment)."""
    data = body()
    number = text_field(data, "number")
    if len(number) > MAX_NUMBER_TEXT:
        raise BadInput(
            f"number has {len(number)} characters, more than {MAX_NUMBER_TEXT}",
            code="number_too_long",
            message_th=f"เลขที่หนังสือยาวได้ไม่เกิน {MAX_NUMBER_TEXT} ตัวอักษร",
        )
    result = inbox.register_paper_letter(
        ctx(),
        store(),
        subject=text_field(data, "subject"),
        origin=text_field(data, "origin") or text_field(data, "sender"),
        number=number,
        letter_date=text_field(data, "letter_date"),
        addressee=text_field(data, "addressee"),
        secrecy=text_field(data, "secrecy"),
        speed=text_field(data, "speed"),
        letter_type=text_field(data, "letter_type", "ภายนอก") or "ภายนอก",
        sub_type=text_field(data, "sub_type") or None,
        attachments=_attachments(data),
        clerk=actor(),
        confirm_duplicate=_flag(data, "confirm_duplicate"),
    )
    return jsonify(result), 201


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise BadInput(f"{name} must be true or false", code="bad_field")
    return value


WORKFLOW_STEPS: dict[str, tuple[Callable[..., dict[str, Any]], tuple[str, ...]]] = {
    "minute": (workflow.minute, ("text", "instruction", "by")),
    "assign": (workflow.assign, ("to", "note")),
    "forward": (workflow.forward, ("to", "note")),
    "done": (workflow.complete, ("note",)),
}
"""The receiving workflow's steps: the function and the text fields each takes."""


@bp.post("/letters/<int:letter_id>/<any(minute, assign, forward, done):step>")
def workflow_step(letter_id: int, step: str) -> Response:
    """เกษียน ``{"text", "instruction"?, "by"?}``, มอบหมาย / ส่งต่อ ``{"to", "note"?}``,
    ดำเนินการแล้ว ``{"note"?}``."""
    data = body()
    step_fn, names = WORKFLOW_STEPS[step]
    fields = {name: text_field(data, name) for name in names}
    return jsonify(step_fn(ctx(), store(), letter_id, **fields, actor=actor(), viewer=viewer()))


@bp.get("/units")
def list_units() -> Response:
    """The office and its divisions with their letter codes."""
    return jsonify({"units": units.list_units(store(), request.args.get("all") == "1")})


@bp.post("/units")
def save_unit() -> tuple[Response, int]:
    """Add or rename a unit: ``{"code", "name", "issuer"?, "active"?}``."""
    data = body()
    active = data.get("active", True)
    if not isinstance(active, bool):
        raise BadInput("active must be true or false", code="bad_field")
    result = units.save_unit(
        ctx(),
        store(),
        text_field(data, "code"),
        text_field(data, "name"),
        text_field(data, "issuer"),
        active,
        actor(),
    )
    return jsonify(result), 201
