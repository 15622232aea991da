"""Checking a large push on every core, in worker processes (ADR 0017).

An Ed25519 verification holds the interpreter lock, so one hub process checks at most one
core's worth of signatures however many threads serve it. :func:`check_on_every_core`
has a push of at least :data:`POOL_MIN_BATCH` envelopes checked by
:func:`protocol.push_check.check_pushed` (shape, signatures, body) on a
:class:`protocol.workers.WorkerPool`, one run per worker; the answer is the one the same
function gives in this process, which is where smaller pushes (and every push on a single
core) are checked.

The pool is one per process, shared by every hub app created in it, with one worker for
each core this process may run on. ``saraban hub serve`` starts it as it starts serving
(:func:`start_pool` without waiting); any other process at its first large batch. Until
its workers have started, and after a worker died, pushes are checked here (the pool's
own rules, logged under this module's name). :func:`stop_pool` ends the workers (and
forgets the breaks); it runs when the process exits.

Does not: decide anything about an envelope itself, sequence or store it, or know about
HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from protocol.push_check import Checked, check_pushed
from protocol.workers import MAX_RESTARTS, WorkerPool, available_cores

__all__ = [
    "MAX_RESTARTS",
    "POOL_MIN_BATCH",
    "available_cores",
    "check_on_every_core",
    "start_pool",
    "stop_pool",
    "worker_pids",
]

log = logging.getLogger(__name__)

POOL_MIN_BATCH = 32
"""Smaller batches are checked in the hub process: the hand-over would cost more than it saves."""


def _workers() -> int:
    cores = available_cores()
    return cores if cores >= 2 else 0


_POOL = WorkerPool(
    _workers,
    log,
    broke=(
        "a signature-checking worker stopped (%s); its pushes are checked in the hub process"
        " and the next large one starts new workers"
    ),
    gave_up=(
        "signature-checking workers stopped %d times; the hub checks every push in its own"
        " process from now on"
    ),
)


def check_on_every_core(
    office: str, keys: Mapping[str, bytes], wire: Sequence[Any]
) -> list[Checked]:
    """:func:`protocol.push_check.check_pushed` of a push, on every core when the batch is
    large and the pool is running, else in this process."""
    if len(wire) < POOL_MIN_BATCH:
        return check_pushed(office, keys, wire)
    return _POOL.map_runs(check_pushed, (office, dict(keys)), wire)


def worker_pids() -> list[int]:
    """The process ids of the workers started and not stopped."""
    return _POOL.pids()


def stop_pool() -> None:
    """End the worker processes, if any were started, and forget past breaks; a later
    large push starts them again."""
    _POOL.stop()


def start_pool(wait: bool = True) -> bool:
    """Start the workers now (a large batch would start them) and, with ``wait``, wait
    until they run; False when this process checks everything itself, or they are not
    running yet."""
    return _POOL.ready(wait=wait)
