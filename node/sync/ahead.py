"""The pull's answers, fetched and verified ahead of the writer (:mod:`node.sync.pull`).

:func:`fetch` asks the hub for the answer after a cursor and verifies its envelopes: in
the pull's worker process when the batch is large enough and the machine has a core to
spare (ADR 0027), else on the calling thread. :class:`Ahead` asks for the next answer on
a second thread while the current batch is written, so that the hub's answer and the
signatures do not wait for SQLite; the writer takes it with :meth:`Ahead.take`.

Does not: read or write the database, or decide what a verified envelope changes.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from node.records.directory import keys_from_list
from node.sync.hubclient import HubClient
from node.sync.verify import PULL_POOL, PULL_POOL_MIN_BATCH, verify_each, verify_pulled
from protocol.directory import TrustedDirectory
from protocol.envelope import Envelope


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
    """The next pull, asked for and verified on a second thread while this batch is
    written, so that the hub's answer and the signatures do not wait for SQLite. The
    thread starts with the first batch that says ``more`` and touches no database; the
    client is never used by both threads at once."""

    def __init__(self, client: HubClient, limit: int) -> None:
        self.client = client
        self.limit = limit
        self.pool: ThreadPoolExecutor | None = None
        self.job: tuple[str | None, Future[Answer]] | None = None

    def start(
        self, cursor: str | None, trusted: TrustedDirectory, hub_keys: list[dict[str, Any]]
    ) -> None:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="saraban-pull")
        future = self.pool.submit(fetch, self.client, cursor, self.limit, trusted, hub_keys)
        self.job = (cursor, future)

    def take(self, cursor: str | None) -> Answer:
        """The answer after ``cursor``: the one fetched ahead if it was for that cursor
        (raising what its request raised), else asked for now."""
        job, self.job = self.job, None
        if job is not None:
            wanted, future = job
            wait([future])
            if wanted == cursor:
                return future.result()
        return fetch(self.client, cursor, self.limit)

    def ready(self, cursor: str | None, within: float) -> bool:
        """Whether the answer after ``cursor`` was asked for ahead and is in, or comes
        within ``within`` seconds; False when it was not asked for (:meth:`take` asks
        for it on this thread)."""
        if self.job is None or self.job[0] != cursor:
            return False
        return not wait([self.job[1]], timeout=within).not_done

    def settle(self) -> None:
        """Wait until the request ahead is done, before the client is used for another."""
        if self.job is not None:
            wait([self.job[1]])

    def close(self) -> None:
        self.settle()
        if self.pool is not None:
            self.pool.shutdown(wait=True)
