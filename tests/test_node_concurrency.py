"""A busy office: clerks sending at once through the node's local API over real HTTP while
the node keeps syncing with a real hub. No answer is a server error, every letter is
committed once with a number of its own, and every one reaches its recipient.

``make test`` sends 400 letters (``SARABAN_CONCURRENT_SENDS`` changes that); the case
marked ``soak`` sends 2,000 and runs with ``make soak-scenarios``.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support import CHIANG_MAI, CHIANG_RAI, Clock, serve
from test_node_support import Federation, federation

SENDS = int(os.environ.get("SARABAN_CONCURRENT_SENDS", "400"))
SOAK_SENDS = 2000
CLERKS = 8
SAME_FILE = {
    "name": "หนังสือเวียน.pdf",
    "media_type": "application/pdf",
    "content_base64": base64.b64encode(b"%PDF-1.4 the same bytes every time").decode(),
}


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[Federation]:
    with federation(tmp_path, Clock()) as f:
        yield f


@pytest.mark.parametrize(
    "sends", [SENDS, pytest.param(SOAK_SENDS, marks=pytest.mark.soak, id="soak")]
)
def test_concurrent_sends_at_one_office_never_answer_a_server_error(
    fed: Federation, sends: int
) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    answers: list[list[tuple[int, str | None]]] = [[] for _ in range(CLERKS)]
    syncs: list[int] = []
    sending = threading.Event()
    with serve(cm.app) as url:

        def clerk(n: int) -> None:
            with requests.Session() as http:
                for i in range(n, sends, CLERKS):
                    letter: dict[str, object] = {
                        "subject": f"เรื่องที่ {i + 1}",
                        "recipients": [CHIANG_RAI],
                    }
                    if i % 4 == 0:  # the same circular's PDF, attached by several clerks at once
                        letter["attachments"] = [SAME_FILE]
                    r = http.post(f"{url}/api/letters", json=letter, headers=cm.headers, timeout=60)
                    number = r.json().get("number") if r.status_code < 500 else None
                    answers[n].append((r.status_code, number))

        def scheduler() -> None:
            with requests.Session() as http:
                while sending.is_set():
                    r = http.post(f"{url}/api/sync", json={}, headers=cm.headers, timeout=60)
                    syncs.append(r.status_code)

        sending.set()
        threads = [threading.Thread(target=clerk, args=(n,)) for n in range(CLERKS)]
        syncer = threading.Thread(target=scheduler)
        for t in [*threads, syncer]:
            t.start()
        for t in threads:
            t.join()
        sending.clear()
        syncer.join()

    got = [a for per_clerk in answers for a in per_clerk]
    assert [s for s, _ in got if s >= 500] == [] and [s for s in syncs if s >= 500] == []
    assert {s for s, _ in got} == {201} and len(got) == sends
    numbers = [n for _, n in got]
    assert len(set(numbers)) == sends
    stored = cm.rows("SELECT number FROM letters WHERE direction = 'out'")
    assert sorted(r["number"] for r in stored) == sorted(numbers)

    assert cm.sync().ok and cm.call("GET", "/api/status")["outbox"] == 0
    assert cr.sync().ok
    [received] = cr.rows("SELECT COUNT(DISTINCT number) AS n FROM letters WHERE direction = 'in'")
    assert received["n"] == sends
