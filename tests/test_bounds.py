"""Bounds (protocol.limits): every field, count, depth and number of what peers send is
bounded and refused with a typed error naming the field and the bound; a huge letter
number can no longer poison the hub's numbering; an extra signature by an unknown key is
refused; numbering pages, reports and /metrics give ranges of missing numbers, never lists.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from console_support import add_operators, console_login, post_form, text_of
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_hub_support import Hub, Office
from test_node_support import Node, office_knowing

from hub.numbering.reconcile import format_numbering_report, run_nightly
from protocol import limits
from protocol.auth import H_KEYID, H_TIMESTAMP, parse_request_headers, sign_request
from protocol.envelope import Envelope, Signature, sign_envelope, verify_envelope
from protocol.errors import (
    BadLetterNumber,
    BadRequestSignature,
    BoundsError,
    MalformedEnvelope,
    SarabanError,
    UnknownKey,
)
from protocol.hub_messages import Ack, Directory, Lease
from protocol.keys import Signer
from protocol.ledger import next_lease_block
from protocol.messages import Letter, Receipt, RegisterEntry, Withdraw, parse_feed_message
from protocol.numbers import parse_letter_number

OWN = f"{CHIANG_MAI}|ส่ง|2569"
HUGE = 2**53 - 1
SHA = "ab" * 32
FEED = {"v": 1, "origin": CHIANG_MAI, "seq": 2, "prev": SHA, "created_at": "2026-11-18"}


def letter(**fields: Any) -> dict[str, Any]:
    body = Letter(
        **FEED, subject="ขอเชิญประชุม", letter_date="18 พฤศจิกายน 2569", recipients=[CHIANG_RAI]
    ).to_dict()
    body.update(fields)
    return body


def register(**fields: Any) -> dict[str, Any]:
    body = RegisterEntry(**FEED, register=OWN, number=1).to_dict()
    body.update(fields)
    return body


def nested(depth: int) -> Any:
    value: Any = "ลึก"
    for _ in range(depth):
        value = {"x": value}
    return value


# -- each bound, refused with the typed error naming the field and the bound ------------------

OUT_OF_BOUNDS: dict[str, tuple[type[Any], dict[str, Any], str, str]] = {
    "subject": (Letter, letter(subject="ก" * 501), "subject", "500"),
    "body": (Letter, letter(body="ข" * 20_001), "body", "20000"),
    "sender": (Letter, letter(sender="ค" * 301), "sender", "300"),
    "number_text": (Letter, letter(number="ชม 0017/" + "1" * 200), "number", "200"),
    "recipients": (
        Letter,
        letter(recipients=[f"ชร {n:04d}" for n in range(5_001)]),
        "recipients",
        "5000",
    ),
    "recipient_id": (Letter, letter(recipients=["ช" * 65]), "recipients[]", "64"),
    "attachments": (
        Letter,
        letter(
            attachments=[{"sha256": SHA, "size": 1, "media_type": "text/plain", "name": "a.txt"}]
            * 101
        ),
        "attachments",
        "100",
    ),
    "attachment_size": (
        Letter,
        letter(
            attachments=[
                {"sha256": SHA, "size": 2**63, "media_type": "application/pdf", "name": "a"}
            ]
        ),
        "attachment.size",
        str(limits.MAX_ATTACHMENT_BYTES),
    ),
    "reference_line": (Letter, letter(references=["ง" * 5_001]), "references[]", "5000"),
    "register_number": (RegisterEntry, register(number=HUGE), "number", "999999"),
    "register_number_2_63": (RegisterEntry, register(number=2**63), "number", "999999"),
    "seq": (RegisterEntry, register(seq=2**63), "seq", str(limits.MAX_SEQ)),
    "version": (RegisterEntry, register(v=1_000), "v", "999"),
    "reason": (
        Receipt,
        {
            **FEED,
            "letter": SHA,
            "letter_origin": CHIANG_RAI,
            "status": "returned",
            "at": "2026-11-18",
            "reason": "จ" * 2_001,
            "attachments": [],
        },
        "reason",
        "2000",
    ),
    "withdraw_recipients": (
        Withdraw,
        {**FEED, "letter": SHA, "reason": "ส่งผิด", "recipients": ["ชร 0017"] * 5_001},
        "recipients",
        "5000",
    ),
    "unknown_field_depth": (RegisterEntry, register(later=nested(20)), "later", "15"),
    "unknown_fields": (
        RegisterEntry,
        register(**{f"f{n}": n for n in range(101)}),
        "unknown fields",
        "100",
    ),
    "unknown_field_int": (RegisterEntry, register(later=2**63), "later", str(limits.MAX_SAFE_INT)),
    "lease_end": (
        Lease,
        {
            "v": 1,
            "office": CHIANG_MAI,
            "register": OWN,
            "action": "grant",
            "start": 1,
            "end": 10**6,
            "at": "2026-11-18",
        },
        "end",
        "999999",
    ),
    "ack_last_seq": (
        Ack,
        {"v": 1, "office": CHIANG_MAI, "last_seq": 2**63, "head": None, "at": "2026-11-18"},
        "last_seq",
        str(limits.MAX_SEQ),
    ),
    "directory_keys": (
        Directory,
        {
            "v": 1,
            "version": 2,
            "issued_at": "2026-11-18",
            "hub_keys": [],
            "lists": {},
            "shared_registers": [],
            "offices": [{"id": CHIANG_MAI, "keys": [{"keyid": "x#1", "public": "AA=="}] * 101}],
        },
        "offices.keys",
        "100",
    ),
}


@pytest.mark.parametrize("case", sorted(OUT_OF_BOUNDS))
def test_a_value_out_of_bounds_is_refused_naming_the_field_and_the_bound(case: str) -> None:
    cls, body, field, bound = OUT_OF_BOUNDS[case]
    with pytest.raises(BoundsError) as info:
        cls.from_dict(body)
    assert info.value.field == field
    assert bound in info.value.bound
    assert field in str(info.value) and bound in str(info.value)
    assert info.value.code == "out_of_bounds"


def test_a_message_at_its_bounds_is_accepted() -> None:
    body = letter(
        subject="ก" * 500,
        body="ข" * 20_000,
        recipients=[f"ชร {n:04d}" for n in range(5_000)],
        references=["ง" * 5_000],
    )
    assert Letter.from_dict(body).subject == "ก" * 500
    assert RegisterEntry.from_dict(register(number=999_999)).number == 999_999


def test_an_office_cannot_sign_what_a_peer_would_refuse() -> None:
    too_long = Letter(**{**letter(), "subject": "ก" * 501})
    with pytest.raises(BoundsError, match="subject"):
        too_long.validate()
    huge = {**letter(), "body": "ข" * 20_000, "references": ["ง" * 5_000] * 1_000}
    with pytest.raises(BoundsError, match="bytes"):
        sign_envelope("letter", huge, Signer.generate(CHIANG_MAI))


def test_an_envelope_body_over_its_bound_is_malformed_before_it_is_decoded() -> None:
    wire = {
        "payloadType": "application/vnd.saraban.letter+json; v=1",
        "payload": "A" * (4 * limits.MAX_ENVELOPE_BYTES // 3 + 8),
        "signatures": [{"keyid": f"{CHIANG_MAI}#1", "sig": "AA=="}],
    }
    with pytest.raises(MalformedEnvelope, match=str(limits.MAX_ENVELOPE_BYTES)):
        Envelope.from_wire(wire)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("ชม 0017/" + "1" * 5_000, id="5000-digit-running-number"),
        pytest.param("คำสั่งจังหวัดเชียงใหม่ ที่ 1/" + "2" * 5_000, id="5000-digit-year"),
        pytest.param("ชม 0017/" + "9" * 150, id="150-digit-running-number"),
        pytest.param("ชม 0017/" + "๙" * 4_400, id="thai-digits"),
    ],
)
def test_a_huge_letter_number_is_a_bad_letter_number(text: str) -> None:
    with pytest.raises(BadLetterNumber):
        parse_letter_number(text)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        pytest.param(H_TIMESTAMP, "²", id="superscript-two-timestamp"),
        pytest.param(H_TIMESTAMP, "١٧٩٥٠٠٠٠٠٠", id="arabic-indic-timestamp"),
        pytest.param(H_KEYID, "%FF%FE", id="keyid-not-utf8"),
        pytest.param(H_KEYID, "%E0%B8%8A%E0%B8%A1%200017%23%C2%B2", id="keyid-number-superscript"),
        pytest.param(H_KEYID, "ก" * 65 + "%231", id="keyid-too-long"),
    ],
)
def test_a_signature_header_out_of_shape_is_a_bad_request_signature(
    header: str, value: str
) -> None:
    headers = sign_request(Signer.generate(CHIANG_MAI), "POST", "/api/v1/push", b"", 0)
    with pytest.raises(BadRequestSignature):
        parse_request_headers({**headers, header: value})


def test_a_lease_past_the_largest_running_number_is_refused() -> None:
    with pytest.raises(BoundsError, match="999999"):
        next_lease_block(CHIANG_MAI, 999_990, 0, 20)


# -- unknown signatures -------------------------------------------------------------------------


def test_an_extra_signature_by_an_unknown_key_is_refused() -> None:
    signer, stranger = Signer.generate(CHIANG_MAI), Signer.generate(CHIANG_MAI, 9)
    env = sign_envelope("letter", letter(), signer)
    ride_along = Signature(stranger.keyid, stranger.sign(b"anything"))
    both = Envelope(env.payload_type, env.body, (*env.signatures, ride_along))
    with pytest.raises(UnknownKey, match=stranger.keyid):
        verify_envelope(both, {signer.keyid: signer.private_key.public_key()}.get)


def test_a_hub_envelope_cosigned_by_a_hub_key_not_yet_pinned_still_verifies() -> None:
    new, old = Signer.generate("hub", 2), Signer.generate("hub", 1)
    body = Ack(office=CHIANG_MAI, last_seq=1, at="2026-11-18").to_dict()
    env = sign_envelope("ack", body, new)
    cosigned = sign_envelope("ack", body, old)
    both = Envelope(env.payload_type, env.body, (*env.signatures, *cosigned.signatures))
    keyid, _ = verify_envelope(both, {old.keyid: old.private_key.public_key()}.get)
    assert keyid == old.keyid
    office = Signer.generate(CHIANG_MAI)
    office_cosigned = Envelope(
        env.payload_type,
        env.body,
        (*cosigned.signatures, *sign_envelope("ack", body, office).signatures),
    )
    with pytest.raises(UnknownKey):
        verify_envelope(office_cosigned, {old.keyid: old.private_key.public_key()}.get)


# -- at the hub ---------------------------------------------------------------------------------


METRICS_TOKEN = "bounds-scrape-token"


@pytest.fixture
def hub(tmp_path: Path, clock: Clock) -> Hub:
    h = Hub(tmp_path, clock, METRICS_TOKEN=METRICS_TOKEN)
    add_operators(h)
    return h


@pytest.fixture
def cm(hub: Hub) -> Office:
    return hub.office(CHIANG_MAI)


def scrape_gaps(hub: Hub) -> dict[str, float]:
    answer = hub.send("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status == 200, answer.body
    pattern = re.compile(
        r'^saraban_hub_numbering_problems\{problem="gaps",register="([^"]+)"\} (\S+)$', re.M
    )
    return {register: float(value) for register, value in pattern.findall(answer.body.decode())}


def test_a_register_entry_numbered_2_pow_53_minus_1_is_refused_at_the_hub(
    hub: Hub, cm: Office
) -> None:
    results = cm.push_ok(cm.register_entry(OWN, HUGE))
    assert results[0]["status"] == "rejected"
    assert results[0]["reason"] == "out_of_bounds"
    assert "number" in results[0]["detail"] and "999999" in results[0]["detail"]
    assert hub.counts("ledger", "feed") == {"ledger": 0, "feed": 0}
    cm.seq, cm.head = 0, None
    assert cm.push_ok(cm.register_entry(OWN, 1))[0]["status"] == "accepted"
    assert scrape_gaps(hub) == {OWN: 0.0}


def test_an_extra_signature_by_an_unknown_key_is_refused_at_the_hub(hub: Hub, cm: Office) -> None:
    hub.office(CHIANG_RAI)
    env = cm.letter([CHIANG_RAI])
    ghost = Signer.generate(CHIANG_MAI, 9)
    wire = env.to_wire()
    wire["signatures"].append({"keyid": ghost.keyid, "sig": env.to_wire()["signatures"][0]["sig"]})
    results = cm.push_ok(wire)
    assert (results[0]["status"], results[0]["reason"]) == ("rejected", "unknown_key")
    assert ghost.keyid in results[0]["detail"]
    assert hub.counts("feed", "mailbox") == {"feed": 0, "mailbox": 0}


def test_a_store_poisoned_with_a_huge_number_still_answers_with_ranges(
    hub: Hub, clock: Clock
) -> None:
    with hub.store() as s, s.write():
        for n, env_id in ((1, "a" * 64), (HUGE, "b" * 64)):
            s.add_ledger_entry(
                OWN, CHIANG_MAI, "ส่ง", 2569, n, "issued", CHIANG_MAI, env_id, None, None, clock()
            )
    ops = console_login(hub)
    page = ops.get("/numbering")
    assert page.status_code == 200
    assert f"2–{HUGE - 1}" in text_of(page)

    answer = post_form(ops, "/numbering/run", {}, "/numbering")
    assert answer.status_code == 302
    report = ops.get(answer.headers["Location"])
    assert report.status_code == 200 and f"2–{HUGE - 1}" in text_of(report)

    with hub.store() as s:
        run = run_nightly(s, hub.app.config, clock())
    document = json.loads(run.path.read_text(encoding="utf-8"))
    [row] = document["registers"]
    assert (row["gaps"], row["gap_count"], row["highest"]) == ([[2, HUGE - 1]], HUGE - 2, HUGE)
    assert run.path.stat().st_size < 10_000
    assert str(HUGE - 2) in format_numbering_report(document["registers"])
    assert scrape_gaps(hub) == {OWN: float(HUGE - 2)}


# -- at the node --------------------------------------------------------------------------------


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return office_knowing(tmp_path, CHIANG_MAI, CHIANG_RAI)


def node_counts(node: Node) -> dict[str, int]:
    return {t: node.rows(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in ("letters", "feed")}


def test_a_paper_letter_numbered_with_5000_digits_is_refused_at_the_node(node: Node) -> None:
    before = node_counts(node)
    paper = {"subject": "ขอเชิญประชุม", "sender": "จังหวัดลำพูน", "number": "ลพ 0017/" + "1" * 5_000}
    answer = node.call("POST", "/api/paper-letters", paper, ok=None)
    assert answer["error"] == "number_too_long"
    assert "200" in answer["message_th"]
    assert node_counts(node) == before
    paper["number"] = "ลพ 0017/" + "1" * 150  # short enough to keep, too big to be a number
    kept = node.call("POST", "/api/paper-letters", paper, ok=201)
    assert kept["id"]


def test_a_letter_the_hub_would_refuse_is_refused_at_the_node_before_it_is_signed(
    node: Node,
) -> None:
    before = node_counts(node)
    resp = node.client.post(
        "/api/letters",
        json={"subject": "ก" * 501, "recipients": [CHIANG_RAI]},
        headers=node.headers,
    )
    assert resp.status_code == 400, resp.get_json()
    assert "subject" in resp.get_json()["reason"] and "500" in resp.get_json()["reason"]
    assert node_counts(node) == before


def test_every_office_message_kind_parses_only_within_bounds() -> None:
    for kind in ("letter", "register"):
        body = letter() if kind == "letter" else register()
        assert parse_feed_message(kind, body).origin == CHIANG_MAI
        with pytest.raises(SarabanError):
            parse_feed_message(kind, {**body, "origin": "ช" * 65})
