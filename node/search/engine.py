"""Letter search (ค้นหาหนังสือ): Thai substring search over letters, numbers and attached PDFs.

Does: answer a search (:func:`search_letters`): the words of a query, or a letter number
as users type it, plus filters (kind, speed, secrecy, register series, status, direction,
a Buddhist-era date range), ranked and paged, showing a viewer only the letters they may
see, each with a snippet of where its words were found (:class:`SearchHit`,
:class:`SearchPage`). The request is read and validated in :mod:`node.search.query`, the
words turned into SQL in :mod:`node.search.plan`; the index is built by
:mod:`node.search.index` and the text of attached PDFs read by :mod:`node.records.attachment_text`.

The index itself is SQL (``-- search`` in :mod:`node.storage.schema`): one FTS5 row per letter
with the trigram tokenizer, rowid = ``-letters.id`` (FTS5 walks its lists fastest in
ascending rowid order, so ascending is newest first), columns ``subject``, ``numbers`` (the
letter number's and the receipt number's search keys), ``parties`` (origin, sender,
salutation, recipients, paper addressees), ``body`` and ``files`` (attachment names and
extracted text), each ending in a space. Triggers on ``letters`` and ``attachment_text``
queue every letter whichever module writes it (sending, receiving, paper letters, the
workflow, retention, restore) and the queue is indexed a moment later; a search first
indexes a short queue itself, so it sees every letter but during a long catch-up, when the
page says how many it does not see yet (``unindexed``).

How a query is read:

* the text is normalised as stored text is (:func:`~protocol.thai.normalize_thai`), with
  Thai digits read as Arabic, and split at spaces; every word must match (AND);
* a word of three or more characters is a substring match in the trigram index (also in
  Thai digits, and as a number key when folding changes it); a two-character word is
  matched as any trigram it begins (the space that ends each column makes that exact);
  only a query of one-character words falls back to the letters table, and looks through
  the newest :data:`SHORT_QUERY_WINDOW` letters;
* a query that reads as a letter number (``ชม0017.3/ว456``, ``ชม ๐๐๑๗.๓/ว. ๔๕๖``) is
  folded with :func:`~protocol.numbers.search_key`; the letters whose number has exactly
  that key are the answer (an index lookup), and only when there is none are the numbers
  that contain it listed; a letter is also found by a number it no longer shows (the
  provisional number a finalisation replaced: ``letter_number_aliases``, exact key only);
  a query of digits also lists the letters of that receipt number (เลขรับ) first.

Ranking: exact number matches first. Then, when at most :data:`COUNT_LIMIT` letters
match, those whose subject holds every word, then the rest, each newest first; when more
match, newest first, and the total is a lower bound. Either way the index is walked once
and stops after :data:`COUNT_LIMIT` matches. FTS5's bm25 is not used: it computes each
word's weight by counting every letter that contains it, which for a common word costs
more than the whole search may (see docs/performance.md).

Does not: segment Thai words, correct spelling, search minutes or history, OCR scanned
images, validate request parameters, maintain the index or extract attachment text (the
modules above do), or decide who may see a classified letter (:mod:`node.records.access` does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from node.records.access import Viewer
from node.records.workflow import STAGE_TITLES
from node.search.index import SEARCH_CATCH_UP_SECONDS, catch_up, ensure_index
from node.search.plan import Plan, digit_forms, filter_sql, plan_query, row_terms_sql, subject_sql
from node.search.query import SearchFilters, SearchQuery
from node.storage.store import Store

COUNT_LIMIT = 300
"""Totals are counted up to this many matches; beyond, the total is a lower bound."""

EXACT_LIMIT = 100
"""Most letters listed first for an exact number match."""

SHORT_QUERY_WINDOW = 10_000
"""Newest letters a query of one-character words looks through."""

UNINDEXED_SCAN_LIMIT = 5_000
"""Letters not indexed yet that a search still reads one by one (a disk that cannot be
written keeps the queue): ~30 µs for a 3 KB letter, 0.15 s for 5,000. Beyond it the page
says how many letters it could not search."""

SNIPPET_CONTEXT = 40
"""Characters shown on each side of a word found."""

_LIST_COLUMNS = (
    "letters.id, letters.direction, letters.number, letters.receipt_number, "
    "letters.subject, letters.letter_type, letters.sub_type, letters.speed, "
    "letters.secrecy, letters.letter_date, letters.letter_day, letters.state, "
    "letters.stage, letters.origin, letters.paper, letters.register, "
    "letters.receipt_register"
)


@dataclass(frozen=True)
class SearchHit:
    """One letter found: what a result list shows."""

    id: int
    direction: str
    number: str | None
    receipt_number: str | None
    subject: str
    letter_type: str | None
    sub_type: str | None
    speed: str | None
    secrecy: str | None
    letter_date: str | None
    letter_day: str | None
    state: str | None
    stage: str | None
    origin: str | None
    paper: bool
    register: str | None
    receipt_register: str | None
    exact_number: bool = False
    """Its letter number or receipt number is exactly the one searched for."""
    snippet: str | None = None
    """Where the words matched, with the match in ``[...]``."""

    @classmethod
    def from_row(
        cls, row: Mapping[str, Any], exact: bool = False, snippet: str | None = None
    ) -> SearchHit:
        """From a row of ``letters``."""
        return cls(
            id=int(row["id"]),
            direction=row["direction"],
            number=row["number"],
            receipt_number=row["receipt_number"],
            subject=row["subject"] or "",
            letter_type=row["letter_type"],
            sub_type=row["sub_type"],
            speed=row["speed"],
            secrecy=row["secrecy"],
            letter_date=row["letter_date"],
            letter_day=row["letter_day"],
            state=row["state"],
            stage=row["stage"],
            origin=row["origin"],
            paper=bool(row["paper"]),
            register=row["register"],
            receipt_register=row["receipt_register"],
            exact_number=exact,
            snippet=snippet,
        )

    def to_json(self) -> dict[str, Any]:
        """The hit as the API returns it, with the stage's Thai title."""
        out = dict(self.__dict__)
        out["stage_th"] = STAGE_TITLES.get(self.stage or "", "")
        return out


