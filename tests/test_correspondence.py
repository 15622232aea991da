"""Sending letters as a clerk does it: draft → ออกเลข → dispatch, the one-step send, the kinds
of letter and their registers, a division's own counter, speed and secrecy classes, paper
dispatch, reserved numbers, year boundaries, and bad input that stores nothing.

Every node here works with a hand-made directory and no hub (``offline_node`` + PaperHub);
time comes from the test's Clock, which starts on 18 Nov 2569 at 18.06 น. Bangkok.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock, bangkok
from test_node_support import Node, PaperHub, offline_node, publish

from protocol.canonical import parse_canonical
from protocol.envelope import Envelope
from protocol.keys import Signer

DIVISION = "ชม 0017.3"
PILOT_LIST = "pilot-centres"
REGISTERED_POST = "ไปรษณีย์ลงทะเบียน"
OUTSIDER = "บริษัท ล้านนาการพิมพ์ จำกัด"
DEADLINE = "2026-11-25T16:00+07:00"


def make_office(tmp_path: Path, clock: Clock, **config: Any) -> Node:
    """ชม 0017 with ชร 0017 and ขก 0017 in its directory and one distribution list."""
    paper = PaperHub()
    node = offline_node(tmp_path, CHIANG_MAI, paper, clock, **config)
    for office in (CHIANG_RAI, KHON_KAEN):  # enrolled elsewhere: only their keys are listed
        paper.offices[office] = Signer.generate(office)
    paper.lists = {
        PILOT_LIST: {
            "title": "ศูนย์ปฏิบัติการจังหวัดนำร่อง",
            "members": [CHIANG_MAI, CHIANG_RAI, KHON_KAEN],
        }
    }
    publish(paper, node)
    return node


@pytest.fixture
def cm(tmp_path: Path, clock: Clock) -> Node:
    return make_office(tmp_path, clock)


def api(
    node: Node, method: str, path: str, body: Any = None, user: str | None = "malee"
) -> tuple[int, Any]:
    """One call to the node's API as the named clerk (None: the node's operator)."""
    headers = {**node.headers, **({"X-Saraban-User": user} if user else {})}
    resp = node.client.open(path, method=method, json=body, headers=headers)
    return resp.status_code, resp.get_json()


def ok(node: Node, method: str, path: str, body: Any = None, user: str | None = "malee") -> Any:
    status, data = api(node, method, path, body, user)
    assert status in (200, 201), (status, data)
    return data


def draft(node: Node, user: str = "malee", **fields: Any) -> int:
    fields.setdefault("subject", "ขอเชิญประชุมคณะทำงาน")
    created = ok(node, "POST", "/api/drafts", fields, user)
    assert created["state"] == "draft"
    return int(created["id"])


def letter(node: Node, letter_id: int) -> Any:
    """The letter as the node's operator sees it (classified letters included)."""
    return ok(node, "GET", f"/api/letters/{letter_id}", user=None)


def counts(node: Node) -> dict[str, int]:
    tables = ("letters", "feed", "register_entries", "recipients", "audit")
    return {t: node.rows(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in tables}


def feed_bodies(node: Node) -> list[dict[str, Any]]:
    return [
        parse_canonical(Envelope.from_bytes(r["envelope"]).body)
        for r in node.rows("SELECT envelope FROM feed ORDER BY seq")
    ]


def assert_thai(message: str) -> None:
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in message), message


# -- draft → ออกเลข → dispatch ---------------------------------------------------------------


