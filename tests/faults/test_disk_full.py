"""A node's disk fills up in the middle of a sync and in the middle of an upload. Nothing
half-written survives; once space is freed the node carries on and every letter arrives
once. The node's folder is a small tmpfs (tests run as root; skipped where mount is not
permitted)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faults.harness import RECIPIENTS, SENDER, finish_and_check, sync_answer
from scripts.faults.federation import FaultFederation, wait_for
from scripts.faults.proxy import FaultPlan

Start = Callable[..., FaultFederation]
Mount = Callable[[Path, str], Path]
FILLER = "filler.bin"


def fill_disk(folder: Path, leave: int = 0) -> Path:
    """Fill the filesystem of ``folder`` until ``leave`` bytes are free."""
    filler = folder / FILLER
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with filler.open("ab") as out:
        try:
            out.write(b"\0" * max(0, free - leave))
            out.flush()
            os.fsync(out.fileno())
        except OSError:
            pass  # full already: that is the point
    return filler


def test_disk_full_on_a_node_mid_sync_keeps_nothing_half_applied(
    small_disk: Mount, start_federation: Start
) -> None:
    victim = RECIPIENTS[0]
    fed = start_federation(
        node_env={"SARABAN_NODE_CHUNK_BYTES": "65536"},
        before_start=lambda f: small_disk(f.instance(victim), "6m"),
    )
    sent = fed.send_letters(SENDER, RECIPIENTS, 30, attach_every=3, attachment_bytes=20000)
    assert fed.sync(SENDER)["ok"]

    filler = fill_disk(fed.instance(victim), leave=200 * 1024)
    fed.injected["disk full"] += 1
    full = sync_answer(fed, victim)
    assert not full["ok"], full
    assert "disk is full" in full["error"]
    held = fed.node_count(victim, "SELECT COUNT(*) FROM mailbox WHERE kind = 'letter'")
    # Whole pulled batches of ten only: those of a write transaction that committed
    # before the disk filled (ten letters a batch, several batches a transaction).
    assert len(fed.incoming(victim)) == held < 30 and held % 10 == 0
    assert fed.api(victim).call("GET", "/api/health")["ok"]

    filler.unlink()
    finish_and_check(fed, {SENDER: sent}, {SENDER: RECIPIENTS})


def test_disk_full_on_a_node_mid_upload_sends_every_attachment_once_space_returns(
    small_disk: Mount, start_federation: Start
) -> None:
    fed = start_federation(before_start=lambda f: small_disk(f.instance(SENDER), "6m"))
    sent = fed.send_letters(SENDER, RECIPIENTS, 3, attach_every=1, attachment_bytes=20000)
    slow = FaultPlan({"delay": 1.0}, paths=("/blobs/",), delay_seconds=(0.02, 0.05))
    fed.proxies[SENDER].set_plan(slow)

    answers: list[dict[str, Any]] = []
    syncing = threading.Thread(target=lambda: answers.append(sync_answer(fed, SENDER)))
    syncing.start()
    wait_for(
        "the hub holds part of the first attachment",
        lambda: any((fed.hub_dir / "blobs").rglob("*.part")),
    )
    filler = fill_disk(fed.instance(SENDER))
    fed.injected["disk full"] += 1
    syncing.join(timeout=120)
    assert answers and not answers[0]["ok"], answers
    assert fed.hub_letters_from(SENDER) == 0

    filler.unlink()
    fed.proxies[SENDER].heal()
    finish_and_check(fed, {SENDER: sent}, {SENDER: RECIPIENTS})
    for office in RECIPIENTS:
        assert fed.node_count(office, "SELECT COUNT(*) FROM attachments WHERE present = 1") == 3
