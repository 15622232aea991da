"""Letter search (ค้นหาหนังสือ): Thai substring search over letters, numbers and attached PDFs.

Does:

* keep text extracted from attached PDFs in ``attachment_text`` (:func:`extract_pdf_text`;
  the hooks :func:`prepare_attachment_text` and :func:`keep_prepared_text` for what a
  clerk attaches, :func:`index_blob` for what the sync worker downloads, and
  :func:`extract_missing` for the nightly job);
* answer a search (:func:`search_letters`): the words of a query, or a letter number as
  users type it, plus filters (kind, speed, secrecy, register series, status, direction,
  a Buddhist-era date range), ranked and paged, showing a viewer only the letters they may
  see;
* rebuild the index in full (:func:`reindex`), and once for a database made before
  search existed (:func:`ensure_index`).

The index itself is SQL (``-- search`` in :mod:`node.schema`): one FTS5 row per letter
with the trigram tokenizer, rowid = ``-letters.id`` (FTS5 walks its lists fastest in
ascending rowid order, so ascending is newest first), columns ``subject``, ``numbers`` (the
letter number's and the receipt number's search keys), ``parties`` (origin, sender,
salutation, recipients, paper addressees), ``body`` and ``files`` (attachment names and
extracted text), each ending in a space. Triggers on ``letters`` and ``attachment_text``
keep it right whichever module writes a letter (sending, receiving, paper letters, the
workflow, retention, restore), so nothing here needs calling when a letter changes.

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
  that contain it listed; a query of digits also lists the letters of that receipt number
  (เลขรับ) first.

Ranking: exact number matches first. Then, when at most :data:`COUNT_LIMIT` letters
match, those whose subject holds every word, then the rest, each newest first; when more
match, newest first, and the total is a lower bound. Either way the index is walked once
and stops after :data:`COUNT_LIMIT` matches. FTS5's bm25 is not used: it computes each
word's weight by counting every letter that contains it, which for a common word costs
more than the whole search may (see docs/performance.md).

Does not: segment Thai words, correct spelling, search minutes or history, OCR scanned
images, or decide who may see a classified letter (:mod:`node.access` does).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from protocol.errors import BadLetterNumber, BadMessage
from protocol.lettertypes import LETTER_TYPES, SECRECY_CLASSES, SPEED_CLASSES, SUB_TYPES
from protocol.numbers import RegisterKey, Series, parse_letter_number, search_key
from protocol.thai import (
    MIN_BE_YEAR,
    ce_year,
    fold_spaces,
    format_thai_date,
    normalize_thai,
    parse_thai_date,
    to_arabic_digits,
    to_thai_digits,
)

from .access import Viewer
from .context import NodeContext
from .errors import BadInput
from .store import Store
from .workflow import STAGE_TITLES

log = logging.getLogger(__name__)
# A damaged scan is the clerk's everyday reality, not an operator's alarm: its text simply
# is not searchable (recorded with the attachment's text), so pypdf's repair chatter and
# ours stay below the level a terminal shows.
logging.getLogger("pypdf").setLevel(logging.ERROR)

INDEX_VERSION = 1
"""Version of what the index holds; the schema marks an empty database with it."""

MIN_TERM_CHARS = 3
"""Words this long (code points after normalisation) are phrases of the trigram index;
two-character words are matched as the trigrams they begin, one-character words on rows."""

MAX_QUERY_CHARS = 200
MAX_TERMS = 10
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_OFFSET = 10_000
"""Deepest result a page may start at; beyond it the clerk should narrow the search."""

COUNT_LIMIT = 300
"""Totals are counted up to this many matches; beyond, the total is a lower bound."""

EXACT_LIMIT = 100
"""Most letters listed first for an exact number match."""

SHORT_QUERY_WINDOW = 10_000
"""Newest letters a query of one-character words looks through."""

SNIPPET_CONTEXT = 40
"""Characters shown on each side of a word found."""

PDF_MAX_PAGES = 50
PDF_MAX_CHARS = 100_000
PDF_MEDIA_TYPES = frozenset({"application/pdf", "application/x-pdf"})

_LIST_COLUMNS = (
    "letters.id, letters.direction, letters.number, letters.receipt_number, "
    "letters.subject, letters.letter_type, letters.sub_type, letters.speed, "
    "letters.secrecy, letters.letter_date, letters.letter_day, letters.state, "
    "letters.stage, letters.origin, letters.paper, letters.register, "
    "letters.receipt_register"
)
# Row columns a one-character word is looked for in.
_ROW_COLUMNS = ("subject", "origin", "sender", "number", "receipt_number", "parties")
LETTER_STATES = frozenset(
    {
        "draft",
        "numbered",
        "queued",
        "sent",
        "dispatched",
        "delivered",
        "registered",
        "returned",
        "withdrawn",
        "invalid",
    }
)
"""Values of ``letters.state``; a status filter also takes the stages of the workflow."""

_STAGE_BY_TITLE = {title: stage for stage, title in STAGE_TITLES.items()}
_SLASH_DATE_RE = re.compile(r"(?P<day>[0-9]{1,2})/(?P<month>[0-9]{1,2})/(?P<year>[0-9]{4})")
_PARAMS = frozenset(
    {
        "q",
        "type",
        "sub_type",
        "speed",
        "secrecy",
        "series",
        "status",
        "direction",
        "from",
        "to",
        "page",
        "per_page",
    }
)


# -- the query ---------------------------------------------------------------------------


def _bad(reason: str, code: str, message_th: str) -> BadInput:
    return BadInput(reason, code=code, message_th=message_th)


def parse_search_date(text: str, what: str = "date") -> date:
    """A date as a clerk types it in a search: ``1/11/2569``, ``1 พ.ย. 2569`` or ISO.

    Slash dates are day/month/Buddhist-era year; a Christian-era year there is refused
    rather than guessed. Raises :class:`BadInput` with a Thai message.
    """
    cleaned = fold_spaces(to_arabic_digits(normalize_thai(text or "")))
    example = "ตัวอย่าง: 1/11/2569 หรือ 1 พฤศจิกายน 2569"
    if match := _SLASH_DATE_RE.fullmatch(cleaned):
        year = int(match["year"])
        if year < MIN_BE_YEAR:
            raise _bad(
                f"{what} {text!r}: the year must be Buddhist era (CE + 543)",
                "bad_date",
                f"ปีของวันที่ต้องเป็นพุทธศักราช ({example})",
            )
        try:
            return date(ce_year(year), int(match["month"]), int(match["day"]))
        except ValueError as e:
            raise _bad(
                f"{what} {text!r} is not a calendar date", "bad_date", "ไม่มีวันที่นี้ในปฏิทิน"
            ) from e
    try:
        return parse_thai_date(cleaned)
    except BadMessage as e:
        raise _bad(f"cannot read {what} {text!r}", "bad_date", f"อ่านวันที่ไม่ได้ ({example})") from e


@dataclass(frozen=True)
class SearchFilters:
    """What a search is narrowed to; empty values do not narrow it."""

    letter_type: str = ""
    sub_type: str = ""
    speed: str = ""
    secrecy: str = ""
    series: str = ""
    """A register series (``ส่ง``, ``ว``, ``รับ``, ``ลับ``...) or a register id."""
    status: str = ""
    """A letter state (``registered``) or workflow stage (``assigned``, or ``มอบหมายแล้ว``)."""
    direction: str = ""
    """``in`` (received) or ``out`` (sent)."""
    date_from: date | None = None
    date_to: date | None = None

    def __post_init__(self) -> None:
        sub_types = {s for subs in SUB_TYPES.values() for s in subs}
        for value, allowed, code, name_th in (
            (self.letter_type, LETTER_TYPES, "bad_type", "ชนิดหนังสือ"),
            (self.sub_type, sub_types, "bad_sub_type", "ประเภทย่อยของหนังสือ"),
            (self.speed, SPEED_CLASSES, "bad_speed", "ชั้นความเร็ว"),
            (self.secrecy, SECRECY_CLASSES, "bad_secrecy", "ชั้นความลับ"),
        ):
            if value and value not in allowed:
                choices = ", ".join(a for a in allowed if a)
                raise _bad(
                    f"unknown {code[4:]} {value!r} (one of {choices})",
                    code,
                    f"ไม่รู้จัก{name_th} '{value}' (เลือกได้: {choices})",
                )
        if self.series and "|" in self.series:
            try:
                RegisterKey.from_id(self.series)
            except BadMessage as e:
                raise _bad(str(e), "bad_series", "รหัสทะเบียนไม่ถูกต้อง") from e
        elif self.series and self.series not in {s.value for s in Series}:
            choices = ", ".join(s.value for s in Series)
            raise _bad(
                f"unknown register series {self.series!r} (one of {choices})",
                "bad_series",
                f"ไม่รู้จักทะเบียน '{self.series}' (เลือกได้: {choices})",
            )
        if self.status and self.status not in LETTER_STATES | set(STAGE_TITLES):
            if self.status not in _STAGE_BY_TITLE:
                raise _bad(f"unknown status {self.status!r}", "bad_status", "ไม่รู้จักสถานะของหนังสือ")
            object.__setattr__(self, "status", _STAGE_BY_TITLE[self.status])
        if self.direction not in ("", "in", "out"):
            raise _bad(
                f"direction must be 'in' or 'out', not {self.direction!r}",
                "bad_direction",
                "ทิศทางต้องเป็น in (หนังสือรับ) หรือ out (หนังสือส่ง)",
            )
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise _bad(
                "the date range ends before it starts",
                "bad_date_range",
                "วันที่เริ่มต้นต้องไม่อยู่หลังวันที่สิ้นสุด",
            )

    def to_json(self) -> dict[str, Any]:
        """The filters that narrow the search, dates also in Thai."""
        out: dict[str, Any] = {
            k: v
            for k, v in (
                ("type", self.letter_type),
                ("sub_type", self.sub_type),
                ("speed", self.speed),
                ("secrecy", self.secrecy),
                ("series", self.series),
                ("status", self.status),
                ("direction", self.direction),
            )
            if v
        }
        for key, day in (("from", self.date_from), ("to", self.date_to)):
            if day is not None:
                out[key] = day.isoformat()
                out[f"{key}_th"] = format_thai_date(day)
        return out


@dataclass(frozen=True)
class SearchQuery:
    """One search: the words or number typed, the filters, and which page."""

    text: str = ""
    filters: SearchFilters = field(default_factory=SearchFilters)
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def __post_init__(self) -> None:
        if len(self.text) > MAX_QUERY_CHARS:
            raise _bad(
                f"the query is longer than {MAX_QUERY_CHARS} characters",
                "query_too_long",
                f"คำค้นยาวเกิน {MAX_QUERY_CHARS} ตัวอักษร",
            )
        if len(self.text.split()) > MAX_TERMS:
            raise _bad(
                f"the query has more than {MAX_TERMS} words",
                "query_too_long",
                f"คำค้นมีได้ไม่เกิน {MAX_TERMS} คำ",
            )
        if self.page < 1:
            raise _bad("page starts at 1", "bad_page", "หน้าต้องเริ่มที่ 1")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise _bad(
                f"per_page must be 1-{MAX_PER_PAGE}",
                "bad_per_page",
                f"จำนวนรายการต่อหน้าต้องอยู่ระหว่าง 1 ถึง {MAX_PER_PAGE}",
            )
        if self.offset > MAX_OFFSET:
            raise _bad(
                f"results beyond {MAX_OFFSET} are not listed; narrow the search",
                "page_too_deep",
                "ผลการค้นหามากเกินกว่าจะแสดงหน้านี้ กรุณาระบุคำค้นหรือเงื่อนไขเพิ่ม",
            )

    @property
    def offset(self) -> int:
        """How many results come before this page."""
        return (self.page - 1) * self.per_page

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> SearchQuery:
        """Read ``q``, the filters, ``page`` and ``per_page`` of the search API."""
        unknown = sorted(set(params) - _PARAMS)
        if unknown:
            raise _bad(
                f"unknown search parameter(s): {', '.join(unknown)}",
                "bad_parameter",
                f"ไม่รู้จักเงื่อนไขการค้นหา: {', '.join(unknown)}",
            )

        def text(name: str) -> str:
            return normalize_thai(params.get(name) or "").strip()

        def number(name: str, default: int) -> int:
            raw = (params.get(name) or "").strip()
            if not raw:
                return default
            if not raw.isascii() or not raw.isdigit():
                raise _bad(f"{name} must be a whole number", f"bad_{name}", f"{name} ต้องเป็นตัวเลข")
            return int(raw)

        filters = SearchFilters(
            letter_type=text("type"),
            sub_type=text("sub_type"),
            speed=text("speed"),
            secrecy=text("secrecy"),
            series=text("series"),
            status=text("status"),
            direction=text("direction"),
            date_from=parse_search_date(text("from"), "from") if text("from") else None,
            date_to=parse_search_date(text("to"), "to") if text("to") else None,
        )
        return cls(
            text=params.get("q") or "",
            filters=filters,
            page=number("page", 1),
            per_page=number("per_page", DEFAULT_PER_PAGE),
        )

    def to_json(self) -> dict[str, Any]:
        """The query as it was understood."""
        return {
            "q": self.text,
            "filters": self.filters.to_json(),
            "page": self.page,
            "per_page": self.per_page,
        }


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
            "page": self.query.page,
            "per_page": self.query.per_page,
            "pages": self.pages,
            "has_next": self.has_next,
            "items": [hit.to_json() for hit in self.items],
        }


# -- reading the words -------------------------------------------------------------------

# Characters that may follow a two-character word in indexed text: with the space the
# index appends to every column, "ab" occurs exactly where some trigram "abX" does.
_FOLLOWERS = (
    [chr(c) for c in range(0x0E01, 0x0E3B)]
    + [chr(c) for c in range(0x0E3F, 0x0E5C)]
    + list("0123456789abcdefghijklmnopqrstuvwxyz")
    + list(" \n\r\t\u00a0.,;:/-()[]\"'!?%&+=_*#@")
)


def normalize_query(text: str) -> str:
    """A query as the index reads text: normalised Thai, Arabic digits, single spaces."""
    return fold_spaces(to_arabic_digits(normalize_thai(text or "")))


def _phrase(text: str) -> str:
    # Inside double quotes FTS5 takes every character literally; a quote is doubled.
    return '"' + text.replace('"', '""') + '"'


def _digit_forms(term: str) -> list[str]:
    """The word as typed (Arabic digits) and, if it has digits, with Thai digits."""
    thai = to_thai_digits(term)
    return [term] if thai == term else [term, thai]


def _term_expression(term: str) -> str:
    """One word as an FTS5 expression that matches wherever the word is a substring."""
    options: list[str] = []
    for form in _digit_forms(term):
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
class _Plan:
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


def plan_query(text: str) -> _Plan:
    """Read what a clerk typed: a letter number, or words to find."""
    norm = normalize_query(text)
    if not norm:
        return _Plan()
    receipt = str(int(norm)) if norm.isdigit() and len(norm) <= 7 else None
    try:
        number = parse_letter_number(norm)
    except BadLetterNumber:
        number = None
    if number is not None:
        key = number.search_key()
        return _Plan(match=f"numbers : {_phrase(key)}", number_key=key, whole_number=True)
    terms = tuple(norm.split())
    indexed = [t for t in terms if len(t) >= MIN_TERM_CHARS - 1]
    return _Plan(
        match=" AND ".join(_term_expression(t) for t in indexed) or None,
        terms=terms,
        single_chars=tuple(t for t in terms if len(t) < MIN_TERM_CHARS - 1),
        number_key=search_key(norm) if any(c.isdigit() for c in norm) else None,
        receipt_number=receipt,
    )


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _row_terms_sql(terms: Sequence[str]) -> tuple[str, list[Any]]:
    """Every word must appear in one of the row's short text columns."""
    clauses: list[str] = []
    params: list[Any] = []
    for term in terms:
        ors = []
        for form in _digit_forms(term):
            for col in _ROW_COLUMNS:
                ors.append(f"letters.{col} LIKE ? ESCAPE '\\'")
                params.append(_like(form))
        clauses.append("(" + " OR ".join(ors) + ")")
    return " AND ".join(clauses) or "1", params


