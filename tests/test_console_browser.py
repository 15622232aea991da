"""The operator's console in Debian's chromium against a live federation: the hub on
127.0.0.1 (in this process, so its clock can be moved) and three nodes as real
`saraban node serve` processes, each with its own SQLite files, plus the ministry as a
stand-in office that pushes its envelopes out of order.

The operator signs in and sees the offices healthy; a node process is stopped and the hub's
clock moved past the silent threshold (injected time, not sleeps): the office shows as
silent and an alert appears; an envelope that arrived before its predecessor is released
with a reason and the letter in it reaches its addressee.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from console_support import PASSWORD, add_operators
from playwright.sync_api import Browser, Page, expect
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY
from test_hub_support import Hub, Office
from test_node_support import serve_node_process
from web_support import DESKTOP, PHONE, shot

from node.sync.enrolment import init_node
from scripts.fleet import Service, free_ports
from scripts.nodeapi import NodeHTTP

pytestmark = pytest.mark.slow

STARTUP = 60.0
SILENT_MINUTES = 15


class MovableClock:
    """The wall clock plus an offset the test moves: the hub ticks like a real one."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class LiveFederation:
    hub: Hub
    clock: MovableClock
    url: str
    nodes: dict[str, Service] = field(default_factory=dict)
    api: dict[str, NodeHTTP] = field(default_factory=dict)

    def sync(self, *offices: str) -> None:
        for office in offices:
            result = self.api[office].call("POST", "/api/sync", {})
            assert result["ok"], result


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveFederation]:
    root = tmp_path_factory.mktemp("console-live")
    clock = MovableClock()
    hub = Hub(
        root,
        clock,  # type: ignore[arg-type]
        LATE_AFTER_MINUTES=5,
        SILENT_AFTER_HOURS=SILENT_MINUTES / 60,
        # The nodes keep the real time while the hub's is moved ahead: let their requests in.
        CLOCK_WINDOW_SECONDS=7200,
        CLOCK_SKEW_LIMIT_SECONDS=7200,
        SESSION_MINUTES=600,
    )
    add_operators(hub)
    with hub.serve() as url:
        fed = LiveFederation(hub, clock, url)
        try:
            offices = (CHIANG_MAI, CHIANG_RAI, KHON_KAEN)
            for office, port in zip(offices, free_ports(len(offices)), strict=True):
                inst = root / office.replace(" ", "_")
                init_node(inst, url, office, hub.token(office))
                fed.nodes[office], fed.api[office] = serve_node_process(
                    office, inst, port, root / "logs"
                )
            deadline = time.monotonic() + STARTUP
            for service in fed.nodes.values():
                service.wait_ready(deadline)
            fed.sync(*offices)
            yield fed
        finally:
            for service in fed.nodes.values():
                service.stop()


def _sign_in(browser: Browser, url: str) -> Page:
    page = browser.new_page(viewport=DESKTOP, locale="th-TH")
    page.goto(f"{url}/")
    page.get_by_label("ชื่อผู้ใช้").fill("ops")
    page.get_by_label("รหัสผ่าน").fill(PASSWORD)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    page.wait_for_url(f"{url}/")
    return page


def _row(page: Page, office: str) -> object:
    return page.locator(f'#offices tr[data-office="{office}"]')


