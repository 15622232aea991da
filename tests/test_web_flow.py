"""The clerk's pages end to end on real parts: a hub and two nodes as separate
`saraban ... serve` processes on 127.0.0.1, each with its SQLite files, and Debian's
chromium driven by Playwright.

A clerk at เชียงใหม่ sends a letter from the compose page; the clerk at เชียงราย registers
it and sees the receipt number; the governor writes a minute and assigns it; after sync the
sender's page shows ลงรับแล้ว with that number. With the hub stopped, a letter sent from the
page shows its number and รอส่ง, and arrives once the hub is back. A user without clearance
cannot open a classified letter by its URL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from support import CHIANG_MAI, CHIANG_RAI
from test_node_support import serve_node_process
from web_support import PASSWORD, PHONE, shot, signed_in_page

from scripts.fleet import Service, free_ports, start_service
from scripts.nodeapi import NodeHTTP

pytestmark = pytest.mark.slow

DIVISION = "ชร 0017.1"
STARTUP = 60.0


@dataclass
class RealFederation:
    """A hub process and two node processes; the hub can be stopped and started again."""

    root: Path
    hub_port: int = 0
    hub: Service | None = None
    nodes: dict[str, Service] = field(default_factory=dict)
    api: dict[str, NodeHTTP] = field(default_factory=dict)

    @property
    def hub_url(self) -> str:
        return f"http://127.0.0.1:{self.hub_port}"

    def url(self, office: str) -> str:
        return self.nodes[office].url

    def instance(self, office: str) -> Path:
        return self.root / office.replace(" ", "_")

    def start_hub(self) -> None:
        self.hub = start_service(
            "hub",
            ["hub", "serve", "--instance", str(self.root / "hub"), "--port", str(self.hub_port)],
            self.hub_url,
            "/api/v1/health",
            self.root / "logs" / "hub.log",
        )
        self.hub.wait_ready(_deadline())

    def stop_hub(self) -> None:
        assert self.hub is not None
        self.hub.stop()

    def sync(self, *offices: str) -> None:
        """What the nightly job does, now: push and pull, in the order given."""
        for office in offices:
            result = self.api[office].call("POST", "/api/sync", {})
            assert result["ok"], result

    def close(self) -> None:
        for s in [*self.nodes.values(), *([self.hub] if self.hub else [])]:
            s.stop()


def _deadline() -> float:
    return time.monotonic() + STARTUP


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealFederation]:
    from hub.admin.instance import init_hub
    from hub.admin.tokens import issue_enrollment_token
    from node.context import NodeContext
    from node.records.units import save_unit
    from node.staff.accounts import add_user
    from node.sync.enrolment import init_node

    root = tmp_path_factory.mktemp("web-flow")
    hub_port, cm_port, cr_port = free_ports(3)
    fed = RealFederation(root, hub_port)
    init_hub(root / "hub")
    fed.start_hub()
    try:
        for office, port in ((CHIANG_MAI, cm_port), (CHIANG_RAI, cr_port)):
            inst = fed.instance(office)
            init_node(inst, fed.hub_url, office, issue_enrollment_token(root / "hub", office))
            ctx = NodeContext.load(inst)
            with ctx.open_store() as store:
                add_user(ctx, store, "somsri", "สมศรี ธุรการ", PASSWORD, ["clerk"])
                if office == CHIANG_RAI:
                    save_unit(ctx, store, DIVISION, "กลุ่มงานอำนวยการ", "", True, "admin")
                    add_user(
                        ctx, store, "governor", "ผู้ว่าราชการจังหวัดเชียงราย", PASSWORD, ["executive"]
                    )
                    add_user(ctx, store, "registrar", "วิชัย ทะเบียนลับ", PASSWORD, ["registrar"])
            fed.nodes[office], fed.api[office] = serve_node_process(
                office, inst, port, root / "logs"
            )
        for s in fed.nodes.values():
            s.wait_ready(_deadline())
        fed.sync(CHIANG_MAI, CHIANG_RAI)
        yield fed
    finally:
        fed.close()


def _compose_and_send(page: Page, url: str, subject: str) -> str:
    """Send a letter to เชียงราย from the compose page; returns the letter's number."""
    page.goto(f"{url}/compose")
    page.get_by_label("เรื่อง", exact=True).fill(subject)
    page.get_by_label("เรียน", exact=True).fill("ผู้ว่าราชการจังหวัดเชียงราย")
    page.get_by_label("ข้อความ", exact=True).fill("ขอเชิญประชุมคณะทำงานระบบสารบรรณอิเล็กทรอนิกส์")
    page.get_by_label("ค้นหาผู้รับ (ชื่อหรือรหัส)").fill("ชร")
    page.get_by_label(re.compile(f"^{CHIANG_RAI}")).check()
    page.get_by_role("button", name="ออกเลขและส่ง").click()
    page.wait_for_url(re.compile(r"/letters/\d+$"))
    expect(page.get_by_role("heading", name=subject)).to_be_visible()
    found = re.search(r"ชม 0017/\d+", page.locator("main").inner_text())
    assert found, "the letter page shows no number"
    return found.group(0)


