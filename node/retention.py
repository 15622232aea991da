"""Keeping letters (การเก็บรักษา): retention, borrowing, the 20-year list and destruction.

Does:

* retention classes: a number of years (``"10"`` normally, ``"1"`` for routine letters) or
  ``"never"`` (ห้ามทำลาย), with defaults per letter type and sub-type from the settings
  ``RETENTION_DEFAULT`` and ``RETENTION_BY_TYPE``. A kept letter carries ``keep_until``,
  the Buddhist-era year it is kept through (the letter's year plus the years), shown as
  ``เก็บถึง พ.ศ. 2579``;
* :func:`keep_letter` (จัดเก็บ) in one of the three kinds of keeping, and
  :func:`set_retention` to change the class later;
* borrowing (การยืม) a kept letter: who, when, due back, its return, and overdue loans;
* :func:`archives_list`: kept letters reaching 20 years, for the National Archives
  (หอจดหมายเหตุแห่งชาติ);
* destruction (การทำลายหนังสือ): :func:`propose_destruction` lists the expired letters
  (บัญชีหนังสือขอทำลาย), :func:`approve_destruction` records the committee's review and
  the National Archives' agreement, and only then :func:`destroy` wipes the letters'
  content and attachment bytes, leaving a residual record;
* the two lists as :class:`~node.printing.TableDoc` for printing.

Every change is one transaction with its audit rows (``letter:<id>`` for a letter, so the
letter's history shows it; ``destruction_list:<id>`` for a list). Nothing here is sent to
the hub: keeping stays inside the office like the rest of the workflow (ADR 0007).

Does not: render PDFs or workbooks (:mod:`node.printing`), move letters through the
receiving workflow (:mod:`node.workflow`), or erase the signed envelopes of a destroyed
letter kept in the ``feed`` and ``mailbox`` tables and at the hub: those are the
federation's transport record, signed and hash-chained, and are left untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from protocol.errors import SarabanError
from protocol.thai import (
    MAX_BE_YEAR,
    MIN_BE_YEAR,
    bangkok_date,
    be_year,
    fold_spaces,
    format_thai_date,
    format_thai_datetime,
    normalize_thai,
    parse_thai_date,
    to_arabic_digits,
)

from . import audit
from .access import OPERATOR, Viewer
from .blobs import blob_path, partial_path
from .context import NodeContext
from .errors import BadInput, Conflict, NotFound
from .printing import Column, TableDoc
from .store import Store

NEVER = "never"
"""The retention class of a letter that is never destroyed (ห้ามทำลาย)."""

NEVER_TH = "ห้ามทำลาย"

ARCHIVES_AGE_YEARS = 20
"""Letters this old go to the National Archives, or are listed as kept by the agency."""

MAX_RETENTION_YEARS = 99

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

LIST_STATES: dict[str, str] = {
    "draft": "รอคณะกรรมการพิจารณา",
    "approved": "คณะกรรมการพิจารณาแล้ว รอทำลาย",
    "destroyed": "ทำลายแล้ว",
}
"""States of a destruction list and their Thai names."""

DECISIONS: dict[str, str] = {"destroy": "ทำลาย", "extend": "ขยายเวลาเก็บ"}
"""The committee's decision on one item of a destruction list (การพิจารณา)."""

_OPEN_LIST_STATES = ("draft", "approved")
_DRAFT_STATES = ("draft", "numbered")


# ---- retention classes ------------------------------------------------------------------


def _bad_retention(value: object) -> BadInput:
    return BadInput(
        f"retention must be a number of years (1-{MAX_RETENTION_YEARS}) or 'never', not {value!r}",
        code="bad_retention",
        message_th="อายุการเก็บต้องเป็นจำนวนปี (เช่น 10 หรือ 1) หรือ ห้ามทำลาย",
    )


def parse_retention(value: str | int) -> str:
    """The canonical retention class of ``value``: ``"10"``, ``"1"``... or ``"never"``.

    Accepts Thai digits and the Thai word ห้ามทำลาย; raises :class:`BadInput` otherwise.
    """
    if isinstance(value, bool):
        raise _bad_retention(value)
    text = fold_spaces(to_arabic_digits(normalize_thai(str(value)))).lower()
    for suffix in (" ปี", "ปี", " years", " year"):
        text = text.removesuffix(suffix)
    if text in (NEVER, NEVER_TH):
        return NEVER
    if not text.isascii() or not text.isdigit():
        raise _bad_retention(value)
    years = int(text)
    if not 1 <= years <= MAX_RETENTION_YEARS:
        raise _bad_retention(value)
    return str(years)


