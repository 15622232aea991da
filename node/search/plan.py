"""How a letter search query becomes SQL: the row and filter clauses around the index.

Does: build the SQL fragments a search needs (:func:`row_terms_sql`, :func:`subject_sql`,
:func:`filter_sql`), values as parameters, around the :class:`Plan` that
:func:`plan_query` reads from what a clerk typed (a letter number or words: an FTS5
trigram expression, the words for ranking and snippets, one-character words, an exact
number key or receipt number). Reading the query follows the rules the hub's portal
shares (:mod:`protocol.search_terms`), re-exported here for the engine.

Does not: validate the request (:mod:`node.search.query`), run any SQL or rank results
(:mod:`node.search.engine`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from node.search.query import SearchFilters
from protocol.search_terms import Plan, digit_forms, plan_query

__all__ = ["Plan", "digit_forms", "filter_sql", "plan_query", "row_terms_sql", "subject_sql"]

# Row columns a one-character word is looked for in.
_ROW_COLUMNS = ("subject", "origin", "sender", "number", "receipt_number", "parties")


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
