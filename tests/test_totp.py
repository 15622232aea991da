"""The second factor and the published account list, as pure functions: RFC 6238's test
vectors, the window of steps a code is good in, the URI an authenticator reads, and the
``accounts`` body every field of which the hub checks (a table of bad bodies)."""

from __future__ import annotations

import base64
import copy
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import limits, totp
from protocol.accounts import (
    ACCOUNTS_KIND,
    AccountList,
    account_list,
    scrypt_hash_problem,
)
from protocol.errors import BadMessage, BoundsError
from protocol.hub_messages import HUB_KINDS
from protocol.messages import FEED_KINDS

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
"""RFC 6238 appendix B's SHA-1 key, ``12345678901234567890`` in ASCII."""
RFC_VECTORS = {
    59: "94287082",
    1111111109: "07081804",
    1111111111: "14050471",
    1234567890: "89005924",
    2000000000: "69279037",
    20000000000: "65353130",
}
"""RFC 6238 appendix B, SHA-1: Unix time → the 8-digit code (six digits are its last six)."""


@pytest.mark.parametrize(("t", "code"), list(RFC_VECTORS.items()))
def test_codes_are_rfc_6238s_test_vectors(t: int, code: str) -> None:
    assert totp.code_at(RFC_SECRET, t) == code[-6:]
    assert totp.check_code(RFC_SECRET, code[-6:], t) == t // 30


def test_a_code_is_good_one_step_either_side_and_names_its_step() -> None:
    code = totp.code_at(RFC_SECRET, 1111111109)  # step 37037036
    assert totp.check_code(RFC_SECRET, code, 1111111109 - 30) == 37037036
    assert totp.check_code(RFC_SECRET, code, 1111111109 + 30) == 37037036
    assert totp.check_code(RFC_SECRET, code, 1111111109 + 60) is None
    assert totp.check_code(RFC_SECRET, code, 1111111109 + 30, window=0) is None


@pytest.mark.parametrize(
    "typed", ["081 804", "๐๘๑๘๐๔", " 081804\n"], ids=["spaced", "thai_digits", "padded"]
)
def test_a_code_may_be_typed_as_people_type_it(typed: str) -> None:
    assert totp.check_code(RFC_SECRET, typed, 1111111109) == 37037036


@pytest.mark.parametrize("typed", ["", "08180", "0818044", "²²²²²²", "abcdef", "9" * 5000])
def test_anything_but_six_digits_matches_nothing(typed: str) -> None:
    assert totp.check_code(RFC_SECRET, typed, 1111111109) is None