def default_retention(
    settings: Mapping[str, Any], letter_type: str | None, sub_type: str | None
) -> str:
    """The class a letter of this type gets when the clerk names none ([K]: settings)."""
    by_type = settings.get("RETENTION_BY_TYPE") or {}
    for key in (sub_type, letter_type):
        if key and key in by_type:
            chosen, name = by_type[key], f"RETENTION_BY_TYPE[{key}]"
            break
    else:
        chosen, name = settings.get("RETENTION_DEFAULT") or "10", "RETENTION_DEFAULT"
    try:
        return parse_retention(chosen)
    except BadInput as e:
        raise BadInput(
            f"setting {name} is not a retention class: {chosen!r}",
            code="bad_config",
            message_th="ค่าตั้งอายุการเก็บหนังสือไม่ถูกต้อง กรุณาแจ้งผู้ดูแลระบบ",
        ) from e


def retention_th(retention: str | None) -> str:
    """A retention class as clerks write it: ``10 ปี`` or ``ห้ามทำลาย``."""
    if not retention:
        return ""
    return NEVER_TH if retention == NEVER else f"{retention} ปี"


def keep_until_th(retention: str | None, keep_until: int | None) -> str:
    """What a kept letter is marked with: ``เก็บถึง พ.ศ. 2579`` or ``ห้ามทำลาย``."""
    if retention == NEVER:
        return NEVER_TH
    return f"เก็บถึง พ.ศ. {keep_until}" if keep_until else ""


def _bangkok_day(moment: float) -> date:
    return bangkok_date(datetime.fromtimestamp(moment, UTC))


def year_be_now(ctx: NodeContext) -> int:
    """The current Buddhist-era year in Bangkok, by the node's clock."""
    return be_year(_bangkok_day(ctx.now()).year)


def letter_year_be(row: Mapping[str, Any]) -> int:
    """The Buddhist-era year of a letter: its date, else when it was registered or sent."""
    day = row.get("letter_day")
    if day:
        return be_year(date.fromisoformat(str(day)).year)
    for column in ("registered_at", "dispatched_at", "created_at"):
        if row.get(column):
            return be_year(_bangkok_day(float(row[column])).year)
    raise Conflict(
        f"letter {row.get('id')} has no date to count its retention from",
        code="letter_undated",
        message_th="หนังสือนี้ไม่มีวันที่ จึงคำนวณอายุการเก็บไม่ได้",
    )


def keep_until_for(row: Mapping[str, Any], retention: str) -> int | None:
    """The year a letter is kept through under ``retention`` (None: never destroyed)."""
    if retention == NEVER:
        return None
    return letter_year_be(row) + int(retention)


def _letter_date_th(row: Mapping[str, Any]) -> str:
    if row.get("letter_date"):
        return str(row["letter_date"])
    if row.get("letter_day"):
        return format_thai_date(date.fromisoformat(str(row["letter_day"])))
    return ""


def _subject(row: Mapping[str, Any], viewer: Viewer) -> str:
    if viewer.may_open(dict(row)):
        return str(row.get("subject") or "")
    # The class may be shown (it is printed on the letter itself); the subject may not.
    return f"(หนังสือชั้นความลับ {row.get('secrecy')})"


# ---- keeping ----------------------------------------------------------------------------


def _letter(store: Store, letter_id: int, viewer: Viewer) -> dict[str, Any]:
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


def _kept(store: Store, letter_id: int, viewer: Viewer) -> dict[str, Any]:
    row = _letter(store, letter_id, viewer)
    if not row["keep_kind"]:
        raise Conflict(
            f"letter {letter_id} is not kept yet",
            code="not_kept",
            message_th="หนังสือนี้ยังไม่ได้จัดเก็บ",
        )
    return row


def _on_open_list(store: Store, letter_id: int) -> int | None:
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
        row = _letter(store, letter_id, viewer)
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
        row = _kept(store, letter_id, viewer)
        listed = _on_open_list(store, letter_id)
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


# ---- borrowing --------------------------------------------------------------------------


def _parse_day(text: str, what: str, what_th: str) -> date:
    try:
        return parse_thai_date(text)
    except SarabanError as e:
        raise BadInput(
            f"cannot read {what} {text!r}",
            code="bad_date",
            message_th=f"อ่าน{what_th}ไม่ได้ (ตัวอย่าง: 23 พฤศจิกายน 2569)",
        ) from e


