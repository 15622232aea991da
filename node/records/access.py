"""Who is looking: the viewer of a letter list, a search or a letter, and what they may see.

A classified letter (ลับ, ลับมาก, ลับที่สุด) is handled by the registrar of classified
letters (นายทะเบียน) and the registrar's assistants, and opened only by those entitled: the
person or division it was assigned to. Everyone else sees neither it nor its subject.

The local API takes the viewer from headers set by the trusted caller (the clerk UI after
login, the CLI as the node's operator); the accounts behind them live with the clerk UI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES: dict[str, str] = {
    "clerk": "เจ้าหน้าที่สารบรรณ",
    "officer": "ผู้ปฏิบัติงาน",
    "executive": "ผู้บังคับบัญชา",
    "registrar": "นายทะเบียนหนังสือลับ",
    "registrar_assistant": "ผู้ช่วยนายทะเบียนหนังสือลับ",
    "admin": "ผู้ดูแลระบบ",
}
"""Role codes and their Thai titles."""

CLASSIFIED_ROLES = frozenset({"registrar", "registrar_assistant"})
"""Roles that handle every classified letter of the office."""

_DESK = frozenset({"clerk", "registrar", "registrar_assistant"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "receive": _DESK,  # ลงรับ, ส่งคืน, ลงรับหนังสือกระดาษ, สำเนาประทับตรารับ
    "receive_classified": CLASSIFIED_ROLES,  # a classified paper letter goes to the ลับ register
    "compose": _DESK | {"officer", "executive"},  # write and keep drafts
    "send": _DESK,  # ออกเลข and dispatch
    "minute": frozenset({"executive"}),  # เกษียน
    "assign": frozenset({"executive"}),  # มอบหมาย
    "forward": _DESK | {"officer", "executive"},  # ส่งต่อ
    "done": _DESK | {"officer", "executive"},  # ดำเนินการแล้ว
    "keep": _DESK,  # จัดเก็บ with a retention period
    "registers": _DESK | {"executive", "admin"},  # print and export registers
    "retention": _DESK | {"admin"},  # retention, loans and destruction lists
    "admin": frozenset({"admin"}),  # users, unit codes, registers
}
"""What each role may do on the clerk's pages: action -> the roles allowed."""


@dataclass(frozen=True)
class Viewer:
    """A user of this node: name, roles and the divisions they belong to."""

    user: str
    roles: frozenset[str] = field(default_factory=frozenset)
    divisions: frozenset[str] = field(default_factory=frozenset)

    @property
    def sees_all_classified(self) -> bool:
        """Whether this user handles every classified letter (registrar and assistants)."""
        return bool(self.roles & CLASSIFIED_ROLES)

    def may(self, action: str) -> bool:
        """Whether this user's roles allow ``action`` (a key of :data:`PERMISSIONS`)."""
        return bool(self.roles & PERMISSIONS[action])

    def may_open(self, letter: dict[str, Any]) -> bool:
        """Whether this user may see the letter ``letter`` (a ``letters`` row)."""
        if not letter.get("secrecy") or self.sees_all_classified:
            return True
        return letter.get("assigned_to") in ({self.user} | set(self.divisions))

    def visible_sql(self, alias: str = "letters") -> tuple[str, list[Any]]:
        """A WHERE fragment (and its parameters) keeping only letters this user may see."""
        if self.sees_all_classified:
            return "1", []
        holders = [self.user, *sorted(self.divisions)]
        marks = ", ".join("?" for _ in holders)
        return (
            f"(COALESCE({alias}.secrecy, '') = '' OR {alias}.assigned_to IN ({marks}))",
            holders,
        )


OPERATOR = Viewer("operator", frozenset({"admin", "registrar"}))
"""The node's operator at the command line: the holder of the API token and the keys."""


def viewer_from_headers(user: str | None, roles: str | None, divisions: str | None) -> Viewer:
    """A viewer from the ``X-Saraban-User``/``-Roles``/``-Divisions`` headers.

    Without a user header the caller is the node's operator (the CLI holding the token).
    Unknown role names are dropped rather than trusted.
    """
    if not user:
        return OPERATOR
    role_set = frozenset(r.strip() for r in (roles or "").split(",") if r.strip() in ROLES)
    division_set = frozenset(d.strip() for d in (divisions or "").split(",") if d.strip())
    return Viewer(user.strip()[:100], role_set, division_set)
