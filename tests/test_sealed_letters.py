"""Sealed classified letters between offices through a real hub (ADR 0022): the recipients'
registrars open them, a clerk without clearance cannot, and the hub holds none of their
plaintext and none of their keys (invariant 6 of the design)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock
from test_node_support import Federation, Node, federation

from node.records.sealed import office_seal_keys
from protocol.canonical import parse_canonical
from protocol.envelope import Envelope
from protocol.keys import b64encode
from protocol.sealing import SEALED_SUBJECT, open_letter

SUBJECT = "แผนรักษาความปลอดภัยการเสด็จพระราชดำเนิน จังหวัดเชียงราย"
BODY = "ให้จังหวัดจัดเจ้าหน้าที่ตามบัญชีแนบ และรายงานผลภายในวันที่ ๑๕ ธันวาคม"
FILE_NAME = "บัญชีเจ้าหน้าที่รักษาความปลอดภัย.pdf"
FILE = b"%PDF-1.4\n" + "รายชื่อเจ้าหน้าที่ชุดที่ ๑ ".encode() * 3000  # about 200 KB, 4 chunks
CLERK = {"X-Saraban-User": "somchai", "X-Saraban-Roles": "clerk"}
REGISTRAR = {"X-Saraban-User": "wipa", "X-Saraban-Roles": "registrar"}


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[Federation]:
    with federation(tmp_path, Clock()) as f:
        yield f


def get(node: Node, path: str, who: dict[str, str]) -> Any:
    return node.client.get(path, headers={**node.headers, **who})


def send_sealed(cm: Node, recipients: list[str], secrecy: str) -> dict[str, Any]:
    attachment = {
        "name": FILE_NAME,
        "media_type": "application/pdf",
        "content_base64": base64.b64encode(FILE).decode(),
    }
    return cm.send(
        subject=SUBJECT,
        body=BODY,
        salutation="ผู้ว่าราชการจังหวัดเชียงราย",
        recipients=recipients,
        secrecy=secrecy,
        attachments=[attachment],
    )


def hub_bytes(fed: Federation) -> bytes:
    """Every file the hub keeps: databases with their WAL, blobs, quarantine, logs."""
    return b"".join(p.read_bytes() for p in sorted(fed.hub_dir.rglob("*")) if p.is_file())


def content_key(node: Node, env_id: str) -> bytes:
    (row,) = node.rows("SELECT envelope FROM mailbox WHERE env_id = ?", (env_id,))
    body = parse_canonical(Envelope.from_bytes(row["envelope"]).body)
    _, key = open_letter(
        body["sealed"],
        sender=body["origin"],
        office=node.office,
        private_keys=office_seal_keys(node.ctx),
    )
    return key.secret


@pytest.mark.parametrize("secrecy", ["ลับ", "ลับมาก"])
def test_sealed_letter_reaches_two_offices_and_the_hub_holds_none_of_it(
    fed: Federation, secrecy: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cm, cr, kk = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI), fed.node(KHON_KAEN)
    assert cm.sync().ok  # the directory with both recipients' sealing keys

    sent = send_sealed(cm, [CHIANG_RAI, KHON_KAEN], secrecy)
    assert cm.sync().ok
    keys = []
    for office in (cr, kk):
        assert office.sync().ok
        (row,) = office.inbox()
        assert (row["subject"], row["secrecy"], row["env_id"]) == (
            SEALED_SUBJECT,
            secrecy,
            sent["env_id"],
        )
        opened = get(office, f"/api/letters/{row['id']}/sealed", REGISTRAR)
        assert opened.status_code == 200, opened.get_json()
        letter = opened.get_json()
        assert (letter["subject"], letter["body"]) == (SUBJECT, BODY)
        (attachment,) = letter["attachments"]
        assert (attachment["name"], attachment["size"]) == (FILE_NAME, len(FILE))
        download = get(office, f"/api/letters/{row['id']}/sealed/{attachment['sha256']}", REGISTRAR)
        assert download.status_code == 200 and download.data == FILE
        refused = get(office, f"/api/letters/{row['id']}/sealed", CLERK)
        assert refused.status_code == 404 and SUBJECT not in refused.get_data(as_text=True)
        actions = [
            (r["actor"], r["action"])
            for r in office.rows("SELECT actor, action FROM audit ORDER BY id")
        ]
        assert ("wipa", "open_classified") in actions
        assert ("wipa", "download_classified") in actions
        keys.append(content_key(office, sent["env_id"]))
        registered = office.call("POST", f"/api/letters/{row['id']}/register", {})
        assert "|ลับ|" in registered["register"]  # the control register of classified letters
        assert office.sync().ok  # the receipt and the register entry reach the hub
    assert cm.sync().ok
    tracking = cm.call("GET", f"/api/letters/{sent['id']}")["tracking"]
    assert [t["state"] for t in tracking] == ["registered", "registered"]

    held = hub_bytes(fed)
    (blob,) = [p for p in (fed.hub_dir / "blobs").rglob("*") if p.is_file()]
    assert blob.stat().st_size > len(FILE)  # the ciphertext, searched with the rest
    secrets = {
        "subject": SUBJECT.encode(),
        "body": BODY.encode(),
        "salutation": "ผู้ว่าราชการจังหวัดเชียงราย".encode(),
        "file name": FILE_NAME.encode(),
        "file bytes": FILE[9:4096],
        "content key": keys[0],
        "content key, base64": b64encode(keys[0]).encode(),
        "content key, hex": keys[0].hex().encode(),
    }
    assert keys[0] == keys[1]
    found = [name for name, secret in secrets.items() if secret in held]
    assert found == []
    logged = caplog.text
    assert not [n for n, s in secrets.items() if s.decode("utf-8", "replace") in logged]


def test_an_office_not_on_the_list_holding_the_envelope_cannot_open_it(fed: Federation) -> None:
    cm, cr, kk = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI), fed.node(KHON_KAEN)
    assert cm.sync().ok
    sent = send_sealed(cm, [CHIANG_RAI], "ลับ")
    assert cm.sync().ok and cr.sync().ok
    (row,) = cr.rows("SELECT envelope FROM mailbox WHERE env_id = ?", (sent["env_id"],))
    body = parse_canonical(Envelope.from_bytes(row["envelope"]).body)
    from protocol.errors import SealRefused

    with pytest.raises(SealRefused) as e:
        open_letter(
            body["sealed"],
            sender=CHIANG_MAI,
            office=KHON_KAEN,
            private_keys=office_seal_keys(kk.ctx),
        )
    assert e.value.reason == "not_a_recipient"
    with pytest.raises(SealRefused) as e:
        open_letter(
            body["sealed"],
            sender=CHIANG_MAI,
            office=CHIANG_RAI,
            private_keys=office_seal_keys(kk.ctx),
        )
    assert e.value.reason == "key_not_held"


def test_top_secret_is_refused_electronically_with_the_regulation(fed: Federation) -> None:
    cm, _ = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cm.sync().ok
    answer = cm.call(
        "POST",
        "/api/letters",
        {"subject": SUBJECT, "recipients": [CHIANG_RAI], "secrecy": "ลับที่สุด"},
        ok=None,
    )
    assert answer["error"] == "top_secret_not_electronic"
    assert "งานสารบรรณ" in answer["message_th"] and "2564" in answer["message_th"]
    assert cm.rows("SELECT id FROM letters") == []


def test_a_classified_draft_s_file_never_leaves_the_office_in_plaintext(fed: Federation) -> None:
    cm, _ = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    attachment = {
        "name": FILE_NAME,
        "media_type": "application/pdf",
        "content_base64": base64.b64encode(FILE).decode(),
    }
    cm.call(
        "POST",
        "/api/drafts",
        {
            "subject": SUBJECT,
            "recipients": [CHIANG_RAI],
            "secrecy": "ลับ",
            "attachments": [attachment],
        },
        ok=201,
    )
    result = cm.sync()
    assert result.ok and result.uploaded == []
    assert not [p for p in (fed.hub_dir / "blobs").rglob("*") if p.is_file()]
    assert SUBJECT.encode() not in hub_bytes(fed)


def test_a_letter_sealed_to_the_old_key_stays_readable_after_a_key_change(
    fed: Federation,
) -> None:
    from hub.admin.tokens import issue_enrollment_token
    from node.sync.enrolment import init_node

    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cm.sync().ok
    before = send_sealed(cm, [CHIANG_RAI], "ลับ")
    assert cm.sync().ok and cr.sync().ok

    token = issue_enrollment_token(fed.hub_dir, CHIANG_RAI, now=fed.clock())
    init_node(cr.instance, fed.url, CHIANG_RAI, token, reenroll=True)
    cr = Node(cr.instance, fed.clock)
    assert cr.sync().ok and cm.sync().ok  # the sender sees the new key in the directory
    after = send_sealed(cm, [CHIANG_RAI], "ลับมาก")
    assert cm.sync().ok and cr.sync().ok

    ids = {r["env_id"]: r["id"] for r in cr.inbox()}
    for sent in (before, after):
        opened = get(cr, f"/api/letters/{ids[sent['env_id']]}/sealed", REGISTRAR)
        assert opened.status_code == 200 and opened.get_json()["subject"] == SUBJECT
    kept = list((cr.instance / "keys").glob("seal-*.key"))
    assert len(kept) == 1 and len(office_seal_keys(cr.ctx)) == 2

    kept[0].unlink()  # the old key is lost: the office says so and what to do
    lost = get(cr, f"/api/letters/{ids[before['env_id']]}/sealed", REGISTRAR)
    answer = lost.get_json()
    assert (lost.status_code, answer["error"]) == (400, "seal_key_not_held")
    assert "ขอต้นเรื่องส่งใหม่" in answer["message_th"]
    assert get(cr, f"/api/letters/{ids[after['env_id']]}/sealed", REGISTRAR).status_code == 200


def test_a_rekey_changes_the_seal_key_and_letters_sealed_before_and_after_both_open(
    fed: Federation,
) -> None:
    from node.sync.rekey import rekey_node

    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cm.sync().ok
    old_keys = set(office_seal_keys(cr.ctx))
    before = send_sealed(cm, [CHIANG_RAI], "ลับ")
    assert cm.sync().ok and cr.sync().ok

    info = rekey_node(cr.instance, {"CLOCK": fed.clock})
    new_kid = info["seal_keyid"]
    assert new_kid is not None and new_kid not in old_keys
    assert set(office_seal_keys(cr.ctx)) == old_keys | {new_kid}
    [kept] = (cr.instance / "keys").glob("seal-*.key")
    assert kept.name == f"seal-{old_keys.pop()}.key"
    assert not list((cr.instance / "keys").glob("*.new"))

    assert cm.sync().ok  # the sender sees the new key in the directory
    after = send_sealed(cm, [CHIANG_RAI], "ลับมาก")
    assert cm.sync().ok and cr.sync().ok
    (row,) = cr.rows("SELECT envelope FROM mailbox WHERE env_id = ?", (after["env_id"],))
    sealed = parse_canonical(Envelope.from_bytes(row["envelope"]).body)["sealed"]
    assert sealed["keys"][CHIANG_RAI].startswith(new_kid + ".")

    ids = {r["env_id"]: r["id"] for r in cr.inbox()}
    for sent in (before, after):
        opened = get(cr, f"/api/letters/{ids[sent['env_id']]}/sealed", REGISTRAR)
        assert opened.status_code == 200 and opened.get_json()["subject"] == SUBJECT


def test_the_registrar_reads_it_in_the_browser_and_a_clerk_sees_only_that_it_exists(
    fed: Federation,
) -> None:
    from web_support import add_users, login

    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cm.sync().ok
    send_sealed(cm, [CHIANG_RAI], "ลับมาก")
    assert cm.sync().ok and cr.sync().ok
    add_users(cr)
    (row,) = cr.inbox()

    registrar = login(cr, "registrar")
    page = registrar.get(f"/letters/{row['id']}").get_data(as_text=True)
    assert SUBJECT in page and BODY in page and FILE_NAME in page
    (link,) = {p for p in page.split('"') if p.startswith(f"/letters/{row['id']}/sealed-files/")}
    assert registrar.get(link).data == FILE

    clerk = login(cr, "somsri")
    inbox = clerk.get("/letters/inbox?state=all").get_data(as_text=True)
    assert "ลับมาก" in inbox and SUBJECT not in inbox and SEALED_SUBJECT not in inbox
    refused = clerk.get(f"/letters/{row['id']}")
    assert refused.status_code == 403 and SUBJECT not in refused.get_data(as_text=True)
    assert clerk.get(link).status_code == 403
    actions = [(r["actor"], r["action"]) for r in cr.rows("SELECT actor, action FROM audit")]
    assert ("registrar", "view_classified") in actions
    assert ("registrar", "download_classified") in actions
    assert ("somsri", "classified_refused") in actions


def test_the_registrar_composes_a_sealed_letter_on_the_clerk_s_pages(fed: Federation) -> None:
    from test_web_compose import FIELDS, PNG, submit
    from web_support import add_users, login

    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cm.sync().ok
    add_users(cm)
    add_users(cr)
    resp = submit(login(cm, "registrar"), secrecy="ลับ", files=[(PNG, "แผนผัง.png")])
    assert resp.status_code == 302
    assert cm.sync().ok and cr.sync().ok
    (row,) = cr.inbox()
    assert (row["subject"], row["secrecy"]) == (SEALED_SUBJECT, "ลับ")
    page = login(cr, "registrar").get(f"/letters/{row['id']}").get_data(as_text=True)
    for shown in ("subject", "salutation", "references", "body"):
        assert FIELDS[shown] in page, shown
    assert "กำหนดการประชุม" in page and "แผนผัง.png" in page
    held = hub_bytes(fed)
    assert not [f for f in ("subject", "body", "references") if FIELDS[f].encode() in held]
    assert PNG not in held


def test_the_local_api_lists_a_classified_letter_as_existing_to_a_clerk(fed: Federation) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cm.sync().ok
    sent = send_sealed(cm, [CHIANG_RAI], "ลับ")
    assert cm.sync().ok and cr.sync().ok

    answer = get(cr, "/api/letters?box=inbox", CLERK)
    assert answer.status_code == 200
    (row,) = answer.get_json()["letters"]
    assert (row["hidden"], row["number"], row["secrecy"]) == (True, sent["number"], "ลับ")
    assert (row["subject"], row["origin"]) == (None, None)  # as หนังสือเข้า lists it
    text = answer.get_data(as_text=True)
    assert SUBJECT not in text and SEALED_SUBJECT not in text and BODY not in text

    (opened,) = get(cr, "/api/letters?box=inbox", REGISTRAR).get_json()["letters"]
    assert (opened["hidden"], opened["subject"], opened["id"]) == (False, SEALED_SUBJECT, row["id"])
