"""Dates as clerks type them into a form, read into a calendar date.

:func:`read_typed_date` takes what a clerk types for ลงวันที่, a due date or a search range:
``1 ธ.ค. 69``, ``1 ธันวาคม 2569``, ``1/12/69``, ``1/12/2569``, ``1.12.2569``, the same with
Thai digits (``๑ ธ.ค. ๒๕๖๙``), with ``วันที่`` before it or ``พ.ศ.`` before the year, and ISO
8601 (``2026-12-01``). Years follow one rule, the one clerks expect:

* two digits are a Buddhist-era year of the 2500s (``69`` is 2569);
* four digits are Buddhist era from :data:`~protocol.thai.MIN_BE_YEAR` (2400) up, else
  Christian era (``1/12/2026`` is 1 December 2569); ``ค.ศ.`` before the year makes it
  Christian era whatever its value;
* the same holds for ISO dates: ``2026-12-01`` is Christian era, ``2569-12-01`` Buddhist.

The resulting Buddhist-era year must lie within :data:`~protocol.thai.MIN_BE_YEAR` and
:data:`~protocol.thai.MAX_BE_YEAR`. A date that reads but is not in the calendar
(``31/2/69``) raises :class:`NoSuchDate` with the day, month and year as understood, so
that the page can say which date does not exist.

Does not: read times, ranges or dates without a year, guess month-first American order,
or word messages for users (the node's pages do, in Thai). :func:`protocol.thai.parse_thai_date`
stays the strict reader of dates in letters and messages.
"""

from __future__ import annotations

import re
from datetime import date

from protocol.errors import BadMessage
from protocol.thai import (
    MAX_BE_YEAR,
    MIN_BE_YEAR,
    THAI_MONTHS,
    THAI_MONTHS_ABBR,
    ce_year,
    fold_spaces,
    normalize_thai,
    to_arabic_digits,
)

__all__ = ["NoSuchDate", "UnreadableDate", "YearOutOfRange", "read_typed_date"]

MAX_TYPED_DATE = 60
"""Characters of a typed date; anything longer is not a date."""

_TWO_DIGIT_CENTURY = 2500
"""A two-digit year is a Buddhist-era year of this century (``69`` is 2569)."""

_CE_OFFSET = 543


class UnreadableDate(BadMessage):
    """The text is not a date in any form :func:`read_typed_date` accepts."""

    code = "bad_date"


class YearOutOfRange(BadMessage):
    """The date reads, but its Buddhist-era year ``year_be`` is outside the years accepted."""

    code = "date_out_of_range"

    def __init__(self, year_be: int, text: str) -> None:
        super().__init__(
            f"year {year_be} (Buddhist era) of {text!r} is outside {MIN_BE_YEAR}-{MAX_BE_YEAR}"
        )
        self.year_be = year_be


class NoSuchDate(BadMessage):
    """The date reads as ``day`` of ``month`` in Buddhist-era ``year_be``, which the calendar
    does not have (31 February, 29 February of a common year, day 0, month 13)."""

    code = "no_such_date"

    def __init__(self, day: int, month: int, year_be: int, text: str) -> None:
        super().__init__(f"{text!r} reads as {day}/{month}/{year_be}, not a calendar date")
        self.day = day
        self.month = month
        self.year_be = year_be


def _month_keys() -> dict[str, int]:
    """Each month's full name and its abbreviation without dots or spaces: ``ธค`` -> 12."""
    keys: dict[str, int] = {}
    for number, (full, abbr) in enumerate(zip(THAI_MONTHS, THAI_MONTHS_ABBR, strict=True), 1):
        keys[full] = number
        keys[abbr.replace(".", "")] = number
    return keys


_MONTH_KEYS = _month_keys()


def _abbreviation_pattern(abbr: str) -> str:
    """``ธ.ค.`` typed with its dots, without them, or with a space after a dot."""
    parts = [re.escape(p) for p in abbr.split(".") if p]
    return r"\.?\s?".join(parts) + r"\.?"


_MONTH_NAME = "|".join(
    [re.escape(m) for m in sorted(THAI_MONTHS, key=len, reverse=True)]
    + [
        _abbreviation_pattern(a)
        for a in sorted(THAI_MONTHS_ABBR, key=lambda a: len(a.replace(".", "")), reverse=True)
    ]
)
_PREFIX = r"(?:วันที่\s?)?"
_YEAR = r"(?:(?:พ\.\s?ศ\.|(?P<ce>ค\.\s?ศ\.))\s?)?(?P<year>[0-9]{4}|[0-9]{2})"
_NAMED = re.compile(rf"{_PREFIX}(?P<day>[0-9]{{1,2}})\s?(?P<month>{_MONTH_NAME})\s?{_YEAR}")
_NUMERIC = re.compile(
    rf"{_PREFIX}(?P<day>[0-9]{{1,2}})\s?(?P<sep>[/.-])\s?(?P<month>[0-9]{{1,2}})\s?(?P=sep)\s?{_YEAR}"
)
_ISO = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})")


def _year_be(digits: str, christian_era: bool) -> int:
    year = int(digits)
    if len(digits) == 2:
        return _TWO_DIGIT_CENTURY + year if not christian_era else 2000 + year + _CE_OFFSET
    if christian_era or year < MIN_BE_YEAR:
        return year + _CE_OFFSET
    return year


def read_typed_date(text: str) -> date:
    """The calendar date a clerk meant by ``text`` (see the module's rules).

    Raises :class:`UnreadableDate` when it is no date at all, :class:`YearOutOfRange` when
    its year is outside the accepted years, and :class:`NoSuchDate` when it reads as a day
    the calendar does not have."""
    if len(text) > MAX_TYPED_DATE:
        raise UnreadableDate(f"a date of {len(text)} characters (at most {MAX_TYPED_DATE})")
    cleaned = fold_spaces(to_arabic_digits(normalize_thai(text)))
    if match := _ISO.fullmatch(cleaned):
        day, month = int(match["day"]), int(match["month"])
        year_be = _year_be(match["year"], christian_era=False)
    elif match := (_NAMED.fullmatch(cleaned) or _NUMERIC.fullmatch(cleaned)):
        day = int(match["day"])
        typed_month = match["month"]
        if typed_month.isdigit():
            month = int(typed_month)
        else:
            month = _MONTH_KEYS[re.sub(r"[.\s]", "", typed_month)]
        year_be = _year_be(match["year"], christian_era=bool(match["ce"]))
    else:
        raise UnreadableDate(
            f"not a date: {text!r}; expected e.g. '1 ธ.ค. 69', '1/12/2569' or '2026-12-01'"
        )
    if not MIN_BE_YEAR <= year_be <= MAX_BE_YEAR:
        raise YearOutOfRange(year_be, text)
    try:
        return date(ce_year(year_be), month, day)
    except ValueError as e:
        raise NoSuchDate(day, month, year_be, text) from e
