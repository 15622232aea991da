"""Pure decisions of the sync worker: back-off and what to push next.

The node's worker does the HTTP and the SQLite writes; it asks these functions when to try
again and which envelopes to send. Randomness is passed in so tests are deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

DEFAULT_BASE_SECONDS = 2.0
DEFAULT_CAP_SECONDS = 600.0


def backoff_delay(
    failures: int,
    rng: random.Random,
    base: float = DEFAULT_BASE_SECONDS,
    cap: float = DEFAULT_CAP_SECONDS,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait after ``failures`` consecutive failures ("full jitter", capped).

    A server's Retry-After is a floor: never come back sooner than the hub asked.
    """
    if failures <= 0:
        return 0.0
    ceiling = min(cap, base * (2 ** min(failures - 1, 30)))
    delay = rng.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


def next_push_batch(pending: Sequence[T], limit: int) -> list[T]:
    """The next envelopes to push: the oldest unacknowledged ones, in feed order."""
    return list(pending[: max(0, limit)])
