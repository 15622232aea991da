"""The registers page (ทะเบียนหนังสือ), driven in-process: a month's entries on screen, the
PDF and Excel downloads read back, who may see which register, and bad choices answered in
Thai."""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from markupsafe import escape
from openpyxl import load_workbook
from pypdf import PdfReader
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_node_support import Node, office_knowing, paper_letter
from web_support import add_users, login

from protocol.thai import BANGKOK

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def bangkok(month: int, day: int, hour: int = 10) -> float:
    return datetime(2026, month, day, hour, 0, tzinfo=BANGKOK).timestamp()


@pytest.fixture
def node(tmp_path: Path) -> Node:
    """Chiang Mai with a paper letter received in October and one in November, and a letter
    sent in November; the clock stands on 20 November 2569."""
    clock = Clock(bangkok(10, 20))
    cm = office_knowing(tmp_path, CHIANG_MAI, CHIANG_RAI, clock=clock)
    add_users(cm)
    paper_letter(cm, "ขอเชิญประชุมเรื่องน้ำท่วมฉับพลัน", number="ชร 0017/55")
    clock.t = bangkok(11, 18)
    paper_letter(cm, "ขอส่งรายงานผลการดำเนินงานประจำปี", number="ลป 0017/9")
    cm.send(recipients=[CHIANG_RAI], subject="ขอเชิญประชุมคณะกรรมการจังหวัด")
    clock.t = bangkok(11, 20)
    return cm


def page_of(client: Any, **params: str) -> tuple[int, str]:
    resp = client.get(f"/registers?{urlencode(params)}")
    return resp.status_code, resp.get_data(as_text=True)


def download_links(page: str) -> dict[str, str]:
    links = re.findall(r'<a class="button-link[^"]*" href="([^"]+)" download>([^<]+)</a>', page)
    return {title: href.replace("&amp;", "&") for href, title in links}


def pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def test_registers_page_shows_this_months_receipt_register_by_default(node: Node) -> None:
    status, page = page_of(login(node))
    assert status == 200
    assert "ทะเบียนหนังสือรับ" in page and "ประจำเดือนพฤศจิกายน พ.ศ. 2569" in page
    assert "ขอส่งรายงานผลการดำเนินงานประจำปี" in page and "ลป 0017/9" in page
    assert "น้ำท่วม" not in page  # October's letter
    assert '<option value="11" selected>พฤศจิกายน</option>' in page
    assert 'value="2569"' in page
    for name in ("series", "year", "month"):
        assert f'for="{name}"' in page and f'id="{name}"' in page


def test_registers_page_lists_the_entries_of_the_month_chosen(node: Node) -> None:
    client = login(node)
    status, october = page_of(client, series="รับ", year="2569", month="10")
    assert status == 200 and "ประจำเดือนตุลาคม พ.ศ. 2569" in october
    assert "ขอเชิญประชุมเรื่องน้ำท่วมฉับพลัน" in october and "รายงานผล" not in october
    assert 'data-label="ทะเบียนรับที่">1</td>' in october
    assert 'data-label="เรื่อง">ขอเชิญประชุมเรื่องน้ำท่วมฉับพลัน</td>' in october
    assert "รวม 1 รายการ" in october
    status, blank_year = page_of(client, series="รับ", year="", month="10")
    assert status == 200 and "ประจำเดือนตุลาคม พ.ศ. 2569" in blank_year  # this year
    status, year = page_of(client, series="รับ", year="๒๕๖๙", month="")
    assert status == 200 and "ประจำปี พ.ศ. 2569" in year
    assert "น้ำท่วม" in year and "รายงานผล" in year
    status, sent = page_of(client, series="ส่ง", year="2569", month="11")
    assert status == 200 and "ทะเบียนหนังสือส่ง" in sent
    assert "ขอเชิญประชุมคณะกรรมการจังหวัด" in sent and "ชม 0017/1" in sent
    status, empty = page_of(client, series="คำสั่ง", year="2569", month="11")
    assert status == 200 and "ไม่มีรายการในทะเบียนนี้" in empty


def test_pdf_download_holds_the_thai_subject(node: Node) -> None:
    client = login(node)
    _, page = page_of(client, series="รับ", year="2569", month="11")
    links = download_links(page)
    assert set(links) == {"พิมพ์ PDF", "ส่งออก Excel"}
    resp = client.get(links["พิมพ์ PDF"])
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF")
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="register-receipt-2569-11-')
    assert "filename*=UTF-8''" + quote("ทะเบียนหนังสือรับ", safe="") in disposition
    text = pdf_text(resp.data)
    assert "ขอส่งรายงานผลการดำเนินงานประจำปี" in text and "ประจำเดือนพฤศจิกายน" in text
    assert "น้ำท่วม" not in text
    api = node.client.get(
        f"/api/registers/{quote('รับ')}/print?year=2569&month=11", headers=node.headers
    )
    assert api.headers["Content-Disposition"] == disposition  # the same file names


