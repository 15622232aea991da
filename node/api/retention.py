"""Local API for keeping letters: retention, borrowing, the 20-year list and destruction.

Routes (all behind the bearer token; the viewer from ``X-Saraban-User``/``-Roles``):

* ``POST /api/letters/<id>/keep``: จัดเก็บ (``{"retention"?, "kind"?}``);
* ``POST /api/letters/<id>/retention``: change the class (``{"retention", "reason"?}``);
* ``POST /api/letters/<id>/borrow`` (``{"borrower", "due"?, "note"?}``) and
  ``POST /api/letters/<id>/return-loan``; ``GET /api/retention/loans?overdue=1``;
* ``GET /api/retention/due?year=``: kept letters expired before that year;
* ``GET /api/retention/archives?year=`` and ``.../archives/print?year=&format=pdf|xlsx``:
  letters reaching 20 years, for the National Archives;
* ``POST /api/retention/lists`` (``{"year"}``), ``GET /api/retention/lists``,
  ``GET /api/retention/lists/<id>``, ``GET /api/retention/lists/<id>/print?format=``,
  ``POST /api/retention/lists/<id>/approve`` (``{"chair", "members", "archives_ref",
  "decided_at"?, "excluded_letter_ids"?, "extend_years"?}``) and
  ``POST /api/retention/lists/<id>/destroy``.

A year left out means the current Buddhist-era year by the node's clock.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from node.api.files import document_format, document_response
from node.api.kit import (
    actor,
    body,
    ctx,
    int_field,
    protected_blueprint,
    store,
    strings_field,
    text_field,
    viewer,
)
from node.errors import BadInput
from node.keeping import archives, destruction, destruction_lists, loans, retention
from node.keeping import kept as keeping
from protocol.thai import to_arabic_digits

bp = protected_blueprint("retention", __name__)


def _year_arg() -> int:
    raw = to_arabic_digits(request.args.get("year", "")).strip()
    if not raw:
        return retention.year_be_now(ctx())
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise BadInput(
            f"year must be a Buddhist-era year, not {raw[:20]!r}",
            code="bad_year",
            message_th="ปีต้องเป็นปีพุทธศักราช เช่น 2570",
        )
    return retention.check_year(int(raw))


def _retention_field(data: dict[str, Any]) -> str:
    value = data.get("retention")
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadInput(
            "retention must be a number of years or 'never'",
            code="bad_retention",
            message_th="อายุการเก็บต้องเป็นจำนวนปี (เช่น 10 หรือ 1) หรือ ห้ามทำลาย",
        )
    return str(value)


def _ids_field(data: dict[str, Any], name: str) -> list[int]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise BadInput(
            f"{name} must be a list of letter ids",
            code="bad_field",
            message_th=f"ช่อง {name} ต้องเป็นรายการเลขรายการหนังสือ",
        )
    return value


@bp.post("/letters/<int:letter_id>/keep")
def keep(letter_id: int) -> Response:
    """จัดเก็บ with a retention class and the kind of keeping."""
    data = body()
    return jsonify(
        keeping.keep_letter(
            ctx(),
            store(),
            letter_id,
            retention=_retention_field(data) or None,
            kind=text_field(data, "kind", "after_done") or "after_done",
            actor=actor(),
            viewer=viewer(),
        )
    )


@bp.post("/letters/<int:letter_id>/retention")
def set_retention(letter_id: int) -> Response:
    """Change a kept letter's retention class."""
    data = body()
    value = _retention_field(data)
    if not value:
        raise BadInput(
            "retention is required",
            code="retention_required",
            message_th="กรุณาระบุอายุการเก็บ",
        )
    return jsonify(
        keeping.set_retention(
            ctx(),
            store(),
            letter_id,
            value,
            reason=text_field(data, "reason"),
            actor=actor(),
            viewer=viewer(),
        )
    )


@bp.post("/letters/<int:letter_id>/borrow")
def borrow(letter_id: int) -> tuple[Response, int]:
    """การยืม: who borrows a kept letter and when it is due back."""
    data = body()
    loan = loans.borrow_letter(
        ctx(),
        store(),
        letter_id,
        borrower=text_field(data, "borrower"),
        due=text_field(data, "due"),
        note=text_field(data, "note"),
        actor=actor(),
        viewer=viewer(),
    )
    return jsonify(loan), 201


@bp.post("/letters/<int:letter_id>/return-loan")
def return_loan(letter_id: int) -> Response:
    """The borrowed letter came back."""
    body()
    return jsonify(loans.return_loan(ctx(), store(), letter_id, actor=actor(), viewer=viewer()))


@bp.get("/retention/loans")
def list_loans() -> Response:
    """Letters out on loan (``?overdue=1``: only those past their due date)."""
    overdue = request.args.get("overdue") in ("1", "true")
    return jsonify(
        {"loans": loans.list_loans(ctx(), store(), overdue_only=overdue, viewer=viewer())}
    )


@bp.get("/retention/due")
def due() -> Response:
    """Kept letters whose time ran out before ``?year=``."""
    year = _year_arg()
    return jsonify(
        {"year": year, "letters": destruction_lists.due_letters(store(), year, viewer())}
    )


@bp.get("/retention/archives")
def list_archives() -> Response:
    """Kept letters reaching 20 years by ``?year=``, for the National Archives."""
    year = _year_arg()
    return jsonify({"year": year, "letters": archives.archives_list(store(), year, viewer())})


@bp.get("/retention/archives/print")
def print_archives() -> Response:
    """The 20-year list as PDF or xlsx."""
    doc = archives.archives_doc(
        store(), _year_arg(), office=ctx().office, viewer=viewer(), now=ctx().now()
    )
    return document_response(doc, document_format())


@bp.post("/retention/lists")
def propose() -> tuple[Response, int]:
    """บัญชีหนังสือขอทำลาย of ``{"year"}`` (default this year)."""
    year = int_field(body(), "year")
    proposed = destruction.propose_destruction(
        ctx(), store(), year if year is not None else retention.year_be_now(ctx()), actor()
    )
    return jsonify(proposed), 201


@bp.get("/retention/lists")
def lists() -> Response:
    """Every destruction list, newest first."""
    return jsonify({"lists": destruction_lists.list_destruction_lists(store())})


@bp.get("/retention/lists/<int:list_id>")
def get_list(list_id: int) -> Response:
    """One destruction list with its items."""
    return jsonify(destruction_lists.get_destruction_list(store(), list_id, viewer()))


@bp.get("/retention/lists/<int:list_id>/print")
def print_list(list_id: int) -> Response:
    """The destruction list as PDF or xlsx, with the committee's signature lines."""
    doc = destruction_lists.destruction_doc(
        store(), list_id, office=ctx().office, viewer=viewer(), now=ctx().now()
    )
    return document_response(doc, document_format())


@bp.post("/retention/lists/<int:list_id>/approve")
def approve(list_id: int) -> Response:
    """The committee's review and the National Archives' agreement."""
    data = body()
    return jsonify(
        destruction.approve_destruction(
            ctx(),
            store(),
            list_id,
            chair=text_field(data, "chair"),
            members=strings_field(data, "members"),
            archives_ref=text_field(data, "archives_ref"),
            decided_at=text_field(data, "decided_at") or None,
            excluded_letter_ids=_ids_field(data, "excluded_letter_ids"),
            extend_years=int_field(data, "extend_years"),
            actor=actor(),
        )
    )


@bp.post("/retention/lists/<int:list_id>/destroy")
def destroy(list_id: int) -> Response:
    """ทำลาย the letters of an approved list."""
    body()
    return jsonify(destruction.destroy(ctx(), store(), list_id, actor()))
