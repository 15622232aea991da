"""หนังสือเข้า, หนังสือออก and a letter's page, driven in-process: the lists, ลงรับ and ส่งคืน,
attachments, the classified rules and their audit rows, and bad or forged forms.

Letters travel between two offline nodes (no hub): the sender's envelope is handed to the
receiver, and the receiver's receipts back to the sender.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock
from test_node_offline import deliver
from test_node_support import Node, PaperHub, offline_node, publish
from web_support import add_users, csrf, login, post_form

from node.records import inbox
from node.records.worklist import HIDDEN_SUBJECT_TH
from node.storage.blobs import save_blob
from protocol.canonical import parse_canonical
from protocol.envelope import Envelope
from protocol.messages import Receipt
from scripts.demo.scans import minimal_pdf

PDF = minimal_pdf(["Letter from Chiang Mai"])
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
DOCX = b"PK\x03\x04" + b"\x00" * 32
HTML_AS_PDF = b"<html><script>alert(1)</script></html>"


@pytest.fixture
def pair(tmp_path: Path, paper: PaperHub, clock: Clock) -> tuple[Node, Node]:
    cm = offline_node(tmp_path, CHIANG_MAI, paper, clock)
    cr = offline_node(tmp_path, CHIANG_RAI, paper, clock)
    offline_node(tmp_path, KHON_KAEN, paper, clock)
    publish(paper, cm, cr)
    add_users(cm)
    add_users(cr)
    return cm, cr


def attach(name: str, content: bytes, media: str = "application/pdf") -> dict[str, str]:
    return {"name": name, "media_type": media, "content_base64": base64.b64encode(content).decode()}


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def arrive(
    pair: tuple[Node, Node],
    subject: str = "ขอเชิญประชุม",
    files: tuple[tuple[str, bytes, str], ...] = (),
    **fields: Any,
) -> int:
    """A letter from ชม to ชร, delivered with its attachments' bytes; its id at ชร."""
    cm, cr = pair
    for _, content, _ in files:
        save_blob(cr.ctx.blob_dir(), content)
    sent = cm.send(
        recipients=[CHIANG_RAI],
        subject=subject,
        attachments=[attach(n, c, m) for n, c, m in files],
        **fields,
    )
    return deliver(cm, cr, PaperHub(), sent["id"])


def hand_back(receiver: Node, sender: Node) -> None:
    """The receiver's receipts reach the sender, as if through the hub."""
    for row in receiver.rows("SELECT envelope FROM feed WHERE kind = 'receipt' ORDER BY seq"):
        receipt = Receipt.from_dict(parse_canonical(Envelope.from_bytes(row["envelope"]).body))
        with sender.store() as s, s.transaction():
            inbox.apply_receipt(sender.ctx, s, receipt, sender.clock())


def make_classified(node: Node, letter_id: int) -> None:
    # Sealed e-letters cannot be sent yet: an arrived letter marked ลับ stands in for one.
    with node.store() as s, s.transaction():
        s.execute("UPDATE letters SET secrecy = 'ลับ' WHERE id = ?", (letter_id,))


def text(resp: Any) -> str:
    return str(resp.get_data(as_text=True))


def state_of(node: Node, letter_id: int) -> str:
    return str(node.rows("SELECT state FROM letters WHERE id = ?", (letter_id,))[0]["state"])


def audit_actions(node: Node, letter_id: int) -> list[str]:
    rows = node.rows(
        "SELECT action FROM audit WHERE subject = ? ORDER BY id", (f"letter:{letter_id}",)
    )
    return [r["action"] for r in rows]


def register(client: FlaskClient, letter_id: int) -> Any:
    return post_form(client, f"/letters/{letter_id}/register", {})


def return_(client: FlaskClient, letter_id: int, reason: str) -> Any:
    return post_form(client, f"/letters/{letter_id}/return", {"reason": reason})


# -- the lists ------------------------------------------------------------------------------


