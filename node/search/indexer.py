"""The search index's background worker: indexes the queue of letters between sync rounds.

Letters are queued for the index in the transaction that stores them (ADR 0019,
:mod:`node.search.index`). One :class:`SearchIndexer` thread per serving node looks at
the queue every :data:`IDLE_SECONDS` and indexes it one batch per transaction while no
sync round is running (``NodeContext.sync_phase``): during a catch-up the one writer
stores letters first, and the index follows when the round ends, a batch at a time, so a
clerk's action or the next round waits for one batch at most.

Does not: decide what the index holds (:mod:`node.search.index`, the schema), or search.
"""

from __future__ import annotations

import logging
import threading

from node.context import NodeContext
from node.errors import NodeError
from node.search.index import index_pending, pending_count

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0
"""How often an idle node looks at the queue (one indexed read of an empty table)."""

ROUND_WAIT_SECONDS = 0.25
"""How often the worker looks again while a sync round holds the writer."""


class SearchIndexer:
    """The index's background thread (start it once per serving process; see the module)."""

    def __init__(self, ctx: NodeContext, idle_seconds: float = IDLE_SECONDS) -> None:
        self.ctx = ctx
        self.idle_seconds = idle_seconds
        self.indexed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SearchIndexer:
        """Start the thread; it indexes whatever an earlier process left queued."""
        self._thread = threading.Thread(target=self._run, name="saraban-index", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the batch being written, if any."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.idle_seconds):
            try:
                self._drain()
            except NodeError as e:
                log.warning("search index not updated now: %s", e)

    def _drain(self) -> None:
        """Index the queue a batch at a time, giving way to every sync round."""
        with self.ctx.open_store() as store:
            if not pending_count(store):
                return
            while not self._stop.is_set():
                if self.ctx.sync_phase is not None:
                    self._stop.wait(ROUND_WAIT_SECONDS)
                    continue
                done = index_pending(store)
                if not done:
                    return
                self.indexed += done
