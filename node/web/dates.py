"""Dates typed into the clerk's forms: read the way clerks type them, said back in Thai.

* :func:`typed_date` reads a form field with :func:`protocol.typed_dates.read_typed_date`
  (``1 ธ.ค. 69``, ``1/12/69``, ``1/12/2569``, Thai digits, ISO) and refuses what it cannot
  read, or a day the calendar does not have, with a Thai message naming the field;
  :func:`typed_date_iso` gives the ISO date the domain functions take.
* :func:`understood_th` is what a page shows next to the field: the date as understood
  (``1 ธันวาคม 2569``), or why it cannot be read. The pages show it when they render a
  form with a typed date, so the echo works without JavaScript.
* ``GET /dates/read?text=`` (blueprint ``web_dates``), for a signed-in user: the same as
  JSON (``{"ok", "text", "date_th", "iso"}`` or ``{"ok": false, "text", "message_th"}``), which
  ``/static/forms.js`` asks while the clerk types, to say the date back at once.

Does not: decide what a date means for a letter, a loan or a search (the domain functions
take the ISO date), or parse dates in messages (:func:`protocol.thai.parse_thai_date`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, jsonify, request

from node.errors import BadInput
from node.web.kit import requires
from protocol.errors import BadMessage
from protocol.thai import MAX_BE_YEAR, MIN_BE_YEAR, THAI_MONTHS, format_thai_date, normalize_thai
from protocol.typed_dates import (
    MAX_TYPED_DATE,
    NoSuchDate,
    YearOutOfRange,
    read_typed_date,
)

bp = Blueprint("web_dates", __name__)

EXAMPLES_TH = "เช่น 1 ธ.ค. 69, 1/12/69 หรือ 1/12/2569"
"""The forms of a date every date field's hint names."""


def problem_th(error: BadMessage, label_th: str | None = None) -> str:
    """Why a typed date was refused, in Thai; after the field's name ``label_th`` when given
    (a message over the form), without it next to the field itself."""
    if isinstance(error, NoSuchDate):
        if not 1 <= error.month <= len(THAI_MONTHS):
            reason = f"ไม่มีเดือนที่ {error.month} (เดือนต้องเป็น 1 ถึง 12)"
        else:
            month = THAI_MONTHS[error.month - 1]
            reason = f"ไม่มีวันที่ {error.day} {month} {error.year_be} ในปฏิทิน"
    elif isinstance(error, YearOutOfRange):
        reason = f"ปี พ.ศ. {error.year_be} อยู่นอกช่วงที่รับได้ (พ.ศ. {MIN_BE_YEAR} ถึง {MAX_BE_YEAR})"
    else:
        reason = f"อ่านวันที่ไม่ได้ กรุณาพิมพ์วัน เดือน ปี {EXAMPLES_TH}"
    return f"{label_th}: {reason}" if label_th else reason


def read_date_th(text: str, label_th: str | None = None) -> date:
    """``text`` as a date; :class:`BadInput` (``bad_date``) with the Thai reason otherwise,
    after ``label_th``."""
    try:
        return read_typed_date(normalize_thai(text).strip())
    except BadMessage as e:
        raise BadInput(
            f"cannot read {label_th or 'a date'} {text[:MAX_TYPED_DATE]!r}: {e}",
            code="bad_date",
            message_th=problem_th(e, label_th),
        ) from e


def typed_date(name: str, label_th: str, *, required: bool = False) -> date | None:
    """The date typed into the form field ``name`` (None when empty and not required)."""
    raw = request.form.get(name, "")
    if "\x00" in raw:
        raise BadInput(f"{name} holds a NUL", code="bad_field", message_th=f"{label_th}ไม่ถูกต้อง")
    if not raw.strip():
        if required:
            raise BadInput(f"{name} is required", code="required", message_th=f"กรุณากรอก{label_th}")
        return None
    return read_date_th(raw, label_th)


def typed_date_iso(name: str, label_th: str, *, required: bool = False) -> str:
    """:func:`typed_date` as ISO 8601 (``2026-12-01``), or ``""`` when empty."""
    day = typed_date(name, label_th, required=required)
    return day.isoformat() if day else ""


UNDERSTOOD_TH = "ระบบอ่านว่า"
"""Before the date said back: ``ระบบอ่านว่า 1 ธันวาคม 2569``."""


def understood_th(text: str | None) -> dict[str, Any] | None:
    """What the page says next to a date field holding ``text``: ``{"ok": True, "text":
    "ระบบอ่านว่า 1 ธันวาคม 2569"}``, or ``{"ok": False, "text": <why it cannot be read>}``;
    None for an empty field."""
    if not text or not text.strip():
        return None
    try:
        return {"ok": True, "text": f"{UNDERSTOOD_TH} {format_thai_date(read_date_th(text))}"}
    except BadInput as e:
        return {"ok": False, "text": e.message_th}


@bp.app_template_global("understood_date")
def understood_date(text: str | None) -> dict[str, Any] | None:
    """:func:`understood_th` for templates."""
    return understood_th(text)


@bp.get("/dates/read")
@requires()
def read() -> Response:
    text = request.args.get("text", "")
    try:
        day = read_date_th(text)
    except BadInput as e:
        resp = jsonify({"ok": False, "text": e.message_th, "message_th": e.message_th})
    else:
        said = f"{UNDERSTOOD_TH} {format_thai_date(day)}"
        resp = jsonify(
            {"ok": True, "text": said, "date_th": format_thai_date(day), "iso": day.isoformat()}
        )
    resp.headers["Cache-Control"] = "no-store"
    return resp
