"""The search page (ค้นหาหนังสือ), driven in-process: words and letter numbers as clerks type
them, the filters, paging, bad values answered in Thai, and classified letters kept from
those who may not open them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from markupsafe import escape
from support import CHIANG_MAI, CHIANG_RAI
from test_node_support import Node, office_knowing, paper_letter
from web_support import add_users, login

from node.search.query import MAX_QUERY_CHARS

NOT_FOUND = "ไม่พบหนังสือที่ตรงกับคำค้น"


@pytest.fixture
def node(tmp_path: Path) -> Node:
    cm = office_knowing(tmp_path, CHIANG_MAI, CHIANG_RAI)
    add_users(cm)
    return cm


@pytest.fixture
def letters(node: Node) -> dict[str, dict[str, Any]]:
    """An urgent letter sent, and two paper letters received (one a circular)."""
    return {
        "flood": node.send(
            recipients=[CHIANG_RAI],
            subject="ขอเชิญประชุมคณะกรรมการป้องกันอุทกภัย",
            speed="ด่วนที่สุด",
        ),
        "survey": paper_letter(
            node,
            "ขอความร่วมมือสำรวจข้อมูลผู้สูงอายุ",
            number="ชร 0017.3/ว 456",
            letter_date="5 พฤศจิกายน 2569",
        ),
        "report": paper_letter(
            node, "ขอส่งรายงานการประชุมประจำเดือน", number="ชร 0017/88", letter_date="1 ตุลาคม 2569"
        ),
    }


def search(client: Any, **params: str) -> tuple[int, str]:
    resp = client.get(f"/search?{urlencode(params)}")
    return resp.status_code, resp.get_data(as_text=True)


def subjects(page: str) -> list[str]:
    """The subjects of the results, in order (each links to its letter page)."""
    return re.findall(r'<a href="/letters/\d+">([^<]*)</a>', page)


def test_search_needs_a_login(node: Node) -> None:
    resp = node.app.test_client().get("/search?q=ประชุม")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"


def test_search_page_has_a_labelled_form_and_no_results_yet(node: Node) -> None:
    status, page = search(login(node))
    assert status == 200 and "ค้นหาหนังสือ" in page
    for name in ("q", "f-type", "f-sub_type", "f-speed", "f-secrecy", "f-series", "f-status"):
        assert f'for="{name}"' in page and f'id="{name}"' in page
    assert 'for="f-from"' in page and 'for="f-to"' in page
    assert "ผลการค้นหา" not in page and NOT_FOUND not in page


def test_finds_a_letter_by_thai_words_and_links_to_it(
    node: Node, letters: dict[str, dict[str, Any]]
) -> None:
    status, page = search(login(node), q="อุทกภัย")
    assert status == 200
    assert subjects(page) == ["ขอเชิญประชุมคณะกรรมการป้องกันอุทกภัย"]
    assert f'href="/letters/{letters["flood"]["id"]}"' in page
    assert "พบ 1 รายการ" in page
    assert '<span class="speed">ด่วนที่สุด</span>' in page
    assert "ชม 0017/1" in page and "สำนักงานจังหวัดเชียงใหม่" in page  # ที่ and จาก


def test_every_word_must_match(node: Node, letters: dict[str, dict[str, Any]]) -> None:
    client = login(node)
    assert set(subjects(search(client, q="ขอ ประชุม")[1])) == {
        "ขอเชิญประชุมคณะกรรมการป้องกันอุทกภัย",
        "ขอส่งรายงานการประชุมประจำเดือน",
    }
    assert subjects(search(client, q="ประชุม ผู้สูงอายุ")[1]) == []


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("ชร 0017.3/ว 456", id="canonical"),
        pytest.param("ชร0017.3/ว456", id="no-spaces"),
        pytest.param("ชร ๐๐๑๗.๓/ว. ๔๕๖", id="thai-digits"),
        pytest.param("0017.3/ว 456", id="fragment"),
    ],
)
def test_finds_a_letter_by_its_number_as_clerks_type_it(
    node: Node, letters: dict[str, dict[str, Any]], typed: str
) -> None:
    status, page = search(login(node), q=typed)
    assert status == 200
    assert subjects(page) == ["ขอความร่วมมือสำรวจข้อมูลผู้สูงอายุ"]
    assert "ชร 0017.3/ว 456" in page and "5 พฤศจิกายน 2569" in page


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"direction": "in"}, ["ขอส่งรายงาน", "ขอความร่วมมือ"], id="received"),
        pytest.param({"direction": "out"}, ["ขอเชิญประชุม"], id="sent"),
        pytest.param({"speed": "ด่วนที่สุด"}, ["ขอเชิญประชุม"], id="speed"),
        pytest.param({"series": "รับ"}, ["ขอส่งรายงาน", "ขอความร่วมมือ"], id="series"),
        pytest.param({"status": "registered"}, ["ขอส่งรายงาน", "ขอความร่วมมือ"], id="status"),
        pytest.param(
            {"from": "1/11/2569", "to": "10 พฤศจิกายน 2569"}, ["ขอความร่วมมือ"], id="dates-be"
        ),
        pytest.param({"q": "ขอ", "to": "๓๑/๑๐/๒๕๖๙"}, ["ขอส่งรายงาน"], id="words-and-date"),
        pytest.param({"type": "สั่งการ"}, [], id="type"),
    ],
)
def test_filters_narrow_the_results(
    node: Node, letters: dict[str, dict[str, Any]], params: dict[str, str], expected: list[str]
) -> None:
    status, page = search(login(node), **params)
    assert status == 200
    found = subjects(page)
    assert len(found) == len(expected) and all(
        s.startswith(e) for s, e in zip(found, expected, strict=True)
    ), found
    if not expected:
        assert NOT_FOUND in page
    for name, value in params.items():  # the form keeps what was chosen
        if name in ("speed", "series", "status", "direction", "type"):
            assert f'<option value="{value}" selected>' in page


def test_an_empty_search_lists_every_letter_newest_first(
    node: Node, letters: dict[str, dict[str, Any]]
) -> None:
    status, page = search(login(node), q="")
    assert status == 200 and "พบ 3 รายการ" in page
    assert [s[:8] for s in subjects(page)] == ["ขอส่งราย", "ขอความร่", "ขอเชิญปร"]


def test_results_are_paged(node: Node, letters: dict[str, dict[str, Any]]) -> None:
    client = login(node)
    status, first = search(client, q="ขอ", per_page="2")
    assert status == 200 and len(subjects(first)) == 2 and "พบ 3 รายการ" in first
    assert 'class="pager"' in first and "ถัดไป" in first and "ก่อนหน้า" not in first
    next_url = re.search(r'<a href="([^"]+)" rel="next">ถัดไป</a>', first)
    assert next_url
    second = client.get(next_url.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert len(subjects(second)) == 1 and "ก่อนหน้า" in second and "ถัดไป" not in second
    assert set(subjects(first)).isdisjoint(subjects(second))


def test_nothing_found_says_so(node: Node, letters: dict[str, dict[str, Any]]) -> None:
    status, page = search(login(node), q="ไม่มีเรื่องนี้แน่นอน")
    assert status == 200 and NOT_FOUND in page and subjects(page) == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"from": "31/2/2569"}, "ไม่มีวันที่ 31 กุมภาพันธ์ 2569 ในปฏิทิน", id="no-such-day"),
        pytest.param({"from": "1/11/1800"}, "อยู่นอกช่วงที่รับได้", id="year-out-of-range"),
        pytest.param({"to": "เมื่อวาน"}, "อ่านวันที่ไม่ได้", id="unreadable-date"),
        pytest.param(
            {"from": "30/11/2569", "to": "1/11/2569"},
            "วันที่เริ่มต้นต้องไม่อยู่หลังวันที่สิ้นสุด",
            id="range-backwards",
        ),
        pytest.param({"speed": "เร็วมาก"}, "ไม่รู้จักชั้นความเร็ว", id="speed"),
        pytest.param({"series": "ลับสุด"}, "ไม่รู้จักทะเบียน", id="series"),
        pytest.param({"status": "หายไป"}, "ไม่รู้จักสถานะของหนังสือ", id="status"),
        pytest.param({"direction": "up"}, "ทิศทางต้องเป็น", id="direction"),
        pytest.param({"page": "สอง"}, "page ต้องเป็นตัวเลข", id="page"),
        pytest.param({"q": "ก" * (MAX_QUERY_CHARS + 1)}, "คำค้นยาวเกิน", id="query-too-long"),
        pytest.param({"colour": "แดง"}, "ไม่รู้จักเงื่อนไขการค้นหา", id="unknown-parameter"),
    ],
)
def test_bad_filter_values_are_a_thai_message_and_400(
    node: Node, params: dict[str, str], message: str
) -> None:
    status, page = search(login(node), **{"q": "ประชุม", **params})
    assert status == 400, page
    assert message in page and 'role="alert"' in page and "Traceback" not in page
    assert subjects(page) == []
    assert 'id="q"' in page  # the form is shown again to correct


def test_the_form_keeps_typed_dates_after_an_error(node: Node) -> None:
    status, page = search(login(node), q="ประชุม", **{"from": "31/2/2569"})
    assert status == 400
    assert 'value="31/2/2569"' in page and 'value="ประชุม"' in page
    assert '<details class="search-filters" open>' in page


def test_html_in_a_subject_is_shown_escaped(node: Node) -> None:
    subject = '<script>alert("x")</script><b>ตัวหนาเรื่องพิเศษ</b>'
    paper_letter(node, subject)
    status, page = search(login(node), q="ตัวหนาเรื่องพิเศษ")
    assert status == 200 and str(escape(subject)) in page
    assert "<script>alert" not in page and "<b>ตัวหนา" not in page


def test_html_typed_into_the_search_is_shown_escaped(node: Node) -> None:
    typed = '"><script>alert(1)</script>'
    status, page = search(login(node), q=typed)
    assert status == 200 and "<script>alert(1)" not in page
    assert str(escape(typed)) in page


def test_classified_letter_is_hidden_from_a_clerk_and_found_by_the_registrar(node: Node) -> None:
    paper_letter(node, "แผนรักษาความปลอดภัยสถานที่ราชการ", secrecy="ลับ", number="ชร 0017/77")
    for q in ("แผนรักษาความปลอดภัย", "ชร 0017/77"):
        status, page = search(login(node), q=q)
        assert status == 200 and NOT_FOUND in page and subjects(page) == []
        status, page = search(login(node, "registrar"), q=q)
        assert subjects(page) == ["แผนรักษาความปลอดภัยสถานที่ราชการ"]
        assert '<span class="tag secret">ลับ</span>' in page
    status, page = search(login(node), secrecy="ลับ")
    assert status == 200 and NOT_FOUND in page
