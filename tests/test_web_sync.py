"""The sync badge, ส่ง/รับเดี๋ยวนี้ and the tracking of a sent letter, driven in-process
against real nodes: offline ones for what the badge counts, and a real hub on 127.0.0.1
with enrolled nodes for the link, the button and the tracking after a real exchange."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, START, Clock
from test_node_offline import deliver
from test_node_support import Federation, Node, PaperHub, closed_port_url, offline_node, publish
from web_support import add_users, form_tokens, login, post_form

from node.sync.live import LiveSync
from node.web.kit import REPEATED_TH
from node.web.sync import exchange_age_th, link_view
from scripts.faults.federation import wait_for

TAG = re.compile(r"<[^>]+>")


def shown(fragment: str) -> str:
    """What a person reads in an HTML fragment: its text, spaces folded."""
    return " ".join(html.unescape(TAG.sub(" ", fragment)).split())


def badge(client: FlaskClient, path: str = "/") -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'<div class="sync [a-z]+" role="status".*?</div>', page, re.S)
    assert found, "the page has no sync badge"
    return shown(found.group(0))


def notice(client: FlaskClient, location: str) -> str:
    page = client.get(location).get_data(as_text=True)
    found = re.search(r'<p class="notice" role="status">(.*?)</p>', page, re.S)
    assert found, f"no message on {location}"
    return shown(found.group(1))


def tracking_cells(client: FlaskClient, letter_id: int, office: str) -> dict[str, str]:
    """The cells of one recipient's row of a letter's tracking table, by column title."""
    page = client.get(f"/letters/{letter_id}").get_data(as_text=True)
    table = page[page.index("<caption>สถานะผู้รับ</caption>") :].split("</table>")[0]
    for row in table.split("<tr>")[2:]:
        cells = dict(re.findall(r'<td data-label="([^"]+)"[^>]*>(.*?)</td>', row, re.S))
        if office in cells["ผู้รับ"]:
            return {label: shown(cell) for label, cell in cells.items()}
    raise AssertionError(f"no row for {office}")


# -- what the badge counts and says ------------------------------------------------------


@pytest.fixture
def pair(tmp_path: Path, paper: PaperHub, clock: Clock) -> tuple[Node, Node]:
    cm = offline_node(tmp_path, CHIANG_MAI, paper, clock)
    cr = offline_node(tmp_path, CHIANG_RAI, paper, clock)
    publish(paper, cm, cr)
    add_users(cm)
    add_users(cr)
    return cm, cr


def test_waiting_to_send_counts_what_clerks_sent_not_what_the_node_writes_itself(
    pair: tuple[Node, Node],
) -> None:
    cm, cr = pair
    first = cm.send(recipients=[CHIANG_RAI], subject="ขอเชิญประชุม")
    second = cm.send(recipients=[CHIANG_RAI], subject="ขอส่งรายงาน")
    # Two letters and their two register entries wait for the hub; the clerk sent two.
    assert cm.call("GET", "/api/status")["outbox"] == 4
    assert "รอส่ง: 2 รายการ" in badge(login(cm))

    arrived = [deliver(cm, cr, PaperHub(), s["id"]) for s in (first, second)]
    clerk = login(cr)
    assert "รอส่ง: 0 รายการ" in badge(clerk)  # two delivered receipts, written by the node
    cr.call("POST", f"/api/letters/{arrived[0]}/register", {})
    assert "รอส่ง: 0 รายการ" in badge(clerk)  # ลงรับ: a receipt and a register entry
    cr.call("POST", f"/api/letters/{arrived[1]}/return", {"reason": "ส่งผิดหน่วยงาน"})
    assert "รอส่ง: 1 รายการ" in badge(clerk)  # ส่งคืน is the clerk's own sending
    assert cr.call("GET", "/api/status")["outbox"] == 5

    cm.call("POST", f"/api/letters/{first['id']}/withdraw", {"reason": "ออกเลขผิด"})
    assert "รอส่ง: 3 รายการ" in badge(login(cm))


@pytest.mark.parametrize(
    ("ago", "said"),
    [
        (0, "เมื่อสักครู่"),
        (5, "เมื่อ 5 วินาทีที่แล้ว"),
        (3 * 60 + 20, "เมื่อ 3 นาทีที่แล้ว"),
        (2 * 3600 + 59 * 60, "เมื่อ 2 ชั่วโมงที่แล้ว"),
        (86400 + 60, "เมื่อ 18 พฤศจิกายน 2569 เวลา 18.06 น."),
    ],
)
def test_the_last_exchange_is_said_in_thai_words_then_as_a_buddhist_era_date(
    ago: float, said: str
) -> None:
    assert exchange_age_th(START, START + ago) == said


def test_the_link_is_a_round_s_step_or_the_newer_of_the_live_check_and_the_last_round() -> None:
    state = {"last_attempt": START, "failures": 0}
    assert link_view(state, {"phase": "push", "link": "up"}) == (
        "busy",
        "กำลังส่ง-รับ… (ส่งเอกสาร)",
    )
    checked_later = {"phase": None, "link": "down", "last_check": START + 5}
    assert link_view(state, checked_later) == ("down", "ขาดการเชื่อมต่อ")
    checked_before = {"phase": None, "link": "down", "last_check": START - 5}
    assert link_view(state, checked_before) == ("up", "เชื่อมต่อแล้ว")
    assert link_view(state, {"phase": None, "link": "unknown"}) == ("up", "เชื่อมต่อแล้ว")
    assert link_view({"last_attempt": None, "failures": 0}, None) == ("down", "ขาดการเชื่อมต่อ")
    refused = {"last_attempt": START, "failures": 2, "last_result": '{"online": true}'}
    assert link_view(refused, None) == ("down", "เชื่อมต่อแล้ว แต่ส่ง-รับไม่สำเร็จ")


# -- with a real hub ---------------------------------------------------------------------


@pytest.fixture
def trio(fed: Federation) -> tuple[Node, Node, Node]:
    """เชียงใหม่, เชียงราย and ขอนแก่น enrolled at a real hub, each synced once, with users."""
    nodes = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI), fed.node(KHON_KAEN)
    for n in nodes:
        add_users(n)
        assert n.sync().ok
    return nodes


def test_badge_shows_the_link_and_the_age_of_the_last_exchange(
    fed: Federation, trio: tuple[Node, Node, Node]
) -> None:
    cm = trio[0]
    clerk = login(cm)
    fed.clock.advance(5)
    said = badge(clerk)
    assert "เชื่อมต่อแล้ว" in said and "ส่ง-รับสำเร็จล่าสุด: เมื่อ 5 วินาทีที่แล้ว" in said
    fed.clock.advance(3 * 60)
    assert "เมื่อ 3 นาทีที่แล้ว" in badge(clerk)

    cm.set_hub_url(closed_port_url())
    assert not cm.sync().ok
    fed.clock.advance(2 * 3600)
    said = badge(clerk)
    assert "ขาดการเชื่อมต่อ" in said and "เมื่อ 2 ชั่วโมงที่แล้ว" in said
    fed.clock.advance(86400)  # the session has idled out by now
    assert "เมื่อ 18 พฤศจิกายน 2569 เวลา 18.06 น." in badge(login(cm))


def test_sync_now_without_the_live_sync_runs_a_round_and_says_what_it_did(
    trio: tuple[Node, Node, Node],
) -> None:
    cm, cr, _ = trio
    sender = login(cm)
    cm.send(recipients=[CHIANG_RAI], subject="ขอเชิญประชุมด่วน")
    assert "รอส่ง: 1 รายการ" in badge(sender, "/letters/sent")
    rounds = len(cm.rows("SELECT id FROM sync_log WHERE event = 'sync_ok'"))

    data = {"back": "/letters/sent", **form_tokens(sender, "/letters/sent")}
    resp = sender.post("/sync/now", data=data)
    assert resp.status_code == 302 and resp.headers["Location"] == "/letters/sent"
    # The letter and its register entry.
    assert notice(sender, "/letters/sent") == "ส่ง-รับเสร็จแล้ว: ส่งแล้ว 2 รายการ รับแล้ว 0 รายการ"
    assert "รอส่ง: 0 รายการ" in badge(sender)
    assert len(cm.rows("SELECT id FROM sync_log WHERE event = 'sync_ok'")) == rounds + 1

    # The same form again (a double click): its first answer, and no second round.
    again = sender.post("/sync/now", data=data)
    assert again.status_code == 302
    assert notice(sender, again.headers["Location"]) == (
        f"ส่ง-รับเสร็จแล้ว: ส่งแล้ว 2 รายการ รับแล้ว 0 รายการ {REPEATED_TH}"
    )
    assert len(cm.rows("SELECT id FROM sync_log WHERE event = 'sync_ok'")) == rounds + 1

    receiver = login(cr)
    resp = post_form(receiver, "/sync/now", {"back": "/letters/inbox"}, page="/letters/inbox")
    # The letter comes in; its delivered receipt leaves with the next round.
    said = notice(receiver, resp.headers["Location"])
    assert said == "ส่ง-รับเสร็จแล้ว: ส่งแล้ว 0 รายการ รับแล้ว 1 รายการ"
    assert "ขอเชิญประชุมด่วน" in receiver.get("/letters/inbox").get_data(as_text=True)


def test_sync_now_says_why_when_the_hub_cannot_be_reached(trio: tuple[Node, Node, Node]) -> None:
    cm = trio[0]
    cm.set_hub_url(closed_port_url())
    clerk = login(cm)
    resp = post_form(clerk, "/sync/now", {"back": "/"})
    assert resp.status_code == 302
    said = notice(clerk, resp.headers["Location"])
    assert said.startswith("ส่ง-รับไม่สำเร็จ: ติดต่อศูนย์กลางไม่ได้ (ขาดการเชื่อมต่อ)")
    assert "ขาดการเชื่อมต่อ" in badge(clerk)


@pytest.mark.parametrize(
    "back",
    ["https://example.com/", "//example.com/letters", "/\\example.com", "letters/sent", ""],
)
def test_sync_now_goes_back_only_to_a_page_of_this_node(
    trio: tuple[Node, Node, Node], back: str
) -> None:
    resp = post_form(login(trio[0]), "/sync/now", {"back": back})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_sync_now_and_progress_need_a_signed_in_user(trio: tuple[Node, Node, Node]) -> None:
    stranger = trio[0].app.test_client()
    assert stranger.post("/sync/now", data={"back": "/"}).status_code == 400
    resp = stranger.get("/sync/progress")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"


@pytest.fixture
def live_cm(trio: tuple[Node, Node, Node]) -> Iterator[tuple[Node, LiveSync]]:
    cm = trio[0]
    live = LiveSync(cm.ctx, watch_seconds=0.2).start()
    cm.app.extensions["saraban_live"] = live
    try:
        yield cm, live
    finally:
        live.stop()
        del cm.app.extensions["saraban_live"]


def test_sync_now_with_the_live_sync_asks_for_a_round_and_progress_follows_it(
    live_cm: tuple[Node, LiveSync],
) -> None:
    cm, live = live_cm
    clerk = login(cm)
    wait_for("the first live round has run", lambda: live.rounds >= 1)
    resp = post_form(clerk, "/sync/now", {"back": "/"})
    assert notice(clerk, resp.headers["Location"]) == "เริ่มส่ง-รับกับศูนย์กลางแล้ว"
    seen: dict[str, Any] = {}

    def finished() -> bool:
        seen.update(clerk.get("/sync/progress").get_json())
        return not seen["waiting"]

    wait_for("the round asked for has finished", finished)
    assert seen["result_th"].startswith("ส่ง-รับเสร็จแล้ว: ส่งแล้ว")
    assert seen["label_th"] in ("เชื่อมต่อแล้ว", "กำลังส่ง-รับ… (ตรวจสอบกับศูนย์กลาง)")
    assert seen["live"] and seen["outbox"] == 0


# -- the tracking of a sent letter ---------------------------------------------------------


def test_tracking_shows_each_step_of_each_recipient_with_its_time(
    fed: Federation, trio: tuple[Node, Node, Node]
) -> None:
    cm, cr, kk = trio
    sent = cm.send(recipients=[CHIANG_RAI, KHON_KAEN], subject="ขอให้รายงานผลการดำเนินงาน")
    sender = login(cm)
    before = tracking_cells(sender, sent["id"], CHIANG_RAI)
    assert before["สถานะ"] == "รอส่ง" and before["ส่ง"] == "18 พฤศจิกายน 2569 18.06 น."
    assert [before[s] for s in ("ถึงศูนย์กลาง", "ส่งถึงปลายทาง", "ลงรับ", "ส่งคืน")] == ["-"] * 4

    fed.clock.advance(60)  # 18.07: the hub takes the letter
    assert cm.sync().ok
    fed.clock.advance(60)  # 18.08: both recipients store it
    assert cr.sync().ok and kk.sync().ok
    fed.clock.advance(60)  # 18.09: เชียงราย registers it, ขอนแก่น returns it
    at_cr = cr.inbox()[0]["id"]
    number = cr.call("POST", f"/api/letters/{at_cr}/register", {})["receipt_number"]
    kk.call("POST", f"/api/letters/{kk.inbox()[0]['id']}/return", {"reason": "ไม่ใช่เรื่องของจังหวัด"})
    fed.clock.advance(60)  # 18.10: the receipts come back
    assert cr.sync().ok and kk.sync().ok and cm.sync().ok

    registered = tracking_cells(sender, sent["id"], CHIANG_RAI)
    assert CHIANG_RAI in registered.pop("ผู้รับ")
    assert registered == {
        "ช่องทาง": "ระบบ",
        "สถานะ": "ลงรับแล้ว",
        "ส่ง": "18 พฤศจิกายน 2569 18.06 น.",
        "ถึงศูนย์กลาง": "18 พฤศจิกายน 2569 18.07 น.",
        "ส่งถึงปลายทาง": "18 พฤศจิกายน 2569 18.08 น.",
        "ลงรับ": f"18 พฤศจิกายน 2569 18.09 น. เลขรับ {number}",
        "ส่งคืน": "-",
    }
    returned = tracking_cells(sender, sent["id"], KHON_KAEN)
    assert returned["สถานะ"] == "ส่งคืน" and returned["ลงรับ"] == "-"
    assert returned["ส่งถึงปลายทาง"] == "18 พฤศจิกายน 2569 18.08 น."
    assert returned["ส่งคืน"] == "18 พฤศจิกายน 2569 18.09 น. เหตุผล: ไม่ใช่เรื่องของจังหวัด"


def test_sync_now_during_a_back_off_runs_the_round_at_once_instead_of_waiting(
    fed: Federation, trio: tuple[Node, Node, Node]
) -> None:
    cm = trio[0]
    cm.set_hub_url(closed_port_url())
    # Checks only when kicked: the first round fails and its back-off starts.
    live = LiveSync(cm.ctx, watch_seconds=0).start()
    cm.app.extensions["saraban_live"] = live
    try:
        wait_for("the live sync's first round has failed", lambda: live.rounds >= 1)
        clerk = login(cm)
        assert "ขาดการเชื่อมต่อ" in badge(clerk)
        cm.set_hub_url(fed.url)
        resp = post_form(clerk, "/sync/now", {"back": "/"})
        said = notice(clerk, resp.headers["Location"])
        assert said == "ส่ง-รับเสร็จแล้ว: ส่งแล้ว 0 รายการ รับแล้ว 0 รายการ"
        said = badge(clerk)
        assert "เชื่อมต่อแล้ว" in said and "ไม่สำเร็จ" not in said
    finally:
        live.stop()
        del cm.app.extensions["saraban_live"]
