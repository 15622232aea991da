"""How a letter search reads what a person typed: the Thai rules a node and the hub share.

Does:

* normalise a query as an index reads text (:func:`normalize_query`): normalised Thai,
  Thai digits read as Arabic, one space between words;
* read what was typed as a letter number or as words (:func:`plan_query`) into a
  :class:`Plan`: an FTS5 expression over a trigram index, the words, the one-character
  words, and a letter number's search key (:func:`protocol.numbers.search_key`), so that
  ``ชม0017.3/ว456``, ``ชม ๐๐๑๗.๓/ว. ๔๕๖`` and ``ที่ ชม 0017.3/ว 456`` are one number;
* match a two-character word as any trigram it begins (:func:`term_expression`): a trigram
  index holds no shorter token, and each indexed column ends in a space, so the word is
  found wherever it occurs, at the end of a column too;
* read a date as a clerk types it in a search (:func:`read_search_date`), Buddhist era;
* find where the words occur in a text, for marking them (:func:`word_spans`).

The index both sides query is an FTS5 table with the trigram tokenizer whose column
:data:`NUMBERS_COLUMN` holds the letter numbers' search keys; a term folded into a
different number key is also looked for there.

Does not: run SQL, name any table but that column, know who may see which letter, or
word refusals of a request's other parameters (each side's query module does).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from protocol.errors import BadLetterNumber, BadMessage
from protocol.numbers import parse_letter_number, search_key
from protocol.thai import (
    MIN_BE_YEAR,
    ce_year,
    fold_spaces,
    normalize_thai,
    parse_thai_date,
    to_arabic_digits,
    to_thai_digits,
)

__all__ = [
    "MIN_TERM_CHARS",
    "NUMBERS_COLUMN",
    "Plan",
    "SearchRefused",
    "digit_forms",
    "normalize_query",
    "phrase",
    "plan_query",
    "read_search_date",
    "term_expression",
    "word_spans",
]

MIN_TERM_CHARS = 3
"""Words this long (code points after normalisation) are phrases of the trigram index;
two-character words are matched as the trigrams they begin, one-character words on rows."""

NUMBERS_COLUMN = "numbers"
"""The index column holding letter numbers' search keys."""

SHORT_YEAR_CENTURY = 2500
"""A two-digit year typed in a search is a Buddhist-era year of this century (69: 2569)."""

DATE_EXAMPLE_TH = "ตัวอย่าง: 1/11/2569 หรือ 1 พฤศจิกายน 2569"
"""The forms a refused date's message names."""

# Characters that may follow a two-character word in indexed text: with the space the
# index appends to every column, "ab" occurs exactly where some trigram "abX" does.
_FOLLOWERS = (
    [chr(c) for c in range(0x0E01, 0x0E3B)]
    + [chr(c) for c in range(0x0E3F, 0x0E5C)]
    + list("0123456789abcdefghijklmnopqrstuvwxyz")
    + list(" \n\r\t\u00a0.,;:/-()[]\"'!?%&+=_*#@")
)
_SLASH_DATE_RE = re.compile(r"(?P<day>[0-9]{1,2})/(?P<month>[0-9]{1,2})/(?P<year>[0-9]{4})")
_SHORT_SLASH_DATE_RE = re.compile(r"(?P<day>[0-9]{1,2})/(?P<month>[0-9]{1,2})/(?P<year>[0-9]{2})")
# A Thai date whose year is typed with two digits: "1 ธ.ค. 69", "1 ธันวาคม พ.ศ. 69".
_SHORT_YEAR_RE = re.compile(r"(?P<head>.*[\u0e01-\u0e4f.])\s*(?P<year>[0-9]{2})")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


