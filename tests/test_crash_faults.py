"""Invariant 5 on real processes: a SIGKILL at any point loses no acknowledged work and
duplicates nothing.

A hub and three nodes run as separate `saraban ... serve` processes, each with its own
instance folder under ``tmp_path``. Background threads keep syncing the nodes over their
local API while the test SIGKILLs a process at a point chosen by measured progress (the
hub's feed, a node's received count), never by a bare sleep. The killed process is
restarted on the same instance folder and port, everyone syncs until a round moves
nothing, the recipients register every letter, and the stores are then read by
:func:`scripts.invariants.check_federation`, which re-verifies every stored envelope.

``make test`` kills the sender mid-push and a recipient mid-pull, and the hub late in a
push; the other kill points (20–40 s each on two cores) run in ``make soak-scenarios``.
"""

from __future__ import annotations

import base64
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from scripts.fleet import Service, free_ports, start_service
from scripts.invariants import check_federation
from scripts.nodeapi import NodeAPIError, NodeHTTP, read_token

pytestmark = pytest.mark.sqlite_only("reads the hub's SQLite file")

SENDER = "มท 0200"
RECIPIENTS = ("ชม 0017", "ขก 0017")
OFFICES = (SENDER, *RECIPIENTS)
STARTUP_SECONDS = 60.0
PROGRESS_SECONDS = 30.0
MAX_QUIET_ROUNDS = 12
# Small batches and chunks so one sync is many requests, and a kill lands inside one.
NODE_ENV = {
    "SARABAN_NODE_SYNC_INTERVAL_MINUTES": "600",
    "SARABAN_NODE_WATCH_SECONDS": "0",  # no live sync either (ADR 0016)
    "SARABAN_NODE_PUSH_BATCH": "10",
    "SARABAN_NODE_PULL_BATCH": "10",
    "SARABAN_NODE_CHUNK_BYTES": "1024",
}


def _rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read a live store without writing to it."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as conn:
        return list(conn.execute(sql, params))


class Federation:
    """A hub process and node processes on 127.0.0.1, restartable on the same port."""

    def __init__(self, root: Path) -> None:
        from hub.admin.instance import init_hub

        self.root = root
        self.hub_dir = root / "hub"
        init_hub(self.hub_dir)
        ports = free_ports(1 + len(OFFICES))
        self.hub_port = ports[0]
        self.hub_url = f"http://127.0.0.1:{self.hub_port}"
        self.node_ports = dict(zip(OFFICES, ports[1:], strict=True))
        self.hub: Service | None = None
        self.nodes: dict[str, Service] = {}

    def instance(self, office: str) -> Path:
        return self.root / "nodes" / office.replace(" ", "_")

    def node_url(self, office: str) -> str:
        return f"http://127.0.0.1:{self.node_ports[office]}"

    def api(self, office: str) -> NodeHTTP:
        """A fresh client (one per thread: a requests session is not shared)."""
        return NodeHTTP(self.node_url(office), read_token(self.instance(office)), timeout=60)

    def start_hub(self) -> None:
        self.hub = start_service(
            "hub",
            ["hub", "serve", "--instance", str(self.hub_dir), "--port", str(self.hub_port)],
            self.hub_url,
            "/api/v1/health",
            self.root / "logs" / "hub.log",
        )
        self.hub.wait_ready(time.monotonic() + STARTUP_SECONDS)

    def start_node(self, office: str) -> Service:
        service = start_service(
            office,
            [
                "node",
                "serve",
                "--instance",
                str(self.instance(office)),
                "--port",
                str(self.node_ports[office]),
            ],
            self.node_url(office),
            "/api/health",
            self.root / "logs" / f"{office.replace(' ', '_')}.log",
            NODE_ENV,
        )
        self.nodes[office] = service
        return service

    def start(self) -> None:
        from hub.admin.tokens import issue_enrollment_token
        from node.sync.enrolment import init_node

        self.start_hub()
        for office in OFFICES:
            token = issue_enrollment_token(self.hub_dir, office, 1)
            init_node(self.instance(office), self.hub_url, office, token)
        started = [self.start_node(o) for o in OFFICES]
        deadline = time.monotonic() + STARTUP_SECONDS
        for s in started:
            s.wait_ready(deadline)

    def restart_node(self, office: str) -> None:
        self.start_node(office).wait_ready(time.monotonic() + STARTUP_SECONDS)

    def stop(self) -> None:
        services = [*self.nodes.values(), *([self.hub] if self.hub else [])]
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda s: s.stop(), services))

    # ---- reading the stores (read-only) -----------------------------------------------

    def hub_letters_from(self, office: str = SENDER) -> int:
        db = self.hub_dir / "hub.sqlite"
        sql = "SELECT COUNT(*) FROM feed WHERE origin = ? AND kind = 'letter'"
        return int(_rows(db, sql, (office,))[0][0])

    def hub_blobs(self) -> tuple[int, int]:
        """``(complete, partial)`` attachment uploads the hub holds."""
        names = [p.name for p in (self.hub_dir / "blobs").glob("*")]
        partial = sum(1 for n in names if n.endswith(".part"))
        return len(names) - partial, partial

    def incoming(self, office: str) -> list[tuple[int, str, str]]:
        """``(id, env_id, state)`` of every letter the office received."""
        db = self.instance(office) / "node.sqlite"
        sql = "SELECT id, env_id, state FROM letters WHERE direction = 'in' ORDER BY id"
        return [(int(i), str(e), str(s)) for i, e, s in _rows(db, sql)]

    def missing_attachments(self, office: str) -> int:
        db = self.instance(office) / "node.sqlite"
        sql = "SELECT COUNT(*) FROM attachments WHERE direction = 'in' AND present = 0"
        return int(_rows(db, sql)[0][0])

    # ---- driving ----------------------------------------------------------------------

    def sync_round(self) -> dict[str, dict[str, Any]]:
        def one(office: str) -> tuple[str, dict[str, Any]]:
            result: dict[str, Any] = self.api(office).call("POST", "/api/sync", {})
            return office, result

        with ThreadPoolExecutor(max_workers=len(OFFICES)) as pool:
            return dict(pool.map(one, OFFICES))

    def sync_until_quiet(self) -> None:
        """Sync everyone until a round succeeds everywhere and moves nothing."""
        results: dict[str, dict[str, Any]] = {}
        for _ in range(MAX_QUIET_ROUNDS):
            results = self.sync_round()
            moved = sum(int(r["pushed"]) + int(r["pulled"]) for r in results.values())
            if moved == 0 and all(r["ok"] for r in results.values()):
                return
        raise AssertionError(f"the federation did not become quiet: {results}")

    def register_all(self) -> None:
        def register(office: str) -> None:
            api = self.api(office)
            for letter_id, _, state in self.incoming(office):
                if state == "delivered":
                    api.call("POST", f"/api/letters/{letter_id}/register", {})

        with ThreadPoolExecutor(max_workers=len(RECIPIENTS)) as pool:
            list(pool.map(register, RECIPIENTS))


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[Federation]:
    fed = Federation(tmp_path)
    try:
        fed.start()
        yield fed
    finally:
        fed.stop()


