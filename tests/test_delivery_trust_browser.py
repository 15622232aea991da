"""The administrator's page of envelopes held because they do not verify, in a real browser
(Debian's chromium through Playwright, the node served on 127.0.0.1). Screenshots go to
tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from support import CHIANG_MAI, Clock, serve
from test_delivery_trust import held_for_good
from test_node_support import Federation, federation
from web_support import PHONE, add_users, shot, signed_in_page


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[Federation]:
    with federation(tmp_path, Clock()) as f:
        yield f


def test_admin_sees_a_letter_held_for_good_with_its_sender_in_thai(
    browser: Browser, fed: Federation
) -> None:
    _, cr = held_for_good(fed)
    add_users(cr)
    with serve(cr.app) as url:
        page = signed_in_page(browser, url, "admin")
        expect(page.get_by_role("alert").filter(has_text="ตรวจลายมือชื่อไม่ผ่าน")).to_be_visible()
        menu = page.get_by_role("navigation", name="เมนูหลัก")
        menu.get_by_role("link", name="ผู้ดูแลระบบ").click()
        page.get_by_role("navigation", name="ผู้ดูแลระบบ").get_by_role(
            "link", name="การรับส่งกับศูนย์กลาง"
        ).click()
        expect(page.get_by_role("heading", name="ซองเอกสารที่พักไว้")).to_contain_text("1")
        sender = page.get_by_role("table").first.get_by_role("row").filter(has_text=CHIANG_MAI)
        expect(sender).to_contain_text("3 ครั้ง")
        expect(sender).to_contain_text("กุญแจ")
        envelope = page.get_by_role("table").nth(1).get_by_role("row").nth(1)
        expect(envelope).to_contain_text("หนังสือ")
        expect(envelope).to_contain_text("แจ้งศูนย์กลางแล้ว")
        shot(page, "admin-held-envelopes")
        page.set_viewport_size(PHONE)
        expect(page.get_by_role("heading", name="หนังสือรับที่รอไฟล์แนบ")).to_be_visible()
        shot(page, "admin-held-envelopes-phone")
