"""Sending letters (ส่งหนังสือ), withdrawing them, and tracking every recipient.

:func:`send_letter` checks everything first (nothing is stored for bad input), then in ONE
transaction issues the number from the chosen register, stores the letter, its recipients
(``queued``), the ``letter`` and ``register`` envelopes and the audit row. Distribution
lists are expanded through the trusted directory at compose time; unknown offices and
ลับที่สุด letters are refused.

Receiving is in :mod:`node.inbox`; moving envelopes to the hub in :mod:`node.sync`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from protocol.errors import BadMessage
from protocol.lettertypes import LETTER_TYPES, SECRECY_CLASSES, SPEED_CLASSES
from protocol.messages import (
    MAX_ATTACHMENT_BYTES,
    Attachment,
    Letter,
    Withdraw,
)
from protocol.numbers import Series, search_key
from protocol.thai import format_thai_date, normalize_thai

from . import audit, feed, registers
from .blobs import record_attachment, save_blob
from .context import NodeContext
from .directory import require_trusted
from .errors import BadInput, Conflict, NotFound
from .store import Store

RECIPIENT_RANK = {
    "queued": 0,
    "sent": 1,
    "delivered": 2,
    "registered": 3,
    "returned": 3,
    "invalid": 3,
    "withdrawn": 3,
}
JSON_COLUMNS = ("refs", "enclosures", "lists", "recipients", "attachments")


@dataclass(frozen=True)
class NewAttachment:
    """An attachment as the clerk gives it: a name, a media type and the bytes."""

    name: str
    media_type: str
    content: bytes

    @classmethod
    def from_json(cls, data: Any) -> NewAttachment:
        """From ``{"name", "media_type", "content_base64"}``."""
        if not isinstance(data, dict):
            raise BadInput("an attachment must be an object", code="bad_attachment")
        name, media, b64 = data.get("name"), data.get("media_type"), data.get("content_base64")
        if not all(isinstance(v, str) and v for v in (name, media, b64)):
            raise BadInput(
                "an attachment needs name, media_type and content_base64",
                code="bad_attachment",
                message_th="ไฟล์แนบต้องมีชื่อ ชนิด และเนื้อหา",
            )
        try:
            content = base64.b64decode(str(b64), validate=True)
        except (binascii.Error, ValueError) as e:
            raise BadInput(
                "content_base64 is not base64",
                code="bad_attachment",
                message_th="เนื้อหาไฟล์แนบไม่ถูกต้อง",
            ) from e
        return cls(str(name), str(media), content)


def letter_row(
    letter: Letter, env_id: str, *, direction: str, state: str, now: float
) -> dict[str, Any]:
    """The ``letters`` row of a signed letter, sent (``out``) or received (``in``)."""
    row: dict[str, Any] = {
        "direction": direction,
        "env_id": env_id,
        "origin": letter.origin,
        "number": letter.number,
        "number_key": search_key(letter.number or ""),
        "register": letter.register,
        "subject": letter.subject,
        "letter_type": letter.letter_type,
        "speed": letter.speed,
        "secrecy": letter.secrecy,
        "letter_date": letter.letter_date,
        "body": letter.body,
        "salutation": letter.salutation,
        "sender": letter.sender,
        "refs": json.dumps(letter.references, ensure_ascii=False),
        "enclosures": json.dumps(letter.enclosures, ensure_ascii=False),
        "lists": json.dumps(letter.lists, ensure_ascii=False),
        "recipients": json.dumps(letter.recipients, ensure_ascii=False),
        "attachments": json.dumps(letter.attachments, ensure_ascii=False),
        "deadline": letter.deadline,
        "state": state,
        "created_at": now,
    }
    if direction == "in":
        row["received_at"] = now
    return row


def _bad(reason: str, code: str, message_th: str) -> BadInput:
    return BadInput(reason, code=code, message_th=message_th)


def _check_choice(value: str, allowed: Sequence[str], what: str, what_th: str) -> str:
    if value not in allowed:
        raise _bad(
            f"unknown {what} {value!r}",
            f"bad_{what.replace(' ', '_')}",
            f"{what_th}ไม่ถูกต้อง: {value}",
        )
    return value


def send_letter(
    ctx: NodeContext,
    store: Store,
    *,
    subject: str,
    recipients: Iterable[str] = (),
    lists: Iterable[str] = (),
    letter_type: str = "ภายนอก",
    speed: str = "",
    secrecy: str = "",
    body: str = "",
    salutation: str = "",
    sender: str = "",
    references: Iterable[str] = (),
    enclosures: Iterable[str] = (),
    deadline: str | None = None,
    series: str | None = None,
    attachments: Iterable[NewAttachment] = (),
    reserved_number: int | None = None,
    actor: str = "clerk",
) -> dict[str, Any]:
    """Compose, number and queue a letter; return ``{id, number, env_id, state}``."""
    subject = normalize_thai(subject or "").strip()
    if not subject:
        raise _bad("a letter needs a subject", "subject_required", "กรุณาระบุเรื่อง")
    _check_choice(letter_type, LETTER_TYPES, "letter type", "ชนิดหนังสือ")
    _check_choice(speed, SPEED_CLASSES, "speed", "ชั้นความเร็ว")
    _check_choice(secrecy, SECRECY_CLASSES, "secrecy", "ชั้นความลับ")
    if secrecy == "ลับที่สุด":
        raise _bad(
            "ลับที่สุด letters are never sent electronically",
            "top_secret_not_electronic",
            "หนังสือลับที่สุดห้ามส่งทางระบบอิเล็กทรอนิกส์ ให้ลงทะเบียนและส่งเป็นเอกสาร",
        )
    if secrecy:
        raise _bad(
            "sealed (classified) letters are not available on this node yet",
            "sealing_not_available",
            "ยังไม่รองรับการส่งหนังสือชั้นความลับทางระบบ",
        )
    series_value = series or (Series.CIRCULAR.value if lists else Series.OUTGOING.value)
    series_enum = registers.parse_series(series_value)
    if series_enum is Series.RECEIPT:
        raise _bad(
            "letters are not numbered from the receipt register",
            "bad_series",
            "ไม่สามารถออกเลขหนังสือส่งจากทะเบียนรับ",
        )
    trusted = require_trusted(store)
    explicit = [str(r).strip() for r in recipients]
    if ctx.office in explicit:
        raise _bad(
            "an office does not send a letter to itself",
            "self_recipient",
            "ไม่สามารถส่งหนังสือถึงหน่วยงานของตนเอง",
        )
    list_names = [str(n) for n in lists]
    try:
        expanded = [r for r in trusted.expand(explicit, list_names) if r != ctx.office]
    except BadMessage as e:
        raise _bad(str(e), "unknown_recipient", "ไม่พบหน่วยงานหรือบัญชีรายชื่อผู้รับในทะเบียนกลาง") from e
    if not expanded:
        raise _bad(
            "a letter needs at least one recipient",
            "recipients_required",
            "กรุณาระบุหน่วยงานผู้รับอย่างน้อยหนึ่งแห่ง",
        )
    files = list(attachments)
    for f in files:
        if len(f.content) > MAX_ATTACHMENT_BYTES:
            raise _bad(
                f"attachment {f.name!r} is too large",
                "attachment_too_large",
                "ไฟล์แนบมีขนาดใหญ่เกินกำหนด",
            )
    now = ctx.now()
    metas = [
        Attachment(
            save_blob(ctx.blob_dir(), f.content),
            len(f.content),
            f.media_type,
            normalize_thai(f.name),
        )
        for f in files
    ]
    letter_date = format_thai_date(datetime.fromtimestamp(now, UTC))
    with store.transaction():
        if reserved_number is not None:
            reg = registers.ensure_register(ctx, store, series_enum, now)
            entry = registers.use_reserved(store, reg["id"], reserved_number)
            store.execute(
                "UPDATE register_entries SET action = 'issued' WHERE id = ?", (entry["id"],)
            )
            issued = registers.Issued(
                reg["id"], reserved_number, entry["display"], None, entry["id"]
            )
        else:
            issued = registers.allocate(ctx, store, series_enum, now)
        letter_id = store.insert(
            "letters",
            {
                "direction": "out",
                "origin": ctx.office,
                "state": "queued",
                "created_at": now,
                "subject": subject,
            },
        )
        message = Letter(
            letter_type=letter_type,
            subject=subject,
            number=issued.display,
            register=issued.register,
            letter_date=letter_date,
            speed=speed,
            secrecy=secrecy,
            sender=sender,
            salutation=salutation,
            body=body,
            references=list(references),
            enclosures=list(enclosures),
            deadline=deadline,
            recipients=expanded,
            lists=list_names,
            attachments=[a.to_dict() for a in metas],
        )
        try:
            signed, env = feed.append(store, ctx.signer, message, now)
        except BadMessage as e:
            raise _bad(str(e), "bad_letter", "ข้อมูลหนังสือไม่ถูกต้อง") from e
        store.execute(
            "UPDATE letters SET env_id = ?, number = ?, number_key = ?, register = ?, "
            "register_number = ?, provisional_id = ?, subject = ?, letter_type = ?, speed = ?, "
            "secrecy = ?, letter_date = ?, body = ?, salutation = ?, sender = ?, refs = ?, "
            "enclosures = ?, lists = ?, recipients = ?, attachments = ?, deadline = ? "
            "WHERE id = ?",
            (
                env.env_id,
                signed.number,
                search_key(signed.number or ""),
                issued.register,
                None if issued.provisional else issued.number,
                issued.provisional_id,
                signed.subject,
                letter_type,
                speed,
                secrecy,
                letter_date,
                signed.body,
                signed.salutation,
                signed.sender,
                json.dumps(signed.references, ensure_ascii=False),
                json.dumps(signed.enclosures, ensure_ascii=False),
                json.dumps(list_names, ensure_ascii=False),
                json.dumps(expanded, ensure_ascii=False),
                json.dumps(signed.attachments, ensure_ascii=False),
                deadline,
                letter_id,
            ),
        )
        for office in expanded:
            store.insert(
                "recipients",
                {"letter": letter_id, "office": office, "state": "queued", "updated_at": now},
            )
        for meta in metas:
            record_attachment(store, meta, present=True, direction="out")
        registers.announce(
            ctx,
            store,
            issued,
            now,
            letter_env_id=env.env_id,
            letter_id=letter_id,
            subject=signed.subject,
        )
        audit.record(
            store,
            now,
            actor,
            "send_letter",
            f"letter:{letter_id}",
            {"number": signed.number, "env_id": env.env_id, "recipients": expanded},
        )
    return {
        "id": letter_id,
        "number": signed.number,
        "env_id": env.env_id,
        "state": "queued",
        "provisional": issued.provisional,
        "recipients": expanded,
    }


def create_out_letter_from_feed(store: Store, env_id: str, letter: Letter, now: float) -> int:
    """Rebuild an own letter from its accepted envelope (restore, catch-up)."""
    existing = store.scalar("SELECT id FROM letters WHERE env_id = ?", (env_id,))
    if existing:
        return int(existing)
    letter_id = store.insert(
        "letters", letter_row(letter, env_id, direction="out", state="sent", now=now)
    )
    for office in letter.recipients:
        store.insert(
            "recipients",
            {"letter": letter_id, "office": office, "state": "sent", "updated_at": now},
        )
    for att in letter.attachment_list():
        record_attachment(store, att, present=False, direction="out")
    return letter_id


def mark_sent(store: Store, env_id: str, now: float) -> None:
    """The hub accepted a letter envelope: its queued recipients become ``sent``."""
    letter_id = store.scalar(
        "SELECT id FROM letters WHERE env_id = ? AND direction = 'out'", (env_id,)
    )
    if letter_id is None:
        return
    store.execute(
        "UPDATE letters SET state = 'sent' WHERE id = ? AND state = 'queued'", (letter_id,)
    )
    store.execute(
        "UPDATE recipients SET state = 'sent', updated_at = ? "
        "WHERE letter = ? AND state = 'queued'",
        (now, letter_id),
    )


def update_recipient(
    store: Store,
    letter_id: int,
    office: str,
    state: str,
    now: float,
    receipt_number: str | None = None,
    at: str | None = None,
    reason: str | None = None,
) -> bool:
    """Move one recipient forward (never back); return whether anything changed."""
    row = store.one("SELECT * FROM recipients WHERE letter = ? AND office = ?", (letter_id, office))
    if row is None:
        return False
    if RECIPIENT_RANK.get(state, 0) < RECIPIENT_RANK.get(row["state"], 0):
        return False
    if RECIPIENT_RANK.get(state) == 3 and RECIPIENT_RANK.get(row["state"]) == 3:
        return False
    store.execute(
        "UPDATE recipients SET state = ?, receipt_number = COALESCE(?, receipt_number), "
        "at = COALESCE(?, at), reason = COALESCE(?, reason), updated_at = ? WHERE id = ?",
        (state, receipt_number, at, reason, now, row["id"]),
    )
    return True


def withdraw_letter(
    ctx: NodeContext, store: Store, letter_id: int, reason: str = "", actor: str = "clerk"
) -> dict[str, Any]:
    """Withdraw (ถอน) a sent letter from every recipient that has not registered it."""
    reason = (reason or "").strip() or "ผู้ส่งขอถอนหนังสือ"
    now = ctx.now()
    with store.transaction():
        letter = store.one("SELECT * FROM letters WHERE id = ? AND direction = 'out'", (letter_id,))
        if letter is None or not letter["env_id"]:
            raise NotFound(f"no sent letter {letter_id}")
        open_recipients = [
            r["office"]
            for r in store.query(
                "SELECT office FROM recipients WHERE letter = ? "
                "AND state IN ('queued', 'sent', 'delivered')",
                (letter_id,),
            )
        ]
        if not open_recipients:
            raise Conflict(
                "every recipient has already registered or returned this letter",
                message_th="ผู้รับทุกแห่งลงรับหรือส่งคืนแล้ว ไม่สามารถถอนหนังสือได้",
            )
        message = Withdraw(letter=letter["env_id"], reason=reason, recipients=open_recipients)
        _, env = feed.append(store, ctx.signer, message, now)
        for office in open_recipients:
            store.execute(
                "UPDATE recipients SET state = 'withdrawn', reason = ?, updated_at = ? "
                "WHERE letter = ? AND office = ?",
                (reason, now, letter_id, office),
            )
        store.execute(
            "UPDATE letters SET state = 'withdrawn', reason = ? WHERE id = ?", (reason, letter_id)
        )
        audit.record(
            store,
            now,
            actor,
            "withdraw_letter",
            f"letter:{letter_id}",
            {"reason": reason, "recipients": open_recipients, "env_id": env.env_id},
        )
    return {
        "id": letter_id,
        "state": "withdrawn",
        "recipients": open_recipients,
        "env_id": env.env_id,
    }


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for col in JSON_COLUMNS:
        if isinstance(out.get(col), str):
            out[col] = json.loads(out[col])
    out["paper"] = bool(out.get("paper"))
    return out


def tracking(store: Store, letter_id: int) -> list[dict[str, Any]]:
    """Every recipient's state, receipt number, time and reason."""
    return store.query(
        "SELECT office, state, receipt_number, at, reason, updated_at FROM recipients "
        "WHERE letter = ? ORDER BY id",
        (letter_id,),
    )


