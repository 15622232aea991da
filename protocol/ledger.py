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
  (:func:`find_gaps`, :func:`leased_unused`), as ranges of numbers ``(first, last)``
  (:func:`as_ranges`, :func:`merge_ranges`, :func:`subtract_ranges`,
  :func:`count_numbers`), so that their cost follows the entries recorded, never the size
  of the numbers: a register whose highest number is huge costs what a small one costs.

Does not: store anything, read a clock, parse register ids (see
:class:`protocol.numbers.RegisterKey`) or sign leases.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from .errors import BoundsError
from .limits import MAX_RUNNING_NUMBER
from .numbers import RegisterKey

NumberRange = tuple[int, int]
"""Numbers ``first`` .. ``last`` of a register, both included."""

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
    """The next ``count`` numbers of a shared register, for ``office``; raise
    :class:`BoundsError` when they would pass :data:`~protocol.limits.MAX_RUNNING_NUMBER`."""
    if count < 1:
        raise ValueError("a lease covers at least one number")
    start = next_free_number(highest_leased_end, highest_recorded)
    end = start + count - 1
    if end > MAX_RUNNING_NUMBER:
        raise BoundsError(
            "end",
            f"at most {MAX_RUNNING_NUMBER}",
            f"the register has no {count} numbers left below {MAX_RUNNING_NUMBER}",
        )
    return LeaseBlock(office, start, end)


def within_leases(number: int, office: str, blocks: Iterable[LeaseBlock]) -> bool:
    """True when ``number`` lies in a block leased to ``office``."""
    return any(b.office == office and number in b for b in blocks)


def merge_ranges(ranges: Iterable[NumberRange]) -> list[NumberRange]:
    """``ranges`` sorted, with overlapping and adjacent ones joined."""
    out: list[NumberRange] = []
    for first, last in sorted(ranges):
        if out and first <= out[-1][1] + 1:
            if last > out[-1][1]:
                out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return out


def as_ranges(numbers: Iterable[int]) -> list[NumberRange]:
    """Runs of consecutive numbers: ``{1, 2, 3, 7}`` is ``[(1, 3), (7, 7)]``."""
    return merge_ranges((n, n) for n in set(numbers))


def subtract_ranges(ranges: list[NumberRange], remove: list[NumberRange]) -> list[NumberRange]:
    """The numbers of ``ranges`` that are not in ``remove``, as ranges; both arguments
    sorted and merged (:func:`merge_ranges`)."""
    out: list[NumberRange] = []
    i = 0
    for first, last in ranges:
        while i < len(remove) and remove[i][1] < first:
            i += 1
        j, start = i, first
        while j < len(remove) and remove[j][0] <= last:
            if remove[j][0] > start:
                out.append((start, remove[j][0] - 1))
            start = max(start, remove[j][1] + 1)
            j += 1
        if start <= last:
            out.append((start, last))
    return out


def count_numbers(ranges: Iterable[NumberRange]) -> int:
    """How many numbers ``ranges`` hold (ranges that do not overlap)."""
    return sum(last - first + 1 for first, last in ranges)


def _leased_ranges(blocks: Iterable[LeaseBlock]) -> list[NumberRange]:
    return merge_ranges((b.start, b.end) for b in blocks if b.start <= b.end)


def leased_unused(blocks: Iterable[LeaseBlock], used: Collection[int]) -> list[NumberRange]:
    """Numbers leased out but neither issued nor voided yet, as ranges in order."""
    return subtract_ranges(_leased_ranges(blocks), as_ranges(used))


def find_gaps(
    issued: Collection[int], voided: Collection[int], blocks: Iterable[LeaseBlock]
) -> list[NumberRange]:
    """Unexplained gaps, as ranges in order: numbers in 1 .. highest issued or voided that
    are accounted for by nothing (not issued, not voided, not waiting unused in a granted
    lease)."""
    used = set(issued) | set(voided)
    if not used:
        return []
    accounted = merge_ranges([*as_ranges(used), *_leased_ranges(blocks)])
    return subtract_ranges([(1, max(used))], accounted)
