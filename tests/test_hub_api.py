"""The hub's sync API driven in-process: enrollment, push, pull, routing and the attacks
on each (named after the scenario or the attack)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from console_support import add_operators, console_login, text_of
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY, Clock
from test_hub_support import Hub, Office, body_of, kinds

from hub.admin.offices import revoke_office
from hub.federation.letter_index import catch_up
from protocol.directory import accept_directory
from protocol.envelope import Envelope, sign_envelope, verify_envelope
from protocol.hub_messages import Ack, Checkpoint
from protocol.keys import Signer, public_key_from_b64


@pytest.fixture
def hub(tmp_path: Path, clock: Clock) -> Hub:
    return Hub(tmp_path, clock)


@pytest.fixture
def cm(hub: Hub) -> Office:
    return hub.office(CHIANG_MAI)


@pytest.fixture
def cr(hub: Hub) -> Office:
    return hub.office(CHIANG_RAI)


def hub_keys(hub: Hub) -> dict[str, object]:
    with hub.store() as s:
        return {r["keyid"]: public_key_from_b64(r["public"]) for r in s.hub_keys()}


# -- enrollment ----------------------------------------------------------------------------


def test_enrollment_answers_hub_keys_and_a_directory_naming_the_office(hub: Hub) -> None:
    office = Office(hub, CHIANG_MAI)
    answer = office.enroll(hub.token(CHIANG_MAI))
    assert answer.status == 200, answer.body
    data = answer.json
    assert data["office"] == CHIANG_MAI
    pinned = {k["keyid"]: public_key_from_b64(k["public"]) for k in data["hub_keys"]}
    directory = accept_directory(Envelope.from_wire(data["directory"]), pinned, None)
    entry = directory.office(CHIANG_MAI)
    assert entry is not None and entry["status"] == "enrolled"
    assert directory.office_key(office.signer.keyid) is not None
    assert len(directory.office_ids()) == 19
    assert directory.directory.lists["pilot-centres"]["title"] == "ศูนย์ปฏิบัติการกลุ่มจังหวัด 18 แห่ง"


def test_enrollment_token_cannot_be_reused(hub: Hub) -> None:
    token = hub.token(CHIANG_MAI)
    assert Office(hub, CHIANG_MAI).enroll(token).status == 200
    thief = Office(hub, CHIANG_MAI, key_no=2)
    answer = thief.enroll(token)
    assert (answer.status, answer.json["error"]) == (403, "bad_token")
    assert hub.count("keys") == 1


def test_expired_enrollment_token_is_refused(hub: Hub, clock: Clock) -> None:
    token = hub.token(CHIANG_MAI, ttl_hours=1)
    clock.advance(3601)
    answer = Office(hub, CHIANG_MAI).enroll(token)
    assert (answer.status, answer.json["error"]) == (403, "bad_token")
    assert hub.count("keys") == 0


def test_enrollment_token_for_another_office_is_refused(hub: Hub) -> None:
    token = hub.token(CHIANG_RAI)
    answer = Office(hub, CHIANG_MAI).enroll(token)
    assert (answer.status, answer.json["error"]) == (403, "bad_token")
    unknown = Office(hub, CHIANG_MAI).enroll("no-such-token")
    assert unknown.json["reason"] == answer.json["reason"]
    assert hub.count("keys") == 0


def test_reenrollment_adds_a_new_key_and_retires_the_old(hub: Hub, cm: Office) -> None:
    rebuilt = Office(hub, CHIANG_MAI, key_no=2)
    assert rebuilt.enroll(hub.token(CHIANG_MAI)).status == 200
    old = cm.pull()
    assert (old.status, old.json["error"]) == (401, "bad_request_signature")
    assert rebuilt.pull().status == 200
    same_number = Office(hub, CHIANG_MAI, key_no=2).enroll(hub.token(CHIANG_MAI))
    assert same_number.status == 400
    assert "key number 3" in same_number.json["reason"]


# -- push ---------------------------------------------------------------------------------


def test_push_accepts_the_next_envelopes_and_acks_the_head(hub: Hub, cm: Office) -> None:
    envs = [cm.letter([CHIANG_RAI], subject=f"เรื่องที่ {i}") for i in range(3)]
    answer = cm.push(*envs)
    assert answer.status == 200
    data = answer.json
    assert [r["status"] for r in data["results"]] == ["accepted"] * 3
    assert [r["seq"] for r in data["results"]] == [1, 2, 3]
    ack_env = Envelope.from_wire(data["ack"])
    _, body = verify_envelope(ack_env, hub_keys(hub).get)  # type: ignore[arg-type]
    ack = Ack.from_dict(body)
    assert (ack.office, ack.last_seq, ack.head) == (CHIANG_MAI, 3, envs[-1].env_id)


def test_duplicate_push_is_harmless_and_mailbox_rows_stay_exactly_once(
    hub: Hub, cm: Office, cr: Office
) -> None:
    letter = cm.letter([CHIANG_RAI, KHON_KAEN])
    assert cm.push_ok(letter)[0]["status"] == "accepted"
    before = hub.counts("feed", "mailbox", "letter_routes", "quarantine")
    again = cm.push_ok(letter)
    assert again[0]["status"] == "duplicate"
    assert hub.counts("feed", "mailbox", "letter_routes", "quarantine") == before
    assert kinds(cr.pull_all()) == ["letter"]


def test_out_of_sequence_envelope_is_rejected_and_quarantined(hub: Hub, cm: Office) -> None:
    cm.seq = 4
    cm.head = "a" * 64
    results = cm.push_ok(cm.letter([CHIANG_RAI]))
    assert results[0]["status"] == "rejected"
    assert results[0]["reason"] == "out_of_sequence"
    assert hub.count("feed") == 0
    assert hub.count("quarantine") == 1


def test_broken_chain_is_rejected_and_later_envelopes_are_reported_not_requarantined(
    hub: Hub, cm: Office
) -> None:
    cm.push_ok(cm.letter([CHIANG_RAI]))
    cm.head = "f" * 64  # the next envelope names the wrong predecessor
    bad = cm.letter([CHIANG_RAI])
    after = [cm.letter([CHIANG_RAI]) for _ in range(3)]
    results = cm.push_ok(bad, *after)
    assert [r["reason"] for r in results] == ["broken_chain"] + ["out_of_sequence"] * 3
    assert hub.count("feed") == 1
    assert hub.count("quarantine") == 1
    again = cm.push_ok(bad, *after)
    assert [r["status"] for r in again] == ["rejected"] * 4
    assert hub.count("quarantine") == 1


def test_hub_rejects_equivocating_feed_and_raises_an_alert(
    hub: Hub, cm: Office, cr: Office
) -> None:
    first = cm.letter([CHIANG_RAI], subject="ฉบับจริง")
    cm.push_ok(first)
    cm.seq, cm.head = 0, None
    fork = cm.letter([CHIANG_RAI], subject="ฉบับปลอม")
    results = cm.push_ok(fork)
    assert (results[0]["status"], results[0]["reason"]) == ("rejected", "equivocation")
    with hub.store() as s:
        alerts = s.alerts()
        quarantined = s.quarantined()
    assert sorted(a["kind"] for a in alerts) == ["equivocation", "quarantined"]
    assert alerts[0]["office"] == CHIANG_MAI
    assert quarantined[0]["env_id"] == fork.env_id
    # Other offices' traffic is unaffected.
    reply = cr.letter([CHIANG_MAI], subject="ตอบรับ")
    assert cr.push_ok(reply)[0]["status"] == "accepted"
    assert [body_of(e)["subject"] for e in cr.pull_all()] == ["ฉบับจริง"]


def test_tampered_payload_is_rejected(hub: Hub, cm: Office) -> None:
    env = cm.letter([CHIANG_RAI])
    wire = env.to_wire()
    body = json.loads(env.body)
    body["subject"] = "แก้ไขระหว่างทาง"
    forged = Envelope(env.payload_type, json.dumps(body).encode(), env.signatures)
    wire["payload"] = forged.to_wire()["payload"]
    results = cm.push_ok(wire)
    assert (results[0]["status"], results[0]["reason"]) == ("rejected", "bad_signature")
    assert hub.count("feed") == 0


def test_tampered_signature_is_rejected(hub: Hub, cm: Office) -> None:
    wire = cm.letter([CHIANG_RAI]).to_wire()
    other = Signer.generate(CHIANG_MAI)
    wire["signatures"][0]["sig"] = sign_envelope("letter", {"x": 1}, other).to_wire()["signatures"][
        0
    ]["sig"]
    results = cm.push_ok(wire)
    assert results[0]["reason"] == "bad_signature"
    assert hub.count("feed") == 0


def test_envelope_naming_an_unknown_key_of_the_office_is_rejected(hub: Hub, cm: Office) -> None:
    wire = cm.letter([CHIANG_RAI]).to_wire()
    wire["signatures"][0]["keyid"] = f"{CHIANG_MAI}#7"
    results = cm.push_ok(wire)
    assert results[0]["reason"] == "unknown_key"


def test_envelope_from_another_offices_feed_is_rejected(hub: Hub, cm: Office, cr: Office) -> None:
    theirs = cr.letter([KHON_KAEN])
    results = cm.push_ok(theirs)
    assert (results[0]["status"], results[0]["reason"]) == ("rejected", "not_your_feed")
    # An envelope claiming another origin but signed by the pusher is refused too.
    cm_body = cm.letter([KHON_KAEN], advance=False)
    claimed = json.loads(cm_body.body)
    claimed["origin"] = CHIANG_RAI
    claimed["recipients"] = [KHON_KAEN]
    results = cm.push_ok(sign_envelope("letter", claimed, cm.signer))
    assert results[0]["reason"] == "not_your_feed"
    assert hub.count("feed") == 0
    assert cr.push_ok(theirs)[0]["status"] == "accepted"


def test_hub_signed_kind_pushed_by_an_office_is_rejected(hub: Hub, cm: Office) -> None:
    env = sign_envelope(
        "lease", {"v": 1, "office": CHIANG_MAI, "register": "x", "action": "grant"}, cm.signer
    )
    assert cm.push_ok(env)[0]["reason"] == "not_a_feed_kind"


def test_revoked_office_is_refused(hub: Hub, cm: Office, clock: Clock) -> None:
    revoke_office(hub.app, CHIANG_MAI, "เครื่องสูญหาย", now=clock())
    answer = cm.push(cm.letter([CHIANG_RAI]))
    assert (answer.status, answer.json["error"]) == (403, "revoked")
    assert hub.count("feed") == 0


# -- pull and routing -----------------------------------------------------------------------


def test_pull_follows_the_cursor_in_batches_with_more(hub: Hub, cm: Office, cr: Office) -> None:
    cm.push_ok(*[cm.letter([CHIANG_RAI], subject=f"เรื่อง {i}") for i in range(7)])
    first = cr.pull(None, 3).json
    assert (len(first["envelopes"]), first["more"]) == (3, True)
    second = cr.pull(first["cursor"], 3).json
    third = cr.pull(second["cursor"], 3).json
    assert (len(third["envelopes"]), third["more"]) == (1, False)
    subjects = [
        body_of(Envelope.from_wire(e))["subject"]
        for page in (first, second, third)
        for e in page["envelopes"]
    ]
    assert subjects == [f"เรื่อง {i}" for i in range(7)]
    empty = cr.pull(third["cursor"], 3).json
    assert (empty["envelopes"], empty["cursor"], empty["more"]) == ([], third["cursor"], False)


def test_pull_checkpoint_is_signed_and_names_the_directory_version(
    hub: Hub, cm: Office, clock: Clock
) -> None:
    cm.push_ok(cm.letter([CHIANG_RAI]))
    data = cm.pull().json
    _, body = verify_envelope(
        Envelope.from_wire(data["checkpoint"]),
        hub_keys(hub).get,  # type: ignore[arg-type]
    )
    checkpoint = Checkpoint.from_dict(body)
    assert checkpoint.office == CHIANG_MAI
    assert checkpoint.last_seq == 1
    assert checkpoint.cursor == data["cursor"]
    health = hub.client.get("/api/v1/health").json
    assert checkpoint.directory_version == health["directory_version"] >= 2


def test_unknown_cursor_is_400_bad_cursor(hub: Hub, cr: Office) -> None:
    for cursor in ("garbage", "m999999", 17):
        answer = cr.pull(cursor)  # type: ignore[arg-type]
        assert (answer.status, answer.json["error"]) == (400, "bad_cursor")
    assert cr.pull(None).status == 200


def test_letter_to_a_pending_office_is_delivered_after_it_enrolls(hub: Hub, cm: Office) -> None:
    letter = cm.letter([KHON_KAEN])
    assert cm.push_ok(letter)[0] == {
        "env_id": letter.env_id,
        "seq": 1,
        "status": "accepted",
        "reason": None,
        "detail": None,
    }
    khon_kaen = hub.office(KHON_KAEN)
    assert [e.env_id for e in khon_kaen.pull_all()] == [letter.env_id]


def test_letter_to_an_unknown_office_is_accepted_with_an_unroutable_alert(
    hub: Hub, cm: Office
) -> None:
    result = cm.push_ok(cm.letter([CHIANG_RAI, "ซซ 9999"]))[0]
    assert result["status"] == "accepted"
    assert "ซซ 9999" in result["detail"]
    with hub.store() as s:
        assert [a["kind"] for a in s.alerts()] == ["unroutable"]
        assert s.count("mailbox") == 1


def test_receipts_are_routed_to_the_sender_only(hub: Hub, cm: Office, cr: Office) -> None:
    letter = cm.letter([CHIANG_RAI])
    cm.push_ok(letter)
    cr.pull_all()
    delivered = cr.receipt(letter)
    registered = cr.receipt(letter, status="registered", receipt_number="1234")
    cr.push_ok(delivered, registered)
    assert [e.env_id for e in cm.pull_all()] == [delivered.env_id, registered.env_id]
    assert cr.pull_all() == []


def test_receipt_from_a_non_recipient_is_accepted_but_not_routed(
    hub: Hub, cm: Office, cr: Office
) -> None:
    letter = cm.letter([KHON_KAEN])
    cm.push_ok(letter)
    result = cr.push_ok(cr.receipt(letter))[0]
    assert result["status"] == "accepted"
    assert cm.pull_all() == []
    with hub.store() as s:
        assert [a["kind"] for a in s.alerts()] == ["misrouted_receipt"]


def test_withdrawal_reaches_the_letters_recipients(hub: Hub, cm: Office, cr: Office) -> None:
    letter = cm.letter([CHIANG_RAI, MINISTRY])
    cm.push_ok(letter)
    withdraw = cm.withdraw(letter)
    cm.push_ok(withdraw)
    assert kinds(cr.pull_all()) == ["letter", "withdraw"]
    ministry = hub.office(MINISTRY)
    assert kinds(ministry.pull_all()) == ["letter", "withdraw"]


def test_a_letter_and_its_withdrawal_in_one_push_reach_the_recipient_in_order(
    hub: Hub, cm: Office, cr: Office
) -> None:
    letter = cm.letter([CHIANG_RAI])
    results = cm.push_ok(letter, cm.withdraw(letter))
    assert [r["status"] for r in results] == ["accepted", "accepted"]
    assert kinds(cr.pull_all()) == ["letter", "withdraw"]
    with hub.store() as s:
        assert s.alerts() == []


def test_the_same_letter_twice_in_one_push_is_stored_and_delivered_once(
    hub: Hub, cm: Office, cr: Office
) -> None:
    letter = cm.letter([CHIANG_RAI])
    results = cm.push_ok(letter, letter)
    assert [r["status"] for r in results] == ["accepted", "duplicate"]
    assert [e.env_id for e in cr.pull_all()] == [letter.env_id]
    with hub.store() as s:
        assert catch_up(s) == 1  # the portal records the letter from the feed, once
    assert hub.counts("feed", "mailbox", "portal_letters") == {
        "feed": 1,
        "mailbox": 1,
        "portal_letters": 1,
    }


def test_letters_of_one_push_are_each_routed_counted_and_noted(
    hub: Hub, cm: Office, cr: Office
) -> None:
    kk = hub.office(KHON_KAEN)
    envs = [
        cm.letter([CHIANG_RAI], subject="เรื่องที่หนึ่ง"),
        cm.letter([CHIANG_RAI, "ซซ 9999", KHON_KAEN], subject="เรื่องที่สอง"),
        cm.letter([KHON_KAEN], subject="เรื่องที่สาม"),
    ]
    results = cm.push_ok(*envs)
    assert [r["status"] for r in results] == ["accepted"] * 3
    assert [r["detail"] for r in results] == [None, "unroutable: ซซ 9999 (unknown)", None]
    assert [e.env_id for e in cr.pull_all()] == [envs[0].env_id, envs[1].env_id]
    assert [e.env_id for e in kk.pull_all()] == [envs[1].env_id, envs[2].env_id]
    with hub.store() as s:
        assert [s.letter_recipients(e.env_id) for e in envs] == [
            [CHIANG_RAI],
            [CHIANG_RAI, KHON_KAEN],
            [KHON_KAEN],
        ]
        assert [a["kind"] for a in s.alerts()] == ["unroutable"]
        assert catch_up(s) == 3  # as a portal page does before it reads
    assert hub.counts("letter_facts", "delivery_times", "portal_letters", "portal_pending") == {
        "letter_facts": 3,
        "delivery_times": 4,
        "portal_letters": 3,
        "portal_pending": 3,
    }


def test_receipts_between_the_letters_of_one_push_are_routed_with_them(
    hub: Hub, cm: Office, cr: Office
) -> None:
    # A node's push mixes its own letters and its receipts for letters it received.
    theirs = cr.letter([CHIANG_MAI])
    cr.push_ok(theirs)
    cm.pull_all()
    first = cm.letter([CHIANG_RAI], subject="เรื่องที่หนึ่ง")
    delivered = cm.receipt(theirs)
    second = cm.letter([CHIANG_RAI], subject="เรื่องที่สอง")
    registered = cm.receipt(theirs, status="registered", receipt_number="15")
    results = cm.push_ok(first, delivered, second, registered)
    assert [r["status"] for r in results] == ["accepted"] * 4
    pulled = [e.env_id for e in cr.pull_all()]
    assert sorted(pulled) == sorted(e.env_id for e in (first, delivered, second, registered))
    assert pulled.index(first.env_id) < pulled.index(second.env_id)
    assert pulled.index(delivered.env_id) < pulled.index(registered.env_id)
    with hub.store() as s:
        assert [row.seq for row in s.feed_after(CHIANG_MAI, 0, 10)] == [1, 2, 3, 4]
        assert s.letter_recipients(first.env_id) == [CHIANG_RAI]
        assert s.alerts() == []


def test_receipts_of_one_push_are_each_routed_or_refused_on_their_own(
    hub: Hub, cm: Office, cr: Office
) -> None:
    letter = cm.letter([CHIANG_RAI])
    cm.push_ok(letter)
    cr.pull_all()
    unknown = cm.letter([CHIANG_RAI], advance=False)  # never pushed: the hub lacks it
    results = cr.push_ok(cr.receipt(unknown), cr.receipt(letter))
    assert [r["status"] for r in results] == ["accepted", "accepted"]
    assert results[0]["detail"].startswith("not routed: receipt")
    assert "the hub lacks" in results[0]["detail"]
    assert results[1]["detail"] is None
    assert kinds(cm.pull_all()) == ["receipt"]
    with hub.store() as s:
        assert [a["kind"] for a in s.alerts()] == ["misrouted_receipt"]
        assert [r["delivered_at"] is not None for r in s.delivery_times_of(letter.env_id)] == [True]


def test_own_feed_and_highwater_for_a_restored_node(hub: Hub, cm: Office) -> None:
    envs = [cm.letter([CHIANG_RAI]) for _ in range(5)]
    cm.push_ok(*envs)
    high = cm.request("GET", "/highwater").json
    assert high["feed"] == {"seq": 5, "head": envs[-1].env_id}
    page = cm.request("GET", "/feed?after=2&limit=2").json
    assert [Envelope.from_wire(e).env_id for e in page["envelopes"]] == [
        envs[2].env_id,
        envs[3].env_id,
    ]
    assert page["more"] is True


def test_heartbeat_is_shown_in_the_federation_view(hub: Hub, cm: Office, clock: Clock) -> None:
    answer = cm.request(
        "POST",
        "/heartbeat",
        {
            "outbox": 12,
            "last_sync_ok": True,
            "last_error": None,
            "clock": clock() + 40,
            "software": "saraban-node 0.1.0",
            "provisional_pending": 0,
        },
    )
    assert answer.status == 200, answer.body
    with hub.store() as s:
        row = s.office(CHIANG_MAI)
    assert row is not None
    assert (row["outbox_backlog"], row["clock_skew"]) == (12, 40)
    add_operators(hub)
    page = text_of(console_login(hub).get("/offices"))
    assert "ปกติ" in page and "ยังไม่ลงทะเบียน" in page and "saraban-node 0.1.0" in page


def test_directory_endpoint_is_signed_and_current(hub: Hub, cm: Office) -> None:
    data = cm.request("GET", "/directory").json
    env = Envelope.from_wire(data["directory"])
    pinned = hub_keys(hub)
    directory = accept_directory(env, pinned, None)  # type: ignore[arg-type]
    assert directory.office(CHIANG_MAI)["status"] == "enrolled"  # type: ignore[index]
