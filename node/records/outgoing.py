"""Sending letters (การส่งหนังสือ): draft → issue the number (ออกเลข) → dispatch.

* drafts are kept by :mod:`node.records.drafts`; nothing leaves the office and no number is taken.
* :func:`issue_number` takes the next number of the letter's register (ส่ง, ว, คำสั่ง,
  ประกาศ, from the owning unit or the office, or a reserved number), dates the letter and
  writes the ``register`` envelope, all in one transaction.
* :func:`dispatch` sends it: to offices electronically through the hub (a signed ``letter``
  envelope, distribution lists expanded through the directory) and/or on paper to outside
  parties with the method recorded (ไปรษณีย์ลงทะเบียน, by hand, ...). Every recipient gets
  a tracking row. The office's own row of the letter is its file copy (สำเนาคู่ฉบับ).
* a ลับ or ลับมาก letter goes sealed (:mod:`node.records.sealed`, ADR 0022): the signed
  body shows a neutral subject and cites its attachments' ciphertext; ลับที่สุด never goes
  electronically.
* :func:`send_letter` does all three in one transaction, as the API's one-step send.

Every check runs before anything is written, so bad input stores nothing. Instruments
that take no number (ระเบียบ, ข้อบังคับ, แถลงการณ์, ข่าว) are dispatched without one.
Receiving is in :mod:`node.records.inbox`; tracking and withdrawal in :mod:`node.records.letters`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from node.context import NodeContext
from node.errors import Conflict
from node.records import registers
from node.records.drafts import (
    Draft,
    bad,
    check_draft,
    create_draft,
    draft_of,
    expand_recipients,
    own_draft,
    series_of,
)
from node.records.letters import NewAttachment
from node.records.sealed import is_sealed, recipient_seal_keys, seal_outgoing
from node.storage import audit, feed
from node.storage.store import Store
from protocol.errors import BadMessage
from protocol.lettertypes import TOP_SECRET
from protocol.messages import Letter
from protocol.numbers import search_key
from protocol.thai import bangkok_date, format_thai_date, normalize_thai

ELECTRONIC = "hub"
PAPER = "paper"


def _letter_date(now: float) -> tuple[str, str]:
    moment = datetime.fromtimestamp(now, UTC)
    return format_thai_date(moment), bangkok_date(moment).isoformat()


def issue_number(
    ctx: NodeContext,
    store: Store,
    letter_id: int,
    *,
    reserved_number: int | None = None,
    actor: str = "clerk",
) -> dict[str, Any]:
    """ออกเลข: number a draft from its register and date it; return the number."""
    issued, letter_date = _take_number(ctx, store, letter_id, reserved_number, actor, True)
    return {
        "id": letter_id,
        "number": issued.display,
        "register": issued.register,
        "provisional": issued.provisional,
        "letter_date": letter_date,
    }


def _take_number(
    ctx: NodeContext,
    store: Store,
    letter_id: int,
    reserved_number: int | None,
    actor: str,
    announce: bool,
) -> tuple[registers.Issued, str]:
    """Number and date a draft; write its register envelope now unless ``announce`` is off.

    The one-step send announces later, once the letter's envelope exists to be named.
    """
    now = ctx.now()
    with store.transaction():
        row = own_draft(store, letter_id)
        if row["state"] != "draft":
            raise Conflict(
                f"letter {letter_id} already has the number {row['number']}",
                message_th=f"หนังสือนี้ออกเลขแล้ว: {row['number']}",
            )
        d = draft_of(row)
        series = series_of(d)
        if series is None:
            raise Conflict(
                f"a {d.sub_type} is issued without a number",
                message_th=f"{d.sub_type}ไม่ต้องออกเลขทะเบียนส่ง ให้ส่งได้ทันที",
            )
        if reserved_number is not None:
            reg = registers.ensure_register(ctx, store, series, now, d.unit)
            entry = registers.use_reserved(store, reg["id"], reserved_number)
            store.execute(
                "UPDATE register_entries SET action = 'issued' WHERE id = ?", (entry["id"],)
            )
            issued = registers.Issued(
                reg["id"], reserved_number, entry["display"], None, entry["id"]
            )
        else:
            issued = registers.allocate(ctx, store, series, now, unit=d.unit)
        letter_date, letter_day = _letter_date(now)
        store.execute(
            "UPDATE letters SET state = 'numbered', stage = 'numbered', number = ?, "
            "number_key = ?, register = ?, register_number = ?, provisional_id = ?, "
            "letter_date = ?, letter_day = ?, updated_at = ? WHERE id = ?",
            (
                issued.display,
                search_key(issued.display),
                issued.register,
                None if issued.provisional else issued.number,
                issued.provisional_id,
                letter_date,
                letter_day,
                now,
                letter_id,
            ),
        )
        if announce:
            registers.announce(
                ctx,
                store,
                issued,
                now,
                letter_id=letter_id,
                subject=None if d.secrecy else d.subject,
            )
        else:
            store.execute(
                "UPDATE register_entries SET letter = ? WHERE id = ?", (letter_id, issued.entry_id)
            )
        audit.record(
            store,
            now,
            actor,
            "issue_number",
            f"letter:{letter_id}",
            {"number": issued.display, "register": issued.register},
        )
    return issued, letter_date


def check_dispatch(ctx: NodeContext, store: Store, d: Draft, method: str) -> list[str]:
    """The offices a letter goes to electronically, or the reason it cannot be sent:
    no recipient, ลับที่สุด electronically, a ลับ/ลับมาก letter to an office publishing no
    sealing key, paper without a known method.
    Checked before anything is written, by :func:`dispatch` and :func:`send_letter`."""
    offices = expand_recipients(ctx, store, d) if (d.recipients or d.lists) else []
    if not offices and not d.parties:
        raise bad(
            "a letter needs at least one recipient",
            "recipients_required",
            "กรุณาระบุผู้รับอย่างน้อยหนึ่งราย (หน่วยงานในระบบ หรือผู้รับภายนอกทางไปรษณีย์/นำส่ง)",
        )
    if offices and d.secrecy == TOP_SECRET:
        raise bad(
            "ลับที่สุด letters are never sent electronically: the correspondence regulation "
            "(ระเบียบสำนักนายกรัฐมนตรีว่าด้วยงานสารบรรณ, amended 2564) excludes them",
            "top_secret_not_electronic",
            "ระเบียบสำนักนายกรัฐมนตรีว่าด้วยงานสารบรรณ (ฉบับที่ 4) พ.ศ. 2564"
            " ไม่ให้ส่งหนังสือลับที่สุดทางระบบสารบรรณอิเล็กทรอนิกส์"
            " ให้ลงทะเบียนเป็นหนังสือกระดาษในทะเบียนหนังสือลับและส่งเป็นเอกสาร",
        )
    if offices and is_sealed(d.secrecy):
        recipient_seal_keys(store, offices)
    methods = [str(m) for m in ctx.settings.get("DISPATCH_METHODS") or ()]
    if d.parties and method not in methods:
        raise bad(
            f"paper dispatch needs a method, one of: {', '.join(methods)}",
            "dispatch_method_required",
            f"กรุณาเลือกวิธีส่งหนังสือ: {', '.join(methods)}",
        )
    return offices


def dispatch(
    ctx: NodeContext,
    store: Store,
    letter_id: int,
    *,
    method: str = "",
    note: str = "",
    actor: str = "clerk",
) -> dict[str, Any]:
    """Send a numbered letter (or one that takes no number): electronic and/or paper."""
    method = normalize_thai(method or "").strip()
    note = normalize_thai(note or "").strip()
    now = ctx.now()
    with store.transaction():
        row = own_draft(store, letter_id)
        d = draft_of(row)
        if row["state"] == "draft" and series_of(d) is not None:
            raise Conflict(
                f"letter {letter_id} needs its number before it is sent",
                message_th="กรุณาออกเลขหนังสือก่อนส่ง",
            )
        offices = check_dispatch(ctx, store, d, method)
        letter_date, letter_day = row["letter_date"], row["letter_day"]
        if not letter_date:
            letter_date, letter_day = _letter_date(now)
        env_id = None
        if offices:
            fields: dict[str, Any] = {
                "letter_type": d.letter_type,
                "sub_type": d.sub_type,
                "subject": d.subject,
                "number": row["number"],
                "register": row["register"] if row["number"] else None,
                "letter_date": letter_date,
                "speed": d.speed,
                "secrecy": d.secrecy,
                "sender": d.sender,
                "salutation": d.salutation,
                "body": d.body,
                "references": d.references,
                "enclosures": d.enclosures,
                "deadline": d.deadline,
                "recipients": offices,
                "lists": d.lists,
                "attachments": json.loads(row["attachments"] or "[]"),
            }
            if is_sealed(d.secrecy):
                fields = seal_outgoing(ctx, store, row, fields, offices)
            if d.library:  # unknown to older peers: kept and signed as an extra (ADR 0024)
                fields["extra"] = {**fields.get("extra", {}), "library": True}
            message = Letter(**fields)
            try:
                _, env = feed.append(store, ctx.signer, message, now)
            except BadMessage as e:
                raise bad(str(e), "bad_letter", "ข้อมูลหนังสือไม่ถูกต้อง") from e
            env_id = env.env_id
            store.execute(
                "UPDATE register_entries SET letter_env = ? "
                "WHERE letter = ? AND letter_env IS NULL",
                (env_id, letter_id),
            )
            for office in offices:
                store.insert(
                    "recipients",
                    {
                        "letter": letter_id,
                        "office": office,
                        "state": "queued",
                        "channel": ELECTRONIC,
                        "updated_at": now,
                    },
                )
        for party in d.parties:
            store.insert(
                "recipients",
                {
                    "letter": letter_id,
                    "office": party,
                    "state": "dispatched",
                    "channel": PAPER,
                    "method": method,
                    "reason": note or None,
                    "updated_at": now,
                },
            )
        state = "queued" if offices else "dispatched"
        store.execute(
            "UPDATE letters SET env_id = ?, state = ?, stage = 'dispatched', recipients = ?, "
            "letter_date = ?, letter_day = ?, dispatch_method = ?, dispatch_note = ?, "
            "dispatched_at = ?, updated_at = ? WHERE id = ?",
            (
                env_id,
                state,
                json.dumps(offices, ensure_ascii=False),
                letter_date,
                letter_day,
                method or None,
                note or None,
                now,
                now,
                letter_id,
            ),
        )
        audit.record(
            store,
            now,
            actor,
            "dispatch",
            f"letter:{letter_id}",
            {"env_id": env_id, "offices": offices, "parties": d.parties, "method": method},
        )
    return {
        "id": letter_id,
        "number": row["number"],
        "env_id": env_id,
        "state": state,
        "recipients": offices,
        "parties": d.parties,
        "method": method or None,
    }


def send_letter(
    ctx: NodeContext,
    store: Store,
    draft: Draft,
    attachments: Iterable[NewAttachment] = (),
    *,
    reserved_number: int | None = None,
    method: str = "",
    actor: str = "clerk",
) -> dict[str, Any]:
    """Compose, number and dispatch in one transaction (the one-step send)."""
    d = check_draft(ctx, store, draft.cleaned())
    check_dispatch(ctx, store, d, normalize_thai(method or "").strip())
    with store.transaction():
        letter_id = create_draft(ctx, store, d, attachments, actor)["id"]
        issued = None
        if series_of(d) is not None:
            issued, _ = _take_number(ctx, store, letter_id, reserved_number, actor, False)
        sent = dispatch(ctx, store, letter_id, method=method, actor=actor)
        if issued is not None:
            registers.announce(
                ctx,
                store,
                issued,
                ctx.now(),
                letter_env_id=sent["env_id"],
                letter_id=letter_id,
                subject=None if d.secrecy else d.subject,
            )
    return {**sent, "provisional": bool(issued and issued.provisional)}
