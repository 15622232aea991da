"""Shared registers: leases of hub numbers, provisional numbers and their finalisation.

A register the directory lists as shared (``shared_registers``, with this office as a
member) is numbered by the hub. The hub grants the office blocks of numbers (leases) ahead
of need; :func:`lease_needs` says which registers are running low, and the sync asks for
more. A hub ``lease`` envelope is either a grant (:func:`apply_lease` records it) or the
finalisation of a provisional number the office issued offline once its leases ran out
(:func:`finalise` writes the final number on the register entry and on the letter, and
leaves a notice for the clerk). The hub also sends a finalisation to every office that
received the letter carrying the provisional number: :func:`finalise_received` shows the
final number on the received letter (inbox, registers, search) and leaves the same notice;
its เลขรับ does not change. Either way the provisional number stays findable: it is kept in
``letter_number_aliases``, which search reads. Leased numbers still unused at year end are
voided with a reason (:func:`void_unused_leases`), so the hub sees no unexplained gap.

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
from protocol.hub_messages import Lease, finalised_display
from protocol.messages import RegisterEntry
from protocol.numbers import RegisterKey, Series, YearBasis, search_key

YEAR_END_VOID_REASON = "เลขที่ได้รับจัดสรรไม่ได้ใช้ สิ้นปี"


def apply_lease(ctx: NodeContext, store: Store, env: Envelope, lease: Lease, now: float) -> str:
    """Apply a verified hub ``lease`` envelope: a grant or a finalisation, of this office's
    numbers or of a letter it received. Idempotent."""
    if lease.office != ctx.office:
        if lease.action == "finalise":
            return finalise_received(store, lease, now)
        return "ignored: lease for another office"
    if lease.action == "grant":
        if store.scalar("SELECT 1 FROM leases WHERE env_id = ?", (env.env_id,)):
            return "duplicate"
        assert lease.start is not None and lease.end is not None
        ensure_register_by_id(ctx, store, lease.register)
        # A database back from an old copy may already hold numbers of this lease, issued
        # before the copy was lost and replayed from the hub's copy of the feed: the lease
        # goes on after them.
        used = store.scalar(
            "SELECT MAX(number) FROM register_entries"
            " WHERE register = ? AND number BETWEEN ? AND ?",
            (lease.register, lease.start, lease.end),
        )
        store.insert(
            "leases",
            {
                "env_id": env.env_id,
                "register": lease.register,
                "start": lease.start,
                "end": lease.end,
                "next": lease.start if used is None else int(used) + 1,
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
        _keep_alias(store, int(entry["letter"]), str(entry["display"]))
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


def finalise_received(store: Store, lease: Lease, now: float) -> str:
    """Show the final number on the letters received from ``lease.office`` that carry the
    provisional number it finalises; keep the provisional one for search. Idempotent.

    The letter is the one ``lease.letter`` names, or else the one from that office whose
    number in ``lease.register`` is ``lease.provisional_display``. Its new number is its own
    signed provisional number with the hub's ``number`` (``lease.display`` must agree), so a
    finalisation can change nothing but the running number of a provisional one.
    """
    number = int(lease.number or 0)
    rows = _received_carrying(store, lease)
    if not rows:
        return "ignored: no letter received with that number"
    finalised: list[str] = []
    for row in rows:
        provisional = str(row["number"] or "")
        display = finalised_display(provisional, number)
        if display is None or (
            lease.display is not None and search_key(lease.display) != search_key(display)
        ):
            continue
        _keep_alias(store, int(row["id"]), provisional)
        notice = f"เลขชั่วคราว {provisional} ได้รับเลขจริงเป็น {display}"
        store.execute(
            "UPDATE letters SET number = ?, number_key = ?, number_notice = ? WHERE id = ?",
            (display, search_key(display), notice, row["id"]),
        )
        audit.record(
            store,
            now,
            "hub",
            "number_finalised",
            f"letter:{row['id']}",
            {"provisional": provisional, "final": display, "from": lease.office},
        )
        finalised.append(display)
    if not finalised:
        already = lease.display is not None and any(
            search_key(str(r["number"] or "")) == search_key(lease.display) for r in rows
        )
        return "duplicate" if already else "ignored: the letter does not carry that number"
    return f"finalised {', '.join(finalised)}"


def _received_carrying(store: Store, lease: Lease) -> list[dict[str, Any]]:
    """Received letters of ``lease.office`` the finalisation is about: the one it names, and
    any carrying its provisional number, whether still shown or already replaced."""
    rows: dict[int, dict[str, Any]] = {}
    if lease.letter is not None:
        for r in store.query(
            "SELECT id, number FROM letters "
            "WHERE env_id = ? AND direction = 'in' AND origin = ? AND register = ?",
            (lease.letter, lease.office, lease.register),
        ):
            rows[int(r["id"])] = r
    if lease.provisional_display:
        key = search_key(lease.provisional_display)
        for r in store.query(
            "SELECT id, number FROM letters WHERE direction = 'in' AND origin = ? "
            "AND register = ? AND (number_key = ? OR id IN "
            "(SELECT letter FROM letter_number_aliases WHERE number_key = ?))",
            (lease.office, lease.register, key, key),
        ):
            rows[int(r["id"])] = r
    return [rows[i] for i in sorted(rows)]


def _keep_alias(store: Store, letter_id: int, number: str) -> None:
    """Keep ``number``, which the letter no longer shows, findable by search."""
    store.execute(
        "INSERT OR IGNORE INTO letter_number_aliases (letter, number, number_key) VALUES (?, ?, ?)",
        (letter_id, number, search_key(number)),
    )


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
