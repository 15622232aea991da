"""Numbering registers: issuing, reserving and voiding letter numbers.

A register is ``(owner, series, year)``. Registers the office owns issue final numbers
offline, in the same transaction as the letter that carries them: the next number is the
highest held plus one, and ``UNIQUE (register, number)`` makes reuse impossible. A new
year (Bangkok midnight; 1 October for a fiscal register) is a new register, so its first
number is 1.

Shared registers (listed in the directory's ``shared_registers`` with this office as a
member) are numbered by the hub: :func:`allocate` takes their numbers from the open
leases, and when those are used up offline it issues a *provisional* number. Receiving
leases, finalising provisional numbers and voiding unused leased numbers at year end are
in :mod:`node.records.leases`.

Every issue, reservation and void writes a ``register`` envelope to the feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from node.context import NodeContext
from node.errors import BadInput, Conflict, NotFound
from node.records.directory import load_trusted, shared_registers
from node.records.units import issuer_of
from node.storage import audit, feed
from node.storage.highwater import issued_high, register_behind
from node.storage.store import Store
from protocol.crashpoints import crash_point
from protocol.directory import TrustedDirectory
from protocol.envelope import Envelope
from protocol.errors import BadLetterNumber, BadMessage
from protocol.messages import RegisterEntry
from protocol.numbers import (
    Instrument,
    LetterNumber,
    RegisterKey,
    Series,
    YearBasis,
    register_year,
)


@dataclass(frozen=True)
class Issued:
    """A number taken from a register (``number`` is the provisional counter if provisional)."""

    register: str
    number: int
    display: str
    provisional_id: str | None
    entry_id: int

    @property
    def provisional(self) -> bool:
        """Whether the hub still has to finalise this number."""
        return self.provisional_id is not None


def parse_series(text: str) -> Series:
    """A series from its Thai name; :class:`~node.errors.BadInput` if unknown."""
    try:
        return Series(text)
    except ValueError as e:
        names = ", ".join(s.value for s in Series)
        raise BadInput(
            f"unknown register series {text!r} (one of {names})",
            code="unknown_series",
            message_th=f"ไม่รู้จักทะเบียน {text!r}",
        ) from e


def register_year_at(now: float, basis: YearBasis) -> int:
    """The Buddhist-era year of the register that a number issued at ``now`` belongs to."""
    return register_year(datetime.fromtimestamp(now, UTC), basis)


def _shared_entry(
    trusted: TrustedDirectory | None, office: str, series: Series
) -> dict[str, Any] | None:
    if trusted is None:
        return None
    for entry in shared_registers(trusted):
        if entry.get("series") == series.value and office in entry.get("members", []):
            return entry
    return None


def shared_pairs(trusted: TrustedDirectory | None) -> set[tuple[str, str]]:
    """``(owner, series)`` of every shared register in the directory."""
    if trusted is None:
        return set()
    return {(str(e.get("owner")), str(e.get("series"))) for e in shared_registers(trusted)}


def display_number(
    ctx: NodeContext,
    series: Series,
    code: str,
    number: int,
    year: int,
    provisional: bool,
    issuer: str = "",
) -> str:
    """How the number is written on the letter or the receipt stamp."""
    if series is Series.RECEIPT or series is Series.CLASSIFIED:
        return f"(ชั่วคราว {number})" if provisional else str(number)
    issuer = issuer or str(ctx.settings.get("ISSUER") or "")
    if series in (Series.ORDER, Series.ANNOUNCEMENT) and issuer:
        return LetterNumber(
            instrument=Instrument(series.value),
            issuer=issuer,
            number=number,
            year=year,
            provisional=provisional,
        ).format()
    return LetterNumber(
        code=code, circular=series is Series.CIRCULAR, number=number, provisional=provisional
    ).format()


def ensure_register(
    ctx: NodeContext, store: Store, series: Series, now: float, unit: str | None = None
) -> dict[str, Any]:
    """The register ``unit`` (default: the office) draws ``series`` numbers from at ``now``.

    Created if new. A series the directory lists as shared is the shared register whatever
    the unit; otherwise each unit keeps its own counter.
    """
    trusted = load_trusted(store)
    shared = _shared_entry(trusted, ctx.office, series)
    if shared is not None:
        owner = str(shared["owner"])
        basis = YearBasis(shared.get("basis") or YearBasis.CALENDAR.value)
        code = owner
    else:
        owner = unit or ctx.office
        basis = YearBasis((ctx.settings.get("YEAR_BASIS") or {}).get(series.value, "calendar"))
        code = unit or (ctx.settings.get("UNIT_CODES") or {}).get(series.value) or ctx.office
    try:
        key = RegisterKey(owner, series, register_year_at(now, basis))
    except (BadMessage, BadLetterNumber) as e:
        raise BadInput(str(e), code="bad_register") from e
    reg_id = key.as_id()
    row = store.one("SELECT * FROM registers WHERE id = ?", (reg_id,))
    if row is None:
        row = {
            "id": reg_id,
            "owner": key.owner,
            "series": series.value,
            "year": key.year,
            "basis": basis.value,
            "shared": 1 if shared is not None else 0,
            "display_code": code,
        }
        store.insert("registers", row)
    return row


def ensure_register_by_id(ctx: NodeContext, store: Store, reg_id: str) -> None:
    """Create the row of a register known only by its id (from a lease or own envelope)."""
    if store.scalar("SELECT 1 FROM registers WHERE id = ?", (reg_id,)):
        return
    try:
        key = RegisterKey.from_id(reg_id)
    except BadMessage:
        return
    trusted = load_trusted(store)
    entry = None
    if trusted is not None:
        entry = next(
            (
                e
                for e in shared_registers(trusted)
                if e.get("owner") == key.owner and e.get("series") == key.series.value
            ),
            None,
        )
    if entry is not None:
        basis, code = str(entry.get("basis") or "calendar"), key.owner
    else:
        basis = (ctx.settings.get("YEAR_BASIS") or {}).get(key.series.value, "calendar")
        code = (ctx.settings.get("UNIT_CODES") or {}).get(key.series.value) or key.owner
    store.insert(
        "registers",
        {
            "id": reg_id,
            "owner": key.owner,
            "series": key.series.value,
            "year": key.year,
            "basis": basis,
            "shared": int(entry is not None),
            "display_code": code,
        },
    )


def _next_owned(store: Store, reg_id: str) -> int:
    # Above every number the office is known to have issued, not only this database's: a
    # database started from an old copy must not give a number out twice.
    high = store.scalar(
        "SELECT COALESCE(MAX(number), 0) FROM register_entries WHERE register = ?", (reg_id,)
    )
    return max(int(high), issued_high(store, reg_id)) + 1


def _take_leased(store: Store, reg_id: str) -> int | None:
    lease = store.one(
        'SELECT id, next FROM leases WHERE register = ? AND closed = 0 AND next <= "end" '
        "ORDER BY start LIMIT 1",
        (reg_id,),
    )
    if lease is None:
        return None
    store.execute("UPDATE leases SET next = next + 1 WHERE id = ?", (lease["id"],))
    return int(lease["next"])


def allocate(
    ctx: NodeContext,
    store: Store,
    series: Series,
    now: float,
    action: str = "issued",
    unit: str | None = None,
) -> Issued:
    """Take the next number of the series' current register (no envelope yet)."""
    reg = ensure_register(ctx, store, series, now, unit)
    provisional_id: str | None = None
    if reg["shared"]:
        # Behind the office's own marks, the lease's next numbers may be spent already.
        leased = None if register_behind(store, reg["id"]) else _take_leased(store, reg["id"])
        if leased is None:
            count = store.scalar(
                "SELECT COUNT(*) FROM register_entries WHERE register = ? "
                "AND provisional_id IS NOT NULL",
                (reg["id"],),
            )
            number = int(count) + 1
            provisional_id = f"{ctx.office}:{reg['id']}:{number}"
        else:
            number = leased
    else:
        number = _next_owned(store, reg["id"])
    issuer = issuer_of(store, reg["owner"]) or str(ctx.settings.get("ISSUER") or "")
    if series in (Series.ORDER, Series.ANNOUNCEMENT) and not issuer:
        raise BadInput(
            f"no issuer is set for {reg['owner']}'s {series.value} numbers",
            code="issuer_required",
            message_th=f"ยังไม่ได้กำหนดชื่อผู้ออก{series.value}ของหน่วยงาน {reg['owner']} "
            "(กำหนดได้ด้วย saraban unit save --issuer)",
        )
    display = display_number(
        ctx, series, reg["display_code"], number, reg["year"], provisional_id is not None, issuer
    )
    entry_id = store.insert(
        "register_entries",
        {
            "register": reg["id"],
            "number": None if provisional_id else number,
            "display": display,
            "action": action,
            "provisional_id": provisional_id,
            "at": now,
        },
    )
    crash_point("node_number_before_envelope")
    return Issued(reg["id"], number, display, provisional_id, entry_id)


