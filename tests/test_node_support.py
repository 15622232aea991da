"""Helpers for the node tests: nodes with a hand-made directory (no hub at all), a real hub
served over loopback HTTP with real enrolled nodes, on a movable clock (the clock and the
office ids are tests/support.py's), and a node served as a process of its own.

No test lives here; the node test modules import these helpers.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from support import CHIANG_MAI, CHIANG_RAI, Clock, serve

from node.app import create_app
from node.context import NodeContext
from node.records.directory import accept_and_store, keys_from_list
from node.storage.store import SIDECAR_NAME, Store
from node.sync.enrolment import init_node
from node.sync.state import SyncResult
from node.sync.worker import sync_once
from protocol.envelope import Envelope, sign_envelope
from protocol.filemodes import private_folder, private_opener
from protocol.hub_messages import Directory
from protocol.keys import Signer, save_signer
from protocol.messages import FeedMessage
from scripts.fleet import Service, start_service
from scripts.nodeapi import NodeHTTP, read_token

TOKEN = "test-token-0123456789"
METRICS_TOKEN = "scrape-token-of-the-tests"
"""The /metrics token of the federation's hub (as :mod:`test_hub_support`'s)."""
NORTH = {"north": {"title": "ภาคเหนือ", "members": [CHIANG_MAI, CHIANG_RAI]}}
"""The distribution list ภาคเหนือ, for a :class:`PaperHub`'s ``lists``."""


def closed_port_url() -> str:
    """A loopback URL where nothing listens: a real connection refusal."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Node:
    """One node app on its instance folder, driven in-process."""

    def __init__(self, instance: Path, clock: Clock, **config: Any):
        self.instance = instance
        self.clock = clock
        self.app: Flask = create_app(
            {"CLOCK": clock, "SCHEDULER": False, **config}, instance_path=instance
        )
        self.ctx: NodeContext = self.app.extensions["saraban_node"]
        token = (instance / "api_token").read_text(encoding="utf-8").strip()
        self.headers = {"Authorization": f"Bearer {token}"}
        self.client: FlaskClient = self.app.test_client()

    @property
    def office(self) -> str:
        return self.ctx.office

    def call(self, method: str, path: str, body: Any = None, ok: int | None = 200) -> Any:
        resp = self.client.open(path, method=method, json=body, headers=self.headers)
        if ok is not None:
            assert resp.status_code in (ok, 201), (resp.status_code, resp.get_json())
        return resp.get_json()

    def send(self, **letter: Any) -> dict[str, Any]:
        letter.setdefault("subject", "ขอเชิญประชุม")
        return self.call("POST", "/api/letters", letter, ok=201)  # type: ignore[no-any-return]

    def sync(self) -> SyncResult:
        return sync_once(self.ctx)

    def store(self) -> Store:
        return self.ctx.open_store()

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self.store() as s:
            return s.query(sql, params)

    def answers(self) -> list[dict[str, Any]]:
        """The bodies of this office's own receipts in feed order, a ``deliveries``
        envelope giving one ``delivered`` body for each letter it names."""
        out = []
        for r in self.rows(
            "SELECT envelope FROM feed WHERE kind IN ('receipt', 'deliveries') ORDER BY seq"
        ):
            env = Envelope.from_bytes(r["envelope"])
            body = json.loads(env.body)
            if env.kind == "receipt":
                out.append(body)
            else:
                out.extend({**body, "letter": x, "status": "delivered"} for x in body["letters"])
        return out

    def inbox(self) -> list[dict[str, Any]]:
        return self.call("GET", "/api/letters?box=inbox")["letters"]  # type: ignore[no-any-return]

    def set_hub_url(self, url: str) -> None:
        self.ctx.settings["HUB_URL"] = url


# -- nodes without any hub ----------------------------------------------------------------


class PaperHub:
    """A hub signing key and directory made by hand, for nodes that never see a hub."""

    def __init__(self) -> None:
        self.signer = Signer.generate("hub")
        self.offices: dict[str, Signer] = {}
        self.version = 0
        self.shared: list[dict[str, Any]] = []
        self.lists: dict[str, Any] = {}

    def pins(self) -> list[dict[str, Any]]:
        return [{"keyid": self.signer.keyid, "public": self.signer.public_b64()}]

    def directory(self) -> Envelope:
        self.version += 1
        body = Directory(
            version=self.version,
            issued_at="2026-11-18T00:00:00Z",
            hub_keys=self.pins(),
            offices=[
                {
                    "id": o,
                    "name": o,
                    "status": "enrolled",
                    "keys": [{"keyid": s.keyid, "public": s.public_b64(), "status": "active"}],
                }
                for o, s in self.offices.items()
            ],
            lists=self.lists,
            shared_registers=self.shared,
        )
        return sign_envelope("directory", body.to_dict(), self.signer)

    def sign_as(self, office: str, message: FeedMessage) -> Envelope:
        return sign_envelope(message.KIND, message.normalized().to_dict(), self.offices[office])


def offline_node(tmp_path: Path, office: str, paper: PaperHub, clock: Clock, **config: Any) -> Node:
    """A node enrolled with a hand-made directory and a hub URL nobody answers."""
    instance = private_folder(tmp_path / office.replace(" ", "_"))
    signer = Signer.generate(office)
    save_signer(signer, instance / "keys" / "sign.key")
    paper.offices[office] = signer
    config_text = json.dumps({"OFFICE": office, "HUB_URL": closed_port_url()}, ensure_ascii=False)
    for name, text in (("config.json", config_text), ("api_token", TOKEN)):
        with open(instance / name, "w", encoding="utf-8", opener=private_opener) as f:
            f.write(text)
    return Node(instance, clock, **config)


def publish(paper: PaperHub, *nodes: Node) -> None:
    """Give every node the paper hub's current directory."""
    env = paper.directory()
    for node in nodes:
        with Store(node.ctx.settings["DATABASE"], node.instance / SIDECAR_NAME) as s:
            with s.transaction():
                accept_and_store(
                    s,
                    env,
                    node.clock(),
                    pinned=keys_from_list(paper.pins()),
                    pinned_list=paper.pins(),
                    instance=node.instance,
                )


