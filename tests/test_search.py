"""Searching letters as a clerk does: a Thai word in the middle of a subject, two-character
words, a letter number typed three ways, text inside an attached PDF (sent and received
through a real hub), filters and a Buddhist-era date range, pages, classified letters
shown only to the registrar, an index that follows every change to a letter, the
`saraban letter search` command, and bad parameters refused with a Thai message.

Letters are made through the node's API (paper letters, sent letters) on nodes with a
hand-made directory (``offline_node`` + PaperHub), or sent through a real hub
(``federation``); time comes from the test's Clock (18 Nov 2569 Bangkok).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import fontpkg_sarabun
import pytest
from fpdf import FPDF
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_node_support import Federation, Node, office_knowing

from node.records import attachment_text
from node.search import index as searchindex
from scripts.cli.main import main as cli_main

CLERK = {"X-Saraban-User": "malee", "X-Saraban-Roles": "clerk"}
REGISTRAR = {"X-Saraban-User": "somchai", "X-Saraban-Roles": "registrar"}
NUMBER = "ชม 0017.3/ว 456"
PDF_WORDS = "ผู้ประสานงานนางสาวพิมพ์ชนก"


@pytest.fixture
def cr(tmp_path: Path, clock: Clock) -> Node:
    """ชร 0017, which receives paper letters and knows ชม 0017 from its directory."""
    return office_knowing(tmp_path, CHIANG_RAI, CHIANG_MAI, clock=clock)


def paper_letter(node: Node, subject: str, **fields: Any) -> int:
    """ลงรับหนังสือกระดาษ through the API; return the letter's id."""
    fields.setdefault("origin", "สำนักงานจังหวัดเชียงใหม่")
    created = node.call("POST", "/api/paper-letters", {"subject": subject, **fields}, ok=201)
    return int(created["id"])


