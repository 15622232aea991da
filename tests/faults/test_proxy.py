"""The fault proxy itself, against a tiny HTTP server on 127.0.0.1: each fault does to a
client what its name says, and a seed replays the same faults on the same requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import requests

from scripts.faults.federation import wait_for
from scripts.faults.proxy import FAULT_KINDS, FaultPlan, FaultProxy


class Upstream(BaseHTTPRequestHandler):
    """Answers every request with a JSON body naming its path; counts what it received."""

    protocol_version = "HTTP/1.1"
    received: ClassVar[list[str]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        Upstream.received.append(self.path)
        body = json.dumps({"path": self.path, "padding": "x" * 2000}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[int]:
    Upstream.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxy(upstream: int) -> Iterator[FaultProxy]:
    p = FaultProxy("ชม 0017", upstream, seed=7)
    try:
        yield p
    finally:
        p.close()


def get(proxy: FaultProxy, path: str, session: requests.Session | None = None) -> str:
    """What a client sees: the status code, or the kind of failure."""
    try:
        resp = (session or requests).post(proxy.url + path, data=b"{}", timeout=10)
        resp.json()
    except requests.ConnectionError:
        return "connection error"
    except (requests.RequestException, ValueError):
        return "broken answer"
    return str(resp.status_code)


SEEN_BY_CLIENT = {
    "drop": ("connection error", False),
    "reset": ("connection error", False),
    "lose_answer": ("connection error", True),
    "truncate": ("broken answer", True),
    "delay": ("200", True),
}


@pytest.mark.parametrize("kind", SEEN_BY_CLIENT)
def test_each_fault_does_what_its_name_says(proxy: FaultProxy, kind: str) -> None:
    seen, reached_upstream = SEEN_BY_CLIENT[kind]
    proxy.fail_next(kind, "/push")
    assert get(proxy, "/api/v1/push") == seen
    assert ("/api/v1/push" in Upstream.received) is reached_upstream
    assert get(proxy, "/api/v1/push") == "200"
    assert [e.kind for e in proxy.events] == [kind]


def test_canned_answers_never_reach_the_hub(proxy: FaultProxy) -> None:
    proxy.fail_next("http_429", "/pull")
    proxy.fail_next("http_5xx", "/pull")
    resp = requests.post(proxy.url + "/api/v1/pull", data=b"{}", timeout=10)
    assert (resp.status_code, resp.headers["Retry-After"]) == (429, "1")
    assert resp.json()["error"] == "busy"
    assert get(proxy, "/api/v1/pull") in ("502", "503", "504")
    assert Upstream.received == []
    assert proxy.counts() == {"http_429": 1, "http_5xx": 1}


def test_a_partition_refuses_everything_until_healed(proxy: FaultProxy) -> None:
    session = requests.Session()  # a pooled connection open before the partition
    assert get(proxy, "/api/v1/health", session) == "200"
    proxy.partition()
    assert get(proxy, "/api/v1/health", session) == "connection error"
    assert get(proxy, "/api/v1/health") == "connection error"
    proxy.heal()
    assert get(proxy, "/api/v1/health", session) == "200"
    assert proxy.counts() == {"partition": 1}


def test_a_timed_partition_ends_by_itself(proxy: FaultProxy) -> None:
    proxy.partition(seconds=0.3)
    assert get(proxy, "/api/v1/health") == "connection error"
    wait_for("the partition ended", lambda: not proxy.partitioned, seconds=5)
    assert get(proxy, "/api/v1/health") == "200"


def run_requests(proxy: FaultProxy, count: int) -> list[tuple[int, str]]:
    """``count`` requests one after another; the faults met, by request number."""
    for i in range(count):
        get(proxy, f"/api/v1/pull?n={i}")
        wait_for("the partition ended", lambda: not proxy.partitioned, seconds=10)
    return [(e.request_no, e.kind) for e in proxy.events]


def test_a_seed_replays_the_same_faults_on_the_same_requests(upstream: int) -> None:
    plan = FaultPlan.flaky(0.5, [k for k in FAULT_KINDS if k != "delay"])
    plan = FaultPlan(plan.rates, partition_seconds=(0.05, 0.1))
    runs = []
    for seed in (11, 11, 12):
        proxy = FaultProxy("ขก 0017", upstream, seed=seed, plan=plan)
        try:
            runs.append(run_requests(proxy, 40))
        finally:
            proxy.close()
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert len({kind for _, kind in runs[0]}) >= 5


def test_only_requests_on_the_plans_paths_meet_faults(proxy: FaultProxy) -> None:
    proxy.set_plan(FaultPlan({"drop": 1.0}, paths=("/push",)))
    assert get(proxy, "/api/v1/pull") == "200"
    assert get(proxy, "/api/v1/push") == "connection error"
    assert proxy.requests_to("POST", "/pull") == proxy.requests_to("POST", "/push") == 1


BAD_PLANS = {
    "unknown kind": {"flood": 0.1},
    "more than certain": {"drop": 0.7, "reset": 0.5},
    "negative": {"drop": -0.1},
}


@pytest.mark.parametrize("rates", BAD_PLANS.values(), ids=BAD_PLANS.keys())
def test_a_plan_that_cannot_be_met_is_refused(rates: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FaultPlan(rates)