def office_knowing(
    tmp_path: Path,
    office: str,
    *others: str,
    clock: Clock | None = None,
    lists: dict[str, Any] | None = None,
    **config: Any,
) -> Node:
    """``office`` with no hub, its directory naming ``others`` (their signing keys only: no
    node is made for them) and the distribution ``lists``."""
    paper, clock = PaperHub(), clock or Clock()
    node = offline_node(tmp_path, office, paper, clock, **config)
    for other in others:
        paper.offices[other] = Signer.generate(other)
    paper.lists = lists or {}
    publish(paper, node)
    return node


def paper_letter(node: Node, subject: str, **fields: Any) -> dict[str, Any]:
    """A paper letter registered at ``node`` through the local API (as its operator)."""
    body = {"subject": subject, "origin": "สำนักงานจังหวัดเชียงราย", **fields}
    return node.call("POST", "/api/paper-letters", body, ok=201)  # type: ignore[no-any-return]


def serve_node_process(
    office: str, instance: Path, port: int, logs: Path
) -> tuple[Service, NodeHTTP]:
    """``saraban node serve`` of an enrolled ``instance`` as a process of its own on ``port``
    (its log under ``logs``; its scheduler all but idle, so the test syncs when it means to),
    and the node's local API over HTTP."""
    url = f"http://127.0.0.1:{port}"
    service = start_service(
        office,
        ["node", "serve", "--instance", str(instance), "--port", str(port)],
        url,
        "/api/health",
        logs / f"{office.replace(' ', '_')}.log",
        {"SARABAN_NODE_SYNC_INTERVAL_MINUTES": "600"},
    )
    return service, NodeHTTP(url, read_token(instance))


# -- a real hub ---------------------------------------------------------------------------


class Federation:
    """A real hub on 127.0.0.1 and nodes enrolled through its /enroll."""

    def __init__(self, tmp_path: Path, clock: Clock):
        from hub.admin.instance import init_hub
        from hub.app import create_app as create_hub

        self.tmp = tmp_path
        self.clock = clock
        self.hub_dir = tmp_path / "hub"
        init_hub(self.hub_dir, now=clock())
        self.hub_app = create_hub(
            {"CLOCK": clock, "METRICS_TOKEN": METRICS_TOKEN}, instance_path=self.hub_dir
        )
        self.serving = ExitStack()
        self.url = self.serving.enter_context(serve(self.hub_app))
        self.nodes: list[Node] = []

    def node(self, office: str, **config: Any) -> Node:
        from hub.admin.tokens import issue_enrollment_token

        token = issue_enrollment_token(self.hub_dir, office, now=self.clock())
        instance = self.tmp / office.replace(" ", "_")
        init_node(instance, self.url, office, token)
        node = Node(instance, self.clock, **config)
        self.nodes.append(node)
        return node

    def share(self, owner: str, series: str, members: list[str]) -> None:
        from hub.admin.offices import add_shared_register

        add_shared_register(self.hub_dir, owner, series, members, now=self.clock())

    def close(self) -> None:
        self.serving.close()


@contextmanager
def federation(tmp_path: Path, clock: Clock | None = None) -> Iterator[Federation]:
    fed = Federation(tmp_path, clock or Clock())
    try:
        yield fed
    finally:
        fed.close()