def test_draft_is_numbered_then_dispatched_with_every_step_in_its_history(
    cm: Node, clock: Clock
) -> None:
    letter_id = draft(cm, user="malee", recipients=[CHIANG_RAI])
    kept = letter(cm, letter_id)
    assert (kept["number"], kept["state"], kept["stage_th"]) == (None, "draft", "ร่าง")
    assert ok(cm, "GET", "/api/status")["outbox"] == 0
    assert feed_bodies(cm) == []

    clock.advance(30 * 60)
    numbered = ok(cm, "POST", f"/api/letters/{letter_id}/number", {}, user="somsak")
    assert numbered["number"] == "ชม 0017/1"
    assert numbered["letter_date"] == "18 พฤศจิกายน 2569"
    assert numbered["register"] == "ชม 0017|ส่ง|2569"
    assert letter(cm, letter_id)["stage_th"] == "ออกเลขแล้ว"
    assert [b["display"] for b in feed_bodies(cm)] == ["ชม 0017/1"]  # the register entry only

    clock.advance(15 * 60)
    sent = ok(cm, "POST", f"/api/letters/{letter_id}/dispatch", {}, user="malee")
    assert (sent["state"], sent["number"], sent["recipients"]) == (
        "queued",
        "ชม 0017/1",
        [CHIANG_RAI],
    )
    assert ok(cm, "GET", "/api/status")["outbox"] == 2
    shown = letter(cm, letter_id)
    assert shown["stage_th"] == "ส่งแล้ว"
    assert [(t["office"], t["state"]) for t in shown["tracking"]] == [(CHIANG_RAI, "queued")]
    envelope = feed_bodies(cm)[-1]
    assert (envelope["number"], envelope["letter_date"]) == ("ชม 0017/1", "18 พฤศจิกายน 2569")

    history = ok(cm, "GET", f"/api/letters/{letter_id}/history")["history"]
    assert [(h["action"], h["action_th"], h["actor"], h["at_th"]) for h in history] == [
        ("create_draft", "ร่างหนังสือ", "malee", "18 พฤศจิกายน 2569 เวลา 18.06 น."),
        ("issue_number", "ออกเลข", "somsak", "18 พฤศจิกายน 2569 เวลา 18.36 น."),
        ("dispatch", "ส่งหนังสือ", "malee", "18 พฤศจิกายน 2569 เวลา 18.51 น."),
    ]
    assert history[1]["detail"]["number"] == "ชม 0017/1"


def test_dispatch_before_numbering_is_refused_and_sends_nothing(cm: Node) -> None:
    letter_id = draft(cm, recipients=[CHIANG_RAI])
    before = counts(cm)
    status, data = api(cm, "POST", f"/api/letters/{letter_id}/dispatch", {})
    assert (status, data["error"]) == (409, "conflict")
    assert data["message_th"] == "กรุณาออกเลขหนังสือก่อนส่ง"
    assert counts(cm) == before
    assert letter(cm, letter_id)["state"] == "draft"


def test_subject_of_a_draft_can_be_corrected_before_numbering(cm: Node) -> None:
    letter_id = draft(cm, subject="ขอเชิญประชุม", recipients=[CHIANG_RAI])
    ok(cm, "PATCH", f"/api/letters/{letter_id}", {"subject": "ขอเชิญประชุมคณะทำงาน ครั้งที่ 2"})
    number = ok(cm, "POST", f"/api/letters/{letter_id}/number", {})["number"]
    ok(cm, "POST", f"/api/letters/{letter_id}/dispatch", {})
    assert letter(cm, letter_id)["subject"] == "ขอเชิญประชุมคณะทำงาน ครั้งที่ 2"
    sent = feed_bodies(cm)[-1]
    assert (sent["subject"], sent["number"]) == ("ขอเชิญประชุมคณะทำงาน ครั้งที่ 2", number)
    edit = letter(cm, letter_id)["history"][1]
    assert (edit["action_th"], edit["detail"]) == ("แก้ไขร่าง", {"fields": ["subject"]})


FIXED_ONCE_NUMBERED: dict[str, dict[str, Any]] = {
    "to_an_internal_memo": {"letter_type": "ภายใน"},
    "to_an_order": {"letter_type": "สั่งการ", "sub_type": "คำสั่ง"},
    "to_the_circular_series": {"series": "ว"},
    "to_a_division": {"unit": DIVISION},
}


@pytest.mark.parametrize("case", sorted(FIXED_ONCE_NUMBERED))
def test_kind_unit_and_register_are_fixed_once_numbered(cm: Node, case: str) -> None:
    ok(cm, "POST", "/api/units", {"code": DIVISION, "name": "กลุ่มงานยุทธศาสตร์"})
    letter_id = draft(cm, recipients=[CHIANG_RAI])
    ok(cm, "POST", f"/api/letters/{letter_id}/number", {})
    before = letter(cm, letter_id)
    status, data = api(cm, "PATCH", f"/api/letters/{letter_id}", FIXED_ONCE_NUMBERED[case])
    assert (status, data["error"]) == (409, "conflict")
    assert (
        data["message_th"] == "ออกเลขแล้ว ไม่สามารถเปลี่ยนชนิดหนังสือ หน่วยงาน ทะเบียน ชั้นความลับ หรือบัญชีผู้รับได้"
    )
    after = letter(cm, letter_id)
    for column in ("letter_type", "sub_type", "unit", "number", "register", "state"):
        assert after[column] == before[column]


