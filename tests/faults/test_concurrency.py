"""Two things at once: the scheduler's sync running while clerks sync by hand (in the same
process and from other processes on the same folder), and an office that holds a lease of
a shared register killed while it numbers letters from it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent

from faults.harness import RECIPIENTS, SENDER, finish_and_check, send_circulars
from node.context import NodeContext
from node.sync.jobs import SYNC_JOB, build_scheduler
from node.sync.worker import sync_once
from scripts.faults.federation import FaultFederation, wait_for
from scripts.faults.proxy import FaultPlan
from scripts.nodeapi import NodeAPIError

Start = Callable[..., FaultFederation]


def test_scheduler_overlapping_a_manual_sync_sends_once(start_federation: Start) -> None:
    fed = start_federation()
    sent = fed.send_letters(SENDER, RECIPIENTS, 12, attach_every=4, attachment_bytes=2500)
    # Every push and upload is a little late, so the syncs pile up on one another.
    slow = FaultPlan({"delay": 1.0}, paths=("/push", "/blobs/"), delay_seconds=(0.05, 0.2))
    fed.proxies[SENDER].set_plan(slow)

    ctx = NodeContext.load(fed.instance(SENDER))
    scheduler = build_scheduler(ctx)
    runs: list[tuple[float, str]] = []

    def listen(event: JobExecutionEvent) -> None:
        if event.job_id == SYNC_JOB:
            runs.append((time.monotonic(), "error" if event.exception else "ok"))

    scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start()
    manual: list[dict[str, Any]] = []
    stop = threading.Event()

    def nudge_scheduler() -> None:
        while not stop.is_set() and len(runs) < 4:
            before = len(runs)
            scheduler.modify_job(SYNC_JOB, next_run_time=datetime.now(UTC))
            wait_for(
                "the scheduler's sync ran",
                lambda before=before: len(runs) > before or stop.is_set(),
            )

    def overlapping(rounds: int) -> bool:
        # Go on syncing by hand until the scheduler has run at least twice meanwhile, so
        # the overlap the test is about really happened, however fast each round is.
        return rounds < 3 or (len(runs) < 2 and time.monotonic() < started + 90)

    def served_node() -> None:
        rounds = 0
        while overlapping(rounds):
            manual.append(fed.sync(SENDER))
            rounds += 1

    def in_process() -> None:
        rounds = 0
        while overlapping(rounds):
            manual.append(sync_once(ctx).to_json())
            rounds += 1

    def command_line() -> None:
        argv = ["node", "sync", "--instance", str(fed.instance(SENDER)), "--json"]
        done = subprocess.run(
            [sys.executable, "-m", "scripts.cli.main", *argv],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            nudging = pool.submit(nudge_scheduler)
            hands = [pool.submit(f) for f in (served_node, in_process, command_line)]
            for f in hands:
                f.result()
            ended = time.monotonic()
            stop.set()
            nudging.result()
    finally:
        scheduler.shutdown(wait=True)

    assert sum(1 for at, _ in runs if started <= at <= ended) >= 2, runs
    assert {outcome for _, outcome in runs} == {"ok"}
    assert all(r["ok"] for r in manual), [r["error"] for r in manual if not r["ok"]]
    accepted = fed.hub_rows(
        "SELECT COALESCE(SUM(accepted), 0) FROM sync_sessions WHERE office = ? AND kind = 'push'",
        (SENDER,),
    )[0][0]
    assert accepted == 24  # twelve letters and their numbers, each accepted once
    finish_and_check(fed, {SENDER: sent}, {SENDER: RECIPIENTS})


def test_lease_holder_killed_mid_lease_issues_no_number_twice(start_federation: Start) -> None:
    holder, other = RECIPIENTS[0], SENDER
    fed = start_federation(
        node_env={"SARABAN_NODE_LEASE_SIZE": "4"},
        shared=[(SENDER, "ว", (SENDER, holder))],
        node_crash_at={holder: "node_number_before_envelope:3"},
    )
    rounds = fed.sync_round()
    assert all(r["ok"] and r["leases"] for o, r in rounds.items() if o in (holder, other))

    first = send_circulars(fed, holder, 2)
    try:
        send_circulars(fed, holder, 1)
    except NodeAPIError:
        pass
    else:
        raise AssertionError("the third number did not kill the lease holder")
    fed.wait_for_crash(fed.nodes[holder], "node_number_before_envelope")

    fed.start_node(holder)
    with ThreadPoolExecutor(max_workers=2) as pool:
        later = pool.submit(send_circulars, fed, holder, 5)  # two leased, three provisional
        theirs = pool.submit(send_circulars, fed, other, 3)
        mine = {**first, **later.result()}
        others = theirs.result()
    provisional = fed.node_count(
        holder, "SELECT COUNT(*) FROM register_entries WHERE provisional_id IS NOT NULL"
    )
    assert provisional == 3

    report = finish_and_check(
        fed, {holder: mine, other: others}, {holder: (RECIPIENTS[1],), other: (RECIPIENTS[1],)}
    )
    assert report["numbers_issued"] == 20  # ten circular numbers and ten เลขรับ
    from hub.admin.reports import numbering_report

    shared = [r for r in numbering_report(fed.hub_dir) if "|ว|" in r["register"]]
    assert [(r["duplicates"], r["gaps"], r["provisional_pending"]) for r in shared] == [(0, [], 0)]


def test_office_reserving_a_shared_number_offline_after_its_lease_ran_out_is_not_stalled(
    start_federation: Start,
) -> None:
    holder = RECIPIENTS[0]
    fed = start_federation(
        node_env={"SARABAN_NODE_LEASE_SIZE": "2"}, shared=[(SENDER, "ว", (SENDER, holder))]
    )
    fed.sync_round()
    fed.proxies[holder].partition()
    sent = send_circulars(fed, holder, 2)  # the lease's two numbers
    reserved = fed.api(holder).call(
        "POST", "/api/registers/ว/reserve", {"reason": "จองไว้สำหรับหนังสือเวียนด่วน"}
    )
    assert reserved["provisional"]
    fed.proxies[holder].heal()
    finish_and_check(fed, {holder: sent}, {holder: (RECIPIENTS[1],)})
