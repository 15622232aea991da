"""The administrator's pages, driven in-process: users (add, roles, password reset,
deactivation), units and their letter codes, and the numbering registers (reserve and
void); and the account functions they call (:func:`node.staff.accounts.set_active`,
:func:`node.staff.accounts.set_roles`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from support import CHIANG_RAI, Clock
from test_node_support import Node, PaperHub, offline_node
from web_support import PASSWORD, add_users, csrf, login, post_form

from node.errors import Conflict
from node.staff import accounts

NEW_PASSWORD = "ช้างเผือก-เดินป่า-2570"
FORGED = "แบบฟอร์มไม่ถูกต้อง"
NEW_USER = {
    "username": "malee",
    "display_name": "มาลี สารบรรณ",
    "password": NEW_PASSWORD,
    "password2": NEW_PASSWORD,
    "roles": ["clerk", "officer"],
    "divisions": [CHIANG_RAI],
}


@pytest.fixture
def node(tmp_path: Path) -> Node:
    node = offline_node(tmp_path, CHIANG_RAI, PaperHub(), Clock())
    add_users(node)
    return node


@pytest.fixture
def admin(node: Node) -> FlaskClient:
    return login(node, "admin")


def text(resp: Any) -> str:
    return str(resp.get_data(as_text=True))


def state(node: Node) -> dict[str, Any]:
    """What the admin pages may change: users, units, register entries and the audit."""
    return {
        "users": node.rows("SELECT * FROM users ORDER BY username"),
        "units": node.rows("SELECT * FROM units ORDER BY code"),
        "entries": node.rows("SELECT * FROM register_entries ORDER BY id"),
        "audit": node.rows("SELECT COUNT(*) AS n FROM audit")[0]["n"],
    }


def signs_in(node: Node, username: str, password: str) -> bool:
    client = node.app.test_client()
    resp = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf(client)}
    )
    return resp.status_code == 302


# ---- who may open them ----------------------------------------------------------------------


@pytest.mark.parametrize("username", ["somsri", "boss", "officer", "registrar"])
def test_only_an_administrator_opens_the_admin_pages(node: Node, username: str) -> None:
    client = login(node, username)
    for path in ("/admin/users", "/admin/users/admin", "/admin/units", "/admin/registers"):
        resp = client.get(path)
        assert resp.status_code == 403 and "คุณไม่มีสิทธิ์ใช้งานส่วนนี้" in text(resp)
    before = state(node)
    assert post_form(client, "/admin/users", NEW_USER).status_code == 403
    assert post_form(client, "/admin/users/somsri/active", {"active": "0"}).status_code == 403
    assert post_form(client, "/admin/registers/reserve", {"series": "ส่ง"}).status_code == 403
    assert state(node) == before
    assert "ผู้ดูแลระบบ" not in text(client.get("/")).split("</nav>")[1]


# ---- users -----------------------------------------------------------------------------------


def test_users_are_listed_with_thai_roles_and_last_login_in_the_buddhist_era(
    admin: FlaskClient,
) -> None:
    page = text(admin.get("/admin/users"))
    assert "สมศรี ธุรการ" in page and "เจ้าหน้าที่สารบรรณ" in page
    assert "นายทะเบียนหนังสือลับ" in page and "ผู้ดูแลระบบ" in page
    assert "18 พฤศจิกายน 2569" in page  # the admin's own login, on the node's clock
    assert "ยังไม่เคย" in page
    assert "scrypt$" not in page


def test_admin_adds_a_user_who_then_signs_in_with_those_roles(
    node: Node, admin: FlaskClient
) -> None:
    resp = post_form(admin, "/admin/users", NEW_USER, "/admin/users")
    assert resp.status_code == 302
    page = text(admin.get("/admin/users"))
    assert "เพิ่มผู้ใช้ malee (มาลี สารบรรณ) แล้ว" in page
    assert "เจ้าหน้าที่สารบรรณ, ผู้ปฏิบัติงาน" in page and CHIANG_RAI in page
    assert NEW_PASSWORD not in page
    client = login(node, "malee", NEW_PASSWORD)
    assert "มาลี สารบรรณ" in text(client.get("/"))
    assert client.get("/retention").status_code == 200  # a clerk keeps letters
    assert client.get("/admin/users").status_code == 403


BAD_USERS: dict[str, tuple[dict[str, Any], str]] = {
    "weak_password": (
        {"password": "สั้นไป", "password2": "สั้นไป"},
        "รหัสผ่านต้องมีความยาว 10 ถึง 200 ตัวอักษร",
    ),
    "passwords_differ": ({"password2": NEW_PASSWORD + "x"}, "รหัสผ่านทั้งสองช่องไม่ตรงกัน"),
    "no_username": ({"username": ""}, "กรุณากรอกชื่อผู้ใช้"),
    "long_username": ({"username": "a" * 33}, "ชื่อผู้ใช้ยาวเกิน 32 ตัวอักษร"),
    "thai_username": ({"username": "มาลี"}, "ชื่อผู้ใช้ต้องเป็นอักษรอังกฤษตัวเล็ก"),
    "no_name": ({"display_name": " "}, "กรุณากรอกชื่อ-สกุล"),
    "long_name": ({"display_name": "ก" * 201}, "ชื่อ-สกุลยาวเกิน 200 ตัวอักษร"),
    "script_name_no_role": (
        {"display_name": "<script>alert(1)</script>", "roles": []},
        "กรุณาเลือกบทบาทอย่างน้อยหนึ่งบทบาท",
    ),
    "unknown_role": ({"roles": ["root"]}, "บทบาทไม่ถูกต้อง"),
    "unknown_division": ({"divisions": ["กรุงเทพ"]}, "หน่วยงานสังกัดไม่ถูกต้อง"),
    "existing_user": ({"username": "somsri"}, "มีผู้ใช้ somsri อยู่แล้ว"),
}


@pytest.mark.parametrize("case", sorted(BAD_USERS))
def test_bad_new_user_is_refused_in_thai_and_nothing_is_stored(
    node: Node, admin: FlaskClient, case: str
) -> None:
    change, message = BAD_USERS[case]
    form = {**NEW_USER, **change}
    before = state(node)
    resp = post_form(admin, "/admin/users", form, "/admin/users")
    page = text(resp)
    assert resp.status_code in (400, 409) and message in page
    assert f'value="{escape(form["display_name"])}"' in page  # what was typed stays
    assert "<script>alert" not in page
    for password in {form["password"], form["password2"]}:
        assert password not in page  # never echoed back
    assert state(node) == before


def test_html_in_a_display_name_is_shown_escaped(node: Node, admin: FlaskClient) -> None:
    name = '<b>มาลี</b><script>alert("x")</script>'
    assert post_form(admin, "/admin/users", {**NEW_USER, "display_name": name}).status_code == 302
    page = text(admin.get("/admin/users"))
    assert str(escape(name)) in page and "<script>alert" not in page


@pytest.mark.parametrize(
    "path", ["/admin/users", "/admin/users/somsri/password", "/admin/users/somsri/active"]
)
def test_forged_user_forms_change_nothing(node: Node, admin: FlaskClient, path: str) -> None:
    before = state(node)
    resp = admin.post(path, data={**NEW_USER, "active": "0", "csrf_token": "forged-token"})
    assert resp.status_code == 400 and FORGED in text(resp)
    assert state(node) == before


def test_admin_resets_a_password(node: Node, admin: FlaskClient) -> None:
    form = {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    resp = post_form(admin, "/admin/users/somsri/password", form, "/admin/users/somsri")
    assert resp.status_code == 302
    assert "ตั้งรหัสผ่านใหม่ของ somsri แล้ว" in text(admin.get("/admin/users/somsri"))
    assert signs_in(node, "somsri", NEW_PASSWORD) and not signs_in(node, "somsri", PASSWORD)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"password": "1234", "password2": "1234"}, "รหัสผ่านต้องมีความยาว 10 ถึง 200 ตัวอักษร"),
        ({"password": NEW_PASSWORD, "password2": "อื่น-" + NEW_PASSWORD}, "รหัสผ่านทั้งสองช่องไม่ตรงกัน"),
        ({"password": "ก" * 201, "password2": "ก" * 201}, "รหัสผ่านต้องมีความยาว 10 ถึง 200"),
    ],
)
def test_bad_password_reset_is_refused_and_never_echoed(
    node: Node, admin: FlaskClient, form: dict[str, str], message: str
) -> None:
    before = state(node)
    resp = post_form(admin, "/admin/users/somsri/password", form, "/admin/users/somsri")
    page = text(resp)
    assert resp.status_code == 400 and message in page
    assert form["password"] not in page and form["password2"] not in page
    assert state(node) == before and signs_in(node, "somsri", PASSWORD)


def test_deactivated_user_cannot_sign_in_until_activated(node: Node, admin: FlaskClient) -> None:
    somsri = login(node, "somsri")
    path = "/admin/users/somsri"
    before = state(node)
    unsaid = post_form(admin, f"{path}/active", {}, path)
    assert unsaid.status_code == 400 and "กรุณาเลือกสถานะการใช้งาน" in text(unsaid)
    assert state(node) == before
    assert post_form(admin, f"{path}/active", {"active": "0"}, path).status_code == 302
    page = text(admin.get(path))
    assert "ปิดการใช้งานบัญชี somsri แล้ว" in page and "เปิดการใช้งานบัญชี" in page
    assert "ปิดการใช้งาน" in text(admin.get("/admin/users"))
    assert not signs_in(node, "somsri", PASSWORD)
    assert somsri.get("/").status_code == 302  # the open session ends too

    assert post_form(admin, f"{path}/active", {"active": "1"}, path).status_code == 302
    assert signs_in(node, "somsri", PASSWORD)


def test_admin_cannot_deactivate_themself(node: Node, admin: FlaskClient) -> None:
    page = text(admin.get("/admin/users/admin"))
    assert "ไม่สามารถปิดการใช้งานบัญชีของตนเองได้" in page and "ปิดการใช้งานบัญชี</button>" not in page
    before = state(node)
    resp = post_form(admin, "/admin/users/admin/active", {"active": "0"}, "/admin/users/admin")
    assert resp.status_code == 409 and "ไม่สามารถปิดการใช้งานบัญชีของตนเองได้" in text(resp)
    assert state(node) == before


def test_admin_changes_roles_and_divisions(node: Node, admin: FlaskClient) -> None:
    path = "/admin/users/officer"
    form = {"roles_form": "1", "roles": ["clerk"], "divisions": [CHIANG_RAI]}
    assert post_form(admin, f"{path}/roles", form, path).status_code == 302
    page = text(admin.get(path))
    assert "บันทึกบทบาทของ officer แล้ว" in page and "เจ้าหน้าที่สารบรรณ" in page
    assert login(node, "officer").get("/retention").status_code == 200

    before = state(node)
    none = post_form(admin, f"{path}/roles", {"roles_form": "1"}, path)
    assert none.status_code == 400 and "กรุณาเลือกบทบาทอย่างน้อยหนึ่งบทบาท" in text(none)
    mine = post_form(admin, "/admin/users/admin/roles", {"roles": ["clerk"]}, path)
    assert mine.status_code == 409 and "ไม่สามารถถอดบทบาทผู้ดูแลระบบของตนเองได้" in text(mine)
    assert state(node) == before


def test_unknown_user_page_is_a_thai_404(admin: FlaskClient) -> None:
    resp = admin.get("/admin/users/nobody")
    assert resp.status_code == 404 and "ไม่พบผู้ใช้" in text(resp)


def test_set_active_and_set_roles_keep_an_active_administrator(node: Node) -> None:
    with node.store() as s:
        with pytest.raises(Conflict) as self_off:
            accounts.set_active(node.ctx, s, "admin", False, actor="admin")
        assert self_off.value.message_th == "ไม่สามารถปิดการใช้งานบัญชีของตนเองได้"
        with pytest.raises(Conflict) as last:
            accounts.set_active(node.ctx, s, "admin", False, actor="operator")
        assert last.value.message_th == "ต้องมีผู้ดูแลระบบที่ใช้งานได้อย่างน้อยหนึ่งคน"
        with pytest.raises(Conflict):
            accounts.set_roles(node.ctx, s, "admin", ["clerk"], actor="operator")
        accounts.set_roles(node.ctx, s, "boss", ["executive", "admin"], ["ชร 0017.1"])
        accounts.set_active(node.ctx, s, "admin", False, actor="boss")
        actions = [r["action"] for r in s.query("SELECT action FROM audit ORDER BY id")]
        assert actions[-2:] == ["set_roles", "deactivate_user"]
        assert accounts.get_user(s, "admin") is None
        boss = accounts.get_user(s, "boss")
        assert boss is not None and "ชร 0017.1" in boss["divisions"]


# ---- units -----------------------------------------------------------------------------------


def test_admin_adds_and_renames_a_unit(node: Node, admin: FlaskClient) -> None:
    page = text(admin.get("/admin/units"))
    assert CHIANG_RAI in page and "สำนักงาน" in page
    form = {"code": "ชร ๐๐๑๗.๓", "name": "กลุ่มงานอำนวยการ", "issuer": "", "active": "1"}
    assert post_form(admin, "/admin/units", form, "/admin/units").status_code == 302
    page = text(admin.get("/admin/units"))
    assert "บันทึกหน่วยงาน ชร 0017.3 กลุ่มงานอำนวยการ แล้ว" in page

    filled = text(admin.get("/admin/units?code=ชร 0017.3"))
    assert 'value="กลุ่มงานอำนวยการ"' in filled
    form = {"code": "ชร 0017.3", "name": "กลุ่มงานบริหารทั่วไป", "active": "1"}
    assert post_form(admin, "/admin/units", form, "/admin/units").status_code == 302
    page = text(admin.get("/admin/units"))
    assert "กลุ่มงานบริหารทั่วไป" in page and "กลุ่มงานอำนวยการ" not in page
    # A new unit can be chosen as a user's division.
    assert 'value="ชร 0017.3"' in text(admin.get("/admin/users"))


BAD_UNITS: dict[str, tuple[dict[str, str], str]] = {
    "no_code": ({"code": ""}, "กรุณากรอกรหัสหน่วยงาน"),
    "bad_code": ({"code": "กองคลัง"}, "รหัสหน่วยงานไม่ถูกต้อง"),
    "foreign_code": ({"code": "ชม 0017.3"}, "ไม่ใช่หน่วยงานในสังกัด ชร 0017"),
    "long_code": ({"code": "ชร 0017." + "1" * 40}, "รหัสหน่วยงานยาวเกิน 40 ตัวอักษร"),
    "no_name": ({"name": ""}, "กรุณากรอกชื่อหน่วยงาน"),
    "long_name": ({"name": "ก" * 201}, "ชื่อหน่วยงานยาวเกิน 200 ตัวอักษร"),
    "office_inactive": ({"code": CHIANG_RAI, "active": ""}, "ไม่สามารถปิดการใช้งานหน่วยงานหลัก"),
    "script_code": ({"code": "<script>x</script>"}, "รหัสหน่วยงานไม่ถูกต้อง"),
}


@pytest.mark.parametrize("case", sorted(BAD_UNITS))
def test_bad_unit_is_refused_in_thai_and_nothing_is_stored(
    node: Node, admin: FlaskClient, case: str
) -> None:
    change, message = BAD_UNITS[case]
    form = {"code": "ชร 0017.3", "name": "<i>กลุ่มงานอำนวยการ</i>", "active": "1", **change}
    before = state(node)
    resp = post_form(admin, "/admin/units", form, "/admin/units")
    page = text(resp)
    assert resp.status_code in (400, 409) and message in page
    assert f'value="{escape(form["name"])}"' in page and "<script>x" not in page
    assert state(node) == before


def test_unit_name_with_html_is_shown_escaped(admin: FlaskClient) -> None:
    form = {"code": "ชร 0017.4", "name": "<script>alert(1)</script>กลุ่มงาน", "active": "1"}
    assert post_form(admin, "/admin/units", form, "/admin/units").status_code == 302
    page = text(admin.get("/admin/units"))
    assert str(escape(form["name"])) in page and "<script>alert" not in page


def test_forged_unit_form_changes_nothing(node: Node, admin: FlaskClient) -> None:
    before = state(node)
    form = {"code": "ชร 0017.3", "name": "กลุ่มงาน", "csrf_token": "forged-token"}
    resp = admin.post("/admin/units", data=form)
    assert resp.status_code == 400 and FORGED in text(resp)
    assert state(node) == before


# ---- registers -------------------------------------------------------------------------------


def test_admin_reserves_a_number_and_voids_it_with_a_reason(node: Node, admin: FlaskClient) -> None:
    assert "ยังไม่มีทะเบียน" in text(admin.get("/admin/registers"))
    form = {"series": "ส่ง", "reason": "<b>สำหรับหนังสือผู้ว่าราชการ</b>"}
    assert post_form(admin, "/admin/registers/reserve", form, "/admin/registers").status_code == 302
    page = text(admin.get("/admin/registers"))
    assert "จองเลข ชร 0017/1 แล้ว" in page and "ทะเบียนหนังสือส่ง" in page
    assert str(escape(form["reason"])) in page and "<b>สำหรับ" not in page
    assert "ยกเลิกเลข ชร 0017/1" in page

    register = node.rows("SELECT id FROM registers")[0]["id"]
    filled = text(admin.get(f"/admin/registers?register={register}&number=1"))
    assert 'id="number" name="number" value="1"' in filled
    form = {"register": register, "number": "๑", "reason": "ไม่ได้ใช้"}
    assert post_form(admin, "/admin/registers/void", form, "/admin/registers").status_code == 302
    page = text(admin.get("/admin/registers"))
    assert "ยกเลิกเลข 1 แล้ว" in page and "ไม่มีเลขที่จองไว้" in page
    [entry] = node.rows("SELECT action, reason FROM register_entries")
    assert entry == {"action": "voided", "reason": "ไม่ได้ใช้"}


BAD_VOIDS: dict[str, tuple[dict[str, str], int, str]] = {
    "no_reason": ({"reason": " "}, 400, "กรุณากรอกเหตุผลการยกเลิก"),
    "long_reason": ({"reason": "ก" * 501}, 400, "เหตุผลการยกเลิกยาวเกิน 500 ตัวอักษร"),
    "no_number": ({"number": ""}, 400, "กรุณากรอกเลขที่จะยกเลิก"),
    "not_a_number": ({"number": "<script>"}, 400, "เลขที่จะยกเลิกต้องเป็นตัวเลข"),
    "unissued_number": ({"number": "99"}, 404, "ไม่พบเลข 99 ในทะเบียนนี้"),
    "unknown_register": ({"register": "ชร 0017|ส่ง|2400"}, 400, "ไม่พบทะเบียนที่เลือก"),
}


@pytest.mark.parametrize("case", sorted(BAD_VOIDS))
def test_bad_void_is_refused_in_thai_and_nothing_changes(
    node: Node, admin: FlaskClient, case: str
) -> None:
    post_form(admin, "/admin/registers/reserve", {"series": "ส่ง"}, "/admin/registers")
    register = node.rows("SELECT id FROM registers")[0]["id"]
    change, status, message = BAD_VOIDS[case]
    form = {"register": register, "number": "1", "reason": "ไม่ได้ใช้", **change}
    before = state(node)
    resp = post_form(admin, "/admin/registers/void", form, "/admin/registers")
    page = text(resp)
    assert resp.status_code == status and message in page
    assert "<script>" not in page.split("</header>", 1)[1]
    assert state(node) == before


def test_reserving_in_an_unknown_series_or_forged_is_refused(
    node: Node, admin: FlaskClient
) -> None:
    before = state(node)
    resp = post_form(admin, "/admin/registers/reserve", {"series": "ลับสุด"}, "/admin/registers")
    assert resp.status_code == 400 and "ไม่รู้จักทะเบียน" in text(resp)
    long = post_form(admin, "/admin/registers/reserve", {"series": "ส่ง", "reason": "ก" * 501})
    assert long.status_code == 400 and "เหตุผลการจองยาวเกิน 500 ตัวอักษร" in text(long)
    forged = admin.post(
        "/admin/registers/reserve", data={"series": "ส่ง", "csrf_token": "forged-token"}
    )
    assert forged.status_code == 400 and FORGED in text(forged)
    forged = admin.post(
        "/admin/registers/void",
        data={"register": "x", "number": "1", "reason": "x", "csrf_token": "forged-token"},
    )
    assert forged.status_code == 400 and FORGED in text(forged)
    assert state(node) == before
