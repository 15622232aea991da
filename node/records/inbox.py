"""Receiving letters (รับหนังสือ): storing what the hub delivers, ลงรับ, ส่งคืน, paper letters.

A letter pulled from the hub is stored and answered ``delivered`` once every attachment
it lists is held here (:mod:`node.records.deliveries`: the answers of one pulled batch go
in one ``deliveries`` envelope per sender, ADR 0028); it cannot be registered before, so
``delivered`` always comes before ``registered``. Registering it (ลงรับ) issues the next
number of the office's รับ register and sends a ``registered`` receipt with that number
and time; returning it sends ``returned`` with the reason. Incoming receipts, ``deliveries``
and withdrawals update the sender's tracking.

The caller (:mod:`node.sync.pull`) has verified every envelope before these functions see it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from node.context import NodeContext
from node.errors import BadInput, Conflict, NotFound
from node.records import deliveries, registers
from node.records.duplicates import refuse_duplicate
from node.records.letters import (
    NewAttachment,
    letter_row,
    record_attachment,
    save_attachments,
    update_recipient,
)
from node.storage import audit, feed
from node.storage.blobs import has_blob
from node.storage.feed import parse_iso
from node.storage.store import Store
from protocol.canonical import parse_canonical
from protocol.envelope import Envelope
from protocol.errors import BadMessage, SarabanError
from protocol.lettertypes import SECRECY_CLASSES, SPEED_CLASSES, check_type
from protocol.messages import Deliveries, Letter, Receipt, Withdraw
from protocol.numbers import Series, parse_letter_number, search_key
from protocol.thai import (
    fold_spaces,
    format_thai_date,
    format_thai_datetime,
    normalize_thai,
    parse_thai_date,
    to_arabic_digits,
)


@dataclass
class Known:
    """What the database holds about the letters of a pulled batch when it begins: which
    are stored, answered ``delivered``, named by this office's own receipts or by its
    register entries (an office restored or back from an old copy). Read in a few queries
    for the batch instead of five look-ups a letter, inside the batch's transaction; the
    letters the batch stores are added as it goes. Nothing else a pull applies signs a
    receipt or writes a register entry naming a received letter."""

    stored: set[str]
    answered: set[str]
    receipts: set[str]
    registered: set[str]

    @classmethod
    def of(cls, store: Store, env_ids: list[str]) -> Known:
        """What ``store`` holds about ``env_ids``."""
        own = store.rows_in("SELECT ref, status FROM feed WHERE kind = 'receipt' AND ref", env_ids)
        answered = store.rows_in(
            "SELECT letter_env FROM delivered_letters WHERE letter_env", env_ids
        )
        registered = store.rows_in(
            "SELECT letter_env FROM register_entries WHERE letter IS NULL AND letter_env", env_ids
        )
        stored = store.rows_in("SELECT env_id FROM letters WHERE env_id", env_ids)
        return cls(
            stored={r[0] for r in stored},
            answered={r[0] for r in answered} | {r[0] for r in own if r[1] == "delivered"},
            receipts={r[0] for r in own},
            registered={r[0] for r in registered},
        )


def apply_incoming_letter(
    ctx: NodeContext,
    store: Store,
    env_id: str,
    letter: Letter,
    now: float,
    known: Known | None = None,
    columns: dict[str, Any] | None = None,
) -> str:
    """Store a verified letter addressed to this office and acknowledge its delivery;
    ``known`` is what the database held about the pulled batch it belongs to, ``columns``
    the letter's row columns if the pull's worker worked them out."""
    if ctx.office not in letter.recipients:
        return "ignored: not addressed to this office"
    if letter.origin == ctx.office:
        return "ignored: own letter"
    if (
        env_id in known.stored
        if known is not None
        else store.scalar("SELECT id FROM letters WHERE env_id = ?", (env_id,)) is not None
    ):
        deliveries.emit_delivered(ctx, store, env_id, now)
        return "duplicate"
    letter_id = store.insert(
        "letters",
        letter_row(letter, env_id, direction="in", state="delivered", now=now, columns=columns),
    )
    if known is not None:
        known.stored.add(env_id)
    attachments = letter.attachment_list()
    for att in attachments:
        record_attachment(store, att, present=has_blob(ctx.blob_dir(), att.sha256), direction="in")
    audit.record(
        store,
        now,
        "system",
        "letter_received",
        f"letter:{letter_id}",
        {"env_id": env_id, "from": letter.origin, "number": letter.number},
    )
    # After a restore or catch-up our own receipts may already say what became of it.
    if known is None or env_id in known.receipts or env_id in known.registered:
        _bring_to_own_receipts(store, letter_id, env_id, _own_receipts(store, env_id))
    if not (
        deliveries.answered(store, env_id)
        if known is None
        else env_id in known.answered or deliveries.pending(store, env_id)
    ):
        hashes = [att.sha256 for att in attachments]
        at = feed.iso(now)
        deliveries.deliver(ctx, store, env_id, letter.origin, hashes, at, now, waited=False)
    return "stored"


def apply_receipt(ctx: NodeContext, store: Store, receipt: Receipt, now: float) -> str:
    """Update the tracking of one of our letters from a recipient's verified receipt."""
    if receipt.letter_origin != ctx.office or receipt.origin == ctx.office:
        return "ignored: not about our letter"
    letter_id = store.scalar(
        "SELECT id FROM letters WHERE env_id = ? AND direction = 'out'", (receipt.letter,)
    )
    if letter_id is None:
        return "ignored: unknown letter"
    changed = update_recipient(
        store,
        int(letter_id),
        receipt.origin,
        receipt.status,
        now,
        receipt_number=receipt.receipt_number,
        at=receipt.at,
        reason=receipt.reason,
    )
    if changed:
        audit.record(
            store,
            now,
            receipt.origin,
            f"receipt_{receipt.status}",
            f"letter:{letter_id}",
            {
                "office": receipt.origin,
                "receipt_number": receipt.receipt_number,
                "at": receipt.at,
                "reason": receipt.reason,
            },
        )
    return "applied" if changed else "ignored: not newer"