def test_sent_letter_cannot_be_edited(cm: Node) -> None:
    letter_id = draft(cm, subject="ขอเชิญประชุม", recipients=[CHIANG_RAI])
    ok(cm, "POST", f"/api/letters/{letter_id}/number", {})
    ok(cm, "POST", f"/api/letters/{letter_id}/dispatch", {})
    for change in ({"subject": "เรื่องใหม่"}, {"recipients": [KHON_KAEN]}):
        status, data = api(cm, "PATCH", f"/api/letters/{letter_id}", change)
        assert (status, data["message_th"]) == (409, "หนังสือนี้ส่งออกแล้ว ไม่สามารถแก้ไขได้")
    status, data = api(cm, "POST", f"/api/letters/{letter_id}/dispatch", {})
    assert status == 409 and data["message_th"] == "หนังสือนี้ส่งออกแล้ว ไม่สามารถแก้ไขได้"
    assert letter(cm, letter_id)["subject"] == "ขอเชิญประชุม"
    assert [h["action"] for h in letter(cm, letter_id)["history"]] == [
        "create_draft",
        "issue_number",
        "dispatch",
    ]


def test_secrecy_cannot_be_raised_after_the_number_published_the_subject(cm: Node) -> None:
    letter_id = draft(cm, subject="แผนรักษาความปลอดภัยบุคคลสำคัญ", recipients=[CHIANG_RAI])
    ok(cm, "POST", f"/api/letters/{letter_id}/number", {})
    assert feed_bodies(cm)[-1]["subject"] == "แผนรักษาความปลอดภัยบุคคลสำคัญ"
    change = {"secrecy": "ลับ", "recipients": [], "parties": ["ผู้บังคับการตำรวจภูธรจังหวัด"]}
    status, _ = api(cm, "PATCH", f"/api/letters/{letter_id}", change)
    assert status == 409


# -- kinds of letter and their registers ----------------------------------------------------

NUMBERED_INSTRUMENTS = {
    "order": ("สั่งการ", "คำสั่ง", "คำสั่งจังหวัดเชียงใหม่ ที่ 1/2569", "ชม 0017|คำสั่ง|2569"),
    "announcement": (
        "ประชาสัมพันธ์",
        "ประกาศ",
        "ประกาศจังหวัดเชียงใหม่ ที่ 1/2569",
        "ชม 0017|ประกาศ|2569",
    ),
}


@pytest.mark.parametrize("kind", sorted(NUMBERED_INSTRUMENTS))
def test_orders_and_announcements_run_their_own_series_under_the_provinces_name(
    cm: Node, kind: str
) -> None:
    letter_type, sub_type, expected, register = NUMBERED_INSTRUMENTS[kind]
    ordinary = cm.send(recipients=[CHIANG_RAI])
    instrument = cm.send(recipients=[CHIANG_RAI], letter_type=letter_type, sub_type=sub_type)
    second = cm.send(recipients=[CHIANG_RAI], letter_type=letter_type, sub_type=sub_type)
    assert ordinary["number"] == "ชม 0017/1"
    assert instrument["number"] == expected
    assert second["number"] == expected.replace("ที่ 1/", "ที่ 2/")
    assert cm.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/2"
    shown = letter(cm, instrument["id"])
    assert (shown["register"], shown["sub_type"]) == (register, sub_type)


def test_order_without_its_sub_type_is_refused(cm: Node) -> None:
    status, data = api(
        cm,
        "POST",
        "/api/letters",
        {"subject": "แต่งตั้ง", "recipients": [CHIANG_RAI], "letter_type": "สั่งการ"},
    )
    assert (status, data["error"]) == (400, "sub_type_required")
    assert data["message_th"] == "หนังสือสั่งการต้องระบุประเภทย่อย: คำสั่ง ระเบียบ ข้อบังคับ"


UNNUMBERED_INSTRUMENTS = {
    "regulation": ("สั่งการ", "ระเบียบ"),
    "bylaw": ("สั่งการ", "ข้อบังคับ"),
    "statement": ("ประชาสัมพันธ์", "แถลงการณ์"),
    "news": ("ประชาสัมพันธ์", "ข่าว"),
}


@pytest.mark.parametrize("kind", sorted(UNNUMBERED_INSTRUMENTS))
def test_instruments_without_a_number_are_dispatched_as_they_are(cm: Node, kind: str) -> None:
    letter_type, sub_type = UNNUMBERED_INSTRUMENTS[kind]
    letter_id = draft(cm, recipients=[CHIANG_RAI], letter_type=letter_type, sub_type=sub_type)
    status, data = api(cm, "POST", f"/api/letters/{letter_id}/number", {})
    assert (status, data["message_th"]) == (409, f"{sub_type}ไม่ต้องออกเลขทะเบียนส่ง ให้ส่งได้ทันที")
    sent = ok(cm, "POST", f"/api/letters/{letter_id}/dispatch", {})
    assert (sent["state"], sent["number"]) == ("queued", None)
    shown = letter(cm, letter_id)
    assert (shown["number"], shown["stage_th"]) == (None, "ส่งแล้ว")
    assert shown["letter_date"] == "18 พฤศจิกายน 2569"
    assert counts(cm)["register_entries"] == 0
    (envelope,) = feed_bodies(cm)
    assert (envelope["sub_type"], envelope["number"]) == (sub_type, None)
    assert cm.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/1"


