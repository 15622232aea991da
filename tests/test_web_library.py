"""The library page (หนังสือเวียน คำสั่ง ระเบียบ ประกาศ), driven in-process: which letters it
holds, sent and received, its tabs and filters, and classified letters kept from those who
may not open them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from markupsafe import escape
from support import CHIANG_MAI, CHIANG_RAI
from test_node_support import NORTH, Node, office_knowing, paper_letter
from web_support import add_users, login


@pytest.fixture
def node(tmp_path: Path) -> Node:
    cm = office_knowing(tmp_path, CHIANG_MAI, CHIANG_RAI, lists=NORTH)
    add_users(cm)
    return cm


@pytest.fixture
def shelf(node: Node) -> dict[str, dict[str, Any]]:
    """A circular and an order sent, a circular, a regulation and an announcement received on
    paper, and two ordinary letters that belong to no tab."""
    letters = {
        "old_circular": paper_letter(
            node,
            "หนังสือเวียนแจ้งวันหยุดราชการประจำปี",
            number="ชร 0017/ว 12",
            letter_date="3 มกราคม 2568",
        ),
        "circular": node.send(lists=["north"], subject="ขอเชิญซ้อมแผนป้องกันอัคคีภัย"),
        "order": node.send(
            recipients=[CHIANG_RAI],
            subject="แต่งตั้งคณะทำงานจัดงานกาชาด",
            letter_type="สั่งการ",
            sub_type="คำสั่ง",
        ),
        "regulation": paper_letter(
            node,
            "ระเบียบว่าด้วยการใช้รถราชการ",
            letter_type="สั่งการ",
            sub_type="ระเบียบ",
            letter_date="1 พฤศจิกายน 2569",
        ),
        "announcement": paper_letter(
            node,
            "รับสมัครพนักงานราชการ",
            letter_type="ประชาสัมพันธ์",
            sub_type="ประกาศ",
            letter_date="10 พฤศจิกายน 2569",
        ),
        "ordinary_out": node.send(recipients=[CHIANG_RAI], subject="ขอเชิญประชุมประจำเดือน"),
        "ordinary_in": paper_letter(node, "ขอส่งรายงานผลการดำเนินงาน", number="ชร 0017/88"),
    }
    return letters


def library(client: Any, **params: str) -> tuple[int, str]:
    resp = client.get(f"/library?{urlencode(params)}")
    return resp.status_code, resp.get_data(as_text=True)


def subjects(page: str) -> list[str]:
    return re.findall(r'<a href="/letters/\d+">([^<]*)</a>', page)


def test_library_shows_circulars_orders_regulations_and_announcements(
    node: Node, shelf: dict[str, dict[str, Any]]
) -> None:
    status, page = library(login(node))
    assert status == 200
    assert subjects(page) == [  # newest first, by the letter's date
        "แต่งตั้งคณะทำงานจัดงานกาชาด",
        "ขอเชิญซ้อมแผนป้องกันอัคคีภัย",
        "รับสมัครพนักงานราชการ",
        "ระเบียบว่าด้วยการใช้รถราชการ",
        "หนังสือเวียนแจ้งวันหยุดราชการประจำปี",
    ]
    assert "ขอเชิญประชุมประจำเดือน" not in page and "ขอส่งรายงานผล" not in page
    assert f'href="/letters/{shelf["order"]["id"]}"' in page
    assert "คำสั่งจังหวัดเชียงใหม่ ที่ 1/2569" in page and "ชม 0017/ว 1" in page
    assert "3 มกราคม 2568" in page and "หนังสือรับ" in page and "หนังสือส่ง" in page


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        pytest.param("ว", ["ขอเชิญซ้อมแผน", "หนังสือเวียนแจ้ง"], id="circulars"),
        pytest.param("คำสั่ง", ["แต่งตั้งคณะทำงาน"], id="orders"),
        pytest.param("ระเบียบ", ["ระเบียบว่าด้วย"], id="regulations"),
        pytest.param("ประกาศ", ["รับสมัคร"], id="announcements"),
    ],
)
def test_each_tab_shows_its_kind(
    node: Node, shelf: dict[str, dict[str, Any]], kind: str, expected: list[str]
) -> None:
    status, page = library(login(node), kind=kind)
    assert status == 200
    found = subjects(page)
    assert [s[: len(e)] for s, e in zip(found, expected, strict=False)] == expected
    assert len(found) == len(expected)
    assert re.search(r'<a href="[^"]+" aria-current="page">', page)


def test_year_and_subject_filters_narrow_the_list(
    node: Node, shelf: dict[str, dict[str, Any]]
) -> None:
    client = login(node)
    _, page = library(client, year="2568")
    assert subjects(page) == ["หนังสือเวียนแจ้งวันหยุดราชการประจำปี"]
    assert '<option value="2568" selected>2568</option>' in page
    _, page = library(client, kind="ว", year="2569")
    assert subjects(page) == ["ขอเชิญซ้อมแผนป้องกันอัคคีภัย"]
    _, page = library(client, q="อัคคีภัย")
    assert subjects(page) == ["ขอเชิญซ้อมแผนป้องกันอัคคีภัย"]
    _, page = library(client, q="100%")
    assert subjects(page) == [] and "ยังไม่มีหนังสือในหมวดนี้" in page
    _, page = library(client, year="2560")
    assert subjects(page) == [] and "ยังไม่มีหนังสือในหมวดนี้" in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"kind": "จดหมาย"}, "ไม่รู้จักประเภทหนังสือนี้", id="kind"),
        pytest.param({"year": "ปีก่อน"}, "ปีต้องเป็นตัวเลข", id="year-text"),
        pytest.param({"year": "2026"}, "ปีไม่ถูกต้อง", id="christian-era"),
        pytest.param({"q": "ก" * 201}, "คำค้นยาวเกิน 200 ตัวอักษร", id="text-too-long"),
        pytest.param({"page": "x"}, "หน้าต้องเป็นตัวเลข", id="page"),
    ],
)
def test_bad_filters_are_a_thai_message_and_400(
    node: Node, params: dict[str, str], message: str
) -> None:
    status, page = library(login(node), **params)
    assert status == 400 and message in page and 'role="alert"' in page
    assert "Traceback" not in page and 'for="year"' in page


def test_html_in_a_subject_is_shown_escaped(node: Node) -> None:
    subject = '<script>alert("x")</script><b>ประกาศสำคัญ</b>'
    paper_letter(node, subject, letter_type="ประชาสัมพันธ์", sub_type="ประกาศ")
    status, page = library(login(node), kind="ประกาศ")
    assert status == 200 and str(escape(subject)) in page
    assert "<script>alert" not in page and "<b>ประกาศ" not in page


def test_classified_order_is_hidden_from_a_clerk_and_listed_for_the_registrar(
    node: Node, shelf: dict[str, dict[str, Any]]
) -> None:
    paper_letter(node, "ย้ายข้าราชการกรณีพิเศษ", letter_type="สั่งการ", sub_type="คำสั่ง", secrecy="ลับ")
    _, page = library(login(node), kind="คำสั่ง")
    assert subjects(page) == ["แต่งตั้งคณะทำงานจัดงานกาชาด"] and "ย้ายข้าราชการ" not in page
    _, page = library(login(node, "registrar"), kind="คำสั่ง")
    assert "ย้ายข้าราชการกรณีพิเศษ" in subjects(page)


def test_library_needs_a_login(node: Node) -> None:
    resp = node.app.test_client().get("/library")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
