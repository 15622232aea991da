"""Envelopes: canonical JSON, DSSE signing, and the attacks a verifier must refuse."""

from __future__ import annotations

import base64
import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.canonical import canonical_bytes, parse_canonical, parse_json
from protocol.envelope import Envelope, Signature, pae, sign_envelope, verify_envelope
from protocol.errors import (
    BadMessage,
    BadSignature,
    MalformedEnvelope,
    NotCanonical,
    RemoteDataError,
    UnknownKey,
)
from protocol.keys import Signer, load_signer, save_signer, verify_signature
from protocol.messages import Letter, Receipt, RegisterEntry, parse_feed_message


@pytest.fixture
def signer() -> Signer:
    return Signer.generate("ชม 0017")


def letter_body(**over: object) -> dict:
    body = Letter(
        origin="ชม 0017",
        seq=1,
        prev=None,
        created_at="2026-11-24T09:00:00+07:00",
        subject="ขอเชิญประชุมคณะกรรมการ",
        recipients=["มท 0200"],
        letter_date="2026-11-24",
    ).to_dict()
    body.update(over)
    return body


CANONICAL_CASES = [
    pytest.param({"b": 1, "a": 2}, b'{"a":2,"b":1}', id="keys-sorted"),
    pytest.param({"เรื่อง": "ขอเชิญ"}, '{"เรื่อง":"ขอเชิญ"}'.encode(), id="thai-raw-utf8"),
    pytest.param({"s": 'a"\\\n\t'}, b'{"s":"a\\"\\\\\\n\\t"}', id="escapes"),
    pytest.param({"s": "\u0007"}, b'{"s":"\\u0007"}', id="control-char-lowercase-hex"),
    pytest.param({"n": 1.0}, b'{"n":1}', id="integral-float"),
    pytest.param({"n": 1e21}, b'{"n":1e+21}', id="large-float-exponent"),
    pytest.param({"n": [True, None, -0]}, b'{"n":[true,null,0]}', id="literals"),
    pytest.param({"z": {"b": [], "a": {}}}, b'{"z":{"a":{},"b":[]}}', id="nested-sorted"),
]


@pytest.mark.parametrize(("value", "expected"), CANONICAL_CASES)
def test_canonical_json_matches_rfc8785(value: object, expected: bytes) -> None:
    assert canonical_bytes(value) == expected
    if isinstance(value, dict) and b"." not in expected and b"e+" not in expected:
        assert parse_canonical(expected) == json.loads(expected)


NON_CANONICAL = [
    pytest.param(b'{"b":1,"a":2}', id="unsorted-keys"),
    pytest.param(b'{"a": 2}', id="whitespace"),
    pytest.param(b'{"a":"\\u0e01"}', id="escaped-thai"),
    pytest.param(b'{"a":1,"a":1}', id="duplicate-key"),
    pytest.param(b"[1,2]", id="not-an-object"),
    pytest.param(b'{"a":1.50}', id="number-form"),
    pytest.param(b"\xff\xfe", id="not-utf8"),
    pytest.param(b'{"a":', id="truncated"),
    pytest.param(b'{"a":1.0}', id="integral-float-with-point"),
    pytest.param(b'{"a":1e21}', id="exponent-without-sign"),
    pytest.param(b'{"a":NaN}', id="nan"),
    pytest.param(b'{"a":9007199254740992}', id="integer-beyond-2**53"),
    pytest.param(b'{"a":"\\/"}', id="escaped-solidus"),
    pytest.param(b'{"a":"\\ud800"}', id="lone-surrogate"),
    pytest.param('{"\uff61":2,"\U0001f600":1}'.encode(), id="astral-key-in-code-point-order"),
    pytest.param(b'{"a":{"b":1,"b":1}}', id="nested-duplicate-key"),
]


@pytest.mark.parametrize("data", NON_CANONICAL)
def test_non_canonical_body_is_refused(data: bytes) -> None:
    with pytest.raises(NotCanonical):
        parse_canonical(data)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'{"a":1.5}', id="float"),
        pytest.param(b'{"a":1e+21}', id="float-exponent"),
        pytest.param('{"\U0001f600":1,"\uff61":2}'.encode(), id="astral-key-in-utf16-order"),
    ],
)
def test_canonical_bodies_outside_the_fast_subset_are_accepted(data: bytes) -> None:
    assert canonical_bytes(parse_canonical(data)) == data


