"""A form sent twice in a real browser (Debian's chromium through Playwright) acts once: the
clerk who goes Back and presses ออกเลขและส่ง again, or double-clicks it, sees the one letter
with its one number; the clerk who double-clicks ลงรับ sees its one เลขรับ. For a double
click the node's database is held a moment by another writer (as a CLI command or the sync
may hold it), so both requests are in flight together. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from support import CHIANG_MAI, CHIANG_RAI, Clock, serve
from test_node_support import Node, PaperHub, offline_node, publish
from test_web_letters import arrive
from web_support import add_users, shot, signed_in_page

from node.web.kit import REPEATED_TH

SUBJECT = "ขอเชิญประชุมคณะกรรมการจังหวัด"


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Node, Node]:
    """เชียงใหม่ and เชียงราย, knowing each other, with a user of every role."""
    clock, paper = Clock(), PaperHub()
    cm = offline_node(tmp_path, CHIANG_MAI, paper, clock)
    cr = offline_node(tmp_path, CHIANG_RAI, paper, clock)
    publish(paper, cm, cr)
    add_users(cm)
    add_users(cr)
    return cm, cr


@pytest.fixture
def served(pair: tuple[Node, Node]) -> Iterator[tuple[str, Node]]:
    """เชียงใหม่ over real HTTP."""
    with serve(pair[0].app) as url:
        yield url, pair[0]


@contextmanager
def database_held(node: Node) -> Iterator[None]:
    """Another writer holds ``node``'s database: requests wait for it, then go on together."""
    with node.store() as other, other.transaction():
        yield


def double_click(page: Page, node: Node, button: Locator) -> None:
    """Click ``button`` twice with the mouse, the second time while the first request waits
    for its answer."""
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    with database_held(node):
        for _ in range(2):
            with page.expect_request(lambda r: r.method == "POST"):
                page.mouse.click(x, y)


def fill_letter(page: Page, url: str) -> None:
    page.goto(f"{url}/compose")
    page.get_by_label("เรื่อง", exact=True).fill(SUBJECT)
    page.get_by_label(re.compile(f"^{CHIANG_RAI}")).check()


def sent_list_shows_one_letter(page: Page, url: str) -> None:
    page.goto(f"{url}/letters/sent")
    rows = page.get_by_role("row").filter(has_text=SUBJECT)
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("ชม 0017/1")


def test_back_and_send_again_shows_the_one_letter_sent(
    browser: Browser, served: tuple[str, Node]
) -> None:
    url, cm = served
    page = signed_in_page(browser, url)
    fill_letter(page, url)
    page.get_by_role("button", name="ออกเลขและส่ง").click()
    page.wait_for_url(re.compile(r"/letters/\d+$"))
    first = page.url
    expect(page.get_by_role("status").filter(has_text="ออกเลขที่ ชม 0017/1 แล้ว")).to_be_visible()

    page.go_back()
    expect(page.get_by_label("เรื่อง", exact=True)).to_have_value(SUBJECT)
    page.get_by_role("button", name="ออกเลขและส่ง").click()
    page.wait_for_url(first)
    notice = page.get_by_role("status").filter(has_text="ออกเลขที่")
    expect(notice).to_contain_text("ออกเลขที่ ชม 0017/1 แล้ว")
    expect(notice).to_contain_text(REPEATED_TH)
    shot(page, "send-again-after-back-1366x768")
    sent_list_shows_one_letter(page, url)
    assert [r["number"] for r in cm.rows("SELECT number FROM letters")] == ["ชม 0017/1"]
    page.close()


def test_double_click_on_send_sends_one_letter(browser: Browser, served: tuple[str, Node]) -> None:
    url, cm = served
    page = signed_in_page(browser, url)
    fill_letter(page, url)
    double_click(page, cm, page.get_by_role("button", name="ออกเลขและส่ง"))
    page.wait_for_url(re.compile(r"/letters/\d+$"))
    expect(page.get_by_role("heading", name=SUBJECT)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="ออกเลขที่")).to_contain_text(
        "ออกเลขที่ ชม 0017/1 แล้ว"
    )
    sent_list_shows_one_letter(page, url)
    assert [r["number"] for r in cm.rows("SELECT number FROM letters")] == ["ชม 0017/1"]
    page.close()


def test_double_click_on_register_gives_one_receipt_number(
    browser: Browser, pair: tuple[Node, Node]
) -> None:
    cm, cr = pair
    letter_id = arrive((cm, cr), SUBJECT)
    with serve(cr.app) as url:
        page = signed_in_page(browser, url)
        page.goto(f"{url}/letters/{letter_id}")
        double_click(page, cr, page.get_by_role("button", name="ลงรับ", exact=True))
        expect(page.locator(".big-number")).to_have_text("เลขรับ 1")
        expect(page.get_by_role("status").filter(has_text="ลงรับแล้ว")).to_contain_text(
            "ลงรับแล้ว เลขรับ 1"
        )
        expect(page.locator(".error")).to_have_count(0)
        shot(page, "register-double-click-1366x768")
        page.goto(f"{url}/letters/inbox?state=registered")
        expect(page.get_by_role("row").filter(has_text=SUBJECT)).to_have_count(1)
        page.close()
    entries = cr.rows("SELECT display FROM register_entries WHERE register LIKE '%|รับ|%'")
    assert [e["display"] for e in entries] == ["1"]