def test_a_new_secret_is_160_random_bits_in_base32() -> None:
    secrets = {totp.new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        assert len(totp.secret_bytes(secret)) == 20
        assert totp.normalise_secret(totp.grouped(secret).lower()) == secret


def test_the_uri_is_what_an_authenticator_reads() -> None:
    uri = totp.otpauth_uri(RFC_SECRET, "somsri (ชม 0017)", "สารบรรณ มท.")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/สารบรรณ มท.:somsri (ชม 0017)"
    assert parse_qs(parts.query) == {
        "secret": [RFC_SECRET],
        "issuer": ["สารบรรณ มท."],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }


@pytest.mark.parametrize("secret", ["", "ABC", "A" * 15, "0" * 32, "A" * 129, "ก" * 32])
def test_a_secret_that_is_no_base32_is_refused(secret: str) -> None:
    with pytest.raises(totp.BadSecret):
        totp.code_at(secret, 0)


@given(st.integers(0, 2**40), st.binary(min_size=10, max_size=64))
def test_every_code_is_six_digits_and_checks_at_its_own_time(t: int, key: bytes) -> None:
    secret = base64.b32encode(key).decode().rstrip("=")
    code = totp.code_at(secret, t)
    assert re.fullmatch(r"[0-9]{6}", code)
    assert totp.check_code(secret, code, t) is not None


# -- the accounts body ------------------------------------------------------------------------

HASH = "scrypt$16384$8$1$AAECAwQFBgcICQoLDA0ODw==$zH8pEgtITKqH13Jwzdb8Be+b5d+K9bTIMFkNdm8qBBg="
"""The hash of ``รหัสผ่านยาวพอ-2569`` with a fixed salt: the same in every test worker, which
collect the parameters built from it (a new random salt each would differ)."""
GOOD = {
    "username": "somsri",
    "display_name": "สมศรี ธุรการ",
    "roles": ["clerk"],
    "password_hash": HASH,
    "active": True,
    "totp_secret": RFC_SECRET,
}
BODY = account_list("ชม 0017", 3, "2026-11-18T11:06:40Z", [GOOD]).to_dict()


def test_the_accounts_kind_is_neither_a_feed_kind_nor_a_hub_kind() -> None:
    assert ACCOUNTS_KIND not in FEED_KINDS and ACCOUNTS_KIND not in HUB_KINDS
    parsed = AccountList.from_dict(BODY)
    assert parsed.to_dict() == BODY and parsed.entries()[0].totp_secret == RFC_SECRET


def test_unknown_fields_are_kept_for_a_newer_peer() -> None:
    newer = copy.deepcopy(BODY)
    newer["ministry_note"] = "x"
    newer["accounts"][0]["phone"] = "053-000000"
    assert AccountList.from_dict(newer).to_dict() == newer


def _with(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(BODY)
    target: Any = body
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is _DROP:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return body


_DROP = object()
BAD_BODIES: dict[str, tuple[dict[str, Any], type[BadMessage]]] = {
    "version_zero": (_with("version", 0), BoundsError),
    "version_text": (_with("version", "3"), BadMessage),
    "office_missing": (_with("office", _DROP), BadMessage),
    "office_blank": (_with("office", " "), BadMessage),
    "accounts_not_a_list": (_with("accounts", {}), BadMessage),
    "too_many_accounts": (_with("accounts", [GOOD] * (limits.MAX_ACCOUNTS + 1)), BoundsError),
    "user_listed_twice": (_with("accounts", [GOOD, GOOD]), BadMessage),
    "username_upper_case": (_with("accounts.0.username", "Somsri"), BadMessage),
    "username_of_5000_characters": (_with("accounts.0.username", "s" * 5000), BoundsError),
    "display_name_blank": (_with("accounts.0.display_name", " "), BadMessage),
    "display_name_too_long": (_with("accounts.0.display_name", "ก" * 201), BoundsError),
    "role_not_a_name": (_with("accounts.0.roles", ["Admin!"]), BadMessage),
    "role_twice": (_with("accounts.0.roles", ["clerk", "clerk"]), BadMessage),
    "too_many_roles": (_with("accounts.0.roles", [f"r{n}" for n in range(17)]), BoundsError),
    "active_missing": (_with("accounts.0.active", _DROP), BadMessage),
    "active_as_number": (_with("accounts.0.active", 1), BadMessage),
    "hash_plain_text": (_with("accounts.0.password_hash", "hunter2"), BadMessage),
    "hash_costing_a_gigabyte": (
        _with("accounts.0.password_hash", HASH.replace("$16384$", "$1048576$")),
        BadMessage,
    ),
    "hash_weaker_than_the_node_makes": (
        _with("accounts.0.password_hash", HASH.replace("$16384$", "$1024$")),
        BadMessage,
    ),
    "secret_lower_case": (_with("accounts.0.totp_secret", RFC_SECRET.lower()), BadMessage),
    "secret_not_base32": (_with("accounts.0.totp_secret", "0" * 32), BadMessage),
    "account_not_an_object": (_with("accounts", ["somsri"]), BadMessage),
}
"""Bodies of an ``accounts`` envelope the hub refuses, and the error each gets."""


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_a_bad_accounts_body_is_refused_without_quoting_a_hash_or_secret(name: str) -> None:
    body, error = BAD_BODIES[name]
    with pytest.raises(error) as refused:
        AccountList.from_dict(body)
    said = str(refused.value)
    assert (
        HASH not in said and HASH.rsplit("$", maxsplit=1)[-1] not in said and RFC_SECRET not in said
    )


@pytest.mark.parametrize(
    ("stored", "fine"),
    [
        (HASH, True),
        ("scrypt$16384$8$1$AAAA$BBBB", False),
        ("scrypt$16384$8$9$" + HASH.split("$", 4)[4], False),
        ("scrypt$16385$8$1$" + HASH.split("$", 4)[4], False),
        ("argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", False),
        ("scrypt$²$8$1$" + HASH.split("$", 4)[4], False),
    ],
)
def test_only_scrypt_hashes_of_a_bounded_cost_are_taken(stored: str, fine: bool) -> None:
    assert (scrypt_hash_problem(stored) is None) is fine
