"""Sending letters (การส่งหนังสือ): draft → issue the number (ออกเลข) → dispatch.

* :func:`create_draft` / :func:`update_draft` keep a letter being written. Nothing leaves
  the office and no number is taken.
* :func:`issue_number` takes the next number of the letter's register (ส่ง, ว, คำสั่ง,
  ประกาศ, from the owning unit or the office, or a reserved number), dates the letter and
  writes the ``register`` envelope, all in one transaction.
* :func:`dispatch` sends it: to offices electronically through the hub (a signed ``letter``
  envelope, distribution lists expanded through the directory) and/or on paper to outside
  parties with the method recorded (ไปรษณีย์ลงทะเบียน, by hand, ...). Every recipient gets
  a tracking row. The office's own row of the letter is its file copy (สำเนาคู่ฉบับ).
* :func:`send_letter` does all three in one transaction, as the API's one-step send.

Every check runs before anything is written, so bad input stores nothing. Instruments
that take no number (ระเบียบ, ข้อบังคับ, แถลงการณ์, ข่าว) are dispatched without one.
Receiving is in :mod:`node.inbox`; tracking and withdrawal in :mod:`node.letters`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from protocol.errors import BadMessage
from protocol.lettertypes import (
    DEADLINE_SPEED,
    LETTER_TYPES,
    SECRECY_CLASSES,
    SPEED_CLASSES,
    SUB_TYPES,
    TOP_SECRET,
    check_deadline,
    default_series,
)
from protocol.messages import Letter
from protocol.numbers import Series, search_key
from protocol.thai import bangkok_date, format_thai_date, normalize_thai

from . import audit, feed, registers
from .blobs import record_attachment
from .context import NodeContext
from .directory import require_trusted
from .errors import BadInput, Conflict, NotFound
from .letters import NewAttachment, save_attachments
from .store import Store
from .units import require_unit

DRAFT_STATES = ("draft", "numbered")
ELECTRONIC = "hub"
PAPER = "paper"


def _bad(reason: str, code: str, message_th: str) -> BadInput:
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

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        """From the API's JSON object; unknown keys are ignored, wrong types refused."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data or data[f.name] is None:
                continue
            value = data[f.name]
            is_list = f.name in ("references", "enclosures", "recipients", "lists", "parties")
            if is_list:
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            else:
                ok = isinstance(value, str)
            if not ok:
                kind = "a list of text" if is_list else "text"
                raise _bad(f"{f.name} must be {kind}", "bad_field", f"ช่อง {f.name} มีรูปแบบไม่ถูกต้อง")
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
        )


def _check_choice(value: str, allowed: Sequence[str], what: str, what_th: str) -> None:
    if value not in allowed:
        raise _bad(
            f"unknown {what} {value!r}",
            f"bad_{what.replace(' ', '_')}",
            f"{what_th}ไม่ถูกต้อง: {value}",
        )


