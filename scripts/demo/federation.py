"""The demo's federation: a real hub and a node per office, as processes on this machine.

:meth:`Federation.start` creates the hub's instance (with the shared circular register),
enrolls every office with a one-time token, and starts the hub and the nodes as
``saraban hub serve`` / ``saraban node serve`` processes on free ports, their output in
``logs/`` of the work folder; the offline office reaches the hub through a
:class:`~scripts.fleet.Link` the day can cut. The clerks' hands are the node's local API
(:class:`~scripts.nodeapi.NodeHTTP`) and the command line, run as
``python -m scripts.cli.main`` in a subprocess exactly as a clerk would type it.

Does not: decide what happens during the day (:mod:`scripts.demo.day`) or judge it
(:mod:`scripts.demo.summary`).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from scripts.demo.cast import (
    DEMO_CLERK,
    DEMO_OPERATOR,
    MAX_QUIET_ROUNDS,
    OFFLINE,
    OFFLINE_LEASE_SIZE,
    PAPER,
    SHARED,
)
from scripts.fleet import Link, Service, free_ports, start_service
from scripts.nodeapi import NodeHTTP, read_token


class Federation:
    """The hub and node processes of one demo run, and the clerks' hands on them."""

    def __init__(self, workdir: Path, say: Any) -> None:
        self.workdir = workdir
        self.say = say
        self.services: list[Service] = []
        self.nodes: dict[str, NodeHTTP] = {}
        self.node_urls: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.link: Link | None = None
        self.hub_url = ""
        self.sync_errors: list[str] = []

    # ---- setting up -------------------------------------------------------------------

    def start(self) -> None:
        """Create the hub and every node afresh in the work folder, and start them all."""
        from hub.admin.instance import init_hub
        from hub.admin.offices import add_shared_register, offices
        from hub.admin.tokens import issue_enrollment_token
        from node.sync.enrolment import init_node

        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        hub_dir = self.workdir / "hub"
        init_hub(hub_dir)
        fleet = offices(hub_dir)
        self.names = {o["id"]: o["name"] for o in fleet}
        add_shared_register(hub_dir, SHARED[0], SHARED[1], list(self.names), "calendar")

        ports = free_ports(len(fleet) + 2)
        hub_port, link_port, node_ports = ports[0], ports[1], ports[2:]
        self.hub_url = f"http://127.0.0.1:{hub_port}"
        self._spawn(
            "hub",
            ["hub", "serve", "--instance", str(hub_dir), "--port", str(hub_port)],
            self.hub_url,
            "/api/v1/health",
            {},
        )
        self._wait_all()
        self.say(f"ศูนย์กลาง (hub) พร้อมที่ {self.hub_url}")

        self.link = Link(link_port, hub_port)
        self.link.restore()
        link_url = f"http://127.0.0.1:{link_port}"

        def enroll(office: dict[str, Any], port: int) -> None:
            oid = office["id"]
            inst = self.instance_of(oid)
            token = issue_enrollment_token(hub_dir, oid, 24)
            hub_for_node = link_url if oid == OFFLINE else self.hub_url
            init_node(inst, hub_for_node, oid, token)
            env: dict[str, str] = {}
            if oid == OFFLINE:
                env["SARABAN_NODE_LEASE_SIZE"] = str(OFFLINE_LEASE_SIZE)
            url = f"http://127.0.0.1:{port}"
            self.node_urls[oid] = url
            self._spawn(
                oid,
                ["node", "serve", "--instance", str(inst), "--port", str(port)],
                url,
                "/api/health",
                env,
            )

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(enroll, fleet, node_ports))
        self._wait_all()
        for oid in self.names:
            self.nodes[oid] = NodeHTTP(self.node_urls[oid], read_token(self.instance_of(oid)))
        self.say(f"สำนักงาน {len(self.nodes)} แห่งลงทะเบียนกับศูนย์กลางและเปิดให้บริการแล้ว")

    def instance_of(self, office: str) -> Path:
        """The instance folder of ``office``'s node."""
        return self.workdir / "nodes" / office.replace(" ", "_")

    def _spawn(
        self, name: str, argv: list[str], url: str, health: str, env: dict[str, str]
    ) -> None:
        log = self.workdir / "logs" / f"{name.replace(' ', '_')}.log"
        self.services.append(start_service(name, argv, url, health, log, env))

    def _wait_all(self) -> None:
        deadline = time.monotonic() + 90
        for s in self.services:
            s.wait_ready(deadline)

    def stop(self) -> None:
        if self.link is not None:
            self.link.cut()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda s: s.stop(), self.services))

    # ---- clerks' actions --------------------------------------------------------------

    def cli(self, office: str, *argv: str) -> dict[str, Any]:
        """Run `saraban <argv> --instance <office's node> --json` as a clerk would."""
        instance = str(self.instance_of(office))
        proc = subprocess.run(
            [sys.executable, "-m", "scripts.cli.main", *argv, "--json", "--instance", instance],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"saraban {' '.join(argv[:2])}: {proc.stderr.strip()}")
        result: dict[str, Any] = json.loads(proc.stdout)
        return result

    def sync(self, offices: list[str] | None = None) -> dict[str, dict[str, Any]]:
        targets = offices or list(self.nodes)
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = dict(
                pool.map(lambda o: (o, self.nodes[o].call("POST", "/api/sync", {})), targets)
            )
        for office, r in results.items():
            if not r.get("ok") and self._online(office):
                self.sync_errors.append(f"{office}: {r.get('error_code')}: {r.get('error')}")
        return results

    def sync_until_quiet(self) -> int:
        """Sync everyone in rounds until a round moves nothing and every sync succeeded
        (a failed sync moves nothing either, but is not quiet); returns the rounds used."""
        for round_no in range(1, MAX_QUIET_ROUNDS + 1):
            results = self.sync([o for o in self.nodes if self._online(o)])
            moved = sum(int(r.get("pushed", 0)) + int(r.get("pulled", 0)) for r in results.values())
            if moved == 0 and all(r.get("ok") for r in results.values()):
                return round_no
        return MAX_QUIET_ROUNDS

    def caught_up(self, office: str, seconds: float = 120.0) -> None:
        """Wait, without syncing, until ``office`` has sent everything and holds no
        provisional number: its live sync does the work once its link is back."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            status = self.nodes[office].call("GET", "/api/status")
            if status["outbox"] == 0 and status["provisional_pending"] == 0:
                return
            time.sleep(0.2)  # polling a real process's progress
        raise RuntimeError(f"{office} did not catch up within {seconds:.0f} s of its link")

    def _online(self, office: str) -> bool:
        return office != OFFLINE or (self.link is not None and self.link.up)

    def send(self, office: str, **letter: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.nodes[office].call("POST", "/api/letters", letter)
        return result

    def inbox(self, office: str) -> list[dict[str, Any]]:
        data = self.nodes[office].call("GET", "/api/letters?box=inbox")
        rows: list[dict[str, Any]] = data["letters"]
        return rows

    def register_all(
        self, office: str, skip_from: str | None = None, only: str | None = None
    ) -> int:
        """ลงรับ every delivered letter in ``office``'s inbox (``only`` one envelope's)."""
        done = 0
        for letter in self.inbox(office):
            if letter.get("state") != "delivered" or letter.get("origin") == skip_from:
                continue
            if only is not None and letter.get("env_id") != only:
                continue
            self.nodes[office].call("POST", f"/api/letters/{letter['id']}/register", {})
            done += 1
        return done

    # ---- accounts for trying the pages -------------------------------------------------

    def add_demo_clerk(self) -> str:
        """A clerk account at เชียงใหม่ for trying the pages; its password is new each run."""
        return _add_account(
            "node",
            DEMO_CLERK,
            ("--name", "เจ้าหน้าที่สารบรรณ (สาธิต)", "--role", "clerk", "--role", "executive"),
            self.instance_of(PAPER),
        )

    def add_registrar(self, office: str, username: str, name: str) -> str:
        """A classified registrar (นายทะเบียนหนังสือลับ) account at ``office``; its password
        is new each run."""
        return _add_account(
            "node", username, ("--name", name, "--role", "registrar"), self.instance_of(office)
        )

    def add_demo_operator(self) -> str:
        """An operator account of the hub's console; its password is new each run."""
        return _add_account(
            "hub",
            DEMO_OPERATOR,
            ("--name", "เจ้าหน้าที่ศูนย์กลาง (สาธิต)", "--role", "operator"),
            self.workdir / "hub",
        )


def _add_account(side: str, username: str, fields: tuple[str, ...], instance: Path) -> str:
    """`saraban <side> adduser` with a fresh password, as an administrator would run it."""
    password = secrets.token_urlsafe(9)
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "scripts.cli.main", side, "adduser", username, *fields),
            *("--password-stdin", "--instance", str(instance)),
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"saraban {side} adduser: {proc.stderr.strip()}")
    return password