def test_excel_download_holds_the_register_rows(node: Node) -> None:
    client = login(node)
    _, page = page_of(client, series="ส่ง", year="2569", month="11")
    resp = client.get(download_links(page)["ส่งออก Excel"])
    assert resp.status_code == 200 and resp.mimetype == XLSX
    assert 'filename="register-sent-2569-11-' in resp.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert ws["A1"].value == "ทะเบียนหนังสือส่ง"
    values = [c.value for row in ws.iter_rows(min_row=4) for c in row]
    assert "ขอเชิญประชุมคณะกรรมการจังหวัด" in values and "ชม 0017/1" in values


def test_an_officer_may_not_see_the_registers(node: Node) -> None:
    client = login(node, "officer")
    for path in ("/registers", "/registers/file?series=รับ&year=2569&format=pdf"):
        resp = client.get(path)
        page = resp.get_data(as_text=True)
        assert resp.status_code == 403 and "คุณไม่มีสิทธิ์ใช้งานส่วนนี้" in page
        assert "น้ำท่วม" not in page and "รายงานผล" not in page
    assert "/registers" not in client.get("/").get_data(as_text=True)  # not in the menu


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"month": "13"}, "เดือนต้องเป็นเลข 1 ถึง 12", id="month-13"),
        pytest.param({"month": "พย"}, "เดือนต้องเป็นตัวเลข", id="month-text"),
        pytest.param({"year": "2026"}, "ปีไม่ถูกต้อง", id="christian-era"),
        pytest.param({"year": "ปีนี้"}, "ปี (พ.ศ.)ต้องเป็นตัวเลข", id="year-text"),
        pytest.param({"year": "9" * 40}, "ปี (พ.ศ.)ต้องเป็นตัวเลข", id="year-too-long"),
        pytest.param({"series": "ลับสุด"}, "ไม่รู้จักทะเบียนนี้", id="series"),
        pytest.param({"series": "วิทยุ"}, "ไม่รู้จักทะเบียนนี้", id="series-not-offered"),
    ],
)
def test_bad_choices_are_a_thai_message_and_400(
    node: Node, params: dict[str, str], message: str
) -> None:
    client = login(node)
    status, page = page_of(client, **{"series": "รับ", "year": "2569", **params})
    assert status == 400, page
    assert message in page and 'role="alert"' in page and "Traceback" not in page
    assert "รายงานผล" not in page and 'id="series"' in page  # the form, no table
    resp = client.get(f"/registers/file?{urlencode({'series': 'รับ', 'year': '2569', **params})}")
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)


def test_a_bad_file_format_is_a_thai_400(node: Node) -> None:
    resp = login(node).get("/registers/file?series=รับ&year=2569&format=docx")
    assert resp.status_code == 400
    assert "รูปแบบไฟล์ต้องเป็น pdf หรือ xlsx" in resp.get_data(as_text=True)


def test_html_in_a_subject_is_shown_escaped(node: Node) -> None:
    subject = '<script>alert("x")</script><b>ตัวหนา</b>'
    paper_letter(node, subject)
    status, page = page_of(login(node), series="รับ", year="2569", month="11")
    assert status == 200 and str(escape(subject)) in page
    assert "<script>alert" not in page and "<b>ตัวหนา" not in page


def test_the_classified_register_is_for_the_registrar_only(node: Node) -> None:
    paper_letter(node, "แผนรักษาความปลอดภัยสถานที่ราชการ", secrecy="ลับ", number="ชร 0017/77")
    clerk = login(node)
    _, page = page_of(clerk)
    assert '<option value="ลับ"' not in page
    status, refused = page_of(clerk, series="ลับ", year="2569")
    assert status == 403 and "เฉพาะนายทะเบียนหนังสือลับ" in refused
    assert "แผนรักษา" not in refused
    assert clerk.get("/registers/file?series=ลับ&year=2569").status_code == 403

    registrar = login(node, "registrar")
    status, page = page_of(registrar, series="ลับ", year="2569", month="11")
    assert status == 200 and '<option value="ลับ" selected>' in page
    assert "ทะเบียนควบคุมหนังสือลับ" in page and "แผนรักษาความปลอดภัยสถานที่ราชการ" in page
    resp = registrar.get(download_links(page)["พิมพ์ PDF"])
    assert resp.status_code == 200 and "แผนรักษาความปลอดภัยสถานที่ราชการ" in pdf_text(resp.data)