def _loan_view(row: Mapping[str, Any], today: date, viewer: Viewer) -> dict[str, Any]:
    due = date.fromisoformat(str(row["due_day"]))
    late = (today - due).days if not row["returned_at"] else 0
    return {
        "id": row["id"],
        "letter": row["letter"],
        "number": row.get("number"),
        "receipt_number": row.get("receipt_number"),
        "subject": _subject(row, viewer),
        "borrower": row["borrower"],
        "note": row["note"],
        "borrowed_at": row["borrowed_at"],
        "borrowed_at_th": format_thai_datetime(datetime.fromtimestamp(row["borrowed_at"], UTC)),
        "due": row["due_day"],
        "due_th": format_thai_date(due),
        "returned_at": row["returned_at"],
        "days_overdue": max(late, 0),
    }


def borrow_letter(
    ctx: NodeContext,
    store: Store,
    letter_id: int,
    *,
    borrower: str,
    due: str = "",
    note: str = "",
    actor: str = "clerk",
    viewer: Viewer = OPERATOR,
) -> dict[str, Any]:
    """การยืม: lend a kept letter to ``borrower`` until ``due`` (default ``LOAN_DAYS`` days)."""
    borrower = fold_spaces(normalize_thai(borrower or ""))
    note = normalize_thai(note or "").strip()
    if not borrower:
        raise BadInput(
            "a loan needs the borrower's name",
            code="borrower_required",
            message_th="กรุณาระบุชื่อผู้ยืม",
        )
    now = ctx.now()
    today = _bangkok_day(now)
    if due:
        due_day = _parse_day(due, "the due date", "วันที่กำหนดส่งคืน")
        if due_day < today:
            raise BadInput(
                f"due date {due_day} is in the past",
                code="due_in_past",
                message_th="วันที่กำหนดส่งคืนต้องไม่ก่อนวันนี้",
            )
    else:
        due_day = today + timedelta(days=int(ctx.settings.get("LOAN_DAYS") or 7))
    with store.transaction():
        _kept(store, letter_id, viewer)
        if store.scalar(
            "SELECT 1 FROM loans WHERE letter = ? AND returned_at IS NULL", (letter_id,)
        ):
            raise Conflict(
                f"letter {letter_id} is already on loan",
                code="on_loan",
                message_th="หนังสือนี้ถูกยืมอยู่ ต้องส่งคืนก่อนจึงยืมได้อีก",
            )
        loan_id = store.insert(
            "loans",
            {
                "letter": letter_id,
                "borrower": borrower,
                "note": note or None,
                "borrowed_at": now,
                "due_day": due_day.isoformat(),
                "lent_by": actor,
            },
        )
        audit.record(
            store,
            now,
            actor,
            "borrow_letter",
            f"letter:{letter_id}",
            {"loan": loan_id, "borrower": borrower, "due": due_day.isoformat(), "note": note},
        )
    return {
        "id": loan_id,
        "letter": letter_id,
        "borrower": borrower,
        "due": due_day.isoformat(),
        "due_th": format_thai_date(due_day),
    }


def return_loan(
    ctx: NodeContext,
    store: Store,
    letter_id: int,
    *,
    actor: str = "clerk",
    viewer: Viewer = OPERATOR,
) -> dict[str, Any]:
    """The borrowed letter came back: close its open loan."""
    now = ctx.now()
    with store.transaction():
        _letter(store, letter_id, viewer)
        loan = store.one(
            "SELECT * FROM loans WHERE letter = ? AND returned_at IS NULL", (letter_id,)
        )
        if loan is None:
            raise Conflict(
                f"letter {letter_id} is not on loan",
                code="not_on_loan",
                message_th="หนังสือนี้ไม่ได้ถูกยืม",
            )
        store.execute(
            "UPDATE loans SET returned_at = ?, received_by = ? WHERE id = ?",
            (now, actor, loan["id"]),
        )
        late = max((_bangkok_day(now) - date.fromisoformat(loan["due_day"])).days, 0)
        audit.record(
            store,
            now,
            actor,
            "return_loan",
            f"letter:{letter_id}",
            {"loan": loan["id"], "borrower": loan["borrower"], "days_late": late},
        )
    return {"id": loan["id"], "letter": letter_id, "returned_at": now, "days_late": late}


def list_loans(
    ctx: NodeContext, store: Store, *, overdue_only: bool = False, viewer: Viewer = OPERATOR
) -> list[dict[str, Any]]:
    """Loans not returned yet (oldest due first); only those past their due date if asked."""
    today = _bangkok_day(ctx.now())
    rows = store.query(
        "SELECT loans.*, letters.number, letters.receipt_number, letters.subject, "
        "letters.secrecy, letters.assigned_to FROM loans "
        "JOIN letters ON letters.id = loans.letter WHERE loans.returned_at IS NULL "
        "ORDER BY loans.due_day, loans.id"
    )
    loans = [_loan_view(r, today, viewer) for r in rows]
    return [loan for loan in loans if loan["days_overdue"] > 0] if overdue_only else loans


# ---- lists of kept letters --------------------------------------------------------------


