"""The kinds of official letter and their classes (ชนิดของหนังสือราชการ).

Does: the six letter types of the ระเบียบงานสารบรรณ with their sub-types, the speed and
secrecy classes, which register series a letter is numbered from by default, and the
check of a deadline for ด่วนภายใน. Values are the Thai words clerks use, so they travel
in envelopes and show in the UI unchanged.

Does not: number letters, store them or decide who may read a classified letter.
"""

from __future__ import annotations

from datetime import datetime

from .errors import BadMessage
from .numbers import Series

LETTER_TYPES: tuple[str, ...] = (
    "ภายนอก",
    "ภายใน",
    "ประทับตรา",
    "สั่งการ",
    "ประชาสัมพันธ์",
    "เจ้าหน้าที่ทำขึ้น",
)
"""The six types, by the short name used in envelopes and on screen."""

LETTER_TYPE_TITLES: dict[str, str] = {
    "ภายนอก": "หนังสือภายนอก",
    "ภายใน": "หนังสือภายใน (บันทึกข้อความ)",
    "ประทับตรา": "หนังสือประทับตรา",
    "สั่งการ": "หนังสือสั่งการ",
    "ประชาสัมพันธ์": "หนังสือประชาสัมพันธ์",
    "เจ้าหน้าที่ทำขึ้น": "หนังสือที่เจ้าหน้าที่ทำขึ้นหรือรับไว้เป็นหลักฐานในราชการ",
}

SUB_TYPES: dict[str, tuple[str, ...]] = {
    "ภายนอก": (),
    "ภายใน": (),
    "ประทับตรา": (),
    "สั่งการ": ("คำสั่ง", "ระเบียบ", "ข้อบังคับ"),
    "ประชาสัมพันธ์": ("ประกาศ", "แถลงการณ์", "ข่าว"),
    "เจ้าหน้าที่ทำขึ้น": ("หนังสือรับรอง", "รายงานการประชุม", "บันทึก", "หนังสืออื่น"),
}
"""Sub-types per type; a type with sub-types needs one of them."""

SPEED_CLASSES: tuple[str, ...] = ("", "ด่วน", "ด่วนมาก", "ด่วนที่สุด", "ด่วนภายใน")
"""ชั้นความเร็ว; ``""`` is none. ด่วนภายใน carries a deadline date and time."""

DEADLINE_SPEED = "ด่วนภายใน"

SECRECY_CLASSES: tuple[str, ...] = ("", "ลับ", "ลับมาก", "ลับที่สุด")
"""ชั้นความลับ; ``""`` is none. ลับที่สุด is never sent electronically."""

TOP_SECRET = "ลับที่สุด"  # noqa: S105 - a secrecy class, not a password

_SERIES_BY_SUB_TYPE = {"คำสั่ง": Series.ORDER, "ประกาศ": Series.ANNOUNCEMENT}
UNNUMBERED_SUB_TYPES: frozenset[str] = frozenset({"ระเบียบ", "ข้อบังคับ", "แถลงการณ์", "ข่าว"})
"""Instruments issued by date and title rather than from a numbering register."""


def check_type(letter_type: str, sub_type: str | None) -> None:
    """Raise :class:`BadMessage` unless the type is known and the sub-type belongs to it."""
    if letter_type not in SUB_TYPES:
        raise BadMessage(f"unknown letter type {letter_type!r}")
    allowed = SUB_TYPES[letter_type]
    if allowed and sub_type not in allowed:
        raise BadMessage(f"a {letter_type} letter needs one of the sub-types {', '.join(allowed)}")
    if not allowed and sub_type:
        raise BadMessage(f"a {letter_type} letter has no sub-type")


def check_deadline(speed: str, deadline: str | None) -> None:
    """ด่วนภายใน needs an ISO 8601 deadline with its time zone; other classes may omit it."""
    if deadline is None:
        if speed == DEADLINE_SPEED:
            raise BadMessage("ด่วนภายใน needs a deadline date and time")
        return
    try:
        moment = datetime.fromisoformat(deadline)
    except ValueError as e:
        raise BadMessage(f"deadline {deadline!r} is not an ISO 8601 date and time") from e
    if moment.tzinfo is None:
        raise BadMessage("a deadline needs its time zone (e.g. +07:00)")


def default_series(letter_type: str, sub_type: str | None, circular: bool) -> Series | None:
    """The register a letter of this kind is numbered from, or None if it takes no number."""
    if sub_type in _SERIES_BY_SUB_TYPE:
        return _SERIES_BY_SUB_TYPE[sub_type]
    if sub_type in UNNUMBERED_SUB_TYPES:
        return None
    return Series.CIRCULAR if circular else Series.OUTGOING
