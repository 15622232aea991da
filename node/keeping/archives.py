"""The 20-year list: kept letters that reached 20 years, for the National Archives
(หอจดหมายเหตุแห่งชาติ), and its printed form (บัญชีหนังสือครบ 20 ปี ที่ขอส่งมอบ).

Does not: change any letter (handing letters over is done on paper), render the list
(:mod:`node.printing.tables`), or list letters due for destruction
(:mod:`node.keeping.destruction_lists`).
"""

from __future__ import annotations

from typing import Any

from node.keeping.kept import SIGN_LINE, kept_row, remark
from node.keeping.retention import check_year, letter_year_be
from node.printing.tabledoc import Column, TableDoc
from node.records.access import OPERATOR, Viewer
from node.storage.store import Store

ARCHIVES_AGE_YEARS = 20
"""Letters this old go to the National Archives, or are listed as kept by the agency."""


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
    listed = [kept_row(r, viewer) for r in rows if letter_year_be(r) <= limit]
    listed.sort(key=lambda r: (r["letter_year"], r["id"]))
    return listed


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
                remark(r),
            ]
            for i, r in enumerate(rows, 1)
        ],
        footer=[
            f"{SIGN_LINE} ผู้ส่งมอบ",
            f"{SIGN_LINE} ผู้รับมอบ (หอจดหมายเหตุแห่งชาติ)",
        ],
        filename=f"archives-list-{year_be}",
        display_name=f"บัญชีหนังสือครบ20ปี-{year_be}",
        printed_at=now,
    )
