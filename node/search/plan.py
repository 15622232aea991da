"""How a letter search query becomes SQL: the FTS5 expression and the row and filter clauses.

Does: read what a clerk typed (:func:`plan_query`) as a letter number or as words, into a
:class:`Plan` (an FTS5 trigram expression, the words for ranking and snippets, one-character
words, an exact number key or receipt number), and build the SQL fragments a search needs
(:func:`row_terms_sql`, :func:`subject_sql`, :func:`filter_sql`), values as parameters.

Does not: validate the request (:mod:`node.search.query`), run any SQL or rank results
(:mod:`node.search.engine`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from node.search.query import SearchFilters, normalize_query
from protocol.errors import BadLetterNumber
from protocol.numbers import parse_letter_number, search_key
from protocol.thai import to_thai_digits

MIN_TERM_CHARS = 3
"""Words this long (code points after normalisation) are phrases of the trigram index;
two-character words are matched as the trigrams they begin, one-character words on rows."""

# Row columns a one-character word is looked for in.
_ROW_COLUMNS = ("subject", "origin", "sender", "number", "receipt_number", "parties")


# -- reading the words -------------------------------------------------------------------

# Characters that may follow a two-character word in indexed text: with the space the
# index appends to every column, "ab" occurs exactly where some trigram "abX" does.
_FOLLOWERS = (
    [chr(c) for c in range(0x0E01, 0x0E3B)]
    + [chr(c) for c in range(0x0E3F, 0x0E5C)]
    + list("0123456789abcdefghijklmnopqrstuvwxyz")
    + list(" \n\r\t\u00a0.,;:/-()[]\"'!?%&+=_*#@")
)


def _phrase(text: str) -> str:
    # Inside double quotes FTS5 takes every character literally; a quote is doubled.
    return '"' + text.replace('"', '""') + '"'


def digit_forms(term: str) -> list[str]:
    """The word as typed (Arabic digits) and, if it has digits, with Thai digits."""
    thai = to_thai_digits(term)
    return [term] if thai == term else [term, thai]


def _term_expression(term: str) -> str:
    """One word as an FTS5 expression that matches wherever the word is a substring."""
    options: list[str] = []
    for form in digit_forms(term):
        if len(form) >= MIN_TERM_CHARS:
            options.append(_phrase(form))
        else:
            # The trigram index holds no bigrams: a two-character word is any trigram it
            # starts (see _FOLLOWERS).
            options += [_phrase(form + c) for c in _FOLLOWERS]
    key = search_key(term)
    if key != term and len(key) >= MIN_TERM_CHARS:
        options.append(f"numbers : {_phrase(key)}")
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


def plan_query(text: str) -> Plan:
    """Read what a clerk typed: a letter number, or words to find."""
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
        return Plan(match=f"numbers : {_phrase(key)}", number_key=key, whole_number=True)
    terms = tuple(norm.split())
    indexed = [t for t in terms if len(t) >= MIN_TERM_CHARS - 1]
    return Plan(
        match=" AND ".join(_term_expression(t) for t in indexed) or None,
        terms=terms,
        single_chars=tuple(t for t in terms if len(t) < MIN_TERM_CHARS - 1),
        number_key=search_key(norm) if any(c.isdigit() for c in norm) else None,
        receipt_number=receipt,
    )


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def row_terms_sql(terms: Sequence[str]) -> tuple[str, list[Any]]:
    """Every word must appear in one of the row's short text columns."""
    clauses: list[str] = []
    params: list[Any] = []
    for term in terms:
        ors = []
        for form in digit_forms(term):
            for col in _ROW_COLUMNS:
                ors.append(f"letters.{col} LIKE ? ESCAPE '\\'")
                params.append(_like(form))
        clauses.append("(" + " OR ".join(ors) + ")")
    return " AND ".join(clauses) or "1", params


def subject_sql(terms: Sequence[str]) -> tuple[str, list[Any]]:
    """1 when the subject holds every word (in either digit form), else 0."""
    clauses: list[str] = []
    params: list[Any] = []
    for term in terms:
        forms = digit_forms(term)
        clauses.append("(" + " OR ".join("instr(letters.subject, ?) > 0" for _ in forms) + ")")
        params += forms
    return " AND ".join(clauses) or "0", params


def filter_sql(f: SearchFilters) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("letter_type", f.letter_type),
        ("sub_type", f.sub_type),
        ("speed", f.speed),
        ("secrecy", f.secrecy),
        ("direction", f.direction),
    ):
        if value:
            clauses.append(f"letters.{column} = ?")
            params.append(value)
    if f.series and "|" in f.series:
        clauses.append("(letters.register = ? OR letters.receipt_register = ?)")
        params += [f.series, f.series]
    elif f.series:
        # This office's register: the sending one of a sent letter, the receiving one
        # (รับ, or ลับ for classified) of a received one, never the sender's.
        clauses.append(
            "(CASE letters.direction WHEN 'out' THEN letters.register "
            "ELSE letters.receipt_register END) LIKE ?"
        )
        params.append(f"%|{f.series}|%")
    if f.status:
        clauses.append("(letters.state = ? OR letters.stage = ?)")
        params += [f.status, f.status]
    if f.date_from is not None:
        clauses.append("letters.letter_day >= ?")
        params.append(f.date_from.isoformat())
    if f.date_to is not None:
        clauses.append("letters.letter_day <= ?")
        params.append(f.date_to.isoformat())
    return " AND ".join(clauses) or "1", params
