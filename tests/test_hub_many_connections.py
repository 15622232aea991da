"""A hub process with more connections open than select() can watch: every office keeps a
connection open for its wake-up check, so 1,100 offices mean sockets numbered above 1,024,
and the hub must go on answering (waitress on poll(), scripts/serving.py)."""

from __future__ import annotations

import resource
import socket
import time
from pathlib import Path

import pytest
import requests

from hub.admin.instance import init_hub
from scripts.fleet import start_hub_process

OPEN = 1_100


@pytest.mark.slow
def test_the_hub_answers_with_more_than_1024_connections_open(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < OPEN + 200:
        pytest.skip(f"this machine allows {hard} open files per process")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, OPEN + 200), hard))
    instance = tmp_path / "hub"
    init_hub(instance)
    service = start_hub_process(instance, tmp_path / "hub.log")
    port = int(service.url.rsplit(":", 1)[1])
    held: list[socket.socket] = []
    try:
        service.wait_ready(time.monotonic() + 60)
        for _ in range(OPEN):  # offices connected and waiting, as for their wake-up checks
            held.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        answer = requests.get(service.url + "/api/v1/health", timeout=30)
        assert answer.status_code == 200, answer.text
        assert service.proc.poll() is None
    finally:
        for s in held:
            s.close()
        service.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert "filedescriptor out of range" not in service.log.read_text(encoding="utf-8")
