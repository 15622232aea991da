"""Keeping letters as a records clerk meets it: จัดเก็บ with เก็บถึง พ.ศ. ...., borrowing,
the 20-year list for the National Archives, and destruction that waits for the committee.

Letters are made through the node's API on a clock set to past years, so that their
retention runs out while the test moves the clock on.
"""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_node_support import Node, PaperHub, office_knowing, offline_node, publish

from node.records import inbox
from protocol.canonical import parse_canonical
from protocol.envelope import Envelope
from protocol.messages import Letter
from protocol.thai import BANGKOK
from scripts.cli.main import main as saraban


def at(year: int, month: int = 3, day: int = 1) -> float:
    """10 o'clock Bangkok time on a Christian-era date."""
    return datetime(year, month, day, 10, 0, tzinfo=BANGKOK).timestamp()


def make_node(tmp_path: Path, **config: Any) -> Node:
    return office_knowing(tmp_path, CHIANG_MAI, CHIANG_RAI, clock=Clock(at(2000)), **config)


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_node(tmp_path)


def scan(content: bytes, name: str = "scan.pdf") -> dict[str, str]:
    return {
        "name": name,
        "media_type": "application/pdf",
        "content_base64": base64.b64encode(content).decode(),
    }


def paper_letter(node: Node, subject: str, date: str = "1 มีนาคม 2543", **fields: Any) -> int:
    body = {"subject": subject, "origin": "บริษัท ไทยพัฒนา จำกัด", "letter_date": date, **fields}
    return int(node.call("POST", "/api/paper-letters", body, ok=201)["id"])


def keep(node: Node, letter_id: int, **body: Any) -> dict[str, Any]:
    return node.call("POST", f"/api/letters/{letter_id}/keep", body)  # type: ignore[no-any-return]


def letter(node: Node, letter_id: int) -> dict[str, Any]:
    return node.call("GET", f"/api/letters/{letter_id}")  # type: ignore[no-any-return]


def refused(node: Node, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    """A request the node refuses: a 4xx JSON error in English and Thai."""
    resp = node.client.open(path, method=method, json=body, headers=node.headers)
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.get_json())
    data = resp.get_json()
    assert set(data) == {"error", "reason", "message_th"}
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in data["message_th"])
    return resp.status_code, data


def blob(node: Node, content: bytes) -> Path:
    sha = hashlib.sha256(content).hexdigest()
    return node.instance / "blobs" / sha[:2] / sha


