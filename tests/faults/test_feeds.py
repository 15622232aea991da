"""Envelopes arriving wrong at the hub: poison from one office, the same pushes twice, at
once or backwards, a receipt whose answer is lost and one pushed again. Each envelope is
stored once, the bad ones are kept aside, and every other office's traffic flows."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from faults.harness import (
    RECIPIENTS,
    SENDER,
    finish_and_check,
    office_client,
    outbox_wire,
)
from protocol.canonical import parse_canonical
from protocol.envelope import Envelope, Signature, sign_envelope
from scripts.faults.federation import FaultFederation, read_rows

Start = Callable[..., FaultFederation]


def poison_from(fed: FaultFederation, office: str) -> dict[str, Any]:
    """Envelopes signed with ``office``'s own key that the hub must refuse, by what is
    wrong with them; the office's node has sent one letter (seq 1) and its number (seq 2)."""
    signer = office_client(fed, office).signer
    assert signer is not None
    wire = outbox_wire(fed, office, "letter")[0]
    real = Envelope.from_wire(wire)
    body = parse_canonical(real.body)
    head = read_rows(fed.node_db(office), "SELECT env_id FROM feed ORDER BY seq DESC LIMIT 1")[0][0]
    next_letter = {**body, "seq": 3, "prev": head, "subject": "หนังสือปลอม"}
    forged = sign_envelope("letter", next_letter, signer)
    bad_sig = dataclasses.replace(
        forged, signatures=(Signature(forged.signatures[0].keyid, bytes(64)),)
    )
    return {
        "equivocation": sign_envelope(
            "letter", {**body, "subject": "แก้ไขย้อนหลัง"}, signer
        ).to_wire(),
        "bad_signature": bad_sig.to_wire(),
        "out_of_sequence": sign_envelope("letter", {**next_letter, "seq": 9}, signer).to_wire(),
        "not_your_feed": sign_envelope(
            "letter", {**next_letter, "origin": SENDER}, signer
        ).to_wire(),
        "malformed": {"payloadType": "application/json", "payload": "!!", "signatures": []},
    }


def test_poison_envelopes_from_one_office_do_not_stop_the_others(start_federation: Start) -> None:
    fed = start_federation()
    poisoner = RECIPIENTS[1]
    before = fed.send_letters(poisoner, (SENDER,), 1, label="ก่อน")
    assert fed.sync(poisoner)["ok"]
    poison = poison_from(fed, poisoner)
    client = office_client(fed, poisoner)

    def flood() -> list[dict[str, Any]]:
        verdicts = []
        for _ in range(8):
            for wire in poison.values():
                verdicts += client.push([wire])["results"]
            verdicts += client.push(list(poison.values()))["results"]
        return verdicts

    with ThreadPoolExecutor(max_workers=1) as pool:
        flooding = pool.submit(flood)
        sent = fed.send_letters(SENDER, RECIPIENTS, 6)
        replies = fed.send_letters(RECIPIENTS[0], (SENDER,), 3, label="ตอบ")
        rounds = [fed.sync_round(), fed.sync_round()]
        verdicts = flooding.result()

    assert {v["status"] for v in verdicts} == {"rejected"}
    fed.injected["poison envelope pushed"] += len(verdicts)
    assert all(r["ok"] for results in rounds for r in results.values()), rounds
    assert len(fed.incoming(RECIPIENTS[1])) == 6  # the poisoner's own node kept receiving
    after = fed.send_letters(poisoner, (SENDER,), 2, label="หลัง")  # and sending
    quarantined = fed.hub_rows(
        "SELECT COUNT(DISTINCT env_id) FROM quarantine WHERE origin = ? OR origin IS NULL",
        (poisoner,),
    )[0][0]
    assert quarantined >= 4
    alerts = fed.hub_rows("SELECT kind FROM alerts WHERE office = ?", (poisoner,))
    assert ("equivocation",) in alerts
    finish_and_check(
        fed,
        {SENDER: sent, RECIPIENTS[0]: replies, poisoner: {**before, **after}},
        {SENDER: RECIPIENTS, RECIPIENTS[0]: (SENDER,), poisoner: (SENDER,)},
    )


