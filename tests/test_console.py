"""The hub operator's console, in-process: signing in, the federation view, an office's
page, alerts and what an operator does with a quarantined envelope.

Time is the hub's injected clock; offices are stand-ins that sign their feeds and requests
(tests/test_hub_support.py). Browser tests against real processes are in
tests/test_console_browser.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from console_support import PASSWORD, console_login, csrf, post_form, text_of
from flask.testing import FlaskClient
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock
from test_hub_support import Hub, Office

REPO = Path(__file__).resolve().parent.parent


def counts(hub: Hub) -> dict[str, int]:
    return hub.counts("feed", "mailbox", "quarantine", "operator_actions", "alerts")


# -- signing in --------------------------------------------------------------------------


def test_nobody_signed_in_is_sent_to_the_login_page(hub: Hub) -> None:
    for path in ("/", "/offices", f"/offices/{CHIANG_MAI}", "/alerts", "/actions"):
        answer = hub.client.get(path)
        assert answer.status_code == 302, path
        assert answer.headers["Location"].startswith("/login?next="), path
    assert hub.client.get("/api/v1/health").status_code == 200  # the API is not the console's


def test_operator_signs_in_and_lands_where_they_were_going(hub: Hub) -> None:
    client = hub.app.test_client()
    token = csrf(client, "/login?next=/alerts")
    answer = client.post(
        "/login",
        data={"username": "ops", "password": PASSWORD, "csrf_token": token, "next": "/alerts"},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/alerts"
    assert "การแจ้งเตือน" in text_of(client.get("/alerts"))


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "javascript:x"])
def test_login_never_sends_the_operator_to_another_site(hub: Hub, target: str) -> None:
    client = hub.app.test_client()
    answer = client.post(
        "/login",
        data={"username": "ops", "password": PASSWORD, "csrf_token": csrf(client), "next": target},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/"


def test_five_wrong_passwords_lock_the_account_for_five_minutes(hub: Hub, clock: Clock) -> None:
    client = hub.app.test_client()
    for _ in range(5):
        answer = client.post(
            "/login", data={"username": "ops", "password": "ผิด" * 5, "csrf_token": csrf(client)}
        )
        assert answer.status_code == 401
        assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in text_of(answer)
    locked = client.post(
        "/login", data={"username": "ops", "password": PASSWORD, "csrf_token": csrf(client)}
    )
    assert locked.status_code == 401 and "ระงับชั่วคราว" in text_of(locked)
    clock.advance(301)
    assert console_login(hub).get("/").status_code == 200


def test_an_unknown_name_gets_the_same_answer_as_a_wrong_password(hub: Hub) -> None:
    client = hub.app.test_client()
    answer = client.post(
        "/login", data={"username": "nobody", "password": PASSWORD, "csrf_token": csrf(client)}
    )
    assert answer.status_code == 401 and "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in text_of(answer)


def test_an_idle_session_ends(hub: Hub, ops: FlaskClient, clock: Clock) -> None:
    assert ops.get("/").status_code == 200
    clock.advance(59 * 60)
    assert ops.get("/").status_code == 200  # activity keeps it alive
    clock.advance(61 * 60)
    answer = ops.get("/")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert "หมดเวลาการใช้งาน" in text_of(ops.get("/login"))


def test_a_form_without_the_session_token_changes_nothing(hub: Hub, ops: FlaskClient) -> None:
    with hub.store() as s:
        alert_id = s.raise_alert("unroutable", CHIANG_MAI, "ทดสอบ", hub.clock())
    before = counts(hub)
    answer = ops.post(f"/alerts/{alert_id}/close", data={"reason": "ดำเนินการแล้ว"})
    assert answer.status_code == 400
    assert "แบบฟอร์มไม่ถูกต้องหรือหมดอายุ" in text_of(answer)
    forged = ops.post(
        f"/alerts/{alert_id}/close", data={"reason": "ดำเนินการแล้ว", "csrf_token": "x" * 40}
    )
    assert forged.status_code == 400
    assert counts(hub) == before
    with hub.store() as s:
        assert s.alert(alert_id)["status"] == "open"  # type: ignore[index]


def test_pages_refuse_framing_and_inline_script(ops: FlaskClient) -> None:
    answer = ops.get("/offices")
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert "<script" not in text_of(answer)


def test_an_unknown_page_is_a_thai_404(ops: FlaskClient) -> None:
    answer = ops.get("/no-such-page")
    assert answer.status_code == 404 and "ไม่พบหน้าหรือรายการที่ต้องการ" in text_of(answer)
    assert "Traceback" not in text_of(answer)


# -- the federation view -----------------------------------------------------------------


def test_federation_view_shows_every_office_with_its_state(
    hub: Hub, ops: FlaskClient, clock: Clock
) -> None:
    cm = hub.office(CHIANG_MAI)
    hub.office(CHIANG_RAI)
    cm.request(
        "POST",
        "/heartbeat",
        {"outbox": 7, "clock": clock() - 30, "software": "saraban-node 9.9", "last_sync_ok": True},
    )
    clock.advance(3600)  # ชร is now late, ชม too, the others never enrolled
    cm.pull()
    page = text_of(ops.get("/offices"))
    assert page.count('data-office="') == 19
    assert "แสดง 19 จาก 19 หน่วยงาน" in page
    row = page.split(f'data-office="{CHIANG_MAI}"')[1].split("</tr>")[0]
    assert "ปกติ" in row and "saraban-node 9.9" in row and ">7<" in row and "ช้า 30 วินาที" in row
    late = page.split(f'data-office="{CHIANG_RAI}"')[1].split("</tr>")[0]
    assert "ล่าช้า" in late
    never = page.split(f'data-office="{KHON_KAEN}"')[1].split("</tr>")[0]
    assert "ยังไม่ลงทะเบียน" in never


def test_federation_view_filters_by_group_and_state_and_sorts(hub: Hub, ops: FlaskClient) -> None:
    hub.office(CHIANG_MAI)
    group15 = text_of(ops.get("/offices?group=15"))
    assert group15.count('data-office="') == 1 and f'data-office="{CHIANG_MAI}"' in group15
    enrolled = text_of(ops.get("/offices?state=healthy"))
    assert enrolled.count('data-office="') == 1
    never = text_of(ops.get("/offices?state=never+enrolled&sort=id&dir=desc"))
    ids = [part.split('"')[0] for part in never.split('data-office="')[1:]]
    assert len(ids) == 18 and ids == sorted(ids, reverse=True)
    # Nonsense in the query is ignored, not an error.
    assert ops.get("/offices?group=abc&state=weird&sort=drop+table").status_code == 200


def test_office_page_lists_its_sync_sessions_and_problems(
    hub: Hub, ops: FlaskClient, clock: Clock
) -> None:
    cm = hub.office(CHIANG_MAI)
    hub.office(CHIANG_RAI)
    for i in range(3):
        cm.push_ok(cm.letter([CHIANG_RAI], subject=f"หนังสือ {i}"))
        clock.advance(60)
    cm.pull()
    cm.request("POST", "/heartbeat", {"outbox": 4, "clock": clock() + 900})
    page = text_of(ops.get(f"/offices/{CHIANG_MAI}"))
    assert page.count('<td data-label="ชนิด">ส่ง</td>') == 3
    assert page.count('<td data-label="ชนิด">รับ</td>') == 1
    assert "นาฬิกาของหน่วยงานเร็วกว่าศูนย์กลาง 15 นาที (เกิน" in page
    assert "มีซองเอกสารค้างส่งที่หน่วยงาน 4 ซอง" in page
    receiver = text_of(ops.get(f"/offices/{CHIANG_RAI}"))
    assert "มีซองเอกสารรอหน่วยงานมารับที่ศูนย์กลาง 3 ซอง" in receiver
    assert ops.get("/offices/ซซ 9999").status_code == 404


def test_office_page_keeps_only_the_last_hundred_sessions(hub: Hub, ops: FlaskClient) -> None:
    hub.office(CHIANG_MAI)
    with hub.store() as s:
        for i in range(105):
            s.add_sync_session(CHIANG_MAI, "pull", hub.clock() + i, i)
    page = text_of(ops.get(f"/offices/{CHIANG_MAI}"))
    assert page.count('<td data-label="ชนิด">รับ</td>') == 100


# -- alerts --------------------------------------------------------------------------------


def test_a_silent_office_raises_an_alert_that_resolves_when_it_is_back(
    hub: Hub, ops: FlaskClient, clock: Clock
) -> None:
    cm = hub.office(CHIANG_MAI)
    cm.pull()
    assert "หน่วยงานขาดการติดต่อ" not in text_of(ops.get("/alerts"))
    clock.advance(25 * 3600)
    ops = console_login(hub)  # the earlier session idled out
    page = text_of(ops.get("/alerts"))
    assert "หน่วยงานขาดการติดต่อ" in page and "โทรสอบถามหน่วยงาน" in page
    assert "ขาดการติดต่อ" in text_of(ops.get(f"/offices/{CHIANG_MAI}"))
    ops.get("/alerts")  # seen again: still one alert
    with hub.store() as s:
        assert [a["kind"] for a in s.alerts("open")] == ["silent_office"]
    cm.pull()
    assert "หน่วยงานขาดการติดต่อ" not in text_of(ops.get("/alerts")).split("ปิดแล้วล่าสุด")[0]
    with hub.store() as s:
        assert s.alerts("open") == []
        assert [a["status"] for a in s.alerts(None)] == ["resolved"]


def test_a_node_clock_beyond_the_limit_raises_an_alert(
    hub: Hub, ops: FlaskClient, clock: Clock
) -> None:
    cm = hub.office(CHIANG_MAI)
    cm.request("POST", "/heartbeat", {"clock": clock() + 60})
    assert "นาฬิกาของหน่วยงานคลาดเคลื่อน" not in text_of(ops.get("/alerts"))
    cm.request("POST", "/heartbeat", {"clock": clock() - 600})
    page = text_of(ops.get("/alerts"))
    assert "นาฬิกาของหน่วยงานคลาดเคลื่อน" in page
    assert f"นาฬิกาของ {CHIANG_MAI} ช้ากว่าศูนย์กลาง 10 นาที" in page and "-600" not in page


def test_a_node_holding_a_newer_directory_means_the_hub_went_back(
    hub: Hub, ops: FlaskClient
) -> None:
    cm = hub.office(CHIANG_MAI)
    with hub.store() as s:
        head = s.directory_head()
    assert head is not None
    cm.request("POST", "/heartbeat", {"directory_version": head["version"]})
    assert "ทะเบียนหน่วยงานฉบับเก่า" not in text_of(ops.get("/alerts"))
    cm.request("POST", "/heartbeat", {"directory_version": head["version"] + 5})
    page = text_of(ops.get("/alerts"))
    assert "มีการส่งทะเบียนหน่วยงานฉบับเก่ากว่าที่หน่วยงานถืออยู่" in page
    cm.request(
        "POST",
        "/heartbeat",
        {"directory_version": head["version"], "last_error_code": "stale_directory"},
    )
    with hub.store() as s:
        rollbacks = [(a["kind"], a["repeats"]) for a in s.alerts("open")]
    assert rollbacks == [("directory_rollback", 1)]  # one condition of one office, repeated
    bad = cm.request("POST", "/heartbeat", {"directory_version": -1})
    assert bad.status == 400


def test_an_event_alert_is_closed_with_a_note_a_condition_alert_is_not(
    hub: Hub, ops: FlaskClient, clock: Clock
) -> None:
    cm = hub.office(CHIANG_MAI)
    cm.push_ok(cm.letter(["ซซ 9999"]))  # unknown recipient: an event alert
    with hub.store() as s:
        [alert] = s.alerts("open")
    empty = post_form(ops, f"/alerts/{alert['id']}/close", {"reason": " "})
    assert empty.status_code == 400 and "กรุณากรอกบันทึกการดำเนินการ" in text_of(empty)
    done = post_form(ops, f"/alerts/{alert['id']}/close", {"reason": "แจ้งหน่วยงานแล้ว"})
    assert done.status_code == 302
    with hub.store() as s:
        row = s.alert(alert["id"])
        assert row is not None and row["status"] == "closed" and row["note"] == "แจ้งหน่วยงานแล้ว"
        assert [a["action"] for a in s.actions() if a["operator"] == "ops"] == ["close_alert"]
    again = post_form(ops, f"/alerts/{alert['id']}/close", {"reason": "ซ้ำ"})
    assert again.status_code == 409
    clock.advance(25 * 3600)
    ops = console_login(hub)
    ops.get("/alerts")
    with hub.store() as s:
        [silent] = s.alerts("open")
    refused = post_form(ops, f"/alerts/{silent['id']}/close", {"reason": "ปิดเอง"})
    assert refused.status_code == 409 and "จะปิดเองเมื่อเหตุหายไป" in text_of(refused)
    assert post_form(ops, "/alerts/99999/close", {"reason": "x"}).status_code == 404


# -- quarantine ----------------------------------------------------------------------------


def _out_of_order(hub: Hub) -> tuple[Office, object, int]:
    """ชม pushes its second envelope before its first: the second is quarantined."""
    cm = hub.office(CHIANG_MAI)
    hub.office(CHIANG_RAI)
    first = cm.letter([CHIANG_RAI], subject="ฉบับแรก")
    second = cm.letter([CHIANG_RAI], subject="ฉบับที่สอง")
    [result] = cm.push_ok(second)
    assert result["status"] == "rejected" and result["reason"] == "out_of_sequence"
    with hub.store() as s:
        [q] = s.quarantined("open")
    return cm, first, int(q["id"])


def test_an_envelope_that_arrived_early_is_released_once_the_gap_is_filled(
    hub: Hub, ops: FlaskClient
) -> None:
    cm, first, qid = _out_of_order(hub)
    alerts_page = text_of(ops.get("/alerts"))
    assert "ซองเอกสารถูกกักไว้" in alerts_page and f"/quarantine/{qid}" in alerts_page
    review = text_of(ops.get(f"/quarantine/{qid}"))
    assert "out_of_sequence" in review and "ฉบับที่สอง" in review

    before = counts(hub)
    early = post_form(ops, f"/quarantine/{qid}/release", {"reason": "ลองรับ"}, f"/quarantine/{qid}")
    assert early.status_code == 409 and "ยังรับซองนี้ไม่ได้: out_of_sequence" in text_of(early)
    assert counts(hub) == before  # a refused release leaves nothing behind

    cm.push_ok(first)  # type: ignore[arg-type]
    done = post_form(
        ops, f"/quarantine/{qid}/release", {"reason": "ซองแรกมาถึงแล้ว"}, f"/quarantine/{qid}"
    )
    assert done.status_code == 302
    page = text_of(ops.get(f"/quarantine/{qid}"))
    assert "ปล่อยซองแล้ว: รับเข้าแล้ว" in page and "ซองแรกมาถึงแล้ว" in page
    with hub.store() as s:
        assert s.feed_head(CHIANG_MAI)[0] == 2  # type: ignore[index]
        assert len(s.mailbox_rows(CHIANG_RAI)) == 2
        [action] = [a for a in s.actions() if a["operator"] == "ops"]
        assert (action["operator"], action["action"], action["reason"]) == (
            "ops",
            "release_quarantine",
            "ซองแรกมาถึงแล้ว",
        )
        assert s.quarantined("open") == []
        assert s.alerts("open") == []  # the quarantine alert resolved itself
        sessions = [r["kind"] for r in s.sync_sessions(CHIANG_MAI)]
        assert "release" in sessions
    again = post_form(ops, f"/quarantine/{qid}/release", {"reason": "อีกครั้ง"}, "/alerts")
    assert again.status_code == 409 and "จัดการไปแล้ว" in text_of(again)


def test_a_quarantined_envelope_is_discarded_only_with_a_reason(hub: Hub, ops: FlaskClient) -> None:
    _, _, qid = _out_of_order(hub)
    ops.get("/alerts")  # the quarantine alert is raised when someone looks
    before = counts(hub)
    for reason in ("", "   ", "ก" * 501):
        refused = post_form(ops, f"/quarantine/{qid}/discard", {"reason": reason}, "/alerts")
        assert refused.status_code == 400, reason
        assert "เหตุผล" in text_of(refused)
    assert counts(hub) == before
    done = post_form(ops, f"/quarantine/{qid}/discard", {"reason": "ซองผิดพลาด"}, "/alerts")
    assert done.status_code == 302
    with hub.store() as s:
        row = s.quarantined_one(qid)
        assert row is not None
        assert (row["status"], row["resolved_by"], row["resolution"]) == (
            "discarded",
            "ops",
            "ซองผิดพลาด",
        )
    assert (
        post_form(ops, "/quarantine/424242/discard", {"reason": "x"}, "/alerts").status_code == 404
    )


def test_an_equivocating_envelope_cannot_be_released(hub: Hub, ops: FlaskClient) -> None:
    cm = hub.office(CHIANG_MAI)
    hub.office(CHIANG_RAI)
    cm.push_ok(cm.letter([CHIANG_RAI], subject="ต้นฉบับ"))
    cm.seq, cm.head = 0, None
    [result] = cm.push_ok(cm.letter([CHIANG_RAI], subject="อีกฉบับที่ลำดับเดิม"))
    assert result["reason"] == "equivocation"
    with hub.store() as s:
        [q] = s.quarantined("open")
    page = text_of(ops.get("/alerts"))
    assert "หน่วยงานลงนามซองเอกสารสองฉบับในลำดับเดียวกัน" in page
    refused = post_form(ops, f"/quarantine/{q['id']}/release", {"reason": "ลอง"}, "/alerts")
    assert refused.status_code == 409 and "equivocation" in text_of(refused)


def test_a_viewer_watches_but_cannot_act(hub: Hub) -> None:
    _, _, qid = _out_of_order(hub)
    viewer = console_login(hub, "watcher")
    page = text_of(viewer.get(f"/quarantine/{qid}"))
    assert "ปล่อยซอง" not in page  # no action forms for a viewer
    answer = post_form(viewer, f"/quarantine/{qid}/discard", {"reason": "ทิ้ง"}, "/alerts")
    assert answer.status_code == 403 and "ดูได้อย่างเดียว" in text_of(answer)
    with hub.store() as s:
        assert s.quarantined_one(qid)["status"] == "open"  # type: ignore[index]


def test_actions_page_lists_what_operators_did(hub: Hub, ops: FlaskClient) -> None:
    _, _, qid = _out_of_order(hub)
    post_form(ops, f"/quarantine/{qid}/discard", {"reason": "ทดสอบการบันทึก"}, "/alerts")
    page = text_of(ops.get("/actions"))
    assert "discard_quarantine" in page and "ทดสอบการบันทึก" in page and "ops" in page


# -- the command line -------------------------------------------------------------------------


def _hub_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.cli.main", "hub", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_first_operator_is_added_from_the_command_line(tmp_path: Path) -> None:
    instance = str(tmp_path / "hub")
    assert _hub_cli("init", "--instance", instance).returncode == 0
    ok = _hub_cli(
        "adduser", "somchai", "--name", "สมชาย ใจดี", "--password-stdin", "--instance", instance,
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "เพิ่มผู้ดูแล somchai (operator) แล้ว" in ok.stdout
    assert PASSWORD not in ok.stdout + ok.stderr
    again = _hub_cli(
        "adduser", "somchai", "--name", "สมชาย", "--password-stdin", "--instance", instance,
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert again.returncode != 0 and len(again.stderr.strip().splitlines()) == 1
    short = _hub_cli(
        "adduser", "somying", "--name", "สมหญิง", "--password-stdin", "--instance", instance,
        stdin="สั้น\n",
    )  # fmt: skip
    assert short.returncode != 0 and "รหัสผ่านต้องมีความยาว" in short.stderr
    assert len(short.stderr.strip().splitlines()) == 1
    reset = _hub_cli(
        "passwd", "somchai", "--password-stdin", "--instance", instance, stdin="ใหม่" * 5 + "\n"
    )
    assert reset.returncode == 0, reset.stderr
