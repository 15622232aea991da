"""Destruction lists (บัญชีหนังสือขอทำลาย) as clerks read and print them.

:func:`due_letters` are the kept letters whose time ran out, what a new list takes;
:func:`get_destruction_list` and :func:`list_destruction_lists` read the lists with their
items and the committee's decisions; :func:`destruction_doc` is the regulation's form as a
:class:`~node.printing.tabledoc.TableDoc`, with the committee's signature lines.

Does not: make, approve or carry out a list (:mod:`node.keeping.destruction`), or render it
(:mod:`node.printing.tables`). Classified subjects are hidden from a viewer who may not open the
letter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from node.errors import NotFound
from node.keeping.kept import (
    SIGN_LINE,
    kept_row,
    letter_date_th,
    on_destruction_list,
    remark,
    shown_subject,
)
from node.keeping.retention import check_year
from node.printing.tabledoc import Column, TableDoc
from node.records.access import OPERATOR, Viewer
from node.storage.store import Store
from protocol.thai import format_thai_date, format_thai_datetime

LIST_STATES: dict[str, str] = {
    "draft": "รอคณะกรรมการพิจารณา",
    "approved": "คณะกรรมการพิจารณาแล้ว รอทำลาย",
    "destroyed": "ทำลายแล้ว",
}
"""States of a destruction list and their Thai names."""

DECISIONS: dict[str, str] = {"destroy": "ทำลาย", "extend": "ขยายเวลาเก็บ"}
"""The committee's decision on one item of a destruction list (การพิจารณา)."""


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
        item = kept_row(r, viewer)
        item["on_list"] = on_destruction_list(store, r["id"])
        out.append(item)
    return out


def list_record(store: Store, list_id: int) -> dict[str, Any]:
    """The ``destruction_lists`` row of ``list_id``, or :class:`NotFound`."""
    row = store.one("SELECT * FROM destruction_lists WHERE id = ?", (list_id,))
    if row is None:
        raise NotFound(f"no destruction list {list_id}", message_th="ไม่พบบัญชีหนังสือขอทำลาย")
    return row


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
    dl = list_record(store, list_id)
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
                "letter_date": letter_date_th(r),
                "subject": shown_subject(r, viewer),
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
            remark(item, f"เก็บถึง พ.ศ. {item['keep_until']}"),
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
    lines = [f"{SIGN_LINE} ประธานกรรมการ {chair}"]
    lines += [f"{SIGN_LINE} กรรมการ {m}" for m in members]
    ref = dl["archives_ref"] or "........................................"
    lines.append(f"ความเห็นชอบของหอจดหมายเหตุแห่งชาติ: {ref}")
    if dl["destroyed_at_th"]:
        lines.append(f"ทำลายเมื่อ {dl['destroyed_at_th']}")
    return lines