def _subject_sql(terms: Sequence[str]) -> tuple[str, list[Any]]:
    """1 when the subject holds every word (in either digit form), else 0."""
    clauses: list[str] = []
    params: list[Any] = []
    for term in terms:
        forms = _digit_forms(term)
        clauses.append("(" + " OR ".join("instr(letters.subject, ?) > 0" for _ in forms) + ")")
        params += forms
    return " AND ".join(clauses) or "0", params


def _filter_sql(f: SearchFilters) -> tuple[str, list[Any]]:
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


# -- searching ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    """One page's ids out of the letters a pass found, and how they were counted."""

    ids: list[int]
    total: int
    total_exact: bool
    order: str
    recent_only: int | None = None


def search_letters(store: Store, viewer: Viewer, query: SearchQuery) -> SearchPage:
    """One page of the letters ``viewer`` may see that match ``query``, best first."""
    ensure_index(store)
    plan = plan_query(query.text)
    visible, visible_params = viewer.visible_sql("letters")
    filters, filter_params = _filter_sql(query.filters)
    where = f"{visible} AND {filters}"
    params = [*visible_params, *filter_params]

    exact = _exact_ids(store, plan, where, params)
    first = exact[query.offset : query.offset + query.per_page]
    offset = max(0, query.offset - len(exact))
    limit = query.per_page - len(first)
    if exact:
        where += f" AND letters.id NOT IN ({', '.join('?' for _ in exact)})"
        params += exact
    if plan.whole_number and exact:
        found = _Found([], 0, True, "number")
    elif plan.match is not None:
        singles, single_params = _row_terms_sql(plan.single_chars)
        where, params = f"{where} AND {singles}", [*params, *single_params]
        bounds, bound_params = _date_bounds(store, query.filters)
        where, params = f"{where} AND {bounds}", [*params, *bound_params]
        found = _index_pass(store, plan, where, params, offset, limit)
    else:
        found = _row_pass(store, plan, where, params, offset, limit)
    return SearchPage(
        query=query,
        items=_hits(store, plan, [*first, *found.ids], set(exact)),
        total=len(exact) + found.total,
        total_exact=found.total_exact,
        order=found.order,
        recent_only=found.recent_only,
    )


