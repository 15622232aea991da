"""How fast the demo's letters travel with nobody pressing sync: the day's own stopwatch.

The day sends its letters through the nodes' APIs and then only waits: the live path
(ADR 0016) pushes each letter at once and the recipients' wake-up checks fetch it.
:class:`Stopwatch` polls the recipients' inboxes (and the sender's tracking) and keeps,
for every recipient reached over a working link, the seconds from the send to the letter
in the recipient's inbox, and from the send to the sender seeing ลงรับ. Its p95 figures are
the demo summary's ``send_to_inbox_p95_s`` and ``send_to_registered_p95_s``.

Does not: sync anything, or judge the figures (the summary prints them).
"""

from __future__ import annotations

import math
import time
from typing import Any

from scripts.nodeapi import NodeHTTP

ARRIVAL_TIMEOUT = 120.0
POLL_SECONDS = 0.1


def p95(values: list[float]) -> float | None:
    """The nearest-rank 95th percentile, rounded to tenths of a second (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)], 1)


class Stopwatch:
    """Waits for letters to arrive and be registered, and keeps how long each took."""

    def __init__(self, nodes: dict[str, NodeHTTP]) -> None:
        self.nodes = nodes
        self.to_inbox: list[float] = []
        self.to_registered: list[float] = []

    def _holds(self, office: str, env_id: str) -> bool:
        letters = self.nodes[office].call("GET", "/api/letters?box=inbox")["letters"]
        return any(x.get("env_id") == env_id for x in letters)

    def _registered_at(self, sender: str, letter_id: int) -> set[str]:
        letter = self.nodes[sender].call("GET", f"/api/letters/{letter_id}")
        return {t["office"] for t in letter.get("tracking", []) if t.get("state") == "registered"}

    def delivered(self, sent: dict[str, Any], recipients: list[str], started: float) -> None:
        """Wait until every recipient holds the letter ``sent`` (sent at ``started``, a
        ``time.monotonic()``); keep each recipient's time."""
        waiting = set(recipients)
        deadline = time.monotonic() + ARRIVAL_TIMEOUT
        while waiting and time.monotonic() < deadline:
            for office in sorted(waiting):
                if self._holds(office, str(sent["env_id"])):
                    self.to_inbox.append(time.monotonic() - started)
                    waiting.discard(office)
            if waiting:
                time.sleep(POLL_SECONDS)  # polling real processes for an arrival
        if waiting:
            raise RuntimeError(f"letter {sent['number']} did not reach {sorted(waiting)}")

    def registered(
        self, sender: str, sent: dict[str, Any], recipients: list[str], started: float
    ) -> None:
        """Wait until the sender's tracking shows ลงรับ by every recipient; keep the times."""
        waiting = set(recipients)
        deadline = time.monotonic() + ARRIVAL_TIMEOUT
        while waiting and time.monotonic() < deadline:
            done = waiting & self._registered_at(sender, int(sent["id"]))
            self.to_registered.extend([time.monotonic() - started] * len(done))
            waiting -= done
            if waiting:
                time.sleep(POLL_SECONDS)  # polling real processes for the receipts
        if waiting:
            missing = sorted(waiting)
            raise RuntimeError(f"{sender} did not see ลงรับ of {sent['number']} by {missing}")

    def summary(self) -> dict[str, Any]:
        """The figures of the demo's report."""
        return {
            "send_to_inbox_p95_s": p95(self.to_inbox),
            "send_to_registered_p95_s": p95(self.to_registered),
            "deliveries_timed": len(self.to_inbox),
            "registrations_timed": len(self.to_registered),
        }