def test_circular_to_a_list_is_numbered_in_the_circular_series(cm: Node) -> None:
    circular = cm.send(lists=[PILOT_LIST], subject="แจ้งเวียนแนวทางปฏิบัติ")
    assert circular["number"] == "ชม 0017/ว 1"
    assert circular["recipients"] == [CHIANG_RAI, KHON_KAEN]  # the office itself is skipped
    assert cm.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/1"
    assert cm.send(lists=[PILOT_LIST])["number"] == "ชม 0017/ว 2"
    tracking = letter(cm, circular["id"])["tracking"]
    assert [(t["office"], t["state"]) for t in tracking] == [
        (CHIANG_RAI, "queued"),
        (KHON_KAEN, "queued"),
    ]


def test_a_division_keeps_its_own_counter_beside_the_offices(cm: Node) -> None:
    saved = ok(cm, "POST", "/api/units", {"code": DIVISION, "name": "กลุ่มงานยุทธศาสตร์"})
    assert (saved["code"], saved["parent"]) == (DIVISION, CHIANG_MAI)
    numbers = [
        cm.send(recipients=[CHIANG_RAI])["number"],
        cm.send(recipients=[CHIANG_RAI], unit=DIVISION)["number"],
        cm.send(recipients=[CHIANG_RAI], unit=DIVISION)["number"],
        cm.send(recipients=[CHIANG_RAI])["number"],
        cm.send(lists=[PILOT_LIST], unit=DIVISION)["number"],
    ]
    assert numbers == ["ชม 0017/1", "ชม 0017.3/1", "ชม 0017.3/2", "ชม 0017/2", "ชม 0017.3/ว 1"]
    units = ok(cm, "GET", "/api/units")["units"]
    assert [(u["code"], u["name"]) for u in units] == [
        (CHIANG_MAI, "สำนักงานจังหวัดเชียงใหม่"),
        (DIVISION, "กลุ่มงานยุทธศาสตร์"),
    ]


def test_order_of_a_division_is_not_numbered_like_its_letters(cm: Node) -> None:
    ok(cm, "POST", "/api/units", {"code": DIVISION, "name": "กลุ่มงานยุทธศาสตร์"})
    order = {"subject": "แต่งตั้งคณะทำงาน", "recipients": [CHIANG_RAI], "unit": DIVISION}
    status, data = api(
        cm, "POST", "/api/letters", {**order, "letter_type": "สั่งการ", "sub_type": "คำสั่ง"}
    )
    ordinary = cm.send(recipients=[CHIANG_RAI], unit=DIVISION)
    if status == 400:  # refusing an order from a unit without an issuer would also do
        assert_thai(data["message_th"])
        return
    assert status == 201, data
    assert data["number"] != ordinary["number"]
    assert data["number"].startswith("คำสั่ง")


BAD_UNITS: dict[str, tuple[str, str, str]] = {
    "another_provinces_division": (
        "ชร 0017.1",
        "foreign_unit",
        "รหัส ชร 0017.1 ไม่ใช่หน่วยงานในสังกัด ชม 0017",
    ),
    "another_province": ("ชร 0017", "foreign_unit", "รหัส ชร 0017 ไม่ใช่หน่วยงานในสังกัด ชม 0017"),
    "digits_only": ("0017.3", "bad_unit_code", "รหัสหน่วยงานไม่ถูกต้อง (ตัวอย่าง: ชม 0017.3)"),
    "three_letters": ("ชมม 0017.3", "bad_unit_code", "รหัสหน่วยงานไม่ถูกต้อง (ตัวอย่าง: ชม 0017.3)"),
    "short_number": ("ชม 17.3", "bad_unit_code", "รหัสหน่วยงานไม่ถูกต้อง (ตัวอย่าง: ชม 0017.3)"),
    "latin_letters": ("CM 0017.3", "bad_unit_code", "รหัสหน่วยงานไม่ถูกต้อง (ตัวอย่าง: ชม 0017.3)"),
    "blank": ("", "bad_unit_code", "รหัสหน่วยงานไม่ถูกต้อง (ตัวอย่าง: ชม 0017.3)"),
}


