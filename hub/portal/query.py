"""What a portal search asks for: the words, a letter number, the filters and the page.

Does: read a search's parameters as a person types them (:meth:`PortalQuery.from_params`):
words (Thai or Arabic digits, any spacing), a letter number, a Buddhist-era date range
(``1 ธ.ค. 69``, ``1/12/2569``, ``1 ธันวาคม 2569``: :func:`protocol.search_terms.read_search_date`),
sender and recipient offices (``ชม0017`` or ``ชม 0017``), kind, speed and page; refuse what
cannot be searched with :class:`PortalQueryError`: a code, an English reason and the Thai
message a person reads.

Does not: search (:mod:`hub.portal.search`), read the words into an index expression
(:mod:`protocol.search_terms`) or know who is asking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from hub.errors import HubError
from protocol.errors import BadLetterNumber, BadMessage
from protocol.lettertypes import LETTER_TYPES, SPEED_CLASSES
from protocol.limits import MAX_NUMBER_TEXT
from protocol.numbers import parse_unit_code
from protocol.search_terms import SearchRefused, normalize_query, read_search_date
from protocol.thai import format_thai_date, normalize_thai

MAX_QUERY_CHARS = 200
MAX_TERMS = 10
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_OFFSET = 10_000
"""Deepest result a page may start at; beyond it the search should be narrowed."""
PARAMS = frozenset(
    {"q", "number", "from", "to", "sender", "recipient", "type", "speed", "page", "per_page"}
)
"""The parameters :meth:`PortalQuery.from_params` reads."""


class PortalQueryError(HubError):
    """A search the portal cannot run: an English reason, a code and a Thai message."""

    def __init__(self, reason: str, code: str, message_th: str) -> None:
        super().__init__(reason, code=code, status=400)
        self.message_th = message_th


def _refuse(reason: str, code: str, message_th: str) -> PortalQueryError:
    return PortalQueryError(reason, code, message_th)


def _office(value: str, what: str, name_th: str) -> str:
    if not value:
        return ""
    try:
        return parse_unit_code(value)
    except (BadLetterNumber, BadMessage) as e:
        raise _refuse(
            f"{what} {value!r} is not an office code", f"bad_{what}",
            f"{name_th} '{value}' ไม่ใช่รหัสหน่วยงาน (ตัวอย่าง: ชม 0017)",
        ) from e  # fmt: skip


@dataclass(frozen=True)
class PortalQuery:
    """One search: the words, a letter number, the filters and which page."""

    text: str = ""
    number: str = ""
    date_from: date | None = None
    date_to: date | None = None
    sender: str = ""
    recipient: str = ""
    letter_type: str = ""
    speed: str = ""
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def __post_init__(self) -> None:
        if len(self.text) > MAX_QUERY_CHARS:
            raise _refuse(
                f"the query is longer than {MAX_QUERY_CHARS} characters",
                "query_too_long",
                f"คำค้นยาวเกิน {MAX_QUERY_CHARS} ตัวอักษร",
            )
        if len(self.text.split()) > MAX_TERMS:
            raise _refuse(
                f"the query has more than {MAX_TERMS} words",
                "query_too_long",
                f"คำค้นมีได้ไม่เกิน {MAX_TERMS} คำ",
            )
        if len(self.number) > MAX_NUMBER_TEXT or (
            self.number and not any(c.isdigit() for c in normalize_query(self.number))
        ):
            raise _refuse(
                "a letter number has digits and at most"
                f" {MAX_NUMBER_TEXT} characters: {self.number[:40]!r}",
                "bad_number",
                "เลขที่หนังสือต้องมีตัวเลข (ตัวอย่าง: ชม 0017.3/ว 456)",
            )
        if self.letter_type and self.letter_type not in LETTER_TYPES:
            raise _refuse(
                f"unknown type {self.letter_type!r}",
                "bad_type",
                f"ไม่รู้จักชนิดหนังสือ '{self.letter_type}' (เลือกได้: {', '.join(LETTER_TYPES)})",
            )
        speeds = [s for s in SPEED_CLASSES if s]
        if self.speed and self.speed not in speeds:
            raise _refuse(
                f"unknown speed {self.speed!r}",
                "bad_speed",
                f"ไม่รู้จักชั้นความเร็ว '{self.speed}' (เลือกได้: {', '.join(speeds)})",
            )
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise _refuse(
                "the date range ends before it starts",
                "bad_date_range",
                "วันที่เริ่มต้นต้องไม่อยู่หลังวันที่สิ้นสุด",
            )
        if self.page < 1:
            raise _refuse("page starts at 1", "bad_page", "หน้าต้องเริ่มที่ 1")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise _refuse(
                f"per_page must be 1-{MAX_PER_PAGE}",
                "bad_per_page",
                f"จำนวนรายการต่อหน้าต้องอยู่ระหว่าง 1 ถึง {MAX_PER_PAGE}",
            )
        if self.offset > MAX_OFFSET:
            raise _refuse(
                f"results beyond {MAX_OFFSET} are not listed; narrow the search",
                "page_too_deep",
                "ผลการค้นหามากเกินกว่าจะแสดงหน้านี้ กรุณาระบุคำค้นหรือเงื่อนไขเพิ่ม",
            )

    @property
    def offset(self) -> int:
        """How many results come before this page."""
        return (self.page - 1) * self.per_page

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> PortalQuery:
        """Read the search's parameters (:data:`PARAMS`) as typed."""
        unknown = sorted(set(params) - PARAMS)
        if unknown:
            raise _refuse(
                f"unknown search parameter(s): {', '.join(unknown)}",
                "bad_parameter",
                f"ไม่รู้จักเงื่อนไขการค้นหา: {', '.join(unknown)}",
            )

        def text(name: str) -> str:
            return normalize_thai(params.get(name) or "").strip()

        def whole(name: str, default: int) -> int:
            raw = normalize_query(text(name))
            if not raw:
                return default
            if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
                raise _refuse(f"{name} must be a whole number", f"bad_{name}", "หน้าต้องเป็นตัวเลข")
            return int(raw)

        def day(name: str) -> date | None:
            if not text(name):
                return None
            try:
                return read_search_date(text(name), name)
            except SearchRefused as e:
                raise _refuse(e.reason, e.code, e.message_th) from e

        return cls(
            text=params.get("q") or "",
            number=text("number"),
            date_from=day("from"),
            date_to=day("to"),
            sender=_office(text("sender"), "sender", "ผู้ส่ง"),
            recipient=_office(text("recipient"), "recipient", "ผู้รับ"),
            letter_type=text("type"),
            speed=text("speed"),
            page=whole("page", 1),
            per_page=whole("per_page", DEFAULT_PER_PAGE),
        )

    def to_json(self) -> dict[str, Any]:
        """The query as it was understood, dates also in Thai."""
        out: dict[str, Any] = {"q": self.text, "page": self.page, "per_page": self.per_page}
        for key, value in (
            ("number", self.number),
            ("sender", self.sender),
            ("recipient", self.recipient),
            ("type", self.letter_type),
            ("speed", self.speed),
        ):
            if value:
                out[key] = value
        for key, day in (("from", self.date_from), ("to", self.date_to)):
            if day is not None:
                out[key] = day.isoformat()
                out[f"{key}_th"] = format_thai_date(day)
        return out
