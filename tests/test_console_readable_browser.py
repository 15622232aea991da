"""An operator's first week with the hub's console, in Debian's chromium at 1366x768 (the
hub served on 127.0.0.1 on a movable clock, real offices signing through its API):

* the offices table fits the screen with every column filled, a clock a fraction of a
  second off reads "ตรง" (never "-0") and the others in Thai minutes and seconds, and the
  statistics say 7 s as "7 วินาที", never as a fraction of an hour;
* the operator log says in Thai what was done, to which office (by its name and code), why,
  and what to do next, for every action the hub records, and a code it does not know
  still reads as Thai;
* the statistics downloads are named in Thai with the Buddhist-era year, with an ASCII name
  for old clients;
* the console has an icon of its own, and no page asks for one that is missing.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from console_support import PASSWORD, add_operators, console_login
from playwright.sync_api import Browser, Page, expect
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock, bangkok
from test_hub_support import Hub, Office
from test_hub_timings import reply
from web_support import DESKTOP, assert_serves_its_icon, log_in_page, shot

from hub.console.action_log import ACTIONS, DAY, HUB_KEY, LIST, OPERATOR

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MORNING = bangkok(2026, 12, 4, 9)
"""Friday 4 December 2569, 09.00 Bangkok: the hub's clock when the test starts."""
AYUTTHAYA = "อย 0017"
"""The office with the longest name of a province (สำนักงานจังหวัดพระนครศรีอยุธยา)."""
SKEWS = {CHIANG_MAI: -0.3, CHIANG_RAI: 125.0, KHON_KAEN: -3725.0, AYUTTHAYA: 7.0}
"""How far each office's clock is from the hub's in its heartbeat (seconds)."""
SKEW_CELLS = {
    CHIANG_MAI: "ตรง",
    CHIANG_RAI: "เร็ว 2 นาที 5 วินาที",
    KHON_KAEN: "ช้า 1 ชม. 2 นาที",
    AYUTTHAYA: "เร็ว 7 วินาที",
}
REGISTERED_AFTER = {"ด่วน": 7, "ด่วนที่สุด": 125, "ด่วนมาก": 3780}
"""Seconds from a letter reaching เชียงราย's inbox to its ลงรับ, per speed class."""
REGISTRATION_CELLS = {"ด่วน": "7 วินาที", "ด่วนที่สุด": "2 นาที 5 วินาที", "ด่วนมาก": "1 ชม. 3 นาที"}


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    h = Hub(tmp_path, Clock(MORNING))
    add_operators(h)
    return h


@pytest.fixture
def url(hub: Hub) -> Iterator[str]:
    with hub.serve() as served:
        yield served


def _federation(hub: Hub) -> dict[str, Office]:
    """Four enrolled offices that have pushed, pulled and reported a heartbeat, and
    letters from เชียงใหม่ that เชียงราย registered 7 s, 125 s and 63 min after they
    reached it."""
    offices = {office: hub.office(office) for office in SKEWS}
    cm, cr = offices[CHIANG_MAI], offices[CHIANG_RAI]
    for speed, after in REGISTERED_AFTER.items():
        letter = cm.letter([CHIANG_RAI], subject=f"หนังสือชั้นความเร็ว{speed}", speed=speed)
        cm.push_ok(letter)
        arrived = hub.clock() + 60
        reply(cr, letter, "delivered", arrived)
        reply(cr, letter, "registered", arrived + after, receipt_number=f"ชร 0017/{after}")
    for number, (office_id, office) in enumerate(offices.items()):
        office.pull()
        answer = office.request(
            "POST",
            "/heartbeat",
            {
                "outbox": 12_345 * number,
                "clock": hub.clock() + SKEWS[office_id],
                "software": "saraban-node 0.1.0",
                "provisional_pending": 0,
            },
        )
        assert answer.status == 200, answer.body
    return offices


def _operator_page(browser: Browser, url: str) -> Page:
    page = browser.new_page(viewport=DESKTOP, locale="th-TH")
    log_in_page(page, url, "ops", PASSWORD)
    return page


