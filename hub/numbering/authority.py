"""The numbering authority: the ledger of every register, leases and finalisations.

From each accepted ``register`` envelope the hub records the number in the ledger of its
register (``owner|series|year``), after checking with :mod:`protocol.ledger` that the
office may write there, that the number is not already taken and, for a shared register,
that it lies in a block leased to the office. A provisional entry (issued offline after a
lease ran out) is given the next free number in the same transaction, and the hub-signed
``lease`` finalisation is put in the office's mailbox and, when the entry names the letter
that carried the number, in the mailbox of every office that letter was routed to, after
the letter. A letter routed after its number's finalisation (its register entry named no
letter: numbered, then dispatched) is followed by it there too
(:func:`finalisations_to_deliver`, called by :mod:`hub.federation.routing`).

Everything here runs inside the caller's write transaction; a :class:`NumberingRejected`
leaves only the count of the rejected attempt behind.
"""

from __future__ import annotations

from typing import Any

from hub.clock import iso_utc
from hub.directory import HubKeyring
from hub.errors import BadRequest, Conflict, Forbidden
from hub.store import HubStore
from protocol import errors as perr
from protocol import ledger
from protocol.api import register_digest
from protocol.envelope import Envelope
from protocol.hub_messages import Lease, finalised_display
from protocol.messages import Letter, RegisterEntry
from protocol.numbers import RegisterKey, parse_letter_number, search_key

NUMBERED_ACTIONS = ("issued", "voided", "reserved", "paper_registered")


class NumberingRejected(Exception):
    """A register envelope the numbering authority refuses (reason code + words)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse_register(register_id: str) -> RegisterKey:
    """The register named by an id; :class:`BadRequest` when malformed."""
    try:
        return RegisterKey.from_id(register_id)
    except perr.BadMessage as e:
        raise BadRequest(str(e), code="bad_register") from e


def shared_members(store: HubStore, key: RegisterKey) -> list[str] | None:
    """Members of the shared register ``key`` belongs to, or None for an owned register."""
    row = store.shared_register(key.owner, key.series.value)
    return None if row is None else list(row["members"])


def _blocks(store: HubStore, register: str) -> list[ledger.LeaseBlock]:
    return [ledger.LeaseBlock(r["office"], r["start"], r["end"]) for r in store.leases(register)]


def provisional_key(number: str | None) -> str | None:
    """The search key of a provisional letter number as written, else None."""
    if not number or "(" not in number:  # written "(ชั่วคราว n)"; most numbers are not
        return None
    try:
        parsed = parse_letter_number(number)
    except perr.BadLetterNumber:
        return None
    return search_key(number) if parsed.provisional else None


def _finalise(
    store: HubStore,
    keyring: HubKeyring,
    office: str,
    register: str,
    entry: RegisterEntry,
    now: float,
) -> int:
    number = ledger.next_free_number(store.lease_max_end(register), store.ledger_max(register))
    key = provisional_key(entry.display)
    provisional = entry.display if key else None
    lease = Lease(
        office=office,
        register=register,
        action="finalise",
        provisional_id=entry.provisional_id,
        number=number,
        at=iso_utc(now),
        letter=entry.letter,
        provisional_display=provisional,
        display=None if provisional is None else finalised_display(provisional, number),
    )
    env = keyring.sign(Lease.KIND, lease.to_dict())
    store.add_hub_envelope(
        env.env_id,
        "lease_finalise",
        office,
        register,
        env.to_bytes(),
        now,
        letter=entry.letter,
        provisional_key=key,
    )
    store.deliver(office, env.env_id, Lease.KIND)
    if entry.letter is not None and store.letter_sender(entry.letter) == office:
        # The letter came first in the office's feed, so it is routed already.
        for recipient in store.letter_recipients(entry.letter):
            store.deliver(recipient, env.env_id, Lease.KIND)
    return number


def finalisations_to_deliver(
    store: HubStore, letter: Letter, env_id: str, recipients: list[str]
) -> list[tuple[str, str, str]]:
    """The mailbox rows ``(office, env_id, kind)`` that follow ``letter`` to its
    ``recipients``: the finalisation of the provisional number it carries, if the hub made
    it final already."""
    key = provisional_key(letter.number)
    if key is None or not recipients:
        return []
    found = store.finalisations_of_letter(letter.origin, env_id, letter.register, key)
    return [(recipient, final, Lease.KIND) for final in found for recipient in recipients]


def record_entry(
    store: HubStore,
    keyring: HubKeyring,
    office: str,
    entry: RegisterEntry,
    env_id: str,
    now: float,
) -> str:
    """Check and record one register envelope; return a detail line for the push result.

    Raises :class:`NumberingRejected` (``bad_register``, ``not_your_register``,
    ``duplicate_number``, ``number_not_leased``, ``unknown_provisional``).
    """
    try:
        key = RegisterKey.from_id(entry.register)
    except perr.BadMessage as e:
        raise NumberingRejected("bad_register", str(e)) from e
    register = key.as_id()
    members = shared_members(store, key)
    if not ledger.may_write(office, key, members):
        raise NumberingRejected(
            "not_your_register", f"{office} may not write to register {register}"
        )
    number = entry.number
    detail = ""
    provisional_id = entry.provisional_id if entry.provisional else None
    if entry.provisional and entry.action in NUMBERED_ACTIONS:
        assert provisional_id is not None  # RegisterEntry.validate guarantees it
        earlier = store.provisional_entry(register, office, provisional_id)
        if entry.action in ("issued", "reserved"):  # both take a number: make it final
            if earlier is not None:
                raise NumberingRejected(
                    "duplicate_number",
                    f"provisional {provisional_id} was already finalised as {earlier['number']}",
                )
            number = _finalise(store, keyring, office, register, entry, now)
            detail = f"provisional {provisional_id} finalised as {number}"
        else:
            if earlier is None:
                raise NumberingRejected(
                    "unknown_provisional", f"provisional {provisional_id} was never finalised"
                )
            number = earlier["number"]
    elif number is not None and entry.action in NUMBERED_ACTIONS:
        conflict = ledger.number_conflict(
            (
                ledger.LedgerEntry(r["number"], r["action"], r["office"], r["env_id"])
                for r in store.ledger_numbers(register, number)
            ),
            office,
            entry.action,
            env_id,
        )
        if conflict is not None:
            store.add_numbering_rejection(register, number, office, env_id, "duplicate_number", now)
            raise NumberingRejected(
                "duplicate_number",
                f"{register} number {number} was already {conflict.action} by {conflict.office}",
            )
        if members is not None and not ledger.within_leases(
            number, office, _blocks(store, register)
        ):
            store.add_numbering_rejection(
                register, number, office, env_id, "number_not_leased", now
            )
            raise NumberingRejected(
                "number_not_leased", f"{register} number {number} is not leased to {office}"
            )
    store.add_ledger_entry(
        register,
        key.owner,
        key.series.value,
        key.year,
        number,
        entry.action,
        office,
        env_id,
        provisional_id,
        entry.reason,
        now,
        replaces=_replaces(entry),
    )
    return detail


def _replaces(entry: RegisterEntry) -> str | None:
    """The number an office's entry says it replaces (a node rebased after an old copy)."""
    value = entry.extra.get("replaces")
    return value[:100] if isinstance(value, str) and value else None