def counts(node: Node) -> dict[str, Any]:
    tables = ("letters", "audit", "loans", "destruction_lists", "destruction_items")
    out: dict[str, Any] = {t: node.rows(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in tables}
    out["kept"] = node.rows(
        "SELECT id, retention, keep_until, keep_kind, stage, destroyed_at FROM letters"
    )
    return out


# ---- keeping ----------------------------------------------------------------------------


def test_kept_letter_is_marked_with_the_buddhist_year_it_is_kept_until(node: Node) -> None:
    ordinary = paper_letter(node, "ขอความอนุเคราะห์ข้อมูลสถิติ")
    forever = paper_letter(node, "ประกาศจัดตั้งศูนย์ราชการ")
    undated = paper_letter(node, "แจ้งกำหนดการตรวจเยี่ยม", date="")

    kept = keep(node, ordinary, retention="10")
    assert kept["keep_until"] == 2553 and kept["keep_until_th"] == "เก็บถึง พ.ศ. 2553"
    assert kept["keep_kind_th"] == "เก็บเมื่อปฏิบัติเสร็จ" and kept["stage"] == "kept"
    never = keep(node, forever, retention="ห้ามทำลาย")
    assert never["retention"] == "never" and never["keep_until"] is None
    assert never["keep_until_th"] == "ห้ามทำลาย"
    # No date on the letter: the year it was registered counts (2000 = พ.ศ. 2543).
    assert keep(node, undated, retention="๑")["keep_until_th"] == "เก็บถึง พ.ศ. 2544"

    shown = letter(node, ordinary)
    assert shown["stage_th"] == "จัดเก็บแล้ว" and shown["keep_until"] == 2553
    assert shown["history"][-1]["action"] == "keep_letter"
    assert shown["history"][-1]["detail"]["keep_until_th"] == "เก็บถึง พ.ศ. 2553"


def test_letter_kept_in_progress_moves_on_to_kept_after_done_but_never_back(node: Node) -> None:
    lid = paper_letter(node, "ขอเชิญประชุมคณะทำงาน")
    first = keep(node, lid, kind="in_progress")
    assert first["keep_kind_th"] == "เก็บระหว่างปฏิบัติ" and first["stage"] == "registered"
    assert keep(node, lid, kind="reference")["keep_kind"] == "reference"
    assert keep(node, lid, kind="after_done")["stage"] == "kept"
    status, data = refused(node, "POST", f"/api/letters/{lid}/keep", {"kind": "in_progress"})
    assert status == 409 and data["error"] == "already_kept"


def test_default_retention_comes_from_the_letter_type_in_the_settings(tmp_path: Path) -> None:
    node = make_node(
        tmp_path,
        RETENTION_DEFAULT="12",
        RETENTION_BY_TYPE={"ประทับตรา": "1", "คำสั่ง": "never"},
    )
    stamped = paper_letter(node, "แจ้งผลการพิจารณา", letter_type="ประทับตรา")
    order = paper_letter(node, "คำสั่งแต่งตั้งคณะกรรมการ", letter_type="สั่งการ", sub_type="คำสั่ง")
    other = paper_letter(node, "ขอความร่วมมือ")
    assert keep(node, stamped)["keep_until_th"] == "เก็บถึง พ.ศ. 2544"
    assert keep(node, order)["keep_until_th"] == "ห้ามทำลาย"
    assert keep(node, other)["retention_th"] == "12 ปี"


def test_shipped_defaults_keep_routine_letters_one_year_and_others_ten(node: Node) -> None:
    stamped = paper_letter(node, "แจ้งผลการพิจารณา", letter_type="ประทับตรา")
    other = paper_letter(node, "ขอความร่วมมือ")
    assert keep(node, stamped)["keep_until"] == 2544
    assert keep(node, other)["keep_until"] == 2553


def test_sent_letter_is_kept_from_the_year_it_was_dated(node: Node) -> None:
    sent = node.send(recipients=[CHIANG_RAI], subject="ขอเชิญประชุมประจำปี")
    assert keep(node, sent["id"], retention="5")["keep_until_th"] == "เก็บถึง พ.ศ. 2548"


def test_received_letter_is_kept_only_after_it_is_registered(tmp_path: Path) -> None:
    paper, clock = PaperHub(), Clock(at(2000))
    sender = offline_node(tmp_path, CHIANG_MAI, paper, clock)
    receiver = offline_node(tmp_path, CHIANG_RAI, paper, clock)
    publish(paper, sender, receiver)
    sent = sender.send(recipients=[CHIANG_RAI], subject="ขอเชิญประชุมผู้บริหาร")
    env_id = sender.rows("SELECT env_id FROM letters WHERE id = ?", (sent["id"],))[0]["env_id"]
    wire = sender.rows("SELECT envelope FROM feed WHERE env_id = ?", (env_id,))[0]["envelope"]
    body = Letter.from_dict(parse_canonical(Envelope.from_bytes(wire).body))
    with receiver.store() as s, s.transaction():
        inbox.apply_incoming_letter(receiver.ctx, s, env_id, body, clock())
    [received] = receiver.inbox()

    status, data = refused(receiver, "POST", f"/api/letters/{received['id']}/keep", {})
    assert (status, data["error"]) == (409, "not_registered")
    receiver.call("POST", f"/api/letters/{received['id']}/register", {})
    assert keep(receiver, received["id"])["keep_until_th"] == "เก็บถึง พ.ศ. 2553"


def test_changing_retention_recomputes_the_year_and_is_in_the_history(node: Node) -> None:
    lid = paper_letter(node, "รายงานผลการดำเนินงาน")
    keep(node, lid)
    changed = node.call(
        "POST", f"/api/letters/{lid}/retention", {"retention": "never", "reason": "มีคุณค่า"}
    )
    assert changed["keep_until_th"] == "ห้ามทำลาย"
    last = letter(node, lid)["history"][-1]
    assert last["action"] == "set_retention"
    assert last["detail"]["from"] == "10" and last["detail"]["to"] == "never"


ARCHIVED = {"chair": "ก", "members": ["ข", "ค"], "archives_ref": "หจช 1"}

BAD_KEEPING: dict[str, tuple[str, str, Any, int, str]] = {
    "unknown_letter": ("POST", "/api/letters/999/keep", {}, 404, "not_found"),
    "words_for_years": (
        "POST",
        "/api/letters/{id}/keep",
        {"retention": "ten"},
        400,
        "bad_retention",
    ),
    "zero_years": ("POST", "/api/letters/{id}/keep", {"retention": "0"}, 400, "bad_retention"),
    "retention_list": ("POST", "/api/letters/{id}/keep", {"retention": [10]}, 400, "bad_retention"),
    "unknown_kind": ("POST", "/api/letters/{id}/keep", {"kind": "lost"}, 400, "bad_keep_kind"),
    "draft": ("POST", "/api/letters/{draft}/keep", {}, 409, "draft_not_kept"),
    "retention_of_unkept": (
        "POST",
        "/api/letters/{id}/retention",
        {"retention": "5"},
        409,
        "not_kept",
    ),
    "retention_missing": ("POST", "/api/letters/{id}/retention", {}, 400, "retention_required"),
    "borrow_unkept": ("POST", "/api/letters/{id}/borrow", {"borrower": "สมชาย"}, 409, "not_kept"),
    "return_not_lent": ("POST", "/api/letters/{id}/return-loan", {}, 409, "not_on_loan"),
    "year_not_a_number": ("GET", "/api/retention/due?year=abc", None, 400, "bad_year"),
    "christian_year": ("GET", "/api/retention/archives?year=2020", None, 400, "bad_year"),
    "list_in_future": ("POST", "/api/retention/lists", {"year": 2544}, 400, "year_in_future"),
    "nothing_expired": ("POST", "/api/retention/lists", {"year": 2543}, 409, "nothing_expired"),
    "unknown_list": ("GET", "/api/retention/lists/9", None, 404, "not_found"),
    "approve_unknown": ("POST", "/api/retention/lists/9/approve", ARCHIVED, 404, "not_found"),
    "approve_nobody": ("POST", "/api/retention/lists/9/approve", {}, 400, "committee_incomplete"),
    "destroy_unknown": ("POST", "/api/retention/lists/9/destroy", {}, 404, "not_found"),
    "print_unknown": ("GET", "/api/retention/lists/9/print", None, 404, "not_found"),
    "print_as_word": ("GET", "/api/retention/archives/print?format=docx", None, 400, "bad_format"),
}


@pytest.mark.parametrize("case", sorted(BAD_KEEPING))
def test_bad_keeping_requests_are_refused_in_thai_and_change_nothing(node: Node, case: str) -> None:
    lid = paper_letter(node, "ขอความอนุเคราะห์")
    draft = node.call("POST", "/api/drafts", {"subject": "ร่างหนังสือ"}, ok=201)["id"]
    method, path, body, status, code = BAD_KEEPING[case]
    before = counts(node)
    got, data = refused(node, method, path.format(id=lid, draft=draft), body)
    assert (got, data["error"]) == (status, code)
    assert counts(node) == before


# ---- borrowing --------------------------------------------------------------------------


def test_borrowed_letter_is_due_back_and_shows_as_overdue_until_returned(node: Node) -> None:
    lid = paper_letter(node, "สัญญาจ้างก่อสร้างอาคาร")
    keep(node, lid)
    loan = node.call(
        "POST", f"/api/letters/{lid}/borrow", {"borrower": "นางสาวสุดา ใจดี", "due": "10 มีนาคม 2543"}
    )
    assert loan["due_th"] == "10 มีนาคม 2543"
    status, data = refused(node, "POST", f"/api/letters/{lid}/borrow", {"borrower": "นายสมชาย"})
    assert (status, data["error"]) == (409, "on_loan")
    assert node.call("GET", "/api/retention/loans?overdue=1")["loans"] == []

    node.clock.t = at(2000, 3, 15)
    [late] = node.call("GET", "/api/retention/loans?overdue=1")["loans"]
    assert late["borrower"] == "นางสาวสุดา ใจดี" and late["days_overdue"] == 5
    assert late["subject"] == "สัญญาจ้างก่อสร้างอาคาร"

    returned = node.call("POST", f"/api/letters/{lid}/return-loan", {})
    assert returned["days_late"] == 5
    assert node.call("GET", "/api/retention/loans")["loans"] == []
    actions = [h["action"] for h in letter(node, lid)["history"]]
    assert actions[-2:] == ["borrow_letter", "return_loan"]


def test_loan_without_a_date_is_due_after_the_configured_days(node: Node) -> None:
    lid = paper_letter(node, "สัญญาเช่าที่ดิน")
    keep(node, lid)
    past = {"borrower": "กองคลัง", "due": "1 มกราคม 2543"}
    status, data = refused(node, "POST", f"/api/letters/{lid}/borrow", past)
    assert (status, data["error"]) == (400, "due_in_past")
    assert node.rows("SELECT COUNT(*) AS n FROM loans")[0]["n"] == 0
    loan = node.call("POST", f"/api/letters/{lid}/borrow", {"borrower": "กองคลัง"}, ok=201)
    assert loan["due"] == "2000-03-08" and loan["due_th"] == "8 มีนาคม 2543"


# ---- the National Archives --------------------------------------------------------------


def test_archives_list_takes_kept_letters_reaching_twenty_years(node: Node) -> None:
    old = paper_letter(node, "ประกาศจัดตั้งอำเภอ", date="1 มีนาคม 2543")
    forever = paper_letter(node, "แผนที่เขตการปกครอง", date="2 มีนาคม 2543")
    younger = paper_letter(node, "รายงานการประชุมประจำปี", date="1 มีนาคม 2545")
    never_kept = paper_letter(node, "หนังสือที่ยังไม่จัดเก็บ", date="1 มีนาคม 2543")
    keep(node, old, retention="30")
    keep(node, forever, retention="never")
    keep(node, younger, retention="30")
    node.clock.t = at(2020)

    listed = node.call("GET", "/api/retention/archives?year=2563")["letters"]
    assert [r["id"] for r in listed] == [old, forever]
    assert [r["keep_until_th"] for r in listed] == ["เก็บถึง พ.ศ. 2573", "ห้ามทำลาย"]
    assert never_kept not in [r["id"] for r in listed]
    later = node.call("GET", "/api/retention/archives?year=2565")["letters"]
    assert [r["id"] for r in later] == [old, forever, younger]

    resp = node.client.get(
        "/api/retention/archives/print?year=2563&format=xlsx", headers=node.headers
    )
    assert resp.status_code == 200
    cells = [
        c
        for row in load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True)
        for c in row
    ]
    assert "ประกาศจัดตั้งอำเภอ" in cells and "ห้ามทำลาย" in cells


