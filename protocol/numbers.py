"""Letter numbers (เลขที่หนังสือ), unit codes and the keys of numbering registers.

Does:

* the numbering series a unit keeps (:class:`Series`) and which year a running number
  belongs to, by calendar or fiscal year, in Bangkok time (:func:`register_year`);
* the identity of one register, ``owner|series|year`` (:class:`RegisterKey`);
* unit codes such as ``ชม 0017.3`` (:func:`parse_unit_code`);
* letter numbers in their two shapes, ``มท 0212.3/ว 56`` and
  ``คำสั่งจังหวัดเชียงใหม่ ที่ 123/2569``, formatted canonically and parsed from what users
  type (:class:`LetterNumber`, :func:`parse_letter_number`);
* one search key per number, and the same folding for fragments (:func:`search_key`).

Text longer than :data:`~protocol.limits.MAX_NUMBER_TEXT` characters (a letter number) or
:data:`~protocol.limits.MAX_OFFICE_ID` (a unit code) is refused before it is parsed, and
running numbers above :data:`MAX_RUNNING_NUMBER`, so no input costs more than a short
string's work.

Does not: allocate, reserve, lease or void numbers, keep counters, know which unit codes
exist (codes are data an administrator edits), or read a clock; those belong to the hub
and the nodes.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from protocol.errors import BadLetterNumber, BadMessage, RemoteDataError
from protocol.limits import (
    MAX_NUMBER_TEXT,
    MAX_OFFICE_ID,
    MAX_RUNNING_NUMBER,
    MAX_SHORT,
    shown_int,
)
from protocol.thai import (
    MAX_BE_YEAR,
    MIN_BE_YEAR,
    bangkok_date,
    be_year,
    fold_spaces,
    normalize_thai,
    to_arabic_digits,
    to_thai_digits,
)

__all__ = [
    "MAX_RUNNING_NUMBER",
    "UNIT_CODE_RE",
    "Instrument",
    "LetterNumber",
    "RegisterKey",
    "Series",
    "YearBasis",
    "parse_letter_number",
    "parse_unit_code",
    "register_year",
    "search_key",
]

_FISCAL_YEAR_FIRST_MONTH = 10


class Series(StrEnum):
    """A numbering series: each unit keeps a separate running counter for each."""

    OUTGOING = "ส่ง"
    CIRCULAR = "ว"
    ORDER = "คำสั่ง"
    ANNOUNCEMENT = "ประกาศ"
    RECEIPT = "รับ"
    CLASSIFIED = "ลับ"
    RADIO = "วิทยุ"


class YearBasis(StrEnum):
    """When a register's running numbers restart at 1."""

    CALENDAR = "calendar"
    """On 1 January."""
    FISCAL = "fiscal"
    """On 1 October; the fiscal year is named after the year it ends in."""


class Instrument(StrEnum):
    """Kinds of instrument numbered ``<instrument><issuer> ที่ <number>/<year>``."""

    ORDER = "คำสั่ง"
    ANNOUNCEMENT = "ประกาศ"
    REGULATION = "ระเบียบ"
    BYLAW = "ข้อบังคับ"


def register_year(when: date | datetime, basis: YearBasis) -> int:
    """The Buddhist-era year whose register a number issued at ``when`` belongs to.

    An aware datetime is first taken to Bangkok time, so ``2026-12-31T17:30Z`` is already
    1 January 2570. Under :attr:`YearBasis.FISCAL`, October to December count towards the
    next year: 1 Oct 2568 – 30 Sep 2569 is fiscal year 2569. An unknown ``basis`` raises
    ValueError.
    """
    day = bangkok_date(when)
    year = be_year(day.year)
    # Coerce, as the basis is usually read from a settings row as a plain string.
    if YearBasis(basis) is YearBasis.FISCAL and day.month >= _FISCAL_YEAR_FIRST_MONTH:
        return year + 1
    return year


def _shown(value: object) -> str:
    """A value received, for an error message: short, whatever it is."""
    if isinstance(value, str):
        return repr(value[:80])
    if isinstance(value, int):
        return shown_int(value)
    return type(value).__name__


def _check_year(year: object, what: str, error: type[RemoteDataError]) -> int:
    if not isinstance(year, int) or isinstance(year, bool):
        raise error(f"{what} must be an integer Buddhist-era year, not {type(year).__name__}")
    if not MIN_BE_YEAR <= year <= MAX_BE_YEAR:
        hint = " (use the Buddhist era: CE + 543)" if year < MIN_BE_YEAR else ""
        raise error(f"{what} {shown_int(year)} is out of range {MIN_BE_YEAR}–{MAX_BE_YEAR}{hint}")
    return year


