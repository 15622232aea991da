"""Shared registers: leases of hub numbers, provisional numbers and their finalisation.

A register the directory lists as shared (``shared_registers``, with this office as a
member) is numbered by the hub. The hub grants the office blocks of numbers (leases) ahead
of need; :func:`lease_needs` says which registers are running low, and the sync asks for
more. A hub ``lease`` envelope is either a grant (:func:`apply_lease` records it) or the
finalisation of a provisional number the office issued offline once its leases ran out
(:func:`finalise` writes the final number on the register entry and on the letter, and
leaves a notice for the clerk). Leased numbers still unused at year end are voided with a
reason (:func:`void_unused_leases`), so the hub sees no unexplained gap.

Does not: take a number for a letter (:func:`node.records.registers.allocate` draws from
the open leases, or issues the provisional number), fetch leases from the hub
(:mod:`node.sync.push`), or verify envelopes (the caller has).
"""

from __future__ import annotations

from typing import Any

from node.context import NodeContext
from node.records.directory import load_trusted, shared_registers
from node.records.registers import display_number, ensure_register_by_id, register_year_at
from node.storage import audit, feed
from node.storage.store import Store
from protocol.envelope import Envelope
from protocol.errors import BadMessage
from protocol.hub_messages import Lease
from protocol.messages import RegisterEntry
from protocol.numbers import RegisterKey, Series, YearBasis, search_key

YEAR_END_VOID_REASON = "เลขที่ได้รับจัดสรรไม่ได้ใช้ สิ้นปี"


def apply_lease(ctx: NodeContext, store: Store, env: Envelope, lease: Lease, now: float) -> str:
    """Apply a verified hub ``lease`` envelope: a grant or a finalisation. Idempotent."""
    if lease.office != ctx.office:
        return "ignored: lease for another office"
    if lease.action == "grant":
        if store.scalar("SELECT 1 FROM leases WHERE env_id = ?", (env.env_id,)):
            return "duplicate"
        assert lease.start is not None and lease.end is not None
        ensure_register_by_id(ctx, store, lease.register)
        store.insert(
            "leases",
            {
                "env_id": env.env_id,
                "register": lease.register,
                "start": lease.start,
                "end": lease.end,
                "next": lease.start,
                "granted_at": now,
            },
        )
        return f"granted {lease.start}-{lease.end}"
    return finalise(ctx, store, str(lease.provisional_id), int(lease.number or 0), now)


def finalise(ctx: NodeContext, store: Store, provisional_id: str, number: int, now: float) -> str:
    """Replace a provisional number by the hub's final one, and tell the clerk."""
    entry = store.one("SELECT * FROM register_entries WHERE provisional_id = ?", (provisional_id,))
    if entry is None:
        return "ignored: unknown provisional number"
    if entry["final_number"] is not None:
        return "duplicate"
    reg = store.one("SELECT * FROM registers WHERE id = ?", (entry["register"],))
    if reg is None:
        return "ignored: unknown register"
    display = display_number(
        ctx, Series(reg["series"]), reg["display_code"], number, reg["year"], False
    )
    store.execute(
        "UPDATE register_entries SET number = ?, final_number = ?, display = ? WHERE id = ?",
        (number, number, display, entry["id"]),
    )
    if entry["letter"] is not None:
        notice = f"เลขชั่วคราว {entry['display']} ได้รับเลขจริงเป็น {display}"
        store.execute(
            "UPDATE letters SET number = ?, number_key = ?, register_number = ?, "
            "number_notice = ? WHERE id = ?",
            (display, search_key(display), number, notice, entry["letter"]),
        )
        audit.record(
            store,
            now,
            "hub",
            "number_finalised",
            f"letter:{entry['letter']}",
            {"provisional": entry["display"], "final": display},
        )
    return f"finalised {display}"


def lease_needs(ctx: NodeContext, store: Store, now: float) -> list[str]:
    """Shared registers of this year whose unused leased numbers are running low."""
    trusted = load_trusted(store)
    if trusted is None:
        return []
    low = max(1, int(ctx.settings["LEASE_SIZE"]) // 2)
    wanted: list[str] = []
    for entry in shared_registers(trusted):
        if ctx.office not in entry.get("members", []):
            continue
        try:
            series = Series(str(entry.get("series")))
            basis = YearBasis(entry.get("basis") or YearBasis.CALENDAR.value)
            reg_id = RegisterKey(str(entry["owner"]), series, register_year_at(now, basis)).as_id()
        except (ValueError, KeyError, BadMessage):
            continue
        left = store.scalar(
            'SELECT COALESCE(SUM("end" - next + 1), 0) FROM leases '
            'WHERE register = ? AND closed = 0 AND next <= "end"',
            (reg_id,),
        )
        if int(left) < low:
            wanted.append(reg_id)
    return wanted


def provisional_pending(store: Store) -> int:
    """Provisional numbers the hub has not finalised yet."""
    return int(
        store.scalar(
            "SELECT COUNT(*) FROM register_entries "
            "WHERE provisional_id IS NOT NULL AND final_number IS NULL"
        )
    )


def void_unused_leases(ctx: NodeContext, store: Store, now: float) -> list[dict[str, Any]]:
    """Void every leased number left unused in registers of past years (year end)."""
    voided: list[dict[str, Any]] = []
    with store.transaction():
        for lease in store.query(
            "SELECT l.*, r.year, r.basis, r.series, r.display_code "
            "FROM leases l JOIN registers r ON r.id = l.register "
            "WHERE l.closed = 0"
        ):
            current = register_year_at(now, YearBasis(lease["basis"] or "calendar"))
            if lease["year"] >= current:
                continue
            for number in range(int(lease["next"]), int(lease["end"]) + 1):
                store.insert(
                    "register_entries",
                    {
                        "register": lease["register"],
                        "number": number,
                        "action": "voided",
                        "reason": YEAR_END_VOID_REASON,
                        "at": now,
                        "display": display_number(
                            ctx,
                            Series(lease["series"]),
                            lease["display_code"],
                            number,
                            lease["year"],
                            False,
                        ),
                    },
                )
                msg = RegisterEntry(
                    register=lease["register"],
                    action="voided",
                    number=number,
                    reason=YEAR_END_VOID_REASON,
                )
                feed.append(store, ctx.signer, msg, now)
                voided.append({"register": lease["register"], "number": number})
            store.execute(
                'UPDATE leases SET closed = 1, next = "end" + 1 WHERE id = ?', (lease["id"],)
            )
        if voided:
            audit.record(
                store, now, "system", "void_unused_leases", "registers", {"count": len(voided)}
            )
    return voided
