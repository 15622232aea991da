"""The real processes a benchmark measures: a hub and office nodes, each started as
``python -m scripts.cli.main hub|node serve`` (:mod:`scripts.fleet`) on 127.0.0.1 with its
default settings, in a work folder of its own.

:class:`BenchFederation` creates the hub's instance (the pilot offices of
``hub/data/offices.json``, and any extra offices a benchmark needs), starts it, enrolls
offices simulated in the bench process (:class:`~scripts.bench.traffic.SimOffice`) and
creates and starts nodes (:class:`BenchNode`), and stops every process it started when its
``with`` block ends. A node is watched from outside as a user would: its inbox read from
its SQLite file opened read-only, its memory from ``/proc/<pid>/status`` (VmRSS now, VmHWM
the peak).

Does not: change any setting of the processes, or time anything.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from scripts.bench.traffic import SimOffice, Tally
from scripts.fleet import Service, free_ports, start_service
from scripts.nodeapi import read_token

STARTUP_SECONDS = 90.0
SYNC_TIMEOUT = 1800.0
POLL_SECONDS = 0.02
INBOX_POLL_SECONDS = 0.1
STALL_SECONDS = 30.0


def child_pids(pid: int) -> list[int]:
    """The processes ``pid`` started that still run."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text(encoding="ascii").split()]
        except FileNotFoundError:  # the thread ended since it was listed
            continue
    return found


def process_memory_mb(pid: int) -> tuple[float, float]:
    """``(VmRSS, VmHWM)`` of a live process in MB: its resident memory now and its peak."""
    fields: dict[str, float] = {}
    text = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(rest.split()[0]) / 1024  # the kernel gives kB
    return fields["VmRSS"], fields["VmHWM"]


class BenchNode:
    """An office node created and enrolled at the hub; :meth:`start` serves it."""

    def __init__(self, federation: BenchFederation, office: str) -> None:
        from node.sync.enrolment import init_node

        self.federation = federation
        self.office = office
        self.instance = federation.workdir / "nodes" / office.replace(" ", "_")
        init_node(self.instance, federation.hub_url, office, federation.token(office))
        self.database = self.instance / "node.sqlite"
        self.url = ""
        self.service: Service | None = None
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {read_token(self.instance)}"

    def start(self) -> None:
        """Serve the node (its scheduler running) and wait until it answers."""
        port = free_ports(1)[0]
        self.url = f"http://127.0.0.1:{port}"
        argv = ["node", "serve", "--instance", str(self.instance), "--port", str(port)]
        log = self.federation.workdir / "logs" / f"node-{self.office.replace(' ', '_')}.log"
        self.service = self.federation.spawn(
            f"node {self.office}", argv, self.url, "/api/health", log
        )

    @property
    def pid(self) -> int:
        """The process id of the serving node."""
        assert self.service is not None, "the node is not serving"
        return self.service.proc.pid

    def memory_mb(self) -> tuple[float, float]:
        """``(VmRSS, VmHWM)`` of the node process with its worker processes (the pull's
        verifier, ADR 0027), in MB: each process's figures added up, so the peak counted
        is at least the peak they reached together."""
        rss, peak = process_memory_mb(self.pid)
        for child in child_pids(self.pid):
            try:
                child_rss, child_peak = process_memory_mb(child)
            except FileNotFoundError:  # ended since it was listed
                continue
            rss, peak = rss + child_rss, peak + child_peak
        return rss, peak

    def call(self, method: str, path: str, body: Any = None, timeout: float = 60.0) -> Any:
        """One call of the node's local API; a 4xx/5xx answer raises."""
        resp = self.session.request(method, self.url + path, json=body, timeout=timeout)
        if resp.status_code >= 400:
            raise RuntimeError(
                f"{self.office} {method} {path}: HTTP {resp.status_code} {resp.text[:300]}"
            )
        return resp.json()

    def sync(self) -> dict[str, Any]:
        """Ask the node to sync now (``POST /api/sync``) and wait for its answer."""
        result: dict[str, Any] = self.call("POST", "/api/sync", {}, timeout=SYNC_TIMEOUT)
        return result

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        uri = f"file:{self.database}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=30)) as conn:
            return list(conn.execute(sql, params))

    def inbox_count(self) -> int:
        """Letters received into this node's inbox, read from its database file."""
        return int(self._rows("SELECT count(*) FROM letters WHERE direction = 'in'")[0][0])

    def holds(self, env_id: str) -> bool:
        """Whether the letter ``env_id`` is in this node's inbox."""
        sql = "SELECT 1 FROM letters WHERE env_id = ? AND direction = 'in'"
        return bool(self._rows(sql, (env_id,)))

    def await_inbox(self, count: int, seconds: float = SYNC_TIMEOUT) -> int:
        """Ask once for a sync now (as a clerk's ส่ง/รับเดี๋ยวนี้ does, without waiting for
        its answer) and wait until ``count`` letters are in the inbox, the node's own live
        sync doing the rest (ADR 0016); the syncs asked for, 1 or 2.

        The figure is the inbox as a clerk sees it: the node's later rounds (the receipts
        it sends back) are not waited for. A node whose inbox stops growing for
        :data:`STALL_SECONDS` is asked once more, then the wait fails.
        """
        nudges = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-nudge")
        asked = [nudges.submit(self.sync)]
        deadline = time.monotonic() + seconds
        have, moved = self.inbox_count(), time.monotonic()
        try:
            while have < count:
                if time.monotonic() > deadline or (
                    len(asked) > 1 and time.monotonic() - moved > STALL_SECONDS
                ):
                    errors = [str(f.exception()) for f in asked if f.done() and f.exception()]
                    raise TimeoutError(
                        f"{self.office} holds {have} of {count} letters after "
                        f"{seconds:.0f} s (sync errors: {errors or 'none'})"
                    )
                if time.monotonic() - moved > STALL_SECONDS and asked[-1].done():
                    asked.append(nudges.submit(self.sync))
                    moved = time.monotonic()
                time.sleep(INBOX_POLL_SECONDS)
                now_have = self.inbox_count()
                if now_have > have:
                    have, moved = now_have, time.monotonic()
        finally:
            nudges.shutdown(wait=False)
        return len(asked)

    def sync_until_inbox(self, count: int, seconds: float = SYNC_TIMEOUT) -> int:
        """Sync again and again until ``count`` letters are in the inbox; the syncs asked."""
        deadline = time.monotonic() + seconds
        syncs = 0
        last_error = None
        while self.inbox_count() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.office} holds {self.inbox_count()} of {count} letters after "
                    f"{seconds:.0f} s of syncing (last sync error: {last_error})"
                )
            result = self.sync()
            syncs += 1
            last_error = result.get("error")
            if not result.get("online") and last_error:
                raise RuntimeError(f"{self.office} could not reach the hub: {last_error}")
        return syncs


