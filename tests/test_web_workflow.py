"""The receiving workflow's forms on a letter's page, driven in-process: each step by the role
that may take it changes the letter and shows in its history; every other role, an empty or
overlong field, a forged form or an unknown assignee gets a Thai message and changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from support import CHIANG_RAI
from test_node_support import Node, office_knowing
from web_support import USERS, add_users, login, post_form

from node.records.units import save_unit
from node.records.workflow import history
from node.web.workflow import MAX_MINUTE

DIVISION = "ชร 0017.1"
DIVISION_NAME = "กลุ่มงานอำนวยการ"
STATE_COLUMNS = (
    "stage, minute, instruction, minuted_by, assigned_to, done_at, keep_kind, retention, updated_at"
)


@pytest.fixture
def node(tmp_path: Path) -> Node:
    cr = office_knowing(tmp_path, CHIANG_RAI)
    add_users(cr)
    with cr.store() as s:
        save_unit(cr.ctx, s, DIVISION, DIVISION_NAME, "", True, "admin")
    return cr


def received(node: Node, subject: str = "ขอเชิญประชุมคณะทำงาน") -> int:
    """A paper letter registered at ``node`` (direction in, stage registered)."""
    body = {"subject": subject, "origin": "สำนักงานจังหวัดเชียงใหม่", "number": "ชม 0017.3/55"}
    return int(node.call("POST", "/api/paper-letters", body, ok=201)["id"])


def state(node: Node, letter_id: int) -> dict[str, Any]:
    row = node.rows(f"SELECT {STATE_COLUMNS} FROM letters WHERE id = ?", (letter_id,))
    audit = node.rows("SELECT COUNT(*) AS n FROM audit WHERE subject = ?", (f"letter:{letter_id}",))
    return {**row[0], "audit": audit[0]["n"]}


def step(client: FlaskClient, letter_id: int, name: str, data: dict[str, str]) -> Any:
    return post_form(client, f"/letters/{letter_id}/{name}", data)


def actions(node: Node, letter_id: int) -> list[tuple[str, str]]:
    with node.store() as s:
        return [(h["actor"], h["action"]) for h in history(s, letter_id)]


def page_of(client: FlaskClient, letter_id: int) -> str:
    resp = client.get(f"/letters/{letter_id}")
    assert resp.status_code == 200
    return str(resp.get_data(as_text=True))


def test_executive_minutes_and_assigns_to_a_division_and_the_history_shows_both(
    node: Node,
) -> None:
    letter = received(node)
    boss = login(node, "boss")
    resp = step(
        boss,
        letter,
        "minute",
        {"minute_text": "ทราบ ให้กลุ่มงานอำนวยการเตรียมการ", "instruction": "ดำเนินการ"},
    )
    assert resp.status_code == 302 and resp.headers["Location"] == f"/letters/{letter}"
    row = state(node, letter)
    assert row["stage"] == "minuted" and row["minute"] == "ทราบ ให้กลุ่มงานอำนวยการเตรียมการ"
    assert row["instruction"] == "ดำเนินการ" and row["minuted_by"] == USERS["boss"][0]
    page = page_of(boss, letter)
    assert "บันทึกเกษียนแล้ว" in page
    assert "ทราบ ให้กลุ่มงานอำนวยการเตรียมการ" in page and USERS["boss"][0] in page

    resp = step(boss, letter, "assign", {"assign_to": DIVISION, "assign_note": "ด่วน"})
    assert resp.status_code == 302
    row = state(node, letter)
    assert row["stage"] == "assigned" and row["assigned_to"] == DIVISION
    assert actions(node, letter)[-2:] == [("boss", "minute"), ("boss", "assign")]
    page = page_of(boss, letter)
    assert "มอบหมายแล้ว" in page and f"{DIVISION} {DIVISION_NAME}" in page
    assert "เกษียน/สั่งการ" in page  # the history on the letter's page
    assert 'name="forward_to"' in page and 'name="assign_to"' not in page


def test_officer_forwards_and_completes_then_the_clerk_keeps_it(node: Node) -> None:
    letter = received(node)
    assert step(login(node, "boss"), letter, "assign", {"assign_to": DIVISION}).status_code == 302
    officer = login(node, "officer")
    resp = step(officer, letter, "forward", {"forward_to": "officer", "forward_note": "รับไป"})
    assert resp.status_code == 302
    assert state(node, letter)["assigned_to"] == "officer"
    resp = step(officer, letter, "done", {"done_note": "แจ้งผู้เกี่ยวข้องแล้ว"})
    assert resp.status_code == 302
    assert state(node, letter)["stage"] == "done"
    page = page_of(officer, letter)
    assert "บันทึกว่าดำเนินการแล้ว" in page
    assert 'name="done_note"' not in page and 'name="forward_to"' not in page

    clerk = login(node, "somsri")
    assert 'name="retention"' in page_of(clerk, letter)
    resp = step(clerk, letter, "keep", {"retention": "never", "keep_kind": "after_done"})
    assert resp.status_code == 302
    row = state(node, letter)
    assert row["stage"] == "kept" and row["retention"] == "never"
    assert row["keep_kind"] == "after_done"
    assert [a for _, a in actions(node, letter)][-4:] == [
        "assign",
        "forward",
        "complete",
        "keep_letter",
    ]
    page = page_of(clerk, letter)
    assert "จัดเก็บแล้ว" in page and "ห้ามทำลาย" in page
    assert f'action="/letters/{letter}/keep"' not in page


def test_each_role_sees_only_the_forms_it_may_use(node: Node) -> None:
    letter = received(node)
    boss = page_of(login(node, "boss"), letter)
    assert "ข้อความเกษียน" in boss and "มอบหมายให้" in boss and "ดำเนินการแล้ว" in boss
    assert f'<option value="{DIVISION}">{DIVISION} {DIVISION_NAME}</option>' in boss
    assert f'<option value="somsri">{USERS["somsri"][0]}</option>' in boss
    assert 'name="retention"' not in boss
    clerk = page_of(login(node, "somsri"), letter)
    assert "ข้อความเกษียน" not in clerk and "มอบหมายให้" not in clerk
    assert "อายุการเก็บ" in clerk and "ดำเนินการแล้ว" in clerk
    assert "ห้ามทำลาย" in clerk and "10 ปี" in clerk
    admin = page_of(login(node, "admin"), letter)
    assert f'action="/letters/{letter}/' not in admin


WRONG_ROLES = [
    pytest.param("somsri", "minute", {"minute_text": "ทราบ"}, id="clerk-minutes"),
    pytest.param("officer", "minute", {"minute_text": "ทราบ"}, id="officer-minutes"),
    pytest.param("somsri", "assign", {"assign_to": DIVISION}, id="clerk-assigns"),
    pytest.param("officer", "assign", {"assign_to": DIVISION}, id="officer-assigns"),
    pytest.param("admin", "forward", {"forward_to": DIVISION}, id="admin-forwards"),
    pytest.param("admin", "done", {"done_note": "เสร็จ"}, id="admin-completes"),
    pytest.param("boss", "keep", {"retention": "10"}, id="executive-keeps"),
    pytest.param("officer", "keep", {"retention": "10"}, id="officer-keeps"),
]


@pytest.mark.parametrize(("username", "name", "data"), WRONG_ROLES)
def test_a_role_without_the_permission_gets_a_thai_403_and_nothing_changes(
    node: Node, username: str, name: str, data: dict[str, str]
) -> None:
    letter = received(node)
    before = state(node, letter)
    resp = step(login(node, username), letter, name, data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 403 and "คุณไม่มีสิทธิ์ใช้งานส่วนนี้" in page
    assert "Traceback" not in page
    assert state(node, letter) == before


@pytest.mark.parametrize("text", ["", "   \n  "], ids=["empty", "blank"])
def test_an_empty_minute_is_refused_in_thai_and_nothing_is_stored(node: Node, text: str) -> None:
    letter = received(node)
    before = state(node, letter)
    resp = step(login(node, "boss"), letter, "minute", {"minute_text": text, "instruction": "ทราบ"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "กรุณากรอกข้อความเกษียน" in page
    assert 'value="ทราบ"' in page  # what was typed is kept
    assert state(node, letter) == before


def test_a_minute_over_the_limit_is_refused_in_thai(node: Node) -> None:
    letter = received(node)
    before = state(node, letter)
    text = "ก" * (MAX_MINUTE + 1)
    resp = step(login(node, "boss"), letter, "minute", {"minute_text": text})
    assert resp.status_code == 400
    assert f"ข้อความเกษียนยาวเกิน {MAX_MINUTE:,} ตัวอักษร" in resp.get_data(as_text=True)
    assert state(node, letter) == before
    long_note = "ข" * 1001
    resp = step(
        login(node, "boss"), letter, "assign", {"assign_to": DIVISION, "assign_note": long_note}
    )
    assert resp.status_code == 400 and "หมายเหตุยาวเกิน" in resp.get_data(as_text=True)
    assert state(node, letter) == before


def test_html_in_a_minute_is_shown_escaped(node: Node) -> None:
    letter = received(node)
    minute = '<script>alert("x")</script><b>ทราบ</b>'
    boss = login(node, "boss")
    assert step(boss, letter, "minute", {"minute_text": minute}).status_code == 302
    page = page_of(boss, letter)
    assert str(escape(minute)) in page
    assert "<script>alert" not in page and "<b>ทราบ</b>" not in page
    # Typed again into a failing form, it comes back escaped too.
    resp = step(boss, letter, "assign", {"assign_to": "", "assign_note": minute})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and str(escape(minute)) in page and "<script>alert" not in page


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "forged"])
@pytest.mark.parametrize(
    ("username", "name", "data"),
    [
        ("boss", "minute", {"minute_text": "ทราบ"}),
        ("boss", "assign", {"assign_to": DIVISION}),
        ("officer", "done", {"done_note": "เสร็จ"}),
        ("somsri", "keep", {"retention": "10"}),
    ],
)
def test_a_forged_form_is_refused_in_thai_and_changes_nothing(
    node: Node, token: str | None, username: str, name: str, data: dict[str, str]
) -> None:
    letter = received(node)
    before = state(node, letter)
    client = login(node, username)
    form = {**data, **({"csrf_token": token} if token else {})}
    resp = client.post(f"/letters/{letter}/{name}", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "แบบฟอร์มไม่ถูกต้อง" in page and "Traceback" not in page
    assert state(node, letter) == before


@pytest.mark.parametrize(
    "to", ["ชร 0017.9", "nobody", '<img src=x onerror="alert(1)">'], ids=["unit", "user", "html"]
)
def test_assigning_to_an_unknown_unit_or_user_is_refused_in_thai(node: Node, to: str) -> None:
    letter = received(node)
    before = state(node, letter)
    resp = step(login(node, "boss"), letter, "assign", {"assign_to": to})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "ไม่พบหน่วยงานหรือผู้ใช้" in page
    assert str(escape(to)) in page and "<img src=x" not in page
    assert state(node, letter) == before


def test_a_step_the_stage_no_longer_allows_is_refused_in_thai(node: Node) -> None:
    letter = received(node)
    assert step(login(node, "officer"), letter, "done", {}).status_code == 302
    before = state(node, letter)
    boss = login(node, "boss")
    assert "ข้อความเกษียน" not in page_of(boss, letter)  # the form is gone
    resp = step(boss, letter, "minute", {"minute_text": "ทราบ"})
    assert resp.status_code == 409
    assert "ไม่สามารถเกษียนได้" in resp.get_data(as_text=True)
    assert state(node, letter) == before


def test_a_step_on_a_missing_letter_is_a_thai_404(node: Node) -> None:
    boss = login(node, "boss")
    resp = step(boss, 999, "minute", {"minute_text": "ทราบ"})
    assert resp.status_code == 404 and "ไม่พบ" in resp.get_data(as_text=True)