def apply_deliveries(ctx: NodeContext, store: Store, answer: Deliveries, now: float) -> str:
    """Update the tracking of our letters a recipient's verified ``deliveries`` names, each
    as its ``delivered`` receipt would."""
    outcomes = [apply_receipt(ctx, store, r, now) for r in answer.receipts()]
    applied = outcomes.count("applied")
    if applied:
        return f"applied: {applied} of {len(outcomes)}"
    return outcomes[0] if len(set(outcomes)) == 1 else "ignored: not newer"


def apply_withdraw(ctx: NodeContext, store: Store, withdraw: Withdraw, now: float) -> str:
    """Mark a received letter withdrawn by its sender, unless already registered."""
    row = store.one(
        "SELECT id, origin, state FROM letters WHERE env_id = ? AND direction = 'in'",
        (withdraw.letter,),
    )
    if row is None or row["origin"] != withdraw.origin:
        return "ignored: unknown letter"
    if withdraw.recipients and ctx.office not in withdraw.recipients:
        return "ignored: not withdrawn from this office"
    if row["state"] != "delivered":
        return f"ignored: letter already {row['state']}"
    store.execute(
        "UPDATE letters SET state = 'withdrawn', reason = ? WHERE id = ?",
        (withdraw.reason, row["id"]),
    )
    audit.record(
        store,
        now,
        withdraw.origin,
        "letter_withdrawn",
        f"letter:{row['id']}",
        {"reason": withdraw.reason},
    )
    return "applied"


def _incoming(store: Store, letter_id: int) -> dict[str, Any]:
    row = store.one("SELECT * FROM letters WHERE id = ? AND direction = 'in'", (letter_id,))
    if row is None:
        raise NotFound(f"no received letter {letter_id}", message_th="ไม่พบหนังสือรับ")
    return row


def register_receipt(
    ctx: NodeContext, store: Store, letter_id: int, clerk: str = "clerk"
) -> dict[str, Any]:
    """ลงรับ: number the letter in the รับ register (a classified one in ลับ), send the receipt."""
    now = ctx.now()
    with store.transaction():
        row = _incoming(store, letter_id)
        if row["state"] != "delivered" or row["paper"]:
            raise Conflict(
                f"letter {letter_id} is {row['state']}, not waiting to be registered",
                message_th="หนังสือนี้ลงรับแล้วหรือไม่อยู่ในสถานะที่ลงรับได้",
            )
        if not deliveries.emit_delivered(
            ctx, store, row["env_id"], now
        ) and not deliveries.answered(store, row["env_id"]):
            raise Conflict(
                f"letter {letter_id} waits for its attachments; register it once they arrive",
                code="attachments_missing",
                message_th="ยังได้รับไฟล์แนบของหนังสือนี้ไม่ครบ ลงรับได้เมื่อได้รับไฟล์แนบครบแล้ว",
            )
        series = Series.CLASSIFIED if row["secrecy"] else Series.RECEIPT
        issued, at = registers.allocate(ctx, store, series, now), feed.iso(now)
        store.execute(
            "UPDATE letters SET state = 'registered', stage = 'registered', registered_at = ?, "
            "receipt_number = ?, "
            "receipt_register = ? WHERE id = ?",
            (now, issued.display, issued.register, letter_id),
        )
        registers.announce(
            ctx,
            store,
            issued,
            now,
            letter_env_id=row["env_id"],
            letter_id=letter_id,
            subject=None if row["secrecy"] else row["subject"],
        )
        receipt = Receipt(
            letter=row["env_id"],
            letter_origin=row["origin"],
            status="registered",
            at=at,
            receipt_number=issued.display,
            attachments=[a["sha256"] for a in json.loads(row["attachments"] or "[]")],
        )
        feed.append(store, ctx.signer, receipt, now)
        audit.record(
            store,
            now,
            clerk,
            "register_receipt",
            f"letter:{letter_id}",
            {"receipt_number": issued.display, "register": issued.register},
        )
    stamp = format_thai_datetime(datetime.fromtimestamp(now, UTC))
    return {
        "id": letter_id,
        "receipt_number": issued.display,
        "registered_at": at,
        "registered_at_th": stamp,
        "register": issued.register,
    }


