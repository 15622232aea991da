"""A node's link to the hub misbehaving: requests dropped, answers lost or cut, the hub
(or the proxy standing for a gateway) answering 5xx and 429, the link partitioned. The
office keeps working; once the link is good again every letter is delivered once."""

from __future__ import annotations

import time
from collections.abc import Callable

from faults.harness import RECIPIENTS, SENDER, finish_and_check
from scripts.faults.federation import FaultFederation
from scripts.faults.proxy import FaultPlan

Start = Callable[..., FaultFederation]
FLAKY_SEED = 20260611
FLAKY_REQUESTS = 45
"""Requests each link carries while flaky ("for a while")."""


def test_flaky_link_drops_a_third_of_requests_and_delivers_every_letter(
    start_federation: Start,
) -> None:
    fed = start_federation(seed=FLAKY_SEED)
    plan = FaultPlan(
        FaultPlan.flaky(0.3).rates, delay_seconds=(0.05, 0.3), partition_seconds=(0.2, 0.6)
    )
    for proxy in fed.proxies.values():
        proxy.set_plan(plan)
    sent = fed.send_letters(SENDER, RECIPIENTS, 12, attach_every=3, attachment_bytes=2500)
    answers = fed.send_letters(RECIPIENTS[0], (SENDER,), 3, label="ตอบ")

    deadline = time.monotonic() + 90
    failed_rounds = 0
    while any(p.requests_to() < FLAKY_REQUESTS for p in fed.proxies.values()):
        assert time.monotonic() < deadline, "the links carried too few requests"
        results = fed.sync_round()
        failed_rounds += sum(1 for r in results.values() if not r["ok"])
        fed.register_all()  # clerks keep working while the network is bad

    faults = fed.faults_injected()
    carried = sum(p.requests_to() for p in fed.proxies.values())
    assert failed_rounds > 0
    assert sum(faults.values()) >= 0.2 * carried, (faults, carried)
    assert len(faults) >= 6, faults
    finish_and_check(
        fed, {SENDER: sent, RECIPIENTS[0]: answers}, {SENDER: RECIPIENTS, RECIPIENTS[0]: (SENDER,)}
    )


def test_office_cut_off_by_a_partition_works_offline_and_catches_up(
    start_federation: Start,
) -> None:
    fed = start_federation()
    fed.proxies[SENDER].partition()
    sent = fed.send_letters(SENDER, RECIPIENTS, 4)
    assert not fed.sync(SENDER)["ok"]
    status = fed.status(SENDER)
    assert (status["online"], status["outbox"]) == (False, 8)

    # The other offices go on among themselves meanwhile.
    between = fed.send_letters(RECIPIENTS[0], (RECIPIENTS[1],), 2, label="ระหว่างขาดการติดต่อ")
    fed.sync_round(RECIPIENTS)
    fed.sync_round(RECIPIENTS)
    assert len(fed.incoming(RECIPIENTS[1])) == 2

    fed.proxies[SENDER].heal()
    finish_and_check(
        fed,
        {SENDER: sent, RECIPIENTS[0]: between},
        {SENDER: RECIPIENTS, RECIPIENTS[0]: (RECIPIENTS[1],)},
    )
    assert fed.status(SENDER)["online"]


def test_a_letter_whose_attachment_has_not_arrived_waits_while_the_clerk_registers_the_rest(
    start_federation: Start,
) -> None:
    receiver = RECIPIENTS[0]
    fed = start_federation((SENDER, receiver))
    sent = fed.send_letters(SENDER, (receiver,), 3, attach_every=2)  # the first and third
    assert fed.sync(SENDER)["ok"]
    fed.proxies[receiver].set_plan(FaultPlan({"drop": 1.0}, paths=("/blobs/",)))
    fed.sync(receiver)  # the letters arrive, their attachments do not
    assert [s for _, _, s in fed.incoming(receiver)] == ["delivered"] * 3

    assert fed.register_all([receiver]) == 1  # the clerk registers the one without
    assert [s for _, _, s in fed.incoming(receiver)] == ["delivered", "registered", "delivered"]
    finish_and_check(fed, {SENDER: sent}, {SENDER: (receiver,)})
