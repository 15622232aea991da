"""What clerks found in their first week on the clerk's pages, driven in-process against real
SQLite files (the browser tests in tests/test_web_clerk_pages_browser.py show the same to
the eye): /status in Thai with the site's look and Bangkok Buddhist-era times, เรื่อง over
its limit refused in Thai and never cut, dates read as clerks type them and said back,
people and offices by name, the speed class said one way, and the node's own icon."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_node_offline import deliver
from test_node_support import Federation, Node, PaperHub, offline_node, publish
from test_web_letters import hand_back
from web_support import add_users, form_tokens, login, post_form, refused_page

from protocol.limits import MAX_SUBJECT

DECEMBER_FIRST_TH = "1 ธันวาคม 2569"
PAPER = {
    "number": "ชม 5201/77",
    "origin": "สำนักงานประชาสัมพันธ์จังหวัดเชียงใหม่",
    "subject": "ขอเชิญร่วมงานวันพ่อแห่งชาติ",
    "letter_type": "ภายนอก",
    "sub_type": "",
    "speed": "",
}


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Node, Node]:
    clock, paper = Clock(), PaperHub()
    cm = offline_node(tmp_path, CHIANG_MAI, paper, clock)
    cr = offline_node(tmp_path, CHIANG_RAI, paper, clock)
    publish(paper, cm, cr)
    add_users(cm)
    add_users(cr)
    return cm, cr


def text(resp: Any) -> str:
    return str(resp.get_data(as_text=True))


def paper_form(client: FlaskClient, **fields: str) -> Any:
    data = {**PAPER, **fields, **form_tokens(client, "/paper/new")}
    data["scan"] = [(io.BytesIO(b""), "")]
    return client.post("/paper/new", data=data, content_type="multipart/form-data")


def letters(node: Node) -> int:
    return int(node.rows("SELECT COUNT(*) AS n FROM letters")[0]["n"])


def dd(page: str, term: str) -> str:
    """The text of the ``<dd>`` after ``<dt>term</dt>`` in a details list."""
    match = re.search(rf"<dt>{re.escape(term)}</dt>\s*<dd[^>]*>(.*?)</dd>", page, re.S)
    assert match, f"no {term} in the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


# -- /status -------------------------------------------------------------------------------


def test_status_page_is_thai_in_the_sites_look_with_bangkok_buddhist_era_time(
    fed: Federation,
) -> None:
    cr, cm = fed.node(CHIANG_RAI), fed.node(CHIANG_MAI)
    assert cr.sync().ok and cm.sync().ok
    cm.send(recipients=[CHIANG_RAI], subject="ทดสอบหน้าสถานะ")
    page = text(cm.app.test_client().get("/status"))
    assert "saraban.css" in page and 'class="top"' in page  # the clerk's pages' layout
    assert "<h1>สถานะระบบ</h1>" in page
    # the clock starts at 2026-11-18 11:06 UTC, which is 18.06 in Bangkok
    assert dd(page, "ส่ง-รับสำเร็จล่าสุด").startswith("18 พฤศจิกายน 2569 เวลา 18.06 น.")
    assert dd(page, "สถานะ") == "เชื่อมต่อศูนย์กลางได้"
    assert dd(page, "หนังสือรอส่ง (ที่เจ้าหน้าที่ส่ง)") == "1 รายการ"
    assert dd(page, "ซองเอกสารทั้งหมดที่รอส่ง").startswith("2 ซอง")  # the letter and its register entry
    shown = re.sub(r"<[^>]+>", " ", page)
    assert "outbox" not in shown and "2026-11-18" not in shown and "11.06" not in shown


def test_the_header_names_the_office_in_thai_with_its_code(pair: tuple[Node, Node]) -> None:
    cm, _ = pair
    name = cm.rows("SELECT name FROM units WHERE code = ?", (CHIANG_MAI,))[0]["name"]
    assert name != CHIANG_MAI  # the seed names the provincial hall
    page = text(login(cm).get("/"))
    shown = re.search(r'<span class="office">(.*?)</span>', page, re.S)
    assert shown, "no office in the header"
    assert re.sub(r"<[^>]+>", "", shown.group(1)).split() == [*name.split(), *CHIANG_MAI.split()]


# -- เรื่อง and its limit -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/compose", "/paper/new"])
def test_subject_field_names_its_limit_and_does_not_cut(pair: tuple[Node, Node], path: str) -> None:
    page = text(login(pair[1]).get(path))
    field = re.search(r'<input id="subject"[^>]*>', page)
    assert field and "maxlength" not in field.group(0)
    assert f"ไม่เกิน {MAX_SUBJECT:,} ตัวอักษร" in page


def test_a_subject_over_the_limit_is_refused_in_thai_kept_whole_and_nothing_is_saved(
    pair: tuple[Node, Node],
) -> None:
    cm = pair[0]
    clerk, subject = login(cm), "ขอเชิญประชุม" + "ก" * MAX_SUBJECT
    before = letters(cm)
    resp = post_form(
        clerk,
        "/compose",
        {"action": "save", "letter_type": "ภายนอก", "subject": subject},
        "/compose",
    )
    page = refused_page(resp, 400, f"เรื่องยาวเกิน 500 ตัวอักษร (พิมพ์มา {len(subject)} ตัวอักษร)")
    assert f'value="{subject}"' in page  # what was typed, whole, to shorten
    assert letters(cm) == before

    paper = refused_page(paper_form(login(pair[1]), subject=subject), 400, "เรื่องยาวเกิน 500")
    assert f'value="{subject}"' in paper and letters(pair[1]) == 0


# -- dates as clerks type them ---------------------------------------------------------------


@pytest.mark.parametrize("typed", ["1 ธ.ค. 69", "1/12/69", "1/12/2569", "๑ ธ.ค. ๒๕๖๙"])
def test_paper_letter_date_typed_as_clerks_type_it_is_registered_and_said_back(
    pair: tuple[Node, Node], typed: str
) -> None:
    cr = pair[1]
    clerk = login(cr)
    resp = paper_form(clerk, letter_date=typed)
    assert resp.status_code == 302, text(resp)
    row = cr.rows("SELECT letter_date, letter_day FROM letters")[0]
    assert row == {"letter_date": DECEMBER_FIRST_TH, "letter_day": "2026-12-01"}
    page = text(clerk.get(resp.headers["Location"]))
    assert f"ลงรับแล้ว เลขรับ 1 ลงวันที่ {DECEMBER_FIRST_TH}" in page
    assert dd(page, "ลงวันที่") == DECEMBER_FIRST_TH


def test_the_form_says_back_the_date_it_read_when_another_field_is_refused(
    pair: tuple[Node, Node],
) -> None:
    resp = paper_form(login(pair[1]), letter_date="1/12/69", origin="")
    page = refused_page(resp, 400, "กรุณากรอกหน่วยงานผู้ส่ง")
    said = re.search(r'<output class="understood"[^>]*>(.*?)</output>', page, re.S)
    assert said and said.group(1) == f"ระบบอ่านว่า {DECEMBER_FIRST_TH}"


def test_an_impossible_date_is_refused_in_thai_and_stores_nothing(pair: tuple[Node, Node]) -> None:
    cr = pair[1]
    resp = paper_form(login(cr), letter_date="31/2/69")
    page = refused_page(resp, 400, "ลงวันที่: ไม่มีวันที่ 31 กุมภาพันธ์ 2569 ในปฏิทิน")
    assert 'value="31/2/69"' in page and 'class="understood bad"' in page
    assert letters(cr) == 0 and cr.rows("SELECT COUNT(*) AS n FROM register_entries")[0]["n"] == 0


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("1/12/69", {"ok": True, "text": f"ระบบอ่านว่า {DECEMBER_FIRST_TH}", "iso": "2026-12-01"}),
        ("31/2/69", {"ok": False, "text": "ไม่มีวันที่ 31 กุมภาพันธ์ 2569 ในปฏิทิน"}),
        ("1/13/69", {"ok": False, "text": "ไม่มีเดือนที่ 13 (เดือนต้องเป็น 1 ถึง 12)"}),
        ("พรุ่งนี้", {"ok": False}),
    ],
)
def test_the_date_reader_of_the_forms_answers_what_it_read(
    pair: tuple[Node, Node], typed: str, answer: dict[str, Any]
) -> None:
    resp = login(pair[1]).get("/dates/read", query_string={"text": typed})
    assert resp.status_code == 200
    got = resp.get_json()
    assert {k: got[k] for k in answer} == answer
    if not got["ok"]:
        assert any("\u0e00" <= c <= "\u0e7f" for c in got["text"])


def test_the_date_reader_is_for_signed_in_users_only(pair: tuple[Node, Node]) -> None:
    resp = pair[1].app.test_client().get("/dates/read?text=1/12/69")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_search_reads_a_typed_range_and_says_it_back(pair: tuple[Node, Node]) -> None:
    resp = login(pair[1]).get("/search", query_string={"q": "ประชุม", "from": "1/11/69"})
    assert resp.status_code == 200
    assert "ระบบอ่านว่า 1 พฤศจิกายน 2569" in text(resp)


# -- names, the sender, the speed class ------------------------------------------------------


def _assigned_letter(pair: tuple[Node, Node]) -> tuple[int, int]:
    """A letter composed at ชม on its page, registered at ชร, minuted by the boss and
    assigned to มานะ (officer) on the letter's page. Its ids at ชม and at ชร."""
    cm, cr = pair
    sent = post_form(
        login(cm),
        "/compose",
        {
            "action": "send",
            "letter_type": "ภายนอก",
            "subject": "ขอเชิญประชุม",
            "recipients": CHIANG_RAI,
        },
        "/compose",
    )
    letter_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    arrived = deliver(cm, cr, PaperHub(), letter_id)
    path = f"/letters/{arrived}"
    assert post_form(login(cr), f"{path}/register", {}, path).status_code == 302
    boss = login(cr, "boss")
    assert post_form(boss, f"{path}/minute", {"minute_text": "ดำเนินการ"}, path).status_code == 302
    assert post_form(boss, f"{path}/assign", {"assign_to": "officer"}, path).status_code == 302
    hand_back(cr, cm)
    return letter_id, arrived


