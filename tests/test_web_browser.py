"""The clerk's pages in a real browser: Debian's chromium driven by Playwright against a node
served over HTTP on 127.0.0.1. Screenshots of each page go to tests/artifacts/ for people to
look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from support import CHIANG_MAI, CHIANG_RAI, Clock, serve
from test_node_offline import deliver
from test_node_support import Node, PaperHub, offline_node, publish
from web_support import DESKTOP, PASSWORD, PHONE, shot

from node.staff.accounts import add_user
from protocol.sessions import LOGIN_REFUSED_TH


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Node, Node]]:
    """A receiving node over real HTTP, with a clerk and an urgent e-letter waiting."""
    clock, paper = Clock(), PaperHub()
    cm = offline_node(tmp_path, CHIANG_MAI, paper, clock)
    cr = offline_node(tmp_path, CHIANG_RAI, paper, clock)
    publish(paper, cm, cr)
    with cr.store() as s:
        add_user(cr.ctx, s, "somsri", "สมศรี ธุรการ", PASSWORD, ["clerk"])
    sent = cm.send(recipients=[CHIANG_RAI], subject="ขอเชิญประชุมด่วนเรื่องอุทกภัย", speed="ด่วนที่สุด")
    deliver(cm, cr, paper, sent["id"])
    with serve(cr.app) as url:
        yield url, cm, cr


def log_in(page: Page, url: str, password: str) -> None:
    page.goto(f"{url}/")
    expect(page).to_have_url(f"{url}/login")
    page.get_by_label("ชื่อผู้ใช้").fill("somsri")
    page.get_by_label("รหัสผ่าน").fill(password)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()


def test_clerk_logs_in_sees_urgent_letter_and_badge_then_logs_out(
    browser: Browser, served: tuple[str, Node, Node]
) -> None:
    url, _, _ = served
    page = browser.new_page(viewport=DESKTOP, locale="th-TH")
    page.goto(f"{url}/login")
    expect(page.get_by_role("heading", name="เข้าสู่ระบบ")).to_be_visible()
    shot(page, "login-1366x768")

    log_in(page, url, PASSWORD)
    expect(page).to_have_url(f"{url}/")
    expect(page.get_by_role("heading", name="งานของฉัน")).to_be_visible()
    waiting = page.get_by_role("row").filter(has_text="ขอเชิญประชุมด่วนเรื่องอุทกภัย")
    expect(waiting).to_be_visible()
    expect(waiting.locator(".speed")).to_have_text("ด่วนที่สุด")
    expect(waiting.locator(".speed")).to_have_css("color", "rgb(192, 0, 0)")
    badge = page.get_by_role("status", name="สถานะการเชื่อมต่อ")
    expect(badge).to_contain_text("ขาดการเชื่อมต่อ")
    expect(badge).to_contain_text("รอส่ง")
    # The page's font is the node's own Sarabun, not a fallback.
    loaded = page.evaluate(
        "document.fonts.ready.then(() => [...document.fonts]"
        ".filter(f => f.family.includes('Sarabun') && f.status === 'loaded').length)"
    )
    assert loaded >= 1
    shot(page, "home-1366x768")

    page.set_viewport_size(PHONE)
    expect(waiting).to_be_visible()
    shot(page, "home-phone")

    page.get_by_role("button", name="ออกจากระบบ").click()
    expect(page).to_have_url(f"{url}/login")
    page.goto(f"{url}/")
    expect(page).to_have_url(f"{url}/login")
    page.close()


def test_wrong_password_shows_the_thai_message(
    browser: Browser, served: tuple[str, Node, Node]
) -> None:
    url, _, _ = served
    page = browser.new_page(viewport=DESKTOP, locale="th-TH")
    log_in(page, url, "ผิดแน่นอน-123")
    expect(page.get_by_role("alert")).to_have_text(LOGIN_REFUSED_TH)
    expect(page).to_have_url(f"{url}/login")
    shot(page, "login-refused-1366x768")
    page.set_viewport_size(PHONE)
    shot(page, "login-refused-phone")
    page.close()


def test_keyboard_alone_logs_in(browser: Browser, served: tuple[str, Node, Node]) -> None:
    url, _, _ = served
    page = browser.new_page(viewport=DESKTOP, locale="th-TH")
    page.goto(f"{url}/login")
    expect(page.get_by_label("ชื่อผู้ใช้")).to_be_focused()
    page.keyboard.type("somsri")
    page.keyboard.press("Tab")
    expect(page.get_by_label("รหัสผ่าน")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="งานของฉัน")).to_be_visible()
    page.close()
