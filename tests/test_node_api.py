"""The node's local API: the bearer token, and bad input answered with a 4xx JSON error
in Thai and English with nothing stored."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from support import CHIANG_MAI, CHIANG_RAI
from test_node_support import Node, office_knowing


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return office_knowing(tmp_path, CHIANG_MAI, CHIANG_RAI)


def counts(node: Node) -> dict[str, int]:
    tables = ("letters", "feed", "register_entries", "recipients", "attachments", "audit")
    return {t: node.rows(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in tables}


GOOD = {"subject": "ขอเชิญประชุม", "recipients": [CHIANG_RAI]}

BAD_LETTERS: dict[str, tuple[Any, str]] = {
    "not_an_object": (["subject"], "bad_json"),
    "no_subject": ({"recipients": [CHIANG_RAI]}, "subject_required"),
    "blank_subject": ({**GOOD, "subject": "   "}, "subject_required"),
    "subject_not_text": ({**GOOD, "subject": 5}, "bad_field"),
    "no_recipients": ({"subject": "x"}, "recipients_required"),
    "recipients_not_list": ({**GOOD, "recipients": CHIANG_RAI}, "bad_field"),
    "unknown_office": ({**GOOD, "recipients": ["ซซ 9999"]}, "unknown_recipient"),
    "unknown_list": ({**GOOD, "lists": ["nowhere"]}, "unknown_recipient"),
    "to_itself": ({**GOOD, "recipients": [CHIANG_MAI]}, "self_recipient"),
    "bad_speed": ({**GOOD, "speed": "เร็ว"}, "bad_speed"),
    "bad_type": ({**GOOD, "letter_type": "จดหมายรัก"}, "bad_letter_type"),
    "top_secret": ({**GOOD, "secrecy": "ลับที่สุด"}, "top_secret_not_electronic"),
    "unknown_series": ({**GOOD, "series": "ไม่มี"}, "unknown_series"),
    "receipt_series": ({**GOOD, "series": "รับ"}, "bad_series"),
    "attachment_not_base64": (
        {
            **GOOD,
            "attachments": [
                {"name": "a.pdf", "media_type": "application/pdf", "content_base64": "###"}
            ],
        },
        "bad_attachment",
    ),
    "attachment_without_name": (
        {
            **GOOD,
            "attachments": [
                {"media_type": "application/pdf", "content_base64": base64.b64encode(b"x").decode()}
            ],
        },
        "bad_attachment",
    ),
    "reserved_not_reserved": ({**GOOD, "reserved_number": 7}, "conflict"),
}


@pytest.mark.parametrize("case", sorted(BAD_LETTERS))
def test_bad_letter_input_is_refused_in_thai_and_nothing_is_stored(node: Node, case: str) -> None:
    payload, code = BAD_LETTERS[case]
    before = counts(node)
    resp = node.client.post("/api/letters", json=payload, headers=node.headers)
    assert 400 <= resp.status_code < 500
    data = resp.get_json()
    assert data["error"] == code
    assert data["reason"] and data["message_th"]
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in data["message_th"])
    assert counts(node) == before


BAD_CALLS = {
    "register_unknown_letter": ("POST", "/api/letters/99/register", {}, 404),
    "return_without_reason": ("POST", "/api/letters/99/return", {}, 400),
    "withdraw_unknown": ("POST", "/api/letters/99/withdraw", {}, 404),
    "paper_without_subject": ("POST", "/api/paper-letters", {"sender": "x"}, 400),
    "void_without_reason": ("POST", "/api/registers/ส่ง/void", {"number": 1}, 400),
    "void_number_not_int": ("POST", "/api/registers/ส่ง/void", {"number": "1", "reason": "x"}, 400),
    "reserve_unknown_series": ("POST", "/api/registers/xx/reserve", {}, 400),
    "bad_box": ("GET", "/api/letters?box=trash", None, 400),
    "no_such_route": ("GET", "/api/nothing", None, 404),
    "wrong_method": ("DELETE", "/api/letters", None, 405),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_calls_get_json_errors_never_tracebacks(node: Node, case: str) -> None:
    method, path, payload, status = BAD_CALLS[case]
    before = counts(node)
    resp = node.client.open(path, method=method, json=payload, headers=node.headers)
    assert resp.status_code == status
    data = resp.get_json()
    assert set(data) == {"error", "reason", "message_th"}
    assert "Traceback" not in resp.get_data(as_text=True)
    assert counts(node) == before


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer wrong-token", "Basic dGVzdDp0ZXN0", "bearer test-token-0123456789"],
)
def test_api_token_is_required(node: Node, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for method, path in (("GET", "/api/status"), ("POST", "/api/letters"), ("POST", "/api/sync")):
        resp = node.client.open(path, method=method, json=GOOD, headers=headers)
        assert resp.status_code == 401
        assert resp.get_json()["error"] == "unauthorised"
    assert counts(node)["letters"] == 0


def test_health_needs_no_token_and_status_page_is_thai(node: Node) -> None:
    assert node.client.get("/api/health").get_json()["ok"] is True
    node.send(recipients=[CHIANG_RAI])
    page = node.client.get("/status").get_data(as_text=True)
    assert "ออฟไลน์" in page and CHIANG_MAI in page and "หนังสือรอส่ง" in page


def test_letter_with_attachment_round_trips_through_the_api(node: Node) -> None:
    content = b"%PDF-1.4 test" * 10
    sent = node.send(
        recipients=[CHIANG_RAI],
        attachments=[
            {
                "name": "ไฟล์แนบ.pdf",
                "media_type": "application/pdf",
                "content_base64": base64.b64encode(content).decode(),
            }
        ],
    )
    letter = node.call("GET", f"/api/letters/{sent['id']}")
    att = letter["attachments"][0]
    assert att["size"] == len(content) and att["name"] == "ไฟล์แนบ.pdf"
    path = node.instance / "blobs" / att["sha256"][:2] / att["sha256"]
    assert path.read_bytes() == content
    assert [h["action"] for h in letter["history"]] == ["create_draft", "issue_number", "dispatch"]
