"""The ``delivered`` answers of a pulled batch, one ``deliveries`` envelope per sender, with
real nodes and a real hub: what the receiving office signs, what the senders' tracking
shows, and how an office whose database is an old copy of its folder (a backup put back, a
copied disk run on a second machine) still answers each letter exactly once."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock
from test_node_old_copy import copy_folder, invariants, put_folder_back
from test_node_support import Federation, Node, PaperHub, offline_node

from node.records.deliveries import answering_together
from node.storage import feed
from node.sync.rebase import rebase
from node.sync.restore import restore_from_hub
from protocol.envelope import Envelope, sign_envelope
from protocol.limits import MAX_DELIVERIES
from protocol.messages import Deliveries, FeedMessage, Receipt
from scripts.invariants import check_federation, hub_rows


def deliveries_of(node: Node) -> list[dict[str, Any]]:
    """The bodies of the node's own ``deliveries`` envelopes, in feed order, with their
    ``state`` and ``env_id``."""
    return [
        {
            **json.loads(Envelope.from_bytes(r["envelope"]).body),
            "state": r["state"],
            "env_id": r["env_id"],
        }
        for r in node.rows(
            "SELECT env_id, envelope, state FROM feed WHERE kind = 'deliveries' ORDER BY seq"
        )
    ]


def delivered_in_feed(node: Node) -> Counter[str]:
    """How many ``delivered`` answers the node's own feed holds for each letter."""
    return Counter(a["letter"] for a in node.answers() if a["status"] == "delivered")


def _delivered(envelopes: list[bytes], origin: str) -> Counter[str]:
    out: Counter[str] = Counter()
    for raw in envelopes:
        env = Envelope.from_bytes(raw)
        body = json.loads(env.body)
        if body.get("origin") != origin:
            continue
        if env.kind == "deliveries":
            out.update(body["letters"])
        elif env.kind == "receipt" and body["status"] == "delivered":
            out[body["letter"]] += 1
    return out


def delivered_at_hub(fed: Federation, office: str) -> Counter[str]:
    """How many ``delivered`` answers the hub holds in ``office``'s feed for each letter."""
    rows = hub_rows(fed.hub_dir, "SELECT envelope FROM feed WHERE origin = ?", (office,))
    return _delivered([r[0] for r in rows], office)


def delivered_at_sender(sender: Node, office: str) -> Counter[str]:
    """How many ``delivered`` answers from ``office`` the sender's mailbox holds per letter."""
    return _delivered([r["envelope"] for r in sender.rows("SELECT envelope FROM mailbox")], office)


def tracking(sender: Node, letter: dict[str, Any]) -> list[tuple[str, str]]:
    rows = sender.call("GET", f"/api/letters/{letter['id']}")["tracking"]
    return [(t["office"], t["state"]) for t in rows]


def inbox_letters(node: Node) -> Counter[str]:
    """The env_ids of the letters in the node's inbox, with how many times each is there."""
    ids = [r["id"] for r in node.inbox()]
    return Counter(node.call("GET", f"/api/letters/{i}")["env_id"] for i in ids)


def copy_instance(node: Node, target: Path) -> None:
    """The whole instance folder copied to a second machine (keys, settings, database)."""
    shutil.copytree(node.instance, target, ignore=shutil.ignore_patterns("node.sqlite*", ".*.lock"))
    src = sqlite3.connect(node.ctx.settings["DATABASE"])
    dst = sqlite3.connect(target / "node.sqlite")
    src.backup(dst)
    dst.close()
    src.close()
    os.chmod(target / "node.sqlite", 0o600)


def both_copies_hold_true(fed: Federation, *copies: Node) -> list[str]:
    """The federation's invariants, once with each copy of the receiving office's folder."""
    violations: list[str] = []
    for copy in copies:
        nodes = {n.office: n.instance for n in fed.nodes}
        nodes[copy.office] = copy.instance
        violations += check_federation(fed.hub_dir, nodes)["violations"]
    return violations