def test_inbox_tabs_show_waiting_registered_and_all_letters(pair: tuple[Node, Node]) -> None:
    _, cr = pair
    waiting = arrive(pair, "หนังสือรอลงรับ", speed="ด่วนที่สุด")
    done = arrive(pair, "หนังสือลงรับแล้ว")
    cr.call("POST", f"/api/letters/{done}/register", {})
    client = login(cr)

    page = text(client.get("/letters/inbox"))  # a clerk starts on รอลงรับ
    assert "หนังสือรอลงรับ" in page and "หนังสือลงรับแล้ว" not in page
    assert f'href="/letters/{waiting}"' in page
    assert '<span class="speed">ด่วนที่สุด</span>' in page
    assert "ชม 0017/1" in page and "รอลงรับ" in page and CHIANG_MAI in page
    assert "18 พฤศจิกายน 2569" in page

    registered = text(client.get("/letters/inbox?state=registered"))
    assert "หนังสือลงรับแล้ว" in registered and "หนังสือรอลงรับ" not in registered
    assert '<td data-label="เลขรับ">1</td>' in registered
    both = text(client.get("/letters/inbox?state=all"))
    assert both.index("หนังสือลงรับแล้ว") < both.index("หนังสือรอลงรับ")  # newest first

    bad = client.get("/letters/inbox?state=<script>")
    assert bad.status_code == 400 and "ตัวกรองสถานะไม่ถูกต้อง" in text(bad)


def test_classified_letter_is_listed_without_subject_sender_or_link(
    pair: tuple[Node, Node],
) -> None:
    _, cr = pair
    secret = arrive(pair, "แผนรักษาความปลอดภัยลับเฉพาะ", speed="ด่วนมาก")
    make_classified(cr, secret)

    page = text(login(cr).get("/letters/inbox"))
    assert "แผนรักษาความปลอดภัยลับเฉพาะ" not in page
    assert HIDDEN_SUBJECT_TH in page and '<span class="speed">ด่วนมาก</span>' in page
    assert '<span class="tag secret">ลับ</span>' in page
    assert f'href="/letters/{secret}"' not in page
    hidden_row = page[page.index('class="hidden-row"') :].split("</tr>")[0]
    assert '<td data-label="จาก">-</td>' in hidden_row

    registrar = text(login(cr, "registrar").get("/letters/inbox"))
    assert "แผนรักษาความปลอดภัยลับเฉพาะ" in registrar and f'href="/letters/{secret}"' in registrar


def test_sent_list_shows_number_recipients_and_registration_progress(
    pair: tuple[Node, Node],
) -> None:
    cm, cr = pair
    sent = cm.send(recipients=[CHIANG_RAI, KHON_KAEN], subject="ขอส่งรายงานประจำเดือน")
    arrived = deliver(cm, cr, PaperHub(), sent["id"])
    cr.call("POST", f"/api/letters/{arrived}/register", {})
    hand_back(cr, cm)

    page = text(login(cm).get("/letters/sent"))
    assert "ขอส่งรายงานประจำเดือน" in page and f'href="/letters/{sent["id"]}"' in page
    assert "ชม 0017/1" in page and "18 พฤศจิกายน 2569" in page
    assert "2 ราย" in page and "ลงรับแล้ว 1/2" in page
    assert '<td data-label="สถานะ">รอส่ง</td>' in page  # never synced: still queued