def _exact_ids(store: Store, plan: _Plan, where: str, params: list[Any]) -> list[int]:
    """Letters whose number or receipt number is exactly the one typed, newest first."""
    if plan.number_key is None and plan.receipt_number is None:
        return []
    # Both fragments come from this module; values are parameters.
    sql = (
        "SELECT letters.id FROM letters "  # noqa: S608
        "WHERE (letters.number_key = ? OR letters.receipt_number = ?) "
        f"AND {where} ORDER BY letters.id DESC LIMIT ?"
    )
    rows = store.conn.execute(sql, [plan.number_key, plan.receipt_number, *params, EXACT_LIMIT])
    return [int(r[0]) for r in rows]


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
    store: Store, plan: _Plan, where: str, params: list[Any], offset: int, limit: int
) -> _Found:
    """Matches in the trigram index, walked once newest first (rowid = -letters.id)."""
    subject, subject_params = _subject_sql(plan.terms)
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
    if offset + limit <= len(rows):
        page = [i for i, _ in rows[offset : offset + limit]]
    else:  # a page past the matches counted: walk on to it
        page = [int(r[0]) for r in store.conn.execute(sql, [*args, limit, offset])]
    return _Found(page, COUNT_LIMIT, False, "newest")


def _row_pass(
    store: Store, plan: _Plan, where: str, params: list[Any], offset: int, limit: int
) -> _Found:
    """Without index words: one-character words on the newest letters, or filters alone."""
    recent_only = None
    order = "browse"
    if plan.single_chars:
        order = "newest"
        words, word_params = _row_terms_sql(plan.single_chars)
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
    if offset + limit <= len(ids):
        page = ids[offset : offset + limit]
    else:
        page = [int(r[0]) for r in store.conn.execute(sql, [*params, limit, offset])]
    return _Found(page, COUNT_LIMIT, False, order, recent_only)