def _page_scrolls_sideways(page: Page) -> bool:
    return bool(
        page.evaluate(
            "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
    )


# -- item 10: the offices table, clock skew and durations ------------------------------------


def test_offices_fit_the_screen_and_times_read_in_thai_words(
    browser: Browser, hub: Hub, url: str
) -> None:
    _federation(hub)
    page = _operator_page(browser, url)
    page.get_by_role("link", name="หน่วยงาน", exact=True).click()
    table = page.locator("#offices")
    expect(table.locator(f'tr[data-office="{KHON_KAEN}"]')).to_contain_text("ปกติ")
    fits = table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth")
    assert fits, "the offices table is wider than the 1366-pixel screen"
    assert not _page_scrolls_sideways(page)
    for office, words in SKEW_CELLS.items():
        cell = table.locator(f'tr[data-office="{office}"] td[data-label="นาฬิกาคลาด"]')
        expect(cell).to_have_text(words)
    assert "-0" not in page.locator("main").inner_text()
    shot(page, "console-offices-fit-1366x768")

    page.get_by_role("link", name=CHIANG_MAI, exact=True).click()
    expect(page.locator("dl.details").first).to_contain_text("ตรงกับศูนย์กลาง")
    page.goto(f"{url}/offices/{KHON_KAEN}")
    expect(page.locator("dl.details").first).to_contain_text("ช้ากว่าศูนย์กลาง 1 ชม. 2 นาที")
    assert "-0" not in page.locator("main").inner_text()

    page.get_by_role("link", name="สถิติการใช้งาน", exact=True).click()
    registration = page.locator("#registration")
    for speed, words in REGISTRATION_CELLS.items():
        expect(registration.locator(f'tr[data-key="{speed}"] td').nth(1)).to_have_text(words)
    chart = page.locator("#chart-registration-desc")
    expect(chart).to_contain_text("ด่วน: มัธยฐาน 7 วินาที")
    ticks = page.locator("svg:has(#chart-registration-desc) > text").all_text_contents()
    assert "30 นาที" in ticks and "1 ชม." in ticks, ticks
    main = page.locator("main").inner_text()
    assert not re.search(r"[0-9]\.[0-9]+ ชม\.", main), "a span written as a fraction of an hour"
    assert not re.search(r"[0-9]\.[0-9]+ ชม\.", page.content())
    page.close()


# -- item 9: the operator log ------------------------------------------------------------------

_ACTION_CALLS = {"log_action": 1, "record": 0, "log": 0}
"""Functions that write the operator log, and the position of the action code among their
arguments (``store.log_action(who, code, ...)``, ``record(code, ...)``,
``change.log(code, ...)``)."""


def _codes_in(node: ast.expr, constants: dict[str, str]) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Name):
        return {constants[node.id]} if node.id in constants else set()
    if isinstance(node, ast.IfExp):
        return _codes_in(node.body, constants) | _codes_in(node.orelse, constants)
    return set()  # a parameter passed on (``change.log``'s own ``action``)


