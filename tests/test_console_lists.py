"""The console's distribution lists, in-process: an operator creates, edits and deletes a
list, each change a new signed directory version that nodes receive; derived lists stay
read-only; every bad form is refused in Thai and changes nothing. Then `saraban hub lists`
and `saraban hub list-save`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from console_support import console_login, post_form, text_of
from flask.testing import FlaskClient
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY, Clock
from test_hub_support import Hub

from hub.admin.access import open_hub
from hub.admin.instance import init_hub
from hub.admin.offices import add_office, revoke_office
from protocol.envelope import Envelope
from scripts.cli.main import main

FLOOD = {"name": "flood-2569", "title": "จังหวัดที่ประสบอุทกภัย", "member": [CHIANG_RAI, CHIANG_MAI]}


def counts(hub: Hub) -> dict[str, int]:
    return hub.counts("lists", "directory_versions", "operator_actions", "offices")


def lists(hub: Hub) -> dict[str, Any]:
    with hub.store() as s:
        return s.lists()


def directory_version(hub: Hub) -> int:
    with hub.store() as s:
        head = s.directory_head()
    assert head is not None
    return int(head["version"])


def create(ops: FlaskClient, **fields: Any) -> Any:
    return post_form(ops, "/lists", {**FLOOD, **fields}, "/lists/new")


# -- create, edit, delete ----------------------------------------------------------------------


def test_operator_creates_edits_and_deletes_a_list_each_a_new_directory_version(
    hub: Hub, ops: FlaskClient
) -> None:
    cm = hub.office(CHIANG_MAI)
    start = directory_version(hub)

    answer = create(ops)
    assert answer.status_code == 302 and answer.headers["Location"] == "/lists"
    assert directory_version(hub) == start + 1
    # Kept in the offices' order (by group), whatever the order of the boxes ticked.
    assert lists(hub)["flood-2569"] == {
        "title": "จังหวัดที่ประสบอุทกภัย",
        "members": [CHIANG_MAI, CHIANG_RAI],
    }
    page = text_of(ops.get("/lists"))
    assert "สร้างรายชื่อ flood-2569 แล้ว (2 หน่วยงาน)" in page and "จังหวัดที่ประสบอุทกภัย" in page
    directory = Envelope.from_wire(cm.request("GET", "/directory").json["directory"])
    assert json.loads(directory.body)["lists"]["flood-2569"]["members"] == [CHIANG_MAI, CHIANG_RAI]

    edit = post_form(
        ops,
        "/lists/flood-2569",
        {"title": "จังหวัดที่ประสบอุทกภัย (ภาคเหนือ)", "member": [CHIANG_MAI, KHON_KAEN]},
        "/lists/flood-2569",
    )
    assert edit.status_code == 302
    assert directory_version(hub) == start + 2
    assert lists(hub)["flood-2569"]["members"] == [KHON_KAEN, CHIANG_MAI]  # group 11, 15

    same = post_form(
        ops,
        "/lists/flood-2569",
        {"title": "จังหวัดที่ประสบอุทกภัย (ภาคเหนือ)", "member": [KHON_KAEN, CHIANG_MAI]},
        "/lists/flood-2569",
    )
    assert same.status_code == 302
    assert directory_version(hub) == start + 2  # nothing changed, nothing published
    assert "ไม่มีการเปลี่ยนแปลง" in text_of(ops.get("/lists"))

    gone = post_form(ops, "/lists/flood-2569/delete", {"confirm": "yes"}, "/lists/flood-2569")
    assert gone.status_code == 302
    assert directory_version(hub) == start + 3
    assert "flood-2569" not in lists(hub)
    with hub.store() as s:
        done = [(a["action"], a["target"], a["operator"]) for a in s.actions()]
    assert done[:3] == [
        ("delete_list", "flood-2569", "ops"),
        ("update_list", "flood-2569", "ops"),
        ("create_list", "flood-2569", "ops"),
    ]


def test_edit_form_offers_offices_by_provincial_group(hub: Hub, ops: FlaskClient) -> None:
    page = text_of(ops.get("/lists/pilot-centres"))
    assert "<legend>กลุ่มจังหวัดที่ 15 กลุ่มจังหวัดภาคเหนือตอนบน 1</legend>" in page
    assert "<legend>ส่วนกลาง (ไม่สังกัดกลุ่มจังหวัด)</legend>" in page
    assert f'value="{CHIANG_MAI}" checked> {CHIANG_MAI} สำนักงานจังหวัดเชียงใหม่' in page
    assert f'value="{MINISTRY}"> {MINISTRY}' in page  # not a pilot centre: not ticked
    assert "ยืนยันการลบรายชื่อ" in page


def test_the_seeded_pilot_list_is_editable(hub: Hub, ops: FlaskClient) -> None:
    pilot = lists(hub)["pilot-centres"]
    kept = [m for m in pilot["members"] if m != KHON_KAEN]
    answer = post_form(
        ops, "/lists/pilot-centres", {"title": pilot["title"], "member": kept}, "/lists"
    )
    assert answer.status_code == 302
    assert lists(hub)["pilot-centres"]["members"] == kept


def test_derived_lists_are_read_only(hub: Hub, ops: FlaskClient) -> None:
    index = text_of(ops.get("/lists"))
    assert "สร้างจากข้อมูลหน่วยงานโดยอัตโนมัติ" in index and "สร้างอัตโนมัติ (แก้ไขไม่ได้)" in index
    page = text_of(ops.get("/lists/group-15"))
    assert "แก้ไขหรือลบด้วยมือไม่ได้" in page and CHIANG_MAI in page
    assert 'name="member"' not in page and "ลบรายชื่อ" not in page
    before = counts(hub)
    refused: list[tuple[str, dict[str, Any]]] = [
        ("/lists/group-15", {"title": "แก้", "member": [CHIANG_MAI, CHIANG_RAI]}),
        ("/lists/all-offices", {"title": "แก้", "member": [CHIANG_MAI]}),
        ("/lists/group-15/delete", {"confirm": "yes"}),
        ("/lists/all-offices/delete", {"confirm": "yes"}),
    ]
    for path, data in refused:
        answer = post_form(ops, path, data, "/lists")
        assert answer.status_code == 409, path
        assert "สร้างจากข้อมูลหน่วยงานโดยอัตโนมัติ" in text_of(answer), path
    assert counts(hub) == before


def test_adding_an_office_rebuilds_derived_lists_and_keeps_operator_lists(
    hub: Hub, ops: FlaskClient, clock: Clock
) -> None:
    create(ops)
    add_office(hub.app, "ลป 0017", "สำนักงานจังหวัดลำปาง", "ลำปาง", 15, now=clock())
    after = lists(hub)
    assert after["group-15"]["members"] == [CHIANG_MAI, "ลป 0017"]
    assert after["flood-2569"]["members"] == [CHIANG_MAI, CHIANG_RAI]
    assert "ลป 0017 สำนักงานจังหวัดลำปาง" in text_of(ops.get("/lists/flood-2569"))


def test_a_revoked_office_is_not_offered_and_not_accepted(
    hub: Hub, ops: FlaskClient, clock: Clock
) -> None:
    create(ops)
    revoke_office(hub.app, CHIANG_RAI, "ยุบ", now=clock())
    page = text_of(ops.get("/lists/flood-2569"))
    assert f'value="{CHIANG_RAI}"' not in page
    assert "หน่วยงานที่ถูกเพิกถอนแล้วจะถูกนำออกจากรายชื่อเมื่อบันทึก" in page
    before = counts(hub)
    answer = create(ops, name="north", member=[CHIANG_RAI])
    assert answer.status_code == 400 and f"หน่วยงาน {CHIANG_RAI} ถูกเพิกถอนแล้ว" in text_of(answer)
    assert counts(hub) == before


def test_a_refused_form_keeps_what_the_operator_chose(ops: FlaskClient) -> None:
    answer = create(ops, name="Bad Name")
    assert answer.status_code == 400
    page = text_of(answer)
    assert 'value="Bad Name"' in page and 'value="จังหวัดที่ประสบอุทกภัย"' in page
    assert f'value="{CHIANG_RAI}" checked>' in page and "ยังไม่ได้บันทึกสิ่งใด" in page


# -- refusals ------------------------------------------------------------------------------------

BAD_FORMS = [
    pytest.param("/lists", {**FLOOD, "name": ""}, 400, "ชื่อรายชื่อต้องเป็นอักษรอังกฤษตัวเล็ก",
                 id="empty-name"),
    pytest.param("/lists", {**FLOOD, "name": "น้ำท่วม"}, 400, "ชื่อรายชื่อต้องเป็น",
                 id="thai-name"),
    pytest.param("/lists", {**FLOOD, "name": "-flood"}, 400, "ขึ้นต้นด้วยอักษรหรือตัวเลข",
                 id="name-starting-with-a-dash"),
    pytest.param("/lists", {**FLOOD, "name": "Flood"}, 400, "ชื่อรายชื่อต้องเป็น",
                 id="upper-case-name"),
    pytest.param("/lists", {**FLOOD, "name": "a" * 41}, 400, "ยาว 2 ถึง 40 ตัว",
                 id="name-too-long"),
    pytest.param("/lists", {**FLOOD, "name": "new"}, 400, "ใช้ชื่อ new ไม่ได้", id="reserved-name"),
    pytest.param("/lists", {**FLOOD, "name": "pilot-centres"}, 409,
                 "มีรายชื่อชื่อ pilot-centres อยู่แล้ว", id="existing-name"),
    pytest.param("/lists", {**FLOOD, "name": "group-19"}, 409,
                 "สร้างจากข้อมูลหน่วยงานโดยอัตโนมัติ", id="derived-name"),
    pytest.param("/lists", {**FLOOD, "name": "all-offices"}, 409,
                 "สร้างจากข้อมูลหน่วยงานโดยอัตโนมัติ", id="all-offices-name"),
    pytest.param("/lists", {**FLOOD, "member": [CHIANG_MAI, "ซซ 9999"]}, 400,
                 "ไม่พบหน่วยงาน ซซ 9999", id="unknown-member"),
    pytest.param("/lists", {**FLOOD, "member": []}, 400,
                 "กรุณาเลือกหน่วยงานอย่างน้อยหนึ่งแห่ง", id="no-members"),
    pytest.param("/lists", {**FLOOD, "title": " "}, 400, "กรุณากรอกชื่อเรียกรายชื่อ",
                 id="empty-title"),
    pytest.param("/lists", {**FLOOD, "title": "ก" * 201}, 400, "ชื่อเรียกรายชื่อยาวเกิน 200",
                 id="title-too-long"),
    pytest.param("/lists/pilot-centres", {"title": "ศูนย์", "member": []}, 400,
                 "กรุณาเลือกหน่วยงานอย่างน้อยหนึ่งแห่ง", id="update-no-members"),
    pytest.param("/lists/nowhere", {"title": "x", "member": [CHIANG_MAI]}, 404,
                 "ไม่พบรายชื่อ nowhere", id="update-unknown-list"),
    pytest.param("/lists/nowhere/delete", {"confirm": "yes"}, 404, "ไม่พบรายชื่อ nowhere",
                 id="delete-unknown-list"),
    pytest.param("/lists/pilot-centres/delete", {}, 400, "ยืนยันการลบรายชื่อ",
                 id="delete-without-confirmation"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "data", "status", "message"), BAD_FORMS)
def test_a_bad_form_gets_a_thai_message_and_changes_nothing(
    hub: Hub, ops: FlaskClient, path: str, data: dict[str, Any], status: int, message: str
) -> None:
    before = counts(hub)
    seeded = lists(hub)
    answer = post_form(ops, path, data, "/lists")
    assert answer.status_code == status
    assert message in text_of(answer)
    assert counts(hub) == before and lists(hub) == seeded


def test_an_unknown_list_is_a_thai_404(ops: FlaskClient) -> None:
    answer = ops.get("/lists/nowhere")
    assert answer.status_code == 404 and "ไม่พบรายชื่อ nowhere" in text_of(answer)


ACTIONS = [
    pytest.param("/lists", FLOOD, id="create"),
    pytest.param("/lists/pilot-centres", {"title": "x", "member": [CHIANG_MAI]}, id="update"),
    pytest.param("/lists/pilot-centres/delete", {"confirm": "yes"}, id="delete"),
]


@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_a_form_without_the_session_token_changes_nothing(
    hub: Hub, ops: FlaskClient, path: str, data: dict[str, Any]
) -> None:
    before, seeded = counts(hub), lists(hub)
    answer = ops.post(path, data=data)
    assert answer.status_code == 400 and "แบบฟอร์มไม่ถูกต้องหรือหมดอายุ" in text_of(answer)
    assert counts(hub) == before and lists(hub) == seeded


@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_a_viewer_sees_lists_but_cannot_change_them(
    hub: Hub, path: str, data: dict[str, Any]
) -> None:
    viewer = console_login(hub, "watcher")
    assert "pilot-centres" in text_of(viewer.get("/lists"))
    page = text_of(viewer.get("/lists/pilot-centres"))
    assert "disabled" in page and "ลบรายชื่อ" not in page and "บันทึก</button>" not in page
    assert viewer.get("/lists/new").status_code == 403
    before, seeded = counts(hub), lists(hub)
    answer = post_form(viewer, path, data, "/lists")
    assert answer.status_code == 403 and "ดูได้อย่างเดียว" in text_of(answer)
    assert counts(hub) == before and lists(hub) == seeded


# -- the command line ----------------------------------------------------------------------------


@pytest.fixture
def instance(tmp_path: Path) -> str:
    path = tmp_path / "cli-hub"
    init_hub(path)
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_hub_lists_shows_every_list_and_which_are_derived(
    instance: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "hub", "lists", "--instance", instance, "--json")
    assert code == 0
    by_name = {r["name"]: r for r in json.loads(out)}
    assert by_name["pilot-centres"]["derived"] is False
    assert len(by_name["pilot-centres"]["members"]) == 18
    assert by_name["group-15"]["derived"] is True and by_name["all-offices"]["derived"] is True
    code, out, _ = run(capsys, "hub", "lists", "--instance", instance)
    assert code == 0 and "pilot-centres" in out and "อัตโนมัติ" in out


def test_hub_list_save_creates_then_replaces_a_list(
    instance: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("hub", "list-save", "flood-2569", "--title", "อุทกภัย", "--instance", instance)
    code, out, err = run(capsys, *args, "--member", "ชร0017", "--member", CHIANG_MAI, "--json")
    assert code == 0, err
    saved = json.loads(out)
    assert saved["members"] == [CHIANG_MAI, CHIANG_RAI] and saved["created"] is True
    assert saved["directory_version"] == 2
    code, out, _ = run(capsys, *args, "--member", CHIANG_MAI, CHIANG_RAI)
    assert code == 0 and "ไม่มีการเปลี่ยนแปลง" in out
    code, out, _ = run(capsys, *args, "--member", CHIANG_MAI)
    assert code == 0 and "แก้ไขรายชื่อ flood-2569 แล้ว (1 หน่วยงาน)" in out
    with open_hub(instance) as (_, _, store):
        assert store.lists()["flood-2569"]["members"] == [CHIANG_MAI]
        assert store.directory_head()["version"] == 3  # type: ignore[index]
        actions = [(a["operator"], a["action"]) for a in store.actions()]
    assert actions[:2] == [("cli", "update_list"), ("cli", "create_list")]


@pytest.mark.parametrize(
    ("name", "member", "needle"),
    [
        pytest.param("group-01", CHIANG_MAI, "สร้างจากข้อมูลหน่วยงานโดยอัตโนมัติ", id="derived"),
        pytest.param("Bad", CHIANG_MAI, "ชื่อรายชื่อต้องเป็น", id="bad-name"),
        pytest.param("flood", "ซซ 9999", "ไม่พบหน่วยงาน ซซ 9999", id="unknown-member"),
    ],
)
def test_hub_list_save_refuses_in_one_line(
    instance: str, capsys: pytest.CaptureFixture[str], name: str, member: str, needle: str
) -> None:
    code, _, err = run(
        capsys, "hub", "list-save", name, "--title", "x", "--member", member, "--instance", instance
    )
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert err.startswith("saraban: ") and needle in err
    with open_hub(instance) as (_, _, store):
        assert store.directory_head()["version"] == 1  # type: ignore[index]