def test_history_and_holder_name_people_not_login_names(pair: tuple[Node, Node]) -> None:
    _, arrived = _assigned_letter(pair)
    officer = login(pair[1], "officer")
    page = text(officer.get(f"/letters/{arrived}"))
    assert dd(page, "อยู่กับ") == "มานะ ผู้ปฏิบัติ"
    history = page[page.index('id="history-h"') :]
    assert "ลงรับ</strong> โดย สมศรี ธุรการ" in history
    assert "มอบหมาย</strong> โดย ประยุทธ หัวหน้าสำนักงาน" in history
    assert "ถึง: มานะ ผู้ปฏิบัติ" in history
    for login_name in ("somsri", "boss", "officer"):
        assert login_name not in re.sub(r"<[^>]+>", " ", page)
    home = text(officer.get("/"))
    assert '<td data-label="มอบหมายถึง">มานะ ผู้ปฏิบัติ</td>' in home


def test_the_sender_is_named_once_under_from(pair: tuple[Node, Node]) -> None:
    letter_id, _ = _assigned_letter(pair)
    page = text(login(pair[0]).get(f"/letters/{letter_id}"))
    assert dd(page, "จาก") == "สำนักงานจังหวัดเชียงใหม่ (ชม 0017)"
    history = page[page.index('id="history-h"') :]
    assert "โดย สำนักงานจังหวัดเชียงราย" in history or "โดย ชร 0017" in history


def test_a_letter_without_a_speed_class_says_normal_everywhere(pair: tuple[Node, Node]) -> None:
    _, arrived = _assigned_letter(pair)
    for user, path in (("somsri", "/letters/inbox?state=all"), ("officer", "/")):
        page = text(login(pair[1], user).get(path))
        cells = re.findall(r'<td data-label="ชั้นความเร็ว">(.*?)</td>', page)
        assert cells and set(cells) == {"ปกติ"}, (path, cells)
    letter = text(login(pair[1]).get(f"/letters/{arrived}"))
    assert dd(letter, "ชั้นความเร็ว") == "ปกติ"


# -- the icon ----------------------------------------------------------------------------------


def test_the_node_serves_its_own_icon_and_every_page_links_it(pair: tuple[Node, Node]) -> None:
    client = login(pair[1])
    page = text(client.get("/"))
    link = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)">', page)
    assert link and link.group(1).startswith("/static/")
    for path in (link.group(1), "/favicon.ico"):
        resp = pair[1].app.test_client().get(path)
        assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
        assert resp.get_data().startswith(b"<svg") and b"http" not in resp.get_data()[40:]