def _clean(text: str) -> str:
    # One pass that every parser applies first, so that what users paste (Thai digits,
    # NBSP, zero-width characters, decomposed vowels) reads the same as what they type.
    return fold_spaces(to_arabic_digits(normalize_thai(text)))


UNIT_CODE_RE = re.compile(r"[\u0e01-\u0e2e]{2} [0-9]{4}(?:\.[0-9]+)*")
"""A unit code in canonical form, e.g. ``ชม 0017.3``; use ``fullmatch``."""

_LOOSE_UNIT_CODE_RE = re.compile(
    r"(?P<letters>[\u0e01-\u0e2e]{2}) ?(?P<digits>[0-9]{4}(?:\.[0-9]+)*)"
)


def parse_unit_code(text: str) -> str:
    """Return the canonical form (``ชม 0017.3``) of a unit code as typed.

    Accepts ``ชม0017.3``, ``ชม  0017.3``, ``ชม ๐๐๑๗.๓`` and invisible characters: two
    Thai consonants, an optional space, four digits, then optional ``.digits`` groups.
    Raises :class:`~protocol.errors.BadLetterNumber` otherwise.
    """
    if not isinstance(text, str):
        raise BadLetterNumber(f"a unit code must be text, not {type(text).__name__}")
    if len(text) > MAX_OFFICE_ID:
        raise BadLetterNumber(f"a unit code has at most {MAX_OFFICE_ID} characters")
    return _canonical_unit_code(text)


@functools.lru_cache(maxsize=1024)
def _canonical_unit_code(text: str) -> str:
    # An office sees the same few hundred codes over and over, in every letter number.
    match = _LOOSE_UNIT_CODE_RE.fullmatch(_clean(text))
    if match is None:
        raise BadLetterNumber(
            f"not a unit code: {text!r}; expected two Thai consonants and four digits, "
            "like 'ชม 0017.3'"
        )
    return f"{match['letters']} {match['digits']}"


@dataclass(frozen=True)
class RegisterKey:
    """Names one numbering register: a unit's counter for one series in one year.

    ``owner`` is a unit code and is stored in canonical form; ``year`` is Buddhist era.
    Invalid fields raise :class:`~protocol.errors.BadMessage`, as keys arrive in messages.
    """

    owner: str
    series: Series
    year: int

    def __post_init__(self) -> None:
        try:
            owner = parse_unit_code(self.owner)
        except BadLetterNumber as e:
            raise BadMessage(f"register owner: {e}") from e
        try:
            series = Series(self.series)
        except ValueError as e:
            raise BadMessage(f"unknown register series {self.series!r}") from e
        # Frozen: canonicalise in place so that equal registers compare and hash equal.
        object.__setattr__(self, "owner", owner)
        object.__setattr__(self, "series", series)
        _check_year(self.year, "register year", BadMessage)

    def as_id(self) -> str:
        """The key as one string, ``ชม 0017|ส่ง|2569``, for storage and messages."""
        return f"{self.owner}|{self.series.value}|{self.year}"

    @classmethod
    def from_id(cls, text: str) -> RegisterKey:
        """Read a key written by :meth:`as_id`; raise BadMessage unless it is exactly that."""
        if not isinstance(text, str):
            raise BadMessage(f"a register id must be text, not {type(text).__name__}")
        if len(text) > MAX_SHORT:
            raise BadMessage(f"a register id has at most {MAX_SHORT} characters")
        parts = text.split("|")
        if len(parts) != 3 or not re.fullmatch(r"[0-9]{4}", parts[2]):
            raise BadMessage(f"not a register id: {text!r}; expected 'ชม 0017|ส่ง|2569'")
        try:
            key = cls(owner=parts[0], series=Series(parts[1]), year=int(parts[2]))
        except ValueError as e:
            raise BadMessage(f"unknown register series {parts[1]!r} in {text!r}") from e
        # Ids are compared as strings in storage and signed messages: only one spelling.
        if key.as_id() != text:
            raise BadMessage(f"register id not in canonical form: {text!r}")
        return key