def _hits(store: Store, plan: _Plan, ids: list[int], exact: set[int]) -> list[SearchHit]:
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
            for form in _digit_forms(term):
                at = text.find(form)
                if at < 0:
                    continue
                start, end = max(0, at - SNIPPET_CONTEXT), at + len(form) + SNIPPET_CONTEXT
                before = ("…" if start else "") + text[start:at]
                after = text[at + len(form) : end].rstrip() + ("…" if end < len(text) else "")
                return f"{before}[{form}]{after}"
    return None


# -- the index ---------------------------------------------------------------------------

_FTS_COLUMNS = "subject, numbers, parties, body, files"


def reindex(store: Store) -> int:
    """Rebuild the whole index from the letters and the extracted text; return letters."""
    with store.transaction():
        store.execute("DELETE FROM letter_attachments")
        store.execute(
            "INSERT OR IGNORE INTO letter_attachments (sha256, letter) "
            "SELECT sha256, letter FROM letter_attachment_refs"
        )
        store.execute("DELETE FROM letter_fts")
        store.execute(
            f"INSERT INTO letter_fts (rowid, {_FTS_COLUMNS}) "  # noqa: S608
            f"SELECT -id, {_FTS_COLUMNS} FROM letter_search_docs"
        )
        # One segment answers queries fastest; merging is cheap right after a rebuild.
        store.execute("INSERT INTO letter_fts (letter_fts) VALUES ('optimize')")
        store.set_setting("search_index", INDEX_VERSION)
        count = int(store.scalar("SELECT COUNT(*) FROM letters") or 0)
    return count


