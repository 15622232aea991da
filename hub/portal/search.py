"""The portal's search (ค้นหาหนังสือ) over the letters the hub holds, for one person's scope.

Does:

* take a search as :mod:`hub.portal.query` reads it (:class:`PortalQuery`, re-exported
  here with :class:`PortalQueryError`): words, a letter number as clerks type it, a
  Buddhist-era date range, sender, recipient, kind, speed and page;
* answer it (:func:`search`) with the Thai rules the offices' search uses
  (:mod:`protocol.search_terms`): a whole letter number by its key, final or provisional;
  words anywhere in the subject, body, numbers and parties, two-character words too;
  ranked and paged as on the node (exact numbers first, then subjects holding every word
  when at most 300 match, newest first); each row with the places of the words found,
  for marking them (:class:`PortalRow`);
* show a :class:`Scope` only what it may see: an office its letters, sent or received,
  and the library's; the ministry every letter's tracking and the content of those the
  ministry office (สป.มท., found by name in the directory) is party to; a sealed letter
  only to a registrar (of a party office, or the ministry's), its tracking only.

A letter accepted a moment ago and not indexed yet is still found: the portal records it
before the page reads (:func:`hub.federation.letter_index.catch_up`), and the queue is
read row by row (up to :data:`UNINDEXED_SCAN_LIMIT` letters; beyond, and for letters of a
long burst not recorded yet, the page says how many its words could not reach,
``unindexed``). After an upgrade, while the letters of the feed
from before the index are being recorded, the page says so (``backfilling``).

Does not: render pages or know Flask (the portal's pages do), authenticate anyone or
audit, or run SQL (:mod:`hub.store.portal_search` does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hub.federation.letter_index import LIBRARY_SCOPE, scope_code
from hub.portal.query import PortalQuery, PortalQueryError
from hub.store import HubStore
from hub.store.portal_search import LetterFilters, LetterView, Walked
from protocol.errors import BadLetterNumber
from protocol.numbers import parse_letter_number, search_key
from protocol.search_terms import (
    NUMBERS_COLUMN,
    Plan,
    digit_forms,
    normalize_query,
    phrase,
    plan_query,
    term_expression,
    word_spans,
)
from protocol.thai import format_thai_date

__all__ = [
    "PortalPage",
    "PortalQuery",
    "PortalQueryError",
    "PortalRow",
    "Scope",
    "ministry_office",
    "search",
]

MINISTRY_OFFICE_NAME = "สำนักงานปลัดกระทรวงมหาดไทย"
"""The directory's name of the ministry's own office (สป.มท.)."""

UNINDEXED_SCAN_LIMIT = 5_000
"""Letters not indexed yet that a search still reads row by row (~0.15 s)."""
SHORT_QUERY_WINDOW = 10_000
"""Newest letters a query of one-character words looks through."""
SNIPPET_CONTEXT = 60
"""Characters of the body shown on each side of the first word found."""


@dataclass(frozen=True)
class Scope:
    """Who searches: their office (None for nobody's), the ministry role, the registrar's."""

    office: str | None
    ministry: bool = False
    registrar: bool = False

    def view(self, ministry_office: str | None) -> LetterView:
        """The letters this scope may list and read, the ministry office being
        ``ministry_office``."""
        parties = [self.office, ministry_office if self.ministry else None]
        return LetterView(
            everyone=self.ministry,
            parties=tuple(dict.fromkeys(p for p in parties if p)),
            sealed=self.registrar,
        )


Span = tuple[int, int]


@dataclass(frozen=True)
class PortalRow:
    """One letter found, as a result list shows it."""

    env_id: str
    origin: str
    origin_name: str
    number: str | None
    earlier_number: str | None
    """The provisional number the letter carried before the hub made it final."""
    subject: str
    """The neutral subject for a sealed letter."""
    snippet: str | None
    """Part of the body around the first word found (its beginning otherwise); None
    where the scope may not read the letter."""
    sender: str
    """Who signed it (a position), as the letter says."""
    recipients: list[tuple[str, str]]
    """``(office id, name)`` of each office it was addressed to."""
    letter_date: str
    """The date as the letter gives it (Buddhist era)."""
    date_th: str
    """The letter's day in the Buddhist era, as the portal shows dates."""
    letter_type: str | None
    sub_type: str | None
    speed: str
    secrecy: str
    sealed: bool
    library: bool
    readable: bool
    exact_number: bool = False
    """Its number, final or earlier, is exactly the one searched for."""
    subject_marks: list[Span] = field(default_factory=list)
    snippet_marks: list[Span] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The row as JSON (recipients as objects, marks as pairs)."""
        out = dict(self.__dict__)
        out["recipients"] = [{"office": o, "name": n} for o, n in self.recipients]
        return out


@dataclass(frozen=True)
class PortalPage:
    """One page of results and where it sits among them."""

    query: PortalQuery
    rows: list[PortalRow]
    total: int
    total_exact: bool
    """False when more letters matched than were counted: ``total`` is a floor."""
    order: str
    """``relevance``, ``newest``, ``number`` (exact number matches) or ``browse``."""
    unindexed: int = 0
    """Letters accepted that the words could not reach yet (the index catching up)."""
    backfilling: bool = False
    """The letters a hub accepted before its index existed are still being recorded from
    its feed (once, after an upgrade): some of them are not listed yet."""
    recent_only: int | None = None
    """Set when only the newest this many letters were searched (one-character words)."""

    @property
    def page(self) -> int:
        """This page's number."""
        return self.query.page

    @property
    def pages(self) -> int:
        """Pages of results (of those counted)."""
        return max(1, -(-self.total // self.query.per_page))

    @property
    def has_next(self) -> bool:
        """Whether another page follows."""
        return self.query.offset + len(self.rows) < self.total or (
            not self.total_exact and len(self.rows) == self.query.per_page
        )

    def to_json(self) -> dict[str, Any]:
        """The page as JSON."""
        return {
            "query": self.query.to_json(),
            "total": self.total,
            "total_exact": self.total_exact,
            "order": self.order,
            "unindexed": self.unindexed,
            "backfilling": self.backfilling,
            "recent_only": self.recent_only,
            "page": self.page,
            "pages": self.pages,
            "has_next": self.has_next,
            "rows": [r.to_json() for r in self.rows],
        }


# -- searching ---------------------------------------------------------------------------


def ministry_office(store: HubStore) -> str | None:
    """The ministry office's id (สป.มท.), found by its name in the directory."""
    return store.office_named(MINISTRY_OFFICE_NAME)


def _word_forms(term: str) -> list[str]:
    forms = digit_forms(term)
    key = search_key(term)
    return forms if key in forms else [*forms, key]


def _whole_number_key(number: str) -> str | None:
    try:
        return parse_letter_number(normalize_query(number)).search_key()
    except BadLetterNumber:
        return None


def _match(
    plan: Plan, fragment: str | None, view: LetterView, filters: LetterFilters
) -> str | None:
    """The FTS5 expression: the words, a number fragment, and the scope codes that narrow
    the walk to what an office may see."""
    parts: list[str] = []
    if plan.whole_number and plan.match:
        parts.append(plan.match)
    # The ministry's view reads only some bodies: the row then checks that every word is
    # in what it may see (hub.store.portal_search.seen_words_sql).
    parts += [term_expression(term) for term in plan.indexed_terms]
    if fragment:
        parts.append(f"{NUMBERS_COLUMN} : {term_expression(fragment)}")
    if not view.everyone:
        codes = [*(scope_code(p) for p in view.parties), LIBRARY_SCOPE]
        parts.append("scope : (" + " OR ".join(phrase(c) for c in codes) + ")")
    for office in (filters.sender, filters.recipient):
        if office:
            parts.append(f"scope : {phrase(scope_code(office))}")
    return " AND ".join(parts) or None


def search(store: HubStore, scope: Scope, query: PortalQuery) -> PortalPage:
    """One page of the letters ``scope`` may see that match ``query``, best first."""
    view = scope.view(ministry_office(store) if scope.ministry else None)
    plan = plan_query(query.text or query.number)
    number_key = fragment = None
    if query.text and query.number:
        number_key = _whole_number_key(query.number)
        fragment = None if number_key else search_key(normalize_query(query.number))
    filters = LetterFilters(
        letter_type=query.letter_type,
        speed=query.speed,
        sender=query.sender,
        recipient=query.recipient,
        day_from=query.date_from.isoformat() if query.date_from else "",
        day_to=query.date_to.isoformat() if query.date_to else "",
        number_key=number_key or "",
    )
    exact = store.portal_exact_ids(plan.number_key, view, filters) if plan.number_key else []
    by_number = plan.whole_number and bool(exact)
    match = None if by_number else _match(plan, fragment, view, filters)
    lead = list(exact)
    unindexed = 0
    if match is not None:
        words = [_word_forms(t) for t in plan.terms]
        if plan.whole_number and plan.number_key:
            words.append([plan.number_key])
        if fragment:
            words.append([fragment])
        queued, waiting = store.portal_queued_ids(words, view, filters, UNINDEXED_SCAN_LIMIT)
        lead += [i for i in queued if i not in exact]
        unindexed = waiting if waiting > UNINDEXED_SCAN_LIMIT else 0
    unindexed += store.portal_unrecorded()
    first = lead[query.offset : query.offset + query.per_page]
    offset = max(0, query.offset - len(lead))
    limit = query.per_page - len(first)
    walked, recent = _walk(store, plan, match, view, filters, lead, offset, limit, by_number)
    rows = store.portal_rows([*first, *walked.ids], view)
    names = store.office_names(o for r in rows.values() for o in (r["origin"], *r["recipients"]))
    terms = [*plan.terms, *([fragment] if fragment else [])]
    return PortalPage(
        query=query,
        rows=[_row(rows[i], names, terms, i in exact) for i in [*first, *walked.ids] if i in rows],
        total=len(lead) + walked.total,
        total_exact=walked.total_exact,
        order=walked.order,
        unindexed=unindexed,
        backfilling=_backfilling(store),
        recent_only=recent,
    )


def _backfilling(store: HubStore) -> bool:
    done, upto = store.portal_backfill_span()
    return done < upto


def _walk(
    store: HubStore,
    plan: Plan,
    match: str | None,
    view: LetterView,
    filters: LetterFilters,
    lead: Sequence[int],
    offset: int,
    limit: int,
    by_number: bool,
) -> tuple[Walked, int | None]:
    if by_number:
        return Walked([], 0, True, "number"), None
    row_words = [digit_forms(t) for t in plan.single_chars]
    recent = None
    newer_than = None
    if row_words and not plan.indexed_terms and not plan.whole_number:
        newer_than = store.newest_portal_letter() - SHORT_QUERY_WINDOW
        recent = SHORT_QUERY_WINDOW if newer_than > 0 else None
    if match is not None and newer_than is None:
        walked = store.portal_index_walk(
            match,
            view,
            filters,
            subject_words=[digit_forms(t) for t in plan.terms],
            row_words=row_words,
            seen_words=[_word_forms(t) for t in plan.indexed_terms] if view.everyone else [],
            skip=lead,
            offset=offset,
            limit=limit,
        )
    else:
        walked = store.portal_row_walk(
            view,
            filters,
            row_words=row_words,
            newer_than=newer_than,
            skip=lead,
            offset=offset,
            limit=limit,
        )
    return walked, recent


def _row(
    row: Mapping[str, Any], names: Mapping[str, str], terms: Sequence[str], exact: bool
) -> PortalRow:
    subject = str(row["subject"])
    body = row["body"]
    snippet, snippet_marks = _excerpt(str(body), terms) if body is not None else (None, [])
    day = row["letter_day"]
    return PortalRow(
        env_id=row["env_id"],
        origin=row["origin"],
        origin_name=names.get(row["origin"], ""),
        number=row["number"],
        earlier_number=row["provisional_number"],
        subject=subject,
        snippet=snippet,
        sender=row["sender"] or "",
        recipients=[(o, names.get(o, "")) for o in row["recipients"]],
        letter_date=row["letter_date"] or "",
        date_th=format_thai_date(date.fromisoformat(day)) if day else "",
        letter_type=row["letter_type"],
        sub_type=row["sub_type"],
        speed=row["speed"] or "",
        secrecy=row["secrecy"] or "",
        sealed=bool(row["sealed"]),
        library=bool(row["library"]),
        readable=bool(row["readable"]),
        exact_number=exact,
        subject_marks=word_spans(subject, terms),
        snippet_marks=snippet_marks,
    )


def _excerpt(body: str, terms: Sequence[str]) -> tuple[str, list[Span]]:
    """Part of ``body`` around the first word found (else its beginning), with ``…`` where
    it is cut, and the words' places in that part."""
    spans = word_spans(body, terms)
    at = spans[0][0] if spans else 0
    start = max(0, at - SNIPPET_CONTEXT)
    end = min(len(body), (spans[0][1] if spans else 0) + SNIPPET_CONTEXT * 2)
    lead = "…" if start else ""
    text = lead + body[start:end] + ("…" if end < len(body) else "")
    shift = len(lead) - start
    marks = [(s + shift, e + shift) for s, e in spans if s >= start and e <= end]
    return text, marks