def test_signed_letter_verifies_and_round_trips(signer: Signer) -> None:
    env = sign_envelope("letter", letter_body(), signer)
    again = Envelope.from_wire(json.loads(json.dumps(env.to_wire())))
    keyid, body = verify_envelope(again, {signer.keyid: signer.private_key.public_key()}.get)
    assert keyid == "ชม 0017#1"
    assert body["subject"] == "ขอเชิญประชุมคณะกรรมการ"
    assert again.env_id == env.env_id and len(env.env_id) == 64
    assert env.payload_type == "application/vnd.saraban.letter+json; v=1"


def test_pae_matches_dsse_definition() -> None:
    assert pae("t", b"body") == b"DSSEv1 1 t 4 body"
    assert pae("ก", b"") == b"DSSEv1 3 \xe0\xb8\x81 0 "


def _tamper(env: Envelope, **wire: object) -> Envelope:
    obj = env.to_wire()
    obj.update(wire)
    return Envelope.from_wire(obj)


def test_tampered_payload_is_refused(signer: Signer) -> None:
    env = sign_envelope("letter", letter_body(), signer)
    forged = canonical_bytes(letter_body(subject="เรื่องปลอม"))
    bad = _tamper(env, payload=base64.b64encode(forged).decode())
    with pytest.raises(BadSignature):
        verify_envelope(bad, {signer.keyid: signer.private_key.public_key()}.get)


def test_tampered_payload_type_is_refused(signer: Signer) -> None:
    env = sign_envelope("letter", letter_body(), signer)
    bad = _tamper(env, payloadType="application/vnd.saraban.receipt+json; v=1")
    with pytest.raises(BadSignature):
        verify_envelope(bad, {signer.keyid: signer.private_key.public_key()}.get)


def test_flipped_signature_bit_is_refused(signer: Signer) -> None:
    env = sign_envelope("letter", letter_body(), signer)
    sig = bytearray(env.signatures[0].sig)
    sig[0] ^= 1
    bad = Envelope(env.payload_type, env.body, (Signature(signer.keyid, bytes(sig)),))
    with pytest.raises(BadSignature):
        verify_envelope(bad, {signer.keyid: signer.private_key.public_key()}.get)


def test_signatures_are_what_cryptography_makes_and_checks(signer: Signer) -> None:
    # libsodium signs and verifies (ADR 0029): the bytes are Ed25519's, so a signature
    # made either way verifies the other way.
    message = pae("t", canonical_bytes(letter_body()))
    public = signer.private_key.public_key()
    assert signer.sign(message) == signer.private_key.sign(message)
    public.verify(signer.sign(message), message)  # raises if it did not verify
    assert verify_signature(public, signer.private_key.sign(message), message)


def test_a_signature_is_read_at_its_length_only(signer: Signer) -> None:
    # libsodium takes the signature and the message as one run of bytes: a short
    # signature would borrow the message's first byte, a long one lend it its last.
    message = b"DSSEv1 1 t 4 body"
    sig = signer.sign(message)
    public = signer.private_key.public_key()
    assert verify_signature(public, sig, message)
    assert not verify_signature(public, sig[:63], sig[63:] + message)
    assert not verify_signature(public, sig + message[:1], message[1:])
    assert not verify_signature(public, b"", sig + message)


def test_signature_relabelled_with_another_keyid_is_refused(signer: Signer) -> None:
    other = Signer.generate("ชร 0017")
    env = sign_envelope("letter", letter_body(), signer)
    relabelled = Envelope(
        env.payload_type, env.body, (Signature(other.keyid, env.signatures[0].sig),)
    )
    keys = {
        signer.keyid: signer.private_key.public_key(),
        other.keyid: other.private_key.public_key(),
    }
    with pytest.raises(BadSignature):
        verify_envelope(relabelled, keys.get)


def test_signature_by_unknown_key_is_refused(signer: Signer) -> None:
    env = sign_envelope("letter", letter_body(), signer)
    with pytest.raises(UnknownKey):
        verify_envelope(env, {}.get)


def test_good_signature_cannot_carry_a_bad_one(signer: Signer) -> None:
    other = Signer.generate("ชร 0017")
    env = sign_envelope("letter", letter_body(), signer)
    junk = Signature(other.keyid, b"\x00" * 64)
    both = Envelope(env.payload_type, env.body, (env.signatures[0], junk))
    keys = {
        signer.keyid: signer.private_key.public_key(),
        other.keyid: other.private_key.public_key(),
    }
    with pytest.raises(BadSignature):
        verify_envelope(both, keys.get)


