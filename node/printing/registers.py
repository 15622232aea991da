"""What printed registers say: the receipt and sending registers, the control register of
classified letters, and the receipt stamp of a received PDF.

:func:`register_doc` reads one register (``owner|series|year``) with every number it holds
(issued, registered on paper, reserved, voided with its reason; provisional numbers last)
and the letters they were given to, and lays them out in the columns of DOMAIN.md as a
:class:`~node.printing.tabledoc.TableDoc`. :func:`stamped_copy` puts the receipt stamp on a received
letter's PDF attachment.

The control register of classified letters (ทะเบียนควบคุมหนังสือลับ) is for the registrar
and assistants only; it shows the subject of a received sealed letter opened with the
office's seal keys at the moment it is printed (nothing decrypted is stored), and each
showing or printing of it is an audit entry naming the letters it listed.

Does not: render anything itself (:mod:`node.printing.tables` and :mod:`node.printing.stamp` do),
change any data (it only appends the audit entry of the classified register), or decide who
may see a letter (:mod:`node.records.access` does; this module asks it).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from node.context import NodeContext
from node.errors import BadInput, Conflict, NodeError, NotFound
from node.printing.fonts import resolve_font
from node.printing.tabledoc import Column, TableDoc
from node.records.access import Viewer
from node.records.directory import load_trusted
from node.records.registers import parse_series
from node.records.sealed import carries_seal, register_subject
from node.records.workflow import STAGE_TITLES
from node.storage import audit
from node.storage.blobs import blob_path, has_blob
from node.storage.store import Store
from protocol.directory import TrustedDirectory
from protocol.errors import BadLetterNumber
from protocol.numbers import Series, parse_unit_code
from protocol.thai import (
    BANGKOK,
    MAX_BE_YEAR,
    MIN_BE_YEAR,
    THAI_MONTHS,
    ce_year,
    format_thai_date,
    format_thai_time,
    normalize_thai,
)

HIDDEN_SUBJECT = "(หนังสือชั้นความลับ)"
"""What an ordinary register shows instead of a classified letter's subject."""

SERIES_TITLES: dict[Series, str] = {
    Series.RECEIPT: "ทะเบียนหนังสือรับ",
    Series.OUTGOING: "ทะเบียนหนังสือส่ง",
    Series.CIRCULAR: "ทะเบียนหนังสือส่ง (หนังสือเวียน)",
    Series.ORDER: "ทะเบียนหนังสือส่ง (คำสั่ง)",
    Series.ANNOUNCEMENT: "ทะเบียนหนังสือส่ง (ประกาศ)",
    Series.RADIO: "ทะเบียนหนังสือส่ง (วิทยุ)",
    Series.CLASSIFIED: "ทะเบียนควบคุมหนังสือลับ",
}
"""The printed title of each series' register."""

_SLUGS: dict[Series, str] = {
    Series.RECEIPT: "receipt",
    Series.OUTGOING: "sent",
    Series.CIRCULAR: "circular",
    Series.ORDER: "order",
    Series.ANNOUNCEMENT: "announcement",
    Series.RADIO: "radio",
    Series.CLASSIFIED: "classified",
}

# Widths (mm) fill a landscape A4 page (277 mm inside the margins) at 9 pt: a full Thai
# date (28 พฤศจิกายน 2569) and a number like ชม 0017.3/ว 1234 fit on one line.
RECEIPT_COLUMNS = [
    Column("ทะเบียนรับที่", 16, "C"),
    Column("ที่", 30),
    Column("ลงวันที่", 31),
    Column("จาก", 32),
    Column("ถึง", 28),
    Column("เรื่อง", 56),
    Column("การปฏิบัติ", 27),
    Column("หมายเหตุ", 27),
    Column("วันที่รับ", 30),
]
"""ทะเบียนหนังสือรับ: the columns of the regulation, then the registration date and time."""

SENDING_COLUMNS = [
    Column("ทะเบียนส่งที่", 16, "C"),
    Column("ที่", 31),
    Column("ลงวันที่", 31),
    Column("จาก", 36),
    Column("ถึง", 42),
    Column("เรื่อง", 61),
    Column("การปฏิบัติ", 30),
    Column("หมายเหตุ", 30),
]
"""ทะเบียนหนังสือส่ง, as the regulation lays it out."""

