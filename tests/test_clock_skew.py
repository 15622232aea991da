"""A node whose clock is wrong, against a real hub: refused, told in Thai, counted, healed.

The hub refuses a signed request whose timestamp is more than its window (5 minutes) away
from its own time. The office must hear why (every clerk's page, ``saraban node status``),
the operator must see it (one alert per office, a counter in ``/metrics``), and setting
the clock right must end both by itself at the next sync. Only the office itself can make
its clock count as wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from console_support import PASSWORD as OPERATOR_PASSWORD
from console_support import csrf as console_csrf
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from support import CHIANG_MAI, Clock
from test_node_support import METRICS_TOKEN, Federation, Node
from web_support import add_users, login

from hub.console.operators import add_operator
from hub.store import open_store
from node.sync.worker import scheduled_sync
from protocol.auth import sign_request
from protocol.keys import Signer
from scripts.cli.main import main as saraban

HOW_TO_SET_IT = "timedatectl set-ntp true"
REFUSED_TITLE = "ศูนย์กลางปฏิเสธคำขอของหน่วยงานเพราะนาฬิกาคลาดเคลื่อนเกินกำหนด"


class MachineClock:
    """The node machine's clock: the federation's true time plus an error the test sets."""

    def __init__(self, true: Clock):
        self.true = true
        self.error = 0.0

    def __call__(self) -> float:
        return self.true() + self.error


@pytest.fixture
def wrong(fed: Federation) -> Iterator[tuple[Node, MachineClock, FlaskClient]]:
    """ชม 0017 on a clock of its own, with a clerk signed in while it was still right."""
    machine = MachineClock(fed.clock)
    node = fed.node(CHIANG_MAI, CLOCK=machine)
    add_users(node)
    clerk = login(node)
    assert node.sync().ok
    yield node, machine, clerk


def metric(hub: Flask, name: str, **labels: str) -> float | None:
    """One sample of the hub's /metrics, as a scraper reads it."""
    answer = hub.test_client().get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def console(fed: Federation) -> FlaskClient:
    """The operator's console of the federation's hub, signed in."""
    store = open_store(fed.hub_app.config["DATABASE"])
    try:
        add_operator(store, "ops", "สมชาย ดูแลระบบ", OPERATOR_PASSWORD, "operator", fed.clock())
    finally:
        store.close()
    client = fed.hub_app.test_client()
    answer = client.post(
        "/login",
        data={"username": "ops", "password": OPERATOR_PASSWORD, "csrf_token": console_csrf(client)},
    )
    assert answer.status_code == 302
    return client


def status(node: Node, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """What ``saraban node status`` prints for ``node``."""
    capsys.readouterr()
    assert saraban(["node", "status", "--instance", str(node.instance), *args]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("error", "said"),
    [
        pytest.param(600.0, "เร็วกว่าเวลาของศูนย์กลาง 10 นาที", id="10-minutes-fast"),
        pytest.param(-86400.0, "ช้ากว่าเวลาของศูนย์กลาง 1 วัน", id="24-hours-slow"),
    ],
)
def test_node_with_a_wrong_clock_is_told_counted_and_heals_when_it_is_set(
    fed: Federation,
    wrong: tuple[Node, MachineClock, FlaskClient],
    capsys: pytest.CaptureFixture[str],
    error: float,
    said: str,
) -> None:
    node, machine, clerk = wrong
    machine.error = error

    refused = node.sync()
    assert not refused.ok and refused.error_code == "clock_refused"
    assert refused.clock_skew == pytest.approx(error, abs=2)
    assert said in refused.warnings[0]
    assert node.sync().error_code == "clock_refused"  # it keeps trying on its schedule

    page = clerk.get("/").get_data(as_text=True)
    assert said in page and "ศูนย์กลางจึงไม่รับการซิงค์" in page and HOW_TO_SET_IT in page
    text = status(node, capsys)
    assert text.startswith("คำเตือน: นาฬิกาของเครื่องนี้") and said in text.splitlines()[0]
    shown = json.loads(status(node, capsys, "--json"))
    assert shown["clock"]["refused"] is True
    assert shown["clock"]["skew_seconds"] == pytest.approx(error, abs=2)
    assert said in shown["warnings"][0]

    counted = {"office": CHIANG_MAI}
    assert metric(fed.hub_app, "saraban_hub_clock_refusals_total", **counted) == 2
    assert metric(fed.hub_app, "saraban_hub_alerts_open", kind="clock_refused") == 1
    operator = console(fed)
    alerts = operator.get("/alerts").get_data(as_text=True)
    assert alerts.count(REFUSED_TITLE) == 1 and CHIANG_MAI in alerts

    machine.error = 0.0
    healed = scheduled_sync(node.ctx)  # no back-off to sit out: the normal schedule
    assert healed is not None and healed.ok and not healed.warnings
    assert said not in clerk.get("/").get_data(as_text=True)
    shown = json.loads(status(node, capsys, "--json"))
    assert shown["clock"]["refused"] is False and shown["warnings"] == []
    assert not status(node, capsys).startswith("คำเตือน")
    assert metric(fed.hub_app, "saraban_hub_alerts_open", kind="clock_refused") == 0
    assert metric(fed.hub_app, "saraban_hub_clock_refusals_total", **counted) == 2
    assert REFUSED_TITLE not in operator.get("/").get_data(as_text=True)


def test_clock_drifting_towards_the_window_is_warned_of_before_the_hub_refuses(
    wrong: tuple[Node, MachineClock, FlaskClient],
) -> None:
    node, machine, clerk = wrong
    machine.error = -200.0  # inside the hub's 5 minutes, past half of them

    result = node.sync()
    assert result.ok and result.clock_skew == pytest.approx(-200, abs=2)
    assert "ใกล้เกินที่ศูนย์กลางยอมรับ" in result.warnings[0]
    page = clerk.get("/").get_data(as_text=True)
    assert "ช้ากว่าเวลาของศูนย์กลาง 3 นาที" in page and HOW_TO_SET_IT in page

    machine.error = 5.0
    assert node.sync().ok
    assert "ใกล้เกินที่ศูนย์กลางยอมรับ" not in clerk.get("/").get_data(as_text=True)


def _stale_request(signer: Signer, now: float) -> dict[str, Any]:
    path = "/api/v1/highwater"
    return {"path": path, "headers": sign_request(signer, "GET", path, b"", now)}


STRANGERS = {
    "office-unknown-to-the-hub": lambda fed: Signer.generate("ขก 9999"),
    "forged-signature-of-an-enrolled-office": lambda fed: Signer.generate(CHIANG_MAI),
}
"""Who may send a request with a stale timestamp without being the enrolled office."""


@pytest.mark.parametrize("stranger", list(STRANGERS))
def test_only_the_office_itself_can_make_its_clock_count_as_wrong(
    fed: Federation, stranger: str
) -> None:
    fed.node(CHIANG_MAI)
    hub = fed.hub_app.test_client()
    signer = STRANGERS[stranger](fed)
    for _ in range(3):
        request = _stale_request(signer, fed.clock() - 3600)
        answer = hub.get(request["path"], headers=request["headers"])
        assert answer.status_code in (401, 404)
    assert metric(fed.hub_app, "saraban_hub_clock_refusals_total", office=CHIANG_MAI) == 0
    assert metric(fed.hub_app, "saraban_hub_clock_refusals_total", office="ขก 9999") is None
    assert metric(fed.hub_app, "saraban_hub_alerts_open", kind="clock_refused") == 0
