"""Running a pure function over a large batch in worker processes, on cores the calling
process cannot use itself.

An Ed25519 check, and the parsing around it, hold the interpreter lock for most of their
time, so one process checks at most one core's worth of envelopes however many threads it
has, and a thread checking beside a thread that writes slows the writer down. A
:class:`WorkerPool` cuts a batch into runs and has each run done by the same pure function
in a worker process (:meth:`WorkerPool.map_runs`), the answers joined in order: the hub
checks a large push this way (ADR 0017), a node the envelopes it pulls ahead while it
stores the batch before (ADR 0027).

A worker is ``python -m protocol.workers``: it imports only what the functions it is handed
need, reads ``(function, arguments, run)`` from its standard input and writes the answer
to the pipe it was given, one pickled message each (:mod:`multiprocessing.connection`
framing). It ignores Ctrl-C (its owner stops it) and ends when its input closes, which is
when the owning process ends, even when it is killed. No other process is started (the
``multiprocessing`` start methods add a resource tracker of their own), and nothing is
forked from the owner, which serves from threads. Until the workers have said they run,
on a machine with one core, and on a system other than POSIX, batches are done in the
calling process, so a new pool never makes a caller wait.

A worker that dies breaks the pool: the batches it had are done in the calling process
instead, and the first break is logged. The next batch starts a new pool, up to
:data:`MAX_RESTARTS` times; after that everything is done in the calling process, which is
logged once too. A pool with ``idle_seconds`` ends its workers once that long has passed
without a batch, and starts them again at the next one.

Does not: know what the function does, or choose which batches are large enough.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as connection_wait
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_RESTARTS = 3
"""Pools started again after a worker died, before the owner does everything itself."""
START_SECONDS = 60.0
""":meth:`WorkerPool.ready` with ``wait`` waits at most this long for the workers."""
STOP_SECONDS = 10.0
"""A worker told to stop is killed when it has not ended after this long."""
_LOOK_AGAIN_SECONDS = 0.005
"""A batch holding busy workers looks for an idle one this often while it waits."""
_ROOT = str(Path(__file__).resolve().parent.parent)
"""The folder the ``protocol`` package (and the functions handed over) are imported from."""


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def split(items: Sequence[T], parts: int) -> list[Sequence[T]]:
    """``items`` cut into at most ``parts`` runs of nearly equal length, in order."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    runs, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        runs.append(items[start:end])
        start = end
    return runs


class WorkerGone(Exception):
    """A worker process ended, or could not be reached, in the middle of a run."""


class RunRaised(Exception):
    """The function raised in the worker; the worker itself is fine."""


class _Generation:
    """The workers started together, and the queue of those idle. A generation that was
    left (stopped, broken) is never handed a run again; its workers are stopped."""

    def __init__(self) -> None:
        self.workers: list[_Worker] = []
        self.free: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self.running = False
        self.left = False


