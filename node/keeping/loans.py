"""Borrowing (การยืม) a kept letter: who, when, due back, its return, and overdue loans.

A letter is lent to one borrower at a time, until a due date (default ``LOAN_DAYS`` days);
each loan and its return are audited on the letter (``letter:<id>``).

Does not: keep letters (:mod:`node.keeping.kept`), remind borrowers, or stop a lent letter from
being read; a letter on loan cannot be destroyed (:mod:`node.keeping.destruction` checks).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from node.context import NodeContext
from node.errors import BadInput, Conflict
from node.keeping.kept import kept_letter, open_letter, shown_subject
from node.keeping.retention import bangkok_day, parse_day
from node.records.access import OPERATOR, Viewer
from node.storage import audit
from node.storage.store import Store
from protocol.thai import fold_spaces, format_thai_date, format_thai_datetime, normalize_thai


def _loan_view(row: Mapping[str, Any], today: date, viewer: Viewer) -> dict[str, Any]:
    due = date.fromisoformat(str(row["due_day"]))
    late = (today - due).days if not row["returned_at"] else 0
    return {
        "id": row["id"],
        "letter": row["letter"],
        "number": row.get("number"),
        "receipt_number": row.get("receipt_number"),
        "subject": shown_subject(row, viewer),
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
    today = bangkok_day(now)
    if due:
        due_day = parse_day(due, "the due date", "วันที่กำหนดส่งคืน")
        if due_day < today:
            raise BadInput(
                f"due date {due_day} is in the past",
                code="due_in_past",
                message_th="วันที่กำหนดส่งคืนต้องไม่ก่อนวันนี้",
            )
    else:
        due_day = today + timedelta(days=int(ctx.settings.get("LOAN_DAYS") or 7))
    with store.transaction():
        kept_letter(store, letter_id, viewer)
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
        open_letter(store, letter_id, viewer)
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
        late = max((bangkok_day(now) - date.fromisoformat(loan["due_day"])).days, 0)
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
    today = bangkok_day(ctx.now())
    rows = store.query(
        "SELECT loans.*, letters.number, letters.receipt_number, letters.subject, "
        "letters.secrecy, letters.assigned_to FROM loans "
        "JOIN letters ON letters.id = loans.letter WHERE loans.returned_at IS NULL "
        "ORDER BY loans.due_day, loans.id"
    )
    loans = [_loan_view(r, today, viewer) for r in rows]
    return [loan for loan in loans if loan["days_overdue"] > 0] if overdue_only else loans
