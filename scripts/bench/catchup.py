"""``catchup_100k_s`` and ``catchup_100k_rss_mb``: a node back after a week offline with
``--catchup`` letters waiting for it at the hub.

The node is created, served and synced once (it has been in use), then stopped. While it
is down, the 18 other pilot offices, simulated in the bench process with keys of their
own, push the letters addressed to it (a week of the ministry's mail). The clock starts
when the node's process is started again, with its default settings, and stops when its
database holds every letter in its inbox. It is asked once to sync now (``POST
/api/sync``, as the clerk's button does) and its live sync does the rest; the receipts it
then sends back are not waited for. The memory figure is the peak resident set (VmHWM) at
that moment of the node process and of the worker that verifies its pulls (ADR 0027),
added up.

Does not: count the letters' preparation and push, which is the week offline.
"""

from __future__ import annotations

import time
from pathlib import Path

from scripts.bench.federation import BenchFederation
from scripts.bench.figures import Figure, measured
from scripts.bench.plan import Sizes
from scripts.bench.traffic import Pushers, feed_batches, shares

SENDERS = 18


def run(sizes: Sizes, workdir: Path) -> list[Figure]:
    """Measure the catch-up's time and the node's peak memory."""
    with BenchFederation(workdir) as fed:
        pilots = fed.pilot_offices()
        recipient, offices = pilots[0], pilots[1 : 1 + SENDERS]
        node = fed.node(recipient)
        node.sync()
        assert node.service is not None
        node.service.stop()
        sims = [fed.enroll(o) for o in offices]
        counts = shares(sizes.catchup, len(sims))
        pushers = Pushers(
            [
                (sim, feed_batches(sim, [recipient], n, sizes.batch))
                for sim, n in zip(sims, counts, strict=True)
            ]
        )
        pushers.start()
        pushers.join()
        waiting = sizes.catchup
        start = time.perf_counter()
        node.start()
        ready = time.perf_counter() - start
        syncs = node.await_inbox(waiting)
        took = time.perf_counter() - start
        rss, peak = node.memory_mb()
    return [
        measured(
            "catchup_100k_s",
            took,
            f"{waiting:,} letters from {len(offices)} offices waiting; timed from starting "
            f"the node's process (ready after {ready:.1f} s) until all were in its inbox, "
            f"{syncs} POST /api/sync asked",
        ),
        measured(
            "catchup_100k_rss_mb",
            peak,
            f"peak resident memory (VmHWM) of the node process and its pull's worker, added"
            f" up, over its start and the "
            f"catch-up of {waiting:,} letters; {rss:.0f} MB resident at the end",
        ),
    ]
