"""The clerk's library page (หนังสือเวียน คำสั่ง ระเบียบ ประกาศ): the office's standing
instruments, received and issued, in one place.

Route (blueprint ``web_library``): ``GET /library?kind=ว&year=2569&q=...``, for any
signed-in user. Tabs by kind: circulars (numbered ``.../ว n`` or from a ว register),
orders (คำสั่ง), regulations (ระเบียบ, ข้อบังคับ) and announcements (ประกาศ); a
Buddhist-era year of the letter's date and a text filter on the subject narrow the list;
newest first, paged, each row linking to its letter page. It holds the letters issued
(not drafts or withdrawn ones) and those received once registered (not one still waiting
or returned), none destroyed. A classified letter the viewer may not open is not listed.

A kind, year, page or text that cannot be read is a Thai message with status 400.

Does not: change any letter, or decide who may see a classified letter
(:meth:`node.records.access.Viewer.visible_sql` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template, request, url_for

from node.api.kit import store
from node.errors import BadInput, NodeError
from node.records.access import Viewer
from node.records.drafts import DRAFT_STATES
from node.storage.store import Store
from node.web.kit import requires, viewer
from node.web.registers import whole_number
from node.web.search import listed
from protocol.thai import MAX_BE_YEAR, MIN_BE_YEAR, ce_year, normalize_thai

bp = Blueprint("web_library", __name__)

PER_PAGE = 50
MAX_TEXT = 200


@dataclass(frozen=True)
class Kind:
    """One tab: its Thai title and the letters it holds (a WHERE fragment and values)."""

    title: str
    where: str
    params: tuple[str, ...]


KINDS: dict[str, Kind] = {
    "ว": Kind(
        "หนังสือเวียน",
        "(letters.register LIKE ? OR letters.number LIKE ?)",
        ("%|ว|%", "%/ว %"),
    ),
    "คำสั่ง": Kind(
        "คำสั่ง",
        "(letters.sub_type = ? OR letters.register LIKE ? OR letters.number LIKE ?)",
        ("คำสั่ง", "%|คำสั่ง|%", "คำสั่ง%"),
    ),
    "ระเบียบ": Kind("ระเบียบ/ข้อบังคับ", "letters.sub_type IN (?, ?)", ("ระเบียบ", "ข้อบังคับ")),
    "ประกาศ": Kind(
        "ประกาศ",
        "(letters.sub_type = ? OR letters.register LIKE ? OR letters.number LIKE ?)",
        ("ประกาศ", "%|ประกาศ|%", "ประกาศ%"),
    ),
}
"""The tabs, by the value of ``kind``; no ``kind`` lists them all."""

_UNISSUED = ", ".join(f"'{state}'" for state in (*DRAFT_STATES, "withdrawn", "invalid"))
_IN_LIBRARY = (
    f"((letters.direction = 'out' AND letters.state NOT IN ({_UNISSUED})) "
    "OR (letters.direction = 'in' AND letters.state = 'registered')) "
    "AND COALESCE(letters.stage, '') <> 'destroyed'"
)
_DAY = "COALESCE(letters.letter_day, date(letters.created_at, 'unixepoch', '+7 hours'))"
_COLUMNS = (
    "letters.id, letters.direction, letters.number, letters.receipt_number, letters.subject, "
    "letters.sub_type, letters.register, letters.speed, letters.secrecy, letters.letter_date, "
    "letters.letter_day, letters.state, letters.stage, letters.origin"
)


@dataclass(frozen=True)
class Shelf:
    """What the library is asked to show."""

    kind: str
    year: int | None
    text: str
    page: int


def _bad(name: str, code: str, message_th: str) -> BadInput:
    return BadInput(f"bad {name}", code=code, message_th=message_th)


def _shelf() -> Shelf:
    kind = (request.args.get("kind") or "").strip()
    if kind and kind not in KINDS:
        raise _bad("kind", "bad_kind", "ไม่รู้จักประเภทหนังสือนี้ กรุณาเลือกจากแถบด้านบน")
    year = whole_number("year", "ปีต้องเป็นตัวเลข พ.ศ. เช่น 2569")
    if year is not None and not MIN_BE_YEAR <= year <= MAX_BE_YEAR:
        raise _bad("year", "bad_year", "ปีไม่ถูกต้อง (ให้ระบุปีพุทธศักราช เช่น 2569)")
    text = normalize_thai(request.args.get("q") or "").strip()
    if len(text) > MAX_TEXT:
        raise _bad("q", "query_too_long", f"คำค้นยาวเกิน {MAX_TEXT} ตัวอักษร")
    page = whole_number("page", "หน้าต้องเป็นตัวเลข") or 1
    if page > 10_000:
        raise _bad("page", "bad_page", "ไม่มีหน้านี้")
    return Shelf(kind, year, text, page)


def _where(shelf: Shelf, who: Viewer) -> tuple[str, list[Any]]:
    visible, params = who.visible_sql("letters")
    clauses = [_IN_LIBRARY, visible]
    kinds = [KINDS[shelf.kind]] if shelf.kind else list(KINDS.values())
    clauses.append("(" + " OR ".join(k.where for k in kinds) + ")")
    params += [p for k in kinds for p in k.params]
    if shelf.year is not None:
        clauses.append(f"{_DAY} BETWEEN ? AND ?")
        params += [f"{ce_year(shelf.year)}-01-01", f"{ce_year(shelf.year)}-12-31"]
    if shelf.text:
        escaped = shelf.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append("letters.subject LIKE ? ESCAPE '\\'")
        params.append(f"%{escaped}%")
    return " AND ".join(clauses), params


def kind_of(row: dict[str, Any]) -> str:
    """The tab a letter belongs to (its sub-type first, then its register and number)."""
    sub_type, number = row.get("sub_type") or "", row.get("number") or ""
    series = [*str(row.get("register") or "").split("|"), ""][1]
    if sub_type in ("ระเบียบ", "ข้อบังคับ"):
        return sub_type
    for kind in ("คำสั่ง", "ประกาศ"):
        if kind in (sub_type, series) or number.startswith(kind):
            return kind
    return KINDS["ว"].title


def shelf_letters(s: Store, who: Viewer, shelf: Shelf) -> tuple[list[dict[str, Any]], int]:
    """One page of the library, newest first, and how many letters it holds in all."""
    where, params = _where(shelf, who)
    # Every fragment is a fixed string of this module or node.access; values are bound.
    total = int(s.scalar(f"SELECT COUNT(*) FROM letters WHERE {where}", params) or 0)  # noqa: S608
    sql = (
        f"SELECT {_COLUMNS} FROM letters WHERE {where} "  # noqa: S608
        f"ORDER BY {_DAY} DESC, letters.id DESC LIMIT ? OFFSET ?"
    )
    rows = s.query(sql, [*params, PER_PAGE, (shelf.page - 1) * PER_PAGE])
    shown = listed(s, rows)
    for item, row in zip(shown, rows, strict=True):
        item["kind"] = kind_of(row)
    return shown, total


def _years(s: Store, who: Viewer) -> list[int]:
    """Buddhist-era years the library holds letters of, newest first."""
    where, params = _where(Shelf("", None, "", 1), who)
    sql = f"SELECT DISTINCT substr({_DAY}, 1, 4) AS y FROM letters WHERE {where} ORDER BY y DESC"  # noqa: S608
    return [int(r["y"]) + 543 for r in s.query(sql, params) if r["y"] and str(r["y"]).isdigit()]


def _url(kind: str, shelf: Shelf, page: int = 1) -> str:
    args: dict[str, Any] = {"kind": kind} if kind else {}
    if shelf.year:
        args["year"] = shelf.year
    if shelf.text:
        args["q"] = shelf.text
    if page > 1:
        args["page"] = page
    return url_for("web_library.library", **args)


def _page(shelf: Shelf, rows: list[dict[str, Any]], total: int) -> dict[str, Any]:
    pages = max(1, -(-total // PER_PAGE))
    return {
        "rows": rows,
        "total": total,
        "page": shelf.page,
        "pages": pages,
        "prev_url": _url(shelf.kind, shelf, shelf.page - 1) if shelf.page > 1 else None,
        "next_url": _url(shelf.kind, shelf, shelf.page + 1) if shelf.page < pages else None,
    }


@bp.get("/library")
@requires()
def library() -> tuple[str, int]:
    s, who = store(), viewer()
    context: dict[str, Any] = {"kinds": KINDS, "years": _years(s, who), "form": request.args}
    try:
        shelf = _shelf()
    except NodeError as e:
        blank = Shelf("", None, "", 1)
        tabs = {k: _url(k, blank) for k in ("", *KINDS)}
        page = render_template(
            "library.html", error=e.message_th, shelf=blank, tabs=tabs, result=None, **context
        )
        return page, e.status
    rows, total = shelf_letters(s, who, shelf)
    if shelf.year is not None and shelf.year not in context["years"]:
        context["years"] = sorted({*context["years"], shelf.year}, reverse=True)
    tabs = {k: _url(k, shelf) for k in ("", *KINDS)}
    page = render_template(
        "library.html", shelf=shelf, tabs=tabs, result=_page(shelf, rows, total), **context
    )
    return page, 200
