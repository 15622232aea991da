"""TOTP enrolment at the office's pages in a real browser: Debian's chromium driven by
Playwright against a node served over HTTP on 127.0.0.1, enrolled with a real hub.

A clerk opens the page from their name at the top, has a QR code drawn as inline SVG (the
page loads nothing from elsewhere) and the secret in groups of four, is refused a wrong
code with a Thai message and enrolled with the right one, computed with protocol.totp;
after a sync the hub holds the secret. An administrator resets it, and after the next sync
the hub holds none. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Request, expect
from support import CHIANG_MAI, serve
from test_node_support import Federation
from web_support import PHONE, add_users, shot, signed_in_page

from hub.store import open_store
from hub.store.portal_accounts import PortalAccounts
from node.staff.second_factor import ISSUER
from node.web.totp import qr_svg
from protocol.totp import code_at, normalise_secret, otpauth_uri

PATH_D = re.compile(r'\sd="([^"]+)"')


def hub_secret(fed: Federation, username: str) -> str | None:
    store = open_store(fed.hub_app.config["DATABASE"], create=False)
    try:
        account = PortalAccounts(store).get(CHIANG_MAI, username)
    finally:
        store.close()
    assert account is not None
    return account["totp_secret"]  # type: ignore[no-any-return]


def test_a_clerk_enrols_totp_with_a_qr_code_and_the_hub_gets_the_secret(
    browser: Browser, fed: Federation
) -> None:
    cm = fed.node(CHIANG_MAI)
    add_users(cm)
    assert cm.sync().ok
    with serve(cm.app) as url:
        page = signed_in_page(browser, url)
        elsewhere: list[str] = []

        def note(request: Request) -> None:
            if urlsplit(request.url).netloc != urlsplit(url).netloc:
                elsewhere.append(request.url)

        page.on("request", note)
        page.get_by_role("link", name="สมศรี ธุรการ").click()
        expect(page.get_by_role("heading", name="รหัสยืนยันตัวตนสองชั้น")).to_be_visible()
        expect(page.get_by_text("ยังไม่ได้ตั้ง", exact=True)).to_be_visible()
        page.get_by_role("button", name="สร้างคิวอาร์โค้ด").click()

        qr = page.locator("figure.qr svg")
        expect(qr).to_be_visible()
        expect(qr.locator("title")).to_have_text("คิวอาร์โค้ดสำหรับแอปยืนยันตัวตน")
        shown = page.locator("#secret").inner_text()
        assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", shown), shown
        secret = normalise_secret(shown)
        expected = qr_svg(otpauth_uri(secret, f"somsri ({CHIANG_MAI})", ISSUER))
        drawn = PATH_D.search(qr.evaluate("svg => svg.outerHTML"))
        assert drawn and drawn.group(1) == PATH_D.search(expected).group(1)  # type: ignore[union-attr]
        shot(page, "totp-enrol-1366x768")

        right = code_at(secret, cm.clock())
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        page.get_by_label("รหัส 6 หลักจากแอป").fill(wrong)
        page.get_by_role("button", name="ยืนยัน").click()
        expect(page.get_by_role("alert")).to_contain_text("รหัสไม่ถูกต้องหรือหมดเวลาแล้ว")
        expect(page.locator("figure.qr svg")).to_be_visible()
        assert page.locator("#secret").inner_text() == shown  # the same secret, still pending

        page.set_viewport_size(PHONE)
        shot(page, "totp-wrong-code-phone")
        page.get_by_label("รหัส 6 หลักจากแอป").fill(right)
        page.get_by_role("button", name="ยืนยัน").click()
        expect(page.get_by_role("status").filter(has_text="ตั้งรหัสยืนยันตัวตนสองชั้นแล้ว")).to_be_visible()
        expect(page.get_by_text("ตั้งแล้ว", exact=True)).to_be_visible()
        expect(page.locator("figure.qr svg")).to_have_count(0)
        expect(page.get_by_text(shown)).to_have_count(0)  # a confirmed secret is never shown
        assert elsewhere == []
        page.close()

        assert hub_secret(fed, "somsri") is None
        assert cm.sync().ok
        assert hub_secret(fed, "somsri") == secret

        admin = signed_in_page(browser, url, "admin")
        admin.goto(f"{url}/admin/users/somsri")
        expect(admin.get_by_text("ตั้งแล้ว", exact=True)).to_be_visible()
        admin.get_by_role("button", name="ยกเลิกรหัสยืนยันตัวตนสองชั้น").click()
        reset = admin.get_by_role("status").filter(has_text="ยกเลิกรหัสยืนยันตัวตนสองชั้นของ somsri")
        expect(reset).to_be_visible()
        expect(admin.get_by_text("ยังไม่ได้ตั้ง", exact=True)).to_be_visible()
        admin.close()
    assert cm.sync().ok
    assert hub_secret(fed, "somsri") is None
