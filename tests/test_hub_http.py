"""The same sync paths over real HTTP on 127.0.0.1 (werkzeug server on port 0)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock
from test_hub_support import Hub, Office, kinds

from protocol.api import API_PREFIX, MAX_CHUNK


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub(tmp_path, Clock())
    with h.serve():
        yield h


def test_enroll_push_pull_and_receipt_over_http(hub: Hub) -> None:
    cm = hub.office(CHIANG_MAI)
    cr = hub.office(CHIANG_RAI)
    letters = [cm.letter([CHIANG_RAI, KHON_KAEN], subject=f"เรื่อง {i}") for i in range(120)]
    results = cm.push_ok(*letters)
    assert {r["status"] for r in results} == {"accepted"}
    pulled = cr.pull_all(limit=50)
    assert [e.env_id for e in pulled] == [e.env_id for e in letters]
    cr.push_ok(*[cr.receipt(e) for e in pulled])
    assert kinds(cm.pull_all()) == ["receipt"] * 120


def test_blob_upload_and_range_download_over_http(hub: Hub) -> None:
    cm = hub.office(CHIANG_MAI)
    cr = hub.office(CHIANG_RAI)
    data = os.urandom(MAX_CHUNK + 10)
    sha = hashlib.sha256(data).hexdigest()
    for offset in (0, MAX_CHUNK):
        answer = cm.request(
            "PUT",
            f"/blobs/{sha}?offset={offset}&size={len(data)}",
            raw=data[offset : offset + MAX_CHUNK],
            content_type="application/octet-stream",
        )
        assert answer.status == 200, answer.body
    att = {"sha256": sha, "size": len(data), "media_type": "image/png", "name": "แผนที่.png"}
    cm.push_ok(cm.letter([CHIANG_RAI], attachments=[att]))
    part = cr.request("GET", f"/blobs/{sha}", headers={"Range": "bytes=5-"})
    assert (part.status, part.body) == (206, data[5:])


def test_errors_over_http_are_json_and_oversize_is_413(hub: Hub) -> None:
    assert hub.base_url is not None
    health = requests.get(hub.base_url + API_PREFIX + "/health", timeout=5)
    assert health.json()["ok"] is True
    big = requests.post(
        hub.base_url + API_PREFIX + "/enroll",
        data=b"x" * (9 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert big.status_code == 413
    assert big.json()["error"] == "too_large"
    office = hub.office(CHIANG_MAI)
    stale = office.request("POST", "/pull", {"cursor": None}, now=hub.clock() - 3600)
    assert (stale.status, stale.json["error"]) == (401, "stale_request")
    pending = Office(hub, KHON_KAEN).request("POST", "/pull", {"cursor": None})
    assert (pending.status, pending.json["error"]) == (401, "bad_request_signature")