# ---- destruction ------------------------------------------------------------------------


@pytest.fixture
def expired(node: Node) -> dict[str, int]:
    """Letters of 2543 kept 10 years (expired at the end of 2553), one never destroyed,
    one kept 30 years; the clock then stands in early 2554."""
    ids = {
        "minuted": paper_letter(
            node, "ขอรับการสนับสนุนงบประมาณ", number="ทป 0101/55", attachments=[scan(b"A" * 300)]
        ),
        "shared": paper_letter(
            node, "ส่งสำเนาทะเบียนบ้าน", number="ทป 0101/56", attachments=[scan(b"S" * 300)]
        ),
        "extended": paper_letter(node, "สัญญาซื้อขายที่ดินราชพัสดุ", number="ทป 0101/57"),
        "forever": paper_letter(node, "พระราชกฤษฎีกาจัดตั้งจังหวัด", number="ทป 0101/58"),
        "long": paper_letter(
            node, "แผนพัฒนาจังหวัด", number="ทป 0101/59", attachments=[scan(b"S" * 300, "copy.pdf")]
        ),
    }
    node.call(
        "POST", f"/api/letters/{ids['minuted']}/minute", {"text": "ทราบ", "instruction": "ดำเนินการ"}
    )
    for name, lid in ids.items():
        retention = {"forever": "never", "long": "30"}.get(name, "10")
        keep(node, lid, retention=retention)
    node.clock.t = at(2011, 1, 20)
    return ids