def check_draft(ctx: NodeContext, store: Store, d: Draft) -> Draft:
    """Everything a draft must satisfy before it is stored; raise BadInput otherwise.

    Returns the draft with its unit code in canonical form.
    """
    if not d.subject:
        raise _bad("a letter needs a subject", "subject_required", "กรุณาระบุเรื่อง")
    _check_choice(d.letter_type, LETTER_TYPES, "letter type", "ชนิดหนังสือ")
    allowed = SUB_TYPES[d.letter_type]
    if allowed and d.sub_type not in allowed:
        raise _bad(
            f"a {d.letter_type} letter needs a sub-type ({', '.join(allowed)})",
            "sub_type_required",
            f"หนังสือ{d.letter_type}ต้องระบุประเภทย่อย: {' '.join(allowed)}",
        )
    if not allowed and d.sub_type:
        raise _bad(
            f"a {d.letter_type} letter has no sub-type",
            "bad_sub_type",
            f"หนังสือ{d.letter_type}ไม่มีประเภทย่อย",
        )
    _check_choice(d.speed, SPEED_CLASSES, "speed", "ชั้นความเร็ว")
    _check_choice(d.secrecy, SECRECY_CLASSES, "secrecy", "ชั้นความลับ")
    try:
        check_deadline(d.speed, d.deadline)
    except BadMessage as e:
        raise _bad(
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
            raise _bad(
                "letters are not numbered from a receipt register",
                "bad_series",
                "ไม่สามารถออกเลขหนังสือส่งจากทะเบียนรับ",
            )
    if ctx.office in d.recipients:
        raise _bad(
            "an office does not send a letter to itself",
            "self_recipient",
            "ไม่สามารถส่งหนังสือถึงหน่วยงานของตนเอง",
        )
    if d.recipients or d.lists:
        _expand(ctx, store, d)
    return d


def _expand(ctx: NodeContext, store: Store, d: Draft) -> list[str]:
    trusted = require_trusted(store)
    try:
        expanded = trusted.expand(d.recipients, d.lists)
    except BadMessage as e:
        raise _bad(str(e), "unknown_recipient", "ไม่พบหน่วยงานหรือบัญชีรายชื่อผู้รับในทะเบียนกลาง") from e
    return [r for r in expanded if r != ctx.office]


def _series_of(d: Draft) -> Series | None:
    if d.series:
        return registers.parse_series(d.series)
    return default_series(d.letter_type, d.sub_type, circular=bool(d.lists))


def _draft_columns(d: Draft) -> dict[str, Any]:
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
                **_draft_columns(d),
            },
        )
        for meta in metas:
            record_attachment(store, meta, present=True, direction="out")
        audit.record(
            store, now, actor, "create_draft", f"letter:{letter_id}", {"subject": d.subject}
        )
    return {"id": letter_id, "state": "draft"}


def _own_draft(store: Store, letter_id: int) -> dict[str, Any]:
    row = store.one("SELECT * FROM letters WHERE id = ? AND direction = 'out'", (letter_id,))
    if row is None:
        raise NotFound(f"no letter {letter_id} of this office", message_th="ไม่พบหนังสือส่ง")
    if row["state"] not in DRAFT_STATES:
        raise Conflict(
            f"letter {letter_id} was already dispatched",
            message_th="หนังสือนี้ส่งออกแล้ว ไม่สามารถแก้ไขได้",
        )
    return row


def _draft_of(row: dict[str, Any]) -> Draft:
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
    )


def update_draft(
    ctx: NodeContext, store: Store, letter_id: int, changes: dict[str, Any], actor: str = "clerk"
) -> dict[str, Any]:
    """Change fields of a draft. After ออกเลข the kind, unit and series are fixed."""
    now = ctx.now()
    with store.transaction():
        row = _own_draft(store, letter_id)
        current = _draft_of(row)
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
        columns = _draft_columns(merged)
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


def _letter_date(now: float) -> tuple[str, str]:
    moment = datetime.fromtimestamp(now, UTC)
    return format_thai_date(moment), bangkok_date(moment).isoformat()