def test_duplicate_and_reordered_pushes_store_each_envelope_once(start_federation: Start) -> None:
    fed = start_federation()
    sent = fed.send_letters(SENDER, RECIPIENTS, 8)  # 16 envelopes: letters and numbers
    outbox = outbox_wire(fed, SENDER)
    assert len(outbox) == 16

    def push(batch: list[Any]) -> list[str]:
        return [r["status"] for r in office_client(fed, SENDER).push(batch)["results"]]

    backwards = push(list(reversed(outbox[:6])))
    assert backwards == ["rejected"] * 5 + ["accepted"]  # only seq 1 can be taken
    with ThreadPoolExecutor(max_workers=4) as pool:
        at_once = list(pool.map(push, [outbox[:10]] * 4))
    assert sorted(s for statuses in at_once for s in statuses).count("accepted") == 9
    twice_each = push([e for e in outbox[:14] for _ in range(2)])
    fed.injected["push reordered"] += 1
    fed.injected["push repeated at once"] += 4
    fed.injected["push with each envelope twice"] += 1
    assert twice_each.count("accepted") == 4 and twice_each.count("duplicate") == 24

    seqs = fed.hub_rows("SELECT seq FROM feed WHERE origin = ? ORDER BY seq", (SENDER,))
    assert [s for (s,) in seqs] == list(range(1, 15))
    synced = fed.sync(SENDER)  # the node itself: 14 already there, 2 new
    assert (synced["ok"], synced["accepted"]) == (True, 2)
    finish_and_check(fed, {SENDER: sent}, {SENDER: RECIPIENTS})


def test_lost_and_duplicated_receipt_counts_once(start_federation: Start) -> None:
    receiver = RECIPIENTS[0]
    fed = start_federation((SENDER, receiver))
    sent = fed.send_letters(SENDER, (receiver,), 3)
    assert fed.sync(SENDER)["ok"] and fed.sync(receiver)["ok"]
    # one deliveries answering the three letters of the pull, and three registered receipts
    assert fed.register_all([receiver]) == 3

    # The answers reach the hub; the answer to the receiver is lost.
    fed.proxies[receiver].fail_next("lose_answer", "/push")
    assert not fed.sync(receiver)["ok"]
    at_hub = (
        "SELECT kind, COUNT(*) FROM feed WHERE origin = ?"
        " AND kind IN ('receipt', 'deliveries') GROUP BY kind"
    )
    answers = {"deliveries": 1, "receipt": 3}
    assert dict(fed.hub_rows(at_hub, (receiver,))) == answers
    assert fed.sync(receiver)["ok"]
    assert dict(fed.hub_rows(at_hub, (receiver,))) == answers
    assert fed.status(receiver)["outbox"] == 0
    # The same answers pushed once more, as a copy of the node would: duplicates.
    wire = outbox_wire(fed, receiver, "deliveries") + outbox_wire(fed, receiver, "receipt")
    pushed = office_client(fed, receiver).push(wire)
    fed.injected["receipts pushed again"] += 1
    assert [r["status"] for r in pushed["results"]] == ["duplicate"] * 4

    # The sender's pull carrying the answers is cut halfway; it pulls them again.
    fed.proxies[SENDER].fail_next("truncate", "/pull")
    assert not fed.sync(SENDER)["ok"]
    assert fed.sync(SENDER)["ok"]
    mailbox = (
        "SELECT kind, COUNT(*) FROM mailbox WHERE kind IN ('receipt', 'deliveries') GROUP BY kind"
    )
    assert dict(read_rows(fed.node_db(SENDER), mailbox)) == answers
    for letter_id in sent:
        tracking = fed.api(SENDER).call("GET", f"/api/letters/{letter_id}")["tracking"]
        assert [(t["office"], t["state"]) for t in tracking] == [(receiver, "registered")]
        assert tracking[0]["receipt_number"]
    finish_and_check(fed, {SENDER: sent}, {SENDER: (receiver,)})
