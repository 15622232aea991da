"""The clerk's pages for keeping letters: what is kept and until when, loans, the yearly
destruction list and the 20-year list for the National Archives.

Routes (blueprint ``web_retention``, all behind the ``retention`` permission):

* ``GET /retention``: หนังสือที่จัดเก็บ, each with เก็บถึง พ.ศ. (``?page=``), and counts;
* ``GET /retention/due?year=``: kept letters whose time ran out before that year;
* ``GET /retention/loans``, ``POST /retention/loans`` (ยืม: เลขที่หนังสือ or รหัสหนังสือ,
  ผู้ยืม, กำหนดคืน) and ``POST /retention/loans/<letter_id>/return`` (ส่งคืน);
* ``GET /retention/lists`` and ``POST /retention/lists`` (จัดทำบัญชีหนังสือขอทำลาย of a
  year); ``GET /retention/lists/<id>``, ``POST .../approve`` (the committee and the
  National Archives), ``POST .../destroy`` and ``GET .../print?format=pdf|xlsx``;
* ``GET /retention/archives?year=`` and ``GET /retention/archives/print?year=&format=``:
  letters reaching 20 years.

Dates are read as clerks type them (``10/3/70``, ``10 มี.ค. 2570``: :mod:`node.web.dates`)
and said back next to the field. A year left out is the current Buddhist-era year by the
node's clock. A failed form shows the page again with the domain's Thai message and what
was typed.

Does not: keep a letter or change its retention class (the letter's page does), or decide
anything itself: :mod:`node.keeping.kept`, :mod:`node.keeping.loans`,
:mod:`node.keeping.destruction`,
:mod:`node.keeping.destruction_lists` and :mod:`node.keeping.archives` do, and refuse in Thai.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from node.api.files import document_format, document_response
from node.api.kit import ctx, store
from node.errors import BadInput, NodeError, NotFound
from node.keeping import archives, destruction, destruction_lists, loans
from node.keeping import kept as keeping
from node.keeping.retention import check_year, year_be_now
from node.web.dates import typed_date_iso
from node.web.kit import Done, actor, done, field, once, requires, viewer
from protocol.numbers import search_key
from protocol.thai import to_arabic_digits

bp = Blueprint("web_retention", __name__)

PAGE_SIZE = 50
MAX_MEMBERS_TEXT = 2000

SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("web_retention.retention", "หนังสือที่จัดเก็บ", ()),
    ("web_retention.due", "ครบกำหนดทำลาย", ()),
    ("web_retention.loans", "การยืม", ("web_retention.borrow", "web_retention.return_loan")),
    (
        "web_retention.lists",
        "บัญชีหนังสือขอทำลาย",
        (
            "web_retention.propose",
            "web_retention.destruction_list",
            "web_retention.approve",
            "web_retention.destroy",
        ),
    ),
    ("web_retention.archives", "ส่งมอบหอจดหมายเหตุแห่งชาติ", ()),
)
"""This part's own menu: endpoint, Thai title, and the endpoints that belong to it."""


def _page(template: str, **context: Any) -> str:
    return render_template(template, sections=SECTIONS, **context)


def _year(raw: str | None) -> int:
    text = to_arabic_digits(raw or "").strip()
    if not text:
        return year_be_now(ctx())
    if not text.isascii() or not text.isdigit() or len(text) > 4:
        raise BadInput(
            f"year must be a Buddhist-era year, not {text!r}",
            code="bad_year",
            message_th="ปีต้องเป็นปีพุทธศักราช เช่น 2570",
        )
    return check_year(int(text))


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return max(int(raw), 1) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


# -- kept letters ----------------------------------------------------------------------------


@bp.get("/retention")
@requires("retention")
def retention() -> str:
    s, v = store(), viewer()
    total = int(
        s.scalar(
            "SELECT COUNT(*) FROM letters WHERE keep_kind IS NOT NULL AND destroyed_at IS NULL"
        )
        or 0
    )
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(_page_number(), pages)
    rows = s.query(
        "SELECT * FROM letters WHERE keep_kind IS NOT NULL AND destroyed_at IS NULL "
        "ORDER BY keep_until IS NULL, keep_until, letter_day, id LIMIT ? OFFSET ?",
        (PAGE_SIZE, (page - 1) * PAGE_SIZE),
    )
    year = year_be_now(ctx())
    out = loans.list_loans(ctx(), s, viewer=v)
    return _page(
        "retention.html",
        kept=[keeping.kept_row(r, v) for r in rows],
        total=total,
        page=page,
        pages=pages,
        year=year,
        due_count=len(destruction_lists.due_letters(s, year, v)),
        loan_count=len(out),
        overdue_count=sum(1 for loan in out if loan["days_overdue"] > 0),
        open_lists=sum(
            1 for dl in destruction_lists.list_destruction_lists(s) if dl["state"] != "destroyed"
        ),
    )