def issue_number(
    ctx: NodeContext,
    store: Store,
    letter_id: int,
    *,
    reserved_number: int | None = None,
    actor: str = "clerk",
    announce: bool = True,
) -> dict[str, Any]:
    """ออกเลข: number a draft from its register and date it; return the number."""
    now = ctx.now()
    with store.transaction():
        row = _own_draft(store, letter_id)
        if row["state"] != "draft":
            raise Conflict(
                f"letter {letter_id} already has the number {row['number']}",
                message_th=f"หนังสือนี้ออกเลขแล้ว: {row['number']}",
            )
        d = _draft_of(row)
        series = _series_of(d)
        if series is None:
            raise Conflict(
                f"a {d.sub_type} is issued without a number",
                message_th=f"{d.sub_type}ไม่ต้องออกเลขทะเบียนส่ง ให้ส่งได้ทันที",
            )
        if reserved_number is not None:
            reg = registers.ensure_register(ctx, store, series, now, d.unit)
            entry = registers.use_reserved(store, reg["id"], reserved_number)
            store.execute(
                "UPDATE register_entries SET action = 'issued' WHERE id = ?", (entry["id"],)
            )
            issued = registers.Issued(
                reg["id"], reserved_number, entry["display"], None, entry["id"]
            )
        else:
            issued = registers.allocate(ctx, store, series, now, unit=d.unit)
        letter_date, letter_day = _letter_date(now)
        store.execute(
            "UPDATE letters SET state = 'numbered', stage = 'numbered', number = ?, "
            "number_key = ?, register = ?, register_number = ?, provisional_id = ?, "
            "letter_date = ?, letter_day = ?, updated_at = ? WHERE id = ?",
            (
                issued.display,
                search_key(issued.display),
                issued.register,
                None if issued.provisional else issued.number,
                issued.provisional_id,
                letter_date,
                letter_day,
                now,
                letter_id,
            ),
        )
        if announce:
            registers.announce(
                ctx,
                store,
                issued,
                now,
                letter_id=letter_id,
                subject=None if d.secrecy else d.subject,
            )
        else:
            store.execute(
                "UPDATE register_entries SET letter = ? WHERE id = ?", (letter_id, issued.entry_id)
            )
        audit.record(
            store,
            now,
            actor,
            "issue_number",
            f"letter:{letter_id}",
            {"number": issued.display, "register": issued.register},
        )
    return {
        "id": letter_id,
        "number": issued.display,
        "register": issued.register,
        "provisional": issued.provisional,
        "letter_date": letter_date,
        "_issued": issued,
    }