def test_outgoing_letter_tracks_each_recipient_in_thai(pair: tuple[Node, Node]) -> None:
    cm, cr = pair
    sent = cm.send(
        recipients=[CHIANG_RAI, KHON_KAEN],
        parties=["บริษัท ตัวอย่าง จำกัด"],
        method="ไปรษณีย์ลงทะเบียน",
        subject="แจ้งกำหนดการตรวจราชการ",
    )
    arrived = deliver(cm, cr, PaperHub(), sent["id"])
    cr.call("POST", f"/api/letters/{arrived}/register", {})
    hand_back(cr, cm)

    page = text(login(cm).get(f"/letters/{sent['id']}"))
    assert "<caption>สถานะผู้รับ</caption>" in page
    chiang_rai = next(r for r in page.split("<tr>") if f'ผู้รับ">{CHIANG_RAI}' in r)
    assert "ระบบ" in chiang_rai and "ลงรับแล้ว" in chiang_rai and "เลขรับ 1" in chiang_rai
    assert "18 พฤศจิกายน 2569" in chiang_rai
    khon_kaen = next(r for r in page.split("<tr>") if f'ผู้รับ">{KHON_KAEN}' in r)
    assert "รอส่ง" in khon_kaen
    company = next(r for r in page.split("<tr>") if 'ผู้รับ">บริษัท ตัวอย่าง จำกัด' in r)
    assert "กระดาษ (ไปรษณีย์ลงทะเบียน)" in company
    assert "ส่งแล้ว (ทางไปรษณีย์ลงทะเบียน)" in company
    assert '<ol class="timeline">' in page and "ส่งหนังสือ" in page and "ผู้รับลงรับแล้ว" in page


def test_returned_letter_shows_the_reason_in_the_senders_tracking(
    pair: tuple[Node, Node],
) -> None:
    cm, cr = pair
    sent = cm.send(recipients=[CHIANG_RAI], subject="ส่งผิดที่")
    arrived = deliver(cm, cr, PaperHub(), sent["id"])
    assert return_(login(cr), arrived, "ไม่ใช่หน่วยงานที่รับผิดชอบ").status_code == 302
    hand_back(cr, cm)
    page = text(login(cm).get(f"/letters/{sent['id']}"))
    row = next(r for r in page.split("<tr>") if f'ผู้รับ">{CHIANG_RAI}' in r)
    assert "ส่งคืน" in row and "เหตุผล: ไม่ใช่หน่วยงานที่รับผิดชอบ" in row


# -- the letter page, ลงรับ and ส่งคืน ---------------------------------------------------------


def test_letter_page_shows_the_details_and_the_pdf_inline(pair: tuple[Node, Node]) -> None:
    _, cr = pair
    letter_id = arrive(
        pair,
        "ขอเชิญประชุมคณะกรรมการ",
        files=(("หนังสือเชิญ.pdf", PDF, "application/pdf"), ("แผนที่.png", PNG, "image/png")),
        speed="ด่วนภายใน",
        deadline="2026-11-20T16:30:00+07:00",
        salutation="ผู้ว่าราชการจังหวัดเชียงราย",
        references=["หนังสือจังหวัดเชียงใหม่ ที่ ชม 0017/99"],
        enclosures=["กำหนดการประชุม จำนวน 1 ชุด"],
    )
    page = text(login(cr).get(f"/letters/{letter_id}"))
    assert "หนังสือภายนอก" in page and "ชม 0017/1" in page and "18 พฤศจิกายน 2569" in page
    assert "ผู้ว่าราชการจังหวัดเชียงราย" in page and "ชม 0017/99" in page
    assert "กำหนดการประชุม จำนวน 1 ชุด" in page
    assert '<span class="speed">ด่วนภายใน</span>' in page
    assert "20 พฤศจิกายน 2569" in page and "16.30" in page
    url = f"/letters/{letter_id}/files/{sha(PDF)}"
    assert f'<object class="pdf-view" data="{url}" type="application/pdf"' in page
    assert "เปิดไฟล์ PDF" in page and "หนังสือเชิญ.pdf" in page and "ไบต์" in page
    assert f'<img src="/letters/{letter_id}/files/{sha(PNG)}" alt="แผนที่.png">' in page
    assert ">ลงรับ</button>" in page and 'for="return-reason"' in page
    assert "ได้รับหนังสือ" in page  # the history's first step