CLASSIFIED_COLUMNS = [
    Column("ทะเบียนที่", 15, "C"),
    Column("ชั้นความลับ", 17, "C"),
    Column("ที่", 30),
    Column("ลงวันที่", 31),
    Column("จาก", 30),
    Column("ถึง", 26),
    Column("เรื่อง", 48),
    Column("การปฏิบัติ", 25),
    Column("หมายเหตุ", 25),
    Column("วันที่ลงทะเบียน", 30),
]
"""The control register of classified letters: the receipt columns plus the class."""

_STATE_TITLES = {
    "queued": "รอส่ง",
    "sent": "ส่งแล้ว",
    "delivered": "ได้รับแล้ว รอลงรับ",
    "registered": "ลงรับแล้ว",
    "returned": "ส่งคืนแล้ว",
    "withdrawn": "ถอนหนังสือแล้ว",
}


class ClassifiedRegisterRefused(NodeError):
    """Only the registrar of classified letters and assistants may print that register."""

    status = 403
    code = "classified_register_refused"
    message_th = "เฉพาะนายทะเบียนหนังสือลับและผู้ช่วยเท่านั้นที่พิมพ์ทะเบียนหนังสือลับได้"


def _when(moment: float | None) -> datetime | None:
    return None if moment is None else datetime.fromtimestamp(float(moment), UTC)


def _date_time(moment: float | None) -> str:
    """``18 พฤศจิกายน 2569 14.46 น.`` (Bangkok), or empty."""
    when = _when(moment)
    return "" if when is None else f"{format_thai_date(when)} {format_thai_time(when)}"


def office_name(store: Store, trusted: TrustedDirectory | None, office: str) -> str:
    """A unit's or office's Thai name: this node's units, then the directory, else the id."""
    name = store.scalar("SELECT name FROM units WHERE code = ?", (office,))
    if name:
        return str(name)
    entry = trusted.office(office) if trusted is not None else None
    if entry and entry.get("name"):
        return str(entry["name"])
    return office


def _names(
    store: Store, trusted: TrustedDirectory | None, ids: list[str], first: str | None = None
) -> str:
    """Names of addressees, ``first`` (this office) leading; long lists are shortened."""
    ordered = ([first] if first in ids else []) + [i for i in ids if i != first]
    names = [office_name(store, trusted, i) for i in ordered if i]
    if len(names) > 3:
        return f"{', '.join(names[:2])} และอีก {len(names) - 2} หน่วยงาน"
    return ", ".join(names)


def _json_list(raw: str | None) -> list[Any]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _check_period(year_be: int, month: int | None) -> None:
    if not MIN_BE_YEAR <= year_be <= MAX_BE_YEAR:
        raise BadInput(
            f"year {year_be} is not a Buddhist-era year (e.g. 2569)",
            code="bad_year",
            message_th="ปีไม่ถูกต้อง (ให้ระบุปีพุทธศักราช เช่น 2569)",
        )
    if month is not None and not 1 <= month <= 12:
        raise BadInput(
            f"month {month} is not 1-12", code="bad_month", message_th="เดือนต้องเป็นเลข 1 ถึง 12"
        )


