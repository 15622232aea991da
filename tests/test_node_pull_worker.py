"""The batch a node pulls ahead is verified in a worker process (ADR 0027): the worker
judges every envelope as the node process does, a catch-up through it stores every
letter once with its receipt, and a worker killed mid-catch-up costs nothing but time."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN
from test_node_support import Federation, PaperHub
from test_workers import await_exit

from node.records.directory import keys_from_list
from node.records.letter_columns import letter_columns
from node.sync import verify
from node.sync.verify import PULL_POOL, PULL_POOL_MIN_BATCH, verify_each, verify_pulled
from protocol.directory import accept_directory
from protocol.envelope import Envelope, Signature, sign_envelope
from protocol.keys import Signer
from protocol.messages import Letter
from protocol.workers import available_cores
from scripts.bench.traffic import thai_letter

pytestmark = pytest.mark.skipif(available_cores() < 2, reason="one core: no worker process")

LETTERS = 2 * PULL_POOL_MIN_BATCH + 12
"""Three pulls of PULL_POOL_MIN_BATCH: the second is fetched ahead, full, and handed over."""


@pytest.fixture
def pull_worker() -> Iterator[None]:
    assert PULL_POOL.ready(wait=True), "the pull's worker did not start"
    try:
        yield
    finally:
        PULL_POOL.stop()


def feed(signer: Signer, origin: str, seqs: range) -> list[Envelope]:
    """Letters ``seqs`` of ``origin``'s feed, each naming the one before, signed by ``signer``."""
    envs: list[Envelope] = []
    prev: str | None = None
    for seq in seqs:
        envs.append(sign_envelope("letter", thai_letter(origin, seq, prev, [KHON_KAEN]), signer))
        prev = envs[-1].env_id
    return envs


def mixed_batch(paper: PaperHub) -> list[Any]:
    """Good letters, one with a tampered signature, one by a key the directory does not
    hold, one signed by another office than its origin, a hub-signed directory, and a
    malformed envelope."""
    cm = paper.offices[CHIANG_MAI]
    letters = feed(cm, CHIANG_MAI, range(1, 60))
    good = letters.pop(39)
    sig = bytearray(good.signatures[0].sig)
    sig[0] ^= 1
    tampered = Envelope(good.payload_type, good.body, (Signature(cm.keyid, bytes(sig)),))
    strangers = [
        tampered,
        feed(Signer.generate("ลพ 0017"), "ลพ 0017", range(1, 2))[0],
        feed(cm, CHIANG_RAI, range(1, 2))[0],
        paper.directory(),
    ]
    wires: list[Any] = [e.to_wire() for e in letters[:39] + strangers + letters[39:]]
    wires.insert(43, {"payloadType": "text/plain", "payload": "", "signatures": []})
    return wires


def test_the_worker_judges_every_envelope_as_the_node_process_does(pull_worker: None) -> None:
    paper = PaperHub()
    for office in (CHIANG_MAI, CHIANG_RAI, KHON_KAEN):
        paper.offices[office] = Signer.generate(office)
    trusted = accept_directory(paper.directory(), keys_from_list(paper.pins()), None)
    wires = mixed_batch(paper)
    handed = PULL_POOL.handed
    here = verify_each(wires, trusted, keys_from_list(paper.pins()))
    there = PULL_POOL.map_runs(
        verify_pulled, (trusted.directory, trusted.env_id, paper.pins()), wires
    )
    assert PULL_POOL.handed > handed, "the batch was not handed to the worker"
    assert [(env, msg, error) for env, msg, error, _ in there] == here
    codes = [error.split(":")[0] for _, _, error, _ in there if error]
    assert codes == ["bad_signature", "unknown_key", "bad_message", "malformed_envelope"]
    assert sum(1 for env, msg, _, _ in there if env is not None and msg is not None) == 58 + 1
    # A letter comes with its row's columns, worked out as the node process would.
    for _, msg, _, columns in there:
        assert columns == (letter_columns(msg) if isinstance(msg, Letter) else None)
    assert any(columns is not None for *_, columns in there)
    # Envelopes come back without the text they were decoded from; it is put back here.
    env, _, _, _ = there[0]
    assert env is not None and env.decoded_from(wires[0]).to_wire() == wires[0]


def send_many(fed: Federation, count: int) -> tuple[Any, Any]:
    cm = fed.node(CHIANG_MAI)
    cr = fed.node(CHIANG_RAI, PULL_BATCH=PULL_POOL_MIN_BATCH)
    for i in range(count):
        cm.send(recipients=[CHIANG_RAI], subject=f"รายงานประจำวัน ฉบับที่ {i + 1}")
    assert cm.sync().ok
    return cm, cr


def test_catch_up_through_the_worker_stores_every_letter_once(
    fed: Federation, pull_worker: None
) -> None:
    cm, cr = send_many(fed, LETTERS)
    handed = PULL_POOL.handed
    result = cr.sync()
    assert result.ok and result.pulled == LETTERS
    assert PULL_POOL.handed > handed, "no pulled batch was handed to the worker"
    numbers = [r["number"] for r in cr.inbox()]
    assert sorted(numbers) == sorted(f"ชม 0017/{i}" for i in range(1, LETTERS + 1))
    delivered = [a["letter"] for a in cr.answers() if a["status"] == "delivered"]
    assert sorted(delivered) == sorted(r["env_id"] for r in cr.rows("SELECT env_id FROM letters"))
    # one answer per pulled batch and sender, not one per letter
    batches = cr.rows("SELECT COUNT(*) AS n FROM feed WHERE kind = 'deliveries'")[0]["n"]
    assert 1 <= batches <= LETTERS // 40
    assert cr.sync().applied == 0  # nothing twice
    assert cm.sync().ok
    sent = cm.call("GET", "/api/status")
    assert sent["outbox"] == 0


def test_a_worker_killed_before_the_catch_up_costs_nothing_but_time(
    fed: Federation, pull_worker: None, caplog: pytest.LogCaptureFixture
) -> None:
    _, cr = send_many(fed, LETTERS)
    (pid,) = PULL_POOL.pids()
    os.kill(pid, signal.SIGKILL)
    await_exit(pid)
    with caplog.at_level(logging.WARNING, logger=verify.__name__):
        result = cr.sync()
    assert result.ok and result.pulled == LETTERS
    assert len({r["number"] for r in cr.inbox()}) == LETTERS
    warnings = [r.getMessage() for r in caplog.records if r.name == verify.__name__]
    assert len(warnings) == 1 and "verified in the node process" in warnings[0]