class SearchRefused(BadMessage):
    """A search parameter that cannot be read: an English ``reason``, a ``code`` and the
    Thai ``message_th`` a person reads."""

    def __init__(self, reason: str, code: str, message_th: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.message_th = message_th


def normalize_query(text: str) -> str:
    """A query as the index reads text: normalised Thai, Arabic digits, single spaces."""
    return fold_spaces(to_arabic_digits(normalize_thai(text or "")))


def read_search_date(text: str, what: str = "date") -> date:
    """A date as a clerk types it in a search: ``1/11/2569``, ``1 พ.ย. 2569``, ISO, or
    with a two-digit Buddhist-era year (``1/11/69``, ``1 พ.ย. 69``); Thai digits too.

    Slash dates are day/month/Buddhist-era year; a Christian-era year there is refused
    rather than guessed. Raises :class:`SearchRefused` (``bad_date``) with a Thai message.
    """
    cleaned = normalize_query(text)
    match = _SLASH_DATE_RE.fullmatch(cleaned)
    year = 0
    if match is not None:
        year = int(match["year"])
    elif (match := _SHORT_SLASH_DATE_RE.fullmatch(cleaned)) is not None:
        year = SHORT_YEAR_CENTURY + int(match["year"])
    if match is not None:
        if year < MIN_BE_YEAR:
            raise SearchRefused(
                f"{what} {text!r}: the year must be Buddhist era (CE + 543)",
                "bad_date",
                f"ปีของวันที่ต้องเป็นพุทธศักราช ({DATE_EXAMPLE_TH})",
            )
        try:
            return date(ce_year(year), int(match["month"]), int(match["day"]))
        except ValueError as e:
            raise SearchRefused(
                f"{what} {text!r} is not a calendar date", "bad_date", "ไม่มีวันที่นี้ในปฏิทิน"
            ) from e
    if (short := _SHORT_YEAR_RE.fullmatch(cleaned)) is not None:
        cleaned = f"{short['head']} {SHORT_YEAR_CENTURY + int(short['year'])}"
    try:
        return parse_thai_date(cleaned)
    except BadMessage as e:
        raise SearchRefused(
            f"cannot read {what} {text!r}", "bad_date", f"อ่านวันที่ไม่ได้ ({DATE_EXAMPLE_TH})"
        ) from e


# -- reading the words -------------------------------------------------------------------


def phrase(text: str) -> str:
    """``text`` as one FTS5 phrase: inside double quotes every character is literal."""
    return '"' + text.replace('"', '""') + '"'


def digit_forms(term: str) -> list[str]:
    """The word as typed (Arabic digits) and, if it has digits, with Thai digits."""
    thai = to_thai_digits(term)
    return [term] if thai == term else [term, thai]


def term_expression(term: str) -> str:
    """One word as an FTS5 expression that matches wherever the word is a substring."""
    options: list[str] = []
    for form in digit_forms(term):
        if len(form) >= MIN_TERM_CHARS:
            options.append(phrase(form))
        else:
            # The trigram index holds no bigrams: a two-character word is any trigram it
            # starts (see _FOLLOWERS).
            options += [phrase(form + c) for c in _FOLLOWERS]
    key = search_key(term)
    if key != term and len(key) >= MIN_TERM_CHARS:
        options.append(f"{NUMBERS_COLUMN} : {phrase(key)}")
    return options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")"


@dataclass(frozen=True)
class Plan:
    """How one query is answered."""

    match: str | None = None
    """FTS5 expression, or None when no word is long enough for the index."""
    terms: tuple[str, ...] = ()
    """The words, for ranking subject matches first and for snippets."""
    single_chars: tuple[str, ...] = ()
    """One-character words, checked on the letter's row."""
    number_key: str | None = None
    """A letter number's key: letters with exactly this key come first."""
    receipt_number: str | None = None
    """A receipt number: letters registered under it come first."""
    whole_number: bool = False
    """The query is a whole letter number: its exact matches are the answer, and other
    numbers containing it are listed only when none matches exactly."""

    @property
    def indexed_terms(self) -> tuple[str, ...]:
        """The words the index looks for (two characters or more), in the order typed."""
        return tuple(t for t in self.terms if len(t) >= MIN_TERM_CHARS - 1)


def plan_query(text: str) -> Plan:
    """Read what a person typed: a letter number, or words to find."""
    norm = normalize_query(text)
    if not norm:
        return Plan()
    # ASCII digits only: str.isdigit() is true of ² and ①, which int() refuses.
    receipt = str(int(norm)) if norm.isascii() and norm.isdigit() and len(norm) <= 7 else None
    try:
        number = parse_letter_number(norm)
    except BadLetterNumber:
        number = None
    if number is not None:
        key = number.search_key()
        return Plan(match=f"{NUMBERS_COLUMN} : {phrase(key)}", number_key=key, whole_number=True)
    terms = tuple(norm.split())
    indexed = [t for t in terms if len(t) >= MIN_TERM_CHARS - 1]
    return Plan(
        match=" AND ".join(term_expression(t) for t in indexed) or None,
        terms=terms,
        single_chars=tuple(t for t in terms if len(t) < MIN_TERM_CHARS - 1),
        number_key=search_key(norm) if any(c.isdigit() for c in norm) else None,
        receipt_number=receipt,
    )


def word_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Where any of ``terms`` (in either digit form, ASCII letters in any case, as the
    index matches) occurs in ``text``: sorted ``(start, end)`` offsets, overlaps merged."""
    # ASCII only: lower() of some other letters changes the text's length, and offsets.
    folded = text.translate(_ASCII_LOWER)
    spans: list[tuple[int, int]] = []
    for term in terms:
        for form in digit_forms(term.translate(_ASCII_LOWER)):
            at = folded.find(form)
            while at >= 0 and form:
                spans.append((at, at + len(form)))
                at = folded.find(form, at + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