def _month_bounds(year_be: int, month: int) -> tuple[float, float]:
    """Unix seconds of the first moment of the Bangkok month and of the next one."""
    start = datetime(ce_year(year_be), month, 1, tzinfo=BANGKOK)
    nxt = datetime(ce_year(year_be) + month // 12, month % 12 + 1, 1, tzinfo=BANGKOK)
    return start.timestamp(), nxt.timestamp()


def _owner(ctx: NodeContext, owner: str | None) -> str:
    """The register owner asked for, as a canonical unit code (default: the office)."""
    if not (owner or "").strip():
        return ctx.office
    try:
        return parse_unit_code(normalize_thai(str(owner)))
    except BadLetterNumber as e:
        raise BadInput(
            f"{owner!r} is not a unit code such as 'ชม 0017.3'",
            code="bad_owner",
            message_th="รหัสหน่วยงานเจ้าของทะเบียนไม่ถูกต้อง (ตัวอย่าง: ชม 0017.3)",
        ) from e


_ENTRY_COLUMNS = (
    "e.number, e.display, e.action, e.reason AS entry_reason, e.provisional_id, "
    "e.final_number, e.at, l.id AS letter_id, l.direction, l.origin, l.number AS letter_no, "
    "l.subject, l.secrecy, l.letter_date, l.recipients, l.parties, l.unit, l.state, l.stage, "
    "l.assigned_to, l.reason, l.registered_at, l.env_id"
)


def _entries(store: Store, reg_id: str, bounds: tuple[float, float] | None) -> list[dict[str, Any]]:
    """The register's entries joined to their letters: numbers in order, provisional last."""
    where = "e.register = ?"
    params: list[Any] = [reg_id]
    if bounds is not None:
        where += " AND e.at >= ? AND e.at < ?"
        params += list(bounds)
    # The columns and the WHERE clause are fixed strings of this module; values are bound.
    sql = (
        f"SELECT {_ENTRY_COLUMNS} FROM register_entries e "  # noqa: S608
        f"LEFT JOIN letters l ON l.id = e.letter WHERE {where} "
        "ORDER BY e.number IS NULL, e.number, e.id"
    )
    return store.query(sql, params)


def _subject(ctx: NodeContext, store: Store, entry: dict[str, Any], viewer: Viewer) -> str:
    if entry["letter_id"] is None:
        return ""
    if entry["secrecy"] and not viewer.may_open(entry):
        return HIDDEN_SUBJECT
    if carries_seal(store, entry):
        return register_subject(ctx, store, entry)
    return str(entry["subject"] or "")


def _action(store: Store, entry: dict[str, Any]) -> str:
    """การปฏิบัติ: where the letter is in its workflow, and who holds it."""
    if entry["letter_id"] is None:
        return ""
    stage = STAGE_TITLES.get(entry["stage"] or "") or _STATE_TITLES.get(entry["state"] or "", "")
    if entry["direction"] == "in" and entry["assigned_to"]:
        stage = f"{stage} ({entry['assigned_to']})" if stage else str(entry["assigned_to"])
    if entry["direction"] == "out":
        counts = store.one(
            "SELECT COUNT(*) AS total, SUM(state = 'registered') AS registered "
            "FROM recipients WHERE letter = ?",
            (entry["letter_id"],),
        )
        if counts and counts["total"]:
            stage = f"{stage} ผู้รับลงรับ {counts['registered'] or 0}/{counts['total']}".strip()
    return stage


def _remarks(store: Store, trusted: TrustedDirectory | None, entry: dict[str, Any]) -> str:
    """หมายเหตุ: voided with its reason, reserved, returned, withdrawn, provisional."""
    notes: list[str] = []
    reason = entry["entry_reason"]
    if entry["action"] == "voided":
        notes.append(f"ยกเลิกเลข: {reason}" if reason else "ยกเลิกเลข")
    elif entry["action"] == "reserved":
        notes.append(f"จองเลข: {reason}" if reason else "จองเลข")
    elif entry["action"] == "paper_registered":
        notes.append("หนังสือกระดาษ")
    if entry["provisional_id"] and entry["final_number"] is None:
        notes.append("เลขชั่วคราว รอเลขจริง")
    if entry["letter_id"] is not None:
        if entry["state"] == "withdrawn":
            notes.append(f"ยกเลิก: {entry['reason']}" if entry["reason"] else "ยกเลิก")
        elif entry["state"] == "returned":
            notes.append(f"ส่งคืน: {entry['reason'] or ''}".strip())
        if entry["direction"] == "out":
            returned = store.query(
                "SELECT office, reason FROM recipients WHERE letter = ? AND state = 'returned' "
                "ORDER BY id",
                (entry["letter_id"],),
            )
            for r in returned:
                who = office_name(store, trusted, r["office"])
                notes.append(f"ส่งคืน ({who}): {r['reason'] or ''}".strip())
    return "; ".join(notes)


def _parties(
    store: Store, trusted: TrustedDirectory | None, ctx: NodeContext, entry: dict[str, Any]
) -> tuple[str, str]:
    """จาก and ถึง of an entry's letter."""
    if entry["letter_id"] is None:
        return "", ""
    recipients = [str(r) for r in _json_list(entry["recipients"]) if r]
    if entry["direction"] == "in":
        sender = office_name(store, trusted, str(entry["origin"] or ""))
        return sender, _names(store, trusted, recipients, first=ctx.office)
    sender = office_name(store, trusted, str(entry["unit"] or entry["origin"] or ctx.office))
    parties = [str(p) for p in _json_list(entry["parties"]) if p]
    return sender, _names(store, trusted, recipients + parties)


def _number(entry: dict[str, Any]) -> str:
    """The running number of the entry (ทะเบียนรับที่ / ทะเบียนส่งที่)."""
    if entry["number"] is not None:
        return str(entry["number"])
    if entry["provisional_id"]:  # "<office>:<register>:<n>", until the hub gives a number
        return f"(ชั่วคราว {str(entry['provisional_id']).rsplit(':', 1)[-1]})"
    return str(entry["display"] or "")


def _row(
    ctx: NodeContext,
    store: Store,
    trusted: TrustedDirectory | None,
    series: Series,
    entry: dict[str, Any],
    viewer: Viewer,
) -> list[str]:
    sender, addressees = _parties(store, trusted, ctx, entry)
    common = [
        str(entry["letter_date"] or ""),
        sender,
        addressees,
        _subject(ctx, store, entry, viewer),
        _action(store, entry),
        _remarks(store, trusted, entry),
    ]
    registered = _date_time(entry["registered_at"]) if entry["letter_id"] else ""
    if series is Series.RECEIPT:
        return [_number(entry), str(entry["letter_no"] or ""), *common, registered]
    if series is Series.CLASSIFIED:
        secrecy = str(entry["secrecy"] or "")
        return [_number(entry), secrecy, str(entry["letter_no"] or ""), *common, registered]
    # A sending register: ที่ is the number given to the letter, or the one reserved.
    return [_number(entry), str(entry["letter_no"] or entry["display"] or ""), *common]


def _register_id(
    ctx: NodeContext, store: Store, kind: Series, year_be: int, owner: str | None
) -> str:
    """The id of the register to print; :class:`NotFound` for a unit that is not ours.

    Without an owner: the office's own register, or the shared register (numbered by the
    hub) this office draws the series from.
    """
    unit = _owner(ctx, owner)
    reg_id = f"{unit}|{kind.value}|{year_be}"
    if store.scalar("SELECT 1 FROM registers WHERE id = ?", (reg_id,)):
        return reg_id
    if not (owner or "").strip():
        shared = store.scalar(
            "SELECT id FROM registers WHERE series = ? AND year = ? AND shared = 1",
            (kind.value, year_be),
        )
        if shared:
            return str(shared)
    if unit != ctx.office and not store.scalar("SELECT 1 FROM units WHERE code = ?", (unit,)):
        raise NotFound(
            f"no register {reg_id}", message_th=f"ไม่พบทะเบียน{kind.value}ของหน่วยงาน {unit}"
        )
    return reg_id  # a register with no number yet: printed empty


def register_doc(
    ctx: NodeContext,
    store: Store,
    series: str,
    year_be: int,
    month: int | None,
    viewer: Viewer,
    owner: str | None = None,
    *,
    shown_as: str = "print",
) -> TableDoc:
    """The printable register ``owner|series|year_be`` (of one Bangkok month, if given).

    ``owner`` defaults to this office and may be one of its units (``ชม 0017.3``). Series
    รับ gives the receipt register; ส่ง, ว, คำสั่ง, ประกาศ (and วิทยุ) the sending register;
    ลับ the control register of classified letters, for the registrar and assistants only
    (:class:`ClassifiedRegisterRefused` otherwise, the refusal recorded), recorded in the
    audit trail as ``<shown_as>_classified_register`` (``print``: a file; ``view``: the
    page). In an ordinary register a classified letter's subject shows only to a viewer
    who may open it.
    """
    kind = parse_series(normalize_thai(series or "").strip())
    _check_period(year_be, month)
    if kind is Series.CLASSIFIED and not viewer.sees_all_classified:
        with store.transaction():
            audit.record(
                store, ctx.now(), viewer.user, "classified_register_refused", "register:ลับ", {}
            )
        raise ClassifiedRegisterRefused(
            f"{viewer.user} may not print the register of classified letters"
        )
    reg_id = _register_id(ctx, store, kind, year_be, owner)
    unit = reg_id.split("|")[0]
    register = store.one("SELECT basis, shared FROM registers WHERE id = ?", (reg_id,)) or {}
    trusted = load_trusted(store)
    bounds = _month_bounds(year_be, month) if month else None
    entries = _entries(store, reg_id, bounds)
    rows = [_row(ctx, store, trusted, kind, e, viewer) for e in entries]
    if kind is Series.CLASSIFIED:
        listed = sorted({int(e["letter_id"]) for e in entries if e["letter_id"] is not None})
        with store.transaction():
            audit.record(
                store,
                ctx.now(),
                viewer.user,
                f"{shown_as}_classified_register",
                f"register:{reg_id}",
                {"month": month, "rows": len(rows), "letters": listed},
            )
    columns = {
        Series.RECEIPT: RECEIPT_COLUMNS,
        Series.CLASSIFIED: CLASSIFIED_COLUMNS,
    }.get(kind, SENDING_COLUMNS)
    period = (
        f"ประจำเดือน{THAI_MONTHS[month - 1]} พ.ศ. {year_be}" if month else f"ประจำปี พ.ศ. {year_be}"
    )
    name = office_name(store, trusted, unit)
    unit_text = name if name == unit else f"{name} ({unit})"
    voided = sum(1 for e in entries if e["action"] == "voided")
    footer = [f"รวม {len(rows)} รายการ" + (f" (ยกเลิกเลข {voided} รายการ)" if voided else "")]
    if register.get("basis") == "fiscal":
        footer.append(f"ทะเบียนนี้นับเลขตามปีงบประมาณ พ.ศ. {year_be}")
    if register.get("shared"):
        own = office_name(store, trusted, ctx.office)
        footer.append(f"ทะเบียนร่วม (ศูนย์กลางออกเลข): แสดงเฉพาะเลขที่{own}ใช้")
    slug = f"register-{_SLUGS[kind]}-{year_be}" + (f"-{month:02d}" if month else "")
    ascii_unit = re.sub(r"[^0-9A-Za-z.]+", "", unit)
    return TableDoc(
        title=SERIES_TITLES[kind],
        subtitle=f"{unit_text} {period}",
        columns=list(columns),
        rows=rows,
        footer=footer,
        landscape=True,
        filename=f"{slug}-{ascii_unit}" if ascii_unit else slug,
        display_name=f"{SERIES_TITLES[kind]} {unit} {period}",
        printed_at=ctx.now(),
    )


def stamped_copy(
    ctx: NodeContext, store: Store, letter_id: int, sha256: str, viewer: Viewer
) -> bytes:
    """A received letter's PDF attachment with the receipt stamp at the top right.

    The stamp names the unit whose register received it, its เลขรับ and the registration
    date and time (Bangkok). The stored attachment is not changed. A letter not registered
    yet: :class:`Conflict`; an unknown, undelivered or hidden attachment: :class:`NotFound`;
    not a PDF: :class:`BadInput` ``bad_pdf``.
    """
    row = store.one("SELECT * FROM letters WHERE id = ? AND direction = 'in'", (letter_id,))
    if row is None or not viewer.may_open(row):
        raise NotFound(f"no received letter {letter_id}", message_th="ไม่พบหนังสือรับ")
    if not row["receipt_number"] or row["registered_at"] is None:
        raise Conflict(
            f"letter {letter_id} is not registered yet",
            message_th="หนังสือนี้ยังไม่ได้ลงรับ จึงยังไม่มีเลขรับสำหรับประทับตรารับ",
        )
    wanted = (sha256 or "").strip().lower()
    listed = [a for a in _json_list(row["attachments"]) if isinstance(a, dict)]
    if not any(str(a.get("sha256", "")).lower() == wanted for a in listed):
        raise NotFound(
            f"letter {letter_id} has no attachment {sha256}",
            message_th="ไม่พบไฟล์แนบนี้ในหนังสือ",
        )
    if not has_blob(ctx.blob_dir(), wanted):
        raise NotFound(
            f"attachment {sha256} has not been received yet",
            message_th="ยังไม่ได้รับไฟล์แนบนี้จากศูนย์กลาง กรุณาซิงค์แล้วลองใหม่",
        )
    from node.printing.stamp import ReceiptStamp, stamp_pdf  # fpdf2 and pypdf, at the first stamp

    owner = str(row["receipt_register"] or "").split("|")[0] or ctx.office
    registered = datetime.fromtimestamp(float(row["registered_at"]), UTC)
    stamp = ReceiptStamp(
        unit_name=office_name(store, load_trusted(store), owner),
        receipt_number=str(row["receipt_number"]),
        date_th=format_thai_date(registered),
        time_th=format_thai_time(registered),
    )
    original = blob_path(ctx.blob_dir(), wanted).read_bytes()
    return stamp_pdf(original, stamp, resolve_font(str(ctx.settings.get("PRINT_FONT") or "")))