def check_year(year_be: int) -> int:
    """A Buddhist-era year given by the clerk, or :class:`BadInput`."""
    if isinstance(year_be, bool) or not isinstance(year_be, int):
        raise BadInput("year must be a whole number", code="bad_year", message_th="ปีไม่ถูกต้อง")
    if not MIN_BE_YEAR <= year_be <= MAX_BE_YEAR:
        raise BadInput(
            f"year {year_be} is not a Buddhist-era year ({MIN_BE_YEAR}-{MAX_BE_YEAR})",
            code="bad_year",
            message_th="ปีต้องเป็นปีพุทธศักราช เช่น 2570",
        )
    return year_be


def _list_row(row: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    return {
        "id": row["id"],
        "direction": row["direction"],
        "number": row["number"],
        "receipt_number": row["receipt_number"],
        "letter_date": _letter_date_th(row),
        "letter_year": letter_year_be(row),
        "subject": _subject(row, viewer),
        "secrecy": row["secrecy"] or "",
        "retention": row["retention"],
        "keep_until": row["keep_until"],
        "keep_until_th": keep_until_th(row["retention"], row["keep_until"]),
        "keep_kind": row["keep_kind"],
        "keep_kind_th": KEEP_KINDS.get(row["keep_kind"] or "", ""),
    }


def due_letters(store: Store, year_be: int, viewer: Viewer = OPERATOR) -> list[dict[str, Any]]:
    """Kept letters whose time ran out before ``year_be`` (what a destruction list takes).

    Each row says on which open destruction list it already stands (``on_list``), if any.
    """
    check_year(year_be)
    rows = store.query(
        "SELECT * FROM letters WHERE keep_kind = 'after_done' AND destroyed_at IS NULL "
        "AND keep_until IS NOT NULL AND keep_until < ? "
        "ORDER BY keep_until, letter_day, id",
        (year_be,),
    )
    out = []
    for r in rows:
        item = _list_row(r, viewer)
        item["on_list"] = _on_open_list(store, r["id"])
        out.append(item)
    return out


def archives_list(store: Store, year_be: int, viewer: Viewer = OPERATOR) -> list[dict[str, Any]]:
    """Kept letters that have reached 20 years by ``year_be`` and still exist.

    They go to the National Archives (หอจดหมายเหตุแห่งชาติ) or are listed as kept by the
    office; letters marked ห้ามทำลาย are included, destroyed ones are not.
    """
    check_year(year_be)
    rows = store.query(
        "SELECT * FROM letters WHERE keep_kind IS NOT NULL AND destroyed_at IS NULL "
        "ORDER BY letter_day, id"
    )
    limit = year_be - ARCHIVES_AGE_YEARS
    listed = [_list_row(r, viewer) for r in rows if letter_year_be(r) <= limit]
    listed.sort(key=lambda r: (r["letter_year"], r["id"]))
    return listed


_SIGN_LINE = "ลงชื่อ ............................................"


def archives_doc(
    store: Store,
    year_be: int,
    *,
    office: str = "",
    viewer: Viewer = OPERATOR,
    now: float | None = None,
) -> TableDoc:
    """The 20-year list as a printable table (บัญชีหนังสือครบ 20 ปี ที่ขอส่งมอบ)."""
    rows = archives_list(store, year_be, viewer)
    return TableDoc(
        title=f"บัญชีหนังสือครบ {ARCHIVES_AGE_YEARS} ปี ที่ขอส่งมอบให้หอจดหมายเหตุแห่งชาติ "
        f"ประจำปี พ.ศ. {year_be}",
        subtitle=f"{office} · หนังสือลงวันที่ถึงปี พ.ศ. {year_be - ARCHIVES_AGE_YEARS} "
        f"· {len(rows)} รายการ",
        columns=[
            Column("ลำดับที่", 16, "C"),
            Column("ที่", 42),
            Column("ลงวันที่", 34),
            Column("เรื่อง", 110),
            Column("อายุการเก็บ", 35),
            Column("หมายเหตุ", 40),
        ],
        rows=[
            [
                str(i),
                r["number"] or "-",
                r["letter_date"],
                r["subject"],
                r["keep_until_th"],
                _remark(r),
            ]
            for i, r in enumerate(rows, 1)
        ],
        footer=[
            f"{_SIGN_LINE} ผู้ส่งมอบ",
            f"{_SIGN_LINE} ผู้รับมอบ (หอจดหมายเหตุแห่งชาติ)",
        ],
        filename=f"archives-list-{year_be}",
        display_name=f"บัญชีหนังสือครบ20ปี-{year_be}",
        printed_at=now,
    )


def _remark(row: Mapping[str, Any], *more: str) -> str:
    """หมายเหตุ: where the letter was registered, its class, and anything else given."""
    parts = []
    if row.get("receipt_number"):
        # Classified letters are numbered in their own control register, not the รับ one.
        register = "ทะเบียนคุมหนังสือลับที่" if row.get("secrecy") else "ทะเบียนรับที่"
        parts.append(f"{register} {row['receipt_number']}")
    if row.get("secrecy"):
        parts.append(f"ชั้นความลับ {row['secrecy']}")
    return " ".join([*parts, *more])


# ---- destruction ------------------------------------------------------------------------


def propose_destruction(
    ctx: NodeContext, store: Store, year_be: int, actor: str = "clerk"
) -> dict[str, Any]:
    """บัญชีหนังสือขอทำลาย: list every kept letter whose time ran out before ``year_be``.

    Takes letters kept after completion whose ``keep_until`` is earlier than ``year_be``
    (expired by the end of the year before), never ห้ามทำลาย ones, none that is destroyed
    or already on another open list. The list waits (``draft``) for the committee.
    """
    check_year(year_be)
    now = ctx.now()
    if year_be > year_be_now(ctx):
        raise BadInput(
            f"year {year_be} has not come yet",
            code="year_in_future",
            message_th="ยังไม่ถึงปีที่ระบุ จัดทำบัญชีหนังสือขอทำลายได้เมื่อสิ้นปีปฏิทินแล้ว",
        )
    with store.transaction():
        candidates = [r for r in due_letters(store, year_be) if r["on_list"] is None]
        if not candidates:
            raise Conflict(
                f"no kept letter expired before {year_be}",
                code="nothing_expired",
                message_th=f"ไม่มีหนังสือที่ครบกำหนดเก็บก่อนปี พ.ศ. {year_be}",
            )
        list_id = store.insert(
            "destruction_lists",
            {"year": year_be, "state": "draft", "created_at": now, "created_by": actor},
        )
        for position, r in enumerate(candidates, 1):
            store.insert(
                "destruction_items",
                {
                    "list": list_id,
                    "letter": r["id"],
                    "position": position,
                    "decision": "destroy",
                    "keep_until": r["keep_until"],
                },
            )
            audit.record(
                store,
                now,
                actor,
                "propose_destruction",
                f"letter:{r['id']}",
                {"list": list_id, "year": year_be, "keep_until": r["keep_until"]},
            )
        audit.record(
            store,
            now,
            actor,
            "propose_destruction",
            f"destruction_list:{list_id}",
            {"year": year_be, "letters": [r["id"] for r in candidates]},
        )
    return get_destruction_list(store, list_id)


def _names(chair: str, members: Iterable[str]) -> tuple[str, list[str]]:
    def clean(name: str) -> str:
        return fold_spaces(normalize_thai(name or ""))

    chair = clean(chair)
    names = [m for m in (clean(m) for m in members) if m]
    folded = [n.casefold() for n in [chair, *names]]
    if not chair or len(names) < 2 or len(set(folded)) != len(folded):
        raise BadInput(
            "the committee needs a chair and at least two other members, all distinct",
            code="committee_incomplete",
            message_th="คณะกรรมการต้องมีประธานและกรรมการอย่างน้อยสองคน โดยชื่อต้องไม่ซ้ำกัน",
        )
    return chair, names


def _destruction_list(store: Store, list_id: int) -> dict[str, Any]:
    row = store.one("SELECT * FROM destruction_lists WHERE id = ?", (list_id,))
    if row is None:
        raise NotFound(f"no destruction list {list_id}", message_th="ไม่พบบัญชีหนังสือขอทำลาย")
    return row


def approve_destruction(
    ctx: NodeContext,
    store: Store,
    list_id: int,
    *,
    chair: str,
    members: Iterable[str],
    archives_ref: str,
    decided_at: str | None = None,
    excluded_letter_ids: Iterable[int] = (),
    extend_years: int | None = None,
    actor: str = "clerk",
) -> dict[str, Any]:
    """Record the committee's review and the National Archives' agreement of a list.

    The committee is a chair and at least two members (distinct names); ``archives_ref``
    is the reference of the National Archives' agreement; ``decided_at`` the date of the
    decision (Thai or ISO; default today). Letters in ``excluded_letter_ids`` are kept:
    their ``keep_until`` becomes the list's year plus ``extend_years`` (default
    ``RETENTION_EXTEND_YEARS``). The rest are destroyed by :func:`destroy`.
    """
    chair, names = _names(chair, members)
    archives_ref = fold_spaces(normalize_thai(archives_ref or ""))
    if not archives_ref:
        raise BadInput(
            "the National Archives' agreement reference is required",
            code="archives_ref_required",
            message_th="กรุณาระบุเลขที่หนังสือแจ้งความเห็นชอบของหอจดหมายเหตุแห่งชาติ",
        )
    now = ctx.now()
    today = _bangkok_day(now)
    decided = (
        _parse_day(decided_at, "the decision date", "วันที่คณะกรรมการพิจารณา") if decided_at else today
    )
    if decided > today:
        raise BadInput(
            f"decision date {decided} is in the future",
            code="decided_in_future",
            message_th="วันที่คณะกรรมการพิจารณาต้องไม่เกินวันนี้",
        )
    years = int(
        extend_years if extend_years is not None else ctx.settings["RETENTION_EXTEND_YEARS"]
    )
    if not 1 <= years <= MAX_RETENTION_YEARS:
        raise BadInput(
            f"extend_years must be 1-{MAX_RETENTION_YEARS}, not {years}",
            code="bad_extend_years",
            message_th="จำนวนปีที่ขยายเวลาเก็บไม่ถูกต้อง",
        )
    excluded = sorted(set(excluded_letter_ids))
    with store.transaction():
        dl = _destruction_list(store, list_id)
        if dl["state"] != "draft":
            raise Conflict(
                f"destruction list {list_id} is already {dl['state']}",
                code="list_not_draft",
                message_th=f"บัญชีหนังสือขอทำลายนี้{LIST_STATES[dl['state']]}",
            )
        if decided < _bangkok_day(float(dl["created_at"])):
            raise BadInput(
                f"decision date {decided} is before the list was made",
                code="decided_before_list",
                message_th="วันที่คณะกรรมการพิจารณาต้องไม่ก่อนวันที่จัดทำบัญชีหนังสือขอทำลาย",
            )
        items = {
            r["letter"]: r
            for r in store.query("SELECT * FROM destruction_items WHERE list = ?", (list_id,))
        }
        strangers = [i for i in excluded if i not in items]
        if strangers:
            raise BadInput(
                f"letters {strangers} are not on destruction list {list_id}",
                code="not_on_list",
                message_th="หนังสือที่ขอยกเว้นไม่อยู่ในบัญชีหนังสือขอทำลายนี้",
            )
        new_keep_until = int(dl["year"]) + years
        for letter_id in excluded:
            store.execute(
                "UPDATE destruction_items SET decision = 'extend', new_keep_until = ? "
                "WHERE list = ? AND letter = ?",
                (new_keep_until, list_id, letter_id),
            )
            store.execute(
                "UPDATE letters SET keep_until = ?, updated_at = ? WHERE id = ?",
                (new_keep_until, now, letter_id),
            )
            audit.record(
                store,
                now,
                actor,
                "extend_retention",
                f"letter:{letter_id}",
                {
                    "list": list_id,
                    "from": items[letter_id]["keep_until"],
                    "to": new_keep_until,
                    "keep_until_th": keep_until_th("", new_keep_until),
                    "chair": chair,
                },
            )
        store.execute(
            "UPDATE destruction_lists SET state = 'approved', chair = ?, members = ?, "
            "archives_ref = ?, decided_day = ?, extend_years = ?, approved_at = ?, "
            "approved_by = ? WHERE id = ?",
            (
                chair,
                json.dumps(names, ensure_ascii=False),
                archives_ref,
                decided.isoformat(),
                years,
                now,
                actor,
                list_id,
            ),
        )
        audit.record(
            store,
            now,
            actor,
            "approve_destruction",
            f"destruction_list:{list_id}",
            {
                "chair": chair,
                "members": names,
                "archives_ref": archives_ref,
                "decided": decided.isoformat(),
                "extended": excluded,
                "keep_until": new_keep_until if excluded else None,
            },
        )
    return get_destruction_list(store, list_id)


def _shas(attachments_json: str | None) -> list[str]:
    try:
        items = json.loads(attachments_json or "[]")
    except ValueError:
        return []
    return [str(a["sha256"]) for a in items if isinstance(a, dict) and a.get("sha256")]


def _still_used(store: Store, sha256: str) -> bool:
    return bool(
        store.scalar(
            "SELECT 1 FROM letters, json_each(letters.attachments) AS a "
            "WHERE letters.destroyed_at IS NULL AND json_extract(a.value, '$.sha256') = ? "
            "LIMIT 1",
            (sha256,),
        )
    )


def destroy(ctx: NodeContext, store: Store, list_id: int, actor: str = "clerk") -> dict[str, Any]:
    """ทำลาย every letter an approved list still holds; refuse a list not yet approved.

    Each letter keeps a residual record (its numbers, subject, date, the list and the
    National Archives' reference, when) while its body, minute, instruction and
    attachments are wiped; attachment bytes no other surviving letter lists are deleted.
    """
    now = ctx.now()
    with store.transaction():
        dl = _destruction_list(store, list_id)
        if dl["state"] == "destroyed":
            raise Conflict(
                f"destruction list {list_id} was already carried out",
                code="list_destroyed",
                message_th="บัญชีหนังสือขอทำลายนี้ดำเนินการทำลายแล้ว",
            )
        if dl["state"] != "approved":
            raise Conflict(
                f"destruction list {list_id} is not approved by the committee and the "
                "National Archives",
                code="not_approved",
                message_th="บัญชีหนังสือขอทำลายนี้ยังไม่ได้รับความเห็นชอบจากคณะกรรมการ"
                "และหอจดหมายเหตุแห่งชาติ จึงยังทำลายไม่ได้",
            )
        doomed = store.query(
            "SELECT letters.* FROM destruction_items i JOIN letters ON letters.id = i.letter "
            "WHERE i.list = ? AND i.decision = 'destroy' AND letters.destroyed_at IS NULL "
            "ORDER BY i.position",
            (list_id,),
        )
        lent = [
            r["number"] or r["receipt_number"] or str(r["id"])
            for r in doomed
            if store.scalar(
                "SELECT 1 FROM loans WHERE letter = ? AND returned_at IS NULL", (r["id"],)
            )
        ]
        if lent:
            raise Conflict(
                f"letters on loan cannot be destroyed: {', '.join(lent)}",
                code="on_loan",
                message_th=f"หนังสือต่อไปนี้ยังถูกยืมอยู่ ต้องส่งคืนก่อนทำลาย: {', '.join(lent)}",
            )
        released: set[str] = set()
        for r in doomed:
            old = json.loads(r["attachments"] or "[]")
            released.update(_shas(r["attachments"]))
            store.execute(
                "UPDATE letters SET body = NULL, minute = NULL, instruction = NULL, "
                "attachments = '[]', stage = 'destroyed', destroyed_at = ?, "
                "destruction_list = ?, destruction_ref = ?, updated_at = ? WHERE id = ?",
                (now, list_id, dl["archives_ref"], now, r["id"]),
            )
            audit.record(
                store,
                now,
                actor,
                "destroy_letter",
                f"letter:{r['id']}",
                {
                    "list": list_id,
                    "archives_ref": dl["archives_ref"],
                    "chair": dl["chair"],
                    "decided": dl["decided_day"],
                    # What was destroyed, by name and hash, stays on record.
                    "attachments": [
                        {"name": a.get("name"), "sha256": a.get("sha256"), "size": a.get("size")}
                        for a in old
                        if isinstance(a, dict)
                    ],
                },
            )
        # Bytes another surviving letter lists (the same scan filed twice) stay.
        orphaned = sorted(sha for sha in released if not _still_used(store, sha))
        for sha in orphaned:
            # A later letter with the same bytes records its attachment afresh.
            store.execute("DELETE FROM attachments WHERE sha256 = ?", (sha,))
        store.execute(
            "UPDATE destruction_lists SET state = 'destroyed', destroyed_at = ?, "
            "destroyed_by = ? WHERE id = ?",
            (now, actor, list_id),
        )
        audit.record(
            store,
            now,
            actor,
            "destroy",
            f"destruction_list:{list_id}",
            {"letters": [r["id"] for r in doomed], "blobs_removed": len(orphaned)},
        )
    # Files go only after the commit: a failed commit must leave every byte in place.
    removed = _remove_blobs(ctx, store, orphaned)
    result = get_destruction_list(store, list_id)
    result["destroyed"] = [r["id"] for r in doomed]
    result["blobs_removed"] = removed
    return result


def _remove_blobs(ctx: NodeContext, store: Store, shas: Iterable[str]) -> int:
    shas = list(shas)
    if not shas:
        return 0
    removed = 0
    # Under the write lock, so no letter can come to list the same bytes meanwhile.
    with store.transaction():
        for sha in shas:
            if _still_used(store, sha):
                continue
            for path in (blob_path(ctx.blob_dir(), sha), partial_path(ctx.blob_dir(), sha)):
                if path.exists():
                    path.unlink()
                    removed += 1
    return removed


# ---- reading and printing lists ---------------------------------------------------------


def _list_head(dl: Mapping[str, Any]) -> dict[str, Any]:
    decided = dl["decided_day"]
    return {
        "id": dl["id"],
        "year": dl["year"],
        "state": dl["state"],
        "state_th": LIST_STATES.get(dl["state"], dl["state"]),
        "created_at": dl["created_at"],
        "created_by": dl["created_by"],
        "chair": dl["chair"],
        "members": json.loads(dl["members"] or "[]"),
        "archives_ref": dl["archives_ref"],
        "decided": decided,
        "decided_th": format_thai_date(date.fromisoformat(decided)) if decided else "",
        "extend_years": dl["extend_years"],
        "destroyed_at": dl["destroyed_at"],
        "destroyed_at_th": (
            format_thai_datetime(datetime.fromtimestamp(dl["destroyed_at"], UTC))
            if dl["destroyed_at"]
            else ""
        ),
    }


def list_destruction_lists(store: Store) -> list[dict[str, Any]]:
    """Every destruction list, newest first, with its number of items."""
    out = []
    for dl in store.query("SELECT * FROM destruction_lists ORDER BY id DESC"):
        head = _list_head(dl)
        head["items"] = int(
            store.scalar("SELECT COUNT(*) FROM destruction_items WHERE list = ?", (dl["id"],)) or 0
        )
        out.append(head)
    return out


def get_destruction_list(store: Store, list_id: int, viewer: Viewer = OPERATOR) -> dict[str, Any]:
    """One destruction list with its items; classified subjects hidden from ``viewer``."""
    dl = _destruction_list(store, list_id)
    out = _list_head(dl)
    items = []
    for r in store.query(
        "SELECT i.position, i.decision, i.keep_until AS listed_keep_until, i.new_keep_until, "
        "letters.* FROM destruction_items i JOIN letters ON letters.id = i.letter "
        "WHERE i.list = ? ORDER BY i.position",
        (list_id,),
    ):
        decided = dl["state"] != "draft"
        items.append(
            {
                "position": r["position"],
                "letter": r["id"],
                "number": r["number"],
                "receipt_number": r["receipt_number"],
                "letter_date": _letter_date_th(r),
                "subject": _subject(r, viewer),
                "secrecy": r["secrecy"] or "",
                "keep_until": r["listed_keep_until"],
                "decision": r["decision"] if decided else None,
                "decision_th": _decision_th(r["decision"], r["new_keep_until"]) if decided else "",
                "new_keep_until": r["new_keep_until"],
                "destroyed_at": r["destroyed_at"],
            }
        )
    out["items"] = items
    return out


def _decision_th(decision: str, new_keep_until: int | None) -> str:
    if decision == "extend" and new_keep_until:
        return f"{DECISIONS['extend']}ถึง พ.ศ. {new_keep_until}"
    return DECISIONS.get(decision, decision)


def destruction_doc(
    store: Store,
    list_id: int,
    *,
    office: str = "",
    viewer: Viewer = OPERATOR,
    now: float | None = None,
) -> TableDoc:
    """The destruction list as the regulation's form, ready for the committee to sign."""
    dl = get_destruction_list(store, list_id, viewer)
    rows = [
        [
            str(item["position"]),
            item["number"] or "-",
            item["letter_date"],
            item["subject"],
            item["decision_th"],
            _remark(item, f"เก็บถึง พ.ศ. {item['keep_until']}"),
        ]
        for item in dl["items"]
    ]
    subtitle = f"{office} · บัญชีที่ {dl['id']} · {dl['state_th']}"
    if dl["decided_th"]:
        subtitle += f" · คณะกรรมการพิจารณาเมื่อ {dl['decided_th']}"
    return TableDoc(
        title=f"บัญชีหนังสือขอทำลาย ประจำปี พ.ศ. {dl['year']}",
        subtitle=subtitle,
        columns=[
            Column("ลำดับที่", 16, "C"),
            Column("ที่", 42),
            Column("ลงวันที่", 34),
            Column("เรื่อง", 100),
            Column("การพิจารณา", 40),
            Column("หมายเหตุ", 45),
        ],
        rows=rows,
        footer=_committee_lines(dl),
        filename=f"destruction-list-{dl['year']}-{dl['id']}",
        display_name=f"บัญชีหนังสือขอทำลาย-{dl['year']}-{dl['id']}",
        printed_at=now,
    )


def _committee_lines(dl: Mapping[str, Any]) -> list[str]:
    blank = "(............................................)"
    chair = f"({dl['chair']})" if dl["chair"] else blank
    members = [f"({m})" for m in dl["members"]] or [blank, blank]
    lines = [f"{_SIGN_LINE} ประธานกรรมการ {chair}"]
    lines += [f"{_SIGN_LINE} กรรมการ {m}" for m in members]
    ref = dl["archives_ref"] or "........................................"
    lines.append(f"ความเห็นชอบของหอจดหมายเหตุแห่งชาติ: {ref}")
    if dl["destroyed_at_th"]:
        lines.append(f"ทำลายเมื่อ {dl['destroyed_at_th']}")
    return lines
