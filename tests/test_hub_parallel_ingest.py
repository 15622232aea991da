"""A large push checked on every core (ADR 0017): the worker processes decide every
envelope as the hub process would, a worker's death costs nothing but time, and the
workers end with the hub, even when it is killed."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_hub_support import Answer, Hub, Office
from test_workers import await_exit

from hub.admin.instance import init_hub
from hub.admin.tokens import issue_enrollment_token
from hub.federation import verifier_pool
from hub.federation.verifier_pool import (
    POOL_MIN_BATCH,
    available_cores,
    check_on_every_core,
    start_pool,
    stop_pool,
    worker_pids,
)
from protocol.envelope import Envelope, Signature
from protocol.push_check import check_pushed
from scripts.bench.federation import child_pids
from scripts.fleet import start_hub_process

pytestmark = pytest.mark.skipif(available_cores() < 2, reason="one core: no worker processes")

BATCH = POOL_MIN_BATCH + 8


@pytest.fixture
def pool() -> Iterator[None]:
    """The process's workers, running; stopped (and their breaks forgotten) afterwards."""
    assert start_pool(), "the signature-checking workers did not start"
    try:
        yield
    finally:
        stop_pool()


@pytest.fixture
def hub(tmp_path: Path, clock: Clock) -> Hub:
    return Hub(tmp_path, clock)


def workers() -> list[int]:
    return worker_pids()


def mixed_batch(cm: Office) -> list[object]:
    """Good letters, one whose signature was tampered with, letters after it, then another
    office's letter, a letter relabelled as a directory, a malformed envelope and two more
    letters."""
    envs: list[object] = [cm.letter([CHIANG_RAI]).to_wire() for _ in range(BATCH - 14)]
    good = cm.letter([CHIANG_RAI])
    sig = bytearray(good.signatures[0].sig)
    sig[0] ^= 1
    tampered = Envelope(good.payload_type, good.body, (Signature(cm.signer.keyid, bytes(sig)),))
    envs.append(tampered.to_wire())
    envs += [cm.letter([CHIANG_RAI]).to_wire() for _ in range(8)]
    stranger = Office(cm.hub, CHIANG_RAI)
    envs.append(stranger.letter([CHIANG_MAI]).to_wire())
    other = cm.letter([CHIANG_RAI], subject="ขอเชิญประชุม", advance=False).to_wire()
    envs.append({**other, "payloadType": "application/vnd.saraban.directory+json; v=1"})
    envs.append({"payloadType": "text/plain", "payload": "", "signatures": []})
    envs.append(cm.letter([CHIANG_RAI]).to_wire())
    envs.append(cm.letter([CHIANG_RAI]).to_wire())
    return envs


def test_workers_decide_every_envelope_as_the_hub_process_does(hub: Hub, pool: None) -> None:
    cm = hub.office(CHIANG_MAI)
    wire = mixed_batch(cm)
    keys = {cm.signer.keyid: cm.signer.private_key.public_key().public_bytes_raw()}
    here = check_pushed(CHIANG_MAI, keys, wire)
    on_every_core = check_on_every_core(CHIANG_MAI, keys, wire)
    assert on_every_core == here
    reasons = [c.reason for c in here if c.reason]
    assert reasons == [
        "bad_signature",
        "not_your_feed",
        "not_a_feed_kind",
        "malformed_envelope",
    ]


def test_large_push_through_the_workers_is_accepted_rejected_and_quarantined_as_before(
    hub: Hub, pool: None, caplog: pytest.LogCaptureFixture
) -> None:
    cm = hub.office(CHIANG_MAI)
    wire = mixed_batch(cm)
    answer = cm.request("POST", "/push", {"envelopes": wire})
    assert answer.status == 200, answer.body
    results = answer.json["results"]
    tampered = BATCH - 14
    assert [r["status"] for r in results[:tampered]] == ["accepted"] * tampered
    assert results[tampered]["reason"] == "bad_signature"
    assert {r["reason"] for r in results[tampered + 1 :]} >= {"out_of_sequence", "not_your_feed"}
    assert answer.json["ack"] is not None
    assert hub.counts("feed", "quarantine") == {"feed": tampered, "quarantine": 4}
    assert not [r for r in caplog.records if r.name == verifier_pool.__name__]


def test_push_is_checked_in_the_hub_when_a_worker_dies(
    hub: Hub, pool: None, caplog: pytest.LogCaptureFixture
) -> None:
    cm = hub.office(CHIANG_MAI)
    victim = workers()[0]
    os.kill(victim, signal.SIGKILL)
    await_exit(victim)
    with caplog.at_level(logging.WARNING, logger=verifier_pool.__name__):
        first = cm.push_ok(*_letters(cm, BATCH))
        second = cm.push_ok(*_letters(cm, BATCH))
    assert {r["status"] for r in first + second} == {"accepted"}
    warnings = [r for r in caplog.records if r.name == verifier_pool.__name__]
    assert len(warnings) == 1
    assert "checked in the hub process" in warnings[0].getMessage()
    assert hub.count("feed") == 2 * BATCH
    assert start_pool(), "a new pool starts after the broken one"


def test_replayed_large_push_is_refused_and_stores_nothing(hub: Hub, pool: None) -> None:
    cm = hub.office(CHIANG_MAI)
    body = {"envelopes": [e.to_wire() for e in _letters(cm, BATCH)]}
    nonce = "r" * 24
    assert cm.request("POST", "/push", body, nonce=nonce).status == 200
    again = cm.request("POST", "/push", {"envelopes": body["envelopes"][:1]}, nonce=nonce)
    assert again.status == 401 and again.json["error"] == "replayed_nonce"
    assert hub.count("feed") == BATCH


@pytest.mark.slow
def test_workers_end_when_the_hub_process_is_killed(tmp_path: Path) -> None:
    instance = tmp_path / "hub"
    init_hub(instance)
    service = start_hub_process(instance, tmp_path / "hub.log")
    try:
        service.wait_ready(time.monotonic() + 60)
        cm = Office(_HubProcess(service.url), CHIANG_MAI)  # type: ignore[arg-type]
        assert cm.enroll(issue_enrollment_token(instance, CHIANG_MAI, 1)).status == 200
        # The first large push starts the workers (and is checked in the hub meanwhile).
        assert {r["status"] for r in cm.push_ok(*_letters(cm, BATCH))} == {"accepted"}
        children = _children(service.proc.pid)
        assert len(children) == available_cores()
    finally:
        service.kill()
    for pid in children:
        await_exit(pid)  # a worker that outlives the hub fails here


def _letters(office: Office, count: int) -> list[Envelope]:
    return [office.letter([CHIANG_RAI]) for _ in range(count)]


class _HubProcess:
    """What :class:`Office` needs of a hub, for a hub process on ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url

    def clock(self) -> float:
        return time.time()

    def send(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        r = requests.request(method, self.url + path, data=body, headers=headers, timeout=60)
        return Answer(r.status_code, dict(r.headers), r.content)


def _children(pid: int) -> list[int]:
    """The worker processes of process ``pid``."""
    return [
        child
        for child in child_pids(pid)
        if b"protocol.workers" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]
