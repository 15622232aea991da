"""Sealed letters (protocol.sealing): who can open one, and that any alteration is refused
with the typed error and a reason, never opened and never anything else."""

from __future__ import annotations

import copy
import hashlib
import sys
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from protocol import sealing
from protocol.errors import SarabanError, SealingUnavailable, SealRefused
from protocol.keys import b64decode, b64encode
from protocol.sealing import (
    CHUNK_SIZE,
    SUITE,
    ContentKey,
    check_sealing_support,
    open_letter,
    private_key_id,
    seal_key_id,
    seal_letter,
)

SENDER, CHIANG_RAI, LAMPHUN, OUTSIDER = "ชม 0017", "ชร 0017", "ลพ 0017", "นน 0017"
SUBJECT = "ขอความร่วมมือตรวจสอบบัญชีรายชื่อ (ลับ)"
BODY = "ด้วยกระทรวงมหาดไทยขอให้จังหวัดตรวจสอบรายชื่อตามบัญชีแนบ ภายใน ๗ วัน"
CONTENT = {"subject": SUBJECT, "body": BODY, "salutation": "ผู้ว่าราชการจังหวัดเชียงราย"}
FILE = bytes(range(256)) * 700  # 179,200 bytes: three 64 KiB chunks, the last one short


def public_of(private: X25519PrivateKey) -> str:
    return b64encode(private.public_key().public_bytes_raw())


OFFICE_KEYS = {o: X25519PrivateKey.generate() for o in (CHIANG_RAI, LAMPHUN, OUTSIDER)}
OLD_CHIANG_RAI = X25519PrivateKey.generate()


def held(office: str, *extra: X25519PrivateKey) -> dict[str, X25519PrivateKey]:
    """The private keys an office holds, by key id."""
    return {private_key_id(k): k for k in (OFFICE_KEYS[office], *extra)}


def sealed_to(
    *offices: str, content: dict[str, Any] | None = None
) -> tuple[dict[str, Any], ContentKey]:
    key = ContentKey.fresh()
    recipients = {o: public_of(OFFICE_KEYS[o]) for o in offices}
    return seal_letter(key, content or CONTENT, sender=SENDER, recipients=recipients), key


def refused(reason: str, sealed: Any, office: str = CHIANG_RAI, **kw: Any) -> str:
    keys = kw.pop("private_keys", None) or held(office)
    with pytest.raises(SealRefused) as e:
        open_letter(sealed, sender=kw.pop("sender", SENDER), office=office, private_keys=keys)
    assert e.value.reason == reason, str(e.value)
    return str(e.value)


def test_installed_cryptography_supports_sealing() -> None:
    check_sealing_support()


def test_each_recipient_opens_the_letter_and_its_attachment() -> None:
    key = ContentKey.fresh()
    blob = key.seal_attachment(FILE)
    recipients = {o: public_of(OFFICE_KEYS[o]) for o in (CHIANG_RAI, LAMPHUN)}
    sealed = seal_letter(key, CONTENT, sender=SENDER, recipients=recipients)
    assert sealed["suite"] == SUITE and set(sealed["keys"]) == {CHIANG_RAI, LAMPHUN}
    assert sealed["content"] == hashlib.sha256(b64decode(sealed["box"])).hexdigest()
    for office in (CHIANG_RAI, LAMPHUN):
        content, opened = open_letter(
            sealed, sender=SENDER, office=office, private_keys=held(office)
        )
        assert content == CONTENT
        assert opened.open_attachment(blob) == FILE


def test_sealed_letter_shows_no_plaintext_and_no_key() -> None:
    key = ContentKey.fresh()
    blob = key.seal_attachment(FILE)
    sealed = seal_letter(
        key, CONTENT, sender=SENDER, recipients={CHIANG_RAI: public_of(OFFICE_KEYS[CHIANG_RAI])}
    )
    wire = repr(sealed).encode() + b64decode(sealed["box"]) + blob
    for secret in (
        SUBJECT.encode(),
        BODY.encode(),
        FILE[:64],
        key.secret,
        b64encode(key.secret).encode(),
    ):
        assert secret not in wire
    assert key.secret.hex() not in repr(key) and str(key.secret) not in repr(key)


def test_empty_attachment_round_trips() -> None:
    key = ContentKey.fresh()
    assert key.open_attachment(key.seal_attachment(b"")) == b""


def test_office_not_on_the_list_cannot_open() -> None:
    sealed, _ = sealed_to(CHIANG_RAI)
    assert "not sealed to this office" in refused("not_a_recipient", sealed, office=OUTSIDER)