def announce(
    ctx: NodeContext,
    store: Store,
    issued: Issued,
    now: float,
    *,
    action: str = "issued",
    letter_env_id: str | None = None,
    letter_id: int | None = None,
    subject: str | None = None,
    reason: str | None = None,
) -> Envelope:
    """Write the ``register`` envelope for an allocated number and link it to its letter."""
    entry = RegisterEntry(
        register=issued.register,
        action=action,
        number=None if issued.provisional else issued.number,
        display=issued.display,
        letter=letter_env_id,
        reason=reason,
        subject=subject,
        provisional=issued.provisional,
        provisional_id=issued.provisional_id,
    )
    _, env = feed.append(store, ctx.signer, entry, now)
    store.execute(
        "UPDATE register_entries SET env_id = ?, letter = ?, letter_env = ?, reason = ? "
        "WHERE id = ?",
        (env.env_id, letter_id, letter_env_id, reason, issued.entry_id),
    )
    return env


def reserve(ctx: NodeContext, store: Store, series_name: str, reason: str, actor: str) -> Issued:
    """Reserve (จองเลข) the next number of a series for later use."""
    series = parse_series(series_name)
    now = ctx.now()
    with store.transaction():
        issued = allocate(ctx, store, series, now, action="reserved")
        announce(ctx, store, issued, now, action="reserved", reason=reason or None)
        audit.record(
            store,
            now,
            actor,
            "reserve_number",
            f"register:{issued.register}",
            {"number": issued.display, "reason": reason},
        )
    return issued


