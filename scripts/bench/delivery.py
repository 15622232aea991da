"""``e2e_per_s`` and ``e2e_fan_in_per_s``: letters from senders through the hub into the
inbox of a real recipient node.

The senders are offices simulated in the bench process, enrolled with keys of their own:
the first of them alone, then all 18 at once, to the same node. Their signed letters are
prepared beforehand and pushed in batches of ``--batch``, which is what a sender node's
sync does. The recipient is a node process with its default
settings, synced once before the clock starts; when the senders start it is asked once to
sync now (``POST /api/sync``, not awaited), its live sync (ADR 0016) fetches the rest, and
the clock stops when its database holds every letter in its inbox (the receipts it sends
back afterwards are not waited for). The time therefore covers the push, the hub's ingest
and routing, the recipient's pulls, its verification and storing, overlapping as they do in
use.

Does not: count preparing the letters, the processes' start or the enrolment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from scripts.bench.federation import BenchFederation, BenchNode
from scripts.bench.figures import Figure, measured
from scripts.bench.plan import Sizes
from scripts.bench.traffic import Pushers, SimOffice, push_bodies, shares

FAN_IN_SENDERS = 18


@dataclass(frozen=True)
class Delivery:
    """Letters sent, seconds until all were in the inbox, seconds the pushes took."""

    letters: int
    seconds: float
    pushed: float

    @property
    def rate(self) -> float:
        """Letters per second into the inbox."""
        return self.letters / self.seconds


def deliver(node: BenchNode, offices: list[SimOffice], letters: int, batch: int) -> Delivery:
    """Send ``letters`` in all from ``offices`` at once to ``node`` and time them into its
    inbox."""
    counts = shares(letters, len(offices))
    work = [
        (o, push_bodies(o.letters([node.office], n), batch))
        for o, n in zip(offices, counts, strict=True)
    ]
    expected = node.inbox_count() + letters
    pushers = Pushers(work)
    start = pushers.start()
    node.await_inbox(expected)
    delivered = time.perf_counter()
    pushed = pushers.join()
    return Delivery(letters, delivered - start, pushed - start)


def run(sizes: Sizes, workdir: Path) -> list[Figure]:
    """Measure one sender to one node, then 18 senders to the same node."""
    with BenchFederation(workdir) as fed:
        pilots = fed.pilot_offices()
        offices = [fed.enroll(o) for o in pilots[1 : 1 + FAN_IN_SENDERS]]
        node = fed.node(pilots[0])
        node.sync()
        one = deliver(node, offices[:1], sizes.e2e, sizes.batch)
        many = deliver(node, offices, sizes.fan_in, sizes.batch)
    return [
        measured(
            "e2e_per_s",
            one.rate,
            f"timed from the first push of {one.letters:,} prepared letters (one sender "
            f"office, batches of {sizes.batch}) until all were in the recipient node's inbox "
            f"(its SQLite file), the node's live sync fetching them: "
            f"{one.seconds:.1f} s (the pushes ended at {one.pushed:.1f} s)",
        ),
        measured(
            "e2e_fan_in_per_s",
            many.rate,
            f"{many.letters:,} letters from {len(offices)} offices pushing at once into the "
            f"same node's inbox, timed as e2e_per_s: {many.seconds:.1f} s (the pushes ended "
            f"at {many.pushed:.1f} s)",
        ),
    ]
