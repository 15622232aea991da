"""The console's enrollment section, in-process: a token issued from the page enrolls a
stand-in office and is never seen again, cancelled and expired tokens are refused,
revocation and key rotation publish new directory versions, and every bad form changes
nothing. Then the same actions on the command line (`saraban hub tokens`, `revoke`,
`rotate-key`).

Time is the hub's injected clock; offices are stand-ins (tests/test_hub_support.py).
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from console_support import console_login, post_form, text_of
from flask.testing import FlaskClient
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock
from test_hub_support import Hub, Office

from hub.admin.access import open_hub
from hub.admin.instance import init_hub
from hub.store import HubStore
from protocol.directory import accept_directory
from protocol.envelope import Envelope
from protocol.keys import fingerprint, public_key_from_b64
from scripts.cli.main import main

TOKEN_RE = re.compile(r'<code id="token">([0-9a-f]+)</code>')
STATE_TABLES = ("tokens", "offices", "directory_versions", "operator_actions", "hub_keys")


def counts(hub: Hub) -> dict[str, int]:
    return hub.counts(*STATE_TABLES, "alerts", "lists")


def directory_version(hub: Hub) -> int:
    with hub.store() as s:
        head = s.directory_head()
    assert head is not None
    return int(head["version"])


def office_status(hub: Hub, office_id: str) -> str:
    with hub.store() as s:
        row = s.office(office_id)
    assert row is not None
    return str(row["status"])


def issue_from_page(ops: FlaskClient, office: str, ttl: str = "24") -> tuple[Any, str]:
    answer = post_form(
        ops, "/enrollment/tokens", {"office": office, "ttl_hours": ttl}, "/enrollment"
    )
    assert answer.status_code == 200, text_of(answer)
    match = TOKEN_RE.search(text_of(answer))
    assert match, "no token on the page"
    return answer, match.group(1)


def token_ident(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def table(page: str, table_id: str) -> str:
    match = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    assert match, f"no table {table_id}"
    return match.group(0)


def row(page: str, table_id: str, needle: str) -> str:
    rows: list[str] = re.findall(r"<tr.*?</tr>", table(page, table_id), re.S)
    found = [r for r in rows if needle in r]
    assert len(found) == 1, f"{needle} in {table_id}: {len(found)} rows"
    return found[0]


def database_bytes(hub: Hub) -> bytes:
    """Every byte the hub keeps in its instance folder (database, WAL, keys)."""
    return b"".join(p.read_bytes() for p in hub.instance.rglob("*") if p.is_file())


# -- tokens ------------------------------------------------------------------------------------


def test_token_from_the_page_enrolls_the_office_and_is_shown_only_once(
    hub: Hub, ops: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = directory_version(hub)
    answer, token = issue_from_page(ops, CHIANG_MAI)
    assert answer.headers["Cache-Control"] == "no-store"
    page = html.unescape(text_of(answer))
    assert f'saraban node init --hub http://localhost --office "{CHIANG_MAI}" --token -' in page
    assert page.count(token) == 1  # shown once, never in the command line to run
    stored_hash = hashlib.sha256(token.encode()).hexdigest()
    with hub.store() as s:
        assert s.token(stored_hash) is not None
    assert token.encode() not in database_bytes(hub)
    assert token not in caplog.text

    assert Office(hub, CHIANG_MAI).enroll(token).status == 200
    assert office_status(hub, CHIANG_MAI) == "enrolled"
    assert directory_version(hub) == before + 1
    later = text_of(ops.get("/enrollment"))
    assert "ลงทะเบียนแล้ว" in row(later, "registered-offices", CHIANG_MAI)
    assert "ใช้แล้ว" in row(later, "token-list", CHIANG_MAI)
    assert CHIANG_MAI not in table(later, "pending-offices")
    for path in ("/enrollment", "/actions", f"/offices/{CHIANG_MAI}", "/", "/offices"):
        seen = text_of(ops.get(path))
        assert token not in seen and stored_hash not in seen, path
    assert Office(hub, CHIANG_MAI).enroll(token).status == 403  # one use only


def test_pending_offices_show_whether_a_live_token_exists(
    hub: Hub, ops: FlaskClient, clock: Clock
) -> None:
    assert "ยังไม่มีรหัสที่ใช้ได้" in row(text_of(ops.get("/enrollment")), "pending-offices", KHON_KAEN)
    _, token = issue_from_page(ops, KHON_KAEN, ttl="2")
    page = text_of(ops.get("/enrollment"))
    assert "มีรหัสที่ยังใช้ได้" in row(page, "pending-offices", KHON_KAEN)
    assert "ยังไม่ใช้" in row(page, "token-list", token_ident(token)[:8])
    clock.advance(2 * 3600 + 1)
    page = text_of(console_login(hub).get("/enrollment"))  # the old session idled out
    assert "ยังไม่มีรหัสที่ใช้ได้" in row(page, "pending-offices", KHON_KAEN)
    assert "หมดอายุ" in row(page, "token-list", token_ident(token)[:8])
    assert Office(hub, KHON_KAEN).enroll(token).status == 403


def test_a_cancelled_token_is_refused_at_enroll(hub: Hub, ops: FlaskClient) -> None:
    _, token = issue_from_page(ops, CHIANG_MAI)
    ident = token_ident(token)
    answer = post_form(ops, f"/enrollment/tokens/{ident}/cancel", {}, "/enrollment")
    assert answer.status_code == 302
    page = text_of(ops.get("/enrollment"))
    assert f"ยกเลิกรหัสลงทะเบียน {ident[:8]}" in page
    assert "ยกเลิก" in row(page, "token-list", ident[:8])
    assert "ยกเลิกรหัส</button>" not in row(page, "token-list", ident[:8])
    refused = Office(hub, CHIANG_MAI).enroll(token)
    assert refused.status == 403 and refused.json["error"] == "bad_token"
    assert office_status(hub, CHIANG_MAI) == "pending"
    with hub.store() as s:
        [action] = [a for a in s.actions() if a["action"] == "cancel_token"]
    assert action["target"] == CHIANG_MAI and action["detail"] == ident
    before = counts(hub)
    again = post_form(ops, f"/enrollment/tokens/{ident}/cancel", {}, "/enrollment")
    assert again.status_code == 409 and "ยกเลิกไม่ได้" in text_of(again)
    assert counts(hub) == before


# -- offices ---------------------------------------------------------------------------------


def test_revoking_an_office_publishes_a_directory_and_refuses_its_next_request(
    hub: Hub, ops: FlaskClient
) -> None:
    cm = hub.office(CHIANG_MAI)
    assert cm.pull().status == 200
    before = directory_version(hub)
    answer = post_form(
        ops,
        f"/offices/{CHIANG_MAI}/revoke",
        {"reason": "ย้ายที่ทำการ เครื่องเดิมสูญหาย", "confirm": "yes"},
        "/enrollment",
    )
    assert answer.status_code == 302
    assert directory_version(hub) == before + 1
    assert office_status(hub, CHIANG_MAI) == "revoked"
    refused = cm.pull()
    assert refused.status == 403 and refused.json["error"] == "revoked"
    page = text_of(ops.get("/enrollment"))
    assert f"เพิกถอนหน่วยงาน {CHIANG_MAI} แล้ว" in page
    revoked_row = row(page, "registered-offices", CHIANG_MAI)
    assert "เพิกถอนแล้ว" in revoked_row and "เพิกถอน…" not in revoked_row
    with hub.store() as s:
        [action] = [a for a in s.actions() if a["action"] == "revoke_office"]
    assert action["reason"] == "ย้ายที่ทำการ เครื่องเดิมสูญหาย"
    assert action["operator"] == "ops" and str(before + 1) in action["detail"]
    state = counts(hub)
    twice = post_form(
        ops, f"/offices/{CHIANG_MAI}/revoke", {"reason": "ซ้ำ", "confirm": "yes"}, "/enrollment"
    )
    assert twice.status_code == 409 and "ถูกเพิกถอนไปแล้ว" in text_of(twice)
    assert counts(hub) == state


def test_a_revoked_office_gets_no_token_and_its_old_one_is_cancelled(
    hub: Hub, ops: FlaskClient
) -> None:
    _, token = issue_from_page(ops, CHIANG_RAI)
    post_form(ops, f"/offices/{CHIANG_RAI}/revoke", {"reason": "ยุบ", "confirm": "yes"}, "/")
    page = text_of(ops.get("/enrollment"))
    assert "ยกเลิก" in row(page, "token-list", token_ident(token)[:8])
    assert f'<option value="{CHIANG_RAI}">' not in page
    before = counts(hub)
    refused = post_form(ops, "/enrollment/tokens", {"office": CHIANG_RAI, "ttl_hours": "24"})
    assert refused.status_code == 400 and "กรุณาเลือกหน่วยงาน" in text_of(refused)
    assert counts(hub) == before


def test_an_office_added_from_the_console_joins_its_group_and_can_enroll(
    hub: Hub, ops: FlaskClient
) -> None:
    before = directory_version(hub)
    answer = post_form(
        ops,
        "/enrollment/offices",
        {"office_id": "ลป๐๐๑๗", "name": "สำนักงานจังหวัดลำปาง", "province": "ลำปาง", "group_no": "15"},
        "/enrollment",
    )
    assert answer.status_code == 302, text_of(answer)
    assert directory_version(hub) == before + 1
    with hub.store() as s:
        office = s.office("ลป 0017")
        lists = s.lists()
    assert office is not None and office["status"] == "pending"
    assert office["group_name"] == "กลุ่มจังหวัดภาคเหนือตอนบน 1"  # the group's existing name
    assert lists["group-15"]["members"] == [CHIANG_MAI, "ลป 0017"]
    assert "ลป 0017" in lists["all-offices"]["members"]
    assert "ลป 0017" in table(text_of(ops.get("/enrollment")), "pending-offices")
    _, token = issue_from_page(ops, "ลป 0017")
    assert Office(hub, "ลป 0017").enroll(token).status == 200


# -- the hub's key ----------------------------------------------------------------------------


def test_rotating_the_hub_key_makes_a_new_key_current_and_shows_its_fingerprint(
    hub: Hub, ops: FlaskClient
) -> None:
    cm = hub.office(CHIANG_MAI)
    with hub.store() as s:
        pinned = {r["keyid"]: public_key_from_b64(r["public"]) for r in s.hub_keys()}
    held = accept_directory(
        Envelope.from_wire(cm.request("GET", "/directory").json["directory"]), pinned, None
    )
    before = directory_version(hub)
    answer = post_form(ops, "/enrollment/rotate-key", {"confirm": "yes", "reason": "ครบรอบปี"})
    assert answer.status_code == 302
    with hub.store() as s:
        keys = {r["keyid"]: r for r in s.hub_keys()}
    assert keys["hub#2"]["status"] == "current" and keys["hub#1"]["status"] == "previous"
    new_fingerprint = fingerprint(keys["hub#2"]["public"])
    page = text_of(ops.get("/enrollment"))
    assert f"กุญแจใหม่ hub#2 ลายนิ้วมือ {new_fingerprint}" in page
    assert new_fingerprint in row(page, "hub-key-list", "hub#2")
    assert directory_version(hub) == before + 1
    rotated = accept_directory(
        Envelope.from_wire(cm.request("GET", "/directory").json["directory"]), pinned, held
    )
    assert list(rotated.hub_keys()) == ["hub#2"]
    assert "rotate_hub_key" in text_of(ops.get("/actions"))


# -- refusals ------------------------------------------------------------------------------------

REVOKE = f"/offices/{CHIANG_MAI}/revoke"
ADD = "/enrollment/offices"
GOOD_OFFICE = {"office_id": "ลป 0017", "name": "สำนักงานจังหวัดลำปาง", "group_no": "15"}

BAD_FORMS = [
    pytest.param("/enrollment/tokens", {"office": CHIANG_MAI, "ttl_hours": "0"}, 400,
                 "อายุของรหัส (ชั่วโมง) ต้องเป็นจำนวนเต็มตั้งแต่ 1 ถึง 720", id="ttl-0"),
    pytest.param("/enrollment/tokens", {"office": CHIANG_MAI, "ttl_hours": "10000"}, 400,
                 "ต้องเป็นจำนวนเต็มตั้งแต่ 1 ถึง 720", id="ttl-10000"),
    pytest.param("/enrollment/tokens", {"office": CHIANG_MAI, "ttl_hours": "-5"}, 400,
                 "ต้องเป็นจำนวนเต็ม", id="ttl-negative"),
    pytest.param("/enrollment/tokens", {"office": "ซซ 9999", "ttl_hours": "24"}, 400,
                 "กรุณาเลือกหน่วยงาน", id="token-unknown-office"),
    pytest.param("/enrollment/tokens", {"ttl_hours": "24"}, 400,
                 "กรุณาเลือกหน่วยงาน", id="token-no-office"),
    pytest.param("/enrollment/tokens/0123456789abcdef/cancel", {}, 404,
                 "ไม่พบรหัสลงทะเบียนนี้", id="cancel-unknown-token"),
    pytest.param("/enrollment/tokens/not-a-token/cancel", {}, 404,
                 "ไม่พบรหัสลงทะเบียนนี้", id="cancel-not-a-token-id"),
    pytest.param(REVOKE, {"confirm": "yes"}, 400, "กรุณากรอกเหตุผลการเพิกถอน",
                 id="revoke-without-reason"),
    pytest.param(REVOKE, {"reason": "ปิดสำนักงาน"}, 400, "ยืนยันการเพิกถอน",
                 id="revoke-without-confirmation"),
    pytest.param(REVOKE, {"reason": "ก" * 501, "confirm": "yes"}, 400, "ยาวเกิน 500",
                 id="revoke-reason-too-long"),
    pytest.param("/offices/ซซ 9999/revoke", {"reason": "x", "confirm": "yes"}, 404,
                 "ไม่พบหน่วยงาน ซซ 9999", id="revoke-unknown-office"),
    pytest.param("/enrollment/rotate-key", {"reason": "ครบรอบ"}, 400,
                 "ยืนยันการเปลี่ยนกุญแจ", id="rotate-without-confirmation"),
    pytest.param(ADD, {**GOOD_OFFICE, "office_id": ""}, 400, "กรุณากรอกรหัสหน่วยงาน",
                 id="add-empty-id"),
    pytest.param(ADD, {**GOOD_OFFICE, "office_id": "not a code"}, 400,
                 "รหัสหน่วยงานต้องเป็นอักษรไทย 2 ตัว", id="add-bad-id"),
    pytest.param(ADD, {**GOOD_OFFICE, "office_id": CHIANG_MAI}, 409,
                 f"มีหน่วยงาน {CHIANG_MAI} อยู่แล้ว", id="add-existing-office"),
    pytest.param(ADD, {**GOOD_OFFICE, "name": "  "}, 400, "กรุณากรอกชื่อหน่วยงาน",
                 id="add-empty-name"),
    pytest.param(ADD, {**GOOD_OFFICE, "name": "ก" * 201}, 400, "ชื่อหน่วยงานยาวเกิน 200",
                 id="add-name-too-long"),
    pytest.param(ADD, {**GOOD_OFFICE, "group_no": "19"}, 400,
                 "กลุ่มจังหวัดต้องเป็นจำนวนเต็มตั้งแต่ 1 ถึง 18", id="add-group-19"),
    pytest.param(ADD, {**GOOD_OFFICE, "group_no": "หนึ่ง"}, 400, "กลุ่มจังหวัดต้องเป็น",
                 id="add-group-not-a-number"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "data", "status", "message"), BAD_FORMS)
def test_a_bad_form_gets_a_thai_message_and_changes_nothing(
    hub: Hub, ops: FlaskClient, path: str, data: dict[str, str], status: int, message: str
) -> None:
    before = counts(hub)
    answer = post_form(ops, path, data, "/enrollment")
    assert answer.status_code == status
    assert message in text_of(answer)
    assert counts(hub) == before
    assert office_status(hub, CHIANG_MAI) == "pending"


ACTIONS = [
    pytest.param("/enrollment/tokens", {"office": CHIANG_MAI, "ttl_hours": "24"}, id="issue"),
    pytest.param("/enrollment/offices", GOOD_OFFICE, id="add-office"),
    pytest.param(REVOKE, {"reason": "ปิดสำนักงาน", "confirm": "yes"}, id="revoke"),
    pytest.param("/enrollment/rotate-key", {"confirm": "yes"}, id="rotate-key"),
]


@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_a_form_without_the_session_token_changes_nothing(
    hub: Hub, ops: FlaskClient, path: str, data: dict[str, str]
) -> None:
    before = counts(hub)
    answer = ops.post(path, data=data)
    assert answer.status_code == 400 and "แบบฟอร์มไม่ถูกต้องหรือหมดอายุ" in text_of(answer)
    assert counts(hub) == before


@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_a_viewer_sees_enrollment_but_cannot_act(hub: Hub, path: str, data: dict[str, str]) -> None:
    viewer = console_login(hub, "watcher")
    page = text_of(viewer.get("/enrollment"))
    assert CHIANG_MAI in page and "hub#1" in page
    assert "ออกรหัสลงทะเบียน</button>" not in page and "เพิกถอน…" not in page
    before = counts(hub)
    answer = post_form(viewer, path, data, "/enrollment")
    assert answer.status_code == 403 and "ดูได้อย่างเดียว" in text_of(answer)
    assert counts(hub) == before


def test_a_viewer_cannot_cancel_a_token(hub: Hub, ops: FlaskClient) -> None:
    _, token = issue_from_page(ops, CHIANG_MAI)
    viewer = console_login(hub, "watcher")
    before = counts(hub)
    answer = post_form(viewer, f"/enrollment/tokens/{token_ident(token)}/cancel", {}, "/")
    assert answer.status_code == 403
    assert counts(hub) == before
    assert Office(hub, CHIANG_MAI).enroll(token).status == 200


# -- the command line ----------------------------------------------------------------------------


@pytest.fixture
def instance(tmp_path: Path) -> str:
    """A hub on the wall clock, as the command line uses it."""
    path = tmp_path / "cli-hub"
    init_hub(path)
    return str(path)


@contextmanager
def _store(instance: str) -> Iterator[HubStore]:
    with open_hub(instance) as (_, _, store):
        yield store


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_hub_tokens_lists_states_but_never_a_secret(
    instance: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "hub", "tokens", "--instance", instance)[1].strip() == (
        "(ยังไม่เคยออกรหัสลงทะเบียน)"
    )
    code, out, _ = run(capsys, "hub", "enroll", CHIANG_MAI, "--instance", instance, "--json")
    token = json.loads(out)["token"]
    code, out, _ = run(capsys, "hub", "tokens", "--instance", instance, "--json")
    assert code == 0
    [listed] = json.loads(out)
    assert listed["id"] == token_ident(token) and listed["state"] == "unused"
    assert listed["office"] == CHIANG_MAI and token not in out
    code, out, _ = run(capsys, "hub", "tokens", "--instance", instance)
    assert code == 0 and token_ident(token) in out and "ยังไม่ใช้" in out and token not in out


def test_hub_revoke_publishes_a_directory_and_refuses_twice(
    instance: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "hub", "revoke", "ชร0017", "--reason", "ปิดสำนักงาน", "--instance", instance,
        "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == {"office": CHIANG_RAI, "directory_version": 2}
    with _store(instance) as s:
        assert s.office(CHIANG_RAI)["status"] == "revoked"  # type: ignore[index]
        [action] = [a for a in s.actions() if a["action"] == "revoke_office"]
    assert action["operator"] == "cli" and action["reason"] == "ปิดสำนักงาน"
    code, _, err = run(
        capsys, "hub", "revoke", CHIANG_RAI, "--reason", "ซ้ำ", "--instance", instance
    )
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "ถูกเพิกถอนไปแล้ว" in err
    code, _, err = run(capsys, "hub", "revoke", CHIANG_MAI, "--reason", " ", "--instance", instance)
    assert code == 1 and "--reason" in err


def test_hub_rotate_key_prints_the_new_fingerprint(
    instance: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "hub", "rotate-key", "--instance", instance, "--json")
    assert code == 0, err
    info = json.loads(out)
    with _store(instance) as s:
        current = next(r for r in s.hub_keys() if r["status"] == "current")
    assert info == {
        "hub_keyid": "hub#2",
        "fingerprint": fingerprint(current["public"]),
        "directory_version": 2,
    }
    code, out, _ = run(capsys, "hub", "rotate-key", "--instance", instance)
    assert code == 0 and "hub#3" in out and "ลายนิ้วมือ" in out