@pytest.mark.parametrize("case", sorted(BAD_UNITS))
def test_unit_codes_that_are_not_the_offices_are_refused(cm: Node, case: str) -> None:
    code, error, message = BAD_UNITS[case]
    status, data = api(cm, "POST", "/api/units", {"code": code, "name": "กลุ่มงาน"})
    assert (status, data["error"], data["message_th"]) == (400, error, message)
    assert [u["code"] for u in ok(cm, "GET", "/api/units?all=1")["units"]] == [CHIANG_MAI]


def test_letter_for_a_unit_of_another_province_is_bad_input(cm: Node) -> None:
    before = counts(cm)
    status, data = api(
        cm,
        "POST",
        "/api/letters",
        {"subject": "x", "recipients": [CHIANG_RAI], "unit": "ชร 0017.1"},
    )
    assert counts(cm) == before
    assert status == 400, data
    assert "ชร 0017.1" in data["message_th"]


def test_division_code_typed_without_its_space_still_numbers_from_the_division(cm: Node) -> None:
    ok(cm, "POST", "/api/units", {"code": "ชม0017.3", "name": "กลุ่มงานยุทธศาสตร์"})
    status, data = api(
        cm, "POST", "/api/letters", {"subject": "x", "recipients": [CHIANG_RAI], "unit": "ชม0017.3"}
    )
    assert status == 201, data
    assert data["number"] == "ชม 0017.3/1"


# -- speed, paper dispatch and secrecy ------------------------------------------------------


def test_urgent_within_letter_carries_its_deadline(cm: Node) -> None:
    sent = cm.send(recipients=[CHIANG_RAI], speed="ด่วนภายใน", deadline=DEADLINE)
    shown = letter(cm, sent["id"])
    assert (shown["speed"], shown["deadline"]) == ("ด่วนภายใน", DEADLINE)
    envelope = feed_bodies(cm)[0]
    assert (envelope["speed"], envelope["deadline"]) == ("ด่วนภายใน", DEADLINE)


def test_paper_dispatch_to_an_outside_party_records_the_method(cm: Node) -> None:
    letter_id = draft(cm, parties=[OUTSIDER])
    ok(cm, "POST", f"/api/letters/{letter_id}/number", {})
    sent = ok(
        cm,
        "POST",
        f"/api/letters/{letter_id}/dispatch",
        {"method": REGISTERED_POST, "note": "EB123456789TH"},
    )
    assert (sent["state"], sent["env_id"], sent["parties"], sent["method"]) == (
        "dispatched",
        None,
        [OUTSIDER],
        REGISTERED_POST,
    )
    shown = letter(cm, letter_id)
    assert (shown["dispatch_method"], shown["dispatch_note"]) == (REGISTERED_POST, "EB123456789TH")
    assert [(t["office"], t["state"]) for t in shown["tracking"]] == [(OUTSIDER, "dispatched")]
    assert [b.get("action") for b in feed_bodies(cm)] == ["issued"]  # no letter envelope
    assert ok(cm, "GET", f"/api/letters/{letter_id}/history")["history"][-1]["detail"] == {
        "env_id": None,
        "offices": [],
        "parties": [OUTSIDER],
        "method": REGISTERED_POST,
    }


def test_tracking_shows_which_addressees_went_on_paper_and_how(cm: Node) -> None:
    sent = cm.send(recipients=[CHIANG_RAI], parties=[OUTSIDER], method=REGISTERED_POST)
    tracking = letter(cm, sent["id"])["tracking"]
    assert [(t["office"], t.get("channel"), t.get("method")) for t in tracking] == [
        (CHIANG_RAI, "hub", None),
        (OUTSIDER, "paper", REGISTERED_POST),
    ]


def test_letter_to_an_office_and_an_outside_party_goes_both_ways(cm: Node) -> None:
    sent = cm.send(recipients=[CHIANG_RAI], parties=[OUTSIDER], method=REGISTERED_POST)
    assert (sent["state"], sent["number"]) == ("queued", "ชม 0017/1")
    assert sent["env_id"] and sent["recipients"] == [CHIANG_RAI]
    tracking = letter(cm, sent["id"])["tracking"]
    assert [(t["office"], t["state"]) for t in tracking] == [
        (CHIANG_RAI, "queued"),
        (OUTSIDER, "dispatched"),
    ]
    envelope = next(b for b in feed_bodies(cm) if b.get("recipients"))
    assert envelope["recipients"] == [CHIANG_RAI]  # the outside party is not on the wire


