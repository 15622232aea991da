"""The numbering ledger's pure rules: who writes where, duplicates, leases and gaps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.ledger import (
    LeaseBlock,
    LedgerEntry,
    find_gaps,
    leased_unused,
    may_write,
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


def test_gaps_are_numbers_nothing_explains() -> None:
    blocks = [LeaseBlock("ชม 0017", 20, 25)]
    assert find_gaps({1, 2, 5, 22}, {3}, blocks) == [4, *range(6, 20)]
    assert find_gaps(set(), set(), blocks) == []
    assert leased_unused(blocks, {22}) == [20, 21, 23, 24, 25]


@given(st.sets(st.integers(1, 300)), st.sets(st.integers(1, 300)))
def test_every_number_up_to_the_highest_is_issued_voided_or_a_gap(
    issued: set[int], voided: set[int]
) -> None:
    gaps = find_gaps(issued, voided, [])
    top = max(issued | voided, default=0)
    assert sorted(set(gaps) | issued | voided) == list(range(1, top + 1))
    assert not set(gaps) & (issued | voided)