@bp.get("/retention/due")
@requires("retention")
def due() -> str | tuple[str, int]:
    try:
        year = _year(request.args.get("year"))
    except NodeError as e:
        return _page("retention_due.html", year=None, letters=[], error=e.message_th), e.status
    return _page(
        "retention_due.html",
        year=year,
        letters=destruction_lists.due_letters(store(), year, viewer()),
        error=None,
    )


# -- loans -------------------------------------------------------------------------------------


def _loans_page(error: str | None = None, form: Mapping[str, str] | None = None) -> str:
    return _page(
        "retention_loans.html",
        loans=loans.list_loans(ctx(), store(), viewer=viewer()),
        loan_days=int(ctx().settings.get("LOAN_DAYS") or 7),
        error=error,
        form=form or {},
    )


@bp.get("/retention/loans", endpoint="loans")
@requires("retention")
def loans_page() -> str:
    return _loans_page()


def find_letter(text: str) -> int:
    """The letter a clerk names by its number (any way of typing it) or its รหัส (id)."""
    digits = to_arabic_digits(text).strip().lstrip("#")
    if digits.isascii() and digits.isdigit() and len(digits) < 10:
        return int(digits)
    where, params = viewer().visible_sql()
    # ``where`` is built by Viewer.visible_sql from fixed SQL and placeholders only.
    found = store().query(
        f"SELECT id FROM letters WHERE number_key = ? AND {where} ORDER BY id",  # noqa: S608
        (search_key(text), *params),
    )
    if not found:
        raise NotFound(f"no letter numbered {text!r}", message_th=f"ไม่พบหนังสือเลขที่ {text}")
    if len(found) > 1:
        raise BadInput(
            f"{len(found)} letters are numbered {text!r}",
            code="ambiguous_number",
            message_th=f"มีหนังสือเลขที่ {text} มากกว่าหนึ่งฉบับ กรุณาระบุรหัสหนังสือแทน",
        )
    return int(found[0]["id"])


@bp.post("/retention/loans")
@requires("retention")
def borrow() -> BaseResponse | tuple[str, int]:
    def act() -> Done:
        letter_id = find_letter(field("letter", "เลขที่หนังสือหรือรหัสหนังสือ", max_len=100))
        loan = loans.borrow_letter(
            ctx(),
            store(),
            letter_id,
            borrower=field("borrower", "ชื่อผู้ยืม", max_len=200),
            due=typed_date_iso("due", "กำหนดคืน"),
            note=field("note", "หมายเหตุ", required=False, max_len=500),
            actor=actor(),
            viewer=viewer(),
        )
        return done(
            f"บันทึกการยืมแล้ว: {loan['borrower']} กำหนดคืน {loan['due_th']}",
            "web_retention.loans",
        )

    try:
        return once(act)
    except NodeError as e:
        return _loans_page(e.message_th, request.form), e.status


@bp.post("/retention/loans/<int:letter_id>/return")
@requires("retention")
def return_loan(letter_id: int) -> BaseResponse | tuple[str, int]:
    def act() -> Done:
        back = loans.return_loan(ctx(), store(), letter_id, actor=actor(), viewer=viewer())
        late = f" (เลยกำหนด {back['days_late']} วัน)" if back["days_late"] else ""
        return done(f"บันทึกการส่งคืนแล้ว{late}", "web_retention.loans")

    try:
        return once(act)
    except NodeError as e:
        return _loans_page(e.message_th), e.status


# -- destruction lists -------------------------------------------------------------------------


def _lists_page(error: str | None = None, form: Mapping[str, str] | None = None) -> str:
    return _page(
        "retention_lists.html",
        lists=destruction_lists.list_destruction_lists(store()),
        year=year_be_now(ctx()),
        error=error,
        form=form or {},
    )


@bp.get("/retention/lists")
@requires("retention")
def lists() -> str:
    return _lists_page()


@bp.post("/retention/lists")
@requires("retention")
def propose() -> BaseResponse | tuple[str, int]:
    def act() -> Done:
        year = _year(field("year", "ปี พ.ศ.", required=False, max_len=10))
        proposed = destruction.propose_destruction(ctx(), store(), year, actor())
        return done(
            f"จัดทำบัญชีหนังสือขอทำลาย ประจำปี พ.ศ. {proposed['year']} แล้ว "
            f"({len(proposed['items'])} รายการ) รอคณะกรรมการพิจารณา",
            "web_retention.destruction_list",
            list_id=proposed["id"],
        )

    try:
        return once(act)
    except NodeError as e:
        return _lists_page(e.message_th, request.form), e.status


