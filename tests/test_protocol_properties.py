"""Properties of the protocol over hostile input: whatever value, bytes or headers arrive,
parsing and verifying either succeed or raise the package's typed error (SarabanError),
never anything else (no KeyError, TypeError, ValueError, RecursionError, MemoryError,
OverflowError, UnicodeError); and what succeeds is exactly what was signed.

Covered: every message type's ``from_dict``, envelope shape and verification (mutated wire
values, mutated bytes, any body a hostile office can sign), the hub's push check, request
signing, letter numbers, unit codes, register ids, canonical JSON and directory trust.

Each property runs 500 examples under ``make test`` and the ``fuzz`` profile's count
(tests/conftest.py) under ``make fuzz``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.auth import (
    H_KEYID,
    H_NONCE,
    H_SIGNATURE,
    H_TIMESTAMP,
    RequestClaims,
    parse_request_headers,
    sign_request,
    verify_request,
)
from protocol.canonical import canonical_bytes, parse_canonical
from protocol.directory import TrustedDirectory, accept_directory
from protocol.envelope import Envelope, Signature, pae, sign_envelope, verify_envelope
from protocol.errors import BadMessage, SarabanError
from protocol.hub_messages import HUB_KINDS, Ack, Checkpoint, Directory, Lease
from protocol.keys import Signer, b64decode, b64encode
from protocol.messages import (
    FEED_KINDS,
    Attachment,
    Deliveries,
    Letter,
    Message,
    Receipt,
    RegisterEntry,
    Withdraw,
)
from protocol.numbers import (
    LetterNumber,
    RegisterKey,
    parse_letter_number,
    parse_unit_code,
    search_key,
)
from protocol.push_check import check_one

EXAMPLES = max(500, settings().max_examples)
"""Five hundred examples per property in ``make test`` (which must finish in ten minutes on
two cores: a thousand took ~90 s of its workers' time); the fuzz profile's 50,000 in
``make fuzz``."""

PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

OFFICE = "ชม 0017"
OTHER = "ชร 0017"
SIGNER = Signer.generate(OFFICE)
STRANGER = Signer.generate(OTHER)
HUB = Signer.generate("hub")
OFFICE_KEYS = {SIGNER.keyid: SIGNER.private_key.public_key()}
HUB_KEYS = {HUB.keyid: HUB.private_key.public_key()}
SHA = "ab" * 32
NOW = 1_795_000_000.0


class _Shown:
    """A hostile value that prints as its description (Python cannot print an integer of
    5,000 digits, nor a list nested 3,000 deep), so that hypothesis can report it."""

    description = ""

    def __repr__(self) -> str:
        return self.description

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.description)


class HugeInt(_Shown, int):
    description = "<an integer of 5,000 digits>"


class DeepList(_Shown, list):  # type: ignore[type-arg]
    description = "<a list nested 3,000 deep>"


def _nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"x": value}
    return value


HOSTILE_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2**31,
    2**53 - 1,
    2**53,
    2**63,
    2**64,
    -(2**63) - 1,
    HugeInt(10**5000),
    1.5,
    -0.0,
    float("nan"),
    float("inf"),
    "",
    " ",
    "\ud800",
    "a\udfffb",
    "²",
    "٣",
    "\x00",
    "\u200b",
    "x" * 600,
    "ก" * 25_000,
    "9" * 5000,
    [],
    {},
    ["x"] * 6000,
    [SHA] * 6000,
    [{}] * 200,
    {f"k{i}": i for i in range(150)},
    _nested(40, "deep"),
    DeepList([_nested(3000, 1)]),
    {1: "int key"},
]
"""Values no well-meaning peer sends: out of range, too long, too deep, the wrong type."""

hostile_values = st.integers(0, len(HOSTILE_VALUES) - 1).map(HOSTILE_VALUES.__getitem__)
leaves = st.one_of(
    hostile_values, st.integers(), st.text(max_size=10), st.booleans(), st.none(), st.floats()
)
json_values = (
    leaves | st.lists(leaves, max_size=3) | st.dictionaries(st.text(max_size=6), leaves, max_size=3)
)
"""Any JSON value, hostile ones often (drawn from primitives only, so thousands are cheap)."""


def _letter() -> dict[str, Any]:
    return Letter(
        origin=OFFICE,
        seq=2,
        prev=SHA,
        created_at="2026-11-24T09:00:00+07:00",
        subject="ขอเชิญประชุมคณะกรรมการ",
        number="ชม 0017.3/1234",
        register="ชม 0017.3|ส่ง|2569",
        letter_date="24 พฤศจิกายน 2569",
        speed="ด่วนภายใน",
        deadline="2026-11-30T16:00:00+07:00",
        recipients=[OTHER, "มท 0200"],
        lists=["north"],
        references=["หนังสือจังหวัดที่ ชม 0017/1"],
        attachments=[
            Attachment(SHA, 1024, "application/pdf", "กำหนดการ.pdf").to_dict(),
        ],
    ).to_dict()


FEED = {"v": 1, "origin": OFFICE, "seq": 3, "prev": SHA, "created_at": "2026-11-24T09:00Z"}
VALID_BODIES: dict[str, dict[str, Any]] = {
    "letter": _letter(),
    "receipt": Receipt(
        **FEED,
        letter=SHA,
        letter_origin=OTHER,
        status="registered",
        at="2026-11-24T10:00Z",
        receipt_number="1234",
        attachments=[SHA],
    ).to_dict(),
    "register": RegisterEntry(
        **FEED,
        register="ชม 0017|ส่ง|2569",
        action="voided",
        number=12,
        display="ชม 0017/12",
        reason="พิมพ์ผิด",
        extra={"replaces": "ชม 0017/11"},
    ).to_dict(),
    "withdraw": Withdraw(**FEED, letter=SHA, reason="ส่งผิด", recipients=[OTHER]).to_dict(),
    "deliveries": Deliveries(
        **FEED, letter_origin=OTHER, letters=[SHA, "b" * 64], at="2026-11-24T10:00Z"
    ).to_dict(),
    "directory": Directory(
        version=4,
        issued_at="2026-11-24T00:00Z",
        hub_keys=[{"keyid": HUB.keyid, "public": HUB.public_b64()}],
        offices=[
            {
                "id": OFFICE,
                "name": "ศาลากลางจังหวัดเชียงใหม่",
                "status": "enrolled",
                "keys": [
                    {"keyid": SIGNER.keyid, "public": SIGNER.public_b64(), "status": "active"},
                    {
                        "keyid": f"{OFFICE}#0",
                        "public": STRANGER.public_b64(),
                        "status": "retired",
                        "last_seq": 9,
                    },
                ],
            }
        ],
        lists={"north": {"title": "ภาคเหนือ", "members": [OFFICE, OTHER]}},
        shared_registers=[{"owner": "มท 0200", "series": "ว", "members": [OFFICE]}],
    ).to_dict(),
    "ack": Ack(office=OFFICE, last_seq=3, head=SHA, at="2026-11-24T10:00Z").to_dict(),
    "checkpoint": Checkpoint(
        office=OFFICE,
        hub_time="2026-11-24T10:00Z",
        expires_at="2026-11-24T10:15Z",
        last_seq=3,
        cursor="m12",
        directory_version=4,
    ).to_dict(),
    "lease": Lease(
        office=OFFICE,
        register="มท 0200|ว|2569",
        action="finalise",
        provisional_id="p-1",
        number=183,
        at="2026-11-24T10:00Z",
        letter=SHA,
        provisional_display="มท 0200/ว (ชั่วคราว 1)",
        display="มท 0200/ว 183",
    ).to_dict(),
}
KINDS: dict[str, type[Message]] = {**FEED_KINDS, **HUB_KINDS}


Change = tuple[int, int, bool, Any]
"""Which member (modulo how many there are), what to do (0 drop, 1 append, else set),
whether to change inside the member instead, and the value to put."""

changes = st.lists(
    st.tuples(st.integers(0, 255), st.integers(0, 4), st.booleans(), json_values),
    min_size=1,
    max_size=3,
)


def _apply(value: Any, change: Change) -> Any:
    """``value`` with one change; only the path changed is copied."""
    which, action, inner, new = change
    if isinstance(value, dict) and value:
        keys = [*sorted(value, key=str), "extra", "ฟิลด์ใหม่"]
        key = keys[which % len(keys)]
        out = dict(value)
        if action == 0:
            out.pop(key, None)
        elif inner and isinstance(out.get(key), (dict, list)) and out[key]:
            out[key] = _apply(out[key], (which // 7, action, False, new))
        else:
            out[key] = new
        return out
    if isinstance(value, list) and value:
        items = list(value)
        at = which % len(items)
        if action == 0:
            del items[at]
        elif action == 1:
            items.append(new)
        elif inner:
            items[at] = _apply(items[at], (which // 7, action, False, new))
        else:
            items[at] = new
        return items
    return new


def mutations_of(value: Any) -> st.SearchStrategy[Any]:
    """``value`` with one to three changes, at the top or one level down."""

    def apply_all(steps: list[Change]) -> Any:
        out = value
        for step in steps:
            out = _apply(out, step)
        return out

    return changes.map(apply_all)


def byte_mutations_of(data: bytes) -> st.SearchStrategy[bytes]:
    """``data`` with one to four bytes flipped, inserted or deleted, or cut short."""

    def apply_all(steps: list[tuple[int, int, bytes]]) -> bytes:
        out = bytearray(data)
        for where, action, chunk in steps:
            at = where % max(1, len(out))
            if action == 0 and out:
                out[at] ^= 1 << (where % 8)
            elif action == 1:
                out[at:at] = chunk
            elif action == 2 and out:
                del out[at]
            else:
                del out[at:]
        return bytes(out)

    return st.lists(
        st.tuples(st.integers(0, 2**20), st.integers(0, 3), st.binary(min_size=1, max_size=6)),
        min_size=1,
        max_size=4,
    ).map(apply_all)


def _round_trips(cls: type[Message], msg: Message) -> None:
    """A message that was accepted reads back the same from its canonical bytes."""
    try:
        parsed = parse_canonical(canonical_bytes(msg.to_dict()))
    except SarabanError:
        return  # a NaN, a lone surrogate or a float of 2**53 among unknown fields
    assert cls.from_dict(parsed).to_dict() == parsed


# -- every message type's from_dict ----------------------------------------------------------


bodies = st.one_of(
    [mutations_of(body).map(lambda b, k=kind: (k, b)) for kind, body in VALID_BODIES.items()]
    + [st.tuples(st.sampled_from(sorted(VALID_BODIES)), json_values)]
)
"""``(kind, body)``: a valid body of that kind changed, or any value at all."""


@PROPERTY
@given(bodies)
def test_every_message_type_reads_any_body_or_raises_the_typed_error(
    kind_and_body: tuple[str, Any],
) -> None:
    kind, body = kind_and_body
    cls = KINDS[kind]
    try:
        msg = cls.from_dict(body)
    except SarabanError:
        return
    _round_trips(cls, msg)
    if isinstance(msg, Directory):
        trusted = TrustedDirectory(msg, SHA)
        trusted.office_ids()
        trusted.hub_keys()
        try:
            trusted.expand(list(msg.lists)[:1], list(msg.lists))
        except SarabanError:
            pass
    if isinstance(msg, Letter):
        msg.attachment_list()


# -- envelopes --------------------------------------------------------------------------------

GOOD_LETTER = sign_envelope("letter", VALID_BODIES["letter"], SIGNER)
GOOD_WIRE = GOOD_LETTER.to_wire()


@PROPERTY
@given(mutations_of(GOOD_WIRE) | mutations_of(json.loads(GOOD_LETTER.to_bytes())))
def test_any_wire_value_is_an_envelope_or_malformed_and_verifies_only_as_signed(
    wire: Any,
) -> None:
    try:
        env = Envelope.from_wire(wire)
    except SarabanError:
        return
    try:
        _, body = verify_envelope(env, OFFICE_KEYS.get)
    except SarabanError:
        return
    assert env.body == GOOD_LETTER.body
    assert env.payload_type == GOOD_LETTER.payload_type
    assert body == VALID_BODIES["letter"]


SPECIAL_BODIES = [
    b'{"seq":' + b"1" * 5000 + b"}",
    b"[" * 5000 + b"]" * 5000,
    b'{"a":"\\ud800"}',
    b'{"a":1e999}',
    b"\xff\xfe",
]
"""Bytes that broke parsers: an integer of 5,000 digits, nesting 5,000 deep, a lone
surrogate, a float out of range, not UTF-8."""


@PROPERTY
@given(byte_mutations_of(GOOD_LETTER.to_bytes()) | st.sampled_from(SPECIAL_BODIES))
def test_mutated_envelope_bytes_are_refused_typed_or_verify_as_the_original(
    stored: bytes,
) -> None:
    try:
        env = Envelope.from_bytes(stored)
        _, body = verify_envelope(env, OFFICE_KEYS.get)
    except SarabanError:
        return
    assert env.body == GOOD_LETTER.body and body == VALID_BODIES["letter"]


def _canonical_or_empty(value: Any) -> bytes:
    try:
        return canonical_bytes(value)
    except SarabanError:
        return b"{}"


signed_bodies = st.one_of(
    [st.binary(max_size=64)]
    + [mutations_of(VALID_BODIES[kind]).map(_canonical_or_empty) for kind in FEED_KINDS]
    + [byte_mutations_of(canonical_bytes(VALID_BODIES[kind])) for kind in FEED_KINDS]
)
"""Body bytes a hostile office may sign: anything at all, the canonical bytes of a changed
body, or a good body's bytes changed."""


@PROPERTY
@given(
    st.sampled_from(sorted(FEED_KINDS)),
    signed_bodies | st.sampled_from(SPECIAL_BODIES),
    st.booleans(),
)
def test_the_hub_push_check_answers_any_body_an_office_signs(
    kind: str, body: bytes, extra_signature: bool
) -> None:
    ptype = f"application/vnd.saraban.{kind}+json; v=1"
    signatures = [Signature(SIGNER.keyid, SIGNER.sign(pae(ptype, body)))]
    if extra_signature:
        signatures.append(Signature(f"{OFFICE}#7", SIGNER.sign(pae(ptype, body))))
    wire = Envelope(ptype, body, tuple(signatures)).to_wire()
    checked = check_one(wire, OFFICE, OFFICE_KEYS)
    assert (checked.msg is None) == bool(checked.reason)
    if extra_signature:
        assert checked.reason == "unknown_key"
    if checked.msg is not None:
        assert checked.msg.origin == OFFICE and checked.raw == Envelope.from_wire(wire).to_bytes()


@PROPERTY
@given(mutations_of(GOOD_WIRE) | json_values)
def test_the_hub_push_check_answers_any_wire_value(wire: Any) -> None:
    checked = check_one(wire, OFFICE, OFFICE_KEYS)
    assert checked.msg is None or checked.env_id == GOOD_LETTER.env_id
    assert isinstance(checked.raw, bytes) and len(checked.env_id) == 64


@PROPERTY
@given(mutations_of(VALID_BODIES["directory"]))
def test_a_hub_signed_directory_with_any_body_is_trusted_or_refused_typed(body: Any) -> None:
    if not isinstance(body, Mapping):
        return
    try:
        env = sign_envelope("directory", body, HUB)
        trusted = accept_directory(env, HUB_KEYS, None)
    except SarabanError:
        return
    for keyid in [SIGNER.keyid, f"{OFFICE}#0", "nobody#1"]:
        trusted.signing_key(keyid)
        trusted.signed_in_time(keyid, 5)
    trusted.hub_keys()


@PROPERTY
@given(st.binary(max_size=80) | st.sampled_from(SPECIAL_BODIES) | signed_bodies)
def test_canonical_parsing_of_any_bytes_gives_an_object_or_not_canonical(data: bytes) -> None:
    try:
        value = parse_canonical(data)
    except SarabanError:
        return
    assert canonical_bytes(value) == data


# -- signed requests --------------------------------------------------------------------------

header_values = st.sampled_from(
    ["", "²", "١٢", "%FF", "%E0%B8", "ชม 0017#1", "abc\n", "x" * 5000, "\ud800", "1" * 13]
) | st.text(max_size=20)


REQUEST_PATH = "/api/v1/push"
REQUEST_BODY = b'{"envelopes":[]}'
GENUINE_HEADERS = sign_request(SIGNER, "POST", REQUEST_PATH, REQUEST_BODY, NOW)
header_changes = st.fixed_dictionaries(
    {},
    optional={
        name: st.none() | header_values for name in (H_KEYID, H_TIMESTAMP, H_NONCE, H_SIGNATURE)
    },
)
"""Signature headers to replace (None: to leave out)."""


@PROPERTY
@given(header_changes)
def test_any_signature_headers_parse_to_claims_or_are_refused_typed(
    replaced: dict[str, str | None],
) -> None:
    genuine = GENUINE_HEADERS
    headers = {**genuine, **replaced}
    headers = {name: value for name, value in headers.items() if value is not None}
    path, body = REQUEST_PATH, REQUEST_BODY
    try:
        claims = parse_request_headers(headers)
        verify_request(claims, "POST", path, body, SIGNER.private_key.public_key(), NOW)
    except SarabanError:
        return
    assert isinstance(claims, RequestClaims)
    assert (claims.keyid, claims.timestamp, claims.nonce, b64encode(claims.signature)) == (
        SIGNER.keyid,
        int(NOW),
        genuine[H_NONCE],
        genuine[H_SIGNATURE],
    )


@PROPERTY
@given(
    st.sampled_from(["GET", "POST", "PUT", "HEAD"]),
    st.text(max_size=40).map(lambda p: "/api/v1/" + p),
    st.binary(max_size=64),
    st.integers(0, 10**11),
    st.sampled_from(["method", "path", "body", "time", "key"]),
)
def test_a_signed_request_verifies_and_any_change_is_refused(
    method: str, path: str, body: bytes, now: int, change: str
) -> None:
    headers = sign_request(SIGNER, method, path, body, now)
    claims = parse_request_headers(headers)
    verify_request(claims, method, path, body, SIGNER.private_key.public_key(), now)
    args: dict[str, Any] = {"method": method, "path": path, "body": body, "now": now}
    key = SIGNER.private_key.public_key()
    if change == "method":
        args["method"] = "DELETE"
    elif change == "path":
        args["path"] = path + "x"
    elif change == "body":
        args["body"] = body + b"\x00"
    elif change == "time":
        args["now"] = now + 301
    else:
        key = STRANGER.private_key.public_key()
    try:
        verify_request(claims, args["method"], args["path"], args["body"], key, args["now"])
    except SarabanError:
        return
    raise AssertionError(f"a request with another {change} verified")


# -- letter numbers ---------------------------------------------------------------------------

NUMBER_PIECES = st.sampled_from(
    [
        "ชม",
        "มท",
        "ก",
        " ",
        "\xa0",
        "\u200b",
        "0017",
        "๐๐๑๗",
        ".3",
        "/",
        "ว",
        "ว.",
        "ที่",
        "(ชั่วคราว",
        "(",
        ")",
        "คำสั่ง",
        "ประกาศ",
        "จังหวัดเชียงใหม่",
        "พ.ศ.",
        "|",
        "ส่ง",
        "2569",
        "๒๕๖๙",
        "1234",
        "999999",
        "1000000",
        "²",
        "٣",
        "\ud800",
        "9" * 300,
        "1" * 5000,
    ]
)
number_texts = st.lists(NUMBER_PIECES | st.text(max_size=3), max_size=14).map("".join)


@PROPERTY
@given(number_texts)
def test_typed_numbers_unit_codes_and_register_ids_parse_or_are_refused_typed(text: str) -> None:
    search_key(text)
    for parse in (parse_unit_code, RegisterKey.from_id):
        try:
            parse(text)
        except SarabanError:
            pass
    try:
        number = parse_letter_number(text)
    except SarabanError:
        return
    assert parse_letter_number(number.format()) == number
    assert parse_letter_number(number.format(thai_digits=True)) == number
    assert search_key(text) == number.search_key()


@PROPERTY
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "number": json_values,
            "code": json_values | number_texts,
            "circular": json_values,
            "instrument": json_values | st.sampled_from(["คำสั่ง", "ประกาศ"]),
            "issuer": json_values | number_texts,
            "year": json_values | st.integers(2400, 2700),
            "provisional": st.booleans(),
        },
    )
)
def test_a_letter_number_built_from_any_fields_is_valid_or_refused_typed(
    fields: dict[str, Any],
) -> None:
    fields.setdefault("number", 1)
    try:
        number = LetterNumber(**fields)
    except SarabanError:
        return
    assert parse_letter_number(number.format()) == number


def _stdlib_b64decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None


BASE64_TEXT = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n ก-_"
)


@given(st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode()) | BASE64_TEXT)
def test_base64_is_read_as_the_standard_library_reads_it_strictly(text: str) -> None:
    """The fast decoder (pybase64) answers exactly what the standard library's strict
    decoder answers, bytes or refusal, for encodings and for near misses alike."""
    expected = _stdlib_b64decode(text)
    try:
        got: bytes | None = b64decode(text)
    except BadMessage:
        got = None
    assert got == expected


@given(st.binary(max_size=3000))
def test_base64_is_written_as_the_standard_library_writes_it(data: bytes) -> None:
    assert b64encode(data) == base64.b64encode(data).decode("ascii")
