"""Printed registers and the stamped copy as a clerk meets them: through the node's API and
the `saraban` command, on real nodes with real SQLite files, read back as PDF and Excel.

Letters come in on paper (with their scans) and, for the stamped electronic copy, from
another office through a real hub on loopback HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fpdf import FPDF
from openpyxl import load_workbook
from pypdf import PdfReader
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_node_support import (
    Federation,
    Node,
    PaperHub,
    federation,
    office_knowing,
    offline_node,
    paper_letter,
    publish,
)

from node.records.leases import finalise
from protocol.thai import BANGKOK
from scripts.cli.main import main as saraban

OFFICE_NAME = "สำนักงานจังหวัดเชียงใหม่"  # ชม 0017, seeded from node/data/units.json
CLERK = {"X-Saraban-User": "somsri", "X-Saraban-Roles": "clerk"}
REGISTRAR = {"X-Saraban-User": "wichai", "X-Saraban-Roles": "registrar"}


def bangkok(month: int, day: int, hour: int = 10, minute: int = 0) -> float:
    return datetime(2026, month, day, hour, minute, tzinfo=BANGKOK).timestamp()


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return office_knowing(tmp_path, CHIANG_MAI, CHIANG_RAI, clock=Clock(bangkok(10, 20)))


def small_pdf(text: str = "Letter from Chiang Rai") -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=14)
    pdf.add_page()
    pdf.cell(text=text)
    return bytes(pdf.output())


def scan(content: bytes, name: str = "scan.pdf", media: str = "application/pdf") -> dict[str, str]:
    return {"name": name, "media_type": media, "content_base64": base64.b64encode(content).decode()}


def get(node: Node, path: str, **headers: str) -> Any:
    return node.client.get(path, headers={**node.headers, **headers})


def register_pdf(node: Node, series: str, query: str = "year=2569", **headers: str) -> bytes:
    resp = get(node, f"/api/registers/{quote(series)}/print?{query}", **headers)
    assert resp.status_code == 200, resp.get_json()
    assert resp.mimetype == "application/pdf"
    return bytes(resp.data)


def text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def squeeze(value: str) -> str:
    return re.sub(r"\s+", "", value)


def has_row(pdf: bytes, *cells: str) -> bool:
    """Whether the register shows these cells side by side in one row.

    fpdf2 draws a row cell by cell, so the text layer gives each cell whole (wrapped
    lines included) before the next; without white space, a row reads as its cells.
    """
    return squeeze("".join(cells)) in squeeze(text(pdf))


def refused(resp: Any, status: int, error: str) -> dict[str, str]:
    data = resp.get_json()
    assert resp.status_code == status, data
    assert set(data) == {"error", "reason", "message_th"} and data["error"] == error
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in data["message_th"])
    return data  # type: ignore[no-any-return]


@pytest.fixture
def received(node: Node) -> dict[str, Any]:
    """A month of paper letters: two in October (one number voided), one in November."""
    first = paper_letter(
        node,
        "ขอเชิญประชุมเรื่องน้ำท่วมฉับพลัน",
        number="ชร 0017/55",
        letter_date="15 ตุลาคม 2569",
        addressee="ผู้ว่าราชการจังหวัดเชียงใหม่",
    )
    node.call("POST", "/api/registers/รับ/reserve", {"reason": "เผื่อหนังสือด่วน"}, ok=201)
    node.call("POST", "/api/registers/รับ/void", {"number": 2, "reason": "ไม่ได้ใช้เลขที่จองไว้"})
    node.clock.t = bangkok(11, 18, 14, 35)
    second = paper_letter(
        node, "ขอส่งรายงานผลการดำเนินงานประจำปี", number="ลป 0017/9", letter_date="12 พ.ย. 2569"
    )
    return {"first": first, "second": second}


# -- receipt register ------------------------------------------------------------------------


def test_receipt_register_lists_every_number_with_buddhist_era_dates(
    node: Node, received: dict[str, Any]
) -> None:
    resp = get(node, f"/api/registers/{quote('รับ')}/print?year=2569")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="register-receipt-2569')
    assert "filename*=UTF-8''" + quote("ทะเบียนหนังสือรับ", safe="") in disposition
    pdf = bytes(resp.data)
    body = text(pdf)
    assert "ทะเบียนหนังสือรับ" in body and f"{OFFICE_NAME} (ชม 0017) ประจำปี พ.ศ. 2569" in body
    assert has_row(
        pdf,
        *("ทะเบียนรับที่", "ที่", "ลงวันที่", "จาก", "ถึง", "เรื่อง"),
        *("การปฏิบัติ", "หมายเหตุ", "วันที่รับ"),
    )
    assert has_row(
        pdf,
        *("1", "ชร 0017/55", "15 ตุลาคม 2569", "สำนักงานจังหวัดเชียงราย"),
        *("ผู้ว่าราชการจังหวัดเชียงใหม่", "ขอเชิญประชุมเรื่องน้ำท่วมฉับพลัน", "ลงรับแล้ว"),
        *("หนังสือกระดาษ", "20 ตุลาคม 2569 10.00 น."),
    )
    assert has_row(pdf, "2", "ยกเลิกเลข: ไม่ได้ใช้เลขที่จองไว้", "3", "ลป 0017/9")
    assert has_row(
        pdf,
        *("3", "ลป 0017/9", "12 พฤศจิกายน 2569", "สำนักงานจังหวัดเชียงราย"),
        *("ขอส่งรายงานผลการดำเนินงานประจำปี", "ลงรับแล้ว", "หนังสือกระดาษ"),
        "18 พฤศจิกายน 2569 14.35 น.",
    )
    assert "รวม 3 รายการ (ยกเลิกเลข 1 รายการ)" in body
    # the Thai font travels with the file
    fonts = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"]
    descriptors = [
        f.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        for f in fonts.values()
    ]
    assert descriptors and all("/FontFile2" in d for d in descriptors)


def test_month_filter_keeps_only_that_bangkok_month(node: Node, received: dict[str, Any]) -> None:
    november = text(register_pdf(node, "รับ", "year=2569&month=11"))
    assert "ประจำเดือนพฤศจิกายน พ.ศ. 2569" in november
    assert "ขอส่งรายงานผลการดำเนินงานประจำปี" in november
    assert "น้ำท่วม" not in november and "ยกเลิกเลข" not in november
    october = text(register_pdf(node, "รับ", "year=2569&month=10"))
    assert "น้ำท่วม" in october and "ยกเลิกเลข" in october and "รายงานผล" not in october
    # 31 October 23:30 Bangkok is still October, though it is 16:30 UTC
    node.clock.t = bangkok(10, 31, 23, 30)
    paper_letter(node, "หนังสือคืนวันสิ้นเดือน")
    assert "หนังสือคืนวันสิ้นเดือน" in text(register_pdf(node, "รับ", "year=2569&month=10"))
    assert "หนังสือคืนวันสิ้นเดือน" not in text(register_pdf(node, "รับ", "year=2569&month=11"))
    empty = text(register_pdf(node, "รับ", "year=2569&month=3"))
    assert "ไม่มีรายการ" in empty


def test_receipt_register_as_excel(node: Node, received: dict[str, Any]) -> None:
    resp = get(node, f"/api/registers/{quote('รับ')}/print?year=2569&format=xlsx")
    assert resp.status_code == 200
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    assert 'filename="register-receipt-2569-0017.xlsx"' in resp.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert ws["A1"].value == "ทะเบียนหนังสือรับ"
    header = [c.value for c in ws[3]]
    assert header == [
        "ทะเบียนรับที่",
        "ที่",
        "ลงวันที่",
        "จาก",
        "ถึง",
        "เรื่อง",
        "การปฏิบัติ",
        "หมายเหตุ",
        "วันที่รับ",
    ]
    rows = [[c.value or "" for c in row] for row in ws.iter_rows(min_row=4, max_row=6)]
    assert rows[0][:6] == [
        "1",
        "ชร 0017/55",
        "15 ตุลาคม 2569",
        "สำนักงานจังหวัดเชียงราย",
        "ผู้ว่าราชการจังหวัดเชียงใหม่",
        "ขอเชิญประชุมเรื่องน้ำท่วมฉับพลัน",
    ]
    assert rows[0][6] == "ลงรับแล้ว" and rows[0][8] == "20 ตุลาคม 2569 10.00 น."
    assert rows[1][0] == "2" and rows[1][7] == "ยกเลิกเลข: ไม่ได้ใช้เลขที่จองไว้"
    assert rows[2][5] == "ขอส่งรายงานผลการดำเนินงานประจำปี"


def test_classified_subject_is_hidden_from_those_who_may_not_open_it(
    node: Node, received: dict[str, Any]
) -> None:
    # A letter numbered in the ordinary register and classified afterwards (the clerk set
    # its class when the envelope was opened): the register still lists its number.
    with node.store() as s, s.transaction():
        s.execute(
            "UPDATE letters SET secrecy = 'ลับ', assigned_to = 'กลุ่มงานความมั่นคง' WHERE id = ?",
            (received["first"]["id"],),
        )
    seen_by_clerk = text(register_pdf(node, "รับ", "year=2569", **CLERK))
    assert "(หนังสือชั้นความลับ)" in seen_by_clerk and "น้ำท่วม" not in seen_by_clerk
    assert "ชร 0017/55" in seen_by_clerk
    division = {**CLERK, "X-Saraban-Divisions": "กลุ่มงานความมั่นคง"}
    assert "น้ำท่วม" in text(register_pdf(node, "รับ", "year=2569", **division))
    assert "น้ำท่วม" in text(register_pdf(node, "รับ", "year=2569", **REGISTRAR))


def test_classified_control_register_is_for_the_registrar_only(node: Node) -> None:
    paper_letter(node, "แผนรักษาความปลอดภัยสถานที่ราชการ", secrecy="ลับ", number="ชร 0017/ล 3")
    paper_letter(node, "ขอเชิญประชุมประจำเดือน")
    resp = get(node, f"/api/registers/{quote('ลับ')}/print?year=2569", **CLERK)
    refused(resp, 403, "classified_register_refused")
    secret = register_pdf(node, "ลับ", "year=2569", **REGISTRAR)
    assert "ทะเบียนควบคุมหนังสือลับ" in text(secret)
    assert has_row(secret, "1", "ลับ", "ชร 0017/ล 3", "", "สำนักงานจังหวัดเชียงราย")
    assert has_row(secret, "แผนรักษาความปลอดภัยสถานที่ราชการ", "ลงรับแล้ว")
    assert "ขอเชิญประชุมประจำเดือน" not in text(secret)
    ordinary = text(register_pdf(node, "รับ", "year=2569", **REGISTRAR))
    assert "แผนรักษาความปลอดภัย" not in ordinary and "ขอเชิญประชุมประจำเดือน" in ordinary


# -- sending register ------------------------------------------------------------------------


def test_sending_register_lists_the_numbers_of_sent_letters(node: Node) -> None:
    first = node.send(recipients=[CHIANG_RAI], subject="ขอเชิญประชุมคณะกรรมการจังหวัด")
    node.call("POST", "/api/registers/ส่ง/reserve", {"reason": "สำรองให้ผู้ว่าราชการจังหวัด"}, ok=201)
    second = node.send(recipients=[CHIANG_RAI], subject="ขอส่งสำเนาคำสั่งแต่งตั้ง")
    assert (first["number"], second["number"]) == ("ชม 0017/1", "ชม 0017/3")
    pdf = register_pdf(node, "ส่ง")
    assert "ทะเบียนหนังสือส่ง" in text(pdf)
    sent_on = "20 ตุลาคม 2569"
    assert has_row(
        pdf,
        *("1", "ชม 0017/1", sent_on, OFFICE_NAME, CHIANG_RAI),
        *("ขอเชิญประชุมคณะกรรมการจังหวัด", "ส่งแล้ว ผู้รับลงรับ 0/1"),
    )
    assert has_row(pdf, "2", "ชม 0017/2", "จองเลข: สำรองให้ผู้ว่าราชการจังหวัด", "3")
    assert has_row(pdf, "3", "ชม 0017/3", sent_on, OFFICE_NAME, CHIANG_RAI, "ขอส่งสำเนาคำสั่งแต่งตั้ง")
    assert "ไม่มีรายการ" in text(register_pdf(node, "ว"))


def test_circulars_from_a_shared_register_show_provisional_numbers_last(tmp_path: Path) -> None:
    paper, clock = PaperHub(), Clock(bangkok(11, 2))
    node = offline_node(tmp_path, CHIANG_MAI, paper, clock)
    offline_node(tmp_path, CHIANG_RAI, paper, clock)
    paper.shared = [
        {"owner": "มท 0200", "series": "ว", "basis": "calendar", "members": [CHIANG_MAI]}
    ]
    publish(paper, node)
    first = node.send(recipients=[CHIANG_RAI], series="ว", subject="แจ้งเวียนแนวทางปฏิบัติ")
    second = node.send(recipients=[CHIANG_RAI], series="ว", subject="แจ้งเวียนกำหนดการ")
    assert first["provisional"] and second["provisional"]
    with node.store() as s, s.transaction():  # the hub's lease finalises the first one
        finalise(node.ctx, s, f"{CHIANG_MAI}:มท 0200|ว|2569:1", 41, clock())
    pdf = register_pdf(node, "ว")
    body = text(pdf)
    assert "ทะเบียนหนังสือส่ง (หนังสือเวียน)" in body and "มท 0200 ประจำปี พ.ศ. 2569" in body
    assert has_row(pdf, "41", "มท 0200/ว 41", "2 พฤศจิกายน 2569", OFFICE_NAME, CHIANG_RAI)
    provisional = ("(ชั่วคราว 2)", "มท 0200/ว (ชั่วคราว 2)", "2 พฤศจิกายน 2569")
    assert has_row(pdf, *provisional)
    assert has_row(pdf, "แจ้งเวียนกำหนดการ", "ส่งแล้ว ผู้รับลงรับ 0/1", "เลขชั่วคราว รอเลขจริง")
    assert squeeze(body).index("แจ้งเวียนแนวทางปฏิบัติ") < squeeze(body).index("แจ้งเวียนกำหนดการ")
    assert "ทะเบียนร่วม" in body


# -- what a user can get wrong ---------------------------------------------------------------

BAD_REQUESTS = [
    pytest.param("รับ", "year=สองห้าหกเก้า", 400, "bad_year", id="year-not-a-number"),
    pytest.param("รับ", "year=2026", 400, "bad_year", id="christian-era-year"),
    pytest.param("รับ", "year=2569&month=13", 400, "bad_month", id="month-13"),
    pytest.param("รับ", "year=2569&month=0", 400, "bad_month", id="month-0"),
    pytest.param("รับ", "year=2569&month=-1", 400, "bad_month", id="negative-month"),
    pytest.param("รับ", "year=2569&format=docx", 400, "bad_format", id="unknown-format"),
    pytest.param("บันทึก", "year=2569", 400, "unknown_series", id="unknown-series"),
    pytest.param("รับ", "year=2569&owner=เชียงใหม่", 400, "bad_owner", id="owner-not-a-code"),
    pytest.param("รับ", "year=2569&owner=ขก 0017", 404, "not_found", id="owner-not-ours"),
]


@pytest.mark.parametrize(("series", "query", "status", "error"), BAD_REQUESTS)
def test_bad_print_requests_are_refused_in_json(
    node: Node, series: str, query: str, status: int, error: str
) -> None:
    resp = get(node, f"/api/registers/{quote(series)}/print?{query}")
    refused(resp, status, error)


def test_a_unit_of_the_office_prints_its_own_register(node: Node) -> None:
    node.call("POST", "/api/units", {"code": "ชม 0017.3", "name": "กลุ่มงานอำนวยการ"}, ok=201)
    body = text(register_pdf(node, "ส่ง", "year=2569&owner=" + quote("ชม 0017.3")))
    assert "กลุ่มงานอำนวยการ (ชม 0017.3)" in body and "ไม่มีรายการ" in body


# -- the stamped copy ------------------------------------------------------------------------


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def stamped(node: Node, letter_id: int, sha: str, **headers: str) -> Any:
    return get(node, f"/api/letters/{letter_id}/attachments/{sha}/stamped", **headers)


def test_paper_scan_is_stamped_and_the_stored_scan_is_unchanged(node: Node) -> None:
    content = small_pdf()
    letter = paper_letter(node, "ขอความอนุเคราะห์ข้อมูล", attachments=[scan(content)])
    blob = node.instance / "blobs" / sha256(content)[:2] / sha256(content)
    resp = stamped(node, letter["id"], sha256(content))
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    first_page = PdfReader(io.BytesIO(resp.data)).pages[0].extract_text()
    assert "Letter from Chiang Rai" in first_page and OFFICE_NAME in first_page
    assert f"เลขรับ {letter['receipt_number']}" in first_page
    assert "20 ตุลาคม 2569" in first_page and "10.00 น." in first_page
    assert blob.read_bytes() == content and sha256(blob.read_bytes()) == sha256(content)
    listed = json.loads(node.rows("SELECT attachments FROM letters")[0]["attachments"])
    assert [a["sha256"] for a in listed] == [sha256(content)]


def test_stamping_a_scan_that_is_not_a_readable_pdf_is_a_400(node: Node) -> None:
    image = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    damaged = small_pdf()[:-400]
    letter = paper_letter(
        node,
        "หนังสือที่สแกนมาเป็นภาพ",
        attachments=[scan(image, "scan.png", "image/png"), scan(damaged, "broken.pdf")],
    )
    for content in (image, damaged):
        refused(stamped(node, letter["id"], sha256(content)), 400, "bad_pdf")
    refused(stamped(node, letter["id"], "0" * 64), 404, "not_found")
    refused(stamped(node, 999, sha256(image)), 404, "not_found")


def test_a_classified_scan_is_stamped_only_for_those_who_may_open_it(node: Node) -> None:
    content = small_pdf("Secret plan")
    letter = paper_letter(node, "แผนลับ", secrecy="ลับ", attachments=[scan(content)])
    refused(stamped(node, letter["id"], sha256(content), **CLERK), 404, "not_found")
    assert stamped(node, letter["id"], sha256(content), **REGISTRAR).status_code == 200


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[Federation]:
    with federation(tmp_path, Clock(bangkok(11, 18, 9, 0))) as f:
        yield f


def test_electronic_letter_is_stamped_after_registration_with_its_receipt_number(
    fed: Federation,
) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    content = small_pdf()
    cr.send(recipients=[CHIANG_MAI], subject="ขอเชิญประชุม", attachments=[scan(content, "เชิญ.pdf")])
    assert cr.sync().ok and cm.sync().ok
    letter_id = cm.inbox()[0]["id"]
    refused(stamped(cm, letter_id, sha256(content)), 409, "conflict")  # not registered yet
    fed.clock.advance(95 * 60)
    receipt = cm.call("POST", f"/api/letters/{letter_id}/register", {})
    resp = stamped(cm, letter_id, sha256(content))
    assert resp.status_code == 200
    page = PdfReader(io.BytesIO(resp.data)).pages[0].extract_text()
    assert f"เลขรับ {receipt['receipt_number']}" in page and OFFICE_NAME in page
    assert "18 พฤศจิกายน 2569" in page and "10.35 น." in page
    blob = cm.instance / "blobs" / sha256(content)[:2] / sha256(content)
    assert sha256(blob.read_bytes()) == sha256(content)
    register = register_pdf(cm, "รับ")
    row = ("1", "ชร 0017/1", "18 พฤศจิกายน 2569", "สำนักงานจังหวัดเชียงราย", OFFICE_NAME)
    assert has_row(register, *row)  # ถึง: this office, by its name
    assert has_row(register, "ขอเชิญประชุม", "ลงรับแล้ว", "", "18 พฤศจิกายน 2569 10.35 น.")


# -- the command line ------------------------------------------------------------------------


def test_cli_prints_exports_and_stamps(
    node: Node, received: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = small_pdf()
    letter = paper_letter(node, "ขอความอนุเคราะห์ข้อมูล", attachments=[scan(content)])
    instance = ["--instance", str(node.instance)]
    pdf_out, xlsx_out, stamp_out = (tmp_path / n for n in ("รับ.pdf", "รับ.xlsx", "stamped.pdf"))
    assert (
        saraban(
            [
                "register",
                "print",
                "--series",
                "รับ",
                "--year",
                "2569",
                "--month",
                "11",
                "-o",
                str(pdf_out),
                *instance,
            ]
        )
        == 0
    )
    assert str(pdf_out) in capsys.readouterr().out
    assert "ขอส่งรายงานผลการดำเนินงานประจำปี" in text(pdf_out.read_bytes())
    assert (
        saraban(
            [
                "register",
                "export",
                "--series",
                "รับ",
                "--year",
                "2569",
                "-o",
                str(xlsx_out),
                *instance,
            ]
        )
        == 0
    )
    assert load_workbook(xlsx_out).active["A1"].value == "ทะเบียนหนังสือรับ"
    assert (
        saraban(
            [
                "letter",
                "stamp",
                str(letter["id"]),
                "--attachment",
                sha256(content),
                "-o",
                str(stamp_out),
                *instance,
            ]
        )
        == 0
    )
    assert OFFICE_NAME in PdfReader(stamp_out).pages[0].extract_text()
    capsys.readouterr()
    code = saraban(
        [
            "register",
            "print",
            "--series",
            "บันทึก",
            "--year",
            "2569",
            "-o",
            str(tmp_path / "x.pdf"),
            *instance,
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("saraban:")
    assert "unknown_series" in err[0] and not (tmp_path / "x.pdf").exists()
