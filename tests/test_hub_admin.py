"""Operator actions: initialising a hub, offices, shared registers, key rotation, settings
and the status page."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
from support import CHIANG_MAI, CHIANG_RAI, MINISTRY, Clock
from test_hub_support import Hub

from hub.admin.instance import init_hub, rotate_hub_key
from hub.admin.offices import add_office, add_shared_register, revoke_office
from hub.admin.reports import list_alerts, list_quarantine
from hub.app import create_app
from hub.config import load_settings, settings_table
from hub.errors import AdminError, StoreError
from hub.monitoring.offices import office_state
from protocol.directory import accept_directory
from protocol.envelope import Envelope
from protocol.keys import public_key_from_b64


@pytest.fixture
def hub(tmp_path: Path, clock: Clock) -> Hub:
    return Hub(tmp_path, clock)


def test_init_creates_key_0600_database_pilot_offices_and_lists(tmp_path: Path) -> None:
    info = init_hub(tmp_path / "inst", now=1_795_000_000)
    assert info["created"] is True
    assert info["offices"] == 19
    assert info["directory_version"] == 1
    key_file = tmp_path / "inst" / "keys" / "hub-1.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = init_hub(tmp_path / "inst")
    assert again["created"] is False
    assert again["hub_keyid"] == info["hub_keyid"] == "hub#1"
    app = create_app({"CLOCK": lambda: 1_795_000_000.0}, instance_path=tmp_path / "inst")
    with app.app_context():
        from hub.context import get_store

        store = get_store()
        office = store.office("ชม 0017")
        lists = store.lists()
    assert office is not None and office["name"] == "สำนักงานจังหวัดเชียงใหม่"
    assert office["status"] == "pending" and office["group_no"] == 15
    assert len(lists["pilot-centres"]["members"]) == 18
    assert lists["group-15"] == {"title": "กลุ่มจังหวัดภาคเหนือตอนบน 1", "members": ["ชม 0017"]}
    assert len(lists["all-offices"]["members"]) == 19
    assert "มท 0200" in lists["all-offices"]["members"]


@pytest.mark.sqlite_only("a hub folder without its SQLite file")
def test_create_app_refuses_an_uninitialised_instance(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="hub init"):
        create_app(instance_path=tmp_path / "empty")


def test_settings_load_defaults_file_environment_then_test_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"LEASE_MAX": 50, "PULL_LIMIT_MAX": 40}))
    env = {"SARABAN_HUB_PULL_LIMIT_MAX": "30", "SARABAN_HUB_MAX_INFLIGHT": "7"}
    values = load_settings(tmp_path, {"MAX_INFLIGHT": 3}, environ=env)
    assert values["LEASE_MAX"] == 50
    assert values["PULL_LIMIT_MAX"] == 30
    assert values["MAX_INFLIGHT"] == 3
    assert values["CLOCK_WINDOW_SECONDS"] == 300
    assert values["DATABASE"] == str(tmp_path / "hub.sqlite")
    names = [name for name, _, _ in settings_table()]
    for required in ("DATABASE", "MAX_CONTENT_LENGTH", "ENROLL_TOKEN_TTL_HOURS", "LEASE_MAX"):
        assert required in names
    assert all(help_line for _, _, help_line in settings_table())


def test_adding_an_office_joins_its_lists_and_publishes_a_directory(hub: Hub, clock: Clock) -> None:
    version = add_office(
        hub.app, "ลป 0017", "สำนักงานจังหวัดลำปาง", "ลำปาง", 15, "กลุ่มจังหวัดภาคเหนือตอนบน 1",
        now=clock(),
    )  # fmt: skip
    with hub.store() as s:
        lists = s.lists()
    assert lists["group-15"]["members"] == ["ชม 0017", "ลป 0017"]
    assert "ลป 0017" in lists["all-offices"]["members"]
    assert hub.client.get("/api/v1/health").json["directory_version"] == version
    with pytest.raises(AdminError):
        add_office(hub.app, "ลป 0017", "ซ้ำ", now=clock())
    with pytest.raises(AdminError):
        add_office(hub.app, "not a code", "ผิด", now=clock())


def test_shared_register_is_listed_in_the_directory(hub: Hub, clock: Clock) -> None:
    cm = hub.office(CHIANG_MAI)
    add_shared_register(hub.app, MINISTRY, "ว", [CHIANG_MAI, CHIANG_RAI], now=clock())
    directory = Envelope.from_wire(cm.request("GET", "/directory").json["directory"])
    body = json.loads(directory.body)
    assert body["shared_registers"] == [
        {"owner": MINISTRY, "series": "ว", "basis": "calendar", "members": [CHIANG_MAI, CHIANG_RAI]}
    ]
    with pytest.raises(AdminError):
        add_shared_register(hub.app, MINISTRY, "ว", ["ซซ 9999"], now=clock())


def test_pinned_node_follows_a_hub_key_rotation(hub: Hub, clock: Clock) -> None:
    cm = hub.office(CHIANG_MAI)
    enrolled = cm.request("GET", "/directory").json["directory"]
    with hub.store() as s:
        pinned = {r["keyid"]: public_key_from_b64(r["public"]) for r in s.hub_keys()}
    held = accept_directory(Envelope.from_wire(enrolled), pinned, None)
    new_keyid = rotate_hub_key(hub.app, now=clock())
    assert new_keyid == "hub#2"
    rotated = accept_directory(
        Envelope.from_wire(cm.request("GET", "/directory").json["directory"]), pinned, held
    )
    assert list(rotated.hub_keys()) == ["hub#2"]
    # Hub envelopes after the rotation verify with the new key alone.
    revoke_office(hub.app, CHIANG_RAI, now=clock())
    later = accept_directory(
        Envelope.from_wire(cm.request("GET", "/directory").json["directory"]),
        rotated.hub_keys(),
        rotated,
    )
    assert later.office(CHIANG_RAI)["status"] == "revoked"  # type: ignore[index]


def test_revoking_twice_or_an_unknown_office_is_an_admin_error(hub: Hub, clock: Clock) -> None:
    revoke_office(hub.app, CHIANG_RAI, "ปิดสำนักงาน", now=clock())
    with pytest.raises(AdminError):
        revoke_office(hub.app, CHIANG_RAI, now=clock())
    with pytest.raises(AdminError):
        revoke_office(hub.app, "ซซ 9999", now=clock())
    assert [a["kind"] for a in list_alerts(hub.app)] == ["office_revoked"]
    assert list_quarantine(hub.app) == []


def test_office_states_from_last_contact(hub: Hub, clock: Clock) -> None:
    cm = hub.office(CHIANG_MAI)
    cm.pull()
    row = {"status": "enrolled", "last_push": None, "last_pull": 1000.0, "last_heartbeat": None,
           "enrolled_at": 900.0}  # fmt: skip
    assert office_state(row, 1000 + 60, 1800, 86400) == "healthy"
    assert office_state(row, 1000 + 3600, 1800, 86400) == "late"
    assert office_state(row, 1000 + 90000, 1800, 86400) == "silent"
    assert office_state({**row, "status": "pending"}, 0, 1, 1) == "never enrolled"
    assert office_state({**row, "status": "revoked"}, 0, 1, 1) == "revoked"
    clock.advance(3600)
    # The office list is the operator's now: nobody signed in is sent to the login page.
    answer = hub.client.get("/offices")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")


def test_batch_of_five_hundred_is_ingested_in_one_push(hub: Hub) -> None:
    cm = hub.office(CHIANG_MAI)
    hub.office(CHIANG_RAI)
    envs = [cm.letter([CHIANG_RAI], subject=f"หนังสือ {i}") for i in range(500)]
    started = time.perf_counter()
    results = cm.push_ok(*envs)
    elapsed = time.perf_counter() - started
    assert [r["status"] for r in results] == ["accepted"] * 500
    assert hub.count("mailbox") == 500
    assert elapsed < 10  # a generous bound; the benchmark measures the real rate
