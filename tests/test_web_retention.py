"""The retention pages, driven in-process: kept letters with เก็บถึง พ.ศ., letters due for
destruction, loans, the yearly destruction list from proposal through the committee's
approval to destruction, and the 20-year list.

Letters are made in 2000 (พ.ศ. 2543) and kept ten years; the clock then stands on
20 January 2011 (พ.ศ. 2554), when they are due, and the users are made.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from openpyxl import load_workbook
from test_node_support import Node
from test_retention import at, keep, make_node, paper_letter
from web_support import add_users, login, post_form

FORGED = "แบบฟอร์มไม่ถูกต้อง"
COMMITTEE = {
    "chair": "นายประเสริฐ มั่นคง",
    "members": "นางสาวสมศรี ดีงาม\nนายวิชัย ใจกว้าง",
    "archives_ref": "หจช 0301/123",
    "decided_at": "20 มกราคม 2554",
}


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_node(tmp_path)


@pytest.fixture(autouse=True)
def letters(node: Node) -> dict[str, int]:
    """The kept letters by name; afterwards the clock stands in early 2554."""
    ids = {
        "budget": paper_letter(node, "ขอรับการสนับสนุนงบประมาณ", number="ทป 0101/55"),
        "copy": paper_letter(node, "ส่งสำเนาทะเบียนบ้าน", number="ทป 0101/56"),
        "forever": paper_letter(node, "พระราชกฤษฎีกาจัดตั้งจังหวัด", number="ทป 0101/58"),
        "secret": paper_letter(node, "ข้อมูลการข่าวชายแดน", number="ทป 0101/60", secrecy="ลับ"),
    }
    for name, lid in ids.items():
        keep(node, lid, retention="never" if name == "forever" else "10")
    node.clock.t = at(2011, 1, 20)
    add_users(node)
    return ids


@pytest.fixture
def clerk(node: Node) -> FlaskClient:
    return login(node, "somsri")


def counts(node: Node) -> dict[str, Any]:
    tables = ("loans", "destruction_lists", "destruction_items", "audit")
    out: dict[str, Any] = {t: node.rows(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in tables}
    out["letters"] = node.rows("SELECT id, keep_until, destroyed_at, body FROM letters")
    out["lists"] = node.rows("SELECT id, state, chair FROM destruction_lists")
    return out


def text(resp: Any) -> str:
    return str(resp.get_data(as_text=True))


def propose(client: FlaskClient, year: str = "2554") -> int:
    resp = post_form(client, "/retention/lists", {"year": year}, "/retention/lists")
    assert resp.status_code == 302, text(resp)
    return int(resp.headers["Location"].rsplit("/", 1)[1])


# ---- kept letters and what is due -------------------------------------------------------


def test_kept_letters_show_the_year_they_are_kept_until_and_hide_classified_subjects(
    node: Node, clerk: FlaskClient
) -> None:
    page = text(clerk.get("/retention"))
    assert "หนังสือที่จัดเก็บ" in page and "ขอรับการสนับสนุนงบประมาณ" in page
    assert "เก็บถึง พ.ศ. 2553" in page and "ห้ามทำลาย" in page
    assert "เก็บเมื่อปฏิบัติเสร็จ" in page and "ทป 0101/55" in page
    assert "ข้อมูลการข่าวชายแดน" not in page and "(หนังสือชั้นความลับ ลับ)" in page
    registrar = text(login(node, "registrar").get("/retention"))
    assert "ข้อมูลการข่าวชายแดน" in registrar


@pytest.mark.parametrize("username", ["officer", "boss"])
def test_roles_without_the_retention_permission_get_a_thai_403(node: Node, username: str) -> None:
    client = login(node, username)
    for path in ("/retention", "/retention/loans", "/retention/lists", "/retention/archives"):
        resp = client.get(path)
        assert resp.status_code == 403 and "คุณไม่มีสิทธิ์ใช้งานส่วนนี้" in text(resp)
    before = counts(node)
    assert post_form(client, "/retention/lists", {"year": "2554"}).status_code == 403
    assert counts(node) == before


def test_due_page_lists_expired_letters_but_never_the_forbidden_ones(clerk: FlaskClient) -> None:
    page = text(clerk.get("/retention/due?year=2554"))
    assert "ขอรับการสนับสนุนงบประมาณ" in page and "ส่งสำเนาทะเบียนบ้าน" in page
    assert "พระราชกฤษฎีกาจัดตั้งจังหวัด" not in page
    assert "จัดทำบัญชีหนังสือขอทำลาย ประจำปี พ.ศ. 2554" in page
    assert "ไม่มีหนังสือที่ครบกำหนดเก็บ" in text(clerk.get("/retention/due?year=2553"))
    bad = clerk.get("/retention/due?year=abc")
    assert bad.status_code == 400 and "ปีต้องเป็นปีพุทธศักราช" in text(bad)
    assert clerk.get("/retention/due?year=2020").status_code == 400


# ---- loans ----------------------------------------------------------------------------------


def test_clerk_lends_a_letter_by_its_number_and_records_its_return(
    node: Node, clerk: FlaskClient, letters: dict[str, int]
) -> None:
    form = {"letter": "ทป ๐๑๐๑/๕๕", "borrower": "นางสาวสุดา ใจดี", "due": "25 มกราคม 2554"}
    resp = post_form(clerk, "/retention/loans", form, "/retention/loans")
    assert resp.status_code == 302
    page = text(clerk.get("/retention/loans"))
    assert "บันทึกการยืมแล้ว: นางสาวสุดา ใจดี กำหนดคืน 25 มกราคม 2554" in page
    assert "ขอรับการสนับสนุนงบประมาณ" in page and "นางสาวสุดา ใจดี" in page

    node.clock.t = at(2011, 1, 28)
    clerk = login(node, "somsri")
    assert "เลยกำหนด 3 วัน" in text(clerk.get("/retention/loans"))
    budget = letters["budget"]
    resp = post_form(clerk, f"/retention/loans/{budget}/return", {}, "/retention/loans")
    assert resp.status_code == 302
    page = text(clerk.get("/retention/loans"))
    assert "บันทึกการส่งคืนแล้ว (เลยกำหนด 3 วัน)" in page
    assert "ไม่มีหนังสือที่ถูกยืมอยู่" in page


def test_letter_is_lent_by_its_id_with_the_default_due_date(
    node: Node, clerk: FlaskClient, letters: dict[str, int]
) -> None:
    form = {"letter": str(letters["copy"]), "borrower": "กองคลัง"}
    assert post_form(clerk, "/retention/loans", form, "/retention/loans").status_code == 302
    assert "กำหนดคืน 27 มกราคม 2554" in text(clerk.get("/retention/loans"))


def test_borrower_with_html_is_shown_escaped(node: Node, clerk: FlaskClient) -> None:
    borrower = '<script>alert("x")</script><b>กองคลัง</b>'
    form = {"letter": "ทป 0101/56", "borrower": borrower}
    assert post_form(clerk, "/retention/loans", form, "/retention/loans").status_code == 302
    page = text(clerk.get("/retention/loans"))
    assert str(escape(borrower)) in page and "<script>alert" not in page


BAD_LOANS: dict[str, tuple[dict[str, str], int, str]] = {
    "no_letter": ({"letter": " ", "borrower": "กองคลัง"}, 400, "กรุณากรอกเลขที่หนังสือหรือรหัสหนังสือ"),
    "no_borrower": ({"letter": "ทป 0101/55", "borrower": ""}, 400, "กรุณากรอกชื่อผู้ยืม"),
    "long_borrower": (
        {"letter": "ทป 0101/55", "borrower": "ก" * 201},
        400,
        "ชื่อผู้ยืมยาวเกิน 200 ตัวอักษร",
    ),
    "unknown_number": ({"letter": "ทป 9999/1", "borrower": "กองคลัง"}, 404, "ไม่พบหนังสือเลขที่"),
    "unknown_id": ({"letter": "9999", "borrower": "กองคลัง"}, 404, "ไม่พบหนังสือ"),
    "due_in_past": (
        {"letter": "ทป 0101/55", "borrower": "กองคลัง", "due": "1 มกราคม 2554"},
        400,
        "วันที่กำหนดส่งคืนต้องไม่ก่อนวันนี้",
    ),
    "unreadable_due": (
        {"letter": "ทป 0101/55", "borrower": "กองคลัง", "due": "พรุ่งนี้"},
        400,
        "กำหนดคืน: อ่านวันที่ไม่ได้",
    ),
    "hidden_classified": ({"letter": "ทป 0101/60", "borrower": "กองคลัง"}, 404, "ไม่พบหนังสือ"),
}


@pytest.mark.parametrize("case", sorted(BAD_LOANS))
def test_bad_loan_is_refused_in_thai_keeps_what_was_typed_and_stores_nothing(
    node: Node, clerk: FlaskClient, case: str
) -> None:
    form, status, message = BAD_LOANS[case]
    before = counts(node)
    resp = post_form(clerk, "/retention/loans", form, "/retention/loans")
    page = text(resp)
    assert resp.status_code == status and message in page
    assert f'value="{escape(form["borrower"])}"' in page
    assert counts(node) == before


def test_second_loan_of_a_lent_letter_and_return_of_one_not_lent_are_refused(
    node: Node, clerk: FlaskClient, letters: dict[str, int]
) -> None:
    form = {"letter": "ทป 0101/55", "borrower": "กองคลัง"}
    assert post_form(clerk, "/retention/loans", form, "/retention/loans").status_code == 302
    again = post_form(clerk, "/retention/loans", form, "/retention/loans")
    assert again.status_code == 409 and "หนังสือนี้ถูกยืมอยู่" in text(again)
    copy = letters["copy"]
    back = post_form(clerk, f"/retention/loans/{copy}/return", {}, "/retention/loans")
    assert back.status_code == 409 and "หนังสือนี้ไม่ได้ถูกยืม" in text(back)


@pytest.mark.parametrize(
    "path",
    [
        "/retention/loans",
        "/retention/lists",
        "/retention/lists/1/approve",
        "/retention/lists/1/destroy",
    ],
)
def test_forged_form_is_refused_and_changes_nothing(
    node: Node, clerk: FlaskClient, path: str
) -> None:
    if path != "/retention/lists":
        propose(clerk)
    before = counts(node)
    form = {
        "letter": "ทป 0101/55",
        "borrower": "กองคลัง",
        "year": "2554",
        "confirm": "yes",
        **COMMITTEE,
        "csrf_token": "forged-token",
    }
    resp = clerk.post(path, data=form)
    assert resp.status_code == 400 and FORGED in text(resp)
    assert counts(node) == before


# ---- the destruction list -------------------------------------------------------------------


def test_clerk_proposes_the_yearly_list_and_sees_it_waiting_for_the_committee(
    node: Node, clerk: FlaskClient
) -> None:
    list_id = propose(clerk)
    page = text(clerk.get(f"/retention/lists/{list_id}"))
    assert "จัดทำบัญชีหนังสือขอทำลาย ประจำปี พ.ศ. 2554 แล้ว (3 รายการ)" in page
    assert "บัญชีหนังสือขอทำลาย ประจำปี พ.ศ. 2554" in page and "รอคณะกรรมการพิจารณา" in page
    assert "ขอรับการสนับสนุนงบประมาณ" in page and "(หนังสือชั้นความลับ ลับ)" in page
    assert "พระราชกฤษฎีกาจัดตั้งจังหวัด" not in page
    assert "ทำลายหนังสือตามบัญชี" not in page  # no destroy button before approval
    listing = text(clerk.get("/retention/lists"))
    assert f"บัญชีที่ {list_id}" in listing and "3 รายการ" in listing
    assert f"บัญชีที่ {list_id}" in text(clerk.get("/retention/due?year=2554"))


BAD_PROPOSALS: dict[str, tuple[str, int, str]] = {
    "not_a_year": ("abc", 400, "ปีต้องเป็นปีพุทธศักราช"),
    "too_long": ("2" * 11, 400, "ปี พ.ศ.ยาวเกิน 10 ตัวอักษร"),
    "christian_year": ("2011", 400, "ปีต้องเป็นปีพุทธศักราช"),
    "future": ("2555", 400, "ยังไม่ถึงปีที่ระบุ"),
    "nothing_expired": ("2553", 409, "ไม่มีหนังสือที่ครบกำหนดเก็บก่อนปี พ.ศ. 2553"),
    "script": ("<script>", 400, "ปีต้องเป็นปีพุทธศักราช"),
}


@pytest.mark.parametrize("case", sorted(BAD_PROPOSALS))
def test_bad_proposal_is_refused_in_thai_and_makes_no_list(
    node: Node, clerk: FlaskClient, case: str
) -> None:
    year, status, message = BAD_PROPOSALS[case]
    before = counts(node)
    resp = post_form(clerk, "/retention/lists", {"year": year}, "/retention/lists")
    page = text(resp)
    assert resp.status_code == status and message in page
    assert "<script>" not in page.split("</header>", 1)[1]
    assert counts(node) == before


def test_empty_year_means_this_year(clerk: FlaskClient) -> None:
    list_id = propose(clerk, "")
    assert "ประจำปี พ.ศ. 2554" in text(clerk.get(f"/retention/lists/{list_id}"))


def test_destruction_before_the_committee_approves_is_refused_in_thai(
    node: Node, clerk: FlaskClient
) -> None:
    list_id = propose(clerk)
    before = counts(node)
    path = f"/retention/lists/{list_id}"
    resp = post_form(clerk, f"{path}/destroy", {"confirm": "yes"}, path)
    assert resp.status_code == 409
    assert "ยังไม่ได้รับความเห็นชอบจากคณะกรรมการและหอจดหมายเหตุแห่งชาติ จึงยังทำลายไม่ได้" in text(resp)
    assert counts(node) == before


BAD_APPROVALS: dict[str, tuple[dict[str, str], str]] = {
    "one_member": (
        {**COMMITTEE, "members": "นางสาวสมศรี ดีงาม"},
        "คณะกรรมการต้องมีประธานและกรรมการอย่างน้อยสองคน",
    ),
    "member_twice": (
        {**COMMITTEE, "members": "นายวิชัย ใจกว้าง\nนายวิชัย  ใจกว้าง"},
        "ชื่อต้องไม่ซ้ำกัน",
    ),
    "no_chair": ({**COMMITTEE, "chair": " "}, "กรุณากรอกชื่อประธานกรรมการ"),
    "no_members": ({**COMMITTEE, "members": ""}, "กรุณากรอกชื่อกรรมการ"),
    "long_chair": ({**COMMITTEE, "chair": "ก" * 201}, "ชื่อประธานกรรมการยาวเกิน 200 ตัวอักษร"),
    "no_archives_ref": ({**COMMITTEE, "archives_ref": ""}, "กรุณากรอกเลขที่หนังสือแจ้งความเห็นชอบ"),
    "decided_tomorrow": ({**COMMITTEE, "decided_at": "21 มกราคม 2554"}, "ต้องไม่เกินวันนี้"),
    "unreadable_date": ({**COMMITTEE, "decided_at": "เมื่อวาน"}, "วันที่คณะกรรมการพิจารณา: อ่านวันที่ไม่ได้"),
    "bad_extend_years": ({**COMMITTEE, "extend_years": "สาม"}, "จำนวนปีที่ขยายเวลาเก็บไม่ถูกต้อง"),
    "extend_too_long": ({**COMMITTEE, "extend_years": "100"}, "จำนวนปีที่ขยายเวลาเก็บไม่ถูกต้อง"),
    "script_in_chair": (
        {**COMMITTEE, "chair": "<script>x</script>", "members": "นายวิชัย ใจกว้าง"},
        "คณะกรรมการต้องมีประธาน",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_APPROVALS))
def test_bad_approval_is_refused_in_thai_keeps_what_was_typed_and_changes_nothing(
    node: Node, clerk: FlaskClient, case: str
) -> None:
    list_id = propose(clerk)
    form, message = BAD_APPROVALS[case]
    before = counts(node)
    path = f"/retention/lists/{list_id}"
    resp = post_form(clerk, f"{path}/approve", form, path)
    page = text(resp)
    assert resp.status_code == 400 and message in page
    assert f'value="{escape(form["archives_ref"])}"' in page
    assert "<script>x" not in page
    assert counts(node) == before


@pytest.mark.parametrize(
    ("excluded", "message"),
    [
        ("forever", "หนังสือที่ขอยกเว้นไม่อยู่ในบัญชีหนังสือขอทำลายนี้"),
        ("abc", "รายการหนังสือที่ขอขยายเวลาเก็บไม่ถูกต้อง"),
    ],
)
def test_excluding_a_letter_not_on_the_list_is_refused(
    node: Node, clerk: FlaskClient, letters: dict[str, int], excluded: str, message: str
) -> None:
    list_id = propose(clerk)
    path = f"/retention/lists/{list_id}"
    before = counts(node)
    form = {**COMMITTEE, "excluded": str(letters.get(excluded, excluded))}
    resp = post_form(clerk, f"{path}/approve", form, path)
    assert resp.status_code == 400 and message in text(resp)
    assert counts(node) == before


def test_committee_approves_with_an_exclusion_then_the_letters_are_destroyed(
    node: Node, clerk: FlaskClient, letters: dict[str, int]
) -> None:
    list_id = propose(clerk)
    path = f"/retention/lists/{list_id}"
    copy = letters["copy"]
    form = {**COMMITTEE, "chair": "<b>นายประเสริฐ</b>", "excluded": str(copy), "extend_years": "3"}
    assert post_form(clerk, f"{path}/approve", form, path).status_code == 302
    page = text(clerk.get(path))
    assert "บันทึกความเห็นชอบของคณะกรรมการและหอจดหมายเหตุแห่งชาติแล้ว" in page
    assert "คณะกรรมการพิจารณาแล้ว รอทำลาย" in page and "หจช 0301/123" in page
    assert "นางสาวสมศรี ดีงาม, นายวิชัย ใจกว้าง" in page and "20 มกราคม 2554" in page
    assert str(escape("<b>นายประเสริฐ</b>")) in page and "<b>นายประเสริฐ" not in page
    assert "ขยายเวลาเก็บถึง พ.ศ. 2557" in page

    unconfirmed = post_form(clerk, f"{path}/destroy", {}, path)
    assert unconfirmed.status_code == 400 and "กรุณาทำเครื่องหมายยืนยันการทำลาย" in text(unconfirmed)
    assert (
        node.rows("SELECT COUNT(*) AS n FROM letters WHERE destroyed_at IS NOT NULL")[0]["n"] == 0
    )

    assert post_form(clerk, f"{path}/destroy", {"confirm": "yes"}, path).status_code == 302
    page = text(clerk.get(path))
    assert "ทำลายหนังสือตามบัญชีแล้ว 2 รายการ" in page and "ทำลายแล้ว" in page
    destroyed = node.rows("SELECT id FROM letters WHERE destroyed_at IS NOT NULL ORDER BY id")
    assert [r["id"] for r in destroyed] == [letters["budget"], letters["secret"]]
    kept = text(clerk.get("/retention"))
    assert "ขอรับการสนับสนุนงบประมาณ" not in kept and "เก็บถึง พ.ศ. 2557" in kept
    again = post_form(clerk, f"{path}/destroy", {"confirm": "yes"}, path)
    assert again.status_code == 409 and "ดำเนินการทำลายแล้ว" in text(again)


def test_destruction_list_prints_as_pdf_and_exports_to_excel(clerk: FlaskClient) -> None:
    list_id = propose(clerk)
    pdf = clerk.get(f"/retention/lists/{list_id}/print?format=pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-")
    xlsx = clerk.get(f"/retention/lists/{list_id}/print?format=xlsx")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row]
    assert "ขอรับการสนับสนุนงบประมาณ" in cells and "ข้อมูลการข่าวชายแดน" not in cells
    bad = clerk.get(f"/retention/lists/{list_id}/print?format=docx")
    assert bad.status_code == 400 and "รูปแบบไฟล์ต้องเป็น pdf หรือ xlsx" in text(bad)
    missing = clerk.get("/retention/lists/999")
    assert missing.status_code == 404 and "ไม่พบบัญชีหนังสือขอทำลาย" in text(missing)


# ---- the National Archives ------------------------------------------------------------------


def test_twenty_year_list_shows_old_letters_and_prints(node: Node) -> None:
    node.clock.t = at(2020, 6, 1)
    clerk = login(node, "somsri")
    page = text(clerk.get("/retention/archives?year=2563"))
    assert "บัญชีหนังสือครบ 20 ปี" in page and "พระราชกฤษฎีกาจัดตั้งจังหวัด" in page
    assert "ห้ามทำลาย" in page and "(หนังสือชั้นความลับ ลับ)" in page
    assert "ไม่มีหนังสือที่ครบ 20 ปี" in text(clerk.get("/retention/archives?year=2562"))
    xlsx = clerk.get("/retention/archives/print?year=2563&format=xlsx")
    assert xlsx.status_code == 200
    cells = [
        c
        for r in load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True)
        for c in r
    ]
    assert "พระราชกฤษฎีกาจัดตั้งจังหวัด" in cells
    bad = clerk.get("/retention/archives?year=๒๕x")
    assert bad.status_code == 400 and "ปีต้องเป็นปีพุทธศักราช" in text(bad)
