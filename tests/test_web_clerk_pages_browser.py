"""What clerks found in their first week, as they see it in a real browser (Debian's chromium
through Playwright) at 1366x768 and on a phone, against nodes served over HTTP on
127.0.0.1: รอส่ง counts only what clerks sent, /status is Thai in the site's look with
Bangkok Buddhist-era time, เรื่อง over its limit is refused and not cut, dates typed as
clerks type them are read and said back, people and offices appear by name, the speed
class reads ปกติ throughout, and the node serves its own icon. Screenshots go to
tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from support import CHIANG_MAI, CHIANG_RAI, Clock, serve
from test_node_offline import deliver
from test_node_support import Federation, Node, PaperHub, offline_node, publish
from test_web_letters import arrive, hand_back
from web_support import (
    DESKTOP,
    PHONE,
    add_users,
    assert_serves_its_icon,
    login,
    post_form,
    shot,
    signed_in_page,
)

from protocol.limits import MAX_SUBJECT


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Node, Node]:
    clock, paper = Clock(), PaperHub()
    cm = offline_node(tmp_path, CHIANG_MAI, paper, clock)
    cr = offline_node(tmp_path, CHIANG_RAI, paper, clock)
    publish(paper, cm, cr)
    add_users(cm)
    add_users(cr)
    return cm, cr


@pytest.fixture
def at_chiang_rai(pair: tuple[Node, Node]) -> Iterator[str]:
    with serve(pair[1].app) as url:
        yield url


def detail(page: Page, term: str) -> object:
    """The ``<dd>`` after ``<dt>term</dt>`` in the page's details list."""
    return page.locator(f'dl.details dt:text-is("{term}") + dd')


def badge(page: Page) -> object:
    return page.get_by_role("status", name="สถานะการเชื่อมต่อ")


def test_waiting_to_send_shows_only_what_the_clerk_sent(
    browser: Browser, pair: tuple[Node, Node], at_chiang_rai: str
) -> None:
    cr = pair[1]
    first = arrive(pair, "ขอเชิญประชุมคณะทำงาน")
    second = arrive(pair, "ขอส่งรายงานผลการดำเนินงาน")
    page = signed_in_page(browser, at_chiang_rai)
    expect(badge(page)).to_contain_text("รอส่ง: 0 รายการ")  # two delivered receipts wait

    page.goto(f"{at_chiang_rai}/letters/{first}")
    page.get_by_role("button", name="ลงรับ", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="ลงรับแล้ว เลขรับ 1")).to_be_visible()
    expect(badge(page)).to_contain_text("รอส่ง: 0 รายการ")  # ลงรับ sends nothing of the clerk's

    page.goto(f"{at_chiang_rai}/letters/{second}")
    page.get_by_label("เหตุผลที่ส่งคืน").fill("ส่งผิดหน่วยงาน")
    page.get_by_role("button", name="ส่งคืน").click()
    expect(page.get_by_role("status").filter(has_text="ส่งคืนแล้ว")).to_be_visible()
    expect(badge(page)).to_contain_text("รอส่ง: 1 รายการ")  # ส่งคืน is the clerk's own sending
    shot(page, "badge-counts-clerks-sending-1366x768")

    page.get_by_role("link", name="สถานะระบบ").click()
    expect(detail(page, "หนังสือรอส่ง (ที่เจ้าหน้าที่ส่ง)")).to_have_text("1 รายการ")
    total = cr.rows("SELECT COUNT(*) AS n FROM feed WHERE state != 'accepted'")[0]["n"]
    assert total > 1
    expect(detail(page, "ซองเอกสารทั้งหมดที่รอส่ง")).to_contain_text(f"{total} ซอง")
    page.close()


def test_status_page_is_thai_styled_with_bangkok_buddhist_era_time(
    browser: Browser, fed: Federation
) -> None:
    cr, cm = fed.node(CHIANG_RAI), fed.node(CHIANG_MAI)
    assert cr.sync().ok and cm.sync().ok
    add_users(cm)
    with serve(cm.app) as url:
        page = browser.new_page(viewport=DESKTOP, locale="th-TH")
        page.goto(f"{url}/status")  # whoever opens the node, signed in or not
        expect(page).to_have_title("สถานะระบบ - ระบบสารบรรณอิเล็กทรอนิกส์")
        expect(page.get_by_role("heading", name="สถานะระบบ", level=1)).to_be_visible()
        expect(page.locator("header.top")).to_have_css("background-color", "rgb(18, 60, 105)")
        expect(page.locator("body")).to_have_css("font-family", re.compile(r"^Sarabun,"))
        # the rounds ran at 2026-11-18 11:06 UTC: 18.06 in Bangkok, year 2569
        expect(detail(page, "ส่ง-รับสำเร็จล่าสุด")).to_contain_text("18 พฤศจิกายน 2569 เวลา 18.06 น.")
        expect(detail(page, "สถานะ")).to_have_text("เชื่อมต่อศูนย์กลางได้")
        shown = page.locator("main").inner_text()
        assert "outbox" not in shown and "2026" not in shown and "UTC" not in shown
        shot(page, "status-1366x768")
        page.set_viewport_size(PHONE)
        expect(detail(page, "หนังสือรอส่ง (ที่เจ้าหน้าที่ส่ง)")).to_be_visible()
        shot(page, "status-phone")

        signed_in = signed_in_page(browser, url)
        signed_in.get_by_role("link", name="สถานะระบบ").click()
        expect(signed_in.get_by_role("navigation", name="เมนูหลัก")).to_be_visible()
        page.close()
        signed_in.close()


