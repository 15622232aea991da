"""``node_idle_rss_mb``: the resident memory of a node process sitting idle.

A node is served with its default settings (its scheduler and wake-up running), receives
a few letters from another office and syncs them, then is left alone for
``--idle-seconds``; its resident set (VmRSS of ``/proc/<pid>/status``) is sampled over that
time and the largest sample is the figure.

Does not: put any load on the node while it is measured.
"""

from __future__ import annotations

import time
from pathlib import Path

from scripts.bench.federation import BenchFederation
from scripts.bench.figures import Figure, measured
from scripts.bench.plan import Sizes
from scripts.bench.traffic import push_bodies

LETTERS = 100
SAMPLE_SECONDS = 0.5


def run(sizes: Sizes, workdir: Path) -> list[Figure]:
    """Measure the idle node's resident memory."""
    with BenchFederation(workdir) as fed:
        pilots = fed.pilot_offices()
        node = fed.node(pilots[0])
        sender = fed.enroll(pilots[1])
        letters = min(LETTERS, sizes.e2e)
        for body in push_bodies(sender.letters([node.office], letters), sizes.batch):
            sender.push(body)
        node.sync_until_inbox(letters)
        samples = []
        end = time.monotonic() + sizes.idle_seconds
        while True:
            samples.append(node.memory_mb()[0])
            if time.monotonic() >= end:
                break
            time.sleep(SAMPLE_SECONDS)  # sampling memory over a fixed idle time
        peak = node.memory_mb()[1]
    return [
        measured(
            "node_idle_rss_mb",
            max(samples),
            f"largest VmRSS of {len(samples)} samples over {sizes.idle_seconds:.0f} s idle, "
            f"after syncing {letters} letters; peak VmHWM since start {peak:.0f} MB",
        )
    ]
