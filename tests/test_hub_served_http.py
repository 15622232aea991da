"""The served hub (cheroot, scripts/serving.py) at the edges of HTTP: a body it cannot
read is refused 400 with a JSON reason and one log line, and the next request is served."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from hub.admin.instance import init_hub
from scripts.fleet import Service, start_hub_process

HEAD = (
    b"POST /api/v1/enroll HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n"
)
UNREADABLE = {
    "chunk_size_not_hex": (HEAD + b"\r\nzz\r\n{}\r\n0\r\n\r\n", "chunked body cannot be read"),
    "chunk_cut_short": (HEAD + b"\r\n10\r\n{}", "chunked body cannot be read"),
    "two_lengths": (
        HEAD + b"Content-Length: 4\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        "both Transfer-Encoding and Content-Length",
    ),
}


@pytest.fixture
def served_hub(tmp_path: Path) -> Iterator[Service]:
    init_hub(tmp_path / "hub")
    service = start_hub_process(tmp_path / "hub", tmp_path / "hub.log")
    try:
        service.wait_ready(time.monotonic() + 60)
        yield service
    finally:
        service.stop()


def _first_answer(service: Service, raw: bytes) -> tuple[int, dict[str, str]]:
    port = int(service.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        conn.shutdown(socket.SHUT_WR)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            more = conn.recv(65536)
            if not more:
                break
            data += more
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body[: _length(data)])


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_a_body_the_hub_cannot_read_is_refused_with_a_reason_and_the_next_is_served(
    served_hub: Service,
) -> None:
    for name, (raw, said) in UNREADABLE.items():
        status, answer = _first_answer(served_hub, raw)
        assert status == 400, name
        assert answer["error"] == "bad_request" and said in answer["reason"], (name, answer)
        assert requests.get(served_hub.url + "/api/v1/health", timeout=10).status_code == 200
    log = served_hub.log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log
    refused = [line for line in log.splitlines() if "refused POST /api/v1/enroll" in line]
    assert len(refused) == len(UNREADABLE), refused


def test_a_chunked_body_is_read_whole_and_judged_by_the_app(served_hub: Service) -> None:
    body = b'{"token": "not-a-token"}'
    raw = HEAD + b"\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    status, answer = _first_answer(served_hub, raw)
    assert status in (400, 401, 403), answer
    assert answer["error"] != "bad_json", answer  # the app read the whole JSON body


def _answers_on_one_connection(service: Service, raw: bytes) -> list[bytes]:
    """The status lines the hub sent on one connection for ``raw``, until it closed it."""
    port = int(service.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        data = b""
        while more := conn.recv(65536):
            data += more
    return re.findall(rb"HTTP/1\.1 [0-9]{3}[^\r\n]*", data)


def test_one_chunk_past_the_servers_limit_is_refused_as_too_large(served_hub: Service) -> None:
    raw = HEAD + b"\r\n4000000\r\n{}"  # 64 MiB announced; only the size is sent
    status, answer = _first_answer(served_hub, raw)
    assert status == 413, answer
    assert answer["error"] == "too_large", answer


def test_nothing_after_a_refused_body_is_taken_for_a_request(served_hub: Service) -> None:
    smuggled = b"GET /api/v1/health HTTP/1.1\r\nHost: hub\r\n\r\n"
    statuses = _answers_on_one_connection(served_hub, HEAD + b"\r\nzz\r\n" + smuggled)
    assert statuses == [b"HTTP/1.1 400 Bad Request"], statuses


def test_a_chunked_body_with_a_trailer_leaves_the_next_request_whole(served_hub: Service) -> None:
    body = b'{"token": "not-a-token"}'
    first = HEAD + b"\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\nX-Sum: 1\r\n\r\n"
    second = b"GET /api/v1/health HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n"
    statuses = _answers_on_one_connection(served_hub, first + second)
    assert len(statuses) == 2 and statuses[1] == b"HTTP/1.1 200 OK", statuses