class _Worker:
    """One worker process and the two ends of the pipes to it."""

    def __init__(self, generation: _Generation) -> None:
        self.generation = generation
        answers_read, answers_write = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, env.get("PYTHONPATH")]))
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "protocol.workers", str(answers_write)],
                stdin=subprocess.PIPE,
                pass_fds=(answers_write,),
                env=env,
                cwd=_ROOT,
            )
        except BaseException:
            os.close(answers_read)
            raise
        finally:
            os.close(answers_write)
        assert self.proc.stdin is not None
        self.tasks = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self.proc.stdin.close()
        self.answers = Connection(answers_read, writable=False)
        self.running = False
        self.first_message = threading.Lock()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def started(self, timeout: float) -> bool:
        """Whether the worker has said it runs, waiting at most ``timeout`` seconds. One
        thread at a time reads its first message: another one asking meanwhile hears no
        (or waits, with a ``timeout``)."""
        if self.running:
            return True
        if not (
            self.first_message.acquire(timeout=timeout)
            if timeout > 0
            else self.first_message.acquire(blocking=False)
        ):
            return self.running
        try:
            if not self.running and self.answers.poll(timeout):
                self.answers.recv()
                self.running = True
        finally:
            self.first_message.release()
        return self.running

    def send(self, message: Any) -> None:
        try:
            self.tasks.send(message)
        except (OSError, ValueError) as e:  # its input is closed: it ended
            raise WorkerGone(str(e)) from e

    def receive(self) -> Any:
        try:
            outcome, value = self.answers.recv()
        except (EOFError, OSError, ValueError) as e:
            raise WorkerGone(str(e)) from e
        if outcome != "ok":
            raise RunRaised(value)
        return value

    def stop(self) -> None:
        """Close its input (it ends when it has answered what it holds), then wait."""
        for conn in (self.tasks, self.answers):
            conn.close()
        try:
            self.proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class WorkerPool:
    """One owner's worker processes and what happened to them.

    ``workers`` says how many to start (fewer than one: none, everything is done here);
    ``log`` takes the two warnings, ``broke`` (with the error's name) and ``gave_up``
    (with the number of breaks). ``run_size`` caps the items handed over at a time (runs
    queue for the next free worker); without it, a batch is one run per worker.
    """

    def __init__(
        self,
        workers: Callable[[], int],
        log: logging.Logger,
        broke: str,
        gave_up: str,
        idle_seconds: float | None = None,
        run_size: int | None = None,
    ) -> None:
        self.count_workers = workers
        self.log = log
        self.broke_message = broke
        self.gave_up_message = gave_up
        self.idle_seconds = idle_seconds
        self.run_size = run_size
        self.lock = threading.Lock()
        self.current: _Generation | None = None
        self.restarts = 0
        self.break_logged = False
        self.exit_hooked = False
        self.busy = 0
        self.idle_timer: threading.Timer | None = None
        self.handed = 0
        """Runs handed to a worker and answered, since the pool was made."""

    # -- starting and stopping -------------------------------------------------------------

    def ready(self, wait: bool = False) -> bool:
        """Whether the workers run, starting them when there are none; with ``wait``,
        waiting for them to run (the idle stop leaves them alone meanwhile: a worker may
        take longer than ``idle_seconds`` to start on a loaded machine)."""
        if not wait:
            return self._ready(False) is not None
        with self._in_use():
            return self._ready(True) is not None

    def _ready(self, wait: bool) -> _Generation | None:
        """The running generation, starting one when there is none; None while it starts."""
        with self.lock:
            if self.current is None:
                if self.restarts > MAX_RESTARTS or os.name != "posix" or self.count_workers() < 1:
                    return None  # the pipes handed to a worker are POSIX's
                try:
                    self.current = self._start()
                except OSError as e:  # no process could be started
                    self.log.warning(self.broke_message, type(e).__name__)
                    self.restarts = MAX_RESTARTS + 1
                    return None
            self._keep_alive()
            generation = self.current
        timeout = START_SECONDS if wait else 0.0
        try:
            if not all(w.started(timeout) for w in generation.workers):
                return None
        except (EOFError, OSError) as e:  # a worker that ended before it ran
            self._broken(generation, e)
            return None
        with self.lock:
            if generation.left:
                return None
            if not generation.running:
                generation.running = True
                for w in generation.workers:
                    generation.free.put(w)
        return generation

    def _start(self) -> _Generation:
        """(With the lock.) Start a new generation of workers."""
        generation = _Generation()
        try:
            for _ in range(self.count_workers()):
                generation.workers.append(_Worker(generation))
        except BaseException:
            for w in generation.workers:
                w.proc.kill()
                w.stop()
            raise
        if not self.exit_hooked:
            atexit.register(self.stop)
            self.exit_hooked = True
        return generation

    @contextmanager
    def _in_use(self) -> Iterator[None]:
        """The pool counts as busy within (the idle stop leaves it alone), and its idle
        time starts again at the end."""
        with self.lock:
            self.busy += 1
        try:
            yield
        finally:
            with self.lock:
                self.busy -= 1
                self._keep_alive()

    def _keep_alive(self) -> None:
        """(With the lock.) Put off the idle stop until ``idle_seconds`` after now."""
        if self.idle_seconds is None:
            return
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self.idle_timer = threading.Timer(self.idle_seconds, self._stop_if_idle)
        self.idle_timer.daemon = True
        self.idle_timer.start()

    def _stop_if_idle(self) -> None:
        with self.lock:
            if self.busy or self.current is None:
                return
            workers = self._forget()
        for w in workers:
            w.stop()

    def _forget(self) -> list[_Worker]:
        """(With the lock.) Leave the current generation; its workers are to be stopped."""
        generation, self.current = self.current, None
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        if generation is None:
            return []
        generation.left = True
        return generation.workers

    def stop(self) -> None:
        """End the workers (they finish what they are doing) and forget past breaks."""
        with self.lock:
            workers = self._forget()
            self.restarts, self.break_logged = 0, False
        for w in workers:
            w.stop()

    def _broken(self, generation: _Generation, error: BaseException) -> None:
        """Leave a generation a worker of which died (or whose state is unknown after an
        error); log the first time, and the last."""
        with self.lock:
            if generation is not self.current:
                return  # another batch already found out
            workers = self._forget()
            self.restarts += 1
            if not self.break_logged:
                self.break_logged = True
                self.log.warning(self.broke_message, type(error).__name__)
            elif self.restarts > MAX_RESTARTS:
                self.log.warning(self.gave_up_message, self.restarts)
        for w in workers:
            w.proc.kill()
            w.stop()

    def pids(self) -> list[int]:
        """The process ids of the workers started and not stopped."""
        with self.lock:
            return [] if self.current is None else [w.pid for w in self.current.workers]

    # -- running ---------------------------------------------------------------------------

    def map_runs(
        self, fn: Callable[..., list[R]], args: tuple[Any, ...], items: Sequence[T]
    ) -> list[R]:
        """``fn(*args, items)``, done as runs on the workers and joined in order when they
        run, else here. ``fn`` must be a module-level function whose arguments pickle, and
        must give one answer per item whatever run it is given. When it raises in a
        worker, the batch is done again here, which raises the same error with its
        traceback."""
        with self._in_use():  # before ready(): the idle stop leaves a pool in use alone
            generation = self._ready(wait=False)
            if generation is None:
                return fn(*args, items)
            try:
                return self._on_workers(generation, fn, args, items)
            except WorkerGone as e:
                self._broken(generation, e)
                return fn(*args, items)
            except RunRaised:
                return fn(*args, items)

    def _runs(self, generation: _Generation, items: Sequence[T]) -> list[Sequence[T]]:
        """One run per worker, or runs of at most ``run_size`` (handed over one after
        another: what is sent and answered at a time stays small)."""
        runs = len(generation.workers)
        if self.run_size is not None:
            runs = max(runs, -(-len(items) // self.run_size))
        return split(items, runs)

    def _on_workers(
        self,
        generation: _Generation,
        fn: Callable[..., list[R]],
        args: tuple[Any, ...],
        items: Sequence[T],
    ) -> list[R]:
        runs = self._runs(generation, items)
        answers: list[list[R]] = [[] for _ in runs]
        held: dict[_Worker, int] = {}  # worker: the run it has
        try:
            for index, run in enumerate(runs):
                worker = self._take(generation, held, answers)
                held[worker] = index  # before sending: a failed send leaves it held
                worker.send((fn, args, run))
            while held:
                answered = self._answered(held, answers, None)
                assert answered is not None  # with no timeout, one has answered
                self._give_back(answered)
        except RunRaised:
            while held:  # the other runs' answers, read so that nobody else gets them
                try:
                    answered = self._answered(held, answers, None)
                except RunRaised:
                    continue  # that worker is given back already
                assert answered is not None
                self._give_back(answered)
            raise
        except WorkerGone:
            raise
        except BaseException as e:  # pickling, memory, an interrupt: the workers' state is
            self._broken(generation, e)  # unknown, so they are left
            raise
        with self.lock:
            self.handed += len(runs)
        return [answer for run in answers for answer in run]

    def _take(
        self, generation: _Generation, held: dict[_Worker, int], answers: list[list[R]]
    ) -> _Worker:
        """A worker for the next run: an idle one, or one of those this batch holds as soon
        as it has answered, whichever comes first. A batch waits for an idle one alone
        only when it holds none, so two batches never wait for each other."""
        while True:
            try:
                return generation.free.get_nowait()
            except queue.Empty:
                pass
            if held:
                worker = self._answered(held, answers, _LOOK_AGAIN_SECONDS)
                if worker is not None:
                    return worker
                continue
            try:
                return generation.free.get(timeout=1.0)
            except queue.Empty:
                if generation.left:
                    raise WorkerGone("the pool stopped") from None

    def _answered(
        self, held: dict[_Worker, int], answers: list[list[R]], timeout: float | None
    ) -> _Worker | None:
        """The first held worker to answer within ``timeout`` (None: however long it
        takes), its answer filed under its run; None when none has. A worker whose run
        raised is given back before :class:`RunRaised` goes on."""
        try:
            ready = connection_wait([w.answers for w in held], timeout)
        except (OSError, ValueError) as e:  # a pipe closed under us: the pool was left
            raise WorkerGone(str(e)) from e
        if not ready:
            return None
        worker = next(w for w in held if w.answers is ready[0])
        index = held.pop(worker)
        try:
            answers[index] = worker.receive()
        except RunRaised:
            self._give_back(worker)
            raise
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self.lock:
            if not worker.generation.left:
                worker.generation.free.put(worker)
                return
        worker.stop()  # the pool it belonged to was left meanwhile


def _serve(answers_fd: int) -> None:
    """A worker: answer each ``(function, arguments, run)`` read from standard input until
    it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.dup2(2, 1)  # a stray print goes to the log, never into the answers
    tasks = Connection(os.dup(0), writable=False)
    answers = Connection(answers_fd, readable=False)
    try:
        answers.send(("ok", os.getpid()))
    except OSError:
        return  # the owner stopped it before it ran
    while True:
        try:
            task = tasks.recv_bytes()
        except (EOFError, OSError):
            return  # the owner closed the input, or ended
        try:
            fn, args, run = pickle.loads(task)  # noqa: S301 - written by the owner, over its own pipe
            answer: tuple[str, Any] = ("ok", fn(*args, run))
        except Exception as e:  # the owner does the batch itself and sees the error there
            answer = ("raised", f"{type(e).__name__}: {e}")
        try:
            answers.send(answer)
        except OSError:
            return


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
