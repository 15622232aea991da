"""Keeping letters (จัดเก็บ): a letter kept with its retention class, and kept letters as
every list of them shows them.

Does:

* :func:`keep_letter` in one of the three kinds of keeping (:data:`KEEP_KINDS`), and
  :func:`set_retention` to change the class later (not while the letter waits on an open
  destruction list: then the committee decides);
* loading a letter to keep, lend or list (:func:`open_letter`, :func:`kept_letter`), refused
  when it is hidden from the viewer or destroyed;
* what the lists of kept letters share: :func:`kept_row`, the subject a viewer may see,
  the หมายเหตุ column and the signature line of the printed forms.

Every change is one transaction with its audit rows (``letter:<id>``, so the letter's
history shows it). Nothing here is sent to the hub: keeping stays inside the office like
the rest of the workflow (ADR 0007).

Does not: define retention classes (:mod:`node.keeping.retention`), lend letters
(:mod:`node.keeping.loans`), list or destroy them (:mod:`node.keeping.archives`,
:mod:`node.keeping.destruction_lists`, :mod:`node.keeping.destruction`), or move letters through the
receiving workflow (:mod:`node.records.workflow`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from node.context import NodeContext
from node.errors import BadInput, Conflict, NotFound
from node.keeping.retention import (
    default_retention,
    keep_until_for,
    keep_until_th,
    letter_year_be,
    parse_retention,
    retention_th,
)
from node.records.access import OPERATOR, Viewer
from node.storage import audit
from node.storage.store import Store
from protocol.thai import format_thai_date, normalize_thai

KEEP_KINDS: dict[str, str] = {
    "in_progress": "เก็บระหว่างปฏิบัติ",
    "after_done": "เก็บเมื่อปฏิบัติเสร็จ",
    "reference": "เก็บเพื่อใช้ในการตรวจสอบ",
}
"""The three kinds of keeping and their Thai names."""

# A letter moves from the desk to the records store, never back: one kept while in
# progress may later be kept for reference or as done; one kept for reference, as done.
_NEXT_KINDS: dict[str | None, frozenset[str]] = {
    None: frozenset(KEEP_KINDS),
    "in_progress": frozenset({"reference", "after_done"}),
    "reference": frozenset({"after_done"}),
    "after_done": frozenset(),
}

_OPEN_LIST_STATES = ("draft", "approved")  # destruction lists not carried out yet
_DRAFT_STATES = ("draft", "numbered")


def open_letter(store: Store, letter_id: int, viewer: Viewer) -> dict[str, Any]:
    """The letter's row: :class:`NotFound` if ``viewer`` may not open it, :class:`Conflict`
    ``letter_destroyed`` if it was destroyed.
    """
    row = store.one("SELECT * FROM letters WHERE id = ?", (letter_id,))
    if row is None or not viewer.may_open(row):
        raise NotFound(f"no letter {letter_id}", message_th="ไม่พบหนังสือ")
    if row["destroyed_at"]:
        raise Conflict(
            f"letter {letter_id} was destroyed",
            code="letter_destroyed",
            message_th="หนังสือนี้ถูกทำลายแล้ว",
        )
    return row


def kept_letter(store: Store, letter_id: int, viewer: Viewer) -> dict[str, Any]:
    """As :func:`open_letter`, and :class:`Conflict` ``not_kept`` unless the letter is kept."""
    row = open_letter(store, letter_id, viewer)
    if not row["keep_kind"]:
        raise Conflict(
            f"letter {letter_id} is not kept yet",
            code="not_kept",
            message_th="หนังสือนี้ยังไม่ได้จัดเก็บ",
        )
    return row


def on_destruction_list(store: Store, letter_id: int) -> int | None:
    """The open destruction list (draft or approved) the letter is to be destroyed on, if any."""
    found = store.scalar(
        "SELECT l.id FROM destruction_items i JOIN destruction_lists l ON l.id = i.list "
        "WHERE i.letter = ? AND i.decision = 'destroy' AND l.state IN (?, ?)",
        (letter_id, *_OPEN_LIST_STATES),
    )
    return int(found) if found is not None else None


def _kept_view(row: Mapping[str, Any]) -> dict[str, Any]:
    kind = row.get("keep_kind")
    return {
        "id": row["id"],
        "retention": row.get("retention"),
        "retention_th": retention_th(row.get("retention")),
        "keep_until": row.get("keep_until"),
        "keep_until_th": keep_until_th(row.get("retention"), row.get("keep_until")),
        "keep_kind": kind,
        "keep_kind_th": KEEP_KINDS.get(kind or "", ""),
        "kept_at": row.get("kept_at"),
        "stage": row.get("stage"),
    }


def keep_letter(
    ctx: NodeContext,
    store: Store,
    letter_id: int,
    *,
    retention: str | None = None,
    kind: str = "after_done",
    actor: str = "clerk",
    viewer: Viewer = OPERATOR,
) -> dict[str, Any]:
    """จัดเก็บ: keep a registered or sent letter with its retention class.

    ``kind`` is ``in_progress`` (เก็บระหว่างปฏิบัติ), ``after_done`` (เก็บเมื่อปฏิบัติเสร็จ,
    which ends the letter's workflow at stage ``kept``) or ``reference``
    (เก็บเพื่อใช้ในการตรวจสอบ). Without ``retention`` the letter's type decides.
    """
    if kind not in KEEP_KINDS:
        raise BadInput(
            f"unknown kind of keeping {kind!r} ({', '.join(KEEP_KINDS)})",
            code="bad_keep_kind",
            message_th="ประเภทการเก็บไม่ถูกต้อง: เก็บระหว่างปฏิบัติ เก็บเมื่อปฏิบัติเสร็จ หรือเก็บเพื่อใช้ในการตรวจสอบ",
        )
    chosen = parse_retention(retention) if retention not in (None, "") else None
    now = ctx.now()
    with store.transaction():
        row = open_letter(store, letter_id, viewer)
        if row["direction"] == "in" and (row["state"] != "registered" or not row["receipt_number"]):
            raise Conflict(
                f"letter {letter_id} is {row['state']}; register it (ลงรับ) before keeping it",
                code="not_registered",
                message_th="ต้องลงรับหนังสือก่อนจัดเก็บ",
            )
        if row["direction"] == "out" and row["state"] in _DRAFT_STATES:
            raise Conflict(
                f"letter {letter_id} is a draft; only a sent letter is kept",
                code="draft_not_kept",
                message_th="หนังสือนี้ยังเป็นร่าง ยังไม่ได้ส่ง จึงจัดเก็บไม่ได้",
            )
        current = row["keep_kind"]
        if kind not in _NEXT_KINDS.get(current, frozenset()):
            raise Conflict(
                f"letter {letter_id} is already kept ({current})",
                code="already_kept",
                message_th=f"หนังสือนี้จัดเก็บแล้ว ({KEEP_KINDS.get(current, current)}) "
                "หากต้องการเปลี่ยนอายุการเก็บ ให้แก้ไขอายุการเก็บ",
            )
        if chosen is None:
            chosen = row["retention"] or default_retention(
                ctx.settings, row["letter_type"], row["sub_type"]
            )
        keep_until = keep_until_for(row, chosen)
        stage = "kept" if kind == "after_done" else row["stage"]
        store.execute(
            "UPDATE letters SET retention = ?, keep_until = ?, keep_kind = ?, kept_at = ?, "
            "stage = ?, updated_at = ? WHERE id = ?",
            (chosen, keep_until, kind, now, stage, now, letter_id),
        )
        audit.record(
            store,
            now,
            actor,
            "keep_letter",
            f"letter:{letter_id}",
            {
                "kind": kind,
                "kind_th": KEEP_KINDS[kind],
                "retention": chosen,
                "keep_until": keep_until,
                "keep_until_th": keep_until_th(chosen, keep_until),
            },
        )
        return _kept_view(store.one("SELECT * FROM letters WHERE id = ?", (letter_id,)) or row)


def set_retention(
    ctx: NodeContext,
    store: Store,
    letter_id: int,
    retention: str,
    *,
    reason: str = "",
    actor: str = "clerk",
    viewer: Viewer = OPERATOR,
) -> dict[str, Any]:
    """Change a kept letter's retention class (audited with the old and new class).

    Refused while the letter waits on a destruction list: then the committee decides.
    """
    chosen = parse_retention(retention)
    reason = normalize_thai(reason or "").strip()
    now = ctx.now()
    with store.transaction():
        row = kept_letter(store, letter_id, viewer)
        listed = on_destruction_list(store, letter_id)
        if listed is not None:
            raise Conflict(
                f"letter {letter_id} is on destruction list {listed}",
                code="on_destruction_list",
                message_th=f"หนังสือนี้อยู่ในบัญชีหนังสือขอทำลายที่ {listed} ให้คณะกรรมการพิจารณาขยายเวลาเก็บแทน",
            )
        keep_until = keep_until_for(row, chosen)
        store.execute(
            "UPDATE letters SET retention = ?, keep_until = ?, updated_at = ? WHERE id = ?",
            (chosen, keep_until, now, letter_id),
        )
        audit.record(
            store,
            now,
            actor,
            "set_retention",
            f"letter:{letter_id}",
            {
                "from": row["retention"],
                "to": chosen,
                "keep_until": keep_until,
                "keep_until_th": keep_until_th(chosen, keep_until),
                "reason": reason,
            },
        )
        return _kept_view(store.one("SELECT * FROM letters WHERE id = ?", (letter_id,)) or row)


# ---- kept letters in lists ----------------------------------------------------------------


def letter_date_th(row: Mapping[str, Any]) -> str:
    """ลงวันที่ as the letter gives it, else its date in Thai, else empty."""
    if row.get("letter_date"):
        return str(row["letter_date"])
    if row.get("letter_day"):
        return format_thai_date(date.fromisoformat(str(row["letter_day"])))
    return ""


def shown_subject(row: Mapping[str, Any], viewer: Viewer) -> str:
    """The subject, or only the class of a letter ``viewer`` may not open."""
    if viewer.may_open(dict(row)):
        return str(row.get("subject") or "")
    # The class may be shown (it is printed on the letter itself); the subject may not.
    return f"(หนังสือชั้นความลับ {row.get('secrecy')})"


def kept_row(row: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    """A kept letter as the lists show it: numbers, date, subject, class and keeping."""
    return {
        "id": row["id"],
        "direction": row["direction"],
        "number": row["number"],
        "receipt_number": row["receipt_number"],
        "letter_date": letter_date_th(row),
        "letter_year": letter_year_be(row),
        "subject": shown_subject(row, viewer),
        "secrecy": row["secrecy"] or "",
        "retention": row["retention"],
        "keep_until": row["keep_until"],
        "keep_until_th": keep_until_th(row["retention"], row["keep_until"]),
        "keep_kind": row["keep_kind"],
        "keep_kind_th": KEEP_KINDS.get(row["keep_kind"] or "", ""),
    }


def remark(row: Mapping[str, Any], *more: str) -> str:
    """หมายเหตุ: where the letter was registered, its class, and anything else given."""
    parts = []
    if row.get("receipt_number"):
        # Classified letters are numbered in their own control register, not the รับ one.
        register = "ทะเบียนคุมหนังสือลับที่" if row.get("secrecy") else "ทะเบียนรับที่"
        parts.append(f"{register} {row['receipt_number']}")
    if row.get("secrecy"):
        parts.append(f"ชั้นความลับ {row['secrecy']}")
    return " ".join([*parts, *more])


SIGN_LINE = "ลงชื่อ ............................................"
"""Where a printed list is signed (followed by the signer's role)."""
