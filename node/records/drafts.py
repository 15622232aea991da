"""Drafts of outgoing letters (ร่างหนังสือ): what the clerk writes, checked before it is kept.

:class:`Draft` holds every field of an official letter (DOMAIN.md); :func:`check_draft`
refuses a draft that could not become a valid letter (kind and sub-type, speed and
deadline, secrecy, unit, series, recipients known to the directory) before anything is
stored. :func:`create_draft` and :func:`update_draft` keep it; nothing leaves the office and
no number is taken. Numbering and dispatch are in :mod:`node.records.outgoing`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from node.context import NodeContext
from node.errors import BadInput, Conflict, NotFound
from node.records import registers
from node.records.directory import require_trusted
from node.records.letters import NewAttachment, record_attachment, save_attachments
from node.records.units import require_unit
from node.storage import audit
from node.storage.store import Store
from protocol.errors import BadMessage
from protocol.lettertypes import (
    DEADLINE_SPEED,
    LETTER_TYPES,
    SECRECY_CLASSES,
    SPEED_CLASSES,
    SUB_TYPES,
    check_deadline,
    default_series,
)
from protocol.numbers import Series
from protocol.thai import normalize_thai

DRAFT_STATES = ("draft", "numbered")


def bad(reason: str, code: str, message_th: str) -> BadInput:
    """A :class:`BadInput` from its three parts."""
    return BadInput(reason, code=code, message_th=message_th)


@dataclass
class Draft:
    """What the clerk writes: every field of an official letter (DOMAIN.md)."""

    subject: str = ""
    letter_type: str = "ภายนอก"
    sub_type: str | None = None
    speed: str = ""
    secrecy: str = ""
    deadline: str | None = None
    salutation: str = ""
    """เรียน (or ถึง for an internal memo) and the addressee's title."""
    sender: str = ""
    """จาก: the signer or unit the letter is from."""
    body: str = ""
    references: list[str] = field(default_factory=list)
    """อ้างถึง."""
    enclosures: list[str] = field(default_factory=list)
    """สิ่งที่ส่งมาด้วย."""
    recipients: list[str] = field(default_factory=list)
    """Office ids reached through the hub."""
    lists: list[str] = field(default_factory=list)
    """Distribution lists (หนังสือเวียน), expanded at dispatch."""
    parties: list[str] = field(default_factory=list)
    """Addressees outside the federation, reached on paper."""
    unit: str | None = None
    """The owning unit whose register numbers the letter (default: the office)."""
    series: str | None = None
    """Register series; default from the letter's kind (see lettertypes.default_series)."""
    library: bool = False
    """Published in the ministry's library at the portal (ADR 0024): ``"library": true`` in
    the signed letter. Circulars, orders and regulations only, never a classified letter."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        """From the API's JSON object; unknown keys are ignored, wrong types refused."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data or data[f.name] is None:
                continue
            value = data[f.name]
            is_list = f.name in ("references", "enclosures", "recipients", "lists", "parties")
            if f.name == "library":
                if not isinstance(value, bool):
                    raise bad(
                        "library must be true or false", "bad_field", "ช่อง library มีรูปแบบไม่ถูกต้อง"
                    )
                kwargs[f.name] = value
                continue
            if is_list:
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            else:
                ok = isinstance(value, str)
            if not ok:
                kind = "a list of text" if is_list else "text"
                raise bad(f"{f.name} must be {kind}", "bad_field", f"ช่อง {f.name} มีรูปแบบไม่ถูกต้อง")
            kwargs[f.name] = value
        return cls(**kwargs)

    def cleaned(self) -> Draft:
        """A copy with Thai text normalised and blanks trimmed."""

        def text(v: str) -> str:
            return normalize_thai(v or "").strip()

        def texts(vs: Sequence[str]) -> list[str]:
            return [t for t in (text(v) for v in vs) if t]

        return Draft(
            subject=text(self.subject),
            letter_type=self.letter_type,
            sub_type=self.sub_type or None,
            speed=self.speed or "",
            secrecy=self.secrecy or "",
            deadline=(self.deadline or "").strip() or None,
            salutation=text(self.salutation),
            sender=text(self.sender),
            body=normalize_thai(self.body or ""),
            references=texts(self.references),
            enclosures=texts(self.enclosures),
            recipients=[r.strip() for r in self.recipients if r.strip()],
            lists=[n.strip() for n in self.lists if n.strip()],
            parties=texts(self.parties),
            unit=normalize_thai(self.unit or "").strip() or None,
            series=(self.series or "").strip() or None,
            library=self.library,
        )