def test_one_pulled_batch_is_answered_with_one_deliveries_per_sender(fed: Federation) -> None:
    cm, cr, kk = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI), fed.node(KHON_KAEN)
    from_cm = [cm.send(recipients=[CHIANG_RAI], subject=f"จากเชียงใหม่ {n}") for n in (1, 2, 3)]
    from_kk = [kk.send(recipients=[CHIANG_RAI], subject=f"จากขอนแก่น {n}") for n in (1, 2)]
    assert cm.sync().ok and kk.sync().ok

    result = cr.sync()  # one pull, one batch
    assert result.ok and result.applied == 5
    assert sorted(inbox_letters(cr).items()) == sorted((m["env_id"], 1) for m in from_cm + from_kk)
    assert {r["state"] for r in cr.inbox()} == {"delivered"}
    signed = deliveries_of(cr)
    assert len(signed) == 2
    assert {d["letter_origin"]: sorted(d["letters"]) for d in signed} == {
        CHIANG_MAI: sorted(m["env_id"] for m in from_cm),
        KHON_KAEN: sorted(m["env_id"] for m in from_kk),
    }
    assert cr.rows("SELECT COUNT(*) AS n FROM feed WHERE kind = 'receipt'") == [{"n": 0}]

    assert cr.sync().ok  # the answers go to the hub
    kinds = hub_rows(fed.hub_dir, "SELECT kind FROM feed WHERE origin = ?", (CHIANG_RAI,))
    assert sorted(k for (k,) in kinds) == ["deliveries", "deliveries"]
    assert delivered_at_hub(fed, CHIANG_RAI) == Counter(m["env_id"] for m in from_cm + from_kk)
    assert cm.sync().ok and kk.sync().ok
    for sender, letters in ((cm, from_cm), (kk, from_kk)):
        for letter in letters:
            assert tracking(sender, letter) == [(CHIANG_RAI, "delivered")]
        assert delivered_at_sender(sender, CHIANG_RAI) == Counter(m["env_id"] for m in letters)
    assert invariants(fed) == []


def test_old_copy_that_missed_a_pulled_batch_answers_each_letter_once(
    fed: Federation, tmp_path: Path
) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cr.sync().ok
    copy_folder(cr, tmp_path / "before-the-batch")
    first = [cm.send(recipients=[CHIANG_RAI], subject=f"ฉบับแรก {n}") for n in (1, 2)]
    assert cm.sync().ok and cr.sync().ok and cr.sync().ok
    batch = deliveries_of(cr)
    assert [(sorted(d["letters"]), d["state"]) for d in batch] == [
        (sorted(m["env_id"] for m in first), "accepted")
    ]
    assert cm.sync().ok
    assert all(tracking(cm, m) == [(CHIANG_RAI, "delivered")] for m in first)

    put_folder_back(cr, tmp_path / "before-the-batch")
    cr.clock.advance(3600)
    later = cm.send(recipients=[CHIANG_RAI], subject="ฉบับหลังกู้คืน")
    assert cm.sync().ok

    back = Node(cr.instance, cr.clock)
    result = back.sync()
    assert result.ok and not result.rejected and result.rebased is None
    everything = [m["env_id"] for m in [*first, later]]
    assert inbox_letters(back) == Counter(everything)
    assert {r["state"] for r in back.inbox()} == {"delivered"}
    # The hub's deliveries came back as they were; only the new letter is answered now.
    caught_up, *answered_now = deliveries_of(back)
    assert (caught_up["env_id"], caught_up["state"]) == (batch[0]["env_id"], "accepted")
    assert [d["letters"] for d in answered_now] == [[later["env_id"]]]
    assert delivered_in_feed(back) == Counter(everything)

    assert back.sync().ok and cm.sync().ok
    assert delivered_at_hub(fed, CHIANG_RAI) == Counter(everything)
    assert delivered_at_sender(cm, CHIANG_RAI) == Counter(everything)
    for letter in [*first, later]:
        assert tracking(cm, letter) == [(CHIANG_RAI, "delivered")]
    assert back.call("GET", "/api/status")["outbox"] == 0
    assert invariants(fed) == []


