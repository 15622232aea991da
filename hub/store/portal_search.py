"""The portal's search over ``portal_letters``: who may see which row, filters, the walks.

A search is answered in passes, as the node's is (:mod:`node.search.engine`): letters whose
number has exactly the key typed (:meth:`PortalSearchRecords.portal_exact_ids`), letters
still queued for the index read row by row (:meth:`PortalSearchRecords.portal_queued_ids`),
then one walk of the trigram index newest first, stopping after :data:`COUNT_LIMIT`
matches (:meth:`PortalSearchRecords.portal_index_walk`), or of the rows when there is
nothing to match (:meth:`PortalSearchRecords.portal_row_walk`). Every pass keeps only the
rows a :class:`LetterView` may see, and the page's rows
(:meth:`PortalSearchRecords.portal_rows`) carry a body only where it may read them.

Does not: read the query or build the FTS5 expression (:mod:`hub.portal.search` does, with
:mod:`protocol.search_terms`), or decide what a person's view is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hub.store.connection import Connection, Row
from hub.store.pg_dialect import fts_condition

COUNT_LIMIT = 300
"""Totals are counted up to this many matches; beyond, the total is a lower bound."""

EXACT_LIMIT = 100
"""Most letters listed first for an exact number match."""
ALWAYS = "1 = 1"
NEVER = "1 = 0"
"""Conditions that hold always and never (a bare 1 or 0 is no condition in PostgreSQL)."""


@dataclass(frozen=True)
class LetterView:
    """Which letters one search may list, and whose content it may read."""

    everyone: bool
    """Every letter's tracking (the ministry's view); else only the parties' letters and
    the library's."""
    parties: tuple[str, ...]
    """Offices whose letters (sent or received) are listed and readable."""
    sealed: bool
    """Sealed letters are listed (their tracking only): a registrar's view."""


@dataclass(frozen=True)
class LetterFilters:
    """What a search is narrowed to; empty values do not narrow it."""

    letter_type: str = ""
    speed: str = ""
    sender: str = ""
    recipient: str = ""
    day_from: str = ""
    day_to: str = ""
    number_key: str = ""
    """Letters with exactly this number key, final or earlier."""


@dataclass(frozen=True)
class Walked:
    """One page's ids out of the letters a walk found, and how they were counted."""

    ids: list[int]
    total: int
    total_exact: bool
    order: str


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _party_sql(parties: Sequence[str]) -> tuple[str, list[Any]]:
    if not parties:
        return NEVER, []
    marks = _marks(parties)
    return (
        f"(l.origin IN ({marks}) OR EXISTS (SELECT 1 FROM portal_recipients r"  # noqa: S608
        f" WHERE r.letter = l.id AND r.office IN ({marks})))",
        [*parties, *parties],
    )


def visible_sql(view: LetterView) -> tuple[str, list[Any]]:
    """A WHERE fragment on ``portal_letters l`` keeping the letters ``view`` may list."""
    sealed = ALWAYS if view.sealed else "l.sealed = 0"
    if view.everyone:
        return f"({sealed})", []
    party, params = _party_sql(view.parties)
    return f"(({party} OR l.library = 1) AND {sealed})", params


def readable_sql(view: LetterView) -> tuple[str, list[Any]]:
    """An expression on ``portal_letters l``, 1 where ``view`` may read the letter's body."""
    party, params = _party_sql(view.parties)
    return f"(l.sealed = 0 AND (l.library = 1 OR {party}))", params