def ensure_index(store: Store) -> None:
    """Index every letter once if this database predates search (or an older index)."""
    if store.get_setting("search_index") == INDEX_VERSION:
        return
    with store.transaction():
        # Another process may have rebuilt it while this one waited for the lock.
        if store.get_setting("search_index") == INDEX_VERSION:
            return
        log.info("building the search index of %s", store.path.name)
        reindex(store)


# -- text of attached PDFs ---------------------------------------------------------------


class AttachmentBytes(Protocol):
    """An attachment as a clerk gives it (see :class:`node.letters.NewAttachment`)."""

    @property
    def name(self) -> str: ...

    @property
    def media_type(self) -> str: ...

    @property
    def content(self) -> bytes: ...


@dataclass(frozen=True)
class ExtractedText:
    """Text read from one attachment, and why there is none when there is none."""

    text: str
    pages: int = 0
    note: str | None = None


def is_pdf(media_type: str | None, content: bytes) -> bool:
    """Whether bytes are a PDF, by media type or by the ``%PDF`` signature."""
    return (media_type or "").lower() in PDF_MEDIA_TYPES or content[:1024].lstrip().startswith(
        b"%PDF"
    )


def _clean_extracted(text: str) -> str:
    # Fonts map some shaped Thai glyphs (SARA AM's ligature) to control or private-use
    # code points; left in, they would split "อำเภอ" into "อำ\x16เภอ" and hide the word.
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Co", "Cs")
    )
    return fold_spaces(normalize_thai(kept))