def dispatch(
    ctx: NodeContext,
    store: Store,
    letter_id: int,
    *,
    method: str = "",
    note: str = "",
    actor: str = "clerk",
) -> dict[str, Any]:
    """Send a numbered letter (or one that takes no number): electronic and/or paper."""
    method = normalize_thai(method or "").strip()
    note = normalize_thai(note or "").strip()
    now = ctx.now()
    with store.transaction():
        row = _own_draft(store, letter_id)
        d = _draft_of(row)
        if row["state"] == "draft" and _series_of(d) is not None:
            raise Conflict(
                f"letter {letter_id} needs its number before it is sent",
                message_th="กรุณาออกเลขหนังสือก่อนส่ง",
            )
        offices = _expand(ctx, store, d) if (d.recipients or d.lists) else []
        if not offices and not d.parties:
            raise _bad(
                "a letter needs at least one recipient",
                "recipients_required",
                "กรุณาระบุผู้รับอย่างน้อยหนึ่งราย (หน่วยงานในระบบ หรือผู้รับภายนอกทางไปรษณีย์/นำส่ง)",
            )
        if offices and d.secrecy == TOP_SECRET:
            raise _bad(
                "ลับที่สุด letters are never sent electronically",
                "top_secret_not_electronic",
                "หนังสือลับที่สุดห้ามส่งทางระบบอิเล็กทรอนิกส์ ให้ลงทะเบียนและส่งเป็นเอกสาร",
            )
        if offices and d.secrecy:
            raise _bad(
                "sealed (classified) letters are not available on this node yet",
                "sealing_not_available",
                "ยังไม่รองรับการส่งหนังสือชั้นความลับทางระบบ ให้ส่งเป็นเอกสารโดยระบุวิธีส่ง",
            )
        methods = [str(m) for m in ctx.settings.get("DISPATCH_METHODS") or ()]
        if d.parties and method not in methods:
            raise _bad(
                f"paper dispatch needs a method, one of: {', '.join(methods)}",
                "dispatch_method_required",
                f"กรุณาเลือกวิธีส่งหนังสือ: {', '.join(methods)}",
            )
        letter_date, letter_day = row["letter_date"], row["letter_day"]
        if not letter_date:
            letter_date, letter_day = _letter_date(now)
        env_id = None
        if offices:
            message = Letter(
                letter_type=d.letter_type,
                sub_type=d.sub_type,
                subject=d.subject,
                number=row["number"],
                register=row["register"] if row["number"] else None,
                letter_date=letter_date,
                speed=d.speed,
                secrecy=d.secrecy,
                sender=d.sender,
                salutation=d.salutation,
                body=d.body,
                references=d.references,
                enclosures=d.enclosures,
                deadline=d.deadline,
                recipients=offices,
                lists=d.lists,
                attachments=json.loads(row["attachments"] or "[]"),
            )
            try:
                _, env = feed.append(store, ctx.signer, message, now)
            except BadMessage as e:
                raise _bad(str(e), "bad_letter", "ข้อมูลหนังสือไม่ถูกต้อง") from e
            env_id = env.env_id
            store.execute(
                "UPDATE register_entries SET letter_env = ? "
                "WHERE letter = ? AND letter_env IS NULL",
                (env_id, letter_id),
            )
            for office in offices:
                store.insert(
                    "recipients",
                    {
                        "letter": letter_id,
                        "office": office,
                        "state": "queued",
                        "channel": ELECTRONIC,
                        "updated_at": now,
                    },
                )
        for party in d.parties:
            store.insert(
                "recipients",
                {
                    "letter": letter_id,
                    "office": party,
                    "state": "dispatched",
                    "channel": PAPER,
                    "method": method,
                    "reason": note or None,
                    "updated_at": now,
                },
            )
        state = "queued" if offices else "dispatched"
        store.execute(
            "UPDATE letters SET env_id = ?, state = ?, stage = 'dispatched', recipients = ?, "
            "letter_date = ?, letter_day = ?, dispatch_method = ?, dispatch_note = ?, "
            "dispatched_at = ?, updated_at = ? WHERE id = ?",
            (
                env_id,
                state,
                json.dumps(offices, ensure_ascii=False),
                letter_date,
                letter_day,
                method or None,
                note or None,
                now,
                now,
                letter_id,
            ),
        )
        audit.record(
            store,
            now,
            actor,
            "dispatch",
            f"letter:{letter_id}",
            {"env_id": env_id, "offices": offices, "parties": d.parties, "method": method},
        )
    return {
        "id": letter_id,
        "number": row["number"],
        "env_id": env_id,
        "state": state,
        "recipients": offices,
        "parties": d.parties,
        "method": method or None,
    }


def send_letter(
    ctx: NodeContext,
    store: Store,
    draft: Draft,
    attachments: Iterable[NewAttachment] = (),
    *,
    reserved_number: int | None = None,
    method: str = "",
    actor: str = "clerk",
) -> dict[str, Any]:
    """Compose, number and dispatch in one transaction (the one-step send)."""
    d = check_draft(ctx, store, draft.cleaned())
    if not (d.recipients or d.lists or d.parties):
        raise _bad(
            "a letter needs at least one recipient",
            "recipients_required",
            "กรุณาระบุหน่วยงานผู้รับอย่างน้อยหนึ่งแห่ง",
        )
    with store.transaction():
        created = create_draft(ctx, store, d, attachments, actor)
        letter_id = created["id"]
        numbered: dict[str, Any] = {}
        if _series_of(d) is not None:
            numbered = issue_number(
                ctx, store, letter_id, reserved_number=reserved_number, actor=actor, announce=False
            )
        sent = dispatch(ctx, store, letter_id, method=method, actor=actor)
        if numbered:
            registers.announce(
                ctx,
                store,
                numbered["_issued"],
                ctx.now(),
                letter_env_id=sent["env_id"],
                letter_id=letter_id,
                subject=None if d.secrecy else d.subject,
            )
    return {**sent, "provisional": bool(numbered.get("provisional"))}


def public(result: dict[str, Any]) -> dict[str, Any]:
    """A result without its internal keys, for the API."""
    return {k: v for k, v in result.items() if not k.startswith("_")}