COMMITTEE = {
    "chair": "นายประเสริฐ มั่นคง",
    "members": ["นางสาวสมศรี ดีงาม", "นายวิชัย ใจกว้าง"],
    "archives_ref": "หจช 0301/123",
    "decided_at": "20 มกราคม 2554",
}


def propose(node: Node, year: int = 2554) -> dict[str, Any]:
    return node.call("POST", "/api/retention/lists", {"year": year}, ok=201)  # type: ignore[no-any-return]


def test_destruction_list_takes_expired_letters_but_never_the_forbidden_ones(
    node: Node, expired: dict[str, int]
) -> None:
    proposed = propose(node)
    assert proposed["state"] == "draft"
    listed = [i["letter"] for i in proposed["items"]]
    assert listed == [expired["minuted"], expired["shared"], expired["extended"]]
    assert expired["forever"] not in listed and expired["long"] not in listed
    # Nothing expired is left off a list, so a second proposal finds nothing.
    status, data = refused(node, "POST", "/api/retention/lists", {"year": 2554})
    assert (status, data["error"]) == (409, "nothing_expired")
    # Years later the ห้ามทำลาย letter is still never proposed.
    node.clock.t = at(2060)
    due = node.call("GET", "/api/retention/due?year=2603")["letters"]
    assert expired["forever"] not in [r["id"] for r in due]