def test_clerk_registers_and_sees_the_receipt_number(pair: tuple[Node, Node]) -> None:
    _, cr = pair
    letter_id = arrive(pair, files=(("เชิญ.pdf", PDF, "application/pdf"),))
    client = login(cr)
    resp = register(client, letter_id)
    assert resp.status_code == 302 and resp.headers["Location"] == f"/letters/{letter_id}"
    page = text(client.get(f"/letters/{letter_id}"))
    assert "ลงรับแล้ว เลขรับ 1" in page  # the flash
    assert '<p class="big-number">เลขรับ 1</p>' in page
    assert ">ลงรับ</button>" not in page and "เหตุผลที่ส่งคืน" not in page
    stamped_url = f"/letters/{letter_id}/files/{sha(PDF)}/stamped"
    assert f'href="{stamped_url}"' in page and "ดาวน์โหลดสำเนาประทับตรารับ" in page
    stamped = client.get(stamped_url)
    assert stamped.status_code == 200 and stamped.mimetype == "application/pdf"
    assert stamped.data.startswith(b"%PDF") and stamped.data != PDF
    assert stamped.headers["Content-Disposition"].startswith("attachment;")
    assert state_of(cr, letter_id) == "registered"


def test_registering_twice_answers_a_thai_409(pair: tuple[Node, Node]) -> None:
    _, cr = pair
    letter_id = arrive(pair)
    client = login(cr)
    assert register(client, letter_id).status_code == 302
    again = register(client, letter_id)
    assert again.status_code == 409
    assert "หนังสือนี้ลงรับแล้วหรือไม่อยู่ในสถานะที่ลงรับได้" in text(again)
    assert '<p class="big-number">เลขรับ 1</p>' in text(again)
    assert cr.rows("SELECT COUNT(*) AS n FROM register_entries")[0]["n"] == 1


def test_stamped_copy_before_registration_is_a_thai_409(pair: tuple[Node, Node]) -> None:
    _, cr = pair
    letter_id = arrive(pair, files=(("เชิญ.pdf", PDF, "application/pdf"),))
    resp = login(cr).get(f"/letters/{letter_id}/files/{sha(PDF)}/stamped")
    assert resp.status_code == 409 and "ยังไม่ได้ลงรับ" in text(resp)


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        pytest.param("", "กรุณากรอกเหตุผลที่ส่งคืน", id="empty"),
        pytest.param("   ", "กรุณากรอกเหตุผลที่ส่งคืน", id="blank"),
        pytest.param("ก" * 501, "เหตุผลที่ส่งคืนยาวเกิน 500 ตัวอักษร", id="too-long"),
    ],
)
def test_return_without_a_proper_reason_keeps_the_letter_waiting(
    pair: tuple[Node, Node], reason: str, message: str
) -> None:
    _, cr = pair
    letter_id = arrive(pair)
    resp = return_(login(cr), letter_id, reason)
    page = text(resp)
    assert resp.status_code == 400 and message in page
    assert "ขอเชิญประชุม" in page and ">ส่งคืน</button>" in page  # the letter page again
    if reason.strip():
        assert f">{reason}</textarea>" in page
    assert state_of(cr, letter_id) == "delivered"
    assert "return_letter" not in audit_actions(cr, letter_id)


def test_return_with_a_reason_is_shown_escaped(pair: tuple[Node, Node]) -> None:
    _, cr = pair
    letter_id = arrive(pair)
    client = login(cr)
    reason = "<script>alert(1)</script> ส่งผิดหน่วยงาน"
    resp = return_(client, letter_id, reason)
    assert resp.status_code == 302
    page = text(client.get(f"/letters/{letter_id}"))
    assert "ส่งคืนแล้ว" in page and str(escape(reason)) in page and "<script>alert" not in page
    assert ">ลงรับ</button>" not in page
    assert state_of(cr, letter_id) == "returned"


def test_script_in_a_subject_is_escaped_on_the_lists_and_the_letter_page(
    pair: tuple[Node, Node],
) -> None:
    cm, cr = pair
    subject = '<script>alert("x")</script><b>ประชุม</b>'
    letter_id = arrive(pair, subject)
    for client, path in (
        (login(cr), "/letters/inbox"),
        (login(cr), f"/letters/{letter_id}"),
        (login(cm), "/letters/sent"),
        (login(cm), "/letters/1"),
    ):
        page = text(client.get(path))
        assert str(escape(subject)) in page, path
        assert "<script>alert" not in page and "<b>ประชุม</b>" not in page, path


