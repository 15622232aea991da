"""The portal in Debian's chromium (Playwright) on real parts: `saraban hub serve
--portal-bind` and three `saraban node serve` processes on 127.0.0.1, each with its own
SQLite files, on the real clock.

The offices publish their accounts at sync; people enrolled a TOTP secret at their
office. A clerk of เชียงราย signs in with password and code, finds a letter by a Thai word
and by its number typed with Thai digits and spaces, opens its tracking (ลงรับ with its
เลขรับ) and downloads its attachment; a clerk of ขอนแก่น opening that letter's address is
told it does not exist; five wrong passwords lock an account; an account disabled at its
office is refused once the office has synced. No page, log line or /metrics holds a
password hash or a TOTP secret. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, ViewportSize, expect
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN
from test_node_support import serve_node_process
from web_support import DESKTOP, PASSWORD, PHONE, shot

from hub.store import open_store
from hub.store.portal_accounts import PortalAccounts
from protocol.sessions import LOGIN_REFUSED_TH, MAX_FAILURES
from protocol.totp import STEP_SECONDS, code_at, time_step
from scripts.fleet import Service, free_ports, start_service
from scripts.nodeapi import NodeHTTP

pytestmark = pytest.mark.slow

STARTUP = 60.0
METRICS_TOKEN = "scrape-token-of-the-portal-browser-test"
SUBJECT = "ขอเชิญประชุมติดตามการเบิกจ่ายงบประมาณประจำปี"
BODY = "ด้วยจังหวัดเชียงใหม่กำหนดประชุมติดตามผลการเบิกจ่ายงบประมาณ"
PDF = b"%PDF-1.4 agenda of the budget meeting " * 8
SIGN_INS = {"SARABAN_HUB_PORTAL_SIGN_INS_PER_MINUTE": "100"}
PEOPLE = {
    CHIANG_MAI: ("somsri", "locked", "leaver"),
    CHIANG_RAI: ("manee",),
    KHON_KAEN: ("somchai",),
}


@dataclass
class Live:
    root: Path
    hub: Service
    portal_url: str
    nodes: dict[str, Service] = field(default_factory=dict)
    api: dict[str, NodeHTTP] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    pages: list[str] = field(default_factory=list)

    def instance(self, office: str) -> Path:
        return self.root / office.replace(" ", "_")

    def sync(self, *offices: str) -> None:
        for office in offices:
            result = self.api[office].call("POST", "/api/sync", {})
            assert result["ok"], result

    def close(self) -> None:
        for service in [*self.nodes.values(), self.hub]:
            service.stop()


def _enrol(instance: Path, username: str) -> str:
    from node.context import NodeContext
    from node.staff.accounts import add_user
    from node.staff.second_factor import confirm_enrolment, start_enrolment

    ctx = NodeContext.load(instance)
    with ctx.open_store() as store:
        add_user(ctx, store, username, f"ผู้ใช้ {username}", PASSWORD, ["clerk"])
        secret = start_enrolment(ctx, store, username)
        confirm_enrolment(ctx, store, username, code_at(secret, time.time()))
    return secret


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from hub.admin.instance import init_hub
    from hub.admin.tokens import issue_enrollment_token
    from node.sync.enrolment import init_node

    root = tmp_path_factory.mktemp("portal-live")
    hub_port, portal_port, *node_ports = free_ports(5)
    init_hub(root / "hub")
    hub_url = f"http://127.0.0.1:{hub_port}"
    hub = start_service(
        "hub",
        ["hub", "serve", "--instance", str(root / "hub"), "--port", str(hub_port),
         "--portal-bind", f"127.0.0.1:{portal_port}", "--log-level", "info"],
        hub_url,
        "/api/v1/health",
        root / "logs" / "hub.log",
        # Every sign-in of the test comes from 127.0.0.1: more than the default 10 a minute.
        {"SARABAN_HUB_METRICS_TOKEN": METRICS_TOKEN, **SIGN_INS},
    )  # fmt: skip
    live = Live(root, hub, f"http://127.0.0.1:{portal_port}")
    try:
        deadline = time.monotonic() + STARTUP
        hub.wait_ready(deadline)
        Service("portal", live.portal_url, "/login", hub.proc, hub.log).wait_ready(deadline)
        for (office, users), port in zip(PEOPLE.items(), node_ports, strict=True):
            inst = live.instance(office)
            init_node(inst, hub_url, office, issue_enrollment_token(root / "hub", office))
            for username in users:
                live.secrets[username] = _enrol(inst, username)
            live.nodes[office], live.api[office] = serve_node_process(
                office, inst, port, root / "logs"
            )
        for service in live.nodes.values():
            service.wait_ready(deadline)
        live.sync(CHIANG_MAI, CHIANG_RAI, KHON_KAEN)
        attachment = {
            "name": "วาระการประชุม.pdf",
            "media_type": "application/pdf",
            "content_base64": base64.b64encode(PDF).decode(),
        }
        live.api[CHIANG_MAI].call(
            "POST",
            "/api/letters",
            {"subject": SUBJECT, "body": BODY, "recipients": [CHIANG_RAI],
             "attachments": [attachment]},
        )  # fmt: skip
        live.sync(CHIANG_MAI, CHIANG_RAI)
        [letter] = live.api[CHIANG_RAI].call("GET", "/api/letters?box=inbox")["letters"]
        live.api[CHIANG_RAI].call("POST", f"/api/letters/{letter['id']}/register", {})
        live.sync(CHIANG_RAI, CHIANG_MAI)
        yield live
    finally:
        live.close()


def _code(secret: str, used: set[int]) -> str:
    """The code of now, or of the next step when now's was used (the app accepts one step
    either side): a person waiting for their app's next code."""
    now = time.time()
    step = time_step(now)
    if step in used:
        now += STEP_SECONDS
    used.add(time_step(now))
    return code_at(secret, now)