def test_hub_holding_no_key_cannot_open() -> None:
    sealed, _ = sealed_to(CHIANG_RAI, LAMPHUN)
    hub_key = X25519PrivateKey.generate()
    message = refused("key_not_held", sealed, private_keys={private_key_id(hub_key): hub_key})
    assert "send the letter again" in message


def test_office_holding_the_envelope_but_not_the_key_cannot_open() -> None:
    sealed, _ = sealed_to(CHIANG_RAI)
    # Lamphun holds the whole envelope and claims to be Chiang Rai with its own key.
    refused("key_not_held", sealed, office=CHIANG_RAI, private_keys=held(LAMPHUN))


def test_letter_sealed_to_an_older_key_stays_readable() -> None:
    key = ContentKey.fresh()
    sealed = seal_letter(
        key, CONTENT, sender=SENDER, recipients={CHIANG_RAI: public_of(OLD_CHIANG_RAI)}
    )
    content, _ = open_letter(
        sealed, sender=SENDER, office=CHIANG_RAI, private_keys=held(CHIANG_RAI, OLD_CHIANG_RAI)
    )
    assert content == CONTENT
    refused("key_not_held", sealed)  # the key was lost: said, never silent


def test_wrapped_key_swapped_between_recipients_is_refused() -> None:
    sealed, _ = sealed_to(CHIANG_RAI, LAMPHUN)
    swapped = copy.deepcopy(sealed)
    keys = swapped["keys"]
    keys[CHIANG_RAI], keys[LAMPHUN] = keys[LAMPHUN], keys[CHIANG_RAI]
    refused("key_not_held", swapped)  # names Lamphun's key, which Chiang Rai does not hold
    # Even an office holding both keys cannot open a key wrapped for the other.
    both = {**held(CHIANG_RAI), **held(LAMPHUN)}
    assert "moved from another recipient" in refused("key_mismatch", swapped, private_keys=both)


def test_wrapped_key_swapped_between_letters_is_refused() -> None:
    first, _ = sealed_to(CHIANG_RAI)
    second, _ = sealed_to(CHIANG_RAI, content={**CONTENT, "subject": "อีกเรื่องหนึ่ง"})
    moved = {**second, "keys": {CHIANG_RAI: first["keys"][CHIANG_RAI]}}
    refused("key_mismatch", moved)


def test_letter_claimed_by_another_sender_is_refused() -> None:
    sealed, _ = sealed_to(CHIANG_RAI)
    refused("key_mismatch", sealed, sender=LAMPHUN)


def test_altered_content_is_refused() -> None:
    sealed, _ = sealed_to(CHIANG_RAI)
    box = bytearray(b64decode(sealed["box"]))
    box[-1] ^= 1
    rehashed = {**sealed, "box": b64encode(bytes(box)), "content": hashlib.sha256(box).hexdigest()}
    # the key is bound to the content hash, so a rehashed box fails at the key already
    refused("key_mismatch", rehashed)
    refused("content_altered", {**sealed, "box": b64encode(bytes(box))})


def chunks_of(blob: bytes) -> tuple[bytes, list[bytes]]:
    full = CHUNK_SIZE + 16
    return blob[:24], [blob[i : i + full] for i in range(24, len(blob), full)]


@pytest.mark.parametrize(
    "alter",
    [
        pytest.param(lambda h, c: h + c[0] + bytes([c[1][0] ^ 1]) + c[1][1:] + c[2], id="tampered"),
        pytest.param(lambda h, c: h + c[1] + c[0] + c[2], id="reordered"),
        pytest.param(lambda h, c: h + c[0] + c[2], id="dropped"),
        pytest.param(lambda h, c: h + c[0] + c[1] + c[2][:-1], id="truncated"),
        pytest.param(lambda h, c: h + c[0] + c[1] + c[1] + c[2], id="duplicated"),
        pytest.param(
            lambda h, c: h[:16] + (2).to_bytes(4, "big") + h[20:] + c[0] + c[1], id="count-lowered"
        ),
    ],
)
def test_altered_attachment_is_refused(alter: Any) -> None:
    key = ContentKey.fresh()
    header, chunks = chunks_of(key.seal_attachment(FILE))
    assert len(chunks) == 3
    with pytest.raises(SealRefused) as e:
        key.open_attachment(alter(header, chunks))
    assert e.value.reason == "attachment_altered"


def test_chunk_from_another_attachment_is_refused() -> None:
    key = ContentKey.fresh()
    h1, c1 = chunks_of(key.seal_attachment(FILE))
    _, c2 = chunks_of(key.seal_attachment(FILE))
    with pytest.raises(SealRefused, match="chunk 2 of 3"):
        key.open_attachment(h1 + c1[0] + c2[1] + c1[2])


def test_attachment_under_another_letters_key_is_refused() -> None:
    blob = ContentKey.fresh().seal_attachment(FILE)
    with pytest.raises(SealRefused, match="chunk 1 of 3"):
        ContentKey.fresh().open_attachment(blob)


