"""Finding letters in a real browser: the search page, the registers page and its PDF
download, and the library, with screenshots of each at 1366x768 and on a phone
(tests/artifacts/)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from support import CHIANG_MAI, CHIANG_RAI, serve
from test_node_support import NORTH, office_knowing, paper_letter
from web_support import PHONE, add_users, shot, signed_in_page


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Chiang Mai over real HTTP with letters sent and received, of every kind the pages
    list."""
    tmp = tmp_path_factory.mktemp("find")
    cm = office_knowing(tmp, CHIANG_MAI, CHIANG_RAI, lists=NORTH)
    add_users(cm)
    cm.send(recipients=[CHIANG_RAI], subject="ขอเชิญประชุมป้องกันอุทกภัยจังหวัด", speed="ด่วนที่สุด")
    cm.send(recipients=[CHIANG_RAI], subject="ขอส่งรายงานอุทกภัยประจำสัปดาห์")
    cm.send(lists=["north"], subject="ขอเชิญซ้อมแผนป้องกันอัคคีภัยประจำปี")
    cm.send(
        recipients=[CHIANG_RAI],
        subject="แต่งตั้งคณะทำงานจัดงานกาชาด",
        letter_type="สั่งการ",
        sub_type="คำสั่ง",
    )
    paper_letter(cm, "ขอความร่วมมือสำรวจผู้ประสบอุทกภัย", number="ชร 0017.3/ว 456", speed="ด่วนมาก")
    paper_letter(cm, "ระเบียบว่าด้วยการใช้รถราชการ", letter_type="สั่งการ", sub_type="ระเบียบ")
    with serve(cm.app) as url:
        yield url


def signed_in(browser: Browser, url: str) -> Page:
    page = signed_in_page(browser, url)
    return page


def test_clerk_searches_by_a_word_narrows_by_speed_and_opens_the_letter(
    browser: Browser, served: str
) -> None:
    page = signed_in(browser, served)
    page.get_by_role("navigation", name="เมนูหลัก").get_by_role("link", name="ค้นหา").click()
    expect(page.get_by_role("heading", name="ค้นหาหนังสือ")).to_be_visible()
    page.get_by_label("คำค้น").fill("อุทกภัย")
    page.get_by_label("คำค้น").press("Enter")
    results = page.locator("table.results-table tbody tr")
    expect(results).to_have_count(3)
    expect(page.get_by_role("status").filter(has_text="พบ 3 รายการ")).to_be_visible()
    urgent = results.filter(has_text="ขอเชิญประชุมป้องกันอุทกภัยจังหวัด")
    expect(urgent.locator(".speed")).to_have_css("color", "rgb(192, 0, 0)")
    shot(page, "search-1366x768")

    page.get_by_text("ตัวกรอง").click()
    page.get_by_label("ชั้นความเร็ว").select_option("ด่วนที่สุด")
    page.locator("details .actions").get_by_role("button", name="ค้นหา").click()
    expect(results).to_have_count(1)
    expect(page.get_by_label("ชั้นความเร็ว")).to_have_value("ด่วนที่สุด")
    page.set_viewport_size(PHONE)
    expect(results.first).to_be_visible()
    shot(page, "search-phone")

    page.get_by_role("link", name="ขอเชิญประชุมป้องกันอุทกภัยจังหวัด").click()
    expect(page).to_have_url(f"{served}/letters/1")
    expect(page.get_by_text("ขอเชิญประชุมป้องกันอุทกภัยจังหวัด").first).to_be_visible()
    page.close()


def test_clerk_chooses_a_register_and_downloads_its_pdf(browser: Browser, served: str) -> None:
    page = signed_in(browser, served)
    page.goto(f"{served}/registers")
    page.get_by_label("ทะเบียน", exact=True).select_option("ส่ง")
    page.get_by_label("ปี (พ.ศ.)").fill("2569")
    page.get_by_label("เดือน").select_option("11")
    page.get_by_role("button", name="แสดงทะเบียน").click()
    expect(page.get_by_role("heading", name="ทะเบียนหนังสือส่ง", exact=True)).to_be_visible()
    rows = page.locator("table.register-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("ขอเชิญประชุมป้องกันอุทกภัยจังหวัด")
    shot(page, "registers-1366x768")

    with page.expect_download() as info:
        page.get_by_role("link", name="พิมพ์ PDF").click()
    download = info.value
    # The Thai name (filename*), as /api/registers/ส่ง/print gives it.
    assert download.suggested_filename == "ทะเบียนหนังสือส่ง ชม 0017 ประจำเดือนพฤศจิกายน พ.ศ. 2569.pdf"
    with open(download.path(), "rb") as f:
        assert f.read(4) == b"%PDF"

    page.set_viewport_size(PHONE)
    expect(rows.first).to_be_visible()
    shot(page, "registers-phone")
    page.close()


def test_clerk_opens_the_orders_tab_of_the_library(browser: Browser, served: str) -> None:
    page = signed_in(browser, served)
    page.get_by_role("link", name="หนังสือเวียน คำสั่ง ระเบียบ").click()
    rows = page.locator("table.library-table tbody tr")
    expect(rows).to_have_count(4)
    expect(page.get_by_role("link", name="ขอเชิญประชุมป้องกันอุทกภัยจังหวัด")).to_have_count(0)
    shot(page, "library-1366x768")

    page.get_by_role("navigation", name="ประเภทหนังสือ").get_by_role("link", name="คำสั่ง").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("แต่งตั้งคณะทำงานจัดงานกาชาด")
    page.get_by_role("navigation", name="ประเภทหนังสือ").get_by_role("link", name="ทั้งหมด").click()
    page.set_viewport_size(PHONE)
    expect(rows).to_have_count(4)
    shot(page, "library-phone")
    page.close()
