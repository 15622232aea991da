"""Writing a letter in a real browser (Debian's chromium through Playwright) against a node
served on 127.0.0.1: a clerk filters the recipients by typing a code, ticks one, chooses a
file and drops another onto the attachment zone, sees each listed with its size, and sends
with "ออกเลขและส่ง", landing on the letter's page with its number. Screenshots go to
tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, serve
from test_node_support import NORTH, Node, office_knowing
from web_support import PHONE, add_users, shot, signed_in_page

SUBJECT = "ขอเชิญประชุมคณะทำงานระบบสารบรรณอิเล็กทรอนิกส์"
PDF = b"%PDF-1.4 invitation " * 100  # 2,000 bytes: 2.0 KB
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 3064  # 3,072 bytes: 3.0 KB


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Node]]:
    """เชียงใหม่ over real HTTP, knowing เชียงราย, ขอนแก่น and the list ภาคเหนือ."""
    cm = office_knowing(tmp_path, CHIANG_MAI, CHIANG_RAI, KHON_KAEN, lists=NORTH)
    add_users(cm)
    with serve(cm.app) as url:
        yield url, cm


def test_clerk_composes_filters_recipients_attaches_files_and_sends(
    browser: Browser, served: tuple[str, Node], tmp_path: Path
) -> None:
    url, node = served
    page = signed_in_page(browser, url)
    page.get_by_role("link", name="เขียนหนังสือ").click()
    expect(page.get_by_role("heading", name="เขียนหนังสือ")).to_be_visible()
    expect(page.get_by_label("กำหนดเวลา")).to_be_hidden()
    page.get_by_label("ชั้นความเร็ว").select_option("ด่วนภายใน")
    expect(page.get_by_label("กำหนดเวลา")).to_be_visible()
    page.get_by_label("ชั้นความเร็ว").select_option("ด่วน")

    page.get_by_label("เรื่อง", exact=True).fill(SUBJECT)
    page.get_by_label("เรียน", exact=True).fill("ผู้ว่าราชการจังหวัดเชียงราย")
    page.get_by_label("ข้อความ", exact=True).fill("จึงขอเชิญเข้าร่วมประชุม")
    page.get_by_label("ค้นหาผู้รับ (ชื่อหรือรหัส)").fill("ชร0017")  # without the space
    expect(page.get_by_label(re.compile(f"^{KHON_KAEN}"))).to_be_hidden()
    expect(page.locator("#recipient-count")).to_have_text("แสดง 1 จาก 2 หน่วยงาน")
    page.get_by_label(re.compile(f"^{CHIANG_RAI}")).check()
    page.get_by_label("ค้นหาผู้รับ (ชื่อหรือรหัส)").fill("ขอนแก่น")
    expect(page.get_by_label(re.compile(f"^{CHIANG_RAI}"))).to_be_visible()  # ticked: stays
    expect(page.get_by_label(re.compile(f"^{KHON_KAEN}"))).to_be_visible()

    chosen = tmp_path / "กำหนดการ.pdf"
    chosen.write_bytes(PDF)
    page.get_by_label("ไฟล์แนบ").set_input_files(chosen)
    dropped = page.evaluate_handle(
        """() => {
            const dt = new DataTransfer();
            const bytes = new Uint8Array(3072);
            bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
            dt.items.add(new File([bytes], "แผนที่.png", {type: "image/png"}));
            return dt;
        }"""
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": dropped})
    files = page.locator("#chosen-files li")
    expect(files).to_have_count(2)
    expect(files.nth(0)).to_have_text(re.compile(r"กำหนดการ\.pdf\s*2\.0 KB"))
    expect(files.nth(1)).to_have_text(re.compile(r"แผนที่\.png\s*3\.0 KB"))
    shot(page, "compose-1366x768")

    page.get_by_role("button", name="ออกเลขและส่ง").click()
    page.wait_for_url(re.compile(r"/letters/\d+$"))
    expect(page.get_by_role("heading", name=SUBJECT)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="ออกเลขที่")).to_have_text(
        "ออกเลขที่ ชม 0017/1 แล้ว — รอส่ง จะส่งเมื่อเชื่อมต่อศูนย์กลางได้"
    )
    expect(page.locator("main")).to_contain_text("ชม 0017/1")
    row = node.rows("SELECT number, recipients, attachments FROM letters")[0]
    assert row["number"] == "ชม 0017/1" and row["recipients"] == f'["{CHIANG_RAI}"]'
    assert "กำหนดการ.pdf" in row["attachments"] and "แผนที่.png" in row["attachments"]

    page.set_viewport_size(PHONE)
    page.goto(f"{url}/compose")
    page.get_by_label("เรื่อง", exact=True).fill("แจ้งกำหนดการตรวจราชการ")
    page.get_by_role("button", name="ออกเลขและส่ง").click()
    expect(page.get_by_role("alert")).to_contain_text("กรุณาระบุผู้รับอย่างน้อยหนึ่งราย")
    expect(page.get_by_label("เรื่อง", exact=True)).to_have_value("แจ้งกำหนดการตรวจราชการ")
    shot(page, "compose-phone")
    page.close()


def test_drafts_list_links_to_each_draft(browser: Browser, served: tuple[str, Node]) -> None:
    url, node = served
    node.call("POST", "/api/drafts", {"subject": "ร่างคำสั่งแต่งตั้งคณะทำงาน", "speed": "ด่วนมาก"}, 201)
    numbered = node.call("POST", "/api/drafts", {"subject": "ขอความอนุเคราะห์ข้อมูล"}, 201)
    node.call("POST", f"/api/letters/{numbered['id']}/number", {})
    page = signed_in_page(browser, url)
    page.goto(f"{url}/drafts")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("ชม 0017/1")
    expect(rows.nth(1)).to_contain_text("ยังไม่ออกเลข")
    shot(page, "drafts-1366x768")
    page.set_viewport_size(PHONE)
    shot(page, "drafts-phone")
    page.get_by_role("link", name="ขอความอนุเคราะห์ข้อมูล").click()
    expect(page.locator(".big-number")).to_have_text("ที่ ชม 0017/1")
    expect(page.get_by_label("ชนิดหนังสือ")).to_have_count(0)  # fixed once numbered
    shot(page, "compose-numbered-phone")
    page.get_by_role("button", name="ส่ง", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("กรุณาระบุผู้รับ")
    page.get_by_label(re.compile(f"^{CHIANG_RAI}")).check()
    page.get_by_role("button", name="ส่ง", exact=True).click()
    page.wait_for_url(re.compile(r"/letters/\d+$"))
    expect(page.get_by_role("status").filter(has_text="ออกเลขที่")).to_contain_text("รอส่ง")
    page.close()
