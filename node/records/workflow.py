"""What happens to a received letter inside the office after ลงรับ, step by step.

registered (ลงรับแล้ว) → minuted (เกษียนแล้ว: a superior's minute and instruction) →
assigned (มอบหมาย to a division or a person; ส่งต่อ moves it on) → done (ดำเนินการแล้ว) →
kept (จัดเก็บ, with a retention period: :mod:`node.keeping.retention`).

Every step is one transaction that updates the letter's ``stage`` and writes an audit row
naming who and when, so a letter's whole history is one query (:func:`history`). Steps may
be repeated where practice repeats them (several minutes up the chain of command, several
forwards) but never run backwards: a letter that is done is not minuted again.

These steps stay inside the office: they are not sent to the hub (ADR 0007).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from node.context import NodeContext
from node.errors import BadInput, Conflict, NotFound
from node.records.access import OPERATOR, Viewer
from node.storage import audit
from node.storage.store import Store
from protocol.thai import format_thai_datetime, normalize_thai

STAGE_TITLES: dict[str, str] = {
    "draft": "ร่าง",
    "numbered": "ออกเลขแล้ว",
    "dispatched": "ส่งแล้ว",
    "queued": "รอส่งเข้าระบบ",
    "sent": "ส่งเข้าระบบแล้ว",
    "withdrawn": "ถอนแล้ว",
    "delivered": "รอลงรับ",
    "returned": "ส่งคืนแล้ว",
    "registered": "ลงรับแล้ว",
    "minuted": "เกษียนแล้ว",
    "assigned": "มอบหมายแล้ว",
    "done": "ดำเนินการแล้ว",
    "kept": "จัดเก็บแล้ว",
    "destroyed": "ทำลายแล้ว",
}
"""Each stage as the clerk reads it."""

ACTION_TITLES: dict[str, str] = {
    "create_draft": "ร่างหนังสือ",
    "update_draft": "แก้ไขร่าง",
    "issue_number": "ออกเลข",
    "dispatch": "ส่งหนังสือ",
    "send_letter": "ส่งหนังสือ",
    "withdraw_letter": "ถอนหนังสือ",
    "letter_received": "ได้รับหนังสือ",
    "register_receipt": "ลงรับ",
    "register_paper_letter": "ลงรับหนังสือกระดาษ",
    "return_letter": "ส่งคืน",
    "letter_withdrawn": "ผู้ส่งถอนหนังสือ",
    "minute": "เกษียน/สั่งการ",
    "assign": "มอบหมาย",
    "forward": "ส่งต่อ",
    "complete": "ดำเนินการแล้ว",
    "keep_letter": "จัดเก็บ",
    "set_retention": "กำหนดอายุการเก็บ",
    "borrow_letter": "ยืมหนังสือ",
    "return_loan": "คืนหนังสือที่ยืม",
    "propose_destruction": "เสนอขอทำลาย",
    "extend_retention": "ขยายเวลาเก็บ",
    "destroy_letter": "ทำลาย",
    "view_classified": "เปิดอ่านหนังสือลับ",
    "download_classified": "ดาวน์โหลดหนังสือลับ",
    "classified_refused": "พยายามเปิดหนังสือลับโดยไม่มีสิทธิ์",
    "number_finalised": "ได้รับเลขจริงแทนเลขชั่วคราว",
    "number_replaced": "เปลี่ยนเลขหนังสือหลังกู้คืนข้อมูลเครื่อง",
    "letter_signed_again": "ลงนามส่งหนังสือใหม่หลังกู้คืนข้อมูลเครื่อง",
}
"""Audit actions of a letter's history, in Thai."""

_ORDER = ("registered", "minuted", "assigned", "done", "kept", "destroyed")


def _text(value: str, field: str, field_th: str, required: bool = True) -> str:
    text = normalize_thai(value or "").strip()
    if required and not text:
        raise BadInput(
            f"{field} is required", code=f"{field}_required", message_th=f"กรุณาระบุ{field_th}"
        )
    return text


def _received(store: Store, letter_id: int, viewer: Viewer) -> dict[str, Any]:
    """The registered received letter ``letter_id`` that ``viewer`` may open."""
    row = store.one("SELECT * FROM letters WHERE id = ? AND direction = 'in'", (letter_id,))
    if row is None or not viewer.may_open(row):
        raise NotFound(f"no received letter {letter_id}", message_th="ไม่พบหนังสือรับ")
    if row["state"] != "registered" or not row["receipt_number"]:
        raise Conflict(
            f"letter {letter_id} is {row['state']}; register it (ลงรับ) first",
            message_th="ต้องลงรับหนังสือก่อนดำเนินการขั้นต่อไป",
        )
    return row


def _received_before(
    store: Store, letter_id: int, viewer: Viewer, stage: str, what_th: str
) -> dict[str, Any]:
    """:func:`_received`, refused if the letter is already past ``stage`` (no step runs
    backwards); ``what_th`` names the step in the Thai message."""
    row = _received(store, letter_id, viewer)
    current = row["stage"] or "registered"
    if current in _ORDER and _ORDER.index(current) > _ORDER.index(stage):
        title = STAGE_TITLES.get(current, current)
        raise Conflict(
            f"letter {row['id']} is already {current}",
            message_th=f"หนังสือนี้{title} ไม่สามารถ{what_th}ได้",
        )
    return row


