"""Pure rules of the numbering ledger kept by the hub, the numbering authority.

Does:

* who may write to a register (:func:`may_write`): its owner unit and the owner's
  sub-units (``ชม 0017`` writes to ``ชม 0017.3``'s registers), or a member of a shared
  register;
* whether a number is a duplicate of one already issued (:func:`number_conflict`);
* the next block of a shared register to lease (:func:`next_lease_block`), the next free
  number for a provisional entry (:func:`next_free_number`), and whether a number lies in
  an office's leases (:func:`within_leases`);
* the report arithmetic: unexplained gaps and leased-but-unused numbers
  (:func:`find_gaps`, :func:`leased_unused`).

Does not: store anything, read a clock, parse register ids (see
:class:`protocol.numbers.RegisterKey`) or sign leases.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from .numbers import RegisterKey

ISSUING_ACTIONS = frozenset({"issued", "reserved", "paper_registered"})
"""Register actions that take a number, so that nobody else may take it too."""


@dataclass(frozen=True)
class LeaseBlock:
    """Numbers ``start`` .. ``end`` (inclusive) of a shared register, leased to ``office``."""

    office: str
    start: int
    end: int

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and self.start <= number <= self.end


@dataclass(frozen=True)
class LedgerEntry:
    """A number already recorded in one register: who took it, and how."""

    number: int
    action: str
    office: str
    env_id: str


def owns_unit(office: str, unit: str) -> bool:
    """True when ``unit`` is ``office`` itself or one of its sub-units (``office.x``)."""
    return unit == office or unit.startswith(office + ".")


def may_write(office: str, register: RegisterKey, shared_members: Collection[str] | None) -> bool:
    """May ``office`` record entries in ``register``?

    ``shared_members`` is the member list when the register is shared (numbered by the hub
    through leases), else None. A shared register is written by its members only; an owned
    register by its owner unit and the owner's parent office.
    """
    if shared_members is not None:
        return office in shared_members
    return owns_unit(office, register.owner)


def number_conflict(
    existing: Iterable[LedgerEntry], office: str, action: str, env_id: str
) -> LedgerEntry | None:
    """The entry that makes taking this number a duplicate, or None if it may be taken.

    Only issuing actions conflict. An office may issue a number it reserved itself
    (จองเลข, then use it); any other second taking of a number is a duplicate.
    """
    if action not in ISSUING_ACTIONS:
        return None
    for entry in existing:
        if entry.env_id == env_id or entry.action not in ISSUING_ACTIONS:
            continue
        if entry.action == "reserved" and entry.office == office and action != "reserved":
            continue
        return entry
    return None


def next_free_number(highest_leased_end: int, highest_recorded: int) -> int:
    """The first number above every lease and every recorded number of a register."""
    return 1 + max(highest_leased_end, highest_recorded, 0)


def next_lease_block(
    office: str, highest_leased_end: int, highest_recorded: int, count: int
) -> LeaseBlock:
    """The next ``count`` numbers of a shared register, for ``office``."""
    if count < 1:
        raise ValueError("a lease covers at least one number")
    start = next_free_number(highest_leased_end, highest_recorded)
    return LeaseBlock(office, start, start + count - 1)


def within_leases(number: int, office: str, blocks: Iterable[LeaseBlock]) -> bool:
    """True when ``number`` lies in a block leased to ``office``."""
    return any(b.office == office and number in b for b in blocks)


def _numbers_in_leases(blocks: Iterable[LeaseBlock]) -> set[int]:
    out: set[int] = set()
    for b in blocks:
        out.update(range(b.start, b.end + 1))
    return out


def leased_unused(blocks: Iterable[LeaseBlock], used: Collection[int]) -> list[int]:
    """Numbers leased out but neither issued nor voided yet, in order."""
    used_set = set(used)
    return sorted(n for n in _numbers_in_leases(blocks) if n not in used_set)


def find_gaps(
    issued: Collection[int], voided: Collection[int], blocks: Iterable[LeaseBlock]
) -> list[int]:
    """Unexplained gaps: numbers in 1 .. highest issued or voided that are accounted for by
    nothing (not issued, not voided, not waiting unused in a granted lease)."""
    accounted = set(issued) | set(voided)
    if not accounted:
        return []
    accounted |= _numbers_in_leases(blocks)
    return [n for n in range(1, max(set(issued) | set(voided)) + 1) if n not in accounted]
