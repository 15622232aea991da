"""Retention classes (อายุการเก็บ) and the years they are counted in.

A class is a number of years (``"10"`` normally, ``"1"`` for routine letters) or
``"never"`` (ห้ามทำลาย), with defaults per letter type and sub-type from the settings
``RETENTION_DEFAULT`` and ``RETENTION_BY_TYPE``. A kept letter carries ``keep_until``, the
Buddhist-era year it is kept through (the letter's year plus the years), shown as
``เก็บถึง พ.ศ. 2579``. Here: parsing and showing classes, the year a letter counts from,
the current year and day in Bangkok, and reading the years and dates clerks type.

Does not: read or change the database (keeping a letter is :mod:`node.keeping.kept`; the lists
are :mod:`node.keeping.archives`, :mod:`node.keeping.destruction_lists` and
:mod:`node.keeping.destruction`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from node.context import NodeContext
from node.errors import BadInput, Conflict
from protocol.errors import SarabanError
from protocol.thai import (
    MAX_BE_YEAR,
    MIN_BE_YEAR,
    bangkok_date,
    be_year,
    fold_spaces,
    normalize_thai,
    parse_thai_date,
    to_arabic_digits,
)

NEVER = "never"
"""The retention class of a letter that is never destroyed (ห้ามทำลาย)."""

NEVER_TH = "ห้ามทำลาย"

MAX_RETENTION_YEARS = 99


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
    if not text.isascii() or not text.isdigit() or len(text) > 9:
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


# ---- years and dates --------------------------------------------------------------------


def bangkok_day(moment: float) -> date:
    """The Bangkok calendar day of ``moment`` (Unix seconds)."""
    return bangkok_date(datetime.fromtimestamp(moment, UTC))


def year_be_now(ctx: NodeContext) -> int:
    """The current Buddhist-era year in Bangkok, by the node's clock."""
    return be_year(bangkok_day(ctx.now()).year)


def letter_year_be(row: Mapping[str, Any]) -> int:
    """The Buddhist-era year of a letter: its date, else when it was registered or sent."""
    day = row.get("letter_day")
    if day:
        return be_year(date.fromisoformat(str(day)).year)
    for column in ("registered_at", "dispatched_at", "created_at"):
        if row.get(column):
            return be_year(bangkok_day(float(row[column])).year)
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


def parse_day(text: str, what: str, what_th: str) -> date:
    """A date the clerk typed (Thai or ISO); :class:`BadInput` ``bad_date`` naming ``what``."""
    try:
        return parse_thai_date(text)
    except SarabanError as e:
        raise BadInput(
            f"cannot read {what} {text!r}",
            code="bad_date",
            message_th=f"อ่าน{what_th}ไม่ได้ (ตัวอย่าง: 23 พฤศจิกายน 2569)",
        ) from e
