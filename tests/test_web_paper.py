"""ลงรับหนังสือกระดาษ on the clerk's pages, driven in-process: a paper letter registered with
its scans gets its เลขรับ; every bad field, file or token gets a Thai message and stores
nothing (no letter, no register entry, no file)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from support import CHIANG_RAI
from test_node_support import Node, office_knowing
from web_support import add_users, form_tokens, login, refused_page

from node.web import kit as webkit

PDF = b"%PDF-1.4 scanned letter " * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FIELDS = {
    "number": "ชม 5201/1234",
    "letter_date": "24 พ.ย. 2569",
    "origin": "สำนักงานประชาสัมพันธ์จังหวัดเชียงใหม่",
    "addressee": "ผู้ว่าราชการจังหวัดเชียงราย",
    "subject": "ขอเชิญร่วมงานวันปิยมหาราช",
    "letter_type": "ภายนอก",
    "sub_type": "",
    "speed": "ด่วน",
}


@pytest.fixture
def node(tmp_path: Path) -> Node:
    cr = office_knowing(tmp_path, CHIANG_RAI)
    add_users(cr)
    return cr


def submit(client: FlaskClient, files: list[tuple[bytes, str]] | None = None, **fields: str) -> Any:
    """Post the paper form (FIELDS with ``fields`` over them) with ``files`` as scans."""
    data: dict[str, Any] = {**FIELDS, **fields, **form_tokens(client, "/paper/new")}
    data["scan"] = [(io.BytesIO(content), name) for content, name in files or []]
    return client.post("/paper/new", data=data, content_type="multipart/form-data")


def stored(node: Node) -> tuple[int, int, int, int]:
    """Letters, register entries, attachment rows and stored files at ``node``."""
    counts = [
        node.rows(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]
        for table in ("letters", "register_entries", "attachments")
    ]
    blobs = [p for p in node.ctx.blob_dir().rglob("*") if p.is_file()]
    return counts[0], counts[1], counts[2], len(blobs)


def refused(node: Node, resp: Any, status: int, message: str, before: tuple[int, ...]) -> str:
    page = refused_page(resp, status, message)
    assert stored(node) == before
    return page


def test_clerk_registers_a_paper_letter_with_its_scans_and_sees_the_receipt_number(
    node: Node,
) -> None:
    clerk = login(node)
    form = clerk.get("/paper/new").get_data(as_text=True)
    for label in ("เลขที่หนังสือ", "ลงวันที่", "จาก", "เรียน/ถึง", "เรื่อง", "ไฟล์สแกน"):
        assert f">{label}</label>" in form
    assert "1 ธ.ค. 69" in form  # the hint shows how a date may be typed
    assert 'name="secrecy"' not in form  # a clerk is offered no secrecy class

    resp = submit(clerk, [(PDF, "หนังสือเชิญ.pdf"), (PNG, "page2.png")])
    assert resp.status_code == 302
    row = node.rows("SELECT * FROM letters ORDER BY id DESC LIMIT 1")[0]
    assert resp.headers["Location"] == f"/letters/{row['id']}"
    assert row["paper"] == 1 and row["direction"] == "in" and row["stage"] == "registered"
    assert row["subject"] == FIELDS["subject"] and row["origin"] == FIELDS["origin"]
    assert row["number"] == "ชม 5201/1234" and row["speed"] == "ด่วน"
    assert row["letter_date"] == "24 พฤศจิกายน 2569" and row["letter_day"] == "2026-11-24"
    assert json.loads(row["recipients"]) == [FIELDS["addressee"]]
    files = json.loads(row["attachments"])
    assert [(f["name"], f["media_type"]) for f in files] == [
        ("หนังสือเชิญ.pdf", "application/pdf"),
        ("page2.png", "image/png"),
    ]
    audit = node.rows("SELECT actor, action FROM audit WHERE subject = ?", (f"letter:{row['id']}",))
    assert {"actor": "somsri", "action": "register_paper_letter"} in audit
    page = clerk.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"ลงรับแล้ว เลขรับ {row['receipt_number']}" in page


def test_an_iso_date_and_no_scan_are_accepted(node: Node) -> None:
    resp = submit(login(node), letter_date="2026-11-24", number="", addressee="")
    assert resp.status_code == 302
    row = node.rows("SELECT letter_date, attachments FROM letters")[0]
    assert row["letter_date"] == "24 พฤศจิกายน 2569" and json.loads(row["attachments"]) == []


BAD_FIELDS = [
    pytest.param({"subject": ""}, "กรุณากรอกเรื่อง", id="empty-subject"),
    pytest.param({"subject": "  "}, "กรุณากรอกเรื่อง", id="blank-subject"),
    pytest.param({"origin": ""}, "กรุณากรอกหน่วยงานผู้ส่ง", id="empty-sender"),
    pytest.param({"subject": "ก" * 501}, "เรื่องยาวเกิน 500 ตัวอักษร", id="long-subject"),
    pytest.param({"origin": "ข" * 301}, "หน่วยงานผู้ส่งยาวเกิน 300 ตัวอักษร", id="long-sender"),
    pytest.param({"letter_date": "31 ก.พ. 2569"}, "ไม่มีวันที่ 31 กุมภาพันธ์ 2569 ในปฏิทิน", id="bad-date"),
    pytest.param({"speed": "ด่วนจี๋"}, "ชั้นความเร็วไม่ถูกต้อง", id="bad-speed"),
    pytest.param({"letter_type": "สั่งการ"}, "กรุณาเลือกประเภทย่อย", id="missing-sub-type"),
    pytest.param({"sub_type": "คำสั่ง"}, "ไม่มีประเภทย่อย", id="stray-sub-type"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_FIELDS)
def test_a_bad_field_is_refused_in_thai_keeps_what_was_typed_and_stores_nothing(
    node: Node, fields: dict[str, str], message: str
) -> None:
    before = stored(node)
    page = refused(node, submit(login(node), [(PDF, "scan.pdf")], **fields), 400, message, before)
    assert f'value="{FIELDS["number"]}"' in page  # the other fields keep what was typed


BAD_FILES = [
    pytest.param(b"MZ\x90\x00" + b"\x00" * 60, "setup.exe", id="exe"),
    pytest.param("ข้อความธรรมดา ไม่ใช่ PDF".encode(), "letter.pdf", id="text-named-pdf"),
    pytest.param(b"PK\x03\x04" + b"\x00" * 60, "letter.docx", id="docx-is-no-scan"),
]


@pytest.mark.parametrize(("content", "name"), BAD_FILES)
def test_a_file_that_is_no_scan_is_refused_naming_the_accepted_kinds(
    node: Node, content: bytes, name: str
) -> None:
    before = stored(node)
    resp = submit(login(node), [(PDF, "ok.pdf"), (content, name)])
    page = refused(node, resp, 400, "ไม่ใช่ชนิดที่รับได้ (รับ PDF, JPEG, PNG, TIFF)", before)
    assert name in page


def test_an_empty_file_is_refused_in_thai(node: Node) -> None:
    before = stored(node)
    refused(node, submit(login(node), [(b"", "scan.pdf")]), 400, "ว่างเปล่า", before)


def test_a_scan_over_the_size_limit_is_refused_in_thai(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webkit, "MAX_FILE_BYTES", 1024 * 1024)
    before = stored(node)
    big = b"%PDF-1.4 " + b"0" * (1024 * 1024)
    refused(node, submit(login(node), [(big, "big.pdf")]), 400, "big.pdf มีขนาดเกิน 1 MB", before)


def test_a_request_over_the_upload_limit_is_a_thai_413(node: Node) -> None:
    node.app.config["MAX_CONTENT_LENGTH"] = 4096
    before = stored(node)
    resp = submit(login(node), [(PDF * 100, "scan.pdf")])
    refused(node, resp, 413, "ข้อมูลที่ส่งมีขนาดใหญ่เกินกำหนด", before)


def test_html_in_the_subject_is_shown_escaped(node: Node) -> None:
    subject = '<script>alert("x")</script><b>ประชุม</b>'
    clerk = login(node)
    page = submit(clerk, subject=subject, origin="").get_data(as_text=True)
    assert str(escape(subject)) in page and "<script>alert" not in page
    resp = submit(clerk, subject=subject)
    assert resp.status_code == 302
    page = clerk.get(resp.headers["Location"]).get_data(as_text=True)
    assert str(escape(subject)) in page
    assert "<script>alert" not in page and "<b>ประชุม</b>" not in page


def test_a_clerk_may_not_register_a_classified_letter(node: Node) -> None:
    before = stored(node)
    resp = submit(login(node), [(PDF, "secret.pdf")], secrecy="ลับ")
    refused(node, resp, 403, "ไม่มีสิทธิ์ลงรับหนังสือชั้นความลับ", before)


def test_the_registrar_registers_a_classified_letter_in_the_secret_register(node: Node) -> None:
    registrar = login(node, "registrar")
    form = registrar.get("/paper/new").get_data(as_text=True)
    assert '<label for="secrecy">ชั้นความลับ</label>' in form
    resp = submit(registrar, [(PDF, "secret.pdf")], secrecy="ลับมาก", subject="แผนป้องกันภัย")
    assert resp.status_code == 302
    row = node.rows(
        "SELECT l.secrecy, l.receipt_number, r.series FROM letters l "
        "JOIN registers r ON r.id = l.receipt_register"
    )[0]
    assert row["secrecy"] == "ลับมาก" and row["series"] == "ลับ"
    page = registrar.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"เลขรับ {row['receipt_number']}" in page
    # The clerk cannot read it by its address.
    assert login(node).get(resp.headers["Location"]).status_code == 403


@pytest.mark.parametrize("username", ["officer", "boss", "admin"])
def test_only_those_who_receive_may_open_the_form(node: Node, username: str) -> None:
    client = login(node, username)
    resp = client.get("/paper/new")
    assert resp.status_code == 403 and "คุณไม่มีสิทธิ์ใช้งานส่วนนี้" in resp.get_data(as_text=True)
    assert node.app.test_client().get("/paper/new").headers["Location"] == "/login"


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "forged"])
def test_a_forged_form_is_refused_in_thai_and_stores_nothing(node: Node, token: str | None) -> None:
    clerk = login(node)
    before = stored(node)
    data: dict[str, Any] = {**FIELDS, "scan": [(io.BytesIO(PDF), "scan.pdf")]}
    if token:
        data["csrf_token"] = token
    resp = clerk.post("/paper/new", data=data, content_type="multipart/form-data")
    refused(node, resp, 400, "แบบฟอร์มไม่ถูกต้อง", before)
