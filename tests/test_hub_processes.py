"""Several hub processes on one database (ADR 0025), each an app of the same hub instance
in this process: whether a process knows it serves alone, the scheduled jobs run once
across the processes, and an office's rate limit and the portal's per-address limit are
the same whichever process answers.

The same with real processes behind a load balancer is
``tests/faults/test_hub_processes.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_hub_support import METRICS_TOKEN, Hub, Office

from hub.app import create_app
from hub.jobs import (
    ALERTS_JOB,
    RECONCILE_JOB,
    build_scheduler,
    every,
    heartbeat,
    leave,
    once_across_processes,
)
from hub.processes import LOOKUP_SECONDS, STALE_SECONDS, HubProcesses

LIMITS = {"RATE_PUSH_PER_SECOND": 1, "RATE_BURST_SECONDS": 3}


def second_process(hub: Hub, **config: object) -> Flask:
    """Another process of the same hub: an app of its instance, its own memory."""
    return create_app(
        {"CLOCK": hub.clock, "METRICS_TOKEN": METRICS_TOKEN, **config},
        instance_path=hub.instance,
    )


def push_through(hub: Hub, app: Flask, office: Office) -> int:
    """One letter pushed by ``office`` to the process ``app``; the answer's status."""
    hub.client = app.test_client()
    return office.push(office.letter([CHIANG_RAI])).status


def test_a_process_knows_whether_it_serves_alone(tmp_path: Path, clock: Clock) -> None:
    hub = Hub(tmp_path, clock)
    mine, theirs = HubProcesses(clock), HubProcesses(clock)
    with hub.store() as store:
        assert mine.beat(store) == 1
        assert not mine.several(store)
        assert theirs.beat(store) == 2
        assert not mine.several(store)  # what it read a moment ago holds a few seconds
        clock.advance(LOOKUP_SECONDS)
        assert mine.several(store)

        theirs.leave(store)  # a clean stop
        clock.advance(LOOKUP_SECONDS)
        assert not mine.several(store)

        assert theirs.beat(store) == 2
        clock.advance(STALE_SECONDS + 1)  # the other died without a word
        assert mine.beat(store) == 1
        assert [p["id"] for p in store.live_processes(0)] == [mine.id]


def test_each_slot_of_a_job_runs_in_one_process(tmp_path: Path, clock: Clock) -> None:
    hub = Hub(tmp_path, clock)
    other = second_process(hub)
    runs: list[str] = []

    def noting(name: str) -> Callable[[Flask], None]:
        return lambda _app: runs.append(name)

    jobs = {
        name: once_across_processes(app, ALERTS_JOB, every(60), noting(name))
        for name, app in (("first", hub.app), ("second", other))
    }
    jobs["second"]()
    jobs["first"]()
    assert runs == ["second"]
    clock.advance(60)
    jobs["first"]()
    jobs["second"]()
    assert runs == ["second", "first"]
    with hub.store() as store:
        claimed = {r["job"]: r["process"] for r in store.job_runs()}
    assert claimed == {ALERTS_JOB: hub.app.extensions["saraban_processes"].id}


def test_the_nightly_report_is_made_once_by_two_processes(tmp_path: Path, clock: Clock) -> None:
    hub = Hub(tmp_path, clock)
    other = second_process(hub)
    reports = [
        build_scheduler(app).get_job(RECONCILE_JOB).func() for app in (hub.app, other, hub.app)
    ]
    assert reports[0] is not None and reports[1:] == [None, None]
    assert hub.count("numbering_reports") == 1


def test_an_offices_rate_limit_holds_across_the_processes(tmp_path: Path, clock: Clock) -> None:
    hub = Hub(tmp_path, clock, **LIMITS)
    other = second_process(hub, **LIMITS)
    cm = hub.office(CHIANG_MAI)
    hub.office(CHIANG_RAI)
    for app in (hub.app, other, hub.app):  # each has read that the other serves
        heartbeat(app)
    # Three seconds' worth in all, whichever process each push reaches.
    statuses = [push_through(hub, app, cm) for app in (hub.app, other, hub.app, other)]
    assert statuses == [200, 200, 200, 429]
    assert hub.count("feed") == 3
    clock.advance(1)
    assert push_through(hub, hub.app, cm) == 200

    leave(other)  # alone again: the process counts in its memory, writing nothing
    with hub.store() as store:
        held = store.rate_bucket(CHIANG_MAI, "push")
    clock.advance(LOOKUP_SECONDS + 3)
    assert [push_through(hub, hub.app, cm) for _ in range(4)] == [200, 200, 200, 429]
    with hub.store() as store:
        assert store.rate_bucket(CHIANG_MAI, "push") == held


@pytest.mark.parametrize("several", [False, True])
def test_one_process_alone_counts_an_offices_requests_in_its_memory(
    tmp_path: Path, clock: Clock, several: bool
) -> None:
    hub = Hub(tmp_path, clock, **LIMITS)
    other = second_process(hub, **LIMITS)
    cm = hub.office(CHIANG_MAI)
    hub.office(CHIANG_RAI)
    heartbeat(hub.app)
    if several:
        heartbeat(other)
        heartbeat(hub.app)
    statuses = [push_through(hub, app, cm) for app in (hub.app, other) * 3]
    # Alone, each process keeps its own bucket (the second never counts as serving here):
    # three each. Several: three in all.
    assert statuses.count(200) == (3 if several else 6)
    with hub.store() as store:
        assert (store.rate_bucket(CHIANG_MAI, "push") is not None) is several
