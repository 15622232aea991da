"""What a letter search asks for: the words typed, the filters and the page, validated.

Does: read the search API's parameters (:meth:`SearchQuery.from_params`), dates as a clerk
types them (:func:`parse_search_date`), and refuse what cannot be searched (an unknown
parameter, kind, speed, secrecy, register series or status, a bad date or date range, a
query too long, a page out of range) with a :class:`~node.errors.BadInput` carrying a Thai
message.

Does not: touch the database, read the words into an index expression
(:mod:`node.search.plan`, with the rules the hub shares in :mod:`protocol.search_terms`)
or run the search (:mod:`node.search.engine`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from node.errors import BadInput
from node.records.workflow import STAGE_TITLES
from protocol.errors import BadMessage
from protocol.lettertypes import LETTER_TYPES, SECRECY_CLASSES, SPEED_CLASSES, SUB_TYPES
from protocol.numbers import RegisterKey, Series
from protocol.search_terms import SearchRefused, read_search_date
from protocol.thai import format_thai_date, normalize_thai

MAX_QUERY_CHARS = 200
MAX_TERMS = 10
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_OFFSET = 10_000
"""Deepest result a page may start at; beyond it the clerk should narrow the search."""

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
    """A date as a clerk types it in a search (:func:`protocol.search_terms.read_search_date`:
    ``1/11/2569``, ``1 พ.ย. 2569``, ISO); :class:`BadInput` with a Thai message."""
    try:
        return read_search_date(text, what)
    except SearchRefused as e:
        raise _bad(e.reason, e.code, e.message_th) from e


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