def return_letter(
    ctx: NodeContext, store: Store, letter_id: int, reason: str, clerk: str = "clerk"
) -> dict[str, Any]:
    """ส่งคืน: refuse a received letter with a reason and send the ``returned`` receipt."""
    reason = normalize_thai(reason or "").strip()
    if not reason:
        raise BadInput(
            "returning a letter needs a reason",
            code="reason_required",
            message_th="การส่งคืนหนังสือต้องระบุเหตุผล",
        )
    now = ctx.now()
    with store.transaction():
        row = _incoming(store, letter_id)
        if row["state"] != "delivered" or row["paper"]:
            raise Conflict(
                f"letter {letter_id} is {row['state']}; only a letter not yet "
                "registered can be returned",
                message_th="ส่งคืนได้เฉพาะหนังสือที่ยังไม่ลงรับ",
            )
        store.execute(
            "UPDATE letters SET state = 'returned', reason = ? WHERE id = ?", (reason, letter_id)
        )
        receipt = Receipt(
            letter=row["env_id"],
            letter_origin=row["origin"],
            status="returned",
            at=feed.iso(now),
            reason=reason,
            attachments=[a["sha256"] for a in json.loads(row["attachments"] or "[]")],
        )
        feed.append(store, ctx.signer, receipt, now)
        audit.record(store, now, clerk, "return_letter", f"letter:{letter_id}", {"reason": reason})
    return {"id": letter_id, "state": "returned", "reason": reason}


def canonical_number(typed: str) -> str:
    """A letter number as typed on paper, stored in the canonical form with Arabic digits.

    A number in neither known shape is kept as typed, its digits made Arabic.
    """
    typed = normalize_thai(typed or "").strip()
    if not typed:
        return ""
    try:
        return parse_letter_number(typed).format()
    except SarabanError:
        return fold_spaces(to_arabic_digits(typed))


