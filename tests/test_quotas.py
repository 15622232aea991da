"""Quotas and alert floods: an office pushing garbage fills only its own quarantine, up to
its quota, and makes one alert per condition that counts how often it happened.

Attacks covered: an office pushing garbage without end (quarantine bytes and the alert
list must stay bounded), an office raising the same false alarm on every request
(directory rollback, clock), and the evidence of an office's first bad envelope being
pushed out by later garbage.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from console_support import add_operators, console_login, text_of
from prometheus_client.parser import text_string_to_metric_families
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_hub_support import METRICS_AUTH, Hub, Office

from hub.federation.quarantine import discard
from hub.store import HubStore, stored_size

QUOTA = 40_000
GARBAGE_BYTES = 3_000


@pytest.fixture
def hub(tmp_path: Path, clock: Clock) -> Hub:
    h = Hub(tmp_path, clock, QUARANTINE_BYTES_PER_OFFICE=QUOTA)
    add_operators(h)
    return h


def garbage(n: int, tag: str = "") -> dict[str, Any]:
    """A pushed item that is no envelope at all: refused ``malformed_envelope``."""
    return {"junk": f"{tag}{n:06d}" + "ก" * (GARBAGE_BYTES // 3)}


def push_garbage(office: Office, start: int, count: int, tag: str = "") -> list[dict[str, Any]]:
    results = office.push_ok(*[garbage(n, tag) for n in range(start, start + count)])  # type: ignore[arg-type]
    assert {r["status"] for r in results} == {"rejected"}
    return results


def usage(hub: Hub) -> dict[str, dict[str, Any]]:
    with hub.store() as s:
        return {u["office"]: u for u in s.quarantine_usage()}


def open_alerts(hub: Hub) -> dict[tuple[str, str], dict[str, Any]]:
    with hub.store() as s:
        return {(a["kind"], a["office"]): a for a in s.alerts("open")}


def samples(hub: Hub, name: str) -> dict[str, float]:
    answer = hub.send("GET", "/metrics", headers=METRICS_AUTH)
    assert answer.status == 200
    out = {}
    for family in text_string_to_metric_families(answer.body.decode("utf-8")):
        for s in family.samples:
            if s.name == name:
                out[s.labels.get("office") or s.labels.get("kind") or ""] = s.value
    return out


def test_garbage_beyond_the_quota_is_refused_unkept_and_counted(hub: Hub) -> None:
    cm, cr = hub.office(CHIANG_MAI), hub.office(CHIANG_RAI)
    for start in range(0, 60, 20):  # three pushes of 20: far beyond the quota
        push_garbage(cm, start, 20)
    with hub.store() as s:
        kept = s.quarantined("open", office=CHIANG_MAI)
        sizes = [int(r) for (r,) in s.conn.execute("SELECT size FROM quarantine")]
    one = sizes[0]
    assert len(kept) == QUOTA // one  # as many as fit, no more
    cm_usage = usage(hub)[CHIANG_MAI]
    assert cm_usage["held_bytes"] == sum(sizes) <= QUOTA
    assert cm_usage["refused"] == 60 - len(kept)
    assert cm_usage["refused_bytes"] == cm_usage["refused"] * one

    # One alert per condition, counting repeats, not one per envelope.
    alerts = open_alerts(hub)
    assert sorted(alerts) == [("quarantine_full", CHIANG_MAI), ("quarantined", CHIANG_MAI)]
    assert alerts[("quarantined", CHIANG_MAI)]["repeats"] == len(kept) - 1
    assert alerts[("quarantine_full", CHIANG_MAI)]["repeats"] == cm_usage["refused"] - 1

    # Another office's quarantine is its own: ชร's first bad envelope is kept.
    push_garbage(cr, 1000, 1)
    assert usage(hub)[CHIANG_RAI]["held_bytes"] == one
    assert usage(hub)[CHIANG_RAI]["refused"] == 0

    assert samples(hub, "saraban_hub_quarantine_bytes") == {
        CHIANG_MAI: cm_usage["held_bytes"],
        CHIANG_RAI: one,
    }
    assert samples(hub, "saraban_hub_quarantine_refused_total") == {
        CHIANG_MAI: cm_usage["refused"],
        CHIANG_RAI: 0,
    }
    repeats = samples(hub, "saraban_hub_alert_repeats")
    assert repeats["quarantined"] == len(kept) - 1
    assert repeats["quarantine_full"] == cm_usage["refused"] - 1


def test_the_first_bad_envelope_stays_when_garbage_follows(hub: Hub) -> None:
    cm = hub.office(CHIANG_MAI)
    cm.seq, cm.head = 5, "0" * 64  # a gap: seq 6 with nothing before it
    gap = cm.letter([CHIANG_RAI])
    assert cm.push_ok(gap)[0]["reason"] == "out_of_sequence"
    for start in range(0, 60, 20):
        push_garbage(cm, start, 20)
    with hub.store() as s:
        oldest = s.quarantined("open", office=CHIANG_MAI)[-1]
    assert oldest["env_id"] == gap.env_id  # the evidence was not pushed out


def test_pushing_the_same_refused_envelope_again_counts_nothing(hub: Hub) -> None:
    cm = hub.office(CHIANG_MAI)
    push_garbage(cm, 0, 1)
    before = usage(hub)[CHIANG_MAI]
    push_garbage(cm, 0, 1)
    assert usage(hub)[CHIANG_MAI] == before
    assert open_alerts(hub)[("quarantined", CHIANG_MAI)]["repeats"] == 0


def test_releasing_or_discarding_makes_room_and_resolves_the_alert(hub: Hub) -> None:
    cm = hub.office(CHIANG_MAI)
    push_garbage(cm, 0, 30)
    assert usage(hub)[CHIANG_MAI]["refused"] > 0
    with hub.store() as s:
        kept = s.quarantined("open", office=CHIANG_MAI)
    with hub.store() as s:
        for row in kept[:-1]:
            discard(s, row["id"], "ops", "ซองเสียจากการทดสอบ", hub.clock())
    assert ("quarantined", CHIANG_MAI) in open_alerts(hub)  # one still waits
    with hub.store() as s:
        discard(s, kept[-1]["id"], "ops", "ซองเสียจากการทดสอบ", hub.clock())
        assert s.quarantine_held_bytes(CHIANG_MAI) == 0
    assert ("quarantined", CHIANG_MAI) not in open_alerts(hub)

    push_garbage(cm, 100, 1)  # room again: kept, and a new alert opened
    with hub.store() as s:
        assert len(s.quarantined("open", office=CHIANG_MAI)) == 1
    assert open_alerts(hub)[("quarantined", CHIANG_MAI)]["repeats"] == 0


def test_console_shows_one_alert_with_its_repeat_count(hub: Hub) -> None:
    cm = hub.office(CHIANG_MAI)
    push_garbage(cm, 0, 4)
    ops = console_login(hub)
    page = text_of(ops.get("/alerts"))
    assert page.count("ซองเอกสารถูกกักไว้") == 1
    assert "ซ้ำ 3 ครั้ง" in page
    with hub.store() as s:
        first = s.quarantined("open", office=CHIANG_MAI)[-1]
    assert f"/quarantine/{first['id']}" in ops.get("/alerts").get_data(as_text=True)


def test_a_false_directory_rollback_on_every_heartbeat_is_one_alert(hub: Hub) -> None:
    cm = hub.office(CHIANG_MAI)
    for ahead in range(5, 15):  # a different false version each time
        cm.request("POST", "/heartbeat", {"directory_version": 100 + ahead})
    for _ in range(3):
        cm.request("POST", "/heartbeat", {"last_error_code": "stale_directory"})
    alerts = open_alerts(hub)
    assert list(alerts) == [("directory_rollback", CHIANG_MAI)]
    assert alerts[("directory_rollback", CHIANG_MAI)]["repeats"] == 12
    page = text_of(console_login(hub).get("/alerts"))
    assert "ซ้ำ 12 ครั้ง" in page


def test_stale_requests_of_one_office_are_one_clock_alert(hub: Hub, clock: Clock) -> None:
    cm = hub.office(CHIANG_MAI)
    for minutes in range(10, 20):
        answer = cm.request("POST", "/heartbeat", {}, now=clock() - minutes * 60)
        assert answer.status == 401
    alerts = open_alerts(hub)
    assert list(alerts) == [("clock_refused", CHIANG_MAI)]
    assert alerts[("clock_refused", CHIANG_MAI)]["repeats"] == 9


def test_event_alerts_of_one_kind_and_office_are_one_alert(hub: Hub) -> None:
    cm = hub.office(CHIANG_MAI)
    for n in range(5):  # letters to an office the hub does not know
        cm.push_ok(cm.letter([f"ขก {n:04d}"]))
    alerts = open_alerts(hub)
    assert list(alerts) == [("unroutable", CHIANG_MAI)]
    assert alerts[("unroutable", CHIANG_MAI)]["repeats"] == 4
    assert "ขก 0004" in alerts[("unroutable", CHIANG_MAI)]["detail"]  # the newest


@pytest.mark.sqlite_only("a SQLite file an older hub wrote")
def test_an_older_hubs_quarantine_is_charged_when_it_opens(tmp_path: Path, clock: Clock) -> None:
    hub = Hub(tmp_path, clock)
    cm = hub.office(CHIANG_MAI)
    push_garbage(cm, 0, 3)
    database = hub.app.config["DATABASE"]
    with sqlite3.connect(database) as conn:  # as a hub before quotas left it
        conn.execute("UPDATE quarantine SET size = NULL")
        conn.execute("DELETE FROM quarantine_usage")
        conn.execute("DELETE FROM meta WHERE key = 'schema_version'")  # older hubs had none
        envelope, detail = conn.execute("SELECT envelope, detail FROM quarantine").fetchone()
    HubStore.open(database, create=True).close()
    assert usage(hub)[CHIANG_MAI]["held_bytes"] == 3 * stored_size(envelope, detail)
