"""Two hub processes on one database behind a load balancer (ADR 0025): each office's link
sends its requests to the two processes in turn, as any round-robin balancer would, and
to the other when one refuses connections. Nothing is lost, doubled or numbered twice,
whichever process each push, pull and lease request reaches, and a process killed in the
middle of a push costs the offices one retry."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from faults.harness import RECIPIENTS, SENDER, finish_and_check, send_circulars
from hub.jobs import PORTAL_INDEX_JOB
from scripts.faults.federation import FaultFederation
from scripts.nodeapi import NodeAPIError

Start = Callable[..., FaultFederation]
READER = RECIPIENTS[1]


def test_two_hub_processes_on_one_database_lose_double_and_renumber_nothing(
    start_federation: Start,
) -> None:
    holder = RECIPIENTS[0]
    fed = start_federation(
        hub_processes=2,
        # Two numbers a lease: the leases of the shared register are asked for again and
        # again, of both processes.
        node_env={"SARABAN_NODE_LEASE_SIZE": "2"},
        shared=[(SENDER, "ว", (SENDER, holder))],
    )
    fed.sync_round()
    done = threading.Event()

    def keep_syncing() -> int:
        rounds = 0
        while not done.is_set() or rounds < 2:
            fed.sync_round()
            rounds += 1
        return rounds

    with ThreadPoolExecutor(max_workers=4) as pool:
        syncing = pool.submit(keep_syncing)
        ordinary = pool.submit(fed.send_letters, SENDER, (READER,), 10)
        theirs = pool.submit(send_circulars, fed, SENDER, 6)
        mine = pool.submit(send_circulars, fed, holder, 6)
        sent = {SENDER: {**ordinary.result(), **theirs.result()}, holder: mine.result()}
        done.set()
        assert syncing.result() >= 2

    report = finish_and_check(fed, sent, {SENDER: (READER,), holder: (READER,)})
    assert report["letters"] == 22

    for office, proxy in fed.proxies.items():  # each office reached both processes
        assert set(proxy.answered_by) == set(fed.hub_ports), (office, proxy.answered_by)
    from hub.admin.reports import numbering_report

    shared = [r for r in numbering_report(fed.hub_dir) if "|ว|" in r["register"]]
    assert [(r["duplicates"], r["gaps"], r["provisional_pending"]) for r in shared] == [(0, [], 0)]
    serving = {p for (p,) in fed.hub_rows("SELECT id FROM hub_processes")}
    assert len(serving) == 2
    # The portal's index job, every second, is run by one process or the other each time.
    claimed = dict(fed.hub_rows("SELECT job, process FROM job_runs"))
    assert claimed[PORTAL_INDEX_JOB] in serving


def test_a_hub_process_killed_mid_push_costs_the_office_one_retry(
    start_federation: Start,
) -> None:
    fed = start_federation(hub_processes=2, hub_crash_at="hub_push_committed:1")
    sent = fed.send_letters(SENDER, RECIPIENTS, 12)  # three pushes of ten, in turn
    try:
        fed.sync(SENDER)
    except NodeAPIError:
        pass  # the answer of the push the first process committed never came
    first = fed.hubs[0]
    assert first is not None
    fed.wait_for_crash(first, "hub_push_committed")

    again = fed.sync(SENDER)  # the balancer finds the second process alone
    assert again["ok"], again["error"]
    letters = "SELECT COUNT(*) FROM feed WHERE origin = ? AND kind = 'letter'"
    assert fed.hub_count(letters, (SENDER,)) == 12

    fed.start_hub(index=0)
    before = fed.proxies[SENDER].answered_by[fed.hub_ports[0]]
    finish_and_check(fed, {SENDER: sent}, {SENDER: RECIPIENTS})
    assert fed.proxies[SENDER].answered_by[fed.hub_ports[0]] > before
