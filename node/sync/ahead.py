"""The pull's answers, fetched and verified ahead of the writer (:mod:`node.sync.pull`).

:func:`fetch` asks the hub for the answer after a cursor and verifies its envelopes: in
the pull's worker process when the batch is large enough and the machine has a core to
spare (ADR 0027), else on the calling thread. :class:`Ahead` asks for the next answers on
a second thread while the current batch is written, so that the hub's answers and the
signatures do not wait for SQLite; the writer takes them with :meth:`Ahead.take`.

Does not: read or write the database, or decide what a verified envelope changes.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from node.records.directory import keys_from_list
from node.sync.hubclient import HubClient
from node.sync.verify import PULL_POOL, PULL_POOL_MIN_BATCH, verify_each, verify_pulled
from protocol.directory import TrustedDirectory
from protocol.envelope import Envelope

PULL_AHEAD = 3
"""Answers asked for and verified ahead of the one being written (:class:`Ahead`). With
one, the pull's worker waited for the writer to take each answer before it checked the
next, and the writer waited for the worker: a catch-up of 100,000 letters spent 6.7 s of
41.2 s waiting for the next answer. Three answers of 250 (``PULL_BATCH``) waiting and one
being written are as many envelopes (1,000) as one of 500 ahead and one written were:
100,000 letters in 39.5 s at 134 MB peak against 41.8 s at 140 MB right after (two of
250: 37.8 and 40.9 s at 130 MB, against 40.7 and 41.8; on the slower machine of
docs/performance.md)."""


@dataclass
class Pulled:
    """One envelope of a pull answer: verified (``env``, ``msg``) or not (``error``)."""

    wire: Any
    env: Envelope | None = None
    msg: Any = None
    error: str | None = None
    columns: dict[str, Any] | None = None
    """A letter's row columns, when the pull's worker worked them out."""


def verify_wire(wire: Any, trusted: TrustedDirectory, hub_keys: dict[str, Any]) -> Pulled:
    """One envelope from the wire, verified on this thread."""
    return Pulled(wire, *verify_each([wire], trusted, hub_keys)[0])


@dataclass
class Answer:
    """One pull answer and its envelopes verified against ``trusted`` and ``hub_keys``."""

    answer: dict[str, Any]
    pulled: list[Pulled]
    trusted: TrustedDirectory | None
    hub_keys: list[dict[str, Any]]

    def verified(self, trusted: TrustedDirectory, hub_keys: list[dict[str, Any]]) -> bool:
        """Whether the envelopes were verified against this same trust."""
        return self.trusted is trusted and self.hub_keys == hub_keys


def fetch(
    client: HubClient,
    cursor: str | None,
    limit: int,
    trusted: TrustedDirectory | None = None,
    hub_keys: list[dict[str, Any]] | None = None,
) -> Answer:
    answer = client.pull(cursor, limit)
    if trusted is None or hub_keys is None:
        return Answer(answer, [], None, [])
    wires = answer.get("envelopes") or []
    if len(wires) >= PULL_POOL_MIN_BATCH:
        args = (trusted.directory, trusted.env_id, hub_keys)
        verdicts = PULL_POOL.map_runs(verify_pulled, args, wires)
    else:
        verified = verify_each(wires, trusted, keys_from_list(hub_keys))
        verdicts = [(env, msg, error, None) for env, msg, error in verified]
    pulled = [
        Pulled(wire, env if env is None else env.decoded_from(wire), msg, error, columns)
        for wire, (env, msg, error, columns) in zip(wires, verdicts, strict=True)
    ]
    return Answer(answer, pulled, trusted, hub_keys)


class Ahead:
    """The next pulls, asked for and verified on a second thread while a batch is
    written, so that the hub's answers and the signatures do not wait for SQLite: up to
    ``depth`` answers not taken yet, each asked for as soon as the one before it says
    ``more``, so that the worker checking them does not wait for the writer either. The
    thread starts with the first batch that says ``more`` and touches no database; the
    client is never used by both threads at once (:meth:`settle`)."""

    def __init__(self, client: HubClient, limit: int, depth: int = PULL_AHEAD) -> None:
        self.client = client
        self.limit = limit
        self.depth = depth
        self.pool: ThreadPoolExecutor | None = None
        self.lock = threading.Lock()
        self.jobs: dict[str | None, Future[Answer]] = {}
        """The answers asked for and not taken yet, by the cursor they follow, in order."""
        self.held_back = False
        """Set while :meth:`settle`, :meth:`take` or :meth:`start` waits for the requests
        ahead: none is asked for then."""
        self.epoch = 0
        """Moved on when the answers ahead are dropped: a request of an earlier epoch asks
        for none after it."""

    def start(
        self, cursor: str | None, trusted: TrustedDirectory, hub_keys: list[dict[str, Any]]
    ) -> None:
        """Ask for the answer after ``cursor`` unless it is asked for already, and for
        the one after it when that is in and there is room. Answers asked for after other
        cursors (another process moved the cursor) are waited for and dropped first."""
        with self.lock:
            stale = [] if cursor in self.jobs else list(self.jobs.values())
            if stale:
                self._drop()
        if stale:
            self._wait_dropped(stale)
        with self.lock:
            if cursor not in self.jobs:
                self._ask(cursor, trusted, hub_keys)
            self._top_up(trusted, hub_keys)

    def _drop(self) -> None:
        """(Holding the lock) forget the answers asked for, and ask for none until they
        are waited for (:meth:`_wait_dropped`)."""
        self.epoch += 1
        self.jobs.clear()
        self.held_back = True

    def _wait_dropped(self, dropped: list[Future[Answer]]) -> None:
        try:
            wait(dropped)
        finally:
            with self.lock:
                self.held_back = False

    def _ask(
        self, cursor: str | None, trusted: TrustedDirectory, hub_keys: list[dict[str, Any]]
    ) -> None:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="saraban-pull")
        self.jobs[cursor] = self.pool.submit(
            self._fetch_ahead, cursor, trusted, hub_keys, self.epoch
        )

    def _top_up(self, trusted: TrustedDirectory, hub_keys: list[dict[str, Any]]) -> None:
        """(Holding the lock) ask for the answer after the last one asked for, when that
        one is in, says ``more``, and fewer than ``depth`` wait."""
        if self.held_back or not self.jobs or len(self.jobs) >= self.depth:
            return
        last = self.jobs[next(reversed(self.jobs))]
        if not last.done() or last.exception() is not None:
            return
        answer = last.result().answer
        after = answer.get("cursor")
        if answer.get("more") and after not in self.jobs:
            self._ask(after, trusted, hub_keys)

    def _fetch_ahead(
        self,
        cursor: str | None,
        trusted: TrustedDirectory,
        hub_keys: list[dict[str, Any]],
        epoch: int,
    ) -> Answer:
        fetched = fetch(self.client, cursor, self.limit, trusted, hub_keys)
        answer = fetched.answer
        with self.lock:
            after = answer.get("cursor")
            # Taken already or not, the answer after it is wanted unless they were dropped.
            room = not self.held_back and epoch == self.epoch and len(self.jobs) < self.depth
            if room and answer.get("more") and after not in self.jobs:
                self._ask(after, trusted, hub_keys)
        return fetched

    def take(self, cursor: str | None) -> Answer:
        """The answer after ``cursor``: the one fetched ahead if there is one (raising what
        its request raised), else asked for now, once the answers asked for after other
        cursors are in and dropped."""
        with self.lock:
            future = self.jobs.get(cursor)
            if future is None:
                dropped = list(self.jobs.values())
                self._drop()
            else:
                # Answers after earlier cursors (another process moved the cursor) run
                # before this one on the same thread, so they are done when it is: dropped.
                earlier = list(self.jobs)[: list(self.jobs).index(cursor)]
                if earlier:
                    self.epoch += 1
                for key in [*earlier, cursor]:
                    del self.jobs[key]
        if future is not None:
            return future.result()
        self._wait_dropped(dropped)
        return fetch(self.client, cursor, self.limit)

    def ready(self, cursor: str | None, within: float) -> bool:
        """Whether the answer after ``cursor`` was asked for ahead and is in, or comes
        within ``within`` seconds; False when it was not asked for (:meth:`take` asks
        for it on this thread)."""
        with self.lock:
            future = self.jobs.get(cursor)
        return future is not None and not wait([future], timeout=within).not_done

    def settle(self) -> None:
        """Wait until the requests ahead are done, asking for no more meanwhile, before
        the client is used for another on this thread."""
        with self.lock:
            self.held_back = True
            pending = list(self.jobs.values())
        try:
            wait(pending)
        finally:
            with self.lock:
                self.held_back = False

    def close(self) -> None:
        self.settle()
        if self.pool is not None:
            self.pool.shutdown(wait=True)