_RUNNING_RE = r"(?:(?P<number>[0-9]+)|\(\s*ชั่วคราว\s*(?P<provisional>[0-9]+)\s*\))"
_CODE_TAIL_RE = re.compile(rf"(?P<circular>ว\.?\s*)?{_RUNNING_RE}")
_INSTRUMENT_RE = re.compile(
    rf"(?P<instrument>{'|'.join(Instrument)})\s*(?P<issuer>[\u0e01-\u0e2e\u0e40-\u0e44][^/]*?)"
    rf"\s*(?:ที่)?\s*{_RUNNING_RE}\s*/\s*(?:พ\.\s*ศ\.\s*)?(?P<year>[0-9]+)"
)
# An issuer is Thai text without "/"; it may hold spaces (สำนักงาน ก.พ.) but not the word
# ที่ or a trailing ว on its own, which mean the separator or circular mark was mistyped.
_ISSUER_RE = re.compile(r"(?!ที่(?: |$))(?!.* ที่(?: |$))(?!.* ว\.?$)[\u0e01-\u0e2e\u0e40-\u0e44][^/]*")
_LEADING_THI_RE = re.compile(r"ที่\s*")


@dataclass(frozen=True, kw_only=True)
class LetterNumber:
    """The number of a letter or instrument, in one of two shapes.

    * Code number: ``code`` (a unit code), ``number``, and ``circular`` for ว numbers:
      ``ชม 0017.3/1234``, ``มท 0212.3/ว 56``.
    * Instrument number: ``instrument``, ``issuer``, ``number`` and Buddhist-era ``year``:
      ``คำสั่งจังหวัดเชียงใหม่ ที่ 123/2569``.

    ``provisional`` marks a number issued offline while a shared register's lease was
    exhausted; ``number`` is then the provisional counter and it is shown as
    ``ชม 0017/(ชั่วคราว 3)``, ``มท 0200/ว (ชั่วคราว 3)`` or
    ``คำสั่งจังหวัดเชียงใหม่ ที่ (ชั่วคราว 3)/2569``.

    Fields are stored in canonical form (so equal numbers compare equal); invalid
    combinations raise :class:`~protocol.errors.BadLetterNumber`.
    """

    number: int
    code: str | None = None
    circular: bool = False
    instrument: Instrument | None = None
    issuer: str | None = None
    year: int | None = None
    provisional: bool = False

    def __post_init__(self) -> None:
        number = self.number
        if not isinstance(number, int) or isinstance(number, bool):
            raise BadLetterNumber(f"running number must be an integer, not {type(number).__name__}")
        if number < 1:
            raise BadLetterNumber(f"running numbers start at 1, not {shown_int(number)}")
        if number > MAX_RUNNING_NUMBER:
            raise BadLetterNumber(
                f"running number {shown_int(number)} is larger than {MAX_RUNNING_NUMBER}"
            )
        if not isinstance(self.circular, bool) or not isinstance(self.provisional, bool):
            raise BadLetterNumber("circular and provisional are true or false")
        if self.code is not None:
            if self.instrument is not None or self.issuer is not None or self.year is not None:
                raise BadLetterNumber("a code number has no instrument, issuer or year")
            object.__setattr__(self, "code", parse_unit_code(self.code))
            return
        if self.instrument is None:
            raise BadLetterNumber("a letter number needs either a unit code or an instrument")
        if self.circular:
            raise BadLetterNumber("only code numbers can be circular (ว)")
        try:
            instrument = Instrument(self.instrument)
        except ValueError as e:
            raise BadLetterNumber(f"unknown instrument {_shown(self.instrument)}") from e
        issuer = _clean(self.issuer) if isinstance(self.issuer, str) else ""
        if not _ISSUER_RE.fullmatch(issuer):
            raise BadLetterNumber(
                f"issuer {_shown(self.issuer)} must be Thai text without '/', e.g. 'จังหวัดเชียงใหม่'"
            )
        object.__setattr__(self, "instrument", instrument)
        object.__setattr__(self, "issuer", issuer)
        _check_year(self.year, "year", BadLetterNumber)

    def format(self, *, thai_digits: bool = False) -> str:
        """The canonical display form, with Arabic digits unless ``thai_digits``."""
        running = f"(ชั่วคราว {self.number})" if self.provisional else str(self.number)
        if self.code is not None:
            text = f"{self.code}/{'ว ' if self.circular else ''}{running}"
        else:
            text = f"{self.instrument}{self.issuer} ที่ {running}/{self.year}"
        return to_thai_digits(text) if thai_digits else text

    def __str__(self) -> str:
        return self.format()

    def search_key(self) -> str:
        """The search key of this number; see :func:`search_key`."""
        return _fold_for_search(self.format())


def _running(match: re.Match[str]) -> tuple[int, bool]:
    if match["provisional"] is not None:
        return int(match["provisional"]), True
    return int(match["number"]), False


