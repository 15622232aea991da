"""A paper letter registered twice: the same sender and number (however the number is
typed), or the same sender, date and subject, is refused with the earlier entry named (its
เลขรับ and when, in the Buddhist era) and nothing stored, until the clerk confirms that it is
another letter; then it takes the next เลขรับ and the audit row says which entry it resembled.
Through the local API and the clerk's page (the CLI's one line is in tests/test_cli_letters.py).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from support import CHIANG_MAI
from test_node_support import Node, office_knowing
from web_support import add_users, form_tokens, login, refused_page

PDF = b"%PDF-1.4 scanned letter " * 8
FIRST = {
    "origin": "มหาวิทยาลัยเชียงใหม่",
    "number": "อว 8393/1234",
    "letter_date": "15 พฤศจิกายน 2569",
    "subject": "ขอความอนุเคราะห์ข้อมูลสถิติจังหวัด",
}
EARLIER_TH = "หนังสือฉบับนี้ลงรับไว้แล้ว: เลขรับ 1 เมื่อ 18 พฤศจิกายน 2569 เวลา 18.06 น."


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return office_knowing(tmp_path, CHIANG_MAI)


def register(node: Node, **fields: Any) -> Any:
    scan = {"name": "scan.pdf", "media_type": "application/pdf"}
    body = {**FIRST, "attachments": [{**scan, "content_base64": base64.b64encode(PDF).decode()}]}
    return node.client.post("/api/paper-letters", json={**body, **fields}, headers=node.headers)


def stored(node: Node) -> tuple[int, ...]:
    tables = ("letters", "register_entries", "feed", "audit")
    counts = [node.rows(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in tables]
    return (*counts, sum(1 for p in node.ctx.blob_dir().rglob("*") if p.is_file()))


SAME_LETTER: dict[str, dict[str, Any]] = {
    "number_typed_in_thai_digits": {"number": "อว ๘๓๙๓/๑๒๓๔", "subject": "อีกเรื่องหนึ่ง"},
    "number_typed_without_spaces": {"number": "อว8393/1234", "letter_date": "16 พ.ย. 2569"},
    "sender_spaced_otherwise": {"origin": "มหาวิทยาลัย เชียงใหม่", "letter_date": ""},
    "same_date_and_subject_no_number": {"number": "", "letter_date": "2026-11-15"},
}


@pytest.mark.parametrize("case", sorted(SAME_LETTER))
def test_same_letter_again_is_refused_naming_the_earlier_entry(node: Node, case: str) -> None:
    assert register(node).status_code == 201
    before = stored(node)
    resp = register(node, attachments=[], **SAME_LETTER[case])
    data = resp.get_json()
    assert (resp.status_code, data["error"]) == (409, "possible_duplicate")
    assert data["message_th"].startswith(EARLIER_TH)
    assert data["earlier"]["receipt_number"] == "1" and data["earlier"]["id"] == 1
    assert stored(node) == before


def test_confirmed_duplicate_takes_the_next_number_and_the_audit_names_the_first(
    node: Node,
) -> None:
    assert register(node).status_code == 201
    again = register(node, confirm_duplicate=True)
    assert (again.status_code, again.get_json()["receipt_number"]) == (201, "2")
    (detail,) = node.rows(
        "SELECT detail FROM audit WHERE action = 'register_paper_letter' AND subject = ?",
        (f"letter:{again.get_json()['id']}",),
    )
    assert '"duplicate_of": "1"' in detail["detail"]


OTHER_LETTERS: dict[str, dict[str, Any]] = {
    "another_sender_same_number": {"origin": "มหาวิทยาลัยแม่โจ้"},
    "same_sender_another_number_and_subject": {"number": "อว 8393/1235", "subject": "เชิญประชุม"},
    "same_subject_another_date_no_number": {"number": "", "letter_date": "16 พฤศจิกายน 2569"},
}


@pytest.mark.parametrize("case", sorted(OTHER_LETTERS))
def test_another_letter_is_registered_without_a_question(node: Node, case: str) -> None:
    assert register(node).status_code == 201
    resp = register(node, **OTHER_LETTERS[case])
    assert (resp.status_code, resp.get_json()["receipt_number"]) == (201, "2")


def test_confirm_flag_must_be_true_or_false(node: Node) -> None:
    resp = register(node, confirm_duplicate="yes")
    assert (resp.status_code, resp.get_json()["error"]) == (400, "bad_field")


def paper_form(client: Any, **fields: str) -> Any:
    data: dict[str, Any] = {**form_tokens(client, "/paper/new"), **FIRST, **fields}
    data["scan"] = [(io.BytesIO(PDF), "scan.pdf")]
    return client.post("/paper/new", data=data, content_type="multipart/form-data")


def test_clerk_sees_the_earlier_entry_and_registers_after_confirming(node: Node) -> None:
    add_users(node)
    clerk = login(node)
    assert paper_form(clerk).status_code == 302
    before = stored(node)
    page = refused_page(paper_form(clerk), 409, EARLIER_TH)
    assert 'href="/letters/1">เลขรับ 1</a>' in page
    assert 'name="confirm_duplicate" value="yes" required' in page
    assert f'value="{FIRST["subject"]}"' in page  # what was typed is kept
    assert stored(node) == before

    resp = paper_form(clerk, confirm_duplicate="yes")
    assert resp.status_code == 302
    shown = clerk.get(resp.headers["Location"]).get_data(as_text=True)
    assert "ลงรับแล้ว เลขรับ 2" in shown