def test_copied_folder_on_a_second_machine_names_no_letter_twice(
    fed: Federation, tmp_path: Path
) -> None:
    """The office's folder, copied before a letter arrived, runs on a spare machine beside
    the first: both pull the letter and answer it. The first machine's answer reaches the
    hub first; the spare one, meeting it, keeps only the letters the hub's copy had not
    answered (rebase, trimmed), and the first one then drops its answer to a letter the
    spare one answered already (rebase, dropped)."""
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cr.sync().ok
    copy_instance(cr, tmp_path / "spare-machine")
    spare = Node(tmp_path / "spare-machine", cr.clock)

    first = cm.send(recipients=[CHIANG_RAI], subject="ฉบับที่หนึ่ง")
    assert cm.sync().ok and cr.sync().ok  # the first machine answers it, not pushed yet
    cr.clock.advance(600)
    second = cm.send(recipients=[CHIANG_RAI], subject="ฉบับที่สอง")
    assert cm.sync().ok
    assert spare.sync().ok  # the spare machine answers both together
    assert [sorted(d["letters"]) for d in deliveries_of(spare)] == [
        sorted([first["env_id"], second["env_id"]])
    ]
    cr.clock.advance(600)
    assert cr.sync().ok  # pushes its answer to the first letter, answers the second
    assert delivered_at_hub(fed, CHIANG_RAI) == Counter([first["env_id"]])

    cr.clock.advance(600)
    result = spare.sync()
    assert result.ok and not result.rejected
    assert result.rebased is not None and result.rebased["republished"] == 1
    assert [(d["letters"], d["state"]) for d in deliveries_of(spare)] == [
        ([first["env_id"]], "accepted"),
        ([second["env_id"]], "accepted"),
    ]
    assert delivered_at_hub(fed, CHIANG_RAI) == Counter([first["env_id"], second["env_id"]])

    cr.clock.advance(600)
    result = cr.sync()
    assert result.ok and not result.rejected
    assert result.rebased is not None and result.rebased["republished"] == 0
    assert deliveries_of(cr) == deliveries_of(spare)
    for node in (cr, spare):
        assert delivered_in_feed(node) == Counter([first["env_id"], second["env_id"]])
        assert inbox_letters(node) == Counter([first["env_id"], second["env_id"]])
        letters_named = node.rows("SELECT letter_env, env_id FROM delivered_letters")
        in_feed = {r["env_id"] for r in node.rows("SELECT env_id FROM feed")}
        assert {r["letter_env"] for r in letters_named} == {first["env_id"], second["env_id"]}
        assert {r["env_id"] for r in letters_named} <= in_feed
    assert cm.sync().ok
    assert tracking(cm, first) == tracking(cm, second) == [(CHIANG_RAI, "delivered")]
    assert delivered_at_sender(cm, CHIANG_RAI) == Counter([first["env_id"], second["env_id"]])
    assert both_copies_hold_true(fed, cr, spare) == []


@pytest.mark.parametrize("letters_after_the_copy", [1, 2])
def test_restore_carries_over_only_the_answers_the_hub_lacks(
    fed: Federation, tmp_path: Path, letters_after_the_copy: int
) -> None:
    """The spare machine's folder is rebuilt from the hub (``saraban node restore``) while
    its database holds an answer the hub never saw: the letters the hub's copy answered
    are named no more; an answer naming none but those is not signed again."""
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cr.sync().ok
    copy_instance(cr, tmp_path / "spare-machine")
    spare = Node(tmp_path / "spare-machine", cr.clock)

    sent = [cm.send(recipients=[CHIANG_RAI], subject="ฉบับที่หนึ่ง")]
    assert cm.sync().ok and cr.sync().ok
    cr.clock.advance(600)
    if letters_after_the_copy == 2:
        sent.append(cm.send(recipients=[CHIANG_RAI], subject="ฉบับที่สอง"))
        assert cm.sync().ok
    assert spare.sync().ok
    assert [len(d["letters"]) for d in deliveries_of(spare)] == [letters_after_the_copy]
    cr.clock.advance(600)
    assert cr.sync().ok  # the hub now holds the first machine's answer to the first letter

    cr.clock.advance(600)
    info = restore_from_hub(spare.instance, {"CLOCK": cr.clock})
    assert info["carried_over"] == []  # no letter of its own to carry over
    rebuilt = Node(spare.instance, cr.clock)
    expected = [([sent[0]["env_id"]], "accepted")]
    if letters_after_the_copy == 2:
        expected.append(([sent[1]["env_id"]], "pending"))
    assert [(d["letters"], d["state"]) for d in deliveries_of(rebuilt)] == expected
    everything = Counter(m["env_id"] for m in sent)
    assert delivered_in_feed(rebuilt) == everything
    assert inbox_letters(rebuilt) == everything

    assert rebuilt.sync().ok
    cr.clock.advance(600)
    result = cr.sync()
    assert result.ok and not result.rejected
    assert deliveries_of(cr) == deliveries_of(rebuilt)
    assert delivered_at_hub(fed, CHIANG_RAI) == everything
    assert cm.sync().ok
    assert all(tracking(cm, m) == [(CHIANG_RAI, "delivered")] for m in sent)
    assert delivered_at_sender(cm, CHIANG_RAI) == everything
    assert both_copies_hold_true(fed, cr, rebuilt) == []


