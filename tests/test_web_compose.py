"""Writing and sending letters on the clerk's pages, driven in-process: a letter composed and
sent in one step lands on its page with its number and its envelope in the feed; a draft is
kept, edited, numbered and sent; an offline node says the letter waits in the outbox; an
online node sends it at once and the recipient's node fetches it within seconds; every bad
field, file, permission or token gets a Thai message and stores nothing."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN
from test_node_support import NORTH, Node, federation, office_knowing
from web_support import add_users, form_tokens, login, refused_page

from node.sync.live import LiveSync
from node.web import kit as webkit
from protocol.canonical import parse_canonical
from protocol.envelope import Envelope
from scripts.faults.federation import wait_for

PDF = b"%PDF-1.4 invitation " * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PENDING_TH = "รอส่ง จะส่งเมื่อเชื่อมต่อศูนย์กลางได้"
FIELDS = {
    "letter_type": "ภายนอก",
    "sub_type": "",
    "speed": "ด่วน",
    "deadline": "",
    "unit": CHIANG_MAI,
    "subject": "ขอเชิญประชุมคณะทำงานระบบสารบรรณอิเล็กทรอนิกส์",
    "salutation": "ผู้ว่าราชการจังหวัดเชียงราย",
    "references": "หนังสือจังหวัดเชียงราย ที่ ชร 0017/99",
    "enclosures": "กำหนดการประชุม\nแผนที่",
    "body": "ด้วยจังหวัดเชียงใหม่จะจัดประชุมคณะทำงาน จึงขอเชิญเข้าร่วมประชุม",
    "parties": "",
    "method": "",
}
LABELS = (
    "ชนิดหนังสือ",
    "ประเภทย่อย",
    "ชั้นความเร็ว",
    "กำหนดเวลา",
    "ส่วนราชการเจ้าของเรื่อง",
    "เรื่อง",
    "เรียน",
    "อ้างถึง",
    "สิ่งที่ส่งมาด้วย",
    "ข้อความ",
    "ค้นหาผู้รับ (ชื่อหรือรหัส)",
    "ผู้รับภายนอก (ส่งทางกระดาษ)",
    "วิธีส่ง",
    "ไฟล์แนบ",
)


@pytest.fixture
def node(tmp_path: Path) -> Node:
    """เชียงใหม่ without a hub, knowing เชียงราย, ขอนแก่น and the list ภาคเหนือ."""
    cm = office_knowing(tmp_path, CHIANG_MAI, CHIANG_RAI, KHON_KAEN, lists=NORTH)
    add_users(cm)
    return cm


def submit(
    client: FlaskClient,
    action: str = "send",
    *,
    path: str = "/compose",
    recipients: tuple[str, ...] = (CHIANG_RAI,),
    lists: tuple[str, ...] = (),
    files: list[tuple[bytes, str]] | None = None,
    **fields: str,
) -> Any:
    """Post the compose form (FIELDS with ``fields`` over them) with the button ``action``."""
    data: dict[str, Any] = {
        **FIELDS,
        **fields,
        "action": action,
        **form_tokens(client, "/compose"),
    }
    data["recipients"] = list(recipients)
    data["lists"] = list(lists)
    data["attachments"] = [(io.BytesIO(content), name) for content, name in files or []]
    return client.post(path, data=data, content_type="multipart/form-data")


def stored(node: Node) -> tuple[int, ...]:
    """Letters, feed envelopes, register entries, recipients, attachment rows and audit
    records in the database of ``node``."""
    return tuple(
        node.rows(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]
        for table in ("letters", "feed", "register_entries", "recipients", "attachments", "audit")
    )


def refused(node: Node, resp: Any, status: int, message: str, before: tuple[int, ...]) -> str:
    page = refused_page(resp, status, message)
    assert stored(node) == before
    return page


def letter_envelopes(node: Node) -> list[dict[str, Any]]:
    rows = node.rows("SELECT envelope FROM feed WHERE kind = 'letter' ORDER BY seq")
    return [parse_canonical(Envelope.from_bytes(r["envelope"]).body) for r in rows]


def notice(client: FlaskClient, location: str) -> str:
    """The flashed confirmation on the page a form went to."""
    page = client.get(location).get_data(as_text=True)
    found = re.search(r'<p class="notice" role="status">([^<]*)</p>', page)
    assert found, page
    return found.group(1)


def test_the_form_offers_every_field_the_directory_and_the_dispatch_methods(node: Node) -> None:
    page = login(node).get("/compose").get_data(as_text=True)
    for label in LABELS:
        assert f">{label}</label>" in page, label
    assert "<legend>ผู้รับ</legend>" in page and "<legend>บัญชีส่ง</legend>" in page
    assert f">{CHIANG_RAI} สำนักงานจังหวัดเชียงราย</label>" in page
    assert f">{KHON_KAEN} สำนักงานจังหวัดขอนแก่น</label>" in page
    assert f'value="{CHIANG_MAI}"' not in page.split("<legend>ผู้รับ</legend>")[1]  # not to itself
    assert ">ภาคเหนือ</label>" in page
    assert ">ไปรษณีย์ลงทะเบียน</option>" in page
    assert 'type="file" multiple' in page and "compose.js" in page
    assert ">บันทึกร่าง</button>" in page and ">ออกเลขและส่ง</button>" in page
    assert 'name="secrecy"' not in page  # only the registrar writes classified letters


def test_clerk_sends_to_an_office_and_a_list_and_lands_on_the_letter_page(node: Node) -> None:
    clerk = login(node)
    resp = submit(clerk, recipients=(KHON_KAEN,), lists=("north",), files=[(PDF, "กำหนดการ.pdf")])
    assert resp.status_code == 302, resp.get_data(as_text=True)
    row = node.rows("SELECT * FROM letters")[0]
    assert resp.headers["Location"] == f"/letters/{row['id']}"
    assert row["number"] == "ชม 0017/ว 1"  # to a list: a circular
    assert row["state"] == "queued" and row["subject"] == FIELDS["subject"]
    assert row["sender"] == "สำนักงานจังหวัดเชียงใหม่"
    assert json.loads(row["refs"]) == [FIELDS["references"]]
    assert json.loads(row["enclosures"]) == ["กำหนดการประชุม", "แผนที่"]
    assert [a["name"] for a in json.loads(row["attachments"])] == ["กำหนดการ.pdf"]
    [envelope] = letter_envelopes(node)
    assert envelope["number"] == "ชม 0017/ว 1" and envelope["lists"] == ["north"]
    assert envelope["recipients"] == [CHIANG_RAI, KHON_KAEN]
    audit = node.rows("SELECT actor, action FROM audit WHERE subject = ?", (f"letter:{row['id']}",))
    assert {"actor": "somsri", "action": "dispatch"} in audit

    page = clerk.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"ออกเลขที่ ชม 0017/ว 1 แล้ว — {PENDING_TH}" in page  # offline: in the outbox
    assert "ชม 0017/ว 1" in page and FIELDS["subject"] in page


def test_a_letter_to_outside_parties_on_paper_is_sent_at_once(node: Node) -> None:
    clerk = login(node)
    parties = "บริษัท ไปรษณีย์ไทย จำกัด\nมหาวิทยาลัยเชียงใหม่"
    resp = submit(clerk, recipients=(), parties=parties, method="ไปรษณีย์ลงทะเบียน")
    assert resp.status_code == 302
    assert notice(clerk, resp.headers["Location"]) == "ส่งหนังสือที่ ชม 0017/1 แล้ว"
    tracking = node.rows("SELECT office, channel, method FROM recipients ORDER BY id")
    assert tracking == [
        {"office": "บริษัท ไปรษณีย์ไทย จำกัด", "channel": "paper", "method": "ไปรษณีย์ลงทะเบียน"},
        {"office": "มหาวิทยาลัยเชียงใหม่", "channel": "paper", "method": "ไปรษณีย์ลงทะเบียน"},
    ]
    assert letter_envelopes(node) == []


def test_an_urgent_within_letter_keeps_its_deadline_in_bangkok_time(node: Node) -> None:
    resp = submit(login(node), speed="ด่วนภายใน", deadline="2026-11-25T16:00")
    assert resp.status_code == 302
    [envelope] = letter_envelopes(node)
    assert envelope["speed"] == "ด่วนภายใน" and envelope["deadline"] == "2026-11-25T16:00+07:00"


def test_a_deadline_is_dropped_for_any_other_speed(node: Node) -> None:
    assert submit(login(node), speed="ด่วนมาก", deadline="2026-11-25T16:00").status_code == 302
    assert node.rows("SELECT deadline FROM letters")[0]["deadline"] is None


def test_a_draft_is_kept_edited_numbered_and_sent(node: Node) -> None:
    clerk = login(node)
    resp = submit(clerk, "save", recipients=(), files=[(PNG, "แผนผัง.png")])
    assert resp.status_code == 302
    letter_id = node.rows("SELECT id FROM letters")[0]["id"]
    edit = f"/compose/{letter_id}"
    assert resp.headers["Location"] == edit
    assert notice(clerk, edit) == "บันทึกร่างแล้ว"
    assert node.rows("SELECT COUNT(*) AS n FROM feed")[0]["n"] == 0  # nothing leaves
    page = clerk.get(edit).get_data(as_text=True)
    assert f'value="{FIELDS["subject"]}"' in page and "แผนผัง.png" in page
    assert ">ออกเลข</button>" in page and ">ส่ง</button>" not in page
    drafts = clerk.get("/drafts").get_data(as_text=True)
    assert FIELDS["subject"] in drafts and "ยังไม่ออกเลข" in drafts

    resp = submit(clerk, "save", path=edit, subject="ขอเชิญประชุม ครั้งที่ 2")
    assert resp.headers["Location"] == edit
    row = node.rows("SELECT subject, recipients, state FROM letters")[0]
    assert row == {
        "subject": "ขอเชิญประชุม ครั้งที่ 2",
        "recipients": f'["{CHIANG_RAI}"]',
        "state": "draft",
    }

    resp = submit(clerk, "number", path=edit, subject="ขอเชิญประชุม ครั้งที่ 2")
    assert resp.headers["Location"] == edit
    assert notice(clerk, edit) == "ออกเลขที่ ชม 0017/1 แล้ว"
    page = clerk.get(edit).get_data(as_text=True)
    assert '<p class="big-number">ที่ ชม 0017/1</p>' in page
    assert 'id="letter_type"' not in page and "ข้อมูลที่กำหนดเมื่อออกเลขแล้ว" in page
    assert ">ส่ง</button>" in page and ">ออกเลข</button>" not in page
    assert "ออกเลขแล้ว รอส่ง" in clerk.get("/drafts").get_data(as_text=True)

    resp = submit(clerk, "send", path=edit, subject="ขอเชิญประชุม ครั้งที่ 2", speed="ด่วนที่สุด")
    assert resp.headers["Location"] == f"/letters/{letter_id}"
    assert notice(clerk, resp.headers["Location"]) == f"ออกเลขที่ ชม 0017/1 แล้ว — {PENDING_TH}"
    [envelope] = letter_envelopes(node)
    assert envelope["number"] == "ชม 0017/1" and envelope["speed"] == "ด่วนที่สุด"
    assert envelope["recipients"] == [CHIANG_RAI]
    assert [a["name"] for a in envelope["attachments"]] == ["แผนผัง.png"]
    assert clerk.get(edit).headers["Location"] == f"/letters/{letter_id}"
    assert FIELDS["subject"] not in clerk.get("/drafts").get_data(as_text=True)
    before = stored(node)
    refused(node, submit(clerk, "save", path=edit), 409, "หนังสือนี้ส่งออกแล้ว", before)


def test_numbering_a_draft_without_recipients_is_allowed_but_sending_is_not(node: Node) -> None:
    clerk = login(node)
    submit(clerk, "save", recipients=())
    edit = f"/compose/{node.rows('SELECT id FROM letters')[0]['id']}"
    assert submit(clerk, "number", path=edit, recipients=()).status_code == 302
    before = stored(node)
    resp = submit(clerk, "send", path=edit, recipients=(), subject="แก้เรื่องแล้ว")
    page = refused(node, resp, 400, "กรุณาระบุผู้รับอย่างน้อยหนึ่งราย", before)
    assert 'value="แก้เรื่องแล้ว"' in page  # typed, shown again, not saved
    assert node.rows("SELECT subject FROM letters")[0]["subject"] == FIELDS["subject"]


def test_an_officer_keeps_drafts_but_may_not_number_or_send(node: Node) -> None:
    officer = login(node, "officer")
    page = officer.get("/compose").get_data(as_text=True)
    assert ">บันทึกร่าง</button>" in page and ">ออกเลขและส่ง</button>" not in page
    before = stored(node)
    page = refused(node, submit(officer, "send"), 403, "คุณไม่มีสิทธิ์ออกเลขและส่งหนังสือ", before)
    assert f'value="{FIELDS["subject"]}"' in page
    resp = submit(officer, "save")
    assert resp.status_code == 302
    page = officer.get(resp.headers["Location"]).get_data(as_text=True)
    assert ">ออกเลข</button>" not in page
    before = stored(node)
    resp = submit(officer, "number", path=resp.headers["Location"])
    refused(node, resp, 403, "คุณไม่มีสิทธิ์ออกเลขและส่งหนังสือ", before)


def test_only_those_who_write_letters_may_open_the_pages(node: Node) -> None:
    client = login(node, "admin")
    for path in ("/compose", "/drafts"):
        resp = client.get(path)
        assert resp.status_code == 403 and "คุณไม่มีสิทธิ์ใช้งานส่วนนี้" in resp.get_data(as_text=True)
        assert node.app.test_client().get(path).headers["Location"] == "/login"


BAD_FIELDS = [
    pytest.param({"subject": ""}, 400, "กรุณากรอกเรื่อง", id="empty-subject"),
    pytest.param({"subject": "ก" * 501}, 400, "เรื่องยาวเกิน 500 ตัวอักษร", id="long-subject"),
    pytest.param({"salutation": "ข" * 301}, 400, "เรียนยาวเกิน 300 ตัวอักษร", id="long-salutation"),
    pytest.param({"recipients": ()}, 400, "กรุณาระบุผู้รับอย่างน้อยหนึ่งราย", id="no-recipients"),
    pytest.param({"speed": "ด่วนจี๋"}, 400, "ชั้นความเร็วไม่ถูกต้อง", id="bad-speed"),
    pytest.param({"speed": "ด่วนภายใน"}, 400, "หนังสือด่วนภายในต้องระบุวันและเวลา", id="missing-deadline"),
    pytest.param(
        {"speed": "ด่วนภายใน", "deadline": "พรุ่งนี้"}, 400, "กำหนดเวลาไม่ถูกต้อง", id="bad-deadline"
    ),
    pytest.param({"letter_type": "จดหมายรัก"}, 400, "ชนิดหนังสือไม่ถูกต้อง", id="bad-type"),
    pytest.param({"letter_type": "สั่งการ"}, 400, "ต้องระบุประเภทย่อย", id="missing-sub-type"),
    pytest.param({"unit": "ชร 0017.9"}, 400, "ไม่ใช่หน่วยงานในสังกัด", id="foreign-unit"),
    pytest.param({"recipients": ("กข 9999",)}, 400, "ไม่พบหน่วยงานหรือบัญชี", id="unknown-office"),
    pytest.param({"lists": ("south",)}, 400, "ไม่พบหน่วยงานหรือบัญชี", id="unknown-list"),
    pytest.param({"parties": "ร้านค้า"}, 400, "กรุณาเลือกวิธีส่งหนังสือ", id="paper-without-method"),
    pytest.param({"method": "นกพิราบ"}, 400, "วิธีส่งไม่ถูกต้อง", id="bad-method"),
    pytest.param({"secrecy": "ลับ"}, 403, "คุณไม่มีสิทธิ์กำหนดชั้นความลับ", id="clerk-secrecy"),
    pytest.param({"action": "publish"}, 400, "คำสั่งไม่ถูกต้อง", id="bad-action"),
]


@pytest.mark.parametrize(("fields", "status", "message"), BAD_FIELDS)
def test_a_bad_field_is_refused_in_thai_keeps_what_was_typed_and_stores_nothing(
    node: Node, fields: dict[str, Any], status: int, message: str
) -> None:
    clerk = login(node)
    before = stored(node)
    resp = submit(clerk, **{"files": [(PDF, "a.pdf")], **fields})
    page = refused(node, resp, status, message, before)
    assert f">{FIELDS['body']}</textarea>" in page  # the other fields keep what was typed
    if "salutation" not in fields:
        assert f'value="{FIELDS["salutation"]}"' in page
    if "recipients" not in fields:
        assert re.search(rf'value="{CHIANG_RAI}" checked', page)


BAD_FILES = [
    pytest.param(b"MZ\x90\x00" + b"\x00" * 60, "setup.exe", id="exe"),
    pytest.param("ข้อความธรรมดา ไม่ใช่ PDF".encode(), "letter.pdf", id="text-named-pdf"),
]


@pytest.mark.parametrize(("content", "name"), BAD_FILES)
def test_a_file_of_a_kind_not_accepted_is_refused_in_thai(
    node: Node, content: bytes, name: str
) -> None:
    clerk = login(node)
    before = stored(node)
    resp = submit(clerk, files=[(PDF, "ok.pdf"), (content, name)])
    page = refused(node, resp, 400, f"ไฟล์ {name} ไม่ใช่ชนิดที่รับได้", before)
    assert "กรุณาเลือกไฟล์อีกครั้ง" in page


def test_a_file_over_the_size_limit_is_refused_in_thai(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webkit, "MAX_FILE_BYTES", 1024 * 1024)
    clerk = login(node)
    before = stored(node)
    big = b"%PDF-1.4 " + b"0" * (1024 * 1024)
    resp = submit(clerk, "save", files=[(big, "big.pdf")])
    refused(node, resp, 400, "ไฟล์ big.pdf มีขนาดเกิน 1 MB", before)


def test_a_request_over_the_upload_limit_is_a_thai_413(node: Node) -> None:
    clerk = login(node)
    node.app.config["MAX_CONTENT_LENGTH"] = 4096
    before = stored(node)
    refused(node, submit(clerk, files=[(PDF * 100, "a.pdf")]), 413, "ขนาดใหญ่เกิน", before)


def test_html_in_the_subject_is_shown_escaped(node: Node) -> None:
    subject = '<script>alert("x")</script><b>ประชุม</b>'
    clerk = login(node)
    page = submit(clerk, subject=subject, recipients=()).get_data(as_text=True)
    assert str(escape(subject)) in page and "<script>alert" not in page
    resp = submit(clerk, "save", subject=subject)
    page = clerk.get(resp.headers["Location"]).get_data(as_text=True)
    assert str(escape(subject)) in page and "<script>alert" not in page
    drafts = clerk.get("/drafts").get_data(as_text=True)
    assert str(escape(subject)) in drafts and "<b>ประชุม</b>" not in drafts


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "forged"])
def test_a_forged_form_is_refused_in_thai_and_stores_nothing(node: Node, token: str | None) -> None:
    clerk = login(node)
    submit(clerk, "save")
    before = stored(node)
    for path in ("/compose", f"/compose/{node.rows('SELECT id FROM letters')[0]['id']}"):
        data: dict[str, Any] = {**FIELDS, "action": "send", "recipients": [CHIANG_RAI]}
        data["attachments"] = [(io.BytesIO(PDF), "a.pdf")]
        if token:
            data["csrf_token"] = token
        resp = clerk.post(path, data=data, content_type="multipart/form-data")
        refused(node, resp, 400, "แบบฟอร์มไม่ถูกต้อง", before)


def test_the_registrar_writes_a_classified_draft_the_clerk_cannot_see(node: Node) -> None:
    registrar = login(node, "registrar")
    assert '<label for="secrecy">ชั้นความลับ</label>' in registrar.get("/compose").get_data(
        as_text=True
    )
    before = stored(node)
    resp = submit(registrar, secrecy="ลับ")  # to an office publishing no sealing key
    refused(node, resp, 400, "ยังไม่มีกุญแจสำหรับรับหนังสือลับ", before)
    resp = submit(registrar, "save", secrecy="ลับ", subject="แผนรักษาความปลอดภัย")
    assert resp.status_code == 302
    assert "แผนรักษาความปลอดภัย" in registrar.get("/drafts").get_data(as_text=True)
    clerk = login(node)
    assert "แผนรักษาความปลอดภัย" not in clerk.get("/drafts").get_data(as_text=True)
    page = clerk.get(resp.headers["Location"])
    assert page.status_code == 403
    assert "แผนรักษาความปลอดภัย" not in page.get_data(as_text=True)


# -- sent at once by the live sync ------------------------------------------------------


@pytest.fixture
def online(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    """เชียงใหม่ and เชียงราย enrolled at a real hub, both running their live sync."""
    with federation(tmp_path) as fed:
        cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
        assert cm.sync().ok and cr.sync().ok
        add_users(cm)
        lives = [LiveSync(n.ctx, watch_seconds=0.2).start() for n in (cm, cr)]
        cm.app.extensions["saraban_live"] = lives[0]
        try:
            yield cm, cr
        finally:
            for live in lives:
                live.stop()


def test_an_online_node_sends_the_letter_at_once_and_it_reaches_the_recipient(
    online: tuple[Node, Node],
) -> None:
    cm, cr = online
    clerk = login(cm)
    resp = submit(clerk)
    assert resp.status_code == 302
    assert notice(clerk, resp.headers["Location"]) == "ออกเลขที่ ชม 0017/1 แล้ว — กำลังส่งไปยังศูนย์กลาง"
    # Nobody syncs by hand: the send's commit pushes it, the recipient's check fetches it.
    wait_for("the letter is in เชียงราย's inbox", lambda: bool(cr.inbox()))
    states = {r["kind"]: r["state"] for r in cm.rows("SELECT kind, state FROM feed")}
    assert states == {"letter": "accepted", "register": "accepted"}
    assert [r["subject"] for r in cr.inbox()] == [FIELDS["subject"]]
    page = clerk.get(resp.headers["Location"]).get_data(as_text=True)
    assert "ส่งแล้ว" in page
