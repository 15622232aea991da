"""``latency_send_to_inbox_p95_s``: one letter at a time from a clerk's send at one node
to the letter in another node's inbox, both real node processes with default settings.

Both nodes sync once when they start, as any running node has; then each letter is sent
through the sender's local API (``POST /api/letters``: numbered and dispatched) and the
recipient's database file is polled read-only until it holds the letter, or
``--latency-deadline`` runs out. The next letter goes when the last one arrived or missed.
Nothing asks either node to sync: what moves the letter is the nodes' own work.

When more letters miss the deadline than the 95th percentile allows, the run stops there:
the p95 is then known only to lie beyond the deadline, which is what the figure says.

Does not: tune any setting (SYNC_INTERVAL_MINUTES, the wake-up's period) of either node.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from scripts.bench.federation import POLL_SECONDS, BenchFederation, BenchNode
from scripts.bench.figures import Figure, measured, percentile
from scripts.bench.plan import Sizes
from scripts.bench.traffic import BODY


def send_and_wait(sender: BenchNode, recipient: BenchNode, n: int, deadline: float) -> float | None:
    """Send letter ``n`` and wait for it at ``recipient``; the seconds, or None if the
    deadline ran out."""
    letter = {
        "subject": f"ขอเชิญประชุมคณะกรรมการบริหารงานจังหวัดแบบบูรณาการ ครั้งที่ {n}",
        "recipients": [recipient.office],
        "speed": "ด่วน",
        "salutation": "เรียน ผู้ว่าราชการจังหวัด",
        "body": BODY,
    }
    start = time.perf_counter()
    env_id = sender.call("POST", "/api/letters", letter)["env_id"]
    while not recipient.holds(env_id):
        if time.perf_counter() - start > deadline:
            return None
        time.sleep(POLL_SECONDS)  # polling the recipient's database for the letter
    return time.perf_counter() - start


def run(sizes: Sizes, workdir: Path) -> list[Figure]:
    """Send ``--latency`` letters one at a time; the 95th percentile of their latency."""
    n, deadline = sizes.latency, sizes.latency_deadline
    allowed_misses = n - math.ceil(0.95 * n)
    with BenchFederation(workdir) as fed:
        pilots = fed.pilot_offices()
        recipient, sender = fed.node(pilots[0]), fed.node(pilots[1])
        sender.sync()
        recipient.sync()
        times: list[float] = []
        misses = 0
        for i in range(1, n + 1):
            took = send_and_wait(sender, recipient, i, deadline)
            if took is None:
                misses += 1
                if misses > allowed_misses:
                    break
            else:
                times.append(took)
    sent = len(times) + misses
    spread = ""
    if times:
        spread = f"; arrived ones: min {min(times):.2f} s, max {max(times):.2f} s"
    if misses > allowed_misses:
        return [
            measured(
                "latency_send_to_inbox_p95_s",
                deadline,
                f"{misses} of {sent} letters not in the inbox within the {deadline:.0f} s "
                f"deadline, so the p95 of {n} lies beyond it (stopped after {sent}){spread}",
                beyond=True,
            )
        ]
    values = times + [math.inf] * misses
    return [
        measured(
            "latency_send_to_inbox_p95_s",
            percentile(values, 95),
            f"letters sent one at a time through the sender node's API and awaited in the "
            f"recipient node's database: {n}, of which {misses} missed the {deadline:.0f} s "
            f"deadline{spread}",
        )
    ]