def test_operator_watches_an_office_go_silent_and_releases_a_quarantined_envelope(
    browser: Browser, live: LiveFederation
) -> None:
    url = live.url
    ministry = Office(live.hub, MINISTRY)
    assert ministry.enroll(live.hub.token(MINISTRY)).status == 200
    first = ministry.letter([CHIANG_MAI], subject="หนังสือเวียนฉบับแรกของกระทรวง")
    second = ministry.letter([CHIANG_MAI], subject="หนังสือเวียนฉบับที่สองมาถึงก่อน")
    [early] = ministry.push_ok(second)
    assert early["status"] == "rejected" and early["reason"] == "out_of_sequence"
    ministry.push_ok(first)

    page = _sign_in(browser, url)
    expect(page.locator(".tile.healthy").first).to_contain_text("4")
    page.get_by_role("link", name="หน่วยงาน", exact=True).click()
    for office in (CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY):
        expect(_row(page, office)).to_contain_text("ปกติ")  # type: ignore[attr-defined]
    expect(_row(page, "นม 0017")).to_contain_text("ยังไม่ลงทะเบียน")  # type: ignore[attr-defined]
    page.get_by_label("กลุ่มจังหวัด").select_option("15")
    page.get_by_role("button", name="แสดง").click()
    expect(page.locator("#offices tbody tr")).to_have_count(1)
    shot(page, "console-offices-1366x768")

    live.nodes[KHON_KAEN].stop()
    live.clock.advance((SILENT_MINUTES + 5) * 60)
    live.sync(CHIANG_MAI, CHIANG_RAI)
    ministry.pull()

    page.goto(f"{url}/offices")
    expect(_row(page, KHON_KAEN)).to_contain_text("ขาดการติดต่อ")  # type: ignore[attr-defined]
    expect(_row(page, CHIANG_MAI)).to_contain_text("ปกติ")  # type: ignore[attr-defined]
    page.get_by_role("link", name="การแจ้งเตือน").click()
    silent = page.locator('article.alert[data-kind="silent_office"]')
    expect(silent).to_have_count(1)
    expect(silent).to_contain_text(KHON_KAEN)
    expect(silent).to_contain_text("โทรสอบถามหน่วยงาน")
    shot(page, "console-alerts-1366x768")

    quarantined = page.locator('article.alert[data-kind="quarantined"]')
    expect(quarantined).to_contain_text(MINISTRY)
    quarantined.get_by_role("link", name="ตรวจสอบซองที่ถูกกักไว้").click()
    expect(page.locator("main")).to_contain_text("out_of_sequence")
    expect(page.locator("main")).to_contain_text("หนังสือเวียนฉบับที่สองมาถึงก่อน")
    page.get_by_label("เหตุผลที่ปล่อย").fill("ซองลำดับก่อนหน้ามาถึงแล้ว ตรวจสอบลายมือชื่อถูกต้อง")
    page.get_by_role("button", name="ปล่อยซอง").click()
    expect(page.get_by_role("status")).to_contain_text("ปล่อยซองแล้ว: รับเข้าแล้ว")
    expect(page.locator("h1")).to_contain_text("ปล่อยแล้ว")
    shot(page, "console-quarantine-released-1366x768")

    live.sync(CHIANG_MAI)
    inbox = live.api[CHIANG_MAI].call("GET", "/api/letters?box=inbox")["letters"]
    subjects = {letter["subject"] for letter in inbox}
    assert {"หนังสือเวียนฉบับแรกของกระทรวง", "หนังสือเวียนฉบับที่สองมาถึงก่อน"} <= subjects
    # The office's audit chain, signed and checked at its sync (ADR 0023): its head shown.
    page.goto(f"{url}/offices/{CHIANG_MAI}")
    head = page.locator("#audit-head dd")
    expect(head.first).to_have_text(re.compile(r"^\d+$"))
    expect(head.nth(2)).not_to_have_text("-")

    page.goto(f"{url}/actions")
    expect(page.locator("main")).to_contain_text("ซองลำดับก่อนหน้ามาถึงแล้ว")
    page.goto(f"{url}/offices/{KHON_KAEN}")
    expect(page.locator(".problems")).to_contain_text("ขาดการติดต่อ")
    page.set_viewport_size(PHONE)
    page.goto(f"{url}/offices")
    shot(page, "console-offices-phone")
    page.close()


def test_every_section_of_the_console_renders_in_the_browser(
    browser: Browser, live: LiveFederation
) -> None:
    url = live.url
    page = _sign_in(browser, url)
    sections = {
        "การลงทะเบียน": "console-enrollment",
        "เลขหนังสือ": "console-numbering",
        "สถิติการใช้งาน": "console-stats",
        "รายชื่อส่งหนังสือ": "console-lists",
        "บันทึกการดำเนินการ": "console-actions",
    }
    for title, name in sections.items():
        page.get_by_role("link", name=title, exact=True).click()
        expect(page.locator("nav.pages a[aria-current=page]")).to_have_text(title)
        expect(page.locator("main h1")).to_be_visible()
        assert "เกิดข้อผิดพลาด" not in page.locator("main").inner_text()
        shot(page, f"{name}-1366x768")
    page.goto(f"{url}/stats")
    expect(page.locator("main svg").first).to_be_visible()
    timings = page.locator("#timing-speeds")
    expect(timings).to_contain_text("ตั้งแต่ส่งถึงลงรับ")
    expect(timings.locator('tr[data-key="ด่วนที่สุด"]')).to_be_visible()
    page.set_viewport_size(PHONE)
    shot(page, "console-stats-phone")
    page.close()