class Syncers:
    """One thread per office calling ``POST /api/sync`` in a loop until stopped.

    A call that fails because its node or the hub is down is expected here; the loop
    carries on so that syncs are in flight again as soon as the process is back.
    """

    def __init__(self, fed: Federation, offices: tuple[str, ...]) -> None:
        self.stop_event = threading.Event()
        self.offices = offices
        self.completed: Counter[str] = Counter()
        self.threads = [
            threading.Thread(target=self._loop, args=(fed, o), daemon=True) for o in offices
        ]

    def _loop(self, fed: Federation, office: str) -> None:
        api = fed.api(office)
        while not self.stop_event.is_set():
            try:
                result = api.call("POST", "/api/sync", {})
            except NodeAPIError:
                # pacing the retries against a dead port, not synchronisation
                self.stop_event.wait(0.05)
                continue
            if result["ok"]:
                self.completed[office] += 1

    def wait_for_round_after_restart(self) -> None:
        """Wait until every office has completed a good sync begun after this call."""
        # A sync in flight now may have started before the restart: ask for two more.
        marks = {o: self.completed[o] + 2 for o in self.offices}
        wait_for(
            "every office synced again after the restart",
            lambda: all(self.completed[o] >= m for o, m in marks.items()),
            seconds=STARTUP_SECONDS,
        )

    def __enter__(self) -> Syncers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=90)
        assert not any(t.is_alive() for t in self.threads), "a sync call never returned"


def wait_for(what: str, condition: Callable[[], bool], seconds: float = PROGRESS_SECONDS) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)  # polling measured progress of real processes
    raise AssertionError(f"timed out waiting until {what}")


def queue_letters(fed: Federation, count: int, attach_every: int) -> dict[int, str]:
    """Queue ``count`` letters from the sender to both recipients; ``{id: env_id}``."""
    api = fed.api(SENDER)
    sent: dict[int, str] = {}
    for i in range(count):
        letter: dict[str, Any] = {
            "subject": f"ทดสอบการกู้คืนหลังระบบล่ม ฉบับที่ {i + 1}",
            "recipients": list(RECIPIENTS),
            "salutation": "เรียน ผู้ว่าราชการจังหวัด",
            "body": "ขอให้ตรวจสอบว่าหนังสือทุกฉบับถึงปลายทางครบและไม่ซ้ำ",
        }
        if attach_every and i % attach_every == 0:
            content = (f"เอกสารแนบฉบับที่ {i + 1}\n" * 120).encode()
            letter["attachments"] = [
                {
                    "name": f"attachment-{i + 1}.txt",
                    "media_type": "text/plain",
                    "content_base64": base64.b64encode(content).decode("ascii"),
                }
            ]
        answer = api.call("POST", "/api/letters", letter)
        sent[int(answer["id"])] = str(answer["env_id"])
    return sent


