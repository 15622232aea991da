"""A letter's row, its recipients' tracking, withdrawal, and the letter lists.

:func:`letter_row` is the ``letters`` row of a signed letter, sent or received. Recipients
only move forward (queued → sent → delivered → registered / returned). Withdrawing (ถอน)
a sent letter signs a ``withdraw`` envelope for every recipient that has not registered
it. :func:`get_letter` returns one letter with its tracking and its whole history.

Drafting, numbering and dispatch are in :mod:`node.records.outgoing`; receiving in
:mod:`node.records.inbox`; moving envelopes to the hub in :mod:`node.sync.push`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from node.context import NodeContext
from node.errors import BadInput, Conflict, NotFound
from node.records.access import OPERATOR, Viewer
from node.records.attachment_text import keep_prepared_text, prepare_attachment_text
from node.records.letter_columns import letter_columns
from node.records.workflow import STAGE_TITLES, history
from node.storage import audit, feed
from node.storage.blobs import save_blob
from node.storage.store import Store
from protocol.messages import MAX_ATTACHMENT_BYTES, Attachment, Letter, Withdraw
from protocol.thai import normalize_thai

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


def save_attachments(ctx: NodeContext, files: Iterable[NewAttachment]) -> list[Attachment]:
    """Keep the bytes of new attachments by hash; refuse one over the size limit."""
    files = list(files)
    for f in files:
        if len(f.content) > MAX_ATTACHMENT_BYTES:
            raise BadInput(
                f"attachment {f.name!r} is too large",
                code="attachment_too_large",
                message_th="ไฟล์แนบมีขนาดใหญ่เกินกำหนด",
            )
    prepare_attachment_text(files)  # search: text of attached PDFs, read before the write
    return [
        Attachment(
            save_blob(ctx.blob_dir(), f.content),
            len(f.content),
            f.media_type,
            normalize_thai(f.name),
        )
        for f in files
    ]


def letter_row(
    letter: Letter,
    env_id: str,
    *,
    direction: str,
    state: str,
    now: float,
    columns: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``letters`` row of a signed letter, sent (``out``) or received (``in``);
    ``columns`` are its :func:`~node.records.letter_columns.letter_columns` when they
    were worked out already (by the pull's worker)."""
    row: dict[str, Any] = {"direction": direction, "env_id": env_id}
    row.update(letter_columns(letter) if columns is None else columns)
    row["state"] = state
    row["created_at"] = now
    if direction == "in":
        row["received_at"] = now
    return row


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
        "SELECT office, channel, method, state, receipt_number, at, reason, updated_at "
        "FROM recipients "
        "WHERE letter = ? ORDER BY id",
        (letter_id,),
    )


def get_letter(store: Store, letter_id: int, viewer: Viewer = OPERATOR) -> dict[str, Any]:
    """One letter with its tracking and its whole history; hidden if ``viewer`` may not open it."""
    row = store.one("SELECT * FROM letters WHERE id = ?", (letter_id,))
    if row is None or not viewer.may_open(row):
        raise NotFound(f"no letter {letter_id}", message_th="ไม่พบหนังสือ")
    out = _decode(row)
    out["stage_th"] = STAGE_TITLES.get(row["stage"] or row["state"], "")
    out["tracking"] = tracking(store, letter_id)
    out["history"] = history(store, letter_id)
    return out


_LIST_COLUMNS = (
    "id, direction, env_id, origin, number, subject, letter_type, sub_type, speed, secrecy, "
    "state, stage, letter_date, received_at, registered_at, receipt_number, number_notice, "
    "paper, assigned_to, created_at"
)
_BOXES = {
    "inbox": "direction = 'in'",
    "sent": "direction = 'out' AND state NOT IN ('draft', 'numbered')",
    "drafts": "direction = 'out' AND state IN ('draft', 'numbered')",
    "all": "1",
}


def list_letters(
    store: Store,
    box: str = "all",
    limit: int = 200,
    viewer: Viewer = OPERATOR,
    *,
    existing: bool = False,
) -> list[dict[str, Any]]:
    """Letters of one box (``inbox``, ``sent``, ``drafts`` or ``all``), newest first.

    A classified letter ``viewer`` may not open is left out, or with ``existing`` listed
    as existing only (:func:`_existing_only`)."""
    if box not in _BOXES:
        raise BadInput(
            f"unknown box {box!r} (inbox, sent, drafts or all)",
            code="bad_box",
            message_th="ไม่รู้จักกล่องหนังสือ",
        )
    visible, params = viewer.visible_sql()
    # Both WHERE fragments come from this module, never from the caller.
    sql = (
        f"SELECT {_LIST_COLUMNS} FROM letters WHERE {_BOXES[box]} AND {visible} "  # noqa: S608
        "ORDER BY id DESC LIMIT ?"
    )
    rows = store.query(sql, (*params, limit))
    for r in rows:
        r["paper"] = bool(r["paper"])
        r["stage_th"] = STAGE_TITLES.get(r["stage"] or r["state"], "")
        r["hidden"] = False
    if existing and not viewer.sees_all_classified:
        rows = sorted(
            rows + _existing_only(store, box, limit, viewer),
            key=lambda r: int(r["id"]),
            reverse=True,
        )[:limit]
    return rows


_HIDDEN_FIELDS = ("subject", "origin", "receipt_number", "number_notice", "assigned_to")
"""What a list leaves out of a classified letter its viewer may not open."""


def _existing_only(store: Store, box: str, limit: int, viewer: Viewer) -> list[dict[str, Any]]:
    """The classified letters of ``box`` that ``viewer`` may not open, as existing only
    (number, class, speed, state and dates), as the clerk's หนังสือเข้า lists them: never
    the subject or the sender."""
    sql = (
        f"SELECT {_LIST_COLUMNS} FROM letters WHERE {_BOXES[box]} "  # noqa: S608
        "AND COALESCE(secrecy, '') != '' ORDER BY id DESC LIMIT ?"
    )
    rows = [r for r in store.query(sql, (limit,)) if not viewer.may_open(r)]
    for r in rows:
        r.update(dict.fromkeys(_HIDDEN_FIELDS))
        r["paper"] = bool(r["paper"])
        r["stage_th"] = STAGE_TITLES.get(r["state"], "")
        r["hidden"] = True
    return rows


def stats(store: Store) -> dict[str, int]:
    """Counts for the status page: sent, received, registered, pending."""

    def count(sql: str) -> int:
        return int(store.scalar(sql) or 0)

    return {
        "sent": count(
            "SELECT COUNT(*) FROM letters WHERE direction = 'out' "
            "AND state NOT IN ('draft', 'numbered')"
        ),
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


def record_attachment(store: Store, att: Attachment, *, present: bool, direction: str) -> None:
    """Remember an attachment's metadata inside the caller's transaction."""
    store.execute(
        "INSERT INTO attachments (sha256, size, media_type, name, present, direction) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET "
        "present = MAX(present, excluded.present)",
        (att.sha256, att.size, att.media_type, att.name, int(present), direction),
    )
    keep_prepared_text(store, att.sha256)  # search: index the text read from its PDF
