"""The portal's pages of letters (ADR 0024), on a real hub on 127.0.0.1 and real nodes
that send, receive, register (ลงรับ) and return (ส่งคืน) letters and publish their accounts.

A person searches their office's letters by a Thai word (marked in the results) and by a
number typed the way clerks type it; opens a letter and sees every recipient's tracking
with the เลขรับ and the reason of a return, in Bangkok time and the Buddhist era; downloads
an attachment; exports the results to Excel. Another office's letter is answered exactly as
one that does not exist. The ministry's executives see every office's tracking, without
content, and where letters wait beyond their speed class's time. Every search, opened
letter, download and export is audited; a password hash and a TOTP secret appear in no
page, log line or /metrics.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from openpyxl import load_workbook
from portal_support import ENV_RE, Portal, enrol, visible_text
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY, Clock
from test_hub_support import METRICS_AUTH
from test_node_support import Federation, Node, federation

from hub.store import open_store
from hub.store.portal_accounts import PortalAccounts
from hub.store.portal_sessions import PortalSessions

MEETING = "ขอเชิญประชุมคณะทำงานพัฒนาระบบสารบรรณอิเล็กทรอนิกส์"
MEETING_BODY = "ด้วยจังหวัดเชียงใหม่กำหนดจัดประชุมเพื่อติดตามงบประมาณประจำปี"
PRIVATE = "รายงานผลการตรวจสอบภายในของจังหวัดเชียงใหม่"
PDF = b"%PDF-1.4 agenda of the meeting " * 8
RETURN_REASON = "ส่งผิดหน่วยงาน ไม่ใช่อำนาจหน้าที่ของจังหวัดขอนแก่น"

pytestmark = pytest.mark.sqlite_only("a federation the module's tests share")


class World:
    """เชียงใหม่ sends a meeting letter (ด่วนที่สุด, with an agenda) to เชียงราย, which
    registers it, and ขอนแก่น, which returns it; and a letter to เชียงราย alone, not
    registered yet."""

    def __init__(self, fed: Federation) -> None:
        self.fed = fed
        self.cm: Node = fed.node(CHIANG_MAI)
        self.cr: Node = fed.node(CHIANG_RAI)
        self.kk: Node = fed.node(KHON_KAEN)
        self.mt: Node = fed.node(MINISTRY)
        self.somsri = enrol(self.cm, "somsri", ["clerk"])
        self.manee = enrol(self.cr, "manee", ["clerk"])
        self.somchai = enrol(self.kk, "somchai", ["clerk"])
        self.boss = enrol(self.mt, "boss", ["executive"])
        self.mt_clerk = enrol(self.mt, "sunee", ["clerk"])
        attachment = {
            "name": "ระเบียบวาระการประชุม.pdf",
            "media_type": "application/pdf",
            "content_base64": base64.b64encode(PDF).decode(),
        }
        self.meeting = self.cm.send(
            subject=MEETING,
            body=MEETING_BODY,
            speed="ด่วนที่สุด",
            recipients=[CHIANG_RAI, KHON_KAEN],
            attachments=[attachment],
        )
        self.private = self.cm.send(subject=PRIVATE, body="เอกสารภายใน", recipients=[CHIANG_RAI])
        for node in (self.cm, self.cr, self.kk, self.mt):
            assert node.sync().ok
        inbox = {r["subject"]: r["id"] for r in self.cr.inbox()}
        self.cr.call("POST", f"/api/letters/{inbox[MEETING]}/register", {})
        [kk_letter] = self.kk.inbox()
        self.kk.call("POST", f"/api/letters/{kk_letter['id']}/return", {"reason": RETURN_REASON})
        for node in (self.cr, self.kk, self.cm):
            assert node.sync().ok
        self.portal = Portal.on(fed)

    def audit(self) -> list[dict[str, object]]:
        store = open_store(self.fed.hub_app.config["DATABASE"], create=False)
        try:
            return list(reversed(PortalSessions(store).audit_rows(limit=1000)))
        finally:
            store.close()

    def env_of(self, page: str) -> str:
        match = ENV_RE.search(page)
        assert match, page[:500]
        return match.group(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with federation(tmp_path_factory.mktemp("portal-pages"), Clock()) as fed:
        yield World(fed)


def test_a_search_by_a_thai_word_lists_the_letter_with_the_word_marked(world: World) -> None:
    portal = world.portal
    client = portal.sign_in(world.manee)
    page = portal.page(client, "/?q=งบประมาณ")
    assert "<mark>งบประมาณ</mark>" in page
    text = visible_text(page)
    assert MEETING in text and "พบ 1 ฉบับ" in text and CHIANG_MAI in text
    short = portal.page(client, "/?q=" + quote("ประชุม คณะ"))
    assert "<mark>ประชุม</mark>" in short  # in the body's excerpt
    assert re.search(r"<mark>[^<]*คณะ[^<]*</mark>", short)
    searches = [a for a in world.audit() if a["action"] == "search" and a["username"] == "manee"]
    assert '"q": "งบประมาณ"' in str(searches[0]["detail"])


@pytest.mark.parametrize("typed", ["ชม ๐๐๑๗/๑", "ชม0017 / 1", "  ชม  ๐๐๑๗ /๑ "])
def test_a_number_typed_the_way_clerks_type_it_finds_its_letter(world: World, typed: str) -> None:
    portal = world.portal
    client = portal.sign_in(world.somchai)
    page = visible_text(portal.page(client, f"/?q={typed}"))
    assert MEETING in page and "ชม 0017/1" in page
    assert PRIVATE not in page


def test_a_letters_page_tracks_every_recipient_in_bangkok_time(world: World) -> None:
    portal = world.portal
    client = portal.sign_in(world.somsri)
    env = world.env_of(portal.page(client, "/?q=ประชุม"))
    page = portal.page(client, f"/letters/{env}")
    text = visible_text(page)
    assert MEETING in text and MEETING_BODY in text and "ด่วนที่สุด" in text
    assert "18 พ.ย. 2569 18.06 น." in text  # START: 2026-11-18 18:06 Bangkok
    assert 'data-office="ชร 0017" data-state="registered"' in page
    assert 'data-office="ขก 0017" data-state="returned"' in page
    registered = text.split("ชร 0017", 2)[2]
    assert "ลงรับแล้ว" in registered and "เลขรับ 1" in registered
    assert f"เหตุผล: {RETURN_REASON}" in text
    assert any(a["action"] == "open" and env in str(a["detail"]) for a in world.audit())


def test_a_recipient_downloads_an_attachment_of_its_letter(world: World) -> None:
    portal = world.portal
    client = portal.sign_in(world.manee)
    env = world.env_of(portal.page(client, "/?q=ประชุม"))
    page = portal.page(client, f"/letters/{env}")
    link = page.split('href="/letters/', 2)[1].split('"')[0] if "/files/" in page else ""
    assert "/files/" in link
    answer = portal.get(client, f"/letters/{link}")
    assert answer.status_code == 200 and answer.data == PDF
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "ระเบียบวาระการประชุม.pdf" in unquote(disposition)
    assert answer.headers["Content-Type"] == "application/octet-stream"
    downloads = [a for a in world.audit() if a["action"] == "download"]
    assert downloads and downloads[-1]["office"] == CHIANG_RAI


def test_another_offices_letter_is_answered_as_one_that_does_not_exist(world: World) -> None:
    portal = world.portal
    owner = portal.sign_in(world.somsri)
    env = world.env_of(portal.page(owner, f"/?q={PRIVATE}"))
    files = world.env_of(portal.page(owner, "/?q=ประชุม"))
    stranger = portal.sign_in(world.somchai)
    assert "ไม่พบหนังสือ" in visible_text(portal.page(stranger, f"/?q={PRIVATE}"))
    refused = portal.page(stranger, f"/letters/{env}", 404)
    absent = portal.page(stranger, f"/letters/{'0' * 64}", 404)
    assert visible_text(refused) == visible_text(absent)
    assert PRIVATE not in refused
    # ขอนแก่น received the meeting letter, but another office's file id is refused alike.
    sha = "f" * 64
    assert portal.get(stranger, f"/letters/{files}/files/{sha}").status_code == 404
    assert portal.get(stranger, f"/letters/{env}/files/{sha}").status_code == 404


def test_a_result_list_exports_to_excel_with_buddhist_era_dates(world: World) -> None:
    portal = world.portal
    client = portal.sign_in(world.somsri)
    answer = portal.get(client, "/export.xlsx?q=ประชุม")
    assert answer.status_code == 200
    disposition = unquote(answer.headers["Content-Disposition"])
    assert "saraban-portal-search-2569-11-18.xlsx" in disposition
    assert "ผลการค้นหาหนังสือ 18 พฤศจิกายน 2569.xlsx" in disposition
    sheet = load_workbook(io.BytesIO(answer.data)).active
    rows = [[c for c in r] for r in sheet.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(rows) if r and r[0] == "ลำดับ")
    [letter] = rows[header + 1 :]
    assert letter[1] == "ชม 0017/1" and letter[5] == MEETING and letter[7] == "ด่วนที่สุด"
    assert "2569" in str(letter[2]) and "ชร 0017" in str(letter[4])
    assert ("คำค้น", "ประชุม") in [(r[0], r[1]) for r in rows[:header]]
    assert any(a["action"] == "export" for a in world.audit())


def test_the_ministry_tracks_any_offices_letter_without_its_content(world: World) -> None:
    portal = world.portal
    boss = portal.sign_in(world.boss)
    results = portal.page(boss, f"/?sender={CHIANG_MAI}")
    assert MEETING not in results and PRIVATE not in results
    assert "ดูได้เฉพาะการติดตาม" in results
    env = world.env_of(portal.page(boss, "/?q=ชม 0017/1"))
    page = portal.page(boss, f"/letters/{env}")
    text = visible_text(page)
    assert MEETING not in text and MEETING_BODY not in text and "/files/" not in page
    assert "แสดงเฉพาะการติดตาม" in text and "เลขรับ 1" in text and RETURN_REASON in text
    clerk = portal.sign_in(world.mt_clerk)  # the ministry's clerk has no ministry view
    portal.page(clerk, f"/letters/{env}", 404)
    assert "หนังสือค้างลงรับ" not in portal.page(clerk, "/")
    portal.page(clerk, "/waiting", 403)


def test_the_ministry_sees_where_letters_wait_by_province_and_group(world: World) -> None:
    portal = Portal.on(world.fed, PORTAL_SESSION_MINUTES=30 * 24 * 60)
    boss = portal.sign_in(world.boss)
    page = visible_text(portal.page(boss, "/waiting"))
    assert "ค้างลงรับเกินเวลา 0 รายการ" in page
    # The unregistered letter to เชียงราย has no speed class: late after the third
    # working day after Wednesday evening's (so Thursday's); Friday is not enough.
    world.fed.clock.advance(2 * 86_400)
    assert "ค้างลงรับเกินเวลา 0 รายการ" in visible_text(portal.page(boss, "/waiting"))
    world.fed.clock.advance(6 * 86_400)
    html = portal.page(boss, "/waiting")
    page = visible_text(html)
    assert "ค้างลงรับเกินเวลา 1 รายการ" in page
    assert 'data-key="16"' in html and "ภาคเหนือตอนบน 2" in page  # เชียงราย's group
    assert "เชียงราย" in page and CHIANG_RAI in page
    assert "ชม 0017/2" in page  # the longest-waiting letter, by its number
    link = world.env_of(html)
    assert "เอกสารภายใน" not in portal.page(boss, f"/letters/{link}")


def test_no_page_log_or_metric_holds_a_password_hash_or_a_totp_secret(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    portal = world.portal
    store = open_store(world.fed.hub_app.config["DATABASE"], create=False)
    try:
        account = PortalAccounts(store).get(CHIANG_MAI, "somsri")
    finally:
        store.close()
    assert account is not None and account["totp_secret"]
    secrets = [str(account["password_hash"]), str(account["totp_secret"])]
    secrets.append(secrets[0].split("$")[-1])  # the digest alone
    pages = []
    client = portal.client()
    pages.append(portal.password_step(client, world.somsri, password="ผิดแน่นอน-12345"))
    pages.append(portal.password_step(client, world.somsri))
    pages.append(portal.code_step(client, "123456"))
    pages.append(portal.code_step(client, portal.code_of(world.somsri)))
    for path in ("/", "/?q=ประชุม", "/library", "/login", "/export.xlsx?q=ประชุม"):
        pages.append(portal.get(client, path))
    env = world.env_of(pages[5].get_data(as_text=True))
    pages.append(portal.get(client, f"/letters/{env}"))
    metrics = world.fed.hub_app.test_client().get("/metrics", headers=METRICS_AUTH)
    assert metrics.status_code == 200
    seen = [p.get_data() for p in pages] + [metrics.get_data()]
    seen += [str(dict(p.headers)).encode() for p in pages]
    seen.append(caplog.text.encode())
    for secret in secrets:
        assert all(secret.encode() not in blob for blob in seen)
    details = " ".join(str(a["detail"]) for a in world.audit())
    assert all(secret not in details for secret in secrets)


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/?from=31 เดือนไม่มี 2569", 400, "วันที่"),
        ("/?type=ไม่มีชนิดนี้", 400, "ไม่รู้จักชนิดหนังสือ"),
        ("/?q=" + "ก" * 1001, 400, "ยาวเกิน 1000"),
        ("/?page=999999", 400, "ผลการค้นหามากเกิน"),
        ("/letters/not-a-letter", 404, "ไม่พบหนังสือ"),
        ("/letters/" + "a" * 64 + "/files/zz", 404, "ไม่พบหนังสือ"),
        ("/no/such/page", 404, "ไม่พบหน้า"),
        ("/export.xlsx?speed=ช้า", 400, "ไม่รู้จักชั้นความเร็ว"),
    ],
)
def test_bad_input_gets_a_thai_page_never_a_failure(
    world: World, path: str, status: int, words: str
) -> None:
    portal = world.portal
    client = portal.sign_in(world.somsri)
    page = portal.page(client, path, status)
    assert words in visible_text(page)


def test_a_sealed_letter_shows_its_registrar_only_that_it_exists(tmp_path: Path) -> None:
    with federation(tmp_path, Clock()) as fed:
        cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
        registrar = enrol(cr, "wipa", ["registrar"])
        clerk = enrol(cr, "manee", ["clerk"])
        assert cm.sync().ok
        cm.send(subject=PRIVATE, body="แผนลับ", recipients=[CHIANG_RAI], secrecy="ลับ")
        assert cm.sync().ok and cr.sync().ok
        assert cr.sync().ok  # its delivered receipt
        portal = Portal.on(fed)
        client = portal.sign_in(registrar)
        results = portal.page(client, "/?sender=" + quote(CHIANG_MAI))
        assert "หนังสือชั้นความลับ (ศูนย์กลางไม่มีเนื้อหา)" in visible_text(results)
        env = ENV_RE.search(results)
        assert env
        page = visible_text(portal.page(client, f"/letters/{env.group(1)}"))
        assert "หนังสือชั้นความลับ ชม 0017/1" in page and "ศูนย์กลางไม่มีเนื้อหา" in page
        assert PRIVATE not in page and "แผนลับ" not in page and "ถึงหน่วยงานผู้รับ" in page
        other = portal.sign_in(clerk)
        assert "ไม่พบหนังสือ" in visible_text(portal.page(other, "/?sender=" + quote(CHIANG_MAI)))
        portal.page(other, f"/letters/{env.group(1)}", 404)