def grant_lease(
    store: HubStore,
    keyring: HubKeyring,
    office: str,
    register_id: str,
    count: int,
    lease_max: int,
    now: float,
) -> Envelope:
    """Lease the next ``count`` numbers of a shared register to ``office``.

    The grant is stored and put in the office's mailbox in one transaction, so a lost
    answer loses nothing.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= lease_max:
        raise BadRequest(f"count must be an integer from 1 to {lease_max}")
    key = parse_register(register_id)
    register = key.as_id()
    with store.write():
        members = shared_members(store, key)
        if members is None:
            raise Forbidden(f"{register} is not a shared register", code="not_shared")
        if office not in members:
            raise Forbidden(f"{office} is not a member of {register}", code="not_your_register")
        try:
            block = ledger.next_lease_block(
                office, store.lease_max_end(register), store.ledger_max(register), count
            )
        except perr.BoundsError as e:
            raise Conflict(f"{register}: {e}", code="register_full") from e
        lease = Lease(
            office=office,
            register=register,
            action="grant",
            start=block.start,
            end=block.end,
            at=iso_utc(now),
        )
        env = keyring.sign(Lease.KIND, lease.to_dict())
        store.add_hub_envelope(env.env_id, "lease_grant", office, register, env.to_bytes(), now)
        store.add_lease(register, office, block.start, block.end, env.env_id, now)
        store.deliver(office, env.env_id, Lease.KIND)
    return env


def numbering_report(store: HubStore) -> list[dict[str, Any]]:
    """Per register: issued, voided, gaps, leased_unused, duplicates, provisional_pending.

    ``gaps`` lists, as ranges ``[first, last]``, the numbers in 1 .. highest that nothing
    explains (neither issued, nor voided, nor waiting unused in a granted lease) and
    ``gap_count`` how many numbers they hold; ``leased_unused`` counts leased numbers not
    yet used. Nothing here enumerates numbers, so a register whose highest number is huge
    costs no more than any other; ``duplicates`` counts rejected attempts to take a number twice;
    ``provisional_pending`` counts finalisations their office has not yet pulled;
    ``replaced`` lists the numbers an office gave in place of ones its old copy gave out
    twice (ADR 0012).
    """
    report = []
    for register in store.register_ids():
        key = RegisterKey.from_id(register)
        rows = store.ledger(register)
        issued = {r["number"] for r in rows if r["action"] in ledger.ISSUING_ACTIONS}
        voided = {r["number"] for r in rows if r["action"] == "voided"}
        issued.discard(None)
        voided.discard(None)
        blocks = _blocks(store, register)
        gaps = ledger.find_gaps(issued, voided, blocks)
        report.append(
            {
                "register": register,
                "owner": key.owner,
                "series": key.series.value,
                "year": key.year,
                "shared": shared_members(store, key) is not None,
                "issued": len(issued),
                "voided": len(voided),
                "highest": max(issued | voided, default=0),
                "gaps": [[first, last] for first, last in gaps],
                "gap_count": ledger.count_numbers(gaps),
                "leased_unused": ledger.count_numbers(
                    ledger.leased_unused(blocks, issued | voided)
                ),
                "duplicates": store.numbering_rejections(register, "duplicate_number"),
                "provisional_pending": store.pending_finalisations_in(register),
                "replaced": [
                    {"number": r["number"], "replaces": r["replaces"], "office": r["office"]}
                    for r in rows
                    if r["replaces"]
                ],
            }
        )
    return report


def register_digests(store: HubStore, office: str) -> dict[str, dict[str, Any]]:
    """Anti-entropy digests of the register envelopes ``office`` pushed, per register."""
    return {
        register: {"count": len(ids), "digest": register_digest(ids)}
        for register, ids in store.office_register_env_ids(office).items()
    }