def extract_pdf_text(content: bytes) -> ExtractedText:
    """Text of a PDF's first :data:`PDF_MAX_PAGES` pages, normalised, at most
    :data:`PDF_MAX_CHARS` characters. A PDF that cannot be read gives no text and a note,
    never an error: the letter is kept and found by its other fields.
    """
    from pypdf import PdfReader

    pages = 0
    parts: list[str] = []
    size = 0
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            return ExtractedText("", 0, "encrypted")
        for page in reader.pages[:PDF_MAX_PAGES]:
            pages += 1
            text = _clean_extracted(page.extract_text() or "")
            if text:
                parts.append(text)
                size += len(text) + 1
            if size >= PDF_MAX_CHARS:
                break
    # pypdf raises many kinds of error on damaged files; any of them only means "no text".
    except Exception as e:
        log.info("cannot read text from a PDF attachment: %s: %s", type(e).__name__, e)
        return ExtractedText(" ".join(parts)[:PDF_MAX_CHARS], pages, f"unreadable: {e}"[:200])
    return ExtractedText(" ".join(parts)[:PDF_MAX_CHARS], pages)


def _save_text(store: Store, sha256: str, extracted: ExtractedText, now: float) -> None:
    """Keep the text of one attachment; the triggers refresh every letter listing it."""
    with store.transaction():
        store.execute(
            "INSERT INTO attachment_text (sha256, text, pages, note, extracted_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET text = excluded.text, "
            "pages = excluded.pages, note = excluded.note, extracted_at = excluded.extracted_at",
            (sha256, extracted.text, extracted.pages, extracted.note, now),
        )


