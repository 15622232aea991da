"""ส่ง/รับเดี๋ยวนี้ in a real browser: Debian's chromium driven by Playwright against a node
served over HTTP on 127.0.0.1, with its live sync running against a real hub. Screenshots
go to tests/artifacts/ for people to look at."""

from __future__ import annotations

from playwright.sync_api import Browser, expect
from support import CHIANG_MAI, CHIANG_RAI, serve
from test_node_support import Federation
from web_support import DESKTOP, PHONE, add_users, shot, signed_in_page

from node.sync.live import LiveSync
from scripts.faults.federation import wait_for


def test_clicking_sync_now_shows_the_exchange_finish_in_the_badge(
    browser: Browser, fed: Federation
) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    add_users(cm)
    assert cm.sync().ok and cr.sync().ok
    sent = cm.send(recipients=[CHIANG_RAI], subject="ขอเชิญประชุมคณะทำงานด่วนที่สุด")
    assert cm.sync().ok and cr.sync().ok
    number = cr.call("POST", f"/api/letters/{cr.inbox()[0]['id']}/register", {})["receipt_number"]
    assert cr.sync().ok  # the receipts wait at the hub for เชียงใหม่

    live = LiveSync(cm.ctx, watch_seconds=0.2).start()
    cm.app.extensions["saraban_live"] = live
    try:
        wait_for("the first live round has run", lambda: live.rounds >= 1)
        with serve(cm.app) as url:
            page = signed_in_page(browser, url)
            page.goto(f"{url}/letters/{sent['id']}")
            page.get_by_role("button", name="ส่ง/รับเดี๋ยวนี้").click()
            expect(
                page.get_by_role("status").filter(has_text="เริ่มส่ง-รับกับศูนย์กลางแล้ว")
            ).to_be_visible()
            badge = page.get_by_role("status", name="สถานะการเชื่อมต่อ")
            expect(badge).to_contain_text("ส่ง-รับเสร็จแล้ว: ส่งแล้ว")
            expect(badge).to_contain_text("เชื่อมต่อแล้ว")
            expect(badge).to_contain_text("รอส่ง: 0 รายการ")
            expect(badge).to_contain_text("เมื่อสักครู่")
            shot(page, "sync-now-finished-1366x768")

            page.reload()
            tracking = page.get_by_role("table", name="สถานะผู้รับ")
            row = tracking.get_by_role("row").filter(has_text=CHIANG_RAI)
            expect(row).to_contain_text("ลงรับแล้ว")
            expect(row.locator('td[data-label="ลงรับ"]')).to_contain_text(f"เลขรับ {number}")
            expect(row.locator('td[data-label="ถึงศูนย์กลาง"]')).to_contain_text("2569")
            assert page.viewport_size == DESKTOP
            shot(page, "letter-tracking-1366x768")
            page.set_viewport_size(PHONE)
            expect(row.locator('td[data-label="ส่งถึงปลายทาง"]')).to_be_visible()
            shot(page, "letter-tracking-phone")
            page.close()
    finally:
        live.stop()
