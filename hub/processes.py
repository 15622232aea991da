"""This hub process among the others serving the same database (ADR 0025).

A hub may run as several processes on one database behind any HTTP load balancer: a node
does not care which one answers. What one process must know of the others goes through
the database (:mod:`hub.store.processes`), never through its own memory:

* **who serves.** ``saraban hub serve`` records the process (:meth:`HubProcesses.beat`)
  at start and every :data:`HEARTBEAT_SECONDS`, and forgets it at a clean stop; a process
  not seen for :data:`STALE_SECONDS` died and is forgotten by the next heartbeat of
  another. :meth:`HubProcesses.several` says whether more than one serves (read at most
  every :data:`LOOKUP_SECONDS`).
* **the jobs run once.** Every process runs the scheduler, and each run of a job first
  claims its slot (:meth:`HubProcesses.claim`: the job's interval, or the Bangkok day of
  the nightly report); the process that loses the claim does nothing that time.
* **the limits hold across processes.** While several serve, the federation's rate limits
  and the portal's per-address limits count in the database (the buckets and counts of
  :mod:`hub.store.processes`) instead of each process's memory, so an office's allowance
  is the same whichever process it reaches. One process alone keeps them in memory and
  writes nothing per request.

What stays in each process on purpose: its in-flight limit (its own capacity), its
verification workers, its count of the exchanges it serves, and its ``/metrics`` (each
process is scraped on its own).

Does not: balance load, choose the processes or start them (the operator's service
manager does, ``docs/operations.md``).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable

from hub.store import HubStore

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10
"""How often a serving process records that it is alive."""
STALE_SECONDS = 35
"""A process not seen for this long is taken for dead."""
LOOKUP_SECONDS = 5.0
"""How long a process trusts what it last read of the others."""


class HubProcesses:
    """This process's name among the hub's processes, and what it knows of the others."""

    def __init__(self, clock: Callable[[], float]):
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.id = f"{self.host}:{self.pid}:{secrets.token_hex(4)}"
        self._clock = clock
        self._lock = threading.Lock()
        self._several = False
        self._read_at = float("-inf")

    def beat(self, store: HubStore) -> int:
        """Record that this process is alive and forget the dead ones; how many serve."""
        now = self._clock()
        store.process_seen(self.id, self.host, self.pid, now)
        gone = store.forget_processes_before(now - STALE_SECONDS)
        if gone:
            log.info("forgot %d hub process(es) not seen for %d s", gone, STALE_SECONDS)
        return self._remember(store, now)

    def leave(self, store: HubStore) -> None:
        """Forget this process (a clean stop)."""
        store.process_gone(self.id)

    def several(self, store: HubStore) -> bool:
        """Whether more than one process serves the database (as last read through
        ``store``, at most :data:`LOOKUP_SECONDS` ago)."""
        with self._lock:
            if 0 <= self._clock() - self._read_at < LOOKUP_SECONDS:
                return self._several
        self._remember(store, self._clock())
        return self._several

    def _remember(self, store: HubStore, now: float) -> int:
        serving = len(store.live_processes(now - STALE_SECONDS))
        with self._lock:
            self._several = serving > 1
            self._read_at = now
        return serving

    def claim(self, store: HubStore, job: str, slot: int) -> bool:
        """Claim ``slot`` of ``job`` for this process: True when it should run it now."""
        return store.claim_job(job, slot, self.id, self._clock())