def _advance(
    ctx: NodeContext,
    store: Store,
    row: dict[str, Any],
    stage: str,
    columns: dict[str, Any],
    action: str,
    actor: str,
    detail: dict[str, Any],
) -> dict[str, Any]:
    now = ctx.now()
    columns = {**columns, "stage": stage, "updated_at": now}
    sets = ", ".join(f"{c} = ?" for c in columns)
    # Column names come from this module, never from input.
    store.execute(
        f"UPDATE letters SET {sets} WHERE id = ?",  # noqa: S608
        [*columns.values(), row["id"]],
    )
    audit.record(store, now, actor, action, f"letter:{row['id']}", detail)
    return {"id": row["id"], "stage": stage, **detail}


def minute(
    ctx: NodeContext,
    store: Store,
    letter_id: int,
    *,
    text: str,
    instruction: str = "",
    by: str = "",
    actor: str = "clerk",
    viewer: Viewer = OPERATOR,
) -> dict[str, Any]:
    """เกษียนหนังสือ: record a superior's minute and instruction (สั่งการ)."""
    text = _text(text, "minute", "ข้อความเกษียน")
    instruction = _text(instruction, "instruction", "คำสั่งการ", required=False)
    by = _text(by, "by", "ผู้เกษียน", required=False) or actor
    with store.transaction():
        row = _received_before(store, letter_id, viewer, "assigned", "เกษียน")
        stage = row["stage"] if row["stage"] == "assigned" else "minuted"
        now = ctx.now()
        columns = {"minute": text, "instruction": instruction, "minuted_by": by, "minuted_at": now}
        detail = {"minute": text, "instruction": instruction, "by": by}
        return _advance(ctx, store, row, stage, columns, "minute", actor, detail)


def assign(
    ctx: NodeContext,
    store: Store,
    letter_id: int,
    *,
    to: str,
    note: str = "",
    actor: str = "clerk",
    viewer: Viewer = OPERATOR,
) -> dict[str, Any]:
    """มอบหมาย: hand the letter to a division (its unit code) or a named person."""
    to = _text(to, "to", "ผู้รับมอบหมาย")
    note = _text(note, "note", "หมายเหตุ", required=False)
    with store.transaction():
        row = _received_before(store, letter_id, viewer, "assigned", "มอบหมาย")
        action = "forward" if row["assigned_to"] else "assign"
        detail = {"to": to, "note": note}
        if row["assigned_to"]:
            if row["assigned_to"] == to:
                raise Conflict(
                    f"letter {letter_id} is already with {to}",
                    message_th=f"หนังสือนี้อยู่กับ {to} แล้ว",
                )
            detail["from"] = row["assigned_to"]
        columns = {"assigned_to": to, "assigned_at": ctx.now()}
        return _advance(ctx, store, row, "assigned", columns, action, actor, detail)


def forward(
    ctx: NodeContext,
    store: Store,
    letter_id: int,
    *,
    to: str,
    note: str = "",
    actor: str = "clerk",
    viewer: Viewer = OPERATOR,
) -> dict[str, Any]:
    """ส่งต่อ: move an assigned letter on to another division or person."""
    with store.transaction():
        row = _received(store, letter_id, viewer)
        if not row["assigned_to"]:
            raise Conflict(
                f"letter {letter_id} was not assigned yet",
                message_th="หนังสือนี้ยังไม่ได้มอบหมาย ให้มอบหมายก่อนส่งต่อ",
            )
        return assign(ctx, store, letter_id, to=to, note=note, actor=actor, viewer=viewer)


def complete(
    ctx: NodeContext,
    store: Store,
    letter_id: int,
    *,
    note: str = "",
    actor: str = "clerk",
    viewer: Viewer = OPERATOR,
) -> dict[str, Any]:
    """ดำเนินการแล้ว: the work the letter asked for is done."""
    note = _text(note, "note", "ผลการดำเนินการ", required=False)
    with store.transaction():
        row = _received_before(store, letter_id, viewer, "done", "บันทึกว่าดำเนินการแล้ว")
        if row["stage"] == "done":
            raise Conflict(f"letter {letter_id} is already done", message_th="หนังสือนี้ดำเนินการแล้ว")
        return _advance(
            ctx, store, row, "done", {"done_at": ctx.now()}, "complete", actor, {"note": note}
        )


def history(store: Store, letter_id: int) -> list[dict[str, Any]]:
    """Every recorded step of a letter, oldest first, with Thai labels and times."""
    return [
        {
            "at": h["at"],
            "at_th": format_thai_datetime(datetime.fromtimestamp(h["at"], UTC)),
            "actor": h["actor"],
            "action": h["action"],
            "action_th": ACTION_TITLES.get(h["action"], h["action"]),
            "detail": json.loads(h["detail"] or "{}"),
        }
        for h in store.query(
            "SELECT at, actor, action, detail FROM audit WHERE subject = ? ORDER BY id",
            (f"letter:{letter_id}",),
        )
    ]
