"""A hub and office nodes as separate processes, each node reaching the hub through its
own :class:`~scripts.faults.proxy.FaultProxy`.

:meth:`FaultFederation.start` creates the hub's instance, starts ``saraban hub serve``,
opens one proxy per office (the office's link), enrolls each office through its link and
starts ``saraban node serve`` for it, so every request a node makes to the hub crosses the
proxy. Any process can be started with a crash point armed (``SARABAN_CRASH_AT``, see
:mod:`protocol.crashpoints`), SIGKILLed, restarted on the same folder and port, or
restarted from an older copy of its folder.

The clerks' hands are the nodes' local API (:class:`~scripts.nodeapi.NodeHTTP`). Waiting
is always on observable progress with a deadline (:func:`wait_for`), never a bare sleep.
:meth:`FaultFederation.finish_day` heals every link, syncs until quiet, registers every
letter received and syncs again; :meth:`FaultFederation.check` then reads every store with
:func:`scripts.invariants.check_federation`.

Does not: decide what goes wrong (the tests and :mod:`scripts.soak` do) or judge it
(:mod:`scripts.invariants`).
"""

from __future__ import annotations

import base64
import shutil
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

from protocol.crashpoints import CRASH_ENV, CRASH_LINE, parse_crash_spec
from scripts.faults.proxy import FaultProxy
from scripts.fleet import Service, free_ports, start_service
from scripts.invariants import check_federation, hub_rows
from scripts.nodeapi import NodeAPIError, NodeHTTP, read_token

STARTUP_SECONDS = 60.0
PROGRESS_SECONDS = 60.0
MAX_QUIET_ROUNDS = 15

NODE_ENV: dict[str, str] = {
    # The harness drives syncs itself; a test that wants the scheduler sets its own.
    "SARABAN_NODE_SYNC_INTERVAL_MINUTES": "600",
    "SARABAN_NODE_WATCH_SECONDS": "0",  # no live sync either (ADR 0016)
    # Small batches and chunks: one sync is many requests, so a fault lands inside one.
    "SARABAN_NODE_PUSH_BATCH": "10",
    "SARABAN_NODE_PULL_BATCH": "10",
    "SARABAN_NODE_CHUNK_BYTES": "1024",
    "SARABAN_NODE_HTTP_TIMEOUT_SECONDS": "10",
}
"""Settings every node process of the harness runs with, unless a test overrides them."""


def wait_for(what: str, condition: Callable[[], bool], seconds: float = PROGRESS_SECONDS) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)  # polling measured progress of real processes
    raise AssertionError(f"timed out waiting until {what}")


