"""The clerk's registers page (ทะเบียนหนังสือ): the office's registers on screen, and printed.

Routes (blueprint ``web_registers``), for the roles allowed ``registers``:

* ``GET /registers?series=รับ&year=2569&month=11``: choose a register (รับ, ส่ง, ว, คำสั่ง,
  ประกาศ, and ลับ for the registrar and assistants only), a Buddhist-era year and
  optionally a month; the entries are shown as a table, the same rows the printed register
  holds, with links to download it;
* ``GET /registers/file?series=...&year=...&month=...&format=pdf|xlsx``: the register as a
  PDF or Excel download, with the same file names as ``/api/registers/<series>/print``.

Without a choice the page shows this month's receipt register. A year or month that is not
a number, an unknown series or a year out of range is a Thai message with status 400; the
ลับ register asked for by anyone else, a 403.

Does not: decide what a register holds or hides (:func:`node.printing.registers.register_doc`) or
render the files (:mod:`node.printing.tables`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for

from node.api.files import document_format, document_response
from node.api.kit import ctx, store
from node.errors import BadInput, NodeError
from node.printing import registers as reports
from node.printing.tabledoc import TableDoc
from node.web.kit import requires, viewer
from protocol.numbers import Series
from protocol.thai import THAI_MONTHS, as_bangkok, be_year, to_arabic_digits

bp = Blueprint("web_registers", __name__)

OFFICE_SERIES: tuple[Series, ...] = (
    Series.RECEIPT,
    Series.OUTGOING,
    Series.CIRCULAR,
    Series.ORDER,
    Series.ANNOUNCEMENT,
    Series.CLASSIFIED,
)
"""The registers offered, in this order; ลับ only to those who see every classified letter."""


@dataclass(frozen=True)
class Choice:
    """Which register, of which year, and of which month (None: the whole year)."""

    series: str
    year: int
    month: int | None

    def args(self) -> dict[str, Any]:
        out: dict[str, Any] = {"series": self.series, "year": self.year}
        if self.month:
            out["month"] = self.month
        return out


def whole_number(name: str, message_th: str) -> int | None:
    """An optional whole number of the query string (Thai digits too), else ``BadInput``."""
    raw = to_arabic_digits(request.args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise BadInput(
            f"{name}={raw!r} is not a whole number", code=f"bad_{name}", message_th=message_th
        )
    return int(raw)


def _choice() -> Choice:
    """The register asked for, this month's receipt register by default."""
    now = as_bangkok(datetime.fromtimestamp(ctx().now(), UTC))
    series = (request.args.get("series") or Series.RECEIPT.value).strip()
    if series not in {s.value for s in OFFICE_SERIES}:
        raise BadInput(
            f"unknown register series {series!r}",
            code="unknown_series",
            message_th="ไม่รู้จักทะเบียนนี้ กรุณาเลือกจากรายการ",
        )
    year = whole_number("year", "ปี (พ.ศ.)ต้องเป็นตัวเลข")
    month = whole_number("month", "เดือนต้องเป็นตัวเลข")
    if not request.args:
        month = now.month
    return Choice(series, year if year is not None else be_year(now.year), month)


def _doc(choice: Choice, shown_as: str = "print") -> TableDoc:
    return reports.register_doc(
        ctx(), store(), choice.series, choice.year, choice.month, viewer(), shown_as=shown_as
    )


def _series_offered() -> dict[str, str]:
    shown = [s for s in OFFICE_SERIES if s is not Series.CLASSIFIED or viewer().sees_all_classified]
    return {s.value: reports.SERIES_TITLES[s] for s in shown}


def _page(
    choice: Choice | None, doc: TableDoc | None, error: str | None, status: int
) -> tuple[str, int]:
    form = choice.args() if choice else request.args.to_dict(flat=True)
    downloads = None
    if choice and doc:
        downloads = {
            fmt: url_for("web_registers.download", **choice.args(), format=fmt)
            for fmt in ("pdf", "xlsx")
        }
    page = render_template(
        "registers.html",
        form=form,
        doc=doc,
        error=error,
        downloads=downloads,
        series_offered=_series_offered(),
        months=list(enumerate(THAI_MONTHS, start=1)),
    )
    return page, status


@bp.get("/registers")
@requires("registers")
def registers() -> tuple[str, int]:
    try:
        choice = _choice()
        doc = _doc(choice, "view")
    except NodeError as e:
        return _page(None, None, e.message_th, e.status)
    return _page(choice, doc, None, 200)


@bp.get("/registers/file")
@requires("registers")
def download() -> Response:
    fmt = document_format()
    return document_response(_doc(_choice()), fmt)