def _check_choice(value: str, allowed: Sequence[str], what: str, what_th: str) -> None:
    if value not in allowed:
        raise bad(
            f"unknown {what} {value!r}",
            f"bad_{what.replace(' ', '_')}",
            f"{what_th}ไม่ถูกต้อง: {value}",
        )


def check_draft(ctx: NodeContext, store: Store, d: Draft) -> Draft:
    """Everything a draft must satisfy before it is stored; raise BadInput otherwise.

    Returns the draft with its unit code in canonical form.
    """
    if not d.subject:
        raise bad("a letter needs a subject", "subject_required", "กรุณาระบุเรื่อง")
    _check_choice(d.letter_type, LETTER_TYPES, "letter type", "ชนิดหนังสือ")
    allowed = SUB_TYPES[d.letter_type]
    if allowed and d.sub_type not in allowed:
        raise bad(
            f"a {d.letter_type} letter needs a sub-type ({', '.join(allowed)})",
            "sub_type_required",
            f"หนังสือ{d.letter_type}ต้องระบุประเภทย่อย: {' '.join(allowed)}",
        )
    if not allowed and d.sub_type:
        raise bad(
            f"a {d.letter_type} letter has no sub-type",
            "bad_sub_type",
            f"หนังสือ{d.letter_type}ไม่มีประเภทย่อย",
        )
    _check_choice(d.speed, SPEED_CLASSES, "speed", "ชั้นความเร็ว")
    _check_choice(d.secrecy, SECRECY_CLASSES, "secrecy", "ชั้นความลับ")
    try:
        check_deadline(d.speed, d.deadline)
    except BadMessage as e:
        raise bad(
            str(e),
            "bad_deadline",
            f"หนังสือ{DEADLINE_SPEED}ต้องระบุวันและเวลาที่ต้องดำเนินการให้แล้วเสร็จ "
            "(เช่น 2026-11-25T16:00+07:00)",
        ) from e
    if d.unit is not None:
        d = replace(d, unit=require_unit(ctx, store, d.unit)["code"])
    if d.series is not None:
        series = registers.parse_series(d.series)
        if series in (Series.RECEIPT, Series.CLASSIFIED):
            raise bad(
                "letters are not numbered from a receipt register",
                "bad_series",
                "ไม่สามารถออกเลขหนังสือส่งจากทะเบียนรับ",
            )
    if d.library:
        check_library(d)
    if ctx.office in d.recipients:
        raise bad(
            "an office does not send a letter to itself",
            "self_recipient",
            "ไม่สามารถส่งหนังสือถึงหน่วยงานของตนเอง",
        )
    if d.recipients or d.lists:
        expand_recipients(ctx, store, d)
    return d


LIBRARY_SUB_TYPES = frozenset({"คำสั่ง", "ระเบียบ", "ข้อบังคับ"})
"""Sub-types that may go to the ministry's library besides circulars."""


def check_library(d: Draft) -> None:
    """Refuse a letter marked for the ministry's library that is not a circular, an order
    or a regulation, or that is classified."""
    if d.secrecy:
        raise bad(
            "a classified letter is never published in the library",
            "bad_library",
            "หนังสือชั้นความลับเผยแพร่ในคลังหนังสือของกระทรวงไม่ได้",
        )
    circular = bool(d.lists) or series_of(d) is Series.CIRCULAR
    if not circular and d.sub_type not in LIBRARY_SUB_TYPES:
        raise bad(
            "only circulars, orders and regulations are published in the library",
            "bad_library",
            "เผยแพร่ในคลังหนังสือของกระทรวงได้เฉพาะหนังสือเวียน คำสั่ง และระเบียบ",
        )


def expand_recipients(ctx: NodeContext, store: Store, d: Draft) -> list[str]:
    trusted = require_trusted(store)
    try:
        expanded = trusted.expand(d.recipients, d.lists)
    except BadMessage as e:
        raise bad(str(e), "unknown_recipient", "ไม่พบหน่วยงานหรือบัญชีรายชื่อผู้รับในทะเบียนกลาง") from e
    return [r for r in expanded if r != ctx.office]


def series_of(d: Draft) -> Series | None:
    if d.series:
        return registers.parse_series(d.series)
    return default_series(d.letter_type, d.sub_type, circular=bool(d.lists))


def draft_columns(d: Draft) -> dict[str, Any]:
    return {
        "subject": d.subject,
        "letter_type": d.letter_type,
        "sub_type": d.sub_type,
        "speed": d.speed,
        "secrecy": d.secrecy,
        "deadline": d.deadline,
        "salutation": d.salutation,
        "sender": d.sender,
        "body": d.body,
        "refs": json.dumps(d.references, ensure_ascii=False),
        "enclosures": json.dumps(d.enclosures, ensure_ascii=False),
        "recipients": json.dumps(d.recipients, ensure_ascii=False),
        "lists": json.dumps(d.lists, ensure_ascii=False),
        "parties": json.dumps(d.parties, ensure_ascii=False),
        "unit": d.unit,
        "register": d.series,
        "library": int(d.library),
    }


