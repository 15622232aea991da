"""How big each measurement of `make bench` is: the full sizes, and the small ones of
``--quick`` (a smoke test of the whole run, whose figures mean nothing).

Every size can be overridden on the command line (``--catchup 20000``); the figure keeps
its name (``catchup_100k_s``) and its note says the size used.

Does not: run anything.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sizes:
    """The sizes of one run."""

    signatures: int = 1000
    """Signatures (and verifications) per timed loop; each rate is the best of
    :data:`scripts.bench.signatures.ROUNDS` loops."""
    ingest: int = 20_000
    """Envelopes pushed to the hub."""
    ingest_senders: int = 4
    """Offices pushing to the hub at once, each its own feed in order."""
    batch: int = 200
    """Envelopes per push request (the node's PUSH_BATCH)."""
    e2e: int = 20_000
    """Letters from one office to another."""
    fan_in: int = 18_000
    """Letters from 18 offices to one, in all."""
    latency: int = 20
    """Letters sent one at a time through a node's API."""
    latency_deadline: float = 30.0
    """Seconds a letter may take before it counts as not arrived."""
    catchup: int = 100_000
    """Letters waiting at the hub for a node back from a week offline."""
    storm: int = 1000
    """Offices reconnecting at once."""
    storm_waiting: int = 5
    """Letters waiting at the hub for each of them."""
    storm_push: int = 2
    """Letters each of them pushes when it reconnects."""
    idle_seconds: float = 20.0
    """Seconds the node sits idle before its RSS is read."""

    def as_json(self) -> dict[str, Any]:
        """The sizes, as written beside the figures."""
        return dataclasses.asdict(self)


FULL = Sizes()
QUICK = Sizes(
    signatures=100,
    ingest=400,
    ingest_senders=2,
    batch=100,
    e2e=200,
    fan_in=180,
    latency=1,
    latency_deadline=3.0,
    catchup=400,
    storm=12,
    storm_waiting=2,
    storm_push=1,
    idle_seconds=1.0,
)

OPTIONS: dict[str, str] = {
    "signatures": "signatures per timed loop",
    "ingest": "envelopes pushed to the hub",
    "ingest_senders": "offices pushing to the hub at once",
    "batch": "envelopes per push (at least 100 for the target)",
    "e2e": "letters from one node to another",
    "fan_in": "letters from 18 offices to one, in all",
    "latency": "letters sent one at a time",
    "latency_deadline": "seconds before a letter counts as not arrived",
    "catchup": "letters waiting for the node back from a week offline",
    "storm": "offices reconnecting at once",
    "storm_waiting": "letters waiting for each reconnecting office",
    "storm_push": "letters each reconnecting office pushes",
    "idle_seconds": "seconds the idle node waits before its RSS is read",
}
"""The command-line help of every size."""


def sizes_for(quick: bool, overrides: dict[str, Any]) -> Sizes:
    """The full or quick sizes with the given fields replaced (None leaves one alone)."""
    base = QUICK if quick else FULL
    return dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})