def test_a_pasted_subject_over_the_limit_is_not_cut_and_is_refused_in_thai(
    browser: Browser, pair: tuple[Node, Node], at_chiang_rai: str
) -> None:
    subject = "ขอเชิญประชุมเพื่อพิจารณาโครงการ" + "ก" * MAX_SUBJECT
    page = signed_in_page(browser, at_chiang_rai)
    page.goto(f"{at_chiang_rai}/compose")
    field = page.get_by_label("เรื่อง", exact=True)
    expect(page.locator("#subject-hint")).to_contain_text("ไม่เกิน 500 ตัวอักษร")
    field.focus()
    page.keyboard.insert_text(subject)  # as a paste
    assert len(field.input_value()) == len(subject)  # nothing cut
    expect(page.locator("#subject-hint")).to_contain_text(
        f"ยาวเกิน {len(subject) - MAX_SUBJECT} ตัวอักษร"
    )
    page.get_by_role("button", name="บันทึกร่าง").click()
    expect(page.get_by_role("alert")).to_contain_text(
        f"เรื่องยาวเกิน 500 ตัวอักษร (พิมพ์มา {len(subject)} ตัวอักษร)"
    )
    assert page.get_by_label("เรื่อง", exact=True).input_value() == subject
    assert pair[1].rows("SELECT COUNT(*) AS n FROM letters")[0]["n"] == 0
    shot(page, "subject-over-limit-1366x768")
    page.close()


def test_dates_typed_as_clerks_type_them_are_read_said_back_and_registered(
    browser: Browser, pair: tuple[Node, Node], at_chiang_rai: str
) -> None:
    cr = pair[1]
    page = signed_in_page(browser, at_chiang_rai)
    page.get_by_role("navigation", name="เมนูหลัก").get_by_role(
        "link", name="ลงรับหนังสือกระดาษ"
    ).click()
    date = page.get_by_label("ลงวันที่")
    said = page.locator("#letter_date-understood")
    for typed in ("1 ธ.ค. 69", "1/12/69", "1/12/2569", "๑ ธ.ค. ๒๕๖๙"):
        date.fill("")
        date.press_sequentially(typed)
        expect(said).to_have_text("ระบบอ่านว่า 1 ธันวาคม 2569")
    date.fill("31/2/69")
    expect(said).to_have_text("ไม่มีวันที่ 31 กุมภาพันธ์ 2569 ในปฏิทิน")
    expect(said).to_have_css("color", "rgb(192, 0, 0)")
    page.get_by_label("จาก", exact=True).fill("สำนักงานประชาสัมพันธ์จังหวัดเชียงใหม่")
    page.get_by_label("เรื่อง", exact=True).fill("ขอเชิญร่วมงานวันพ่อแห่งชาติ")
    page.get_by_role("button", name="ลงรับ", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("ลงวันที่: ไม่มีวันที่ 31 กุมภาพันธ์ 2569 ในปฏิทิน")
    expect(said).to_have_text("ไม่มีวันที่ 31 กุมภาพันธ์ 2569 ในปฏิทิน")  # said by the server
    assert cr.rows("SELECT COUNT(*) AS n FROM letters")[0]["n"] == 0
    shot(page, "paper-impossible-date-1366x768")

    page.get_by_label("ลงวันที่").fill("1/12/69")
    page.get_by_role("button", name="ลงรับ", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="ลงรับแล้ว")).to_have_text(
        "ลงรับแล้ว เลขรับ 1 ลงวันที่ 1 ธันวาคม 2569"
    )
    expect(detail(page, "ลงวันที่")).to_have_text("1 ธันวาคม 2569")
    page.set_viewport_size(PHONE)
    expect(detail(page, "ลงวันที่")).to_be_visible()
    shot(page, "paper-date-read-phone")
    page.close()