BAD_SEALED = {
    "not-an-object": ("a string", "not_sealed"),
    "unknown-suite": ({"suite": "rot13"}, "unknown_suite"),
    "no-box": ({"suite": SUITE, "content": "0" * 64}, "content_altered"),
    "box-not-base64": ({"suite": SUITE, "content": "0" * 64, "box": "!!"}, "content_altered"),
    "box-hash-wrong": ({"suite": SUITE, "content": "0" * 64, "box": "AAAA"}, "content_altered"),
}


@pytest.mark.parametrize("value,reason", list(BAD_SEALED.values()), ids=list(BAD_SEALED))
def test_malformed_sealed_value_is_refused(value: Any, reason: str) -> None:
    refused(reason, value)


def test_malformed_wrapped_key_is_refused() -> None:
    sealed, _ = sealed_to(CHIANG_RAI)
    kid = seal_key_id(public_of(OFFICE_KEYS[CHIANG_RAI]))
    for wrapped in (7, "", "nodot", f"{kid}.!!", f"{kid}.AAAA", f"{kid.upper()}.AAAA"):
        refused("key_altered", {**sealed, "keys": {CHIANG_RAI: wrapped}})


# Sealed once: every property example mutates the same bytes.
PROPERTY_KEY = ContentKey.fresh()
PROPERTY_SEALED = seal_letter(
    PROPERTY_KEY,
    CONTENT,
    sender=SENDER,
    recipients={CHIANG_RAI: public_of(OFFICE_KEYS[CHIANG_RAI])},
)
PROPERTY_BLOB = PROPERTY_KEY.seal_attachment(FILE[:300], chunk_size=64)


def mutated(data: bytes) -> st.SearchStrategy[bytes]:
    """``data`` with bytes flipped, cut, inserted or moved: never ``data`` itself."""
    n = len(data)
    flip = st.tuples(st.integers(0, n - 1), st.integers(1, 255)).map(
        lambda t: data[: t[0]] + bytes([data[t[0]] ^ t[1]]) + data[t[0] + 1 :]
    )
    cut = st.tuples(st.integers(0, n - 1), st.integers(1, n)).map(
        lambda t: data[: t[0]] + data[t[0] + t[1] :]
    )
    insert = st.tuples(st.integers(0, n), st.binary(min_size=1, max_size=100)).map(
        lambda t: data[: t[0]] + t[1] + data[t[0] :]
    )
    move = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(1, 200)).map(
        lambda t: _move(data, *t)
    )
    return (flip | cut | insert | move).filter(lambda m: m != data)


def _move(data: bytes, src: int, dst: int, size: int) -> bytes:
    piece, rest = data[src : src + size], data[:src] + data[src + size :]
    return rest[:dst] + piece + rest[dst:]


@given(mutated(PROPERTY_BLOB))
def test_any_mutation_of_an_attachment_is_refused(blob: bytes) -> None:
    with pytest.raises(SealRefused):
        PROPERTY_KEY.open_attachment(blob)


@given(
    st.sampled_from(["box", "key"]).flatmap(
        lambda part: mutated(
            b64decode(PROPERTY_SEALED["box"])
            if part == "box"
            else b64decode(PROPERTY_SEALED["keys"][CHIANG_RAI].partition(".")[2])
        ).map(lambda m: (part, m))
    )
)
def test_any_mutation_of_a_sealed_letter_is_refused(change: tuple[str, bytes]) -> None:
    part, data = change
    sealed = copy.deepcopy(PROPERTY_SEALED)
    if part == "box":
        sealed["box"] = b64encode(data)
    else:
        kid = sealed["keys"][CHIANG_RAI].partition(".")[0]
        sealed["keys"][CHIANG_RAI] = f"{kid}.{b64encode(data)}"
    with pytest.raises(SealRefused):
        open_letter(sealed, sender=SENDER, office=CHIANG_RAI, private_keys=held(CHIANG_RAI))


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=8,
    )
)
def test_any_json_value_as_sealed_is_refused_with_the_typed_error(value: Any) -> None:
    with pytest.raises(SarabanError):
        open_letter(value, sender=SENDER, office=CHIANG_RAI, private_keys=held(CHIANG_RAI))


def test_a_cryptography_without_hpke_is_said_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.hpke", None)
    sealing._hpke.cache_clear()
    try:
        with pytest.raises(SealingUnavailable) as e:
            check_sealing_support()
    finally:
        sealing._hpke.cache_clear()
    assert "cannot seal classified letters" in str(e.value)
    assert "HPKE (RFC 9180) with X25519, HKDF-SHA256 and AES-256-GCM" in str(e.value)
