"""หนังสือเข้า, หนังสือออก and a letter's page in a real browser (Debian's chromium through
Playwright): a clerk opens an urgent e-letter with its PDF, registers it from the keyboard and
follows an outgoing letter's recipients. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from support import CHIANG_MAI, CHIANG_RAI, Clock, serve
from test_node_offline import deliver
from test_node_support import PaperHub, offline_node, publish
from test_web_letters import PDF, arrive, attach, hand_back
from web_support import DESKTOP, PHONE, add_users, shot, signed_in_page

SUBJECT = "ขอเชิญประชุมด่วนเรื่องอุทกภัย"
OUTGOING = "ขอรายงานความเสียหายจากอุทกภัย"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """ชร over real HTTP: one urgent e-letter with a PDF waiting, and one letter it sent to ชม
    that ชม has registered. Yields the URL and the waiting letter's id."""
    clock, paper = Clock(), PaperHub()
    cm = offline_node(tmp_path, CHIANG_MAI, paper, clock)
    cr = offline_node(tmp_path, CHIANG_RAI, paper, clock)
    publish(paper, cm, cr)
    add_users(cr)
    waiting = arrive(
        (cm, cr), SUBJECT, files=(("หนังสือเชิญประชุม.pdf", PDF, "application/pdf"),), speed="ด่วนที่สุด"
    )
    sent = cr.send(
        recipients=[CHIANG_MAI],
        subject=OUTGOING,
        parties=["มูลนิธิช่วยเหลือผู้ประสบภัย"],
        method="ไปรษณีย์ลงทะเบียน",
        attachments=[attach("รายงาน.pdf", PDF)],
    )
    arrived = deliver(cr, cm, paper, sent["id"])
    cm.call("POST", f"/api/letters/{arrived}/register", {})
    hand_back(cm, cr)
    with serve(cr.app) as url:
        yield url, waiting


def test_clerk_opens_an_e_letter_with_its_pdf_and_registers_it(
    browser: Browser, served: tuple[str, int]
) -> None:
    url, letter_id = served
    page = signed_in_page(browser, url)
    page.get_by_role("navigation", name="เมนูหลัก").get_by_role("link", name="หนังสือเข้า").click()
    expect(page.get_by_role("heading", name="หนังสือเข้า")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=SUBJECT)
    expect(row.locator(".speed")).to_have_text("ด่วนที่สุด")
    expect(row.locator(".speed")).to_have_css("color", "rgb(192, 0, 0)")
    shot(page, "inbox-1366x768")
    page.set_viewport_size(PHONE)
    expect(row).to_be_visible()
    shot(page, "inbox-phone")
    page.set_viewport_size(DESKTOP)

    row.get_by_role("link", name=SUBJECT).click()
    expect(page).to_have_url(f"{url}/letters/{letter_id}")
    pdf = page.locator("object.pdf-view")
    expect(pdf).to_be_visible()
    expect(pdf).to_have_attribute("type", "application/pdf")
    assert page.request.get(f"{url}{pdf.get_attribute('data')}").body() == PDF
    expect(page.get_by_label("เหตุผลที่ส่งคืน")).to_be_visible()
    shot(page, "letter-incoming-1366x768")
    page.set_viewport_size(PHONE)
    expect(page.get_by_role("button", name="ลงรับ", exact=True)).to_be_visible()
    shot(page, "letter-incoming-phone")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="ลงรับ", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.locator(".big-number")).to_have_text("เลขรับ 1")
    expect(page.get_by_role("status").filter(has_text="ลงรับแล้ว เลขรับ 1")).to_be_visible()
    expect(page.get_by_role("link", name="ดาวน์โหลดสำเนาประทับตรารับ")).to_be_visible()
    expect(page.get_by_role("button", name="ลงรับ", exact=True)).to_have_count(0)
    shot(page, "letter-registered-1366x768")
    page.set_viewport_size(PHONE)
    shot(page, "letter-registered-phone")
    page.close()


def test_clerk_follows_an_outgoing_letter_to_its_recipients(
    browser: Browser, served: tuple[str, int]
) -> None:
    url, _ = served
    page = signed_in_page(browser, url)
    page.get_by_role("navigation", name="เมนูหลัก").get_by_role("link", name="หนังสือออก").click()
    row = page.get_by_role("row").filter(has_text=OUTGOING)
    expect(row).to_contain_text("ชร 0017/1")
    expect(row).to_contain_text("ลงรับแล้ว 1/1")
    shot(page, "sent-1366x768")
    page.set_viewport_size(PHONE)
    expect(row).to_be_visible()
    shot(page, "sent-phone")
    page.set_viewport_size(DESKTOP)

    row.get_by_role("link", name=OUTGOING).click()
    tracking = page.get_by_role("table", name="สถานะผู้รับ")
    expect(tracking).to_be_visible()
    office = tracking.get_by_role("row").filter(has_text=CHIANG_MAI)
    expect(office).to_contain_text("ลงรับแล้ว")
    expect(office).to_contain_text("เลขรับ 1")
    on_paper = tracking.get_by_role("row").filter(has_text="มูลนิธิช่วยเหลือผู้ประสบภัย")
    expect(on_paper).to_contain_text("ส่งแล้ว (ทางไปรษณีย์ลงทะเบียน)")
    expect(page.locator("ol.timeline li").first).to_be_visible()
    shot(page, "letter-outgoing-1366x768")
    page.set_viewport_size(PHONE)
    expect(office).to_be_visible()
    shot(page, "letter-outgoing-phone")
    page.close()