def filter_sql(f: LetterFilters) -> tuple[str, list[Any]]:
    """A WHERE fragment on ``portal_letters l`` for the filters."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("letter_type", f.letter_type), ("speed", f.speed), ("origin", f.sender)):
        if value:
            clauses.append(f"l.{column} = ?")
            params.append(value)
    if f.recipient:
        clauses.append(
            "EXISTS (SELECT 1 FROM portal_recipients r WHERE r.letter = l.id AND r.office = ?)"
        )
        params.append(f.recipient)
    if f.day_from:
        clauses.append("l.letter_day >= ?")
        params.append(f.day_from)
    if f.day_to:
        clauses.append("l.letter_day <= ?")
        params.append(f.day_to)
    if f.number_key:
        clauses.append("(l.number_key = ? OR l.provisional_key = ?)")
        params += [f.number_key, f.number_key]
    return " AND ".join(clauses) or ALWAYS, params


def seen_words_sql(words: Sequence[Sequence[str]], view: LetterView) -> tuple[str, list[Any]]:
    """Every word (any of its forms) is in what ``view`` may see of the letter: its subject,
    numbers and parties, and its body where ``view`` may read it."""
    readable, readable_params = readable_sql(view)
    meta = (
        "lower(l.subject || ' ' || COALESCE(l.number_key, '') || ' '"
        " || COALESCE(l.provisional_key, '') || ' ' || l.parties)"
    )
    clauses = []
    params: list[Any] = []
    for forms in words:
        options = []
        for form in forms:
            body = f"({readable} AND instr(lower(l.body), lower(?)) > 0)"
            options.append(f"instr({meta}, lower(?)) > 0 OR {body}")
            params += [form, *readable_params, form]
        clauses.append("(" + " OR ".join(options) + ")")
    return " AND ".join(clauses) or ALWAYS, params


def words_sql(words: Sequence[Sequence[str]], text: str) -> tuple[str, list[Any]]:
    """Every word (any of its forms) is in ``text``, an SQL expression: as the trigram
    index matches, a substring with ASCII letters in either case."""
    clauses = []
    params: list[Any] = []
    for forms in words:
        clauses.append("(" + " OR ".join(f"instr({text}, lower(?)) > 0" for _ in forms) + ")")
        params += forms
    return " AND ".join(clauses) or ALWAYS, params


class PortalSearchRecords(Connection):
    """Reading ``portal_letters`` and ``portal_fts`` for the portal's search."""

    def portal_exact_ids(
        self, number_key: str, view: LetterView, filters: LetterFilters
    ) -> list[int]:
        """Letters ``view`` may list whose number, final or earlier, has exactly
        ``number_key``, newest first."""
        where, params = self._where(view, filters)
        return [
            int(r["id"])
            for r in self._all(
                "SELECT l.id FROM portal_letters l WHERE (l.number_key = ? OR"  # noqa: S608
                f" l.provisional_key = ?) AND {where} ORDER BY l.id DESC LIMIT ?",
                [number_key, number_key, *params, EXACT_LIMIT],
            )
        ]

    def portal_queued_ids(
        self, words: Sequence[Sequence[str]], view: LetterView, filters: LetterFilters, scan: int
    ) -> tuple[list[int], int]:
        """Letters not indexed yet that ``view`` may list and that hold every word (its
        forms) where ``view`` may read, newest first, read row by row; and how many letters
        are queued. When more than ``scan`` are, none is read (the caller says so)."""
        queued = int(self._scalar("SELECT count(*) FROM portal_pending") or 0)
        if not queued or queued > scan:
            return [], queued
        readable, readable_params = readable_sql(view)
        where, params = self._where(view, filters)
        match, match_params = words_sql(words, "doc")
        rows = self._all(
            "SELECT id FROM (SELECT l.id AS id, lower(l.subject || ' '"  # noqa: S608
            " || COALESCE(l.number_key, '') || ' ' || COALESCE(l.provisional_key, '') || ' '"
            f" || l.parties || ' ' || CASE WHEN {readable} THEN l.body ELSE '' END) AS doc"
            f" FROM portal_pending p JOIN portal_letters l ON l.id = p.letter WHERE {where}) queued"
            f" WHERE {match} ORDER BY id DESC LIMIT ?",
            [*readable_params, *params, *match_params, COUNT_LIMIT],
        )
        return [int(r["id"]) for r in rows], queued

    def portal_index_walk(
        self,
        match: str,
        view: LetterView,
        filters: LetterFilters,
        *,
        subject_words: Sequence[Sequence[str]] = (),
        row_words: Sequence[Sequence[str]] = (),
        seen_words: Sequence[Sequence[str]] = (),
        skip: Sequence[int] = (),
        offset: int = 0,
        limit: int = 20,
    ) -> Walked:
        """One page of the letters of the index matching ``match`` (an FTS5 expression)
        that ``view`` may list, but ``skip``: when at most :data:`COUNT_LIMIT` match, those
        whose subject holds every ``subject_words`` first, each group newest first; else
        newest first, the total a floor. ``row_words`` must also be in the subject, the
        parties or the number (one-character words), ``seen_words`` in what ``view`` may
        see of the letter (:func:`seen_words_sql`)."""
        where, params = self._where(view, filters)
        bounds, bound_params = self._day_bounds(filters)
        rows_sql, rows_params = words_sql(
            row_words, "lower(l.subject || ' ' || l.parties || ' ' || COALESCE(l.number, ''))"
        )
        seen_sql, seen_params = seen_words_sql(seen_words, view)
        rows_sql, rows_params = f"{rows_sql} AND {seen_sql}", [*rows_params, *seen_params]
        subject, subject_params = words_sql(subject_words, "lower(l.subject)")
        if not subject_words:
            subject = "0"
        skipped = f" AND l.id NOT IN ({_marks(skip)})" if skip else ""
        # CROSS JOIN keeps the index as the outer loop, so the walk stops after COUNT_LIMIT
        # matches instead of visiting every letter that holds a common word.
        if self.on_postgres:
            matched, match_params = fts_condition("portal_fts", match)
        else:
            matched, match_params = "portal_fts MATCH ?", [match]
        sql = (
            f"SELECT l.id, {subject} AS in_subject"  # noqa: S608
            " FROM portal_fts CROSS JOIN portal_letters l ON l.id = -portal_fts.rowid"
            f" WHERE {matched} AND {bounds} AND {where} AND {rows_sql}{skipped}"
            " ORDER BY portal_fts.rowid LIMIT ? OFFSET ?"
        )
        args = [
            *subject_params,
            *match_params,
            *bound_params,
            *params,
            *rows_params,
            *skip,
        ]
        rows = [
            (int(r["id"]), int(r["in_subject"]))
            for r in self._all(sql, [*args, COUNT_LIMIT + 1, 0])
        ]
        if len(rows) <= COUNT_LIMIT:
            ordered = [i for i, _ in sorted(rows, key=lambda r: (-r[1], -r[0]))]
            return Walked(ordered[offset : offset + limit], len(rows), True, "relevance")
        ids = [i for i, _ in rows]
        if offset + limit > len(ids):
            ids = [int(r["id"]) for r in self._all(sql, [*args, limit, offset])]
        else:
            ids = ids[offset : offset + limit]
        return Walked(ids, COUNT_LIMIT, False, "newest")

    def portal_row_walk(
        self,
        view: LetterView,
        filters: LetterFilters,
        *,
        row_words: Sequence[Sequence[str]] = (),
        newer_than: int | None = None,
        skip: Sequence[int] = (),
        offset: int = 0,
        limit: int = 20,
    ) -> Walked:
        """One page of the letters ``view`` may list, newest first, without the index
        (filters alone, or one-character ``row_words`` on letters above ``newer_than``)."""
        where, params = self._where(view, filters)
        rows_sql, rows_params = words_sql(
            row_words, "lower(l.subject || ' ' || l.parties || ' ' || COALESCE(l.number, ''))"
        )
        floor = "l.id > ?" if newer_than is not None else ALWAYS
        floor_params = [newer_than] if newer_than is not None else []
        skipped = f" AND l.id NOT IN ({_marks(skip)})" if skip else ""
        sql = (
            f"SELECT l.id FROM portal_letters l WHERE {floor} AND {where}"  # noqa: S608
            f" AND {rows_sql}{skipped} ORDER BY l.id DESC LIMIT ? OFFSET ?"
        )
        args = [*floor_params, *params, *rows_params, *skip]
        ids = [int(r["id"]) for r in self._all(sql, [*args, COUNT_LIMIT + 1, 0])]
        order = "newest" if row_words else "browse"
        if len(ids) <= COUNT_LIMIT:
            return Walked(ids[offset : offset + limit], len(ids), True, order)
        if offset + limit > len(ids):
            ids = [int(r["id"]) for r in self._all(sql, [*args, limit, offset])]
        else:
            ids = ids[offset : offset + limit]
        return Walked(ids, COUNT_LIMIT, False, order)

    def newest_portal_letter(self) -> int:
        """The highest letter id (0 when there is none)."""
        return int(self._scalar("SELECT COALESCE(MAX(id), 0) FROM portal_letters") or 0)

    def portal_rows(self, ids: Sequence[int], view: LetterView) -> dict[int, Row]:
        """The rows of these letters by id, their recipients (a list) and ``body`` only
        where ``view`` may read it (else None)."""
        if not ids:
            return {}
        readable, readable_params = readable_sql(view)
        rows = self._all(
            "SELECT l.id, l.env_id, l.origin, l.number, l.provisional_number, l.letter_date,"  # noqa: S608
            " l.letter_day, l.letter_type, l.sub_type, l.speed, l.secrecy, l.sealed,"
            " l.subject, l.sender, l.library, l.accepted_at,"
            f" {readable} AS readable, CASE WHEN {readable} THEN l.body END AS body,"
            " (SELECT json_group_array(r.office) FROM portal_recipients r"
            " WHERE r.letter = l.id) AS recipients"
            f" FROM portal_letters l WHERE l.id IN ({_marks(ids)})",
            [*readable_params, *readable_params, *ids],
        )
        for row in rows:
            row["recipients"] = json.loads(row["recipients"] or "[]")
        return {int(r["id"]): r for r in rows}

    def _where(self, view: LetterView, filters: LetterFilters) -> tuple[str, list[Any]]:
        visible, visible_params = visible_sql(view)
        narrowed, filter_params = filter_sql(filters)
        return f"{visible} AND {narrowed}", [*visible_params, *filter_params]

    def _day_bounds(self, f: LetterFilters) -> tuple[str, list[Any]]:
        """The index rowids a date range can hold, so the walk starts and stops inside it:
        letters are accepted close to the day they are dated, so a month's ids form a band.
        The date filter itself still decides."""
        if not f.day_from and not f.day_to:
            return ALWAYS, []
        row = self._one(
            "SELECT MIN(id) AS low, MAX(id) AS high FROM portal_letters"
            " WHERE letter_day >= ? AND letter_day <= ?",
            (f.day_from or "0000-00-00", f.day_to or "9999-99-99"),
        )
        if row is None or row["low"] is None:
            return NEVER, []
        return "portal_fts.rowid BETWEEN ? AND ?", [-int(row["high"]), -int(row["low"])]