@pytest.mark.parametrize("secrecy", ["ลับ", "ลับมาก", "ลับที่สุด"])
def test_classified_letter_goes_on_paper_and_its_subject_stays_home(cm: Node, secrecy: str) -> None:
    sent = cm.send(
        subject="แผนรักษาความปลอดภัยบุคคลสำคัญ",
        parties=["ผู้บังคับการตำรวจภูธรจังหวัดเชียงใหม่"],
        secrecy=secrecy,
        method="เจ้าหน้าที่นำส่ง",
    )
    assert (sent["state"], sent["number"], sent["env_id"]) == ("dispatched", "ชม 0017/1", None)
    (entry,) = feed_bodies(cm)
    assert (entry["display"], entry["subject"]) == ("ชม 0017/1", None)
    assert letter(cm, sent["id"])["secrecy"] == secrecy


def test_classified_draft_is_not_sent_to_an_office_without_a_sealing_key(cm: Node) -> None:
    letter_id = draft(cm, subject="ขอข้อมูลบุคคล", recipients=[CHIANG_RAI], secrecy="ลับ")
    ok(cm, "POST", f"/api/letters/{letter_id}/number", {})
    (entry,) = feed_bodies(cm)
    assert (entry["display"], entry["subject"]) == ("ชม 0017/1", None)
    before = counts(cm)
    status, data = api(cm, "POST", f"/api/letters/{letter_id}/dispatch", {})
    assert (status, data["error"]) == (400, "no_seal_key")
    assert counts(cm) == before
    ok(
        cm,
        "PATCH",
        f"/api/letters/{letter_id}",
        {"recipients": [], "parties": ["ผู้ว่าราชการจังหวัดเชียงราย"]},
    )
    sent = ok(cm, "POST", f"/api/letters/{letter_id}/dispatch", {"method": "เจ้าหน้าที่นำส่ง"})
    assert (sent["state"], sent["number"]) == ("dispatched", "ชม 0017/1")


# -- reserved numbers and year boundaries ---------------------------------------------------


def test_reserved_number_is_given_to_the_draft_that_asks_for_it(cm: Node) -> None:
    reserved = ok(cm, "POST", "/api/registers/ส่ง/reserve", {"reason": "จองให้ผู้ว่าราชการจังหวัด"})
    assert (reserved["number"], reserved["display"]) == (1, "ชม 0017/1")
    assert cm.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/2"
    letter_id = draft(cm, recipients=[CHIANG_RAI])
    numbered = ok(cm, "POST", f"/api/letters/{letter_id}/number", {"reserved_number": 1})
    assert numbered["number"] == "ชม 0017/1"
    ok(cm, "POST", f"/api/letters/{letter_id}/dispatch", {})

    again = draft(cm, recipients=[CHIANG_RAI])
    status, data = api(cm, "POST", f"/api/letters/{again}/number", {"reserved_number": 1})
    assert (status, data["message_th"]) == (409, "เลขนี้ไม่ได้ถูกจองไว้")
    assert letter(cm, again)["number"] is None
    assert ok(cm, "POST", f"/api/letters/{again}/number", {})["number"] == "ชม 0017/3"
    (register,) = ok(cm, "GET", "/api/registers")["registers"]
    assert [(e["number"], e["action"], e["letter"]) for e in register["entries"]] == [
        (1, "issued", letter_id),
        (2, "issued", 1),
        (3, "issued", again),
    ]


def test_division_draft_numbered_after_bangkok_midnight_starts_the_new_year(
    cm: Node, clock: Clock
) -> None:
    ok(cm, "POST", "/api/units", {"code": DIVISION, "name": "กลุ่มงานยุทธศาสตร์"})
    clock.t = bangkok(2026, 12, 31, 23, 58)
    first = draft(cm, recipients=[CHIANG_RAI], unit=DIVISION)
    late = draft(cm, recipients=[CHIANG_RAI], unit=DIVISION)  # written in 2569...
    assert ok(cm, "POST", f"/api/letters/{first}/number", {})["number"] == "ชม 0017.3/1"
    clock.t = bangkok(2026, 12, 31, 23, 59)
    second = draft(cm, recipients=[CHIANG_RAI], unit=DIVISION)
    old_year = ok(cm, "POST", f"/api/letters/{second}/number", {})
    assert (old_year["number"], old_year["letter_date"]) == ("ชม 0017.3/2", "31 ธันวาคม 2569")
    assert cm.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/1"
    clock.t = bangkok(2027, 1, 1, 0, 1)  # still 31 Dec in UTC
    new_year = ok(cm, "POST", f"/api/letters/{late}/number", {})  # ...numbered in 2570
    assert (new_year["number"], new_year["letter_date"]) == ("ชม 0017.3/1", "1 มกราคม 2570")
    assert new_year["register"] == "ชม 0017.3|ส่ง|2570"
    assert cm.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/1"
    highs = {r["id"]: r["high"] for r in ok(cm, "GET", "/api/registers")["registers"]}
    assert highs == {
        "ชม 0017.3|ส่ง|2569": 2,
        "ชม 0017.3|ส่ง|2570": 1,
        "ชม 0017|ส่ง|2569": 1,
        "ชม 0017|ส่ง|2570": 1,
    }