@pytest.mark.parametrize("action", ["register", "return"])
@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "forged"])
def test_forged_csrf_on_register_or_return_changes_nothing(
    pair: tuple[Node, Node], action: str, token: str | None
) -> None:
    _, cr = pair
    letter_id = arrive(pair)
    client = login(cr)
    data = {"reason": "ส่งผิดหน่วยงาน"}
    if token:
        data["csrf_token"] = token
    resp = client.post(f"/letters/{letter_id}/{action}", data=data)
    assert resp.status_code == 400 and "แบบฟอร์มไม่ถูกต้อง" in text(resp)
    assert state_of(cr, letter_id) == "delivered"
    assert audit_actions(cr, letter_id) == ["letter_received"]
    assert cr.rows("SELECT COUNT(*) AS n FROM register_entries")[0]["n"] == 0


def test_an_executive_may_read_but_not_register(pair: tuple[Node, Node]) -> None:
    _, cr = pair
    letter_id = arrive(pair)
    boss = login(cr, "boss")
    page = text(boss.get(f"/letters/{letter_id}"))
    assert "ขอเชิญประชุม" in page and ">ลงรับ</button>" not in page
    for resp in (register(boss, letter_id), return_(boss, letter_id, "ไม่ใช่งานของเรา")):
        assert resp.status_code == 403 and "คุณไม่มีสิทธิ์ใช้งานส่วนนี้" in text(resp)
    assert state_of(cr, letter_id) == "delivered"


def test_unknown_letter_is_a_thai_404(pair: tuple[Node, Node]) -> None:
    _, cr = pair
    resp = login(cr).get("/letters/999")
    assert resp.status_code == 404 and "ไม่พบหนังสือ" in text(resp)


# -- attachments ------------------------------------------------------------------------------


def test_attachment_is_served_only_with_its_own_letter(pair: tuple[Node, Node]) -> None:
    _, cr = pair
    first = arrive(pair, "ฉบับแรก", files=(("ฉบับแรก.pdf", PDF, "application/pdf"),))
    other = minimal_pdf(["Another letter"])
    arrive(pair, "ฉบับที่สอง", files=(("ฉบับที่สอง.pdf", other, "application/pdf"),))
    client = login(cr)

    own = client.get(f"/letters/{first}/files/{sha(PDF)}")
    assert own.status_code == 200 and own.data == PDF and own.mimetype == "application/pdf"
    assert own.headers["X-Content-Type-Options"] == "nosniff"
    assert own.headers["Content-Disposition"].startswith("inline;")
    assert f"filename*=UTF-8''{quote('ฉบับแรก.pdf')}" in own.headers["Content-Disposition"]
    saved = client.get(f"/letters/{first}/files/{sha(PDF)}?download=1")
    assert saved.headers["Content-Disposition"].startswith("attachment;")

    for bad in (sha(other), "0" * 64, "secret_key", sha(PDF).upper() + "0"):
        resp = client.get(f"/letters/{first}/files/{bad}")
        assert resp.status_code == 404 and "ไม่พบไฟล์แนบนี้ในหนังสือ" in text(resp), bad
    assert client.get(f"/letters/{first}/files/..%2F..%2Fsecret_key").status_code == 404


def test_files_that_are_not_shown_safely_are_only_downloaded(pair: tuple[Node, Node]) -> None:
    _, cr = pair
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    letter_id = arrive(
        pair,
        files=(
            ("ร่างคำสั่ง.docx", DOCX, docx),
            ("ปลอม.pdf", HTML_AS_PDF, "application/pdf"),
            ("หน้าเว็บ.html", HTML_AS_PDF + b" ", "text/html"),
        ),
    )
    client = login(cr)
    for content, media in ((DOCX, docx), (HTML_AS_PDF, "application/pdf")):
        resp = client.get(f"/letters/{letter_id}/files/{sha(content)}")
        assert resp.status_code == 200 and resp.mimetype == media
        assert resp.headers["Content-Disposition"].startswith("attachment;")
    html = client.get(f"/letters/{letter_id}/files/{sha(HTML_AS_PDF + b' ')}")
    assert html.mimetype == "application/octet-stream"
    assert html.headers["Content-Disposition"].startswith("attachment;")
    assert html.headers["X-Content-Type-Options"] == "nosniff"


