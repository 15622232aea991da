"""A catch-up writes several pulled batches in one SQLite transaction
(:class:`node.sync.pull._Group`): every letter once, with its delivered answer, and fewer
transactions than batches; the answers are asked for ahead of the writer, in order
(:class:`node.sync.ahead.Ahead`)."""

from __future__ import annotations

from support import CHIANG_MAI, CHIANG_RAI
from test_node_support import Federation, Node

from node.records.directory import load_trusted, pinned_entries
from node.sync.ahead import Ahead
from node.sync.hubclient import hub_client
from protocol.envelope import Envelope

BATCH = 10
LETTERS = 4 * BATCH


def letters_waiting(fed: Federation) -> Node:
    """Chiang Rai's node, pulling batches of ten, with forty letters from Chiang Mai
    waiting for it at the hub."""
    cm = fed.node(CHIANG_MAI)
    cr = fed.node(CHIANG_RAI, PULL_BATCH=BATCH)
    for i in range(LETTERS):
        cm.send(recipients=[CHIANG_RAI], subject=f"รายงานประจำวัน ฉบับที่ {i + 1}")
    assert cm.sync().ok
    return cr


def test_a_catch_up_writes_several_batches_in_one_transaction(fed: Federation) -> None:
    cr = letters_waiting(fed)

    result = cr.sync()
    assert result.ok and result.pulled == LETTERS and result.applied == LETTERS
    numbers = sorted(r["number"] for r in cr.inbox())
    assert numbers == sorted(f"ชม 0017/{i}" for i in range(1, LETTERS + 1))
    delivered = sorted(a["letter"] for a in cr.answers() if a["status"] == "delivered")
    assert delivered == sorted(r["env_id"] for r in cr.rows("SELECT env_id FROM letters"))
    # The clock stands still, so each write transaction signed one deliveries envelope for
    # its sender: fewer envelopes than the four batches pulled.
    signed = cr.rows("SELECT COUNT(*) AS n FROM feed WHERE kind = 'deliveries'")[0]["n"]
    assert 1 <= signed < LETTERS // BATCH
    assert cr.rows("SELECT cursor FROM sync_state")[0]["cursor"]
    assert cr.sync().applied == 0  # nothing twice


def test_answers_are_asked_for_ahead_in_order_and_settled(fed: Federation) -> None:
    cr = letters_waiting(fed)
    assert cr.sync().ok  # the directory and keys; the letters are pulled again below
    with cr.store() as store:
        trusted = load_trusted(store)
        entries = pinned_entries(store)
    assert trusted is not None
    client = hub_client(cr.ctx)
    ahead = Ahead(client, BATCH, depth=3)
    try:
        first = ahead.take(None)
        assert first.answer["more"] and len(first.answer["envelopes"]) == BATCH
        ahead.start(first.answer["cursor"], trusted, entries)
        for _ in range(3):  # each answer, once in, asks for the next while there is room
            with ahead.lock:
                last = list(ahead.jobs.values())[-1]
            last.result(timeout=30)
        assert len(ahead.jobs) == 3  # no more than three wait to be taken
        ahead.settle()
        assert all(f.done() for f in ahead.jobs.values())
        cursor, seen = first.answer["cursor"], list(first.answer["envelopes"])
        while True:
            assert ahead.ready(cursor, within=5)
            got = ahead.take(cursor)
            assert got.verified(trusted, entries) and not any(p.error for p in got.pulled)
            seen += got.answer["envelopes"]
            if not got.answer["more"]:
                break
            cursor = got.answer["cursor"]
            ahead.start(cursor, trusted, entries)
        assert len(seen) == LETTERS
        assert len({Envelope.from_wire(w).env_id for w in seen}) == LETTERS
        # Asked for after another cursor, the answers ahead are dropped; the one asked for
        # comes from the hub there and then.
        ahead.start(first.answer["cursor"], trusted, entries)
        again = ahead.take(None)
        assert again.answer["envelopes"] == first.answer["envelopes"] and not ahead.jobs
    finally:
        ahead.close()
        client.close()
