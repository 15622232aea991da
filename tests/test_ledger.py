"""The numbering ledger's pure rules: who writes where, duplicates, leases and gaps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.ledger import (
    LeaseBlock,
    LedgerEntry,
    count_numbers,
    find_gaps,
    leased_unused,
    may_write,
    merge_ranges,
    next_free_number,
    next_lease_block,
    number_conflict,
    within_leases,
)
from protocol.numbers import RegisterKey

OWNED = RegisterKey.from_id("ชม 0017|ส่ง|2569")
SUB_UNIT = RegisterKey.from_id("ชม 0017.3|ส่ง|2569")
SHARED = RegisterKey.from_id("มท 0200|ว|2569")


@pytest.mark.parametrize(
    ("office", "register", "members", "allowed"),
    [
        ("ชม 0017", OWNED, None, True),
        ("ชม 0017", SUB_UNIT, None, True),
        ("ชม 0017.3", OWNED, None, False),
        ("ชร 0017", OWNED, None, False),
        ("ชม 001", OWNED, None, False),
        ("ชม 0017", SHARED, ["ชม 0017", "ชร 0017"], True),
        ("ขก 0017", SHARED, ["ชม 0017", "ชร 0017"], False),
        ("มท 0200", SHARED, ["ชม 0017"], False),
    ],
)
def test_who_may_write_to_a_register(
    office: str, register: RegisterKey, members: list[str] | None, allowed: bool
) -> None:
    assert may_write(office, register, members) is allowed


def test_second_issue_of_a_number_is_a_duplicate() -> None:
    held = [LedgerEntry(5, "issued", "ชม 0017", "a" * 64)]
    assert number_conflict(held, "ชม 0017", "issued", "b" * 64) == held[0]


def test_same_envelope_again_is_not_a_duplicate() -> None:
    held = [LedgerEntry(5, "issued", "ชม 0017", "a" * 64)]
    assert number_conflict(held, "ชม 0017", "issued", "a" * 64) is None


def test_issuing_a_number_the_office_reserved_is_allowed() -> None:
    held = [LedgerEntry(5, "reserved", "ชม 0017", "a" * 64)]
    assert number_conflict(held, "ชม 0017", "issued", "b" * 64) is None
    assert number_conflict(held, "ชร 0017", "issued", "b" * 64) == held[0]


def test_voiding_an_issued_number_is_not_a_duplicate() -> None:
    held = [LedgerEntry(5, "issued", "ชม 0017", "a" * 64)]
    assert number_conflict(held, "ชม 0017", "voided", "b" * 64) is None


def test_next_lease_starts_above_leases_and_issued_numbers() -> None:
    assert next_lease_block("ชม 0017", 0, 0, 10) == LeaseBlock("ชม 0017", 1, 10)
    assert next_lease_block("ชม 0017", 10, 3, 5) == LeaseBlock("ชม 0017", 11, 15)
    assert next_lease_block("ชม 0017", 10, 40, 1) == LeaseBlock("ชม 0017", 41, 41)
    assert next_free_number(0, 0) == 1
    with pytest.raises(ValueError, match="at least one"):
        next_lease_block("ชม 0017", 0, 0, 0)


def test_number_must_lie_in_the_offices_own_lease() -> None:
    blocks = [LeaseBlock("ชม 0017", 1, 10), LeaseBlock("ชร 0017", 11, 20)]
    assert within_leases(10, "ชม 0017", blocks)
    assert not within_leases(11, "ชม 0017", blocks)
    assert within_leases(11, "ชร 0017", blocks)


def numbers_in(ranges: list[tuple[int, int]]) -> set[int]:
    return {n for first, last in ranges for n in range(first, last + 1)}


def test_gaps_are_ranges_of_numbers_nothing_explains() -> None:
    blocks = [LeaseBlock("ชม 0017", 20, 25)]
    assert find_gaps({1, 2, 5, 22}, {3}, blocks) == [(4, 4), (6, 19)]
    assert find_gaps(set(), set(), blocks) == []
    assert leased_unused(blocks, {22}) == [(20, 21), (23, 25)]


def test_a_huge_highest_number_gives_one_range_not_a_list_of_every_number() -> None:
    top = 2**53 - 1
    assert find_gaps({1, top}, set(), [LeaseBlock("ชม 0017", 10, 20)]) == [
        (2, 9),
        (21, top - 1),
    ]
    assert count_numbers(find_gaps({top}, set(), [])) == top - 1


@given(
    st.sets(st.integers(1, 300)),
    st.sets(st.integers(1, 300)),
    st.lists(st.tuples(st.integers(1, 320), st.integers(0, 30)), max_size=4),
)
def test_every_number_up_to_the_highest_is_issued_voided_leased_or_a_gap(
    issued: set[int], voided: set[int], leases: list[tuple[int, int]]
) -> None:
    blocks = [LeaseBlock("ชม 0017", start, start + size) for start, size in leases]
    gaps = find_gaps(issued, voided, blocks)
    top = max(issued | voided, default=0)
    leased = {n for b in blocks for n in range(b.start, b.end + 1)}
    missing = numbers_in(gaps)
    assert missing == set(range(1, top + 1)) - issued - voided - leased
    assert count_numbers(gaps) == len(missing)
    assert gaps == merge_ranges(gaps), "sorted, apart and not adjacent"
    unused = leased_unused(blocks, issued | voided)
    assert numbers_in(unused) == leased - issued - voided
