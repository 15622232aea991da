"""A frozen directory: the hub answers, but the directory it serves stops changing (it stopped
publishing, or someone replays an old answer), so a node would never learn of an office
revoked or a key retired. The hub signs its directory again every day; a node holding one
older than ``DIRECTORY_MAX_AGE_DAYS`` while it reaches the hub says so (ADR 0018).

A real hub on 127.0.0.1 with a clock the test moves, shared with the nodes: moving it
forward is the node's clock moving while the hub's directory is not published again.
"""

from __future__ import annotations

import html
import logging

import pytest
from support import CHIANG_MAI, Clock
from test_hub_support import Hub
from test_node_support import Federation, closed_port_url
from web_support import PASSWORD, login

from hub.jobs import DIRECTORY_JOB, build_scheduler, reissue_directory
from node.staff.accounts import add_user
from scripts.cli.main import _status_text

DAY = 86400.0
FROZEN_TH = "ทะเบียนหน่วยงานที่เครื่องนี้ใช้ตรวจลายมือชื่อ (ฉบับที่"


def frozen_warnings(warnings: list[str]) -> list[str]:
    return [w for w in warnings if w.startswith(FROZEN_TH)]


def test_a_directory_the_hub_stopped_publishing_is_flagged_while_the_hub_answers(
    fed: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="node.sync.health")
    cm = fed.node(CHIANG_MAI)
    assert cm.sync().ok
    status = cm.call("GET", "/api/status")
    assert status["directory"]["frozen"] is False and status["warnings"] == []

    fed.clock.advance(8 * DAY)  # the hub is not running its daily job: nothing republished
    assert frozen_warnings(cm.call("GET", "/api/status")["warnings"]) == []  # not asked yet
    first = cm.sync()
    assert first.ok
    [said] = frozen_warnings(first.warnings)
    assert "ผ่านมา 8 วันแล้ว เกินกำหนด 7 วัน ทั้งที่ติดต่อศูนย์กลางได้ตามปกติ" in said
    status = cm.call("GET", "/api/status")
    assert status["directory"]["frozen"] is True and status["directory"]["age_days"] == 8.0
    assert frozen_warnings(status["warnings"]) == [said]
    assert _status_text(status).splitlines()[0] == f"คำเตือน: {said}"  # saraban node status

    with cm.store() as s:
        add_user(cm.ctx, s, "admin", "อำนาจ ผู้ดูแล", PASSWORD, ["admin"], [])
    page = html.unescape(login(cm, "admin").get("/admin/sync").get_data(as_text=True))
    assert 'id="directory-frozen"' in page and said in page

    assert cm.sync().ok  # said in the log once, not at every round
    logged = [r for r in caplog.records if "directory is frozen" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.WARNING

    assert reissue_directory(fed.hub_app) is not None  # the hub's daily job runs again
    fresh = cm.sync()
    assert fresh.ok and frozen_warnings(fresh.warnings) == []
    assert cm.call("GET", "/api/status")["warnings"] == []
    assert any("fresh again" in r.getMessage() for r in caplog.records)


def test_an_office_that_cannot_reach_the_hub_is_not_told_its_directory_is_frozen(
    fed: Federation,
) -> None:
    cm = fed.node(CHIANG_MAI)
    assert cm.sync().ok
    cm.set_hub_url(closed_port_url())
    fed.clock.advance(8 * DAY)
    offline = cm.sync()
    assert not offline.ok and offline.error_code == "unreachable"
    status = cm.call("GET", "/api/status")
    assert status["directory"]["age_days"] == 8.0 and status["directory"]["frozen"] is False
    assert frozen_warnings(status["warnings"]) == []


def test_a_node_set_to_never_warn_does_not(fed: Federation) -> None:
    cm = fed.node(CHIANG_MAI, DIRECTORY_MAX_AGE_DAYS=0)
    fed.clock.advance(30 * DAY)
    result = cm.sync()
    assert result.ok and frozen_warnings(result.warnings) == []


def test_the_hub_signs_its_directory_again_once_a_day(hub: Hub, clock: Clock) -> None:
    with hub.store() as s:
        before = s.directory_version_number()
    clock.advance(DAY - 60)
    assert reissue_directory(hub.app) is None
    clock.advance(60)
    assert reissue_directory(hub.app) == before + 1
    assert reissue_directory(hub.app) is None
    assert build_scheduler(hub.app).get_job(DIRECTORY_JOB) is not None