def _parse_instrument_number(cleaned: str, text: str) -> LetterNumber:
    match = _INSTRUMENT_RE.fullmatch(cleaned)
    if match is None:
        raise BadLetterNumber(
            f"not an instrument number: {text!r}; expected e.g. 'คำสั่งจังหวัดเชียงใหม่ ที่ 123/2569'"
        )
    number, provisional = _running(match)
    return LetterNumber(
        instrument=Instrument(match["instrument"]),
        issuer=match["issuer"],
        number=number,
        year=int(match["year"]),
        provisional=provisional,
    )


def _parse_code_number(cleaned: str, text: str) -> LetterNumber:
    if "/" not in cleaned:
        raise BadLetterNumber(
            f"not a letter number: {text!r}; expected the unit code, '/', then the running "
            "number, like 'ชม 0017.3/1234' or 'มท 0212.3/ว 56'"
        )
    code_text, tail = (part.strip() for part in cleaned.split("/", 1))
    # The letterhead prints "ที่ มท 0212.3/1234", and users copy the label along.
    code = parse_unit_code(_LEADING_THI_RE.sub("", code_text, count=1))
    match = _CODE_TAIL_RE.fullmatch(tail)
    if match is None:
        raise BadLetterNumber(
            f"after '/' in {text!r} expected a running number, optionally after ว"
        )
    number, provisional = _running(match)
    return LetterNumber(
        code=code,
        circular=match["circular"] is not None,
        number=number,
        provisional=provisional,
    )


def parse_letter_number(text: str) -> LetterNumber:
    """Parse a letter number as users type it.

    Tolerates missing or extra spaces, NBSP and zero-width characters, Thai digits,
    ``ว.`` for ``ว``, a leading ``ที่`` label, a missing ``ที่`` before an instrument's
    number and ``พ.ศ.`` before its year: ``ชม0017.3/ว456``, ``ชม 0017.3 / ว. 456``,
    ``คำสั่ง จังหวัดเชียงใหม่ ที่ ๑๒๓/๒๕๖๙``. Raises
    :class:`~protocol.errors.BadLetterNumber` with the reason for anything else, a running
    number below 1 or above :data:`MAX_RUNNING_NUMBER`, or a year outside
    ``MIN_BE_YEAR``–``MAX_BE_YEAR``, or text longer than
    :data:`~protocol.limits.MAX_NUMBER_TEXT`.
    """
    if not isinstance(text, str):
        raise BadLetterNumber(f"a letter number must be text, not {type(text).__name__}")
    return _parse_letter_number(str(text))


@functools.lru_cache(maxsize=1024)
def _parse_letter_number(text: str) -> LetterNumber:
    # Cached: the hub reads a routed letter's number more than once (the numbering and
    # the portal), and a LetterNumber is immutable.
    if len(text) > MAX_NUMBER_TEXT:
        raise BadLetterNumber(
            f"a letter number has at most {MAX_NUMBER_TEXT} characters, not {len(text)}"
        )
    cleaned = _clean(text)
    if not cleaned:
        raise BadLetterNumber("empty letter number")
    if cleaned.startswith(tuple(Instrument)):
        return _parse_instrument_number(cleaned, text)
    return _parse_code_number(cleaned, text)


_CIRCULAR_DOT_RE = re.compile(r"ว\.(?=\s*(?:[0-9(]|$))")
_SEARCH_DROP_RE = re.compile(r"[\s/]+")


def _fold_for_search(text: str) -> str:
    text = _CIRCULAR_DOT_RE.sub("ว", to_arabic_digits(normalize_thai(text)))
    return _SEARCH_DROP_RE.sub("", text)


def search_key(text: str) -> str:
    """One search key for a letter number, or the same folding of a fragment of one.

    Text that parses as a letter number gives the key of its canonical form, so every
    way of typing one number gives one key: ``ชม0017.3/ว456`` and ``ชม ๐๐๑๗.๓ / ว. 456``
    both give ``ชม0017.3ว456``. Any other text (a fragment typed into search) is folded
    by the same rule: :func:`~protocol.thai.normalize_thai`, Thai digits to Arabic,
    ``ว.`` before a number to ``ว``, then every whitespace character and ``/`` dropped.
    Hence the key of a fragment of a number's canonical form (Arabic or Thai digits, any
    spacing) is a substring of the number's key, and substring search on keys works.

    A key finds numbers; it is not an identity. Dropping ``/`` lets ``0017.3ว4`` find
    ``ชม 0017.3/ว 456``, at the price that ``ชม 0017.3/1234`` and ``ชม 0017.31/234`` share
    a key; compare :class:`LetterNumber` values to tell numbers apart.
    """
    try:
        return parse_letter_number(text).search_key()
    except BadLetterNumber:
        return _fold_for_search(text)
