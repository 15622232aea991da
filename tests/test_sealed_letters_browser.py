"""A sealed ลับ letter in a real browser: Debian's chromium driven by Playwright against the
recipient's node served over HTTP on 127.0.0.1, the letter carried by a real hub. The
classified registrar opens it and downloads its file; a clerk without clearance sees in
หนังสือเข้า that it exists (its number and class) and nothing more: not its subject, sender,
body or file. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect
from support import CHIANG_MAI, CHIANG_RAI, serve
from test_node_support import Federation
from test_sealed_letters import BODY, FILE, FILE_NAME, SUBJECT, send_sealed
from web_support import add_users, shot, signed_in_page

from protocol.sealing import SEALED_SUBJECT

REFUSED_TH = "หนังสือนี้เป็นหนังสือชั้นความลับ เปิดได้เฉพาะผู้มีสิทธิ์เท่านั้น"


def test_the_registrar_opens_a_sealed_letter_and_a_clerk_sees_only_that_it_exists(
    browser: Browser, fed: Federation, tmp_path: Path
) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cm.sync().ok
    sent = send_sealed(cm, [CHIANG_RAI], "ลับ")
    assert cm.sync().ok and cr.sync().ok
    add_users(cr)
    (row,) = cr.inbox()
    sender_name = "สำนักงานจังหวัดเชียงใหม่"

    with serve(cr.app) as url:
        page = signed_in_page(browser, url, "registrar")
        page.goto(f"{url}/letters/inbox")
        listed = page.get_by_role("row").filter(has_text=sent["number"])
        expect(listed).to_contain_text("ลับ")
        listed.get_by_role("link", name=SEALED_SUBJECT).click()
        page.wait_for_url(f"{url}/letters/{row['id']}")
        expect(page.get_by_text(SUBJECT).first).to_be_visible()
        expect(page.get_by_text(BODY).first).to_be_visible()
        files = page.get_by_role("region", name="ไฟล์แนบ")
        expect(files).to_contain_text(FILE_NAME)
        shot(page, "sealed-letter-registrar-1366x768")
        with page.expect_download() as download:
            files.get_by_role("link", name="ดาวน์โหลด").click()
        saved = tmp_path / "downloaded"
        download.value.save_as(saved)
        assert saved.read_bytes() == FILE
        link = files.get_by_role("link", name="ดาวน์โหลด").get_attribute("href")
        assert link and link.startswith(f"/letters/{row['id']}/sealed-files/")
        page.close()

        page = signed_in_page(browser, url, "somsri")
        page.goto(f"{url}/letters/inbox")
        listed = page.get_by_role("row").filter(has_text=sent["number"])
        expect(listed).to_contain_text("ลับ")
        expect(listed.locator('td[data-label="จาก"]')).to_have_text("-")
        expect(listed).to_contain_text("(หนังสือชั้นความลับ)")
        expect(listed.get_by_role("link")).to_have_count(0)
        shot(page, "sealed-letter-clerk-inbox-1366x768")
        shown = page.content()
        for secret in (SUBJECT, BODY, FILE_NAME, SEALED_SUBJECT, sender_name):
            assert secret not in shown, secret

        refused = page.goto(f"{url}/letters/{row['id']}")
        assert refused is not None and refused.status == 403
        expect(page.get_by_text(REFUSED_TH)).to_be_visible()
        shown = page.content()
        assert SUBJECT not in shown and BODY not in shown and FILE_NAME not in shown
        shot(page, "sealed-letter-clerk-refused-1366x768")
        attachment = page.request.get(f"{url}{link}")
        assert attachment.status == 403 and FILE[9:200] not in attachment.body()
        page.close()

    actions = [(r["actor"], r["action"]) for r in cr.rows("SELECT actor, action FROM audit")]
    assert ("registrar", "view_classified") in actions
    assert ("registrar", "download_classified") in actions
    assert ("somsri", "classified_refused") in actions