def void(
    ctx: NodeContext, store: Store, register_id: str, number: int, reason: str, actor: str
) -> dict[str, Any]:
    """Void (ยกเลิกเลข) a reserved number, or an issued one whose letter was withdrawn."""
    if not (reason or "").strip():
        raise BadInput(
            "voiding a number needs a reason",
            code="reason_required",
            message_th="การยกเลิกเลขต้องระบุเหตุผล",
        )
    now = ctx.now()
    with store.transaction():
        entry = store.one(
            "SELECT * FROM register_entries WHERE register = ? AND number = ?",
            (register_id, number),
        )
        if entry is None:
            raise NotFound(
                f"number {number} was not issued in {register_id}",
                message_th=f"ไม่พบเลข {number} ในทะเบียนนี้",
            )
        if entry["action"] == "voided":
            raise Conflict("that number is already voided", message_th="เลขนี้ถูกยกเลิกแล้ว")
        if entry["letter"] is not None:
            state = store.scalar("SELECT state FROM letters WHERE id = ?", (entry["letter"],))
            if state not in ("withdrawn",):
                raise Conflict(
                    "that number belongs to a letter that was sent; withdraw the letter first",
                    message_th="เลขนี้ใช้กับหนังสือที่ส่งแล้ว ต้องถอนหนังสือก่อน",
                )
        store.execute(
            "UPDATE register_entries SET action = 'voided', reason = ? WHERE id = ?",
            (reason, entry["id"]),
        )
        msg = RegisterEntry(
            register=register_id,
            action="voided",
            number=number,
            display=entry["display"],
            reason=reason,
        )
        feed.append(store, ctx.signer, msg, now)
        audit.record(
            store,
            now,
            actor,
            "void_number",
            f"register:{register_id}",
            {"number": number, "reason": reason},
        )
    return {"register": register_id, "number": number, "action": "voided", "reason": reason}


def use_reserved(store: Store, register_id: str, number: int) -> dict[str, Any]:
    """The reserved entry ``number`` of a register, to be issued to a letter."""
    entry = store.one(
        "SELECT * FROM register_entries WHERE register = ? AND number = ? AND action = 'reserved'",
        (register_id, number),
    )
    if entry is None:
        raise Conflict(
            f"number {number} is not reserved in {register_id}", message_th="เลขนี้ไม่ได้ถูกจองไว้"
        )
    return entry


def list_registers(store: Store) -> list[dict[str, Any]]:
    """Every register with its counts, highest number and entries."""
    out = []
    for reg in store.query("SELECT * FROM registers ORDER BY year DESC, series"):
        entries = store.query(
            "SELECT number, display, action, letter, reason, provisional_id, final_number, at "
            "FROM register_entries WHERE register = ? ORDER BY COALESCE(number, 0), id",
            (reg["id"],),
        )
        numbers = [e["number"] for e in entries if e["number"] is not None]
        out.append(
            {
                **reg,
                "shared": bool(reg["shared"]),
                "high": max(numbers, default=0),
                "count": len(entries),
                "entries": entries,
            }
        )
    return out
