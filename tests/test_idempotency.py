"""Idempotency keys: a request that changes state is acted on once however often it comes.

The local API answers a repeated ``Idempotency-Key`` with its first answer (same status,
same body) and sends one letter, even when the repeats arrive at once from several threads;
a key reused for another route or body is refused and changes nothing. Every form of the
clerk's pages that changes state is refused without the key issued with its page, and the
same form sent twice acts once. A failed action leaves neither its writes nor its key.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from flask import url_for
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_node_support import Node, PaperHub, office_knowing, offline_node, publish
from test_web_letters import arrive
from web_support import add_users, csrf, form_tokens, login, refused_page

from node.storage.idempotency import KEY_LIFETIME, Claim, Outcome, run_once
from node.web.kit import REPEATED_TH
from node.web.session import KEYLESS_ENDPOINTS, FormKeyMissing

LETTER = {"subject": "ขอเชิญประชุม", "recipients": [CHIANG_RAI]}


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return office_knowing(tmp_path, CHIANG_MAI, CHIANG_RAI)


def counts(node: Node) -> dict[str, int]:
    tables = ("letters", "feed", "register_entries", "recipients", "audit", "idempotency")
    return {t: node.rows(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in tables}


def post(node: Node, path: str, body: Any, key: str | None, client: Any = None) -> Any:
    headers = {**node.headers, **({"Idempotency-Key": key} if key is not None else {})}
    return (client or node.client).post(path, json=body, headers=headers)


# -- the local API ---------------------------------------------------------------------------


def test_api_call_sent_again_with_its_key_gets_the_first_answer_and_one_letter(
    node: Node,
) -> None:
    first = post(node, "/api/letters", LETTER, "send-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    before = counts(node)
    again = post(node, "/api/letters", LETTER, "send-1")
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert counts(node) == before
    assert [r["number"] for r in node.rows("SELECT number FROM letters")] == ["ชม 0017/1"]
    other = post(node, "/api/letters", LETTER, "send-2")  # a new key is a new letter
    assert other.get_json()["number"] == "ชม 0017/2"


def test_register_sent_again_with_its_key_keeps_one_receipt_number(tmp_path: Path) -> None:
    clock, paper = Clock(), PaperHub()
    cm, cr = (offline_node(tmp_path, office, paper, clock) for office in (CHIANG_MAI, CHIANG_RAI))
    publish(paper, cm, cr)
    path = f"/api/letters/{arrive((cm, cr))}/register"
    answers = [post(cr, path, {}, "register-7f3a") for _ in range(3)]
    assert {(a.status_code, a.get_json()["receipt_number"]) for a in answers} == {(200, "1")}
    assert cr.rows("SELECT display FROM register_entries") == [{"display": "1"}]


REUSED: dict[str, tuple[str, dict[str, Any]]] = {
    "another_route": ("/api/drafts", LETTER),
    "another_body": ("/api/letters", {**LETTER, "subject": "ขอเชิญประชุม (แก้ไข)"}),
}


@pytest.mark.parametrize("case", sorted(REUSED))
def test_key_reused_for_another_request_is_refused_and_changes_nothing(
    node: Node, case: str
) -> None:
    assert post(node, "/api/letters", LETTER, "k-1").status_code == 201
    before = counts(node)
    path, body = REUSED[case]
    resp = post(node, path, body, "k-1")
    assert (resp.status_code, resp.get_json()["error"]) == (422, "idempotency_key_reused")
    assert "รหัสป้องกันการทำซ้ำ" in resp.get_json()["message_th"]
    assert counts(node) == before


def test_same_key_from_threads_at_once_sends_one_letter(node: Node) -> None:
    start, answers = threading.Barrier(4), []

    def send() -> None:
        client = node.app.test_client()
        start.wait()
        resp = post(node, "/api/letters", LETTER, "double-click", client)
        answers.append((resp.status_code, resp.get_json()["number"]))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [(201, "ชม 0017/1")] * 4
    assert node.rows("SELECT COUNT(*) AS n FROM letters") == [{"n": 1}]
    assert node.rows("SELECT COUNT(*) AS n FROM feed WHERE kind = 'letter'") == [{"n": 1}]


def test_refused_call_records_no_key_and_can_be_sent_again(node: Node) -> None:
    bad = post(node, "/api/letters", {"subject": "ขอเชิญประชุม"}, "fix-and-retry")
    assert (bad.status_code, bad.get_json()["error"]) == (400, "recipients_required")
    assert counts(node)["idempotency"] == 0
    assert post(node, "/api/letters", LETTER, "fix-and-retry").status_code == 201


def test_key_is_forgotten_after_a_day(node: Node) -> None:
    assert post(node, "/api/letters", LETTER, "yesterday").get_json()["number"] == "ชม 0017/1"
    node.clock.advance(KEY_LIFETIME + 1)
    assert post(node, "/api/letters", LETTER, "yesterday").get_json()["number"] == "ชม 0017/2"
    assert counts(node)["idempotency"] == 1


@pytest.mark.parametrize("key", ["", "ก" * 8, "x" * 201, "two words"])
def test_malformed_key_is_refused_before_anything_is_done(node: Node, key: str) -> None:
    before = counts(node)
    resp = post(node, "/api/letters", LETTER, key)
    assert (resp.status_code, resp.get_json()["error"]) == (400, "bad_idempotency_key")
    assert counts(node) == before


def test_failed_action_leaves_neither_its_writes_nor_its_key(node: Node) -> None:
    def act() -> Outcome:
        s.insert("units", {"code": "ชม 0017.9", "name": "กลุ่มงานชั่วคราว", "active": 1})
        raise RuntimeError("the machine stops here")

    with node.store() as s, pytest.raises(RuntimeError):
        run_once(s, Claim("crash", "somsri", "POST /admin/units"), node.clock(), act)
    assert node.rows("SELECT code FROM units WHERE code = 'ชม 0017.9'") == []
    assert counts(node)["idempotency"] == 0


# -- the clerk's pages ------------------------------------------------------------------------


SAMPLE_ARGS = {"letter_id": 1, "list_id": 1, "username": "somsri"}


def test_every_form_that_changes_state_is_refused_without_its_key(node: Node) -> None:
    add_users(node)
    admin = login(node, "admin")
    with node.app.test_request_context():
        paths = [
            url_for(rule.endpoint, **{a: SAMPLE_ARGS[a] for a in rule.arguments})
            for rule in node.app.url_map.iter_rules()
            if "POST" in (rule.methods or ())
            and not rule.rule.startswith("/api/")
            and rule.endpoint not in KEYLESS_ENDPOINTS
        ]
    assert len(paths) >= 22
    before = counts(node)
    for path in paths:
        resp = admin.post(path, data={"csrf_token": csrf(admin, "/")})
        refused_page(resp, 400, FormKeyMissing.message_th)
    assert counts(node) == before


def test_paper_form_sent_twice_registers_one_letter(node: Node) -> None:
    add_users(node)
    clerk = login(node)
    form = {
        **form_tokens(clerk, "/paper/new"),
        "origin": "มหาวิทยาลัยเชียงใหม่",
        "subject": "ขอความอนุเคราะห์ข้อมูลสถิติจังหวัด",
    }
    first, again = clerk.post("/paper/new", data=form), clerk.post("/paper/new", data=form)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    page = clerk.get(again.headers["Location"]).get_data(as_text=True)
    assert f"ลงรับแล้ว เลขรับ 1 {REPEATED_TH}" in page
    assert node.rows("SELECT receipt_number FROM letters") == [{"receipt_number": "1"}]


def test_form_key_sent_to_another_form_is_refused_in_thai(node: Node) -> None:
    add_users(node)
    clerk = login(node)
    tokens = form_tokens(clerk, "/paper/new")
    form = {**tokens, "origin": "อำเภอเมือง", "subject": "ขอเชิญประชุม"}
    assert clerk.post("/paper/new", data=form).status_code == 302
    before = counts(node)
    resp = clerk.post("/compose", data={**tokens, "subject": "ขอเชิญประชุม", "action": "save"})
    refused_page(resp, 422, "รหัสป้องกันการทำซ้ำ")
    assert counts(node) == before