def test_attachment_not_yet_pulled_is_listed_with_a_thai_note(pair: tuple[Node, Node]) -> None:
    cm, cr = pair
    sent = cm.send(recipients=[CHIANG_RAI], attachments=[attach("รอซิงค์.pdf", PDF)])
    letter_id = deliver(cm, cr, PaperHub(), sent["id"])
    client = login(cr)
    page = text(client.get(f"/letters/{letter_id}"))
    assert "รอซิงค์.pdf" in page and "ยังไม่ได้รับไฟล์จากศูนย์กลาง" in page
    assert "pdf-view" not in page
    resp = client.get(f"/letters/{letter_id}/files/{sha(PDF)}")
    assert resp.status_code == 404 and "ยังไม่ได้รับไฟล์แนบนี้" in text(resp)


# -- classified letters -------------------------------------------------------------------------


def test_classified_letter_by_url_is_refused_and_the_attempt_recorded(
    pair: tuple[Node, Node],
) -> None:
    _, cr = pair
    letter_id = arrive(pair, "คำสั่งลับเฉพาะ", files=(("ลับ.pdf", PDF, "application/pdf"),))
    make_classified(cr, letter_id)
    clerk = login(cr)
    for path in (
        f"/letters/{letter_id}",
        f"/letters/{letter_id}/files/{sha(PDF)}",
    ):
        resp = clerk.get(path)
        assert resp.status_code == 403, path
        assert "หนังสือชั้นความลับ" in text(resp) and "คำสั่งลับเฉพาะ" not in text(resp)
    resp = register(clerk, letter_id)
    assert resp.status_code == 403 and state_of(cr, letter_id) == "delivered"
    refused = cr.rows(
        "SELECT actor FROM audit WHERE action = 'classified_refused' AND subject = ?",
        (f"letter:{letter_id}",),
    )
    assert [r["actor"] for r in refused] == ["somsri"] * 3


def test_registrar_views_and_downloads_a_classified_letter_on_the_record(
    pair: tuple[Node, Node],
) -> None:
    _, cr = pair
    letter_id = arrive(pair, "คำสั่งลับเฉพาะ", files=(("ลับ.pdf", PDF, "application/pdf"),))
    make_classified(cr, letter_id)
    registrar = login(cr, "registrar")
    page = text(registrar.get(f"/letters/{letter_id}"))
    assert "คำสั่งลับเฉพาะ" in page and '<span class="tag secret">ลับ</span>' in page
    assert registrar.get(f"/letters/{letter_id}/files/{sha(PDF)}").status_code == 200
    assert register(registrar, letter_id).status_code == 302
    stamped = registrar.get(f"/letters/{letter_id}/files/{sha(PDF)}/stamped")
    assert stamped.status_code == 200
    rows = cr.rows(
        "SELECT actor, action, detail FROM audit WHERE subject = ? AND action LIKE '%classified'",
        (f"letter:{letter_id}",),
    )
    assert [(r["actor"], r["action"]) for r in rows] == [
        ("registrar", "view_classified"),
        ("registrar", "download_classified"),
        ("registrar", "download_classified"),  # the stamped copy
    ]
    assert all(sha(PDF) in r["detail"] for r in rows[1:])
    assert "เปิดอ่านหนังสือลับ" in text(registrar.get(f"/letters/{letter_id}"))


def test_csrf_token_of_another_session_is_refused(pair: tuple[Node, Node]) -> None:
    _, cr = pair
    letter_id = arrive(pair)
    other = csrf(login(cr, "registrar"), "/")
    resp = login(cr).post(f"/letters/{letter_id}/register", data={"csrf_token": other})
    assert resp.status_code == 400 and state_of(cr, letter_id) == "delivered"