def test_destruction_is_refused_until_the_committee_approves(
    node: Node, expired: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    list_id = propose(node)["id"]
    before = counts(node)
    status, data = refused(node, "POST", f"/api/retention/lists/{list_id}/destroy", {})
    assert status == 409 and data["error"] == "not_approved"
    assert "คณะกรรมการ" in data["message_th"]

    code = saraban(["retention", "destroy", str(list_id), "--instance", str(node.instance)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and err[0].startswith("saraban")
    assert "not approved" in err[0]

    assert counts(node) == before
    shown = letter(node, expired["minuted"])
    assert shown["minute"] == "ทราบ" and shown["destroyed_at"] is None
    assert blob(node, b"A" * 300).exists()


BAD_APPROVALS: dict[str, dict[str, Any]] = {
    "no_chair": {**COMMITTEE, "chair": ""},
    "one_member": {**COMMITTEE, "members": ["นางสาวสมศรี ดีงาม"]},
    "same_member_twice": {**COMMITTEE, "members": ["นายวิชัย ใจกว้าง", "นายวิชัย  ใจกว้าง"]},
    "chair_as_member": {**COMMITTEE, "members": ["นายประเสริฐ มั่นคง", "นายวิชัย ใจกว้าง"]},
    "no_archives_ref": {**COMMITTEE, "archives_ref": " "},
    "decided_tomorrow": {**COMMITTEE, "decided_at": "21 มกราคม 2554"},
    "decided_before_the_list": {**COMMITTEE, "decided_at": "10 มกราคม 2554"},
    "unreadable_date": {**COMMITTEE, "decided_at": "เมื่อวาน"},
    "excluded_not_on_list": {**COMMITTEE, "excluded_letter_ids": [999]},
    "excluded_not_ids": {**COMMITTEE, "excluded_letter_ids": ["1"]},
    "members_not_a_list": {**COMMITTEE, "members": "นายวิชัย"},
}


@pytest.mark.parametrize("case", sorted(BAD_APPROVALS))
def test_approval_needs_a_chair_two_distinct_members_and_the_archives(
    node: Node, expired: dict[str, int], case: str
) -> None:
    list_id = propose(node)["id"]
    before = counts(node)
    status, _ = refused(
        node, "POST", f"/api/retention/lists/{list_id}/approve", BAD_APPROVALS[case]
    )
    assert status == 400
    assert counts(node) == before
    assert node.call("GET", f"/api/retention/lists/{list_id}")["state"] == "draft"


def test_destroyed_letters_leave_a_residual_record_and_no_content(
    node: Node, expired: dict[str, int]
) -> None:
    list_id = propose(node)["id"]
    approved = node.call(
        "POST",
        f"/api/retention/lists/{list_id}/approve",
        {**COMMITTEE, "excluded_letter_ids": [expired["extended"]], "extend_years": 3},
    )
    assert approved["state"] == "approved"
    assert [i["decision_th"] for i in approved["items"]] == [
        "ทำลาย",
        "ทำลาย",
        "ขยายเวลาเก็บถึง พ.ศ. 2557",
    ]

    done = node.call("POST", f"/api/retention/lists/{list_id}/destroy", {})
    assert done["state"] == "destroyed"
    assert done["destroyed"] == [expired["minuted"], expired["shared"]]

    gone = letter(node, expired["minuted"])
    assert gone["number"] == "ทป 0101/55" and gone["subject"] == "ขอรับการสนับสนุนงบประมาณ"
    assert gone["receipt_number"] and gone["letter_date"] == "1 มีนาคม 2543"
    assert gone["destruction_list"] == list_id and gone["destruction_ref"] == "หจช 0301/123"
    assert gone["stage"] == "destroyed" and gone["stage_th"] == "ทำลายแล้ว"
    assert gone["destroyed_at"] == node.clock.t
    assert gone["body"] is None and gone["minute"] is None and gone["instruction"] is None
    assert gone["attachments"] == []
    record = gone["history"][-1]
    assert record["action"] == "destroy_letter"
    assert record["detail"]["archives_ref"] == "หจช 0301/123"
    assert record["detail"]["attachments"][0]["name"] == "scan.pdf"

    # The bytes only the destroyed letter held are gone; the scan another kept letter
    # also lists stays, and so does its attachments row.
    assert not blob(node, b"A" * 300).exists()
    assert blob(node, b"S" * 300).exists()
    shas = {r["sha256"] for r in node.rows("SELECT sha256 FROM attachments")}
    assert blob(node, b"A" * 300).name not in shas and blob(node, b"S" * 300).name in shas
    assert letter(node, expired["long"])["attachments"][0]["name"] == "copy.pdf"

    kept = letter(node, expired["extended"])
    assert kept["destroyed_at"] is None and kept["keep_until"] == 2557
    assert kept["history"][-1]["action"] == "extend_retention"

    status, data = refused(node, "POST", f"/api/retention/lists/{list_id}/destroy", {})
    assert (status, data["error"]) == (409, "list_destroyed")
    status, data = refused(node, "POST", f"/api/letters/{expired['minuted']}/keep", {})
    assert (status, data["error"]) == (409, "letter_destroyed")


def test_letter_out_on_loan_holds_up_the_destruction(node: Node, expired: dict[str, int]) -> None:
    list_id = propose(node)["id"]
    node.call("POST", f"/api/retention/lists/{list_id}/approve", COMMITTEE)
    node.call("POST", f"/api/letters/{expired['shared']}/borrow", {"borrower": "กองกฎหมาย"})
    before = counts(node)
    status, data = refused(node, "POST", f"/api/retention/lists/{list_id}/destroy", {})
    assert (status, data["error"]) == (409, "on_loan") and "ทป 0101/56" in data["message_th"]
    assert counts(node) == before
    node.call("POST", f"/api/letters/{expired['shared']}/return-loan", {})
    assert node.call("POST", f"/api/retention/lists/{list_id}/destroy", {})["state"] == "destroyed"


def test_retention_of_a_listed_letter_is_for_the_committee_to_change(
    node: Node, expired: dict[str, int]
) -> None:
    propose(node)
    status, data = refused(
        node, "POST", f"/api/letters/{expired['shared']}/retention", {"retention": "never"}
    )
    assert (status, data["error"]) == (409, "on_destruction_list")


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_destruction_list_prints_as_the_regulation_form(
    node: Node, expired: dict[str, int]
) -> None:
    secret = paper_letter(node, "ข้อมูลการข่าวชายแดน", date="3 มีนาคม 2543", secrecy="ลับ")
    node.clock.t = at(2000)
    keep(node, secret, retention="10")
    node.clock.t = at(2011, 1, 20)
    list_id = propose(node)["id"]
    node.call(
        "POST",
        f"/api/retention/lists/{list_id}/approve",
        {**COMMITTEE, "excluded_letter_ids": [expired["extended"]]},
    )

    resp = node.client.get(f"/api/retention/lists/{list_id}/print?format=pdf", headers=node.headers)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    disposition = resp.headers["Content-Disposition"]
    assert f'filename="destruction-list-2554-{list_id}.pdf"' in disposition
    assert "filename*=UTF-8''" in disposition
    text = pdf_text(resp.data)
    for expected in (
        "บัญชีหนังสือขอทำลาย ประจำปี พ.ศ. 2554",
        "ขอรับการสนับสนุนงบประมาณ",
        "ทป 0101/55",
        "ขยายเวลาเก็บ",
        "ประธานกรรมการ",
        "นายประเสริฐ มั่นคง",
        "หจช 0301/123",
    ):
        assert expected in text, expected

    # A clerk who may not open the classified letter sees its row but not its subject.
    clerk = {**node.headers, "X-Saraban-User": "somsak", "X-Saraban-Roles": "clerk"}
    shown = node.client.get(f"/api/retention/lists/{list_id}", headers=clerk).get_json()
    row = next(i for i in shown["items"] if i["letter"] == secret)
    assert row["subject"] == "(หนังสือชั้นความลับ ลับ)"
    xlsx = node.client.get(f"/api/retention/lists/{list_id}/print?format=xlsx", headers=clerk)
    cells = [
        c
        for r in load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True)
        for c in r
    ]
    assert "ข้อมูลการข่าวชายแดน" not in cells and "ขอรับการสนับสนุนงบประมาณ" in cells
    assert "ข้อมูลการข่าวชายแดน" in pdf_text(
        node.client.get(f"/api/retention/lists/{list_id}/print", headers=node.headers).data
    )


# ---- the command line -------------------------------------------------------------------


def test_clerk_keeps_a_letter_and_lists_the_twenty_year_letters_from_the_command_line(
    node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lid = paper_letter(node, "ประกาศจัดตั้งอำเภอ")
    instance = ["--instance", str(node.instance)]
    assert saraban(["letter", "keep", str(lid), "--retention", "never", *instance]) == 0
    assert capsys.readouterr().out.strip() == "จัดเก็บแล้ว (เก็บเมื่อปฏิบัติเสร็จ) ห้ามทำลาย"
    # The command runs on the real clock: a letter of 2543 is well past 20 years.
    assert saraban(["retention", "list", "--archives", *instance]) == 0
    assert "ประกาศจัดตั้งอำเภอ" in capsys.readouterr().out
    out = tmp_path / "archives.xlsx"
    assert saraban(["retention", "print", "--archives", "-o", str(out), *instance]) == 0
    assert out.stat().st_size > 0
    assert saraban(["retention", "print", "-o", str(tmp_path / "x.doc"), *instance]) != 0
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
