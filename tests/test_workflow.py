"""A received letter inside the office: ลงรับ (paper with its scan, or electronic from the
hub), then เกษียน → มอบหมาย → ส่งต่อ → ดำเนินการแล้ว, each step in the letter's history with who
and when; steps out of order refused; classified letters in their own control register and
shown only to the registrar and the person holding them.

Paper letters are registered at a node with no hub (time from the test's Clock, which starts on
18 Nov 2569 at 18.06 น. Bangkok); the electronic letter travels through a real hub.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from support import CHIANG_MAI, CHIANG_RAI, Clock, bangkok
from test_node_support import Federation, Node, PaperHub, offline_node

from protocol.canonical import parse_canonical
from protocol.envelope import Envelope

SCAN = b"%PDF-1.4 scanned letter " * 8
DIVISION = "ชม 0017.3"
UNIVERSITY = "มหาวิทยาลัยเชียงใหม่"
POLICE = "ตำรวจภูธรจังหวัดเชียงใหม่"


@pytest.fixture
def cm(tmp_path: Path, clock: Clock) -> Node:
    return offline_node(tmp_path, CHIANG_MAI, PaperHub(), clock)


def api(
    node: Node,
    method: str,
    path: str,
    body: Any = None,
    user: str | None = "malee",
    roles: str | None = None,
    divisions: str | None = None,
) -> tuple[int, Any]:
    """One call as the named user with roles and divisions (user None: the node's operator)."""
    headers = dict(node.headers)
    for name, value in (("User", user), ("Roles", roles), ("Divisions", divisions)):
        if value is not None:
            headers[f"X-Saraban-{name}"] = value
    resp = node.client.open(path, method=method, json=body, headers=headers)
    return resp.status_code, resp.get_json()


def ok(node: Node, method: str, path: str, body: Any = None, **who: Any) -> Any:
    status, data = api(node, method, path, body, **who)
    assert status in (200, 201), (status, data)
    return data


def scan(name: str = "หนังสือเข้า.pdf", content: bytes = SCAN) -> dict[str, str]:
    return {
        "name": name,
        "media_type": "application/pdf",
        "content_base64": base64.b64encode(content).decode(),
    }


def paper_letter(node: Node, **fields: Any) -> dict[str, Any]:
    body = {
        "subject": "ขอความอนุเคราะห์ข้อมูลสถิติจังหวัด",
        "origin": UNIVERSITY,
        "number": "อว 8393/1234",
        "letter_date": "15 พฤศจิกายน 2569",
        "attachments": [scan()],
        **fields,
    }
    data: dict[str, Any] = ok(node, "POST", "/api/paper-letters", body)
    return data


def step(node: Node, letter_id: int, action: str, body: dict[str, Any], **who: Any) -> Any:
    return ok(node, "POST", f"/api/letters/{letter_id}/{action}", body, **who)


def stage(node: Node, letter_id: int) -> tuple[str, str]:
    shown = ok(node, "GET", f"/api/letters/{letter_id}", user=None)
    return shown["stage"], shown["stage_th"]


def history(node: Node, letter_id: int) -> list[dict[str, Any]]:
    data = ok(node, "GET", f"/api/letters/{letter_id}/history", user=None)
    assert data["id"] == letter_id
    steps: list[dict[str, Any]] = data["history"]
    return steps


def counts(node: Node) -> dict[str, int]:
    tables = ("letters", "feed", "register_entries", "attachments", "audit")
    return {t: node.rows(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in tables}


def feed_bodies(node: Node) -> list[dict[str, Any]]:
    return [
        parse_canonical(Envelope.from_bytes(r["envelope"]).body)
        for r in node.rows("SELECT envelope FROM feed ORDER BY seq")
    ]


# -- registering ----------------------------------------------------------------------------


def test_paper_letter_with_its_scan_takes_the_next_receipt_number(cm: Node) -> None:
    first = paper_letter(cm)
    second = paper_letter(cm, number="อว 8393/1235", letter_date="2026-11-16", attachments=[])
    assert (first["receipt_number"], second["receipt_number"]) == ("1", "2")
    assert first["register"] == "ชม 0017|รับ|2569"
    assert first["registered_at"] == "2026-11-18T11:06:40Z"
    shown = ok(cm, "GET", f"/api/letters/{first['id']}")
    assert (shown["paper"], shown["direction"], shown["origin"]) == (True, "in", UNIVERSITY)
    assert (shown["number"], shown["letter_date"]) == ("อว 8393/1234", "15 พฤศจิกายน 2569")
    assert (shown["stage"], shown["stage_th"]) == ("registered", "ลงรับแล้ว")
    (attachment,) = shown["attachments"]
    assert (attachment["name"], attachment["size"]) == ("หนังสือเข้า.pdf", len(SCAN))
    blob = cm.instance / "blobs" / attachment["sha256"][:2] / attachment["sha256"]
    assert blob.read_bytes() == SCAN
    assert ok(cm, "GET", f"/api/letters/{second['id']}")["letter_date"] == "16 พฤศจิกายน 2569"
    entries = [(b["action"], b["display"], b["subject"]) for b in feed_bodies(cm)]
    assert entries[0] == ("paper_registered", "1", "ขอความอนุเคราะห์ข้อมูลสถิติจังหวัด")
    (step_,) = history(cm, first["id"])
    assert (step_["action_th"], step_["actor"], step_["at_th"]) == (
        "ลงรับหนังสือกระดาษ",
        "malee",
        "18 พฤศจิกายน 2569 เวลา 18.06 น.",
    )
    assert step_["detail"] == {"receipt_number": "1", "from": UNIVERSITY, "number": "อว 8393/1234"}


def test_receipt_registers_restart_at_bangkok_new_year(cm: Node, clock: Clock) -> None:
    def another(n: int, **fields: Any) -> dict[str, Any]:  # not one letter registered twice
        return paper_letter(cm, number=f"อว 8393/{n}", subject=f"หนังสือฉบับที่ {n}", **fields)

    clock.t = bangkok(2026, 12, 31, 23, 59)
    late = [
        another(1)["receipt_number"],
        another(2)["receipt_number"],
        another(3, origin=POLICE, secrecy="ลับ")["receipt_number"],
    ]
    assert late == ["1", "2", "1"]
    clock.t = bangkok(2027, 1, 1, 0, 1)  # 17.01 UTC on 31 Dec
    ordinary, secret = another(4), another(5, origin=POLICE, secrecy="ลับ")
    assert (ordinary["receipt_number"], ordinary["register"]) == ("1", "ชม 0017|รับ|2570")
    assert (secret["receipt_number"], secret["register"]) == ("1", "ชม 0017|ลับ|2570")
    (received,) = history(cm, ordinary["id"])
    assert received["at_th"] == "1 มกราคม 2570 เวลา 0.01 น."


def test_paper_letter_number_typed_in_thai_digits_is_kept_in_arabic_digits(cm: Node) -> None:
    letter_id = paper_letter(cm, number="ชม ๐๐๑๗.๓/ว ๔๕๖")["id"]
    shown = ok(cm, "GET", f"/api/letters/{letter_id}")
    assert shown["number"] == "ชม 0017.3/ว 456"


def test_paper_letter_is_minuted_assigned_forwarded_and_done_in_order(
    cm: Node, clock: Clock
) -> None:
    letter_id = paper_letter(cm)["id"]
    feed_before = counts(cm)["feed"]
    assert stage(cm, letter_id) == ("registered", "ลงรับแล้ว")

    clock.advance(2 * 3600)  # 20.06
    minuted = step(
        cm,
        letter_id,
        "minute",
        {"text": "ทราบ มอบกลุ่มงานยุทธศาสตร์ฯ", "instruction": "พิจารณาดำเนินการ", "by": "ผวจ.ชม."},
        user="somsak",
    )
    assert minuted["stage"] == "minuted"
    assert stage(cm, letter_id) == ("minuted", "เกษียนแล้ว")

    clock.advance(13 * 3600)  # 09.06 the next morning
    assigned = step(cm, letter_id, "assign", {"to": DIVISION, "note": "ด่วน"}, user="malee")
    assert (assigned["stage"], assigned["to"]) == ("assigned", DIVISION)
    assert stage(cm, letter_id) == ("assigned", "มอบหมายแล้ว")

    clock.advance(30 * 60)  # 09.36
    forwarded = step(cm, letter_id, "forward", {"to": "นายวิชัย ใจดี"}, user="wichai")
    assert (forwarded["stage"], forwarded["from"], forwarded["to"]) == (
        "assigned",
        DIVISION,
        "นายวิชัย ใจดี",
    )
    assert ok(cm, "GET", f"/api/letters/{letter_id}")["assigned_to"] == "นายวิชัย ใจดี"

    clock.advance(26 * 3600)  # 11.36 on 20 Nov
    done = step(cm, letter_id, "done", {"note": "ส่งข้อมูลแล้ว"}, user="wichai")
    assert done["stage"] == "done"
    assert stage(cm, letter_id) == ("done", "ดำเนินการแล้ว")

    assert [(h["action_th"], h["actor"], h["at_th"]) for h in history(cm, letter_id)] == [
        ("ลงรับหนังสือกระดาษ", "malee", "18 พฤศจิกายน 2569 เวลา 18.06 น."),
        ("เกษียน/สั่งการ", "somsak", "18 พฤศจิกายน 2569 เวลา 20.06 น."),
        ("มอบหมาย", "malee", "19 พฤศจิกายน 2569 เวลา 9.06 น."),
        ("ส่งต่อ", "wichai", "19 พฤศจิกายน 2569 เวลา 9.36 น."),
        ("ดำเนินการแล้ว", "wichai", "20 พฤศจิกายน 2569 เวลา 11.36 น."),
    ]
    details = [h["detail"] for h in history(cm, letter_id)[1:]]
    assert details == [
        {"minute": "ทราบ มอบกลุ่มงานยุทธศาสตร์ฯ", "instruction": "พิจารณาดำเนินการ", "by": "ผวจ.ชม."},
        {"to": DIVISION, "note": "ด่วน"},
        {"to": "นายวิชัย ใจดี", "note": "", "from": DIVISION},
        {"note": "ส่งข้อมูลแล้ว"},
    ]
    assert counts(cm)["feed"] == feed_before  # the steps stay inside the office


def test_minute_written_after_assigning_keeps_the_letter_with_its_holder(cm: Node) -> None:
    letter_id = paper_letter(cm)["id"]
    step(cm, letter_id, "assign", {"to": DIVISION})
    again = step(cm, letter_id, "minute", {"text": "เร่งรัดให้แล้วเสร็จภายในสัปดาห์นี้"})
    assert again["stage"] == "assigned"
    shown = ok(cm, "GET", f"/api/letters/{letter_id}")
    assert (shown["stage_th"], shown["assigned_to"], shown["minuted_by"]) == (
        "มอบหมายแล้ว",
        DIVISION,
        "malee",
    )
    assert shown["minute"] == "เร่งรัดให้แล้วเสร็จภายในสัปดาห์นี้"


def test_electronic_letter_is_registered_before_its_workflow(fed: Federation) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    sent = cr.send(recipients=[CHIANG_MAI], subject="ขอเชิญประชุมคณะทำงานภาคเหนือตอนบน")
    assert cr.sync().ok and cm.sync().ok
    (arrived,) = cm.inbox()
    letter_id = arrived["id"]
    assert (arrived["state"], arrived["number"], arrived["receipt_number"]) == (
        "delivered",
        "ชร 0017/1",
        None,
    )
    for action, body in (("minute", {"text": "ทราบ"}), ("assign", {"to": DIVISION}), ("done", {})):
        status, data = api(cm, "POST", f"/api/letters/{letter_id}/{action}", body)
        assert (status, data["message_th"]) == (409, "ต้องลงรับหนังสือก่อนดำเนินการขั้นต่อไป")

    stamp = ok(cm, "POST", f"/api/letters/{letter_id}/register", {}, user="malee")
    assert (stamp["receipt_number"], stamp["register"]) == ("1", "ชม 0017|รับ|2569")
    assert stamp["registered_at_th"] == "18 พฤศจิกายน 2569 เวลา 18.06 น."
    assert stage(cm, letter_id) == ("registered", "ลงรับแล้ว")
    feed_before = counts(cm)["feed"]
    step(cm, letter_id, "minute", {"text": "ทราบ มอบ กยศ."}, user="somsak")
    step(cm, letter_id, "assign", {"to": DIVISION}, user="malee")
    step(cm, letter_id, "done", {"note": "แจ้งผู้เข้าประชุมแล้ว"}, user="wichai")
    assert counts(cm)["feed"] == feed_before
    assert [(h["action"], h["action_th"], h["actor"]) for h in history(cm, letter_id)] == [
        ("letter_received", "ได้รับหนังสือ", "system"),
        ("register_receipt", "ลงรับ", "malee"),
        ("minute", "เกษียน/สั่งการ", "somsak"),
        ("assign", "มอบหมาย", "malee"),
        ("complete", "ดำเนินการแล้ว", "wichai"),
    ]
    assert cm.sync().ok and cr.sync().ok
    (tracking,) = cr.call("GET", f"/api/letters/{sent['id']}")["tracking"]
    assert (tracking["office"], tracking["state"], tracking["receipt_number"]) == (
        CHIANG_MAI,
        "registered",
        "1",
    )


# -- steps out of order ---------------------------------------------------------------------

Step = tuple[str, dict[str, Any]]

WORKFLOW_MISTAKES: dict[str, tuple[list[Step], Step, int, str]] = {
    "forward_before_assign": (
        [("minute", {"text": "ทราบ"})],
        ("forward", {"to": DIVISION}),
        409,
        "หนังสือนี้ยังไม่ได้มอบหมาย ให้มอบหมายก่อนส่งต่อ",
    ),
    "assign_to_the_same_holder_again": (
        [("assign", {"to": DIVISION})],
        ("assign", {"to": DIVISION}),
        409,
        f"หนังสือนี้อยู่กับ {DIVISION} แล้ว",
    ),
    "forward_to_the_current_holder": (
        [("assign", {"to": DIVISION}), ("forward", {"to": "นายวิชัย"})],
        ("forward", {"to": "นายวิชัย"}),
        409,
        "หนังสือนี้อยู่กับ นายวิชัย แล้ว",
    ),
    "minute_after_done": (
        [("done", {})],
        ("minute", {"text": "ขอทบทวน"}),
        409,
        "หนังสือนี้ดำเนินการแล้ว ไม่สามารถเกษียนได้",
    ),
    "assign_after_done": (
        [("assign", {"to": DIVISION}), ("done", {})],
        ("assign", {"to": "นายวิชัย"}),
        409,
        "หนังสือนี้ดำเนินการแล้ว ไม่สามารถมอบหมายได้",
    ),
    "forward_after_done": (
        [("assign", {"to": DIVISION}), ("done", {})],
        ("forward", {"to": "นายวิชัย"}),
        409,
        "หนังสือนี้ดำเนินการแล้ว ไม่สามารถมอบหมายได้",
    ),
    "done_twice": ([("done", {})], ("done", {}), 409, "หนังสือนี้ดำเนินการแล้ว"),
    "minute_without_text": ([], ("minute", {"instruction": "ดำเนินการ"}), 400, "กรุณาระบุข้อความเกษียน"),
    "minute_of_blank_text": ([], ("minute", {"text": "  \u200b "}), 400, "กรุณาระบุข้อความเกษียน"),
    "assign_without_to": ([], ("assign", {"note": "ด่วน"}), 400, "กรุณาระบุผู้รับมอบหมาย"),
    "forward_without_to": (
        [("assign", {"to": DIVISION})],
        ("forward", {}),
        400,
        "กรุณาระบุผู้รับมอบหมาย",
    ),
    "minute_text_not_text": ([], ("minute", {"text": ["ทราบ"]}), 400, "ช่อง text ต้องเป็นข้อความ"),
}


@pytest.mark.parametrize("case", sorted(WORKFLOW_MISTAKES))
def test_workflow_step_out_of_order_is_refused_and_changes_nothing(cm: Node, case: str) -> None:
    before_steps, (action, body), status, message = WORKFLOW_MISTAKES[case]
    letter_id = paper_letter(cm)["id"]
    for done_action, done_body in before_steps:
        step(cm, letter_id, done_action, done_body)
    kept, steps = ok(cm, "GET", f"/api/letters/{letter_id}"), history(cm, letter_id)
    got, data = api(cm, "POST", f"/api/letters/{letter_id}/{action}", body)
    assert (got, data["message_th"]) == (status, message)
    after = ok(cm, "GET", f"/api/letters/{letter_id}")
    for column in ("stage", "assigned_to", "minute", "done_at"):
        assert after[column] == kept[column]
    assert history(cm, letter_id) == steps


NOT_RECEIVED: dict[str, tuple[str, int | None]] = {
    "minute_of_no_such_letter": ("minute", 99),
    "assign_of_no_such_letter": ("assign", 99),
    "forward_of_a_letter_this_office_sent": ("forward", None),
    "done_of_a_letter_this_office_sent": ("done", None),
}


@pytest.mark.parametrize("case", sorted(NOT_RECEIVED))
def test_workflow_on_a_letter_that_was_not_received_is_not_found(cm: Node, case: str) -> None:
    action, letter_id = NOT_RECEIVED[case]
    sent = cm.send(parties=["บริษัท ล้านนาการพิมพ์ จำกัด"], method="ไปรษณีย์ลงทะเบียน")
    target = letter_id or sent["id"]  # None: the letter just sent
    status, data = api(cm, "POST", f"/api/letters/{target}/{action}", {"text": "x", "to": "y"})
    assert (status, data["error"], data["message_th"]) == (404, "not_found", "ไม่พบหนังสือรับ")


# -- classified letters ---------------------------------------------------------------------


def test_classified_paper_letter_goes_to_the_control_register(cm: Node) -> None:
    ordinary = paper_letter(cm)
    secret = paper_letter(
        cm, subject="ขอข้อมูลผู้ต้องสงสัย", origin=POLICE, number="ตช 0017/1", secrecy="ลับ"
    )
    very = paper_letter(
        cm, subject="แผนเผชิญเหตุ", origin=POLICE, number="ตช 0017/2", secrecy="ลับมาก"
    )
    assert (ordinary["register"], ordinary["receipt_number"]) == ("ชม 0017|รับ|2569", "1")
    assert (secret["register"], secret["receipt_number"]) == ("ชม 0017|ลับ|2569", "1")
    assert (very["register"], very["receipt_number"]) == ("ชม 0017|ลับ|2569", "2")
    shown = ok(cm, "GET", f"/api/letters/{secret['id']}", user=None)
    assert (shown["receipt_register"], shown["secrecy"]) == ("ชม 0017|ลับ|2569", "ลับ")
    assert paper_letter(cm, number="อว 8393/1235", subject="อีกฉบับ")["receipt_number"] == "2"
    on_the_wire = [(b["register"], b["display"], b["subject"]) for b in feed_bodies(cm)]
    assert on_the_wire[1:3] == [("ชม 0017|ลับ|2569", "1", None), ("ชม 0017|ลับ|2569", "2", None)]


VIEWERS: dict[str, tuple[dict[str, str | None], bool]] = {
    "clerk": ({"user": "somchai", "roles": "clerk"}, False),
    "officer_of_another_division": (
        {"user": "somchai", "roles": "officer", "divisions": "ชม 0017.1"},
        False,
    ),
    "executive": ({"user": "governor", "roles": "executive"}, False),
    "unknown_role": ({"user": "somchai", "roles": "superuser"}, False),
    "registrar": ({"user": "nid", "roles": "registrar"}, True),
    "registrar_assistant": ({"user": "nok", "roles": "clerk,registrar_assistant"}, True),
    "node_operator": ({"user": None}, True),
}


@pytest.mark.parametrize("case", sorted(VIEWERS))
def test_classified_letter_is_shown_only_to_those_entitled(cm: Node, case: str) -> None:
    who, sees = VIEWERS[case]
    ordinary = paper_letter(cm)["id"]
    secret = paper_letter(cm, subject="ขอข้อมูลผู้ต้องสงสัย", origin=POLICE, secrecy="ลับ")["id"]
    listed = ok(cm, "GET", "/api/letters", **who)["letters"]
    assert [(r["id"], r["hidden"]) for r in listed] == [(secret, not sees), (ordinary, False)]
    if not sees:  # listed as existing: its number and class, never its subject or sender
        assert (listed[0]["secrecy"], listed[0]["subject"], listed[0]["origin"]) == (
            "ลับ",
            None,
            None,
        )
        assert "ผู้ต้องสงสัย" not in str(listed) and POLICE not in str(listed)
    for path in (f"/api/letters/{secret}", f"/api/letters/{secret}/history"):
        status, data = api(cm, "GET", path, **who)
        if sees:
            assert status == 200
        else:
            assert (status, data["message_th"]) == (404, "ไม่พบหนังสือ")
            assert "ผู้ต้องสงสัย" not in str(data)
    status, data = api(cm, "POST", f"/api/letters/{secret}/minute", {"text": "ทราบ"}, **who)
    assert status == (200 if sees else 404), data


def test_classified_letter_is_opened_by_the_person_it_was_assigned_to(cm: Node) -> None:
    secret = paper_letter(cm, subject="ขอข้อมูลผู้ต้องสงสัย", origin=POLICE, secrecy="ลับ")["id"]
    somchai = {"user": "somchai", "roles": "clerk"}
    assert api(cm, "GET", f"/api/letters/{secret}", **somchai)[0] == 404
    step(cm, secret, "assign", {"to": "somchai"}, user="nid", roles="registrar")
    assert ok(cm, "GET", f"/api/letters/{secret}", **somchai)["subject"] == "ขอข้อมูลผู้ต้องสงสัย"
    assert [r["id"] for r in ok(cm, "GET", "/api/letters", **somchai)["letters"]] == [secret]
    assert api(cm, "GET", f"/api/letters/{secret}", user="malee", roles="clerk")[0] == 404

    step(cm, secret, "forward", {"to": DIVISION}, **somchai)
    assert api(cm, "GET", f"/api/letters/{secret}", **somchai)[0] == 404  # no longer holds it
    member = {"user": "wichai", "roles": "officer", "divisions": DIVISION}
    assert ok(cm, "GET", f"/api/letters/{secret}", **member)["assigned_to"] == DIVISION
    step(cm, secret, "done", {"note": "รายงานแล้ว"}, **member)
    assert [(h["action"], h["actor"]) for h in history(cm, secret)] == [
        ("register_paper_letter", "malee"),
        ("assign", "nid"),
        ("forward", "somchai"),
        ("complete", "wichai"),
    ]


# -- bad paper letters ----------------------------------------------------------------------

GOOD_PAPER = {"subject": "ขอความอนุเคราะห์", "origin": UNIVERSITY}

BAD_PAPER_LETTERS: dict[str, tuple[dict[str, Any], str]] = {
    "date_in_words": ({**GOOD_PAPER, "letter_date": "เมื่อวานนี้"}, "bad_date"),
    "thirty_first_of_february": ({**GOOD_PAPER, "letter_date": "31 กุมภาพันธ์ 2569"}, "bad_date"),
    "christian_era_in_thai_form": ({**GOOD_PAPER, "letter_date": "15 พฤศจิกายน 2026"}, "bad_date"),
    "month_thirteen": ({**GOOD_PAPER, "letter_date": "2026-13-01"}, "bad_date"),
    "no_subject": ({"origin": UNIVERSITY}, "paper_fields_required"),
    "no_origin": ({"subject": "ขอความอนุเคราะห์"}, "paper_fields_required"),
    "unknown_secrecy": ({**GOOD_PAPER, "secrecy": "ปกปิด"}, "bad_secrecy"),
    "unknown_speed": ({**GOOD_PAPER, "speed": "ด่วนจี๋"}, "bad_speed"),
    "unknown_letter_type": ({**GOOD_PAPER, "letter_type": "ไปรษณียบัตร"}, "bad_letter_type"),
    "order_without_sub_type": ({**GOOD_PAPER, "letter_type": "สั่งการ"}, "bad_letter_type"),
    "scan_not_base64": (
        {**GOOD_PAPER, "attachments": [{**scan(), "content_base64": "ไม่ใช่ base64"}]},
        "bad_attachment",
    ),
    "scan_without_name": (
        {**GOOD_PAPER, "attachments": [{**scan(), "name": ""}]},
        "bad_attachment",
    ),
    "subject_not_text": ({**GOOD_PAPER, "subject": 12}, "bad_field"),
}


@pytest.mark.parametrize("case", sorted(BAD_PAPER_LETTERS))
def test_bad_paper_letter_is_refused_in_thai_and_takes_no_number(cm: Node, case: str) -> None:
    payload, error = BAD_PAPER_LETTERS[case]
    before = counts(cm)
    status, data = api(cm, "POST", "/api/paper-letters", payload)
    assert (status, data["error"]) == (400, error)
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in data["message_th"])
    assert counts(cm) == before
    assert paper_letter(cm)["receipt_number"] == "1"  # the register has no gap


def test_unreadable_date_names_an_example_in_thai(cm: Node) -> None:
    status, data = api(cm, "POST", "/api/paper-letters", {**GOOD_PAPER, "letter_date": "วันจันทร์"})
    assert (status, data["error"]) == (400, "bad_date")
    assert data["message_th"] == "อ่านวันที่ของหนังสือไม่ได้ (ตัวอย่าง: 23 พฤศจิกายน 2569)"


DATE_FORMS = {
    "full_month": "15 พฤศจิกายน 2569",
    "abbreviated": "15 พ.ย. 2569",
    "abbreviated_without_dots": "15 พย 2569",
    "with_era": "15 พฤศจิกายน พ.ศ. 2569",
    "thai_digits": "๑๕ พฤศจิกายน ๒๕๖๙",
    "iso": "2026-11-15",
}


@pytest.mark.parametrize("case", sorted(DATE_FORMS))
def test_letter_date_as_typed_is_kept_in_one_thai_form(cm: Node, case: str) -> None:
    letter_id = paper_letter(cm, letter_date=DATE_FORMS[case])["id"]
    shown = ok(cm, "GET", f"/api/letters/{letter_id}")
    assert (shown["letter_date"], shown["letter_day"]) == ("15 พฤศจิกายน 2569", "2026-11-15")