def _password_step(page: Page, live: Live, office: str, username: str, password: str) -> None:
    page.goto(f"{live.portal_url}/login")
    page.get_by_label("รหัสหน่วยงาน").fill(office)
    page.get_by_label("ชื่อผู้ใช้").fill(username)
    page.get_by_label("รหัสผ่าน").fill(password)
    page.get_by_role("button", name="ถัดไป").click()


def _sign_in(
    browser: Browser, live: Live, office: str, username: str, viewport: ViewportSize = DESKTOP
) -> Page:
    page = browser.new_page(viewport=viewport, locale="th-TH", accept_downloads=True)
    _password_step(page, live, office, username, PASSWORD)
    expect(page.get_by_role("heading", name="รหัสยืนยันตัวตน")).to_be_visible()
    page.get_by_label("รหัส 6 หลัก").fill(_code(live.secrets[username], set()))
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    expect(page.get_by_role("heading", name="ค้นหาและติดตามหนังสือ")).to_be_visible()
    return page


def _keep(live: Live, page: Page) -> None:
    live.pages.append(page.content())


def test_a_clerk_signs_in_with_a_code_finds_tracks_and_downloads_a_letter(
    browser: Browser, live: Live
) -> None:
    page = _sign_in(browser, live, "ชร0017", "manee")  # the office typed without its space
    search = page.get_by_role("search")
    search.get_by_label("คำค้น").fill("งบประมาณ")
    search.get_by_role("button", name="ค้นหา").click()
    expect(page.locator("table.results mark").first).to_have_text("งบประมาณ")
    expect(page.get_by_role("status")).to_contain_text("พบ 1 ฉบับ")
    _keep(live, page)
    shot(page, "portal-search-1366x768")
    search.get_by_label("คำค้น").fill(" ชม ๐๐๑๗ / ๑ ")  # Thai digits and stray spaces
    search.get_by_role("button", name="ค้นหา").click()
    expect(page.locator("table.results tbody tr")).to_have_count(1)
    page.locator("table.results").get_by_role("link", name="ชม 0017/1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(SUBJECT)
    mine = page.locator(f'#tracking tr[data-office="{CHIANG_RAI}"]')
    expect(mine).to_contain_text("ลงรับแล้ว")
    expect(mine).to_contain_text("เลขรับ 1")
    expect(page.locator("#tracking")).to_contain_text("ถึงศูนย์กลาง")
    _keep(live, page)
    shot(page, "portal-letter-1366x768")
    with page.expect_download() as download:
        page.locator("#files").get_by_role("link", name="วาระการประชุม.pdf").click()
    assert Path(download.value.path()).read_bytes() == PDF
    page.set_viewport_size(PHONE)
    expect(page.locator("#tracking")).to_be_visible()
    shot(page, "portal-letter-phone")
    page.get_by_role("button", name="ออกจากระบบ").click()
    expect(page.get_by_role("heading", name="เข้าสู่ระบบ")).to_be_visible()
    shot(page, "portal-login-phone")
    page.close()


def _letter_url(live: Live) -> str:
    store = open_store(live.root / "hub" / "hub.sqlite", create=False)
    try:
        row = store._one("SELECT env_id FROM portal_letters WHERE subject = ?", (SUBJECT,))
    finally:
        store.close()
    assert row is not None
    return f"{live.portal_url}/letters/{row['env_id']}"


def test_another_offices_letter_is_told_not_to_exist(browser: Browser, live: Live) -> None:
    page = _sign_in(browser, live, KHON_KAEN, "somchai", PHONE)
    page.goto(_letter_url(live))
    expect(page.get_by_role("alert")).to_contain_text("ไม่พบหนังสือหรือหน้าที่ต้องการ")
    expect(page.locator("main")).not_to_contain_text(SUBJECT)
    _keep(live, page)
    shot(page, "portal-refused-phone")
    page.close()


def test_five_wrong_passwords_lock_the_account(browser: Browser, live: Live) -> None:
    page = browser.new_page(viewport=DESKTOP, locale="th-TH")
    for _ in range(MAX_FAILURES):
        _password_step(page, live, CHIANG_MAI, "locked", "ไม่ใช่รหัสผ่านนี้-0000")
        expect(page.get_by_role("alert")).to_have_text(LOGIN_REFUSED_TH)
    _password_step(page, live, CHIANG_MAI, "locked", PASSWORD)
    expect(page.get_by_role("alert")).to_have_text(LOGIN_REFUSED_TH)
    expect(page.get_by_label("รหัส 6 หลัก")).to_have_count(0)
    _keep(live, page)
    shot(page, "portal-locked-1366x768")
    page.close()


def test_an_account_disabled_at_its_office_is_refused_after_the_next_sync(
    browser: Browser, live: Live
) -> None:
    from node.context import NodeContext
    from node.staff.accounts import set_active

    page = _sign_in(browser, live, CHIANG_MAI, "leaver")
    ctx = NodeContext.load(live.instance(CHIANG_MAI))
    with ctx.open_store() as store:
        set_active(ctx, store, "leaver", False, "admin")
    live.sync(CHIANG_MAI)
    page.reload()
    expect(page.get_by_role("heading", name="เข้าสู่ระบบ")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("หน่วยงานปิดบัญชี")
    _password_step(page, live, CHIANG_MAI, "leaver", PASSWORD)
    expect(page.get_by_role("alert")).to_have_text(LOGIN_REFUSED_TH)
    _keep(live, page)
    page.close()


def test_no_page_log_or_metric_holds_a_password_hash_or_a_secret(
    browser: Browser, live: Live
) -> None:
    # This test's own refusal and page: pytest's workers share out this module's tests,
    # so the others may run in another worker with another hub.
    page = browser.new_page(viewport=DESKTOP, locale="th-TH")
    _password_step(page, live, CHIANG_MAI, "somsri", "ไม่ใช่รหัสผ่านนี้-1111")
    expect(page.get_by_role("alert")).to_have_text(LOGIN_REFUSED_TH)
    page.close()
    page = _sign_in(browser, live, CHIANG_MAI, "somsri")
    _keep(live, page)
    page.close()
    store = open_store(live.root / "hub" / "hub.sqlite", create=False)
    try:
        accounts = PortalAccounts(store)
        rows = [accounts.get(o, u) for o, users in PEOPLE.items() for u in users]
    finally:
        store.close()
    secrets = [s for r in rows if r for s in (r["password_hash"], r["totp_secret"]) if s]
    assert len(secrets) >= 8
    metrics = requests.get(
        f"{live.hub.url}/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        timeout=10,
    )
    assert metrics.status_code == 200
    logs = "".join(p.read_text(encoding="utf-8") for p in (live.root / "logs").glob("*.log"))
    assert "refused POST /login" in logs  # the hub logged the refusal, one line
    for text in [metrics.text, logs, *live.pages]:
        for secret in secrets:
            assert secret not in text
            assert secret.split("$")[-1] not in text