def _tracking(page: Page) -> Locator:
    return page.locator("table").filter(has=page.locator("caption", has_text="สถานะผู้รับ"))


def test_a_letter_sent_from_the_page_is_registered_minuted_and_tracked_back(
    browser: Browser, fed: RealFederation
) -> None:
    subject = "ขอเชิญประชุมคณะทำงานระบบสารบรรณอิเล็กทรอนิกส์ ครั้งที่ 1"
    cm, cr = fed.url(CHIANG_MAI), fed.url(CHIANG_RAI)
    sender = signed_in_page(browser, cm, "somsri")
    number = _compose_and_send(sender, cm, subject)
    letter_page = sender.url
    fed.sync(CHIANG_MAI, CHIANG_RAI)

    clerk = signed_in_page(browser, cr, "somsri")
    waiting = clerk.get_by_role("row").filter(has_text=subject)
    expect(waiting).to_contain_text(number)
    waiting.get_by_role("link", name=subject).click()
    shot(clerk, "flow-incoming-1366x768")
    clerk.get_by_role("button", name="ลงรับ", exact=True).click()
    receipt_text = clerk.locator(".big-number")
    expect(receipt_text).to_contain_text("เลขรับ")
    found = re.search(r"เลขรับ\s*(\S+)", receipt_text.inner_text())
    assert found
    receipt = found.group(1)
    shot(clerk, "flow-registered-1366x768")

    governor = signed_in_page(browser, cr, "governor")
    governor.goto(clerk.url)
    minute = "ทราบ มอบกลุ่มงานอำนวยการเตรียมการประชุม"
    governor.get_by_label("ข้อความเกษียน").fill(minute)
    governor.get_by_role("button", name="บันทึกเกษียน").click()
    expect(governor.get_by_text(minute).first).to_be_visible()
    governor.get_by_label("มอบหมายให้").select_option(DIVISION)
    governor.get_by_role("button", name="มอบหมาย", exact=True).click()
    expect(governor.locator(".timeline")).to_contain_text("มอบหมาย")
    shot(governor, "flow-minuted-1366x768")

    fed.sync(CHIANG_RAI, CHIANG_MAI)
    sender.goto(letter_page)
    tracking = _tracking(sender)
    expect(tracking).to_contain_text("ลงรับแล้ว")
    expect(tracking).to_contain_text(receipt)
    shot(sender, "flow-sender-tracking-1366x768")
    sender.set_viewport_size(PHONE)
    shot(sender, "flow-sender-tracking-phone")
    for page in (sender, clerk, governor):
        page.close()


@pytest.mark.sqlite_only("a hub the module's tests share")
def test_sent_while_the_hub_is_down_shows_queued_and_arrives_when_it_is_back(
    browser: Browser, fed: RealFederation
) -> None:
    subject = "ขอให้รายงานสถานการณ์น้ำ ส่งระหว่างศูนย์กลางขัดข้อง"
    cm, cr = fed.url(CHIANG_MAI), fed.url(CHIANG_RAI)
    sender = signed_in_page(browser, cm, "somsri")
    fed.stop_hub()
    try:
        number = _compose_and_send(sender, cm, subject)
        expect(sender.locator("main")).to_contain_text("รอส่ง")
        expect(_tracking(sender)).to_contain_text("รอส่ง")
        shot(sender, "flow-queued-1366x768")
    finally:
        fed.start_hub()
    fed.sync(CHIANG_MAI, CHIANG_RAI)
    clerk = signed_in_page(browser, cr, "somsri")
    clerk.goto(f"{cr}/letters/inbox")
    expect(clerk.get_by_role("row").filter(has_text=subject)).to_contain_text(number)
    sender.reload()
    expect(_tracking(sender)).not_to_contain_text("รอส่ง")
    sender.close()
    clerk.close()


def test_without_clearance_a_classified_letter_cannot_be_reached_by_url(
    browser: Browser, fed: RealFederation
) -> None:
    subject = "รายงานการข่าวชายแดน (ลับ)"
    created = fed.api[CHIANG_RAI].call(
        "POST",
        "/api/paper-letters",
        {
            "number": "กห 0301/77",
            "sender": "กองบัญชาการกองทัพไทย",
            "subject": subject,
            "secrecy": "ลับ",
            "letter_date": time.strftime("%Y-%m-%d"),
        },
    )
    cr = fed.url(CHIANG_RAI)
    clerk = signed_in_page(browser, cr, "somsri")
    response = clerk.goto(f"{cr}/letters/{created['id']}")
    assert response is not None and response.status == 403
    expect(clerk.locator("main")).to_contain_text("หนังสือชั้นความลับ")
    expect(clerk.locator("main")).not_to_contain_text(subject)
    shot(clerk, "flow-classified-refused-1366x768")

    registrar = signed_in_page(browser, cr, "registrar")
    registrar.goto(f"{cr}/letters/{created['id']}")
    expect(registrar.get_by_role("heading", name=subject)).to_be_visible()
    clerk.close()
    registrar.close()