def written_action_codes() -> set[str]:
    """Every action code a module of the hub or its command line writes to the log."""
    codes: set[str] = set()
    for path in [*ROOT.glob("hub/**/*.py"), *ROOT.glob("scripts/**/*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name) and isinstance(node.value.value, str)
        }
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            at = _ACTION_CALLS.get(name)
            if at is None or len(call.args) <= at:
                continue
            if name == "log" and not (
                isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "change"
            ):
                continue  # a logger's .log(), not the operator log
            codes |= _codes_in(call.args[at], constants)
    return codes


def test_every_action_the_hub_records_has_thai_words() -> None:
    written = written_action_codes()
    assert {"revoke_office", "login_failed", "run_numbering_report", "update_list"} <= written
    assert written - set(ACTIONS) == set(), "actions the operator log would show as codes"
    for code, kind in ACTIONS.items():
        assert kind.title and kind.why and kind.todo, code
        assert not re.search(r"[a-z]{3,}_[a-z]", kind.title + kind.why + kind.todo), code


SAMPLE_TARGETS = {
    OPERATOR: "watcher",
    LIST: "ทุกจังหวัด",
    HUB_KEY: "hub#2",
    DAY: "2026-12-03",
}


def test_operator_log_says_what_was_done_to_which_office_why_and_what_next(
    browser: Browser, hub: Hub, url: str
) -> None:
    offices = _federation(hub)
    cm = offices[CHIANG_MAI]
    cm.letter([CHIANG_RAI], subject="ฉบับที่มาก่อน")  # seq 1, never pushed: the next waits
    second = cm.letter([CHIANG_RAI], subject="ฉบับที่มาถึงก่อนฉบับก่อนหน้า")
    [early] = cm.push_ok(second)
    assert early["reason"] == "out_of_sequence"
    with hub.store() as s:
        for code, kind in ACTIONS.items():
            if code not in ("revoke_office", "discard_quarantine", "login_failed"):
                target = SAMPLE_TARGETS.get(kind.target, CHIANG_RAI)
                s.log_action("ops", code, target, None, None, hub.clock())
        s.log_action("hub", "future_check", CHIANG_RAI, None, "ตรวจสิ่งใหม่", hub.clock())

    page = browser.new_page(viewport=DESKTOP, locale="th-TH")
    page.goto(f"{url}/login")
    page.get_by_label("ชื่อผู้ใช้").fill("watcher")
    page.get_by_label("รหัสผ่าน").fill("รหัสผ่านที่จำผิด")
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.close()

    page = _operator_page(browser, url)
    page.get_by_role("link", name="การลงทะเบียน", exact=True).click()
    row = page.locator("#registered-offices tr").filter(has_text=KHON_KAEN)
    row.get_by_text("เพิกถอน…").click()
    row.get_by_label("เหตุผลการเพิกถอน").fill("ยุบรวมกับสำนักงานจังหวัดแห่งอื่น")
    row.get_by_label("ยืนยันการเพิกถอน").check()
    row.get_by_role("button", name=f"เพิกถอน {KHON_KAEN}").click()
    expect(page.get_by_role("status")).to_contain_text("เพิกถอนหน่วยงาน")
    page.get_by_role("link", name="การแจ้งเตือน", exact=True).click()
    page.locator('article.alert[data-kind="quarantined"]').get_by_role(
        "link", name="ตรวจสอบซองที่ถูกกักไว้"
    ).click()
    page.get_by_label("เหตุผลที่ทิ้ง").fill("หน่วยงานจะส่งหนังสือฉบับนี้ใหม่")
    page.get_by_role("button", name="ทิ้งซอง").click()
    expect(page.get_by_role("status")).to_contain_text("ทิ้งซองแล้ว")

    page.get_by_role("link", name="บันทึกการดำเนินการ", exact=True).click()
    log = page.locator("#actions")
    revoked = log.locator('tr[data-action="revoke_office"]')
    expect(revoked.locator('td[data-label="การดำเนินการ"]')).to_contain_text("เพิกถอนหน่วยงาน")
    expect(revoked.locator('td[data-label="ผู้ดำเนินการ"]')).to_have_text("สมชาย ดูแลระบบ (ops)")
    expect(revoked.locator('td[data-label="เป้าหมาย"]')).to_have_text(
        f"สำนักงานจังหวัดขอนแก่น ({KHON_KAEN})"
    )
    expect(revoked.locator('td[data-label="เหตุผล"]')).to_have_text("ยุบรวมกับสำนักงานจังหวัดแห่งอื่น")
    expect(revoked.locator('td[data-label="ควรทำอย่างไร"]')).to_contain_text("แจ้งหน่วยงาน")
    discarded = log.locator('tr[data-action="discard_quarantine"]')
    expect(discarded).to_contain_text("ทิ้งซองที่ถูกกักไว้")
    expect(discarded).to_contain_text(f"สำนักงานจังหวัดเชียงใหม่ ({CHIANG_MAI})")
    expect(discarded).to_contain_text("ถูกกักเพราะลำดับซองไม่ต่อจากซองก่อนหน้า")
    failed = log.locator('tr[data-action="login_failed"]')
    expect(failed.locator('td[data-label="เหตุผล"]')).to_have_text("รหัสผ่านไม่ถูกต้อง")
    expect(failed.locator('td[data-label="เป้าหมาย"]')).to_have_text("สมหญิง เฝ้าระวัง (watcher)")
    enrolled = log.locator('tr[data-action="enroll"]').filter(has_text=AYUTTHAYA)
    expect(enrolled).to_contain_text(f"สำนักงานจังหวัดพระนครศรีอยุธยา ({AYUTTHAYA})")
    expect(enrolled).to_contain_text(f"กุญแจ {AYUTTHAYA}#1")
    unknown = log.locator('tr[data-action="future_check"]')
    expect(unknown).to_contain_text("การดำเนินการอื่น (future_check)")
    expect(unknown).to_contain_text("ศูนย์กลาง (อัตโนมัติ)")
    expect(unknown.locator('td[data-label="ควรทำอย่างไร"]')).not_to_be_empty()

    shown = {row.get_attribute("data-action") for row in log.locator("tbody tr").all()}
    assert set(ACTIONS) <= shown
    for row in log.locator("tbody tr").all():
        code = row.get_attribute("data-action")
        for label in ("การดำเนินการ", "ผู้ดำเนินการ", "เป้าหมาย", "เหตุผล", "ควรทำอย่างไร"):
            text = row.locator(f'td[data-label="{label}"]').inner_text().strip()
            assert text and text != "-", (code, label)
            assert re.search("[\u0e00-\u0e7f]", text), (code, label, text)
        if code in ACTIONS and "_" in code:  # "rekey" is also a word of a command
            assert code not in row.inner_text(), f"{code} shown as a code"
    shot(page, "console-actions-1366x768")

    page.goto(f"{url}/offices/{CHIANG_MAI}")
    mine = page.locator("#office-actions")
    expect(mine.locator('li[data-action="discard_quarantine"]')).to_contain_text(
        "ควรทำอย่างไร: แจ้งหน่วยงานผู้ส่ง"
    )
    expect(mine).not_to_contain_text("discard_quarantine")
    page.close()


# -- item 3: the statistics downloads ------------------------------------------------------------


def test_statistics_downloads_are_named_in_thai_with_the_buddhist_year(
    browser: Browser, hub: Hub, url: str
) -> None:
    _federation(hub)
    page = _operator_page(browser, url)
    page.get_by_role("link", name="สถิติการใช้งาน", exact=True).click()
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="ดาวน์โหลด CSV รายจังหวัด", exact=True).click()
    assert csv_download.value.suggested_filename == "สถิติการใช้งาน รายจังหวัด ธันวาคม 2569.csv"
    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="ดาวน์โหลด Excel (ทุกตาราง)").click()
    assert xlsx_download.value.suggested_filename == "สถิติการใช้งาน ทุกตาราง ธันวาคม 2569.xlsx"
    page.close()

    ops = console_login(hub)
    answer = ops.get("/stats/export.csv?from=1/12/2569&to=9/12/2569&group=15&table=offices")
    assert answer.status_code == 200
    disposition = answer.headers["Content-Disposition"]
    assert disposition.isascii()
    assert 'filename="saraban-stats-offices-2569-12-01_2569-12-09-group15.csv"' in disposition
    thai = "สถิติการใช้งาน รายหน่วยงาน 1 ธันวาคม 2569 ถึง 9 ธันวาคม 2569 กลุ่มที่ 15.csv"
    assert f"filename*=UTF-8''{quote(thai, safe='')}" in disposition
    whole = ops.get("/stats/export.xlsx?month=2569-12").headers["Content-Disposition"]
    assert 'filename="saraban-stats-all-2569-12.xlsx"' in whole
    assert "2026" not in disposition + whole


# -- the console's icon ---------------------------------------------------------------------


def test_the_console_serves_its_own_icon_and_no_page_asks_for_a_missing_one(
    browser: Browser, hub: Hub, url: str
) -> None:
    _federation(hub)
    missing: list[str] = []
    page = browser.new_page(viewport=DESKTOP, locale="th-TH")
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(f"{url}/login")
    assert_serves_its_icon(browser, page, url)
    log_in_page(page, url, "ops", PASSWORD)
    page.goto(f"{url}/offices")
    assert_serves_its_icon(browser, page, url)
    assert missing == []
    page.close()