class BenchFederation:
    """A hub process and the offices and nodes of one benchmark, stopped on exit."""

    def __init__(self, workdir: Path, extra_offices: Sequence[str] = ()) -> None:
        from hub.admin.instance import init_hub

        self.workdir = workdir
        self.hub_instance = workdir / "hub"
        init_hub(self.hub_instance)
        if extra_offices:
            _add_offices(self.hub_instance, extra_offices)
        self.services: list[Service] = []
        self.nodes: list[BenchNode] = []
        self.offices: list[SimOffice] = []
        self.tally = Tally()
        port = free_ports(1)[0]
        self.hub_url = f"http://127.0.0.1:{port}"
        argv = ["hub", "serve", "--instance", str(self.hub_instance), "--port", str(port)]
        try:
            self.hub = self.spawn(
                "hub", argv, self.hub_url, "/api/v1/health", workdir / "logs" / "hub.log"
            )
        except BaseException:
            self.stop()  # no with block runs __exit__ when the constructor fails
            raise

    def __enter__(self) -> BenchFederation:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if error is not None:
            print(self.log_tails(), file=sys.stderr)
        self.stop()

    def spawn(self, name: str, argv: list[str], url: str, health: str, log: Path) -> Service:
        """Start one ``saraban ... serve`` process and wait until it answers."""
        service = start_service(name, argv, url, health, log)
        self.services.append(service)
        service.wait_ready(time.monotonic() + STARTUP_SECONDS)
        return service

    def stop(self) -> None:
        """Stop every process started here and close the simulated offices' connections."""
        for office in self.offices:
            office.close()
        for node in self.nodes:
            node.session.close()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda s: s.stop(), self.services))

    def pilot_offices(self) -> list[str]:
        """The ids of the offices shipped with the hub (the ministry and 18 provinces)."""
        from hub.admin.offices import offices

        return [o["id"] for o in offices(self.hub_instance) if not o["id"].startswith(EXTRA_PREFIX)]

    def token(self, office: str) -> str:
        """A one-time enrollment token for ``office``, as the operator issues it."""
        from hub.admin.tokens import issue_enrollment_token

        return issue_enrollment_token(self.hub_instance, office, 1)

    def enroll(self, office: str) -> SimOffice:
        """Enroll ``office`` as an office simulated in this process, with keys of its own."""
        sim = SimOffice(office, self.hub_url, self.tally)
        sim.enroll(self.token(office))
        self.offices.append(sim)
        return sim

    def node(self, office: str, start: bool = True) -> BenchNode:
        """Create (and by default start) the node of ``office``."""
        node = BenchNode(self, office)
        self.nodes.append(node)
        if start:
            node.start()
        return node

    def log_tails(self, chars: int = 600) -> str:
        """The end of every process's log, to show when a benchmark fails."""
        tails = []
        for s in self.services:
            text = s.log.read_text(encoding="utf-8", errors="replace") if s.log.exists() else ""
            tails.append(f"--- {s.name} ({s.log})\n{text[-chars:]}")
        return "\n".join(tails)


EXTRA_PREFIX = "ทด "
"""The letters of the offices the storm adds (ทด for ทดสอบ): ``ทด 0001`` ... ``ทด 1000``."""


def extra_office_ids(count: int) -> list[str]:
    """``count`` office ids beside the pilot offices."""
    return [f"{EXTRA_PREFIX}{i:04d}" for i in range(1, count + 1)]


def _add_offices(instance: Path, ids: Sequence[str]) -> None:
    """Add many offices in one transaction with one directory version (before the hub
    starts), where the operator's :func:`hub.admin.offices.add_office` signs one each."""
    from hub.admin.access import open_hub
    from hub.admin.lists import rebuild_derived_lists
    from hub.directory import HubKeyring, publish_directory

    now = time.time()
    with open_hub(instance) as (path, _, store), store.write():
        for i, office in enumerate(ids, 1):
            store.add_office(office, f"สำนักงานทดสอบ {i}", None, None, None, now)
        rebuild_derived_lists(store)
        publish_directory(store, HubKeyring.load(path, store), now)
