"""The fault scenarios too long for ``make test`` (marked ``soak``, run by
``make soak-scenarios``): every crash point on a later pass, with traffic going on around
it; flaky links for a long while with processes killed at random; and a served node's own
scheduler overlapping clerks' syncs for minutes."""

from __future__ import annotations

import random
import threading
import time
import zlib
from collections.abc import Callable

import pytest

from faults.harness import OFFICES, RECIPIENTS, SENDER, assert_tracking_registered, assert_whole
from scripts.faults.federation import FaultFederation, read_rows, wait_for
from scripts.faults.proxy import FaultPlan
from scripts.fleet import Service
from scripts.nodeapi import NodeAPIError

Start = Callable[..., FaultFederation]
pytestmark = [pytest.mark.soak, pytest.mark.timeout(900)]


def busy_day(
    fed: FaultFederation, rng: random.Random, until: Callable[[dict[str, str]], bool]
) -> dict[str, str]:
    """Clerks send, sync and register at random until ``until(sent)``; the letters they saw
    sent (``{env_id: sender}``). A dead node or hub only refuses the clerk."""
    sent: dict[str, str] = {}
    deadline = time.monotonic() + 300
    while not until(sent):
        assert time.monotonic() < deadline, "the day never reached its end"
        office = rng.choice(fed.offices)
        try:
            roll = rng.random()
            if roll < 0.4:
                others = [o for o in fed.offices if o != office]
                for env_id in fed.send_letters(
                    office,
                    rng.sample(others, rng.randint(1, len(others))),
                    1,
                    attach_every=rng.choice((0, 1)),
                    attachment_bytes=rng.randint(500, 6000),
                ).values():
                    sent[env_id] = office
            elif roll < 0.8:
                fed.sync(office)
            else:
                fed.register_all([office])
        except NodeAPIError:
            pass
    return sent


def assert_day_whole(fed: FaultFederation, sent: dict[str, str]) -> None:
    report = fed.finish_day()
    at_hub = {e for (e,) in fed.hub_rows("SELECT env_id FROM feed")}
    assert set(sent) <= at_hub, "a letter a clerk saw sent never reached the hub"
    deliveries = report["deliveries_expected"]
    assert_whole(report, letters=report["letters"], deliveries=deliveries)
    assert report["letters"] >= len(sent)
    for office in fed.offices:
        out = read_rows(
            fed.node_db(office), "SELECT id, env_id FROM letters WHERE direction = 'out'"
        )
        assert_tracking_registered(fed, office, dict(out))


LATER_PASSES = {
    "hub after its 6th push": ("hub", "hub_push_committed:6"),
    "sender after its 7th chunk": (SENDER, "node_blob_mid_upload:7"),
    "recipient mid-way through its 3rd batch": (RECIPIENTS[0], "node_pull_mid_batch:23"),
    "sender numbering its 9th letter": (SENDER, "node_number_before_envelope:9"),
    "recipient numbering its 5th เลขรับ": (RECIPIENTS[1], "node_number_before_envelope:5"),
}


@pytest.mark.parametrize(("victim", "spec"), LATER_PASSES.values(), ids=LATER_PASSES.keys())
def test_every_crash_point_on_a_later_pass_amid_traffic_loses_nothing(
    start_federation: Start, victim: str, spec: str
) -> None:
    fed = start_federation(
        seed=zlib.crc32(spec.encode()),
        node_env={"SARABAN_NODE_CHUNK_BYTES": "1000"},
        hub_crash_at=spec if victim == "hub" else None,
        node_crash_at={victim: spec} if victim != "hub" else None,
    )

    def service() -> Service:
        process = fed.hub if victim == "hub" else fed.nodes[victim]
        assert process is not None
        return process

    sent = busy_day(fed, random.Random(spec), lambda _: service().proc.poll() is not None)
    fed.wait_for_crash(service(), spec)
    if victim == "hub":
        fed.start_hub()
    else:
        fed.start_node(victim)
    sent.update(busy_day(fed, random.Random(spec + "after"), lambda more: len(more) >= 20))
    assert_day_whole(fed, sent)


def test_flaky_links_for_a_long_while_with_processes_killed_deliver_every_letter(
    start_federation: Start,
) -> None:
    offices = (*OFFICES, "อด 0017", "พล 0017")
    fed = start_federation(offices, seed=7)
    plan = FaultPlan(FaultPlan.flaky(0.3).rates, partition_seconds=(0.5, 3.0))
    for proxy in fed.proxies.values():
        proxy.set_plan(plan)
    rng = random.Random(7)
    stop = threading.Event()

    def chaos() -> None:
        while not stop.wait(rng.uniform(2.0, 5.0)):  # the chaos's pace: nothing to wait for
            victim = rng.choice((*offices, "hub"))
            if victim == "hub":
                fed.kill_hub()
                fed.start_hub()
            else:
                fed.kill_node(victim)
                fed.start_node(victim)

    killer = threading.Thread(target=chaos, daemon=True)
    killer.start()
    carried = lambda: min(p.requests_to() for p in fed.proxies.values())  # noqa: E731
    try:
        sent = busy_day(fed, random.Random(8), lambda _: carried() >= 300)
    finally:
        stop.set()
        killer.join(timeout=120)
    for office in offices:
        if fed.nodes[office].proc.poll() is not None:
            fed.start_node(office)
    assert sum(fed.faults_injected().values()) >= 300
    assert_day_whole(fed, sent)


def test_served_nodes_own_scheduler_overlapping_clerks_syncs_sends_once(
    start_federation: Start,
) -> None:
    fed = start_federation(node_env={"SARABAN_NODE_SYNC_INTERVAL_MINUTES": "1"})
    slow = FaultPlan({"delay": 1.0}, paths=("/push", "/pull"), delay_seconds=(0.05, 0.3))
    fed.proxies[SENDER].set_plan(slow)
    manual = 0
    stop = threading.Event()
    sent: dict[str, str] = {}

    def rounds() -> int:
        events = "('sync_ok', 'sync_partial', 'sync_failed')"
        return fed.node_count(SENDER, f"SELECT COUNT(*) FROM sync_log WHERE event IN {events}")

    def clerk() -> None:
        nonlocal manual
        while not stop.is_set():
            for env_id in fed.send_letters(SENDER, RECIPIENTS, 2).values():
                sent[env_id] = SENDER
            fed.sync(SENDER)
            manual += 1

    clerks = [threading.Thread(target=clerk, daemon=True) for _ in range(2)]
    for c in clerks:
        c.start()
    try:
        wait_for(
            "the scheduler synced twice beside the clerks", lambda: rounds() - manual >= 2, 200
        )
    finally:
        stop.set()
        for c in clerks:
            c.join(timeout=120)
    assert_day_whole(fed, sent)
    pushes = fed.hub_rows(
        "SELECT COALESCE(SUM(accepted), 0), COALESCE(SUM(duplicate), 0) FROM sync_sessions "
        "WHERE office = ? AND kind = 'push'",
        (SENDER,),
    )[0]
    held = fed.hub_count("SELECT COUNT(*) FROM feed WHERE origin = ?", (SENDER,))
    assert pushes == (held, 0)  # each envelope pushed once: never a second time