def register_paper_letter(
    ctx: NodeContext,
    store: Store,
    *,
    subject: str,
    origin: str,
    number: str = "",
    letter_date: str = "",
    addressee: str = "",
    secrecy: str = "",
    speed: str = "",
    letter_type: str = "ภายนอก",
    sub_type: str | None = None,
    attachments: Iterable[NewAttachment] = (),
    clerk: str = "clerk",
    confirm_duplicate: bool = False,
) -> dict[str, Any]:
    """ลงรับหนังสือกระดาษ: enter a letter that came on paper, with its scan, in a register.

    Ordinary letters take the next number of the รับ register; classified ones (ลับ, ลับมาก,
    ลับที่สุด) the next of the office's control register of classified letters (ลับ), and
    their subject never leaves the office. One that looks registered already is refused
    unless ``confirm_duplicate`` (:func:`~node.records.duplicates.refuse_duplicate`).
    """
    subject = normalize_thai(subject or "").strip()
    origin = normalize_thai(origin or "").strip()
    if not subject or not origin:
        raise BadInput(
            "a paper letter needs subject and origin (who sent it)",
            code="paper_fields_required",
            message_th="หนังสือกระดาษต้องระบุเรื่องและหน่วยงานผู้ส่ง",
        )
    for value, allowed, what, what_th in (
        (speed, SPEED_CLASSES, "speed", "ชั้นความเร็ว"),
        (secrecy, SECRECY_CLASSES, "secrecy", "ชั้นความลับ"),
    ):
        if value not in allowed:
            raise BadInput(
                f"unknown {what} {value!r}", code=f"bad_{what}", message_th=f"{what_th}ไม่ถูกต้อง"
            )
    try:
        check_type(letter_type, sub_type or None)
    except BadMessage as e:
        raise BadInput(str(e), code="bad_letter_type", message_th="ชนิดหนังสือไม่ถูกต้อง") from e
    day = None
    letter_date = normalize_thai(letter_date or "").strip()
    if letter_date:
        try:
            parsed = parse_thai_date(letter_date)
        except SarabanError as e:
            raise BadInput(
                f"cannot read the letter's date {letter_date!r}",
                code="bad_date",
                message_th="อ่านวันที่ของหนังสือไม่ได้ (ตัวอย่าง: 23 พฤศจิกายน 2569)",
            ) from e
        day, letter_date = parsed.isoformat(), format_thai_date(parsed)
    number = canonical_number(number)
    number_key = search_key(number) if number else ""
    same = {"origin": origin, "number_key": number_key, "letter_day": day, "subject": subject}
    refuse_duplicate(store, same, confirm_duplicate)  # before a file is kept, and again below
    metas = save_attachments(ctx, attachments)
    series = Series.CLASSIFIED if secrecy else Series.RECEIPT
    now = ctx.now()
    with store.transaction():
        duplicate = refuse_duplicate(store, same, confirm_duplicate)  # under the write lock
        letter_id = store.insert(
            "letters",
            {
                "direction": "in",
                "paper": 1,
                "origin": origin,
                "number": number or None,
                "number_key": number_key or None,
                "subject": subject,
                "letter_type": letter_type,
                "sub_type": sub_type or None,
                "letter_date": letter_date,
                "letter_day": day,
                "secrecy": secrecy,
                "speed": speed,
                "recipients": json.dumps([addressee] if addressee else [], ensure_ascii=False),
                "attachments": json.dumps([m.to_dict() for m in metas], ensure_ascii=False),
                "state": "registered",
                "stage": "registered",
                "received_at": now,
                "registered_at": now,
                "created_at": now,
            },
        )
        for meta in metas:
            record_attachment(store, meta, present=True, direction="in")
        issued = registers.allocate(ctx, store, series, now, action="paper_registered")
        store.execute(
            "UPDATE letters SET receipt_number = ?, receipt_register = ? WHERE id = ?",
            (issued.display, issued.register, letter_id),
        )
        # A classified letter's subject stays off the wire; the office's register has it.
        shown = None if secrecy else subject
        registers.announce(
            ctx, store, issued, now, action="paper_registered", letter_id=letter_id, subject=shown
        )
        audit.record(
            store,
            now,
            clerk,
            "register_paper_letter",
            f"letter:{letter_id}",
            {"receipt_number": issued.display, "from": origin, "number": number, **duplicate},
        )
    return {
        "id": letter_id,
        "receipt_number": issued.display,
        "registered_at": feed.iso(now),
        "register": issued.register,
    }


def _own_receipts(store: Store, letter_env_id: str) -> list[dict[str, Any]]:
    """This office's receipts about a letter, oldest first: ``status`` and ``envelope``."""
    return store.query(
        "SELECT status, envelope FROM feed WHERE kind = 'receipt' AND ref = ? ORDER BY seq",
        (letter_env_id,),
    )


def apply_own_receipts(store: Store, letter_env_id: str) -> None:
    """Bring a received letter to the state this office's own receipts about it say."""
    letter_id = store.scalar(
        "SELECT id FROM letters WHERE env_id = ? AND direction = 'in'", (letter_env_id,)
    )
    if letter_id is None:
        return
    receipts = _own_receipts(store, letter_env_id)
    _bring_to_own_receipts(store, int(letter_id), letter_env_id, receipts)


def _bring_to_own_receipts(
    store: Store, letter_id: int, letter_env_id: str, receipts: list[dict[str, Any]]
) -> None:
    store.execute(
        "UPDATE register_entries SET letter = ? WHERE letter_env = ? AND letter IS NULL",
        (letter_id, letter_env_id),
    )
    for r in receipts:
        if r["status"] == "delivered":
            continue  # says nothing about the letter's state here
        receipt = Receipt.from_dict(parse_canonical(Envelope.from_bytes(r["envelope"]).body))
        if receipt.status == "registered":
            register = store.scalar(
                "SELECT register FROM register_entries WHERE letter_env = ? AND display = ?",
                (letter_env_id, receipt.receipt_number),
            )
            store.execute(
                "UPDATE letters SET state = 'registered', receipt_number = ?, "
                "registered_at = ?, receipt_register = COALESCE(?, receipt_register) "
                "WHERE id = ?",
                (receipt.receipt_number, parse_iso(receipt.at), register, letter_id),
            )
        elif receipt.status in ("returned", "invalid"):
            store.execute(
                "UPDATE letters SET state = ?, reason = ? WHERE id = ?",
                (receipt.status, receipt.reason, letter_id),
            )