@dataclass(frozen=True)
class SearchPage:
    """One page of results and where it sits among them."""

    query: SearchQuery
    items: list[SearchHit]
    total: int
    total_exact: bool
    """False when more than :data:`COUNT_LIMIT` letters matched: ``total`` is a floor."""
    order: str
    """``relevance`` (subject matches first), ``newest``, ``number`` (exact number
    matches only) or ``browse`` (no words)."""
    recent_only: int | None = None
    """Set when only the newest this many letters were searched (one-character words)."""
    unindexed: int = 0
    """Letters stored or changed that the words could not find yet: the index is still
    catching up with them (:mod:`node.search.index`); numbers are found regardless."""

    @property
    def pages(self) -> int:
        """Pages of results (of those counted)."""
        return max(1, -(-self.total // self.query.per_page))

    @property
    def has_next(self) -> bool:
        """Whether another page follows."""
        return self.query.offset + len(self.items) < self.total or (
            not self.total_exact and len(self.items) == self.query.per_page
        )

    def to_json(self) -> dict[str, Any]:
        """The page as the search API returns it."""
        return {
            "query": self.query.to_json(),
            "total": self.total,
            "total_exact": self.total_exact,
            "order": self.order,
            "recent_only": self.recent_only,
            "unindexed": self.unindexed,
            "page": self.query.page,
            "per_page": self.query.per_page,
            "pages": self.pages,
            "has_next": self.has_next,
            "items": [hit.to_json() for hit in self.items],
        }


# -- searching ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    """One page's ids out of the letters a pass found, and how they were counted."""

    ids: list[int]
    total: int
    total_exact: bool
    order: str
    recent_only: int | None = None


def search_letters(
    store: Store, viewer: Viewer, query: SearchQuery, index_seconds: float = SEARCH_CATCH_UP_SECONDS
) -> SearchPage:
    """One page of the letters ``viewer`` may see that match ``query``, best first, after
    indexing the letters stored since the index last ran for at most ``index_seconds``."""
    ensure_index(store)
    unindexed = catch_up(store, index_seconds)
    plan = plan_query(query.text)
    visible, visible_params = viewer.visible_sql("letters")
    filters, filter_params = filter_sql(query.filters)
    where = f"{visible} AND {filters}"
    params = [*visible_params, *filter_params]

    exact = _exact_ids(store, plan, where, params)
    lead = list(exact)
    by_number = plan.whole_number and bool(exact)
    if unindexed and plan.match is not None and not by_number:
        if unindexed <= UNINDEXED_SCAN_LIMIT:
            lead += [i for i in _unindexed_ids(store, plan, where, params) if i not in exact]
            unindexed = 0
    else:
        unindexed = 0  # the answer does not depend on the index
    first = lead[query.offset : query.offset + query.per_page]
    offset = max(0, query.offset - len(lead))
    limit = query.per_page - len(first)
    if lead:
        where += f" AND letters.id NOT IN ({', '.join('?' for _ in lead)})"
        params += lead
    if by_number:
        found = _Found([], 0, True, "number")
    elif plan.match is not None:
        singles, single_params = row_terms_sql(plan.single_chars)
        where, params = f"{where} AND {singles}", [*params, *single_params]
        bounds, bound_params = _date_bounds(store, query.filters)
        where, params = f"{where} AND {bounds}", [*params, *bound_params]
        found = _index_pass(store, plan, where, params, offset, limit)
    else:
        found = _row_pass(store, plan, where, params, offset, limit)
    return SearchPage(
        query=query,
        items=_hits(store, plan, [*first, *found.ids], set(exact)),
        total=len(lead) + found.total,
        total_exact=found.total_exact,
        order=found.order,
        recent_only=found.recent_only,
        unindexed=unindexed,
    )


def _exact_ids(store: Store, plan: Plan, where: str, params: list[Any]) -> list[int]:
    """Letters whose number or receipt number is exactly the one typed, newest first."""
    if plan.number_key is None and plan.receipt_number is None:
        return []
    # Both fragments come from this module; values are parameters.
    sql = (
        "SELECT letters.id FROM letters "  # noqa: S608
        "WHERE (letters.number_key = ? OR letters.receipt_number = ? OR letters.id IN "
        "(SELECT letter FROM letter_number_aliases WHERE number_key = ?)) "
        f"AND {where} ORDER BY letters.id DESC LIMIT ?"
    )
    rows = store.conn.execute(
        sql, [plan.number_key, plan.receipt_number, plan.number_key, *params, EXACT_LIMIT]
    )
    return [int(r[0]) for r in rows]


def _unindexed_ids(store: Store, plan: Plan, where: str, params: list[Any]) -> list[int]:
    """Letters the index does not hold yet that contain every word, newest first: the
    text the index would hold (``letter_search_docs``) read letter by letter, matched as
    the trigram index matches (a substring, ASCII letters in either case)."""
    doc = "lower(d.subject || d.numbers || d.parties || d.body || d.files)"
    clauses: list[str] = []
    words: list[Any] = []
    for term in plan.terms:
        forms = digit_forms(term)
        clauses.append("(" + " OR ".join(f"instr({doc}, lower(?)) > 0" for _ in forms) + ")")
        words += forms
    # Every fragment comes from this module; values are parameters.
    sql = (
        "SELECT letters.id FROM search_pending "  # noqa: S608
        "JOIN letters ON letters.id = search_pending.letter "
        "JOIN letter_search_docs AS d ON d.id = letters.id "
        f"WHERE {' AND '.join(clauses) or '1'} AND {where} ORDER BY letters.id DESC LIMIT ?"
    )
    return [int(r[0]) for r in store.conn.execute(sql, [*words, *params, COUNT_LIMIT])]


def _date_bounds(store: Store, f: SearchFilters) -> tuple[str, list[Any]]:
    """The index rowids a date range can hold, so the walk starts and stops inside it.

    Letters are numbered as they are written, close to the day they are dated, so the ids
    of a month's letters form one band; bounding the walk to that band saves walking
    every newer match of a common word first. The date filter itself still decides.
    """
    if f.date_from is None and f.date_to is None:
        return "1", []
    day_from = (f.date_from or date.min).isoformat()
    day_to = (f.date_to or date.max).isoformat()
    row = store.conn.execute(
        "SELECT MIN(id), MAX(id) FROM letters WHERE letter_day >= ? AND letter_day <= ?",
        (day_from, day_to),
    ).fetchone()
    if row is None or row[0] is None:
        return "0", []
    return "letter_fts.rowid BETWEEN ? AND ?", [-int(row[1]), -int(row[0])]


def _index_pass(
    store: Store, plan: Plan, where: str, params: list[Any], offset: int, limit: int
) -> _Found:
    """Matches in the trigram index, walked once newest first (rowid = -letters.id)."""
    subject, subject_params = subject_sql(plan.terms)
    # CROSS JOIN keeps the index as the outer loop, so the walk stops after COUNT_LIMIT
    # matches instead of visiting every letter that contains a common word.
    sql = (
        f"SELECT letters.id, {subject} "  # noqa: S608
        "FROM letter_fts CROSS JOIN letters ON letters.id = -letter_fts.rowid "
        f"WHERE letter_fts MATCH ? AND {where} ORDER BY letter_fts.rowid LIMIT ? OFFSET ?"
    )
    args = [*subject_params, plan.match, *params]
    rows = [(int(r[0]), int(r[1])) for r in store.conn.execute(sql, [*args, COUNT_LIMIT + 1, 0])]
    if len(rows) <= COUNT_LIMIT:
        # Every match is known: the subject's matches first, each group newest first.
        ordered = [i for i, _ in sorted(rows, key=lambda r: (-r[1], -r[0]))]
        return _Found(ordered[offset : offset + limit], len(rows), True, "relevance")
    page = _page_beyond_count(store, sql, args, [i for i, _ in rows], offset, limit)
    return _Found(page, COUNT_LIMIT, False, "newest")


def _row_pass(
    store: Store, plan: Plan, where: str, params: list[Any], offset: int, limit: int
) -> _Found:
    """Without index words: one-character words on the newest letters, or filters alone."""
    recent_only = None
    order = "browse"
    if plan.single_chars:
        order = "newest"
        words, word_params = row_terms_sql(plan.single_chars)
        newest = int(store.scalar("SELECT COALESCE(MAX(id), 0) FROM letters") or 0)
        floor = newest - SHORT_QUERY_WINDOW
        if floor > 0:
            recent_only = SHORT_QUERY_WINDOW
        where = f"letters.id > ? AND {words} AND {where}"
        params = [floor, *word_params, *params]
    sql = (
        f"SELECT letters.id FROM letters WHERE {where} "  # noqa: S608
        "ORDER BY letters.id DESC LIMIT ? OFFSET ?"
    )
    ids = [int(r[0]) for r in store.conn.execute(sql, [*params, COUNT_LIMIT + 1, 0])]
    if len(ids) <= COUNT_LIMIT:
        return _Found(ids[offset : offset + limit], len(ids), True, order, recent_only)
    page = _page_beyond_count(store, sql, params, ids, offset, limit)
    return _Found(page, COUNT_LIMIT, False, order, recent_only)


def _page_beyond_count(
    store: Store, sql: str, args: list[Any], counted: list[int], offset: int, limit: int
) -> list[int]:
    """A page when more than :data:`COUNT_LIMIT` matched, newest first: from the ids
    already walked, or, for a page past them, by walking on to it (``sql`` ends in
    ``LIMIT ? OFFSET ?``)."""
    if offset + limit <= len(counted):
        return counted[offset : offset + limit]
    return [int(r[0]) for r in store.conn.execute(sql, [*args, limit, offset])]


def _hits(store: Store, plan: Plan, ids: list[int], exact: set[int]) -> list[SearchHit]:
    """The page's letters with a snippet of where the words were found."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = {
        r["id"]: r
        for r in store.query(
            f"SELECT {_LIST_COLUMNS} FROM letters WHERE letters.id IN ({marks})",  # noqa: S608
            ids,
        )
    }
    texts = {}
    if plan.terms:
        texts = {
            r["id"]: r
            for r in store.query(
                "SELECT id, subject, parties, body, files FROM letter_search_docs "  # noqa: S608
                f"WHERE id IN ({marks})",
                ids,
            )
        }
    return [
        SearchHit.from_row(rows[i], exact=i in exact, snippet=_snippet(texts.get(i), plan.terms))
        for i in ids
        if i in rows
    ]


def _snippet(doc: Mapping[str, Any] | None, terms: Sequence[str]) -> str | None:
    """The first place a word occurs, with some text around it and the word in [...]."""
    if doc is None:
        return None
    for column in ("subject", "body", "files", "parties"):
        text = (doc[column] or "").rstrip()
        for term in terms:
            for form in digit_forms(term):
                at = text.find(form)
                if at < 0:
                    continue
                start, end = max(0, at - SNIPPET_CONTEXT), at + len(form) + SNIPPET_CONTEXT
                before = ("…" if start else "") + text[start:at]
                after = text[at + len(form) : end].rstrip() + ("…" if end < len(text) else "")
                return f"{before}[{form}]{after}"
    return None