def test_signed_but_non_canonical_body_is_refused(signer: Signer) -> None:
    body = json.dumps(letter_body(), ensure_ascii=False, indent=1).encode()
    ptype = "application/vnd.saraban.letter+json; v=1"
    env = Envelope(ptype, body, (Signature(signer.keyid, signer.sign(pae(ptype, body))),))
    with pytest.raises(NotCanonical):
        verify_envelope(env, {signer.keyid: signer.private_key.public_key()}.get)


MALFORMED_WIRE = [
    pytest.param([], id="not-object"),
    pytest.param({"payloadType": "text/plain", "payload": "", "signatures": []}, id="foreign-type"),
    pytest.param(
        {"payloadType": "application/vnd.saraban.letter+json; v=1", "payload": "e30="},
        id="no-signatures",
    ),
    pytest.param(
        {
            "payloadType": "application/vnd.saraban.letter+json; v=1",
            "payload": "not base64!",
            "signatures": [{"keyid": "x#1", "sig": "AA=="}],
        },
        id="payload-not-base64",
    ),
    pytest.param(
        {
            "payloadType": "application/vnd.saraban.letter+json; v=1",
            "payload": "e30=",
            "signatures": [{"keyid": 5, "sig": "AA=="}],
        },
        id="keyid-not-string",
    ),
]


@pytest.mark.parametrize("wire", MALFORMED_WIRE)
def test_malformed_envelope_shapes_are_refused(wire: object) -> None:
    with pytest.raises(MalformedEnvelope):
        Envelope.from_wire(wire)


def test_unknown_fields_survive_a_round_trip() -> None:
    body = letter_body(future_field={"x": 1})
    msg = Letter.from_dict(body)
    assert msg.extra == {"future_field": {"x": 1}}
    assert canonical_bytes(msg.to_dict()) == canonical_bytes(body)


BAD_MESSAGES = [
    pytest.param("letter", letter_body(subject="  "), id="letter-without-subject"),
    pytest.param("letter", letter_body(recipients=[]), id="letter-without-recipient"),
    pytest.param("letter", letter_body(recipients=["ชม 0017"]), id="letter-to-itself"),
    pytest.param("letter", letter_body(secrecy="ลับที่สุด"), id="top-secret-never-sent"),
    pytest.param("letter", letter_body(speed="เร็ว"), id="unknown-speed"),
    pytest.param("letter", letter_body(seq=2, prev=None), id="seq2-without-prev"),
    pytest.param("letter", letter_body(seq=0), id="seq-zero"),
    pytest.param("letter", letter_body(seq="1"), id="seq-as-string"),
    pytest.param("letter", letter_body(prev="ab" * 32), id="seq1-with-prev"),
    pytest.param(
        "letter",
        letter_body(attachments=[{"sha256": "x", "size": 1, "media_type": "a", "name": "n"}]),
        id="attachment-bad-hash",
    ),
    pytest.param("receipt", {**letter_body(), "status": "registered"}, id="receipt-missing"),
    pytest.param("directory", letter_body(), id="hub-kind-from-office"),
]


@pytest.mark.parametrize(("kind", "body"), BAD_MESSAGES)
def test_invalid_message_bodies_are_refused(kind: str, body: dict) -> None:
    with pytest.raises(BadMessage):
        parse_feed_message(kind, body)


def test_registered_receipt_needs_its_receipt_number() -> None:
    base = {
        "v": 1,
        "origin": "ชร 0017",
        "seq": 1,
        "prev": None,
        "created_at": "x",
        "letter": "ab" * 32,
        "letter_origin": "มท 0200",
        "at": "2026-11-24T10:00:00+07:00",
        "attachments": [],
    }
    with pytest.raises(BadMessage):
        Receipt.from_dict({**base, "status": "registered"})
    ok = Receipt.from_dict({**base, "status": "registered", "receipt_number": "15"})
    assert ok.receipt_number == "15"


