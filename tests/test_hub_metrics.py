"""/metrics: the Prometheus text format parses, and its numbers are the hub's own records."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock
from test_hub_support import METRICS_AUTH, Answer, Hub

OWN = f"{CHIANG_MAI}|ส่ง|2569"
TOKEN = "scrape-ฝ่ายเฝ้าระวัง-2569"


Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


def scrape(hub: Hub, headers: dict[str, str] | None = None) -> Samples:
    """Every sample of /metrics: name -> sorted labels -> value."""
    answer = hub.send("GET", "/metrics", headers=METRICS_AUTH if headers is None else headers)
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.body.decode("utf-8")):
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return samples


def by(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {dict(labels)[label]: value for labels, value in samples.get(name, {}).items()}


def nonzero(values: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in values.items() if v}


def statuses(results: list[dict[str, Any]]) -> Counter[tuple[str, str | None]]:
    return Counter((r["status"], r["reason"]) for r in results)


def test_metrics_parse_and_count_what_the_hub_recorded(hub: Hub, clock: Clock) -> None:
    cm, cr = hub.office(CHIANG_MAI), hub.office(CHIANG_RAI)
    hub.office(KHON_KAEN)  # enrolled, never heard from
    results: list[dict[str, Any]] = []
    letter = cm.letter([CHIANG_RAI])
    results += cm.push_ok(letter, cm.register_entry(OWN, 1), cm.register_entry(OWN, 3))
    results += cm.push_ok(letter)  # pushed again: a duplicate, stored once
    results += cm.push_ok(cm.register_entry(OWN, 1))  # refused: number already issued
    stranger = cr.push({**cm.letter([CHIANG_RAI], advance=False).to_wire()})  # not its feed
    results += stranger.json["results"]
    pushes = 4
    cr.pull_all()
    cr.pull(cr.cursor)  # confirms what it pulled
    pulls = 2
    cm.request("POST", "/heartbeat", {"outbox": 7})
    clock.advance(90)

    samples = scrape(hub)

    outcome = statuses(results)
    assert outcome[("accepted", None)] == 3
    assert outcome[("duplicate", None)] == 1
    accepted = nonzero(by(samples, "saraban_hub_envelopes_accepted_total", "kind"))
    assert accepted == {"letter": 1, "register": 2}
    rejected = nonzero(by(samples, "saraban_hub_envelopes_rejected_total", "reason"))
    assert rejected == {"duplicate_number": 1, "not_your_feed": 1}
    assert samples["saraban_hub_envelopes_duplicate_total"][()] == 1
    with hub.store() as s:
        feed_kinds = Counter(r["kind"] for o in (CHIANG_MAI, CHIANG_RAI) for r in _feed(s, o))
        quarantine_reasons = Counter(q["reason"] for q in s.quarantined(None))
        backlogs = s.mailbox_backlogs()
        open_alerts = Counter(a["kind"] for a in s.alerts("open"))
    assert accepted == dict(feed_kinds)
    assert rejected == dict(quarantine_reasons)
    assert by(samples, "saraban_hub_mailbox_backlog", "office") == backlogs
    assert nonzero(by(samples, "saraban_hub_alerts_open", "kind")) == dict(open_alerts)

    assert samples["saraban_hub_push_seconds_count"][()] == pushes
    assert samples["saraban_hub_pull_seconds_count"][()] == pulls
    assert samples["saraban_hub_push_seconds_bucket"][(("le", "+Inf"),)] == pushes

    assert by(samples, "saraban_hub_outbox_backlog", "office") == {CHIANG_MAI: 7}
    contact = by(samples, "saraban_hub_seconds_since_contact", "office")
    assert contact == {CHIANG_MAI: 90, CHIANG_RAI: 90}  # not KHON_KAEN: never heard from
    state = {
        (dict(k)["office"], dict(k)["state"])
        for k, v in samples["saraban_hub_office_state"].items()
        if v == 1
    }
    assert {(CHIANG_MAI, "healthy"), (KHON_KAEN, "healthy")} <= state
    assert len(state) == len(backlogs)  # one current state per office

    problems = {
        dict(k)["problem"]: v
        for k, v in samples["saraban_hub_numbering_problems"].items()
        if dict(k)["register"] == OWN
    }
    assert problems == {"gaps": 1, "duplicates": 1, "provisional_pending": 0}


def _feed(store: Any, office: str) -> list[Any]:
    rows: list[Any] = store.feed_after(office, 0, 1000)
    return [{"kind": r.kind} for r in rows]


@pytest.mark.sqlite_only("two hubs in one test")
def test_each_app_counts_its_own_requests(tmp_path: Path, clock: Clock) -> None:
    first = Hub(tmp_path / "a", clock)
    office = first.office(CHIANG_MAI)
    office.push_ok(office.letter([CHIANG_RAI]))
    second = Hub(tmp_path / "b", clock)
    assert scrape(first)["saraban_hub_push_seconds_count"][()] == 1
    assert scrape(second)["saraban_hub_push_seconds_count"][()] == 0


def test_a_bad_push_is_timed_and_counts_nothing(hub: Hub) -> None:
    office = hub.office(CHIANG_MAI)
    answer = office.request("POST", "/push", {"envelopes": []})
    assert answer.status == 400
    samples = scrape(hub)
    assert samples["saraban_hub_push_seconds_count"][()] == 1
    assert nonzero(by(samples, "saraban_hub_envelopes_accepted_total", "kind")) == {}
    assert nonzero(by(samples, "saraban_hub_envelopes_rejected_total", "reason")) == {}


# -- the token ----------------------------------------------------------------------------

REFUSED_HEADERS = [
    pytest.param({}, id="no-header"),
    pytest.param({"Authorization": "Bearer wrong-token"}, id="wrong-token"),
    pytest.param({"Authorization": "Bearer "}, id="empty-token"),
    pytest.param({"Authorization": f"Basic {TOKEN}"}, id="not-bearer"),
    pytest.param({"Authorization": f"Bearer {TOKEN}x"}, id="token-with-more"),
]


@pytest.fixture
def guarded(tmp_path: Path, clock: Clock) -> Hub:
    return Hub(tmp_path, clock, METRICS_TOKEN=TOKEN)


def _encoded(headers: dict[str, str]) -> dict[str, str]:
    # HTTP header values travel as bytes; the test client wants them as latin-1 text.
    return {k: v.encode("utf-8").decode("latin-1") for k, v in headers.items()}


@pytest.mark.parametrize("headers", REFUSED_HEADERS)
def test_metrics_token_is_required_when_set(guarded: Hub, headers: dict[str, str]) -> None:
    answer: Answer = guarded.send("GET", "/metrics", headers=_encoded(headers))
    assert answer.status == 401
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json["error"] == "unauthorized"
    assert "METRICS_TOKEN" in answer.json["reason"]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_metrics_with_the_right_token(guarded: Hub) -> None:
    samples = scrape(guarded, _encoded({"Authorization": f"Bearer {TOKEN}"}))
    assert "saraban_hub_envelopes_accepted_total" in samples


def test_metrics_is_read_only(hub: Hub) -> None:
    answer = hub.send("POST", "/metrics", b"x=1")
    assert answer.status == 405
    assert json.loads(answer.body)["error"] == "method_not_allowed"
