"""Checking a large push on every core, in worker processes.

An Ed25519 verification holds the interpreter lock, so one hub process checks at most one
core's worth of signatures however many threads serve it. :func:`check_on_every_core`
cuts a push of at least :data:`POOL_MIN_BATCH` envelopes into one run per worker and has
each run checked by :func:`protocol.push_check.check_pushed` (shape, signatures, body) in
another process; the answer is the one the same function gives in this process, which is
where smaller pushes (and every push on a single core) are checked.

The pool is one per process, shared by every hub app created in it, with one worker for
each core this process may run on (``os.sched_getaffinity``). ``saraban hub serve`` starts
it as it starts serving (:func:`start_pool` without waiting); any other process at its
first large batch. Until its workers have started, batches are checked here, so a
new pool never makes a push wait. Workers are started with ``spawn`` (the hub serves from
threads, and a fork could copy a lock another thread holds), ignore Ctrl-C (the hub stops
them) and exit when the hub process ends, even when it is killed.

A worker that dies breaks the pool: every push it was checking is checked here instead,
and the first break is logged. The next large push starts a new pool, up to
:data:`MAX_RESTARTS` times; after that every batch is checked here, which is logged once
too. :func:`stop_pool` ends the workers (and forgets the breaks); it runs when the process
exits.

Does not: decide anything about an envelope itself, sequence or store it, or know about
HTTP.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from protocol.push_check import Checked, check_pushed, split

log = logging.getLogger(__name__)

POOL_MIN_BATCH = 32
"""Smaller batches are checked in the hub process: the hand-over would cost more than it saves."""
MAX_RESTARTS = 3
"""Pools started again after a worker died, before the hub checks everything itself."""
START_SECONDS = 60.0
""":func:`start_pool` waits at most this long for the workers."""


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _exit_with_parent() -> None:
    """Worker start-up: leave Ctrl-C to the hub, and end when the hub process ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="saraban-parent-watch", daemon=True).start()


def _started() -> int:
    """A worker's answer once it runs: its process id."""
    return os.getpid()


class _Pool:
    """The process-wide pool and what happened to it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.executor: ProcessPoolExecutor | None = None
        self.workers = 0
        self.warmup: list[Future[int]] = []
        self.restarts = 0
        self.break_logged = False
        self.exit_hooked = False

    def ready(self, wait: bool = False) -> ProcessPoolExecutor | None:
        """The pool when its workers are running, starting it when there is none; with
        ``wait``, once they are running."""
        with self.lock:
            if self.executor is None:
                if self.restarts > MAX_RESTARTS or available_cores() < 2:
                    return None
                self._start()
            executor, warmup = self.executor, list(self.warmup)
        assert executor is not None
        if wait:
            futures_wait(warmup, timeout=START_SECONDS)
        if not all(f.done() for f in warmup):
            return None
        failed = next((f.exception() for f in warmup if f.exception() is not None), None)
        if failed is not None:
            self.broken(executor, failed)
            return None
        return executor

    def _start(self) -> None:
        self.workers = available_cores()
        self.executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
        )
        self.warmup = [self.executor.submit(_started) for _ in range(self.workers)]
        if not self.exit_hooked:
            atexit.register(stop_pool)
            self.exit_hooked = True

    def broken(self, executor: ProcessPoolExecutor, error: BaseException) -> None:
        """Forget a pool a worker of which died; log the first time, and the last."""
        with self.lock:
            if self.executor is not executor:
                return  # another batch already found out
            self.executor, self.warmup = None, []
            self.restarts += 1
            if not self.break_logged:
                self.break_logged = True
                log.warning(
                    "a signature-checking worker stopped (%s); its pushes are checked in "
                    "the hub process and the next large one starts new workers",
                    type(error).__name__,
                )
            elif self.restarts > MAX_RESTARTS:
                log.warning(
                    "signature-checking workers stopped %d times; the hub checks every "
                    "push in its own process from now on",
                    self.restarts,
                )
        executor.shutdown(wait=False, cancel_futures=True)

    def stop(self) -> None:
        """End the workers (they finish what they are checking) and forget past breaks."""
        with self.lock:
            executor, self.executor, self.warmup = self.executor, None, []
            self.restarts, self.break_logged = 0, False
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


_POOL = _Pool()


def check_on_every_core(
    office: str, keys: Mapping[str, bytes], wire: Sequence[Any]
) -> list[Checked]:
    """:func:`protocol.push_check.check_pushed` of a push, on every core when the batch is
    large and the pool is running, else in this process."""
    if len(wire) < POOL_MIN_BATCH:
        return check_pushed(office, keys, wire)
    executor = _POOL.ready()
    if executor is None:
        return check_pushed(office, keys, wire)
    plain_keys = dict(keys)
    try:
        futures = [
            executor.submit(check_pushed, office, plain_keys, run)
            for run in split(wire, _POOL.workers)
        ]
    except (RuntimeError, OSError) as e:  # broken, stopped under this push, no process
        _POOL.broken(executor, e)
        return check_pushed(office, keys, wire)
    checked: list[Checked] = []
    try:
        for future in futures:
            checked.extend(future.result())
    except (BrokenProcessPool, CancelledError) as e:  # a worker died, or the pool stopped
        _POOL.broken(executor, e)
        return check_pushed(office, keys, wire)
    return checked


def stop_pool() -> None:
    """End the worker processes, if any were started, and forget past breaks; a later
    large push starts them again."""
    _POOL.stop()


def start_pool(wait: bool = True) -> bool:
    """Start the workers now (a large batch would start them) and, with ``wait``, wait
    until they run; False when this process checks everything itself, or they are not
    running yet."""
    return _POOL.ready(wait=wait) is not None