def _list_page(
    list_id: int,
    error: str | None = None,
    form: Mapping[str, Any] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    dl = destruction_lists.get_destruction_list(store(), list_id, viewer())
    page = _page(
        "retention_list.html",
        dl=dl,
        extend_years=int(ctx().settings.get("RETENTION_EXTEND_YEARS") or 0),
        error=error,
        form=form if form is not None else {},
        excluded=set(request.form.getlist("excluded")) if form is not None else set(),
    )
    return page, status


@bp.get("/retention/lists/<int:list_id>")
@requires("retention")
def destruction_list(list_id: int) -> tuple[str, int]:
    return _list_page(list_id)


def _members(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def _excluded() -> list[int]:
    raw = request.form.getlist("excluded")
    if not all(v.isascii() and v.isdigit() and len(v) < 10 for v in raw):
        raise BadInput(
            "excluded must be letter ids",
            code="bad_field",
            message_th="รายการหนังสือที่ขอขยายเวลาเก็บไม่ถูกต้อง",
        )
    return [int(v) for v in raw]


def _extend_years() -> int | None:
    text = to_arabic_digits(field("extend_years", "จำนวนปีที่ขยาย", required=False, max_len=3))
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise BadInput(
            f"extend_years {text!r}",
            code="bad_extend_years",
            message_th="จำนวนปีที่ขยายเวลาเก็บไม่ถูกต้อง",
        )
    return int(text)


@bp.post("/retention/lists/<int:list_id>/approve")
@requires("retention")
def approve(list_id: int) -> BaseResponse | tuple[str, int]:
    def act() -> Done:
        destruction.approve_destruction(
            ctx(),
            store(),
            list_id,
            chair=field("chair", "ชื่อประธานกรรมการ", max_len=200),
            members=_members(field("members", "ชื่อกรรมการ", max_len=MAX_MEMBERS_TEXT)),
            archives_ref=field(
                "archives_ref", "เลขที่หนังสือแจ้งความเห็นชอบของหอจดหมายเหตุแห่งชาติ", max_len=200
            ),
            decided_at=typed_date_iso("decided_at", "วันที่คณะกรรมการพิจารณา") or None,
            excluded_letter_ids=_excluded(),
            extend_years=_extend_years(),
            actor=actor(),
        )
        return done(
            "บันทึกความเห็นชอบของคณะกรรมการและหอจดหมายเหตุแห่งชาติแล้ว",
            "web_retention.destruction_list",
            list_id=list_id,
        )

    try:
        return once(act)
    except NodeError as e:
        return _list_page(list_id, e.message_th, request.form, e.status)


@bp.post("/retention/lists/<int:list_id>/destroy")
@requires("retention")
def destroy(list_id: int) -> BaseResponse | tuple[str, int]:
    def act() -> Done:
        if request.form.get("confirm") != "yes":
            raise BadInput(
                "destruction not confirmed",
                code="confirm_required",
                message_th="กรุณาทำเครื่องหมายยืนยันการทำลายก่อน",
            )
        result = destruction.destroy(ctx(), store(), list_id, actor())
        return done(
            f"ทำลายหนังสือตามบัญชีแล้ว {len(result['destroyed'])} รายการ",
            "web_retention.destruction_list",
            list_id=list_id,
        )

    try:
        return once(act)
    except NodeError as e:
        return _list_page(list_id, e.message_th, status=e.status)


@bp.get("/retention/lists/<int:list_id>/print")
@requires("retention")
def print_list(list_id: int) -> Response:
    fmt = document_format()
    doc = destruction_lists.destruction_doc(
        store(), list_id, office=ctx().office, viewer=viewer(), now=ctx().now()
    )
    return document_response(doc, fmt)


# -- the National Archives -------------------------------------------------------------------


@bp.get("/retention/archives", endpoint="archives")
@requires("retention")
def archives_page() -> str | tuple[str, int]:
    try:
        year = _year(request.args.get("year"))
    except NodeError as e:
        page = _page("retention_archives.html", year=None, letters=[], error=e.message_th)
        return page, e.status
    return _page(
        "retention_archives.html",
        year=year,
        age=archives.ARCHIVES_AGE_YEARS,
        letters=archives.archives_list(store(), year, viewer()),
        error=None,
    )


@bp.get("/retention/archives/print")
@requires("retention")
def print_archives() -> Response:
    fmt = document_format()
    doc = archives.archives_doc(
        store(),
        _year(request.args.get("year")),
        office=ctx().office,
        viewer=viewer(),
        now=ctx().now(),
    )
    return document_response(doc, fmt)