def test_voided_number_needs_a_reason() -> None:
    base = {"v": 1, "origin": "ชม 0017", "seq": 1, "prev": None, "created_at": "x"}
    entry = {**base, "register": "ชม 0017|ส่ง|2569", "action": "voided", "number": 5}
    with pytest.raises(BadMessage):
        RegisterEntry.from_dict({**entry, "provisional": False})
    ok = RegisterEntry.from_dict({**entry, "provisional": False, "reason": "พิมพ์ผิด"})
    assert ok.reason == "พิมพ์ผิด"


def test_thai_text_is_normalised_before_signing() -> None:
    decomposed = "ขอความร่วมมือจัดทำ\u200bแผน"
    spoiled = "ทํา"  # nikhahit + sara aa typed instead of sara am
    msg = Letter.from_dict(letter_body(subject=decomposed + spoiled)).normalized()
    assert msg.subject == "ขอความร่วมมือจัดทำแผนทำ"


def test_private_key_file_is_owner_only(tmp_path) -> None:
    s = Signer.generate("มท 0200")
    path = tmp_path / "keys" / "sign.key"
    save_signer(s, path)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = load_signer(path)
    assert loaded.keyid == s.keyid and loaded.public_b64() == s.public_b64()


def test_remote_data_errors_share_one_family() -> None:
    for cls in (BadSignature, NotCanonical, MalformedEnvelope, UnknownKey, BadMessage):
        assert issubclass(cls, RemoteDataError)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
@settings(max_examples=400, deadline=None)
def test_fast_canonical_path_agrees_with_rfc8785(value: object) -> None:
    try:
        expected = rfc8785.dumps(value)
    except Exception:
        with pytest.raises(NotCanonical):
            canonical_bytes(value)
        return
    assert canonical_bytes(value) == expected


@pytest.mark.parametrize(
    "key",
    [pytest.param("\U0001f600", id="astral-key"), pytest.param("\ue000", id="private-use-key")],
)
def test_keys_outside_the_fast_subset_sort_as_rfc8785_says(key: str) -> None:
    value = {key: 1, "\uff61": 2}
    assert canonical_bytes(value) == rfc8785.dumps(value)


@given(json_values)
@settings(max_examples=300, deadline=None)
def test_canonical_bytes_parse_back_and_other_spellings_are_refused(value: object) -> None:
    body = {"v": value}
    try:
        data = canonical_bytes(body)
    except NotCanonical:
        return
    assert parse_canonical(data) == body
    for spelling in (
        json.dumps(body, ensure_ascii=True, sort_keys=True, separators=(",", ":")),
        json.dumps(body, ensure_ascii=False, sort_keys=True),
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
    ):
        other = spelling.encode("utf-8", "surrogatepass")
        if other != data:
            with pytest.raises(NotCanonical):
                parse_canonical(other)


json_texts = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
).map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass"))


@given(json_texts)
@settings(max_examples=300, deadline=None)
def test_parse_json_reads_what_json_loads_reads(data: bytes) -> None:
    try:
        expected = json.loads(data)
    except ValueError as e:
        with pytest.raises(type(e)):
            parse_json(data)
        return
    assert repr(parse_json(data)) == repr(expected)


@pytest.mark.parametrize(
    "data",
    [b"NaN", b"[1e400]", b"[18446744073709551616]", b'["\\ud800"]', b"\xef\xbb\xbf{}", b"[1.0]"],
)
def test_parse_json_agrees_with_json_loads_where_orjson_would_not(data: bytes) -> None:
    assert repr(parse_json(data)) == repr(json.loads(data))


def test_payload_with_stray_bits_travels_on_in_canonical_base64(signer: Signer) -> None:
    env = sign_envelope("letter", letter_body(subject="ก"), signer)
    wire = env.to_wire()
    padded = wire["payload"]
    assert padded.endswith("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = len(padded.rstrip("=")) - 1
    stray = padded[:last] + alphabet[alphabet.index(padded[last]) + 1] + padded[last + 1 :]
    received = Envelope.from_wire({**wire, "payload": stray})
    assert received.body == env.body
    assert received.to_wire()["payload"] == padded
    assert Envelope.from_wire(wire).to_bytes() == env.to_bytes()


def test_every_code_point_is_escaped_as_rfc8785_escapes_it() -> None:
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    value = {"text": text, "keys": {chr(c): c for c in range(0x20, 0xD800, 97)}}
    assert canonical_bytes(value) == rfc8785.dumps(value)
    assert parse_canonical(rfc8785.dumps(value)) == value
