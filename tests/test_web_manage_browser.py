"""The retention and administration pages in a real browser (Debian's chromium through
Playwright, the node served on 127.0.0.1): an administrator adds a user who then signs in,
and a clerk proposes the yearly destruction list. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from support import CHIANG_MAI, serve
from test_node_support import Node
from test_retention import at, keep, make_node, paper_letter
from web_support import DESKTOP, PHONE, add_users, log_in_page, shot, signed_in_page

NEW_PASSWORD = "ช้างเผือก-เดินป่า-2570"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Node]]:
    """A node over HTTP whose letters of 2543, kept ten years, are due in early 2554."""
    node = make_node(tmp_path)
    for subject, number in (
        ("ขอรับการสนับสนุนงบประมาณ", "ทป 0101/55"),
        ("ส่งสำเนาทะเบียนบ้าน", "ทป 0101/56"),
    ):
        keep(node, paper_letter(node, subject, number=number), retention="10")
    keep(node, paper_letter(node, "พระราชกฤษฎีกาจัดตั้งจังหวัด"), retention="never")
    node.clock.t = at(2011, 1, 20)
    add_users(node)
    with serve(node.app) as url:
        yield url, node


def test_admin_adds_a_user_who_then_signs_in(browser: Browser, served: tuple[str, Node]) -> None:
    url, _ = served
    page = signed_in_page(browser, url, "admin")
    page.get_by_role("navigation", name="เมนูหลัก").get_by_role("link", name="ผู้ดูแลระบบ").click()
    expect(page.get_by_role("heading", name="ผู้ใช้", exact=True)).to_be_visible()

    form = page.locator("form", has=page.get_by_role("button", name="เพิ่มผู้ใช้"))
    form.get_by_label("ชื่อผู้ใช้").fill("malee")
    form.get_by_label("ชื่อ-สกุล").fill("มาลี สารบรรณ")
    form.get_by_label("รหัสผ่าน", exact=True).fill(NEW_PASSWORD)
    form.get_by_label("ยืนยันรหัสผ่าน").fill(NEW_PASSWORD)
    form.get_by_label("เจ้าหน้าที่สารบรรณ").check()
    form.get_by_label(CHIANG_MAI, exact=False).first.check()
    form.get_by_role("button", name="เพิ่มผู้ใช้").click()
    expect(page.get_by_role("status").filter(has_text="เพิ่มผู้ใช้ malee")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="มาลี สารบรรณ")
    expect(row).to_contain_text("เจ้าหน้าที่สารบรรณ")
    expect(row).to_contain_text("ยังไม่เคย")
    expect(form.get_by_label("รหัสผ่าน", exact=True)).to_have_value("")
    shot(page, "admin-users-1366x768")
    page.set_viewport_size(PHONE)
    expect(row).to_be_visible()
    shot(page, "admin-users-phone")

    page.set_viewport_size(DESKTOP)
    page.get_by_role("link", name="หน่วยงานและรหัส").click()
    page.get_by_label("รหัสหน่วยงาน").fill("ชม 0017.3")
    page.get_by_label("ชื่อหน่วยงาน").fill("กลุ่มงานอำนวยการ")
    page.get_by_role("button", name="บันทึกหน่วยงาน").click()
    expect(page.get_by_role("row").filter(has_text="กลุ่มงานอำนวยการ")).to_contain_text("ใช้งาน")
    shot(page, "admin-units-1366x768")
    page.set_viewport_size(PHONE)
    shot(page, "admin-units-phone")

    page.set_viewport_size(DESKTOP)
    page.get_by_role("link", name="ทะเบียนเลข").click()
    page.get_by_label("ทะเบียน", exact=True).first.select_option("ส่ง")
    page.get_by_label("เหตุผลการจอง").fill("สำหรับหนังสือผู้ว่าราชการจังหวัด")
    page.get_by_role("button", name="จองเลข").click()
    expect(page.get_by_role("status").filter(has_text="จองเลข ชม 0017/1 แล้ว")).to_be_visible()
    shot(page, "admin-registers-1366x768")
    page.set_viewport_size(PHONE)
    shot(page, "admin-registers-phone")

    page.get_by_role("button", name="ออกจากระบบ").click()
    log_in_page(page, url, "malee", NEW_PASSWORD)
    expect(page.get_by_role("heading", name="งานของฉัน")).to_be_visible()
    expect(page.locator(".who")).to_have_text("มาลี สารบรรณ")
    page.close()


def test_clerk_proposes_the_yearly_destruction_list_and_sees_it(
    browser: Browser, served: tuple[str, Node]
) -> None:
    url, _ = served
    page = signed_in_page(browser, url)
    page.get_by_role("link", name="การเก็บรักษา").click()
    expect(page.get_by_role("heading", name="หนังสือที่จัดเก็บ")).to_be_visible()
    kept = page.get_by_role("row").filter(has_text="ขอรับการสนับสนุนงบประมาณ")
    expect(kept).to_contain_text("เก็บถึง พ.ศ. 2553")
    shot(page, "retention-1366x768")
    page.set_viewport_size(PHONE)
    expect(kept).to_be_visible()
    shot(page, "retention-phone")

    page.set_viewport_size(DESKTOP)
    page.get_by_role("navigation", name="การเก็บรักษาหนังสือ").get_by_role(
        "link", name="บัญชีหนังสือขอทำลาย"
    ).click()
    expect(page.get_by_label("ประจำปี พ.ศ.")).to_have_value("2554")
    page.get_by_role("button", name="จัดทำบัญชี").click()
    expect(page.get_by_role("heading", name="บัญชีหนังสือขอทำลาย ประจำปี พ.ศ. 2554")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="(2 รายการ)")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="ส่งสำเนาทะเบียนบ้าน")).to_be_visible()
    expect(page.get_by_text("รอคณะกรรมการพิจารณา", exact=True)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="พระราชกฤษฎีกาจัดตั้งจังหวัด")).to_have_count(0)

    # The committee with one member only: the Thai message, and the list still waits.
    page.get_by_label("ประธานกรรมการ").fill("นายประเสริฐ มั่นคง")
    page.get_by_label("กรรมการ", exact=True).fill("นางสาวสมศรี ดีงาม")
    page.get_by_label("เลขที่หนังสือแจ้งความเห็นชอบของหอจดหมายเหตุแห่งชาติ").fill("หจช 0301/123")
    page.get_by_role("button", name="บันทึกความเห็นชอบ").click()
    expect(page.get_by_role("alert")).to_contain_text("กรรมการอย่างน้อยสองคน")
    expect(page.get_by_label("ประธานกรรมการ")).to_have_value("นายประเสริฐ มั่นคง")
    shot(page, "destruction-list-1366x768")
    page.set_viewport_size(PHONE)
    shot(page, "destruction-list-phone")
    page.close()
