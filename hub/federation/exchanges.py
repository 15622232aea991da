"""The pushes and pulls this hub process is serving: the background work that can wait
gives way to them.

The portal's letter index (:func:`hub.federation.letter_index.keep_up`) takes the hub's one
writer and the interpreter for up to half a second each second; during a burst of pushes
that halved the ingest rate (3,400 → 1,900 envelopes/s in ``make bench``), and while a node
pulls it slowed the pull. While a push or a pull is being served, and for
:data:`QUIET_SECONDS` after the last, the index job records and indexes one small batch
a second instead (:data:`BUSY_BATCH` letters of each), so it never stops, and catches up in
full once the offices are quiet.

Does not: count the cheap wake-up checks (``/watch``), limit or delay any request, or share
anything between hub processes (each knows its own requests).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

QUIET_SECONDS = 2.0
"""Seconds without a push or pull before the index job works in full again."""

BUSY_BATCH = 50
"""Letters the index job records, and letters it indexes, a second while offices exchange
(~5 and ~15 ms of writing)."""


class Exchanges:
    """Counts the pushes and pulls being served and remembers when the last one ended."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._running = 0
        self._last_end = float("-inf")

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Mark a push or pull as being served for the duration of the block."""
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._last_end = self._clock()

    def busy(self) -> bool:
        """A push or pull is being served, or one ended less than :data:`QUIET_SECONDS` ago."""
        with self._lock:
            return self._running > 0 or self._clock() - self._last_end < QUIET_SECONDS
