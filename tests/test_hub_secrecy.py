"""The hub enforces secrecy: a classified letter (ลับ, ลับมาก) that is not sealed is refused
at push, whatever the sending node checked, and the hub keeps none of its plaintext.

The offices here are stand-ins that sign and push envelopes themselves
(tests/test_hub_support.py), as a modified or hostile node would.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock
from test_hub_support import Hub, Office

from hub.federation.secrecy import UNSEALED_CLASSIFIED
from protocol.keys import b64encode
from protocol.sealing import SEALED_SUBJECT, ContentKey, seal_letter, wire_attachment

SECRET_TEXT = "แผนการเคลื่อนย้ายกำลังพลชายแดน รหัส ๔๗๑๑"
CIPHERTEXT = hashlib.sha256(b"ciphertext of the content").hexdigest()


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    return Hub(tmp_path, Clock())


@pytest.fixture
def offices(hub: Hub) -> dict[str, Office]:
    return {o: hub.office(o) for o in (CHIANG_MAI, CHIANG_RAI, KHON_KAEN)}


@pytest.fixture
def cm(offices: dict[str, Office]) -> Office:
    return offices[CHIANG_MAI]


SEAL_PUBLIC = b64encode(X25519PrivateKey.generate().public_key().public_bytes_raw())


def sealed(recipients: list[str]) -> dict[str, Any]:
    """A letter's sealed part, sealed to a stand-in key for each recipient."""
    return seal_letter(
        ContentKey.fresh(),
        {"subject": SECRET_TEXT},
        sender=CHIANG_MAI,
        recipients=dict.fromkeys(recipients, SEAL_PUBLIC),
    )


def sealed_fields(recipients: list[str]) -> dict[str, Any]:
    """The fields of a correctly sealed letter: neutral subject, no plaintext."""
    return {"subject": SEALED_SUBJECT, "body": "", "salutation": "", "sealed": sealed(recipients)}


def hub_files(hub: Hub) -> bytes:
    folder = Path(hub.app.config["DATABASE"]).parent
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("secrecy", ["ลับ", "ลับมาก"])
def test_plaintext_classified_letter_is_refused_at_the_hub(
    hub: Hub, offices: dict[str, Office], secrecy: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cm, recipient = offices[CHIANG_MAI], offices[CHIANG_RAI]
    plaintext = cm.letter([CHIANG_RAI], subject="เรื่องลับ", body=SECRET_TEXT, secrecy=secrecy)

    (result,) = cm.push_ok(plaintext)

    assert (result["status"], result["reason"]) == ("rejected", UNSEALED_CLASSIFIED)
    assert f"a {secrecy} letter must be sealed" in result["detail"]
    assert hub.counts("feed", "mailbox", "letter_routes") == {
        "feed": 0,
        "mailbox": 0,
        "letter_routes": 0,
    }
    assert recipient.pull_all() == []
    with hub.store() as store:
        (listed,) = store.quarantined()
        kept = store.quarantined_one(listed["id"])
    assert kept is not None
    assert (kept["env_id"], kept["reason"], kept["envelope"]) == (
        plaintext.env_id,
        UNSEALED_CLASSIFIED,
        None,
    )
    held = hub_files(hub)
    assert SECRET_TEXT.encode() not in held
    assert plaintext.to_wire()["payload"][:64].encode() not in held  # nor its base64
    assert SECRET_TEXT not in caplog.text


def test_sealed_classified_letter_is_routed(offices: dict[str, Office]) -> None:
    cm = offices[CHIANG_MAI]
    recipients = [CHIANG_RAI, KHON_KAEN]
    letter = cm.letter(recipients, secrecy="ลับมาก", **sealed_fields(recipients))
    assert cm.push_ok(letter)[0]["status"] == "accepted"
    for office in recipients:
        assert [e.env_id for e in offices[office].pull_all()] == [letter.env_id]


def test_the_office_s_next_envelopes_wait_and_others_flow(offices: dict[str, Office]) -> None:
    """The refused letter holds up its own feed (the node must send it sealed or not at
    all), never another office's."""
    cm = offices[CHIANG_MAI]
    refused = cm.letter([CHIANG_RAI], body=SECRET_TEXT, secrecy="ลับ")
    after = cm.letter([CHIANG_RAI])
    first, second = cm.push_ok(refused, after)
    assert (first["reason"], second["reason"]) == (UNSEALED_CLASSIFIED, "out_of_sequence")
    other = offices[KHON_KAEN]
    assert other.push_ok(other.letter([CHIANG_RAI]))[0]["status"] == "accepted"


GOOD = sealed([CHIANG_RAI])
NOT_SEALED: dict[str, dict[str, Any]] = {
    "no sealed content": {"sealed": None},
    "sealed is not an object": {"sealed": "AES-256-GCM"},
    "content is not a sha256": {"sealed": {**GOOD, "content": "abc"}},
    "no keys": {"sealed": {**GOOD, "keys": None}},
    "an empty wrapped key": {"sealed": {**GOOD, "keys": {CHIANG_RAI: ""}}},
    "a key that is not a string": {"sealed": {**GOOD, "keys": {CHIANG_RAI: 7}}},
    "a recipient without a key": {"sealed": sealed([])},
    "a key for an office that is no recipient": {"sealed": sealed([CHIANG_RAI, KHON_KAEN])},
    "an unknown suite": {"sealed": {**GOOD, "suite": "rot13"}},
    "no ciphertext": {"sealed": {k: v for k, v in GOOD.items() if k != "box"}},
    "a ciphertext not hashing to content": {"sealed": {**GOOD, "content": CIPHERTEXT}},
    "sealed, but the body in plaintext too": {"body": "ข้อความ"},
    "sealed, but the subject in plaintext": {"subject": "แผนการเคลื่อนย้ายกำลังพล"},
    "sealed, but the salutation in plaintext": {"salutation": "เรียน ผู้บัญชาการ"},
    "sealed, but a reference in plaintext": {"references": ["หนังสือที่ มท 0212/1"]},
    "sealed, but an attachment named": {
        "attachments": [{**wire_attachment(1, b"x"), "name": "แผนที่ชายแดน.pdf"}]
    },
}


@pytest.mark.parametrize("case", list(NOT_SEALED))
def test_a_classified_letter_not_sealed_is_refused(hub: Hub, cm: Office, case: str) -> None:
    fields = {**sealed_fields([CHIANG_RAI]), "sealed": GOOD, **NOT_SEALED[case]}
    if fields["sealed"] is None:
        del fields["sealed"]
    letter = cm.letter([CHIANG_RAI], secrecy="ลับ", **fields)
    (result,) = cm.push_ok(letter)
    assert (result["status"], result["reason"]) == ("rejected", UNSEALED_CLASSIFIED), result
    assert hub.counts("feed", "mailbox") == {"feed": 0, "mailbox": 0}


def test_top_secret_is_never_taken_even_sealed(hub: Hub, cm: Office) -> None:
    letter = cm.letter([CHIANG_RAI], secrecy="ลับที่สุด", **sealed_fields([CHIANG_RAI]))
    (result,) = cm.push_ok(letter)
    assert (result["status"], result["reason"]) == ("rejected", "bad_message")
    assert hub.counts("feed", "mailbox") == {"feed": 0, "mailbox": 0}
