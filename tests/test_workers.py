"""Worker processes for pure functions (:mod:`protocol.workers`): answers in order from
real worker processes, two batches at once on one worker, an error raised where the
caller sees it, a dead worker costing only time, and an idle pool leaving no process."""

from __future__ import annotations

import logging
import os
import pickle
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.workers import WorkerPool, available_cores, split

log = logging.getLogger("test_workers")

pytestmark = pytest.mark.skipif(available_cores() < 2, reason="one core: no worker processes")


def make_pool(workers: int = 1, **options: float | int | None) -> WorkerPool:
    return WorkerPool(lambda: workers, log, "worker stopped (%s)", "gave up after %d", **options)  # type: ignore[arg-type]


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    made = make_pool(run_size=3)
    assert made.ready(wait=True), "the worker did not start"
    try:
        yield made
    finally:
        made.stop()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def await_exit(pid: int) -> None:
    deadline = time.monotonic() + 30
    while alive(pid):
        assert time.monotonic() < deadline, f"worker {pid} did not end"
        time.sleep(0.05)  # polling a real process for its exit


def test_split_keeps_order_and_sizes_within_one() -> None:
    runs = split(list(range(10)), 3)
    assert [list(r) for r in runs] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert split([1], 4) == [[1]]


def test_runs_are_answered_by_the_worker_in_order(pool: WorkerPool) -> None:
    items = [f"เรื่อง {i}" for i in range(10)]
    assert pool.map_runs(list, (), items) == items
    assert pool.handed == 4  # runs of at most three
    (pid,) = pool.pids()
    assert pid != os.getpid() and alive(pid)


def test_two_batches_at_once_on_one_worker_both_finish(pool: WorkerPool) -> None:
    answers: dict[int, list[int]] = {}

    def run(n: int) -> None:
        answers[n] = pool.map_runs(list, (), list(range(n * 100, n * 100 + 50)))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert answers == {n: list(range(n * 100, n * 100 + 50)) for n in range(4)}


def test_batches_sent_while_the_workers_start_are_answered_right() -> None:
    starting = make_pool(workers=2, run_size=2)
    wrong: list[tuple[int, list[int]]] = []
    deadline = time.monotonic() + 30

    def run(n: int) -> None:
        # Batches from the first moment (done here while the workers start) until the
        # workers have answered a good many.
        while starting.handed < 40 and time.monotonic() < deadline:
            answer = starting.map_runs(list, (), list(range(n, n + 9)))
            if answer != list(range(n, n + 9)):
                wrong.append((n, answer))

    try:
        threads = [threading.Thread(target=run, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=40)
        assert not [t for t in threads if t.is_alive()], "a batch never got its answer"
        assert wrong == []
        assert starting.handed >= 40, "the workers did not take the batches over"
    finally:
        starting.stop()


def test_an_error_in_the_function_is_raised_to_the_caller_and_the_worker_stays(
    pool: WorkerPool, caplog: pytest.LogCaptureFixture
) -> None:
    (pid,) = pool.pids()
    with caplog.at_level(logging.WARNING, logger=log.name), pytest.raises(TypeError):
        pool.map_runs(int, (), [[1], [2], [3], [4]])  # int() of a list: raises there, then here
    assert pool.pids() == [pid] and not caplog.records
    handed = pool.handed
    assert pool.map_runs(list, (), [1, 2, 3, 4]) == [1, 2, 3, 4]
    assert pool.handed == handed + 2, "the next batch was not answered by the worker"


def test_an_argument_that_does_not_pickle_leaves_the_pool_able_to_go_on(pool: WorkerPool) -> None:
    with pytest.raises((AttributeError, TypeError, pickle.PicklingError)):
        pool.map_runs(list, (lambda: None,), [1, 2])  # type: ignore[arg-type]
    assert pool.map_runs(list, (), [5, 6, 7]) == [5, 6, 7]  # here, then on new workers
    assert pool.ready(wait=True)
    handed = pool.handed
    assert pool.map_runs(list, (), [8, 9]) == [8, 9]
    assert pool.handed == handed + 1


def test_a_killed_worker_costs_one_batch_done_here_and_is_logged_once(
    pool: WorkerPool, caplog: pytest.LogCaptureFixture
) -> None:
    (pid,) = pool.pids()
    os.kill(pid, signal.SIGKILL)
    await_exit(pid)
    with caplog.at_level(logging.WARNING, logger=log.name):
        assert pool.map_runs(list, (), [1, 2, 3, 4]) == [1, 2, 3, 4]
        assert pool.map_runs(list, (), [5, 6]) == [5, 6]
    assert [r.getMessage() for r in caplog.records if r.name == log.name] == [
        "worker stopped (WorkerGone)"
    ]
    assert pool.ready(wait=True), "a new worker starts after the dead one"
    assert pool.pids() != [pid]


def test_an_idle_pool_ends_its_worker_and_starts_one_again_when_needed() -> None:
    idle = make_pool(idle_seconds=0.2)
    try:
        assert idle.ready(wait=True)
        (pid,) = idle.pids()
        assert idle.map_runs(list, (), ["ก"]) == ["ก"]
        await_exit(pid)
        assert idle.pids() == []
        assert idle.map_runs(list, (), ["ข"]) == ["ข"]  # here while a new one starts
        assert idle.ready(wait=True) and idle.pids() != [pid]
    finally:
        idle.stop()


def test_waiting_for_workers_that_start_slower_than_the_idle_stop_still_gets_them() -> None:
    # A worker takes far longer than a millisecond to start: the idle stop must not end
    # the workers a caller is waiting for (a loaded machine took longer than 0.2 s).
    idle = make_pool(idle_seconds=0.001)
    try:
        assert idle.ready(wait=True), "the idle stop ended the workers being waited for"
    finally:
        idle.stop()


def test_a_pool_of_no_workers_does_everything_here() -> None:
    none = make_pool(workers=0)
    assert not none.ready(wait=True)
    assert none.map_runs(list, (), [1, 2]) == [1, 2]
    assert none.pids() == [] and none.handed == 0