def test_fiscal_division_register_restarts_on_first_october_but_circulars_do_not(
    tmp_path: Path, clock: Clock
) -> None:
    node = make_office(tmp_path, clock, YEAR_BASIS={"ส่ง": "fiscal"})
    ok(node, "POST", "/api/units", {"code": DIVISION, "name": "กลุ่มงานยุทธศาสตร์"})
    clock.t = bangkok(2026, 9, 30, 23, 59)
    before = [
        node.send(recipients=[CHIANG_RAI], unit=DIVISION)["number"],
        node.send(recipients=[CHIANG_RAI], unit=DIVISION)["number"],
        node.send(recipients=[CHIANG_RAI])["number"],
        node.send(lists=[PILOT_LIST], unit=DIVISION)["number"],
    ]
    assert before == ["ชม 0017.3/1", "ชม 0017.3/2", "ชม 0017/1", "ชม 0017.3/ว 1"]
    clock.t = bangkok(2026, 10, 1, 0, 1)
    after = [
        node.send(recipients=[CHIANG_RAI], unit=DIVISION)["number"],
        node.send(recipients=[CHIANG_RAI])["number"],
        node.send(lists=[PILOT_LIST], unit=DIVISION)["number"],
    ]
    assert after == ["ชม 0017.3/1", "ชม 0017/1", "ชม 0017.3/ว 2"]
    highs = {
        r["id"]: (r["basis"], r["high"]) for r in ok(node, "GET", "/api/registers")["registers"]
    }
    assert highs == {
        "ชม 0017.3|ส่ง|2569": ("fiscal", 2),
        "ชม 0017.3|ส่ง|2570": ("fiscal", 1),
        "ชม 0017|ส่ง|2569": ("fiscal", 1),
        "ชม 0017|ส่ง|2570": ("fiscal", 1),
        "ชม 0017.3|ว|2569": ("calendar", 2),
    }


# -- bad input stores nothing ---------------------------------------------------------------

GOOD = {"subject": "ขอเชิญประชุม", "recipients": [CHIANG_RAI]}
TO_OUTSIDER = {"subject": "ขอเชิญประชุม", "parties": [OUTSIDER], "method": REGISTERED_POST}

BAD_SENDS: dict[str, tuple[dict[str, Any], int, str]] = {
    "order_without_sub_type": ({**GOOD, "letter_type": "สั่งการ"}, 400, "sub_type_required"),
    "announcement_with_an_order_sub_type": (
        {**GOOD, "letter_type": "ประชาสัมพันธ์", "sub_type": "คำสั่ง"},
        400,
        "sub_type_required",
    ),
    "external_letter_with_a_sub_type": ({**GOOD, "sub_type": "คำสั่ง"}, 400, "bad_sub_type"),
    "urgent_within_without_deadline": ({**GOOD, "speed": "ด่วนภายใน"}, 400, "bad_deadline"),
    "deadline_without_time_zone": (
        {**GOOD, "speed": "ด่วนภายใน", "deadline": "2026-11-25T16:00"},
        400,
        "bad_deadline",
    ),
    "deadline_in_words": ({**GOOD, "speed": "ด่วนภายใน", "deadline": "พรุ่งนี้"}, 400, "bad_deadline"),
    "deadline_on_an_ordinary_letter_without_zone": (
        {**GOOD, "deadline": "2026-11-25"},
        400,
        "bad_deadline",
    ),
    "unknown_secrecy": ({**GOOD, "secrecy": "ลับเฉพาะ"}, 400, "bad_secrecy"),
    "secret_to_an_office": ({**GOOD, "secrecy": "ลับ"}, 400, "no_seal_key"),
    "very_secret_to_a_list": (
        {"subject": "x", "lists": [PILOT_LIST], "secrecy": "ลับมาก"},
        400,
        "no_seal_key",
    ),
    "top_secret_to_an_office": ({**GOOD, "secrecy": "ลับที่สุด"}, 400, "top_secret_not_electronic"),
    "top_secret_to_an_office_and_on_paper": (
        {**GOOD, "parties": [OUTSIDER], "method": REGISTERED_POST, "secrecy": "ลับที่สุด"},
        400,
        "top_secret_not_electronic",
    ),
    "party_without_method": ({**TO_OUTSIDER, "method": ""}, 400, "dispatch_method_required"),
    "party_with_unknown_method": (
        {**TO_OUTSIDER, "method": "นกพิราบสื่อสาร"},
        400,
        "dispatch_method_required",
    ),
    "parties_not_a_list": ({**TO_OUTSIDER, "parties": OUTSIDER}, 400, "bad_field"),
    "unit_not_a_text": ({**GOOD, "unit": 17}, 400, "bad_field"),
    "reserved_number_not_reserved": ({**GOOD, "reserved_number": 5}, 409, "conflict"),
}