def assert_nothing_lost_or_duplicated(fed: Federation, sent: dict[int, str]) -> None:
    """Finish the day (sync, register, sync) and check every store."""
    fed.sync_until_quiet()
    fed.register_all()
    fed.sync_until_quiet()

    nodes = {o: fed.instance(o) for o in OFFICES}
    checks = check_federation(fed.hub_dir, nodes)
    expected = len(sent) * len(RECIPIENTS)
    assert checks["violations"] == []
    # every letter the sender's API acknowledged reached the hub, once
    assert checks["letters_sent"] == len(sent)
    assert checks["deliveries_expected"] == expected
    assert checks["deliveries_done"] == expected
    assert checks["receipts_registered"] == expected
    assert checks["receipts_returned"] == 0

    for office in RECIPIENTS:
        held = Counter(env_id for _, env_id, _ in fed.incoming(office))
        assert set(held) == set(sent.values()), office
        assert max(held.values()) == 1, f"{office} holds a letter twice"
        assert {state for _, _, state in fed.incoming(office)} == {"registered"}
        assert fed.missing_attachments(office) == 0

    api = fed.api(SENDER)
    assert api.call("GET", "/api/status")["outbox"] == 0
    for letter_id in sent:
        tracking = api.call("GET", f"/api/letters/{letter_id}")["tracking"]
        assert sorted((t["office"], t["state"]) for t in tracking) == sorted(
            (r, "registered") for r in RECIPIENTS
        ), letter_id

    from hub.admin.reports import numbering_report

    for register in numbering_report(fed.hub_dir):
        assert register["duplicates"] == 0, register
        assert register["gaps"] == [], register


LETTERS = 60


# When to SIGKILL the sender: a description and a condition on what the hub holds.
SENDER_KILL_POINTS: dict[str, tuple[str, Callable[[Federation], bool]]] = {
    "mid-upload": (
        "the hub holds 3 whole attachments and one partial upload",
        lambda fed: fed.hub_blobs()[0] >= 3 and fed.hub_blobs()[1] > 0,
    ),
    "early-push": ("the hub accepted a letter", lambda fed: fed.hub_letters_from() >= 1),
    "mid-push": ("the hub accepted 25 letters", lambda fed: fed.hub_letters_from() >= 25),
    "late": (
        f"the hub accepted all {LETTERS} letters",
        lambda fed: fed.hub_letters_from() >= LETTERS,
    ),
}


@pytest.mark.parametrize(
    ("sender_kill_point", "recipient_after"),
    [
        pytest.param("mid-upload", 0, marks=pytest.mark.soak),
        pytest.param("early-push", 0, marks=pytest.mark.soak),
        ("mid-push", 10),
        pytest.param("late", 45, marks=pytest.mark.soak),
    ],
)
def test_node_killed_mid_sync_loses_and_duplicates_nothing(
    federation: Federation, sender_kill_point: str, recipient_after: int
) -> None:
    fed = federation
    sent = queue_letters(fed, LETTERS, attach_every=4)
    victim = RECIPIENTS[0]
    victim_api = fed.api(victim)
    what, reached = SENDER_KILL_POINTS[sender_kill_point]

    with Syncers(fed, OFFICES) as syncers:
        wait_for(what, lambda: reached(fed))
        fed.nodes[SENDER].kill()
        wait_for(
            f"{victim} received {recipient_after} letters",
            lambda: victim_api.call("GET", "/api/stats")["received"] >= recipient_after,
        )
        fed.nodes[victim].kill()
        fed.restart_node(SENDER)
        fed.restart_node(victim)
        syncers.wait_for_round_after_restart()

    assert_nothing_lost_or_duplicated(fed, sent)


HUB_LETTERS = 150
"""Letters queued before the hub is killed: 15 pushes of 10, killed after the 2nd or the 11th."""


@pytest.mark.parametrize(
    "hub_after", [pytest.param(20, marks=pytest.mark.soak), 110], ids=["early", "late"]
)
def test_hub_killed_mid_push_loses_and_duplicates_nothing(
    federation: Federation, hub_after: int
) -> None:
    fed = federation
    sent = queue_letters(fed, HUB_LETTERS, attach_every=0)
    assert fed.api(SENDER).call("GET", "/api/status")["outbox"] >= HUB_LETTERS

    with Syncers(fed, OFFICES) as syncers:
        wait_for(
            f"the hub accepted {hub_after} letters",
            lambda: fed.hub_letters_from(SENDER) >= hub_after,
        )
        assert fed.hub is not None
        fed.hub.kill()
        assert fed.hub_letters_from(SENDER) < HUB_LETTERS, "the push finished before the kill"
        fed.start_hub()
        syncers.wait_for_round_after_restart()

    assert_nothing_lost_or_duplicated(fed, sent)
