"""Who may read /metrics: never whoever reaches the hub. A bearer token (from the settings,
the environment or a file, never the command line) or an operator-chosen address.

Attack covered: an outsider on the network reading every office's name, state and trouble
from /metrics.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from support import Clock
from test_hub_support import Hub

from hub.admin.instance import init_hub
from hub.app import create_app
from protocol.settings import BadSetting
from scripts.fleet import free_ports, start_service

TOKEN = "โทเคน-ของ-prometheus-2569"
BEARER = {"Authorization": f"Bearer {TOKEN}".encode().decode("latin-1")}


def test_metrics_are_closed_without_a_token_or_an_address(tmp_path: Path, clock: Clock) -> None:
    hub = Hub(tmp_path, clock, METRICS_TOKEN="")
    answer = hub.send("GET", "/metrics")
    assert answer.status == 401
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json["error"] == "unauthorized"
    assert "METRICS_TOKEN" in answer.json["reason"]
    assert "METRICS_LISTEN" in answer.json["reason"]
    assert b"saraban_hub" not in answer.body


def test_the_token_may_come_from_a_file(tmp_path: Path, clock: Clock) -> None:
    token_file = tmp_path / "secrets" / "metrics-token"
    token_file.parent.mkdir()
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    hub = Hub(tmp_path, clock, METRICS_TOKEN="", METRICS_TOKEN_FILE=str(token_file))
    assert hub.send("GET", "/metrics").status == 401
    assert hub.send("GET", "/metrics", headers=BEARER).status == 200


def test_the_instance_token_file_is_read_by_default(tmp_path: Path, clock: Clock) -> None:
    instance = tmp_path / "hub"
    init_hub(instance, now=clock())
    (instance / "metrics_token").write_text(TOKEN, encoding="utf-8")
    app = create_app({"CLOCK": clock}, instance_path=instance)
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=BEARER).status_code == 200


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        pytest.param({"METRICS_TOKEN_FILE": "{tmp}/missing"}, "cannot read", id="missing-file"),
        pytest.param({"METRICS_TOKEN_FILE": "{tmp}/empty"}, "is empty", id="empty-file"),
        pytest.param({"METRICS_LISTEN": "9464"}, "host:port", id="listen-without-host"),
        pytest.param({"METRICS_LISTEN": "127.0.0.1:http"}, "host:port", id="listen-bad-port"),
    ],
)
def test_a_bad_metrics_setting_stops_the_hub_at_start(
    tmp_path: Path, clock: Clock, settings: dict[str, str], says: str
) -> None:
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    instance = tmp_path / "hub"
    init_hub(instance, now=clock())
    config = {k: v.format(tmp=tmp_path) for k, v in settings.items()}
    with pytest.raises(BadSetting, match=says):
        create_app({"CLOCK": clock, **config}, instance_path=instance)


def test_a_metrics_address_serves_metrics_alone(tmp_path: Path, clock: Clock) -> None:
    hub = Hub(tmp_path, clock, METRICS_TOKEN="", METRICS_LISTEN="10.0.0.5:9464")
    client = hub.app.test_client()
    there = {"SERVER_PORT": "9464"}
    assert client.get("/metrics", environ_overrides=there).status_code == 200
    main = client.get("/metrics")
    assert main.status_code == 404 and "METRICS_LISTEN" in main.get_json()["reason"]
    assert client.get("/api/v1/health", environ_overrides=there).status_code == 404
    assert client.get("/login", environ_overrides=there).status_code == 404
    assert client.get("/api/v1/health").status_code == 200


def test_served_hub_with_a_metrics_address_and_a_token_from_the_environment(
    tmp_path: Path,
) -> None:
    instance = tmp_path / "hub"
    init_hub(instance)
    port, metrics_port = free_ports(2)
    argv = ["hub", "serve", "--instance", str(instance), "--port", str(port)]
    service = start_service(
        "hub",
        argv,
        f"http://127.0.0.1:{port}",
        "/api/v1/health",
        tmp_path / "hub.log",
        {
            "SARABAN_HUB_METRICS_LISTEN": f"127.0.0.1:{metrics_port}",
            "SARABAN_HUB_METRICS_TOKEN": TOKEN,
            "SARABAN_HUB_SCHEDULER": "0",
        },
    )
    try:
        service.wait_ready(time.monotonic() + 60)
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        assert requests.get(f"{service.url}/metrics", headers=BEARER, timeout=10).status_code == 404
        assert requests.get(metrics_url, timeout=10).status_code == 401
        scraped = requests.get(metrics_url, headers=BEARER, timeout=10)
        assert scraped.status_code == 200 and "saraban_hub_alerts_open" in scraped.text
        health = requests.get(f"http://127.0.0.1:{metrics_port}/api/v1/health", timeout=10)
        assert health.status_code == 404
        cmdline = Path(f"/proc/{service.proc.pid}/cmdline").read_bytes()
        assert TOKEN.encode() not in cmdline
    finally:
        service.stop()