def get_letter(store: Store, letter_id: int) -> dict[str, Any]:
    """One letter with its tracking and its audit history."""
    row = store.one("SELECT * FROM letters WHERE id = ?", (letter_id,))
    if row is None:
        raise NotFound(f"no letter {letter_id}", message_th="ไม่พบหนังสือ")
    out = _decode(row)
    out["tracking"] = tracking(store, letter_id)
    out["history"] = [
        {
            "at": h["at"],
            "actor": h["actor"],
            "action": h["action"],
            "detail": json.loads(h["detail"] or "{}"),
        }
        for h in store.query(
            "SELECT * FROM audit WHERE subject = ? ORDER BY id", (f"letter:{letter_id}",)
        )
    ]
    return out


_LIST_COLUMNS = (
    "id, direction, env_id, origin, number, subject, speed, secrecy, state, letter_date, "
    "received_at, registered_at, receipt_number, number_notice, paper, created_at"
)


def list_letters(store: Store, box: str = "all", limit: int = 200) -> list[dict[str, Any]]:
    """Letters of one box: ``inbox`` (received), ``sent`` or ``all``, newest first."""
    where = {"inbox": "WHERE direction = 'in'", "sent": "WHERE direction = 'out'", "all": ""}
    if box not in where:
        raise BadInput(
            f"unknown box {box!r} (inbox, sent or all)", code="bad_box", message_th="ไม่รู้จักกล่องหนังสือ"
        )
    # The WHERE clause comes from the fixed table above, never from the caller.
    sql = f"SELECT {_LIST_COLUMNS} FROM letters {where[box]} ORDER BY id DESC LIMIT ?"  # noqa: S608
    rows = store.query(
        sql,
        (limit,),
    )
    for r in rows:
        r["paper"] = bool(r["paper"])
    return rows


def stats(store: Store) -> dict[str, int]:
    """Counts for the status page: sent, received, registered, pending."""

    def count(sql: str) -> int:
        return int(store.scalar(sql) or 0)

    return {
        "sent": count("SELECT COUNT(*) FROM letters WHERE direction = 'out'"),
        "received": count("SELECT COUNT(*) FROM letters WHERE direction = 'in'"),
        "registered": count(
            "SELECT COUNT(*) FROM letters WHERE direction = 'in' AND state = 'registered'"
        ),
        "pending": count(
            "SELECT COUNT(*) FROM letters WHERE direction = 'in' AND state = 'delivered'"
        ),
        "returned": count(
            "SELECT COUNT(*) FROM letters WHERE direction = 'in' AND state = 'returned'"
        ),
        "awaiting_receipt": count(
            "SELECT COUNT(*) FROM recipients WHERE state IN ('queued', 'sent', 'delivered')"
        ),
    }