def create_draft(
    ctx: NodeContext,
    store: Store,
    draft: Draft,
    attachments: Iterable[NewAttachment] = (),
    actor: str = "clerk",
) -> dict[str, Any]:
    """Keep a new draft (ร่างหนังสือ); return ``{id, state}``."""
    d = check_draft(ctx, store, draft.cleaned())
    metas = save_attachments(ctx, attachments)
    now = ctx.now()
    with store.transaction():
        letter_id = store.insert(
            "letters",
            {
                "direction": "out",
                "origin": ctx.office,
                "state": "draft",
                "stage": "draft",
                "created_at": now,
                "updated_at": now,
                "attachments": json.dumps([a.to_dict() for a in metas], ensure_ascii=False),
                **draft_columns(d),
            },
        )
        for meta in metas:
            # A classified letter's files leave the office only as ciphertext (ADR 0022).
            direction = "local" if d.secrecy else "out"
            record_attachment(store, meta, present=True, direction=direction)
        audit.record(
            store,
            now,
            actor,
            "create_draft",
            f"letter:{letter_id}",
            {} if d.secrecy else {"subject": d.subject},
        )
    return {"id": letter_id, "state": "draft"}


def own_draft(store: Store, letter_id: int) -> dict[str, Any]:
    row = store.one("SELECT * FROM letters WHERE id = ? AND direction = 'out'", (letter_id,))
    if row is None:
        raise NotFound(f"no letter {letter_id} of this office", message_th="ไม่พบหนังสือส่ง")
    if row["state"] not in DRAFT_STATES:
        raise Conflict(
            f"letter {letter_id} was already dispatched",
            message_th="หนังสือนี้ส่งออกแล้ว ไม่สามารถแก้ไขได้",
        )
    return row


def draft_of(row: dict[str, Any]) -> Draft:
    return Draft(
        subject=row["subject"] or "",
        letter_type=row["letter_type"] or "ภายนอก",
        sub_type=row["sub_type"],
        speed=row["speed"] or "",
        secrecy=row["secrecy"] or "",
        deadline=row["deadline"],
        salutation=row["salutation"] or "",
        sender=row["sender"] or "",
        body=row["body"] or "",
        references=json.loads(row["refs"] or "[]"),
        enclosures=json.loads(row["enclosures"] or "[]"),
        recipients=json.loads(row["recipients"] or "[]"),
        lists=json.loads(row["lists"] or "[]"),
        parties=json.loads(row["parties"] or "[]"),
        unit=row["unit"],
        series=row["register"] if row["state"] == "draft" else None,
        library=bool(row.get("library")),
    )


def update_draft(
    ctx: NodeContext, store: Store, letter_id: int, changes: dict[str, Any], actor: str = "clerk"
) -> dict[str, Any]:
    """Change fields of a draft. After ออกเลข the kind, unit and series are fixed."""
    now = ctx.now()
    with store.transaction():
        row = own_draft(store, letter_id)
        current = draft_of(row)
        merged = check_draft(ctx, store, Draft.from_json({**current.__dict__, **changes}).cleaned())
        # The number was issued for this kind, unit, series and secrecy (its register entry
        # carried the subject unless classified), so those are fixed from then on.
        fixed = ("letter_type", "sub_type", "unit", "series", "secrecy", "lists")
        if row["state"] == "numbered" and any(
            k in changes and getattr(merged, k) != getattr(current, k) for k in fixed
        ):
            raise Conflict(
                "the kind, unit, register, secrecy and lists are fixed once the number is issued",
                message_th="ออกเลขแล้ว ไม่สามารถเปลี่ยนชนิดหนังสือ หน่วยงาน ทะเบียน ชั้นความลับ หรือบัญชีผู้รับได้",
            )
        columns = draft_columns(merged)
        if row["state"] == "numbered":
            columns.pop("register")
        sets = ", ".join(f"{c} = ?" for c in columns)
        # Column names come from _draft_columns, never from input.
        store.execute(
            f"UPDATE letters SET {sets}, updated_at = ? WHERE id = ?",  # noqa: S608
            [*columns.values(), now, letter_id],
        )
        audit.record(
            store, now, actor, "update_draft", f"letter:{letter_id}", {"fields": sorted(changes)}
        )
    return {"id": letter_id, "state": row["state"]}