def find(
    node: Node, q: str = "", headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    """GET /api/search as the given viewer (the node's operator by default)."""
    query = urlencode({"q": q, **params})
    resp = node.client.get(f"/api/search?{query}", headers={**node.headers, **(headers or {})})
    assert resp.status_code == 200, resp.get_json()
    data: dict[str, Any] = resp.get_json()
    return data


def ids(page: dict[str, Any]) -> list[int]:
    return [hit["id"] for hit in page["items"]]


def thai_pdf(text: str) -> bytes:
    """A one-page PDF of Thai text in Sarabun, shaped, as an office would scan-print it."""
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("Sarabun", "", str(fontpkg_sarabun.ROOT / "files" / "Sarabun-Regular.ttf"))
    pdf.set_font("Sarabun", size=16)
    pdf.set_text_shaping(True)
    pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


def attachment(name: str, content: bytes, media_type: str = "application/pdf") -> dict[str, str]:
    return {
        "name": name,
        "media_type": media_type,
        "content_base64": base64.b64encode(content).decode("ascii"),
    }


# -- words --------------------------------------------------------------------------------


def test_a_word_in_the_middle_of_a_subject_is_found(cr: Node) -> None:
    fire = paper_letter(cr, "ขอความร่วมมือป้องกันไฟป่าและหมอกควัน อำเภอแม่แจ่ม")
    paper_letter(cr, "ขอเชิญประชุมคณะกรรมการบริหารงานจังหวัด")
    page = find(cr, "ไฟป่า")
    assert (ids(page), page["total"], page["total_exact"]) == ([fire], 1, True)
    assert "[ไฟป่า]" in page["items"][0]["snippet"]
    # Two words must both be there, wherever they are.
    assert ids(find(cr, "หมอกควัน แม่แจ่ม")) == [fire]
    assert ids(find(cr, "หมอกควัน ลำปาง")) == []
    # Text typed with a decomposed SARA AM (ํ + า) is the same word.
    assert ids(find(cr, "หมอกคว\u0e31\u0e19 อ\u0e4d\u0e32เภอ")) == [fire]
    # A newer letter with the word in its body only comes after the subject's match.
    sent = cr.send(recipients=[CHIANG_MAI], subject="รายงานสถานการณ์", body="พื้นที่เสี่ยงไฟป่าเพิ่มขึ้น")
    page = find(cr, "ไฟป่า")
    assert (ids(page), page["order"]) == ([fire, sent["id"]], "relevance")
    assert page["items"][1]["snippet"] == "พื้นที่เสี่ยง[ไฟป่า]เพิ่มขึ้น"


def test_two_and_one_character_words_are_found(cr: Node) -> None:
    older = paper_letter(cr, "แผนงบประมาณประจำปี")  # the word ends the subject
    paper_letter(cr, "ขอเชิญประชุม")
    newer = paper_letter(cr, "ปีใหม่ปลอดภัย")
    page = find(cr, "ปี")
    assert (ids(page), page["order"], page["recent_only"]) == ([newer, older], "relevance", None)
    # A short word beside a long one narrows the long one's matches.
    assert ids(find(cr, "งบประมาณ ปี")) == [older]
    assert ids(find(cr, "งบประมาณ ฬฬ")) == []
    # One character is looked for in the newest letters' rows, in both digit forms.
    fifth = paper_letter(cr, "รายงานฉบับที่ ๕")
    page = find(cr, "5")
    assert (ids(page), page["order"]) == ([fifth], "newest")


def test_a_letter_number_is_found_however_it_is_typed(cr: Node) -> None:
    wanted = paper_letter(cr, "แจ้งเวียนแนวทางปฏิบัติ", number=NUMBER)
    longer = paper_letter(cr, "หนังสือเวียนอีกฉบับ", number="ชม 0017.3/ว 4567")
    not_circular = paper_letter(cr, "หนังสือธรรมดา", number="ชม 0017.3/456")
    for typed in ("ชม0017.3/ว456", "ชม 0017.3/ว. 456", "ชม ๐๐๑๗.๓/ว ๔๕๖", f"ที่ {NUMBER}"):
        page = find(cr, typed, headers=CLERK)
        assert (ids(page), page["order"]) == ([wanted], "number"), typed
        assert page["items"][0]["exact_number"] is True
    # A fragment of the number finds both circulars that contain it, and so does a whole
    # number that no letter carries exactly.
    assert set(ids(find(cr, "0017.3/ว 456"))) == {wanted, longer}
    assert set(ids(find(cr, "ชม 0017.3/ว 45"))) == {wanted, longer}
    assert not_circular in ids(find(cr, "ชม 0017.3/456"))
    # The receipt number (เลขรับ) finds its letter first.
    receipt = cr.call("GET", f"/api/letters/{longer}")["receipt_number"]
    page = find(cr, receipt)
    assert ids(page)[0] == longer and page["items"][0]["exact_number"] is True


# -- attached PDFs ----------------------------------------------------------------------------


def test_text_inside_an_attached_pdf_is_found_by_sender_and_receiver(fed: Federation) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    pdf = thai_pdf(f"รายละเอียดโครงการป้องกันไฟป่า อำเภอแม่แจ่ม {PDF_WORDS} ศรีสุขวงศ์")
    sent = cm.send(
        recipients=[CHIANG_RAI],
        subject="ขอส่งรายละเอียดโครงการ",
        attachments=[attachment("รายละเอียด.pdf", pdf)],
    )
    # The sender's own copy is searchable by its PDF's words at once.
    assert ids(find(cm, PDF_WORDS)) == [sent["id"]]
    assert ids(find(cm, "อำเภอแม่แจ่ม")) == [sent["id"]]  # SARA AM as extracted, cleaned
    assert cm.sync().ok
    # The receiver stores the letter, then downloads the PDF and reads its text.
    assert cr.sync().ok
    received = cr.inbox()[0]["id"]
    page = find(cr, PDF_WORDS, headers=CLERK)
    assert ids(page) == [received]
    assert PDF_WORDS in page["items"][0]["snippet"].replace("[", "").replace("]", "")
    # Text lost (a node restored from an older file): the nightly job reads it again.
    with cr.store() as s, s.transaction():
        s.execute("DELETE FROM attachment_text")
    assert ids(find(cr, PDF_WORDS)) == []
    assert attachment_text.extract_missing(cr.ctx) == 1
    assert ids(find(cr, PDF_WORDS)) == [received]


def test_a_broken_pdf_is_kept_and_the_letter_found_by_its_other_fields(cr: Node) -> None:
    letter = paper_letter(
        cr,
        "หนังสือแนบไฟล์เสีย",
        attachments=[attachment("สแกน.pdf", b"%PDF-1.4 not really a pdf")],
    )
    assert ids(find(cr, "ไฟล์เสีย")) == [letter]
    assert ids(find(cr, "สแกน.pdf")) == [letter]  # the attachment's name is indexed
    notes = cr.rows("SELECT note FROM attachment_text")
    assert len(notes) == 1 and notes[0]["note"].startswith("unreadable")


# -- filters and pages ------------------------------------------------------------------------


def test_filters_narrow_by_kind_speed_and_buddhist_era_dates(cr: Node) -> None:
    early = paper_letter(cr, "ขอเชิญประชุมครั้งที่ 1", letter_date="3 พฤศจิกายน 2569")
    urgent = paper_letter(cr, "ขอเชิญประชุมครั้งที่ 2", letter_date="15 พฤศจิกายน 2569", speed="ด่วนที่สุด")
    order = paper_letter(
        cr,
        "ขอเชิญประชุมครั้งที่ 3",
        letter_date="2 ธันวาคม 2569",
        letter_type="สั่งการ",
        sub_type="คำสั่ง",
    )
    # Registered last, dated first: the date decides, not the order of registration.
    late = paper_letter(cr, "ขอเชิญประชุมครั้งที่ 0", letter_date="1 พฤศจิกายน 2569")
    assert ids(find(cr, "ประชุม", speed="ด่วนที่สุด")) == [urgent]
    assert ids(find(cr, "ประชุม", type="สั่งการ")) == [order]
    november = find(cr, "ประชุม", **{"from": "1/11/2569", "to": "30 พฤศจิกายน 2569"})
    assert set(ids(november)) == {early, urgent, late}
    assert november["query"]["filters"]["from_th"] == "1 พฤศจิกายน 2569"
    assert ids(find(cr, "ประชุม", **{"from": "2/11/2569", "to": "2026-11-30"})) == [urgent, early]
    assert ids(find(cr, "ประชุม", **{"to": "31 ต.ค. 2569"})) == []
    assert ids(find(cr, "", **{"from": "๑/๑๒/๒๕๖๙"})) == [order]  # filters alone browse
    everything = {early, urgent, order, late}
    assert set(ids(find(cr, "ประชุม", direction="in", series="รับ"))) == everything
    assert ids(find(cr, "ประชุม", direction="out")) == []
    assert set(ids(find(cr, "", status="ลงรับแล้ว"))) == everything


def test_results_come_in_pages(cr: Node) -> None:
    made = [paper_letter(cr, f"รายงานผลการดำเนินงาน ฉบับที่ {n}") for n in range(1, 26)]
    first = find(cr, "รายงานผล", per_page=10)
    assert (first["total"], first["pages"], first["has_next"]) == (25, 3, True)
    last = find(cr, "รายงานผล", per_page=10, page=3)
    assert (len(last["items"]), last["has_next"]) == (5, False)
    seen = [*ids(first), *ids(find(cr, "รายงานผล", per_page=10, page=2)), *ids(last)]
    assert sorted(seen) == made  # every letter once, across the pages
    assert find(cr, "รายงานผล", page=4, per_page=10)["items"] == []


# -- who may see what ---------------------------------------------------------------------


def test_classified_letters_are_listed_only_to_those_entitled(cr: Node) -> None:
    public = paper_letter(cr, "รายงานสถานการณ์ชายแดน ฉบับเปิดเผย")
    secret = paper_letter(cr, "รายงานสถานการณ์ชายแดน", secrecy="ลับ")
    clerk = find(cr, "สถานการณ์ชายแดน", headers=CLERK)
    assert (ids(clerk), clerk["total"]) == ([public], 1)
    assert find(cr, "", headers=CLERK, secrecy="ลับ")["total"] == 0
    registrar = find(cr, "สถานการณ์ชายแดน", headers=REGISTRAR)
    assert set(ids(registrar)) == {public, secret} and registrar["total"] == 2
    assert ids(find(cr, "", headers=REGISTRAR, secrecy="ลับ")) == [secret]
    # The control register's receipt number does not reveal it to the clerk either.
    receipt = cr.call("GET", f"/api/letters/{secret}")["receipt_number"]
    assert secret not in ids(find(cr, receipt, headers=CLERK))


# -- the index follows the letters ------------------------------------------------------------


def test_index_follows_a_changed_subject_and_a_destroyed_letter(cr: Node) -> None:
    letter = paper_letter(
        cr,
        "ขอเชิญประชุมเรื่องน้ำท่วม",
        attachments=[attachment("แผนที่.pdf", thai_pdf("แผนที่จุดอพยพผู้ประสบอุทกภัย"))],
    )
    assert ids(find(cr, "จุดอพยพ")) == [letter]
    with cr.store() as s, s.transaction():
        s.execute("UPDATE letters SET subject = 'ขอเชิญประชุมเรื่องภัยแล้ง' WHERE id = ?", (letter,))
        s.execute("UPDATE letters SET body = 'รายละเอียดการแจกจ่ายน้ำดื่ม' WHERE id = ?", (letter,))
    assert ids(find(cr, "น้ำท่วม")) == []
    assert ids(find(cr, "ภัยแล้ง")) == ids(find(cr, "แจกจ่ายน้ำดื่ม")) == [letter]
    # Destroyed as node.retention does it: body and attachments wiped, bytes released.
    with cr.store() as s, s.transaction():
        s.execute(
            "UPDATE letters SET body = NULL, attachments = '[]', stage = 'destroyed' WHERE id = ?",
            (letter,),
        )
        s.execute("DELETE FROM attachments")
    assert ids(find(cr, "แจกจ่ายน้ำดื่ม")) == ids(find(cr, "จุดอพยพ")) == []
    assert cr.rows("SELECT COUNT(*) AS n FROM attachment_text")[0]["n"] == 0
    assert ids(find(cr, "ภัยแล้ง")) == [letter]  # the residual record stays findable


def test_a_database_from_before_search_is_indexed_on_its_first_search(cr: Node) -> None:
    letter = paper_letter(cr, "ขอความอนุเคราะห์รถบรรทุกน้ำ")
    with cr.store() as s, s.transaction():  # as a file from the previous version holds it
        s.execute("DELETE FROM letter_fts")
        s.execute("DELETE FROM settings WHERE key = 'search_index'")
    assert ids(find(cr, "รถบรรทุก")) == [letter]
    with cr.store() as s:
        assert s.get_setting("search_index") == searchindex.INDEX_VERSION
        assert searchindex.reindex(s) == 1


# -- the command ------------------------------------------------------------------------------


def test_cli_letter_search_prints_a_table_or_json(
    cr: Node, capsys: pytest.CaptureFixture[str]
) -> None:
    letter = paper_letter(
        cr, "ขอเชิญประชุมหัวหน้าส่วนราชการ", number=NUMBER, letter_date="20 พฤศจิกายน 2569"
    )
    where = ["--instance", str(cr.instance)]
    assert cli_main(["letter", "search", "ชม", "0017.3/ว.", "456", *where]) == 0
    out = capsys.readouterr().out
    assert "พบ 1 ฉบับ" in out and NUMBER in out and "หัวหน้าส่วนราชการ" in out
    args = ["letter", "search", "ประชุม", "--from", "1/1/2569", "--json"]
    assert cli_main([*args, *where]) == 0
    assert [hit["id"] for hit in json.loads(capsys.readouterr().out)["items"]] == [letter]
    assert cli_main(["letter", "search", "x", "--speed", "เร็ว", *where]) == 1
    assert "ชั้นความเร็ว" in capsys.readouterr().err


# -- bad parameters ---------------------------------------------------------------------------

BAD_PARAMETERS = {
    "page zero": ({"page": "0"}, "bad_page"),
    "page not a number": ({"page": "สอง"}, "bad_page"),
    "too many per page": ({"per_page": "101"}, "bad_per_page"),
    "unknown letter type": ({"type": "จดหมายรัก"}, "bad_type"),
    "unknown speed": ({"speed": "เร็ว"}, "bad_speed"),
    "unknown secrecy": ({"secrecy": "ลับเฉพาะ"}, "bad_secrecy"),
    "unknown series": ({"series": "พิเศษ"}, "bad_series"),
    "malformed register id": ({"series": "ชม|ส่ง"}, "bad_series"),
    "unknown status": ({"status": "หาย"}, "bad_status"),
    "unknown direction": ({"direction": "sideways"}, "bad_direction"),
    "impossible date": ({"from": "31/2/2569"}, "bad_date"),
    "christian-era year": ({"from": "1/11/2026"}, "bad_date"),
    "unreadable date": ({"to": "พรุ่งนี้"}, "bad_date"),
    "range ends before it starts": ({"from": "2/11/2569", "to": "1/11/2569"}, "bad_date_range"),
    "unknown parameter": ({"speeed": "ด่วน"}, "bad_parameter"),
    "query too long": ({"q": "ก" * 201}, "query_too_long"),
    "page too deep": ({"page": "1000", "per_page": "100"}, "page_too_deep"),
}


@pytest.mark.parametrize(
    ("params", "code"), list(BAD_PARAMETERS.values()), ids=list(BAD_PARAMETERS)
)
def test_bad_search_parameters_are_refused_with_a_thai_message(
    cr: Node, params: dict[str, str], code: str
) -> None:
    paper_letter(cr, "ขอเชิญประชุม")
    resp = cr.client.get(f"/api/search?{urlencode(params)}", headers=cr.headers)
    data = resp.get_json()
    assert resp.status_code == 400, data
    assert data["error"] == code
    assert set(data) == {"error", "reason", "message_th"}
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in data["message_th"])


def test_digits_that_are_not_decimal_are_searched_as_text(cr: Node) -> None:
    letter = paper_letter(cr, "รายงานพื้นที่ ²")
    assert ids(find(cr, "²")) == [letter]  # a one-character word: no number, no 500
    assert find(cr, "①②③")["total"] == 0
