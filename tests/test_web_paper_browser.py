"""ลงรับหนังสือกระดาษ and the receiving workflow in a real browser (Debian's chromium through
Playwright) against a node served on 127.0.0.1: a clerk registers a paper letter choosing
its scan in the file chooser; an executive writes a minute and assigns the letter to a
division. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fpdf import FPDF
from playwright.sync_api import Browser, expect
from support import CHIANG_RAI, serve
from test_node_support import Node, office_knowing
from web_support import PHONE, USERS, add_users, shot, signed_in_page

from node.records.units import save_unit

DIVISION = "ชร 0017.1"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Node]]:
    """A node over real HTTP with a user of each role and one division."""
    cr = office_knowing(tmp_path, CHIANG_RAI)
    add_users(cr)
    with cr.store() as s:
        save_unit(cr.ctx, s, DIVISION, "กลุ่มงานอำนวยการ", "", True, "admin")
    with serve(cr.app) as url:
        yield url, cr


def scan_pdf(tmp_path: Path) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=16)
    pdf.cell(text="Scanned letter 5201/1234")
    path = tmp_path / "scan.pdf"
    path.write_bytes(bytes(pdf.output()))
    return path


def test_clerk_registers_a_paper_letter_with_its_scan(
    browser: Browser, served: tuple[str, Node], tmp_path: Path
) -> None:
    url, node = served
    page = signed_in_page(browser, url)
    page.get_by_role("link", name="ลงรับหนังสือกระดาษ").click()
    expect(page.get_by_role("heading", name="ลงรับหนังสือกระดาษ")).to_be_visible()
    expect(page.get_by_label("ชั้นความลับ")).to_have_count(0)
    shot(page, "paper-form-1366x768")

    page.get_by_label("เลขที่หนังสือ").fill("ชม 5201/1234")
    page.get_by_label("ลงวันที่").fill("24 พ.ย. 2569")
    page.get_by_label("จาก", exact=True).fill("สำนักงานประชาสัมพันธ์จังหวัดเชียงใหม่")
    page.get_by_label("เรียน/ถึง").fill("ผู้ว่าราชการจังหวัดเชียงราย")
    page.get_by_label("เรื่อง", exact=True).fill("ขอเชิญร่วมงานวันปิยมหาราช")
    page.get_by_label("ชั้นความเร็ว").select_option("ด่วนมาก")
    page.get_by_label("ไฟล์สแกน").set_input_files(scan_pdf(tmp_path))
    page.get_by_role("button", name="ลงรับ", exact=True).click()

    notice = page.get_by_role("status").filter(has_text="เลขรับ")
    expect(notice).to_have_text("ลงรับแล้ว เลขรับ 1 ลงวันที่ 24 พฤศจิกายน 2569")
    expect(page.get_by_text("ขอเชิญร่วมงานวันปิยมหาราช").first).to_be_visible()
    expect(page.get_by_text("scan.pdf").first).to_be_visible()
    shot(page, "paper-registered-1366x768")
    row = node.rows("SELECT receipt_number, attachments FROM letters")[0]
    assert row["receipt_number"] == "1" and "application/pdf" in row["attachments"]

    page.set_viewport_size(PHONE)
    page.goto(f"{url}/paper/new")
    page.get_by_role("button", name="ลงรับ", exact=True).click()  # the browser asks first
    assert page.get_by_label("จาก", exact=True).evaluate("e => e.validity.valueMissing")
    page.get_by_label("จาก", exact=True).fill("อำเภอเมือง")
    page.get_by_label("เรื่อง", exact=True).fill("แจ้งกำหนดการ")
    page.get_by_label("ไฟล์สแกน").set_input_files(
        {"name": "notes.pdf", "mimeType": "application/pdf", "buffer": b"not a pdf at all"}
    )
    page.get_by_role("button", name="ลงรับ", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("รับ PDF, JPEG, PNG, TIFF")
    expect(page.get_by_label("เรื่อง", exact=True)).to_have_value("แจ้งกำหนดการ")
    shot(page, "paper-form-phone")
    page.close()


def test_executive_writes_a_minute_and_assigns_to_a_division(
    browser: Browser, served: tuple[str, Node]
) -> None:
    url, node = served
    body = {"subject": "ขอความร่วมมือสำรวจข้อมูล", "origin": "จังหวัดเชียงใหม่", "speed": "ด่วน"}
    letter = node.call("POST", "/api/paper-letters", body, ok=201)["id"]
    page = signed_in_page(browser, url, "boss")
    page.goto(f"{url}/letters/{letter}")
    expect(page.get_by_role("button", name="บันทึกเกษียน")).to_be_visible()
    expect(page.get_by_role("button", name="จัดเก็บ")).to_have_count(0)
    shot(page, "workflow-forms-1366x768")

    minute = "ทราบ มอบกลุ่มงานอำนวยการดำเนินการ"
    page.get_by_label("ข้อความเกษียน").fill(minute)
    page.get_by_label("คำสั่งการ").fill("ดำเนินการ")
    page.get_by_role("button", name="บันทึกเกษียน").click()
    expect(page.get_by_role("status").filter(has_text="บันทึกเกษียนแล้ว")).to_be_visible()
    expect(page.get_by_text(minute).first).to_be_visible()
    expect(page.locator(".workflow")).to_contain_text(USERS["boss"][0])

    page.get_by_label("มอบหมายให้").select_option(DIVISION)
    page.get_by_label("หมายเหตุ", exact=True).fill("ขอภายในสัปดาห์นี้")
    page.get_by_role("button", name="มอบหมาย", exact=True).click()
    expect(page.locator(".timeline")).to_contain_text("มอบหมาย")
    expect(page.locator(".workflow")).to_contain_text(f"{DIVISION} กลุ่มงานอำนวยการ")
    expect(page.get_by_label("ส่งต่อให้")).to_be_visible()
    shot(page, "letter-minuted-1366x768")
    row = node.rows("SELECT stage, assigned_to FROM letters WHERE id = ?", (letter,))[0]
    assert row == {"stage": "assigned", "assigned_to": DIVISION}

    page.set_viewport_size(PHONE)
    shot(page, "letter-minuted-phone")
    page.close()


def test_clerk_sees_the_keeping_form_and_keeps_a_finished_letter(
    browser: Browser, served: tuple[str, Node]
) -> None:
    url, node = served
    body = {"subject": "แจ้งผลการประชุม", "origin": "จังหวัดเชียงใหม่"}
    letter = node.call("POST", "/api/paper-letters", body, ok=201)["id"]
    node.call("POST", f"/api/letters/{letter}/done", {"note": "รับทราบแล้ว"})
    page = signed_in_page(browser, url, viewport=PHONE)
    page.goto(f"{url}/letters/{letter}")
    expect(page.get_by_label("ข้อความเกษียน")).to_have_count(0)
    shot(page, "workflow-forms-phone")
    page.get_by_label("อายุการเก็บ").select_option(label="ห้ามทำลาย")
    page.get_by_role("button", name="จัดเก็บ", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="จัดเก็บแล้ว")).to_be_visible()
    expect(page.locator(".workflow")).to_contain_text("ห้ามทำลาย")
    assert node.rows("SELECT stage FROM letters")[0]["stage"] == "kept"
    page.close()