def test_without_javascript_the_server_says_the_date_back(
    browser: Browser, pair: tuple[Node, Node], at_chiang_rai: str
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="th-TH", java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{at_chiang_rai}/login")
    page.get_by_label("ชื่อผู้ใช้").fill("somsri")
    page.get_by_label("รหัสผ่าน").fill("รหัสผ่านยาวพอ-2569")
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    page.goto(f"{at_chiang_rai}/paper/new")
    page.get_by_label("ลงวันที่").fill("๑ ธ.ค. ๖๙")
    expect(page.locator("#letter_date-understood")).to_have_text("")  # nothing says it live
    page.get_by_label("จาก", exact=True).fill("สำนักงานประชาสัมพันธ์จังหวัดเชียงใหม่")
    page.get_by_label("เรื่อง", exact=True).fill("ก" * (MAX_SUBJECT + 1))
    page.get_by_role("button", name="ลงรับ", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("เรื่องยาวเกิน 500 ตัวอักษร")
    expect(page.locator("#letter_date-understood")).to_have_text("ระบบอ่านว่า 1 ธันวาคม 2569")
    context.close()


def _assigned(pair: tuple[Node, Node]) -> tuple[int, int]:
    """A letter sent from ชม's compose page, registered at ชร, minuted by the boss and
    assigned to มานะ (officer) through the letter's forms; its ids at ชม and at ชร."""
    cm, cr = pair
    form = {"action": "send", "letter_type": "ภายนอก", "subject": "ขอเชิญประชุม"}
    sent = post_form(login(cm), "/compose", {**form, "recipients": CHIANG_RAI}, "/compose")
    letter_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    arrived = deliver(cm, cr, PaperHub(), letter_id)
    path = f"/letters/{arrived}"
    assert post_form(login(cr), f"{path}/register", {}, path).status_code == 302
    boss = login(cr, "boss")
    assert post_form(boss, f"{path}/minute", {"minute_text": "ดำเนินการ"}, path).status_code == 302
    assert post_form(boss, f"{path}/assign", {"assign_to": "officer"}, path).status_code == 302
    hand_back(cr, cm)
    return letter_id, arrived


def test_people_and_offices_by_name_and_the_speed_class_said_one_way(
    browser: Browser, pair: tuple[Node, Node]
) -> None:
    letter_id, _ = _assigned(pair)
    with serve(pair[1].app) as url:
        page = signed_in_page(browser, url, "officer")
        row = page.get_by_role("row").filter(has_text="ขอเชิญประชุม")
        expect(row.locator('td[data-label="มอบหมายถึง"]')).to_have_text("มานะ ผู้ปฏิบัติ")
        expect(row.locator('td[data-label="ชั้นความเร็ว"]')).to_have_text("ปกติ")
        row.get_by_role("link", name="ขอเชิญประชุม").click()
        expect(detail(page, "อยู่กับ")).to_have_text("มานะ ผู้ปฏิบัติ")
        expect(detail(page, "ชั้นความเร็ว")).to_have_text("ปกติ")
        history = page.locator("ol.timeline")
        expect(history).to_contain_text("ลงรับ โดย สมศรี ธุรการ")
        expect(history).to_contain_text("มอบหมาย โดย ประยุทธ หัวหน้าสำนักงาน")
        expect(history).to_contain_text("ถึง: มานะ ผู้ปฏิบัติ")
        for login_name in ("somsri", "boss", "officer"):
            expect(page.locator("main")).not_to_contain_text(login_name)
        shot(page, "history-by-name-1366x768")
        page.get_by_role("navigation", name="เมนูหลัก").get_by_role("link", name="หนังสือเข้า").click()
        page.get_by_role("link", name="ทั้งหมด").click()
        listed = page.get_by_role("row").filter(has_text="ขอเชิญประชุม")
        expect(listed.locator('td[data-label="ชั้นความเร็ว"]')).to_have_text("ปกติ")
        page.close()
    with serve(pair[0].app) as url:
        page = signed_in_page(browser, url)
        page.goto(f"{url}/letters/{letter_id}")
        expect(detail(page, "จาก")).to_have_text("สำนักงานจังหวัดเชียงใหม่ (ชม 0017)")
        shot(page, "sender-once-1366x768")
        page.close()


def test_the_node_serves_its_own_icon_and_no_page_asks_for_a_missing_one(
    browser: Browser, pair: tuple[Node, Node], at_chiang_rai: str
) -> None:
    page = browser.new_page(viewport=DESKTOP, locale="th-TH")
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(f"{at_chiang_rai}/login")
    page.get_by_label("ชื่อผู้ใช้").fill("somsri")
    page.get_by_label("รหัสผ่าน").fill("รหัสผ่านยาวพอ-2569")
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    page.wait_for_url(f"{at_chiang_rai}/")
    page.goto(f"{at_chiang_rai}/status")
    assert_serves_its_icon(browser, page, at_chiang_rai)
    assert missing == []
    page.close()