@pytest.mark.parametrize("case", sorted(BAD_SENDS))
def test_bad_letter_is_refused_in_thai_and_nothing_is_stored(cm: Node, case: str) -> None:
    payload, status, error = BAD_SENDS[case]
    before = counts(cm)
    got, data = api(cm, "POST", "/api/letters", payload)
    assert (got, data["error"]) == (status, error)
    assert_thai(data["message_th"])
    assert counts(cm) == before
    assert ok(cm, "GET", "/api/status")["outbox"] == 0


def test_method_refusal_lists_the_methods_a_clerk_may_choose(cm: Node) -> None:
    _, data = api(cm, "POST", "/api/letters", {**TO_OUTSIDER, "method": ""})
    assert data["message_th"].startswith("กรุณาเลือกวิธีส่งหนังสือ: ไปรษณีย์ลงทะเบียน, ")
    for method in ("ไปรษณีย์ลงทะเบียนตอบรับ", "ไปรษณีย์ด่วนพิเศษ (EMS)", "เจ้าหน้าที่นำส่ง"):
        assert method in data["message_th"]


@pytest.mark.parametrize("case", sorted(c for c, (_, s, _e) in BAD_SENDS.items() if s == 400))
def test_bad_draft_is_refused_at_the_step_that_checks_it(cm: Node, case: str) -> None:
    payload, _, error = BAD_SENDS[case]
    fields = {k: v for k, v in payload.items() if k not in ("method", "reserved_number")}
    before = counts(cm)
    status, data = api(cm, "POST", "/api/drafts", fields)
    if status == 400:  # the draft itself is wrong: nothing kept
        assert data["error"] == error
        assert counts(cm) == before
        return
    # a draft may be kept as written; it is the dispatch that must refuse it
    letter_id = data["id"]
    ok(cm, "POST", f"/api/letters/{letter_id}/number", {})
    numbered = counts(cm)
    status, data = api(
        cm, "POST", f"/api/letters/{letter_id}/dispatch", {"method": payload.get("method", "")}
    )
    assert (status, data["error"]) == (400, error)
    assert_thai(data["message_th"])
    assert counts(cm) == numbered
    assert letter(cm, letter_id)["state"] == "numbered"


BAD_EDITS: dict[str, tuple[dict[str, Any], str]] = {
    "blank_subject": ({"subject": "  "}, "subject_required"),
    "urgent_within_without_deadline": ({"speed": "ด่วนภายใน"}, "bad_deadline"),
    "unknown_speed": ({"speed": "ด่วนจี๋"}, "bad_speed"),
    "to_itself": ({"recipients": [CHIANG_MAI]}, "self_recipient"),
    "unknown_list": ({"lists": ["ทั่วประเทศ"]}, "unknown_recipient"),
}


@pytest.mark.parametrize("case", sorted(BAD_EDITS))
def test_bad_edit_leaves_the_draft_as_it_was(cm: Node, case: str) -> None:
    letter_id = draft(cm, subject="ขอเชิญประชุม", recipients=[CHIANG_RAI])
    change, error = BAD_EDITS[case]
    before, kept = counts(cm), letter(cm, letter_id)
    status, data = api(cm, "PATCH", f"/api/letters/{letter_id}", change)
    assert (status, data["error"]) == (400, error)
    assert_thai(data["message_th"])
    assert counts(cm) == before
    after = letter(cm, letter_id)
    for column in ("subject", "speed", "recipients", "lists", "deadline"):
        assert after[column] == kept[column]


def test_a_refused_one_step_send_keeps_no_file(cm: Node) -> None:
    pdf = {"name": "แผน.pdf", "media_type": "application/pdf", "content_base64": "JVBERi0xLjQK"}
    status, data = api(
        cm,
        "POST",
        "/api/letters",
        {
            "subject": "แผนรักษาความปลอดภัย",
            "recipients": [CHIANG_RAI],
            "secrecy": "ลับ",
            "attachments": [pdf],
        },
    )
    assert (status, data["error"]) == (400, "no_seal_key")
    assert not [p for p in (cm.instance / "blobs").rglob("*") if p.is_file()]
    assert cm.rows("SELECT id FROM letters") == []
