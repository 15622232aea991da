"""The hub as ``saraban hub serve``, a process of its own writing its log file, holds the
accounts an office published and never shows a password hash or a TOTP secret: not in its
log (accepted and refused lists alike), not on any console page, not in ``/metrics``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from console_support import PASSWORD as OPERATOR_PASSWORD
from support import CHIANG_MAI, CHIANG_RAI
from test_node_support import Node
from web_support import PASSWORD

from hub.admin.instance import init_hub
from hub.admin.tokens import issue_enrollment_token
from hub.console.operators import add_operator
from hub.store import open_store
from hub.store.portal_accounts import PortalAccounts
from node.staff.accounts import add_user
from node.staff.second_factor import confirm_enrolment, start_enrolment
from node.sync.enrolment import init_node
from node.sync.hubclient import HubClient, HubHTTPError
from protocol.accounts import ACCOUNTS_KIND, account_list
from protocol.envelope import sign_envelope
from protocol.totp import code_at
from scripts.fleet import Service, free_ports, start_service

pytestmark = pytest.mark.slow

METRICS_TOKEN = "scrape-token-of-the-accounts-test"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
CONSOLE_PAGES = (
    "/",
    "/offices",
    f"/offices/{quote(CHIANG_MAI)}",
    "/actions",
    "/alerts",
    "/enrollment",
    "/lists",
    "/numbering",
    "/stats",
    "/stats/export.csv",
)
"""Every console page without an id of its own, and the office's page."""


@dataclass
class Served:
    hub: Service
    node: Node
    secrets: list[str]
    """The hashes, their salts and digests, and the TOTP secret the office published."""


def _wall_clock() -> float:
    return time.time()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("accounts-served")
    init_hub(root / "hub")
    store = open_store(root / "hub" / "hub.sqlite")
    try:
        add_operator(store, "ops", "สมชาย ดูแลระบบ", OPERATOR_PASSWORD, "operator", time.time())
    finally:
        store.close()
    (port,) = free_ports(1)
    url = f"http://127.0.0.1:{port}"
    hub = start_service(
        "hub",
        ["hub", "serve", "--instance", str(root / "hub"), "--port", str(port)],
        url,
        "/api/v1/health",
        root / "hub.log",
        {"SARABAN_HUB_METRICS_TOKEN": METRICS_TOKEN, "SARABAN_HUB_SCHEDULER": "0"},
    )
    try:
        hub.wait_ready(time.monotonic() + 60)
        instance = root / "cm"
        init_node(instance, url, CHIANG_MAI, issue_enrollment_token(root / "hub", CHIANG_MAI))
        node = Node(instance, _wall_clock)  # type: ignore[arg-type]
        with node.store() as s:
            add_user(node.ctx, s, "admin", "อำนาจ ผู้ดูแล", PASSWORD, ["admin"])
            add_user(node.ctx, s, "somsri", "สมศรี ธุรการ", PASSWORD, ["clerk"])
            secret = start_enrolment(node.ctx, s, "somsri")
            confirm_enrolment(node.ctx, s, "somsri", code_at(secret, time.time()))
            hashes = [r["password_hash"] for r in s.query("SELECT password_hash FROM users")]
        assert node.sync().ok
        pieces = [p for h in hashes for p in (h, *h.split("$")[4:])]
        yield Served(hub, node, [*pieces, secret])
    finally:
        hub.stop()


def _refused_lists(served: Served) -> None:
    """Lists carrying the office's real hashes and secret that the hub refuses."""
    with served.node.store() as s:
        rows = s.query("SELECT * FROM users ORDER BY username")
    accounts = [
        {
            "username": r["username"],
            "display_name": r["display_name"],
            "roles": ["clerk"],
            "password_hash": r["password_hash"],
            "active": True,
            "totp_secret": r["totp_secret"],
        }
        for r in rows
    ]
    client = HubClient(served.hub.url, served.node.ctx.signer, time.time)
    try:
        for office, version in ((CHIANG_RAI, 90), (CHIANG_MAI, 1)):
            body = account_list(office, version, "2026-11-18T11:06:40Z", accounts).to_dict()
            envelope = sign_envelope(ACCOUNTS_KIND, body, served.node.ctx.signer)
            with pytest.raises(HubHTTPError) as refused:
                client.publish_accounts(envelope.to_wire())
            assert refused.value.error in ("wrong_office", "replayed")
    finally:
        client.close()


def test_the_served_hub_holds_the_accounts_and_shows_no_hash_or_secret(served: Served) -> None:
    store = open_store(Path(served.node.instance).parent / "hub" / "hub.sqlite", create=False)
    try:
        account = PortalAccounts(store).get(CHIANG_MAI, "somsri")
    finally:
        store.close()
    assert account is not None and account["totp_secret"] in served.secrets
    _refused_lists(served)

    session = requests.Session()
    form = session.get(f"{served.hub.url}/login", timeout=10).text
    token = CSRF_RE.search(form)
    assert token
    signed_in = session.post(
        f"{served.hub.url}/login",
        data={"username": "ops", "password": OPERATOR_PASSWORD, "csrf_token": token.group(1)},
        timeout=10,
    )
    assert signed_in.status_code == 200 and "สมชาย ดูแลระบบ" in signed_in.text
    shown = {path: session.get(f"{served.hub.url}{path}", timeout=10) for path in CONSOLE_PAGES}
    assert {path: answer.status_code for path, answer in shown.items()} == dict.fromkeys(
        CONSOLE_PAGES, 200
    )
    assert CHIANG_MAI in shown[f"/offices/{quote(CHIANG_MAI)}"].text
    metrics = requests.get(
        f"{served.hub.url}/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        timeout=10,
    )
    assert metrics.status_code == 200 and "saraban_hub" in metrics.text

    log = served.hub.log.read_text(encoding="utf-8", errors="replace")
    assert "wrong_office" in log and "replayed" in log
    texts = {"log": log, "metrics": metrics.text, **{p: a.text for p, a in shown.items()}}
    leaks = sorted(
        (where, piece[:8])
        for where, text in texts.items()
        for piece in served.secrets
        if piece in text
    )
    assert leaks == []