def _has_text(store: Store, sha256: str) -> bool:
    return bool(store.scalar("SELECT 1 FROM attachment_text WHERE sha256 = ?", (sha256,)))


# Text read from PDFs a clerk just attached, by SHA-256, until the transaction that records
# the attachment keeps it (keep_prepared_text). Reading happens before that transaction
# where the caller allows, so a long PDF does not hold the database's write lock; the few
# entries whose letter was never written are dropped oldest first.
_PREPARED: OrderedDict[str, ExtractedText] = OrderedDict()
_PREPARED_MAX = 32
_PREPARED_LOCK = threading.Lock()  # the server handles requests in several threads


def prepare_attachment_text(files: Iterable[AttachmentBytes]) -> None:
    """Read the text of the PDFs among attachments a clerk gives (send, draft, paper
    letter), to be kept by :func:`keep_prepared_text` when the letter is written."""
    for f in files:
        if is_pdf(f.media_type, f.content):
            sha = hashlib.sha256(f.content).hexdigest()
            extracted = extract_pdf_text(f.content)
            with _PREPARED_LOCK:
                _PREPARED[sha] = extracted
                _PREPARED.move_to_end(sha)
                while len(_PREPARED) > _PREPARED_MAX:
                    _PREPARED.popitem(last=False)


def keep_prepared_text(store: Store, sha256: str) -> None:
    """Inside the transaction that records an attachment: keep its prepared text, which
    the triggers add to the index of every letter listing it."""
    with _PREPARED_LOCK:
        extracted = _PREPARED.pop(sha256, None)
    if extracted is not None:
        _save_text(store, sha256, extracted, time.time())


def index_blob(ctx: NodeContext, store: Store, sha256: str) -> bool:
    """Extract the text of a blob that just became present (downloaded from the hub) and
    refresh the letters that list it; True if text was read from a PDF."""
    if _has_text(store, sha256):
        return False
    from .blobs import blob_path  # blobs calls keep_prepared_text: import at use

    media = store.scalar("SELECT media_type FROM attachments WHERE sha256 = ?", (sha256,))
    path = blob_path(ctx.blob_dir(), sha256)
    try:
        with path.open("rb") as f:
            head = f.read(1024)
            pdf = is_pdf(media, head)
            content = head + f.read() if pdf else b""
    except OSError as e:
        log.info("attachment %s is not readable: %s", sha256[:12], e)
        return False
    # A row for every present blob, text or not, so the nightly catch-up reads each once.
    extracted = extract_pdf_text(content) if pdf else ExtractedText("", 0, "not a PDF")
    _save_text(store, sha256, extracted, ctx.now())
    return pdf


def extract_missing(ctx: NodeContext) -> int:
    """Extract every present PDF attachment that has no text yet (the nightly job's
    catch-up after a restore or an interrupted download); return how many were read."""
    done = 0
    with ctx.open_store() as store:
        for row in store.query(
            "SELECT sha256 FROM attachments WHERE present = 1 "
            "AND sha256 NOT IN (SELECT sha256 FROM attachment_text)"
        ):
            if index_blob(ctx, store, row["sha256"]):
                done += 1
    return done