def _signed_as(
    node: Node, message: FeedMessage, seq: int, prev: str | None
) -> tuple[Envelope, FeedMessage]:
    """``message`` signed by the node's key at ``seq`` of its feed, as another copy of the
    office signed it and the hub holds it."""
    msg = message.normalized(
        origin=node.office, seq=seq, prev=prev, created_at=feed.iso(node.clock() - 60)
    )
    msg.validate()
    return sign_envelope(msg.KIND, msg.to_dict(), node.ctx.signer), msg


@pytest.mark.parametrize(
    ("hub_answered", "kind", "kept"),
    [
        ("first", "deliveries", "second"),
        ("first", "receipt", "second"),
        ("both", "deliveries", None),
    ],
)
def test_rebase_names_only_the_letters_the_hubs_copy_did_not_answer(
    fed: Federation, hub_answered: str, kind: str, kept: str | None
) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    letters = {
        name: cm.send(recipients=[CHIANG_RAI], subject=name)["env_id"]
        for name in ("first", "second")
    }
    assert cm.sync().ok and cr.sync().ok
    [local] = deliveries_of(cr)
    assert sorted(local["letters"]) == sorted(letters.values()) and local["state"] == "pending"
    fork = int(cr.rows("SELECT seq FROM feed WHERE env_id = ?", (local["env_id"],))[0]["seq"])
    prev = cr.rows("SELECT env_id FROM feed WHERE seq = ?", (fork - 1,))
    answered = list(letters.values()) if hub_answered == "both" else [letters["first"]]
    at = feed.iso(cr.clock() - 60)
    theirs: FeedMessage
    if kind == "deliveries":
        theirs = Deliveries(letter_origin=CHIANG_MAI, letters=answered, at=at)
    else:
        theirs = Receipt(letter=answered[0], letter_origin=CHIANG_MAI, status="delivered", at=at)
    env, msg = _signed_as(cr, theirs, fork, prev[0]["env_id"] if prev else None)

    with cr.store() as store, store.transaction():
        report = rebase(cr.ctx, store, [(env, msg)], fork, cr.clock())
    assert report.replayed == 1 and report.republished == (1 if kept else 0)

    rows = cr.rows("SELECT seq, env_id, kind, state FROM feed WHERE seq >= ? ORDER BY seq", (fork,))
    assert rows[0] == {"seq": fork, "env_id": env.env_id, "kind": kind, "state": "accepted"}
    again = deliveries_of(cr)[1:] if kind == "deliveries" else deliveries_of(cr)
    if kept is None:
        assert len(rows) == 1 and again == []
    else:
        assert [(r["seq"], r["kind"], r["state"]) for r in rows[1:]] == [
            (fork + 1, "deliveries", "pending")
        ]
        assert [(d["letters"], d["letter_origin"], d["at"]) for d in again] == [
            ([letters[kept]], CHIANG_MAI, local["at"])
        ]
    assert delivered_in_feed(cr) == Counter(letters.values())
    # Each letter a deliveries names points at the envelope of the feed that names it now.
    named = {r["letter_env"]: r["env_id"] for r in cr.rows("SELECT * FROM delivered_letters")}
    expected = {x: env.env_id for x in answered} if kind == "deliveries" else {}
    if kept is not None:
        expected[letters[kept]] = again[0]["env_id"]
    assert named == expected
    assert set(named.values()) <= {r["env_id"] for r in cr.rows("SELECT env_id FROM feed")}
    with cr.store() as store:
        assert all(feed.delivered(store, x) for x in letters.values())


def test_a_batch_of_more_letters_than_one_envelope_names_is_answered_in_several(
    tmp_path: Path, paper: PaperHub, clock: Clock
) -> None:
    node = offline_node(tmp_path, CHIANG_RAI, paper, clock)
    letters = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(MAX_DELIVERIES * 2 + 500)]
    with node.store() as store, store.transaction():
        with answering_together(node.ctx, store, clock()) as batch:
            for letter in letters:
                batch.add(CHIANG_MAI, letter, "2026-11-18T03:00:00Z")
            batch.add(CHIANG_MAI, letters[0], "2026-11-18T03:00:00Z")  # named once
    named = [d["letters"] for d in deliveries_of(node)]
    assert [len(n) for n in named] == [MAX_DELIVERIES, MAX_DELIVERIES, 500]
    assert [x for n in named for x in n] == letters
    with node.store() as store:
        assert all(feed.delivered(store, letter) for letter in letters)
