"""Rate limits per office: 429 with Retry-After and a JSON reason beyond them, nothing
stored, the next request on time served; each office and each family of requests counted
apart; only a request whose signature verified spends an office's allowance.

Attacks covered: one office hammering the hub with pushes, and a stranger sending requests
in another office's name to use up that office's allowance.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_hub_support import METRICS_AUTH, Answer, Hub, Office
from test_node_support import Federation

from hub.federation.ratelimit import RateLimits
from protocol.api import WATCH_HEADER
from protocol.keys import Signer

LIMITS = {
    "RATE_PUSH_PER_SECOND": 1,
    "RATE_PULL_PER_SECOND": 1,
    "RATE_WATCH_PER_SECOND": 1,
    "RATE_BURST_SECONDS": 3,
}


@pytest.fixture
def hub(tmp_path: Path, clock: Clock) -> Hub:
    return Hub(tmp_path, clock, **LIMITS)


def push_letter(office: Office) -> Answer:
    return office.push(office.letter([CHIANG_RAI]))


def assert_rate_limited(answer: Answer, retry_after: int) -> None:
    assert answer.status == 429, answer.body
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Retry-After"] == str(retry_after)
    assert answer.json["error"] == "rate_limited"
    assert answer.json["retry_after"] == retry_after
    assert "a second" in answer.json["reason"]


def test_an_office_pushing_too_often_gets_429_and_nothing_is_stored(hub: Hub, clock: Clock) -> None:
    cm = hub.office(CHIANG_MAI)
    for _ in range(3):  # the burst: three seconds' worth
        assert push_letter(cm).status == 200
    assert hub.count("feed") == 3
    letter = cm.letter([CHIANG_RAI])
    assert_rate_limited(cm.push(letter), 1)
    assert hub.count("feed") == 3
    assert hub.count("quarantine") == 0

    clock.advance(1)  # as long as Retry-After said: the same letter is taken
    assert cm.push_ok(letter)[0]["status"] == "accepted"
    assert hub.count("feed") == 4


def test_one_offices_limit_is_not_anothers(hub: Hub) -> None:
    cm, cr = hub.office(CHIANG_MAI), hub.office(CHIANG_RAI)
    for _ in range(3):
        push_letter(cm)
    assert push_letter(cm).status == 429
    assert cr.push(cr.letter([CHIANG_MAI])).status == 200
    assert cm.pull().status == 200  # pulls are a family of their own


def test_requests_in_an_offices_name_without_its_key_spend_nothing(hub: Hub) -> None:
    cm = hub.office(CHIANG_MAI)
    stranger = Signer.generate(CHIANG_MAI, 1)  # claims ชม's key id, signs with another key
    for _ in range(10):
        forged = cm.request("POST", "/push", {"envelopes": [{}]}, signer=stranger)
        assert forged.status == 401
    for _ in range(3):
        assert push_letter(cm).status == 200


def test_the_wake_up_check_has_its_own_limit(hub: Hub, clock: Clock) -> None:
    cm = hub.office(CHIANG_MAI)
    token = cm.pull().json["watch"]["token"]
    for _ in range(3):
        push_letter(cm)
    assert push_letter(cm).status == 429
    watched = [hub.send("GET", "/api/v1/watch", headers={WATCH_HEADER: token}) for _ in range(4)]
    assert [a.status for a in watched[:3]] == [200, 200, 200]
    assert_rate_limited(watched[3], 1)
    clock.advance(1)
    assert hub.send("GET", "/api/v1/watch", headers={WATCH_HEADER: token}).status == 200


def test_refusals_are_counted_in_metrics(hub: Hub) -> None:
    cm = hub.office(CHIANG_MAI)
    for _ in range(5):
        push_letter(cm)
    answer = hub.send("GET", "/metrics", headers=METRICS_AUTH)
    counted = {
        (s.labels["office"], s.labels["family"]): s.value
        for family in text_string_to_metric_families(answer.body.decode("utf-8"))
        for s in family.samples
        if s.name == "saraban_hub_rate_limited_total"
    }
    assert counted == {(CHIANG_MAI, "push"): 2}


def test_the_default_limits_serve_a_busy_office(tmp_path: Path, clock: Clock) -> None:
    hub = Hub(tmp_path, clock, MAX_INFLIGHT=1000)
    cm = hub.office(CHIANG_MAI)
    for _ in range(100):  # at one instant: far more than a node catching up pushes
        assert push_letter(cm).status == 200
    for _ in range(20):  # and a round's other requests besides
        assert cm.pull().status == 200
        assert cm.request("POST", "/heartbeat", {}).status == 200


def test_a_node_told_429_waits_as_long_as_the_hub_asked(fed: Federation) -> None:
    node = fed.node(CHIANG_MAI)
    assert node.sync().ok
    # One push per 100 s: the round after the first is refused.
    fed.hub_app.extensions["saraban_rate_limits"] = RateLimits({"push": 0.01}, 1)
    node.send(recipients=[CHIANG_RAI])
    assert node.sync().ok
    node.send(recipients=[CHIANG_RAI])
    refused = node.sync()
    assert not refused.ok and refused.error is not None
    assert "a second" in refused.error  # the hub's reason
    assert refused.next_attempt is not None
    assert refused.next_attempt >= fed.clock() + 100
    fed.clock.advance(100)
    assert node.sync().ok