def read_rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a live store, read without writing to it."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as conn:
        return list(conn.execute(sql, params))


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite file (SQLite's backup API), WAL folded in."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=10)) as src:
        with closing(sqlite3.connect(target)) as dst:
            src.backup(dst)


def remove_database(path: Path) -> None:
    """A SQLite file and its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def letter_json(subject: str, recipients: Sequence[str], attachment: bytes = b"") -> dict[str, Any]:
    """The local API's body for a one-step send, with one text attachment if given."""
    letter: dict[str, Any] = {
        "subject": subject,
        "recipients": list(recipients),
        "salutation": "เรียน ผู้ว่าราชการจังหวัด",
        "body": "ขอให้ตรวจสอบว่าหนังสือทุกฉบับถึงปลายทางครบและไม่ซ้ำ",
    }
    if attachment:
        letter["attachments"] = [
            {
                "name": "attachment.txt",
                "media_type": "text/plain",
                "content_base64": base64.b64encode(attachment).decode("ascii"),
            }
        ]
    return letter


class FaultFederation:
    """A hub process and node processes on 127.0.0.1, each node behind its own proxy."""

    def __init__(
        self,
        root: Path,
        offices: Sequence[str],
        seed: int = 0,
        node_env: dict[str, str] | None = None,
        hub_env: dict[str, str] | None = None,
        hub_processes: int = 1,
    ) -> None:
        self.root = root
        self.offices = tuple(offices)
        self.seed = seed
        self.node_env = {**NODE_ENV, **(node_env or {})}
        self.hub_env = dict(hub_env or {})
        self.hub_dir = root / "hub"
        ports = free_ports(hub_processes + len(self.offices))
        self.hub_ports = ports[:hub_processes]
        self.hub_port = ports[0]
        self.hub_url = f"http://127.0.0.1:{self.hub_port}"
        self.node_ports = dict(zip(self.offices, ports[hub_processes:], strict=True))
        self.proxies: dict[str, FaultProxy] = {}
        self.hubs: list[Service | None] = [None] * hub_processes
        """The hub's processes, all on one database; each office's proxy balances over them."""
        self.nodes: dict[str, Service] = {}
        self.injected: Counter[str] = Counter()  # kills and crashes, beside the proxies' faults
        self.last_report: dict[str, Any] | None = None

    # ---- where things are -------------------------------------------------------------

    def instance(self, office: str) -> Path:
        """The instance folder of ``office``'s node."""
        return self.root / "nodes" / office.replace(" ", "_")

    def node_db(self, office: str) -> Path:
        """The SQLite file of ``office``'s node."""
        return self.instance(office) / "node.sqlite"

    @property
    def hub_db(self) -> Path:
        """The hub's SQLite file."""
        return self.hub_dir / "hub.sqlite"

    def node_url(self, office: str) -> str:
        """Where ``office``'s node serves its pages and local API."""
        return f"http://127.0.0.1:{self.node_ports[office]}"

    def api(self, office: str, timeout: float = 90.0) -> NodeHTTP:
        """A fresh client of the node's local API (one per thread)."""
        return NodeHTTP(self.node_url(office), read_token(self.instance(office)), timeout)

    def log(self, name: str) -> Path:
        """The log file of the hub (``hub``) or of an office's node."""
        return self.root / "logs" / f"{name.replace(' ', '_')}.log"

    # ---- processes ----------------------------------------------------------------------

    def start(
        self,
        hub_crash_at: str | None = None,
        shared: Sequence[tuple[str, str, Sequence[str]]] = (),
        node_crash_at: Mapping[str, str] | None = None,
    ) -> None:
        """Create and start the hub, one proxy per office, and every node.

        ``shared`` lists registers numbered by the hub, ``(owner, series, members)``;
        ``hub_crash_at`` and ``node_crash_at`` (by office) arm crash points from the start.
        """
        from hub.admin.instance import init_hub
        from hub.admin.offices import add_shared_register
        from hub.admin.tokens import issue_enrollment_token
        from node.sync.enrolment import init_node

        init_hub(self.hub_dir)
        for owner, series, members in shared:
            add_shared_register(self.hub_dir, owner, series, list(members))
        for index in range(len(self.hubs)):
            self.start_hub(hub_crash_at if index == 0 else None, index)
        for office in self.offices:
            self.proxies[office] = FaultProxy(office, self.hub_ports, self.seed)

        def enroll(office: str) -> None:
            token = issue_enrollment_token(self.hub_dir, office, 1)
            init_node(self.instance(office), self.proxies[office].url, office, token)

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(enroll, self.offices))
        for office in self.offices:
            self.launch_node(office, (node_crash_at or {}).get(office))
        deadline = time.monotonic() + STARTUP_SECONDS
        for office in self.offices:
            self.nodes[office].wait_ready(deadline)

    @property
    def hub(self) -> Service | None:
        """The hub's (first) process."""
        return self.hubs[0]

    def start_hub(self, crash_at: str | None = None, index: int = 0) -> Service:
        """Start (or restart) the hub's process ``index`` on its port; with ``crash_at`` a
        crash point armed."""
        env = {**self.hub_env, **self._crash_env(crash_at)}
        port = self.hub_ports[index]
        name = "hub" if index == 0 else f"hub-{index + 1}"
        service = start_service(
            name,
            ["hub", "serve", "--instance", str(self.hub_dir), "--port", str(port)],
            f"http://127.0.0.1:{port}",
            "/api/v1/health",
            self.log(name),
            env,
        )
        self.hubs[index] = service
        service.wait_ready(time.monotonic() + STARTUP_SECONDS)
        return service

    def launch_node(
        self, office: str, crash_at: str | None = None, env: dict[str, str] | None = None
    ) -> Service:
        """Start ``office``'s node process without waiting for it to be ready."""
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
            self.log(office),
            {**self.node_env, **(env or {}), **self._crash_env(crash_at)},
        )
        self.nodes[office] = service
        return service

    def start_node(
        self, office: str, crash_at: str | None = None, env: dict[str, str] | None = None
    ) -> Service:
        """Start (or restart) ``office``'s node on its folder and port, and wait for it."""
        if office in self.nodes and self.nodes[office].proc.poll() is None:
            raise RuntimeError(f"{office}'s node is still running")
        service = self.launch_node(office, crash_at, env)
        service.wait_ready(time.monotonic() + STARTUP_SECONDS)
        return service

    @staticmethod
    def _crash_env(crash_at: str | None) -> dict[str, str]:
        if not crash_at:
            return {CRASH_ENV: ""}
        parse_crash_spec(crash_at)  # an unknown point would never fire: refuse it now
        return {CRASH_ENV: crash_at}

    def kill_node(self, office: str) -> None:
        """SIGKILL ``office``'s node: a crash."""
        self.injected["sigkill node"] += 1
        self.nodes[office].kill()

    def kill_hub(self, index: int = 0) -> None:
        """SIGKILL the hub's process ``index``: a crash."""
        service = self.hubs[index]
        assert service is not None
        self.injected["sigkill hub"] += 1
        service.kill()

    def wait_for_crash(
        self, service: Service, point: str, seconds: float = PROGRESS_SECONDS
    ) -> None:
        """Wait until ``service`` died of SIGKILL at crash point ``point`` (its log says so)."""
        name = parse_crash_spec(point)[0]
        wait_for(
            f"{service.name} crashed at {name}", lambda: service.proc.poll() is not None, seconds
        )
        code = service.proc.returncode
        tail = service.log.read_text(encoding="utf-8", errors="replace")
        line = CRASH_LINE.split("{name}")[0] + name + " "
        assert code == -signal.SIGKILL, f"{service.name} exited with {code}, not SIGKILL"
        assert line in tail, f"{service.name} died, but not at {name}:\n{tail[-800:]}"
        self.injected[f"crash point {name}"] += 1

    def stop(self) -> None:
        """Stop every process and proxy."""
        services = [*self.nodes.values(), *(h for h in self.hubs if h is not None)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda s: s.stop(), services))
        for proxy in self.proxies.values():
            proxy.close()

    # ---- old copies ---------------------------------------------------------------------

    def copy_node_folder(self, office: str, target: Path) -> Path:
        """An old copy of ``office``'s node folder as a backup would take it, node running."""
        source = self.instance(office)
        shutil.copytree(
            source,
            target,
            ignore=shutil.ignore_patterns("node.sqlite", "node.sqlite-*", "*.part"),
        )
        copy_database(source / "node.sqlite", target / "node.sqlite")
        return target

    def put_back_node_folder(self, office: str, copy: Path) -> None:
        """Replace ``office``'s (stopped) node folder with ``copy``."""
        if office in self.nodes and self.nodes[office].proc.poll() is None:
            raise RuntimeError(f"stop {office}'s node before putting an old copy back")
        shutil.rmtree(self.instance(office))
        shutil.copytree(copy, self.instance(office))
        self.injected["restart from an old copy"] += 1

    def copy_hub(self, target: Path) -> Path:
        """A backup of the hub, taken while it runs: its database and attachment bytes."""
        target.mkdir(parents=True, exist_ok=True)
        copy_database(self.hub_db, target / "hub.sqlite")
        if (self.hub_dir / "blobs").exists():
            shutil.copytree(self.hub_dir / "blobs", target / "blobs")
        return target

    def put_back_hub(self, backup: Path) -> None:
        """Replace the (stopped) hub's database and attachment bytes with ``backup``."""
        if any(h is not None and h.proc.poll() is None for h in self.hubs):
            raise RuntimeError("stop the hub before restoring a backup")
        remove_database(self.hub_db)
        shutil.copy2(backup / "hub.sqlite", self.hub_db)
        shutil.rmtree(self.hub_dir / "blobs", ignore_errors=True)
        if (backup / "blobs").exists():
            shutil.copytree(backup / "blobs", self.hub_dir / "blobs")
        self.injected["hub restored from an older backup"] += 1

    # ---- the clerks' hands --------------------------------------------------------------

    def send_letters(
        self,
        sender: str,
        recipients: Sequence[str],
        count: int,
        attach_every: int = 0,
        attachment_bytes: int = 3000,
        label: str = "",
    ) -> dict[int, str]:
        """Send ``count`` letters through the sender's API; ``{letter id: env_id}``."""
        api = self.api(sender)
        sent: dict[int, str] = {}
        for i in range(count):
            attachment = b""
            if attach_every and i % attach_every == 0:
                line = f"เอกสารแนบ {label} ฉบับที่ {i + 1} จาก {sender}\n".encode()
                attachment = (line * (attachment_bytes // len(line) + 1))[:attachment_bytes]
            subject = f"ทดสอบความทนทาน {label} ฉบับที่ {i + 1}".strip()
            answer = api.call("POST", "/api/letters", letter_json(subject, recipients, attachment))
            sent[int(answer["id"])] = str(answer["env_id"])
        return sent

    def sync(self, office: str) -> dict[str, Any]:
        """``POST /api/sync`` on ``office``'s node; the sync's result."""
        result: dict[str, Any] = self.api(office).call("POST", "/api/sync", {})
        return result

    def sync_round(self, offices: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """One sync on every node (or ``offices``) at once."""
        chosen = tuple(offices or self.offices)
        with ThreadPoolExecutor(max_workers=min(8, len(chosen))) as pool:
            return dict(zip(chosen, pool.map(self.sync, chosen), strict=True))

    def sync_until_quiet(self, offices: Iterable[str] | None = None) -> None:
        """Sync until a round succeeds everywhere and moves nothing."""
        chosen = tuple(offices or self.offices)
        results: dict[str, dict[str, Any]] = {}
        for _ in range(MAX_QUIET_ROUNDS):
            results = self.sync_round(chosen)
            moved = sum(int(r["pushed"]) + int(r["pulled"]) for r in results.values())
            if moved == 0 and all(r["ok"] for r in results.values()):
                return
        failing = {o: r.get("error") for o, r in results.items() if not r["ok"] or r["pushed"]}
        raise AssertionError(f"the federation did not become quiet: {failing}")

    def incoming(self, office: str) -> list[tuple[int, str, str]]:
        """``(id, env_id, state)`` of every letter the office received."""
        sql = "SELECT id, env_id, state FROM letters WHERE direction = 'in' ORDER BY id"
        return [(int(i), str(e), str(s)) for i, e, s in read_rows(self.node_db(office), sql)]

    def register_all(self, offices: Iterable[str] | None = None) -> int:
        """ลงรับ every letter waiting at each node, as its clerk would: a letter whose
        attachments have not all arrived yet waits for them (the node refuses it,
        ``attachments_missing``); how many were registered."""
        sql = (
            "SELECT id FROM letters WHERE direction = 'in' AND state = 'delivered' AND env_id "
            "NOT IN (SELECT letter_env FROM awaiting_attachments) ORDER BY id"
        )

        def register(office: str) -> int:
            api = self.api(office)
            ready = read_rows(self.node_db(office), sql)
            for (letter_id,) in ready:
                api.call("POST", f"/api/letters/{letter_id}/register", {})
            return len(ready)

        chosen = tuple(offices or self.offices)
        with ThreadPoolExecutor(max_workers=min(8, len(chosen))) as pool:
            return sum(pool.map(register, chosen))

    def heal(self) -> None:
        """Every link carries traffic again, with no faults."""
        for proxy in self.proxies.values():
            proxy.heal()

    def finish_day(self) -> dict[str, Any]:
        """Heal the links, sync until quiet, register everything, sync again, then check."""
        self.heal()
        self.sync_until_quiet()
        self.register_all()
        self.sync_until_quiet()
        return self.check()

    # ---- reading the stores -------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        """:func:`scripts.invariants.check_federation` over every store."""
        self.last_report = check_federation(
            self.hub_dir, {o: self.instance(o) for o in self.offices}
        )
        return self.last_report

    def faults_injected(self) -> Counter[str]:
        """Faults injected so far, by kind: every proxy's, and the kills and crashes."""
        total: Counter[str] = Counter(self.injected)
        for proxy in self.proxies.values():
            total.update(proxy.counts())
        return total

    def hub_count(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """One count from the hub's store."""
        return int(self.hub_rows(sql, params)[0][0])

    def hub_rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of the hub's database (SQLite or PostgreSQL), read without writing."""
        return hub_rows(self.hub_dir, sql, params)

    def node_count(self, office: str, sql: str, params: tuple[Any, ...] = ()) -> int:
        """One count from a node's store."""
        return int(read_rows(self.node_db(office), sql, params)[0][0])

    def hub_letters_from(self, office: str) -> int:
        """Letters of ``office`` the hub has accepted."""
        return self.hub_count(
            "SELECT COUNT(*) FROM feed WHERE origin = ? AND kind = 'letter'", (office,)
        )

    def status(self, office: str) -> dict[str, Any]:
        """``GET /api/status`` of ``office``'s node."""
        answer: dict[str, Any] = self.api(office).call("GET", "/api/status")
        return answer

    def try_sync(self, office: str) -> dict[str, Any] | None:
        """A sync that may meet a dead node: None when the node does not answer."""
        try:
            return self.sync(office)
        except NodeAPIError as e:
            if e.status in (0, 500, 502, 503):
                return None
            raise
