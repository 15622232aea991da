"""The administrator's pages: users, the office's units and their letter codes, and the
numbering registers.

Routes (blueprint ``web_admin``, all behind the ``admin`` permission):

* ``GET /admin/users`` (every user: name, roles in Thai, divisions, active, last login)
  and ``POST /admin/users`` (add one: the password typed twice, roles, divisions);
* ``GET /admin/users/<username>``: one user, with ``POST .../roles`` (roles and
  divisions), ``POST .../password`` (reset) and ``POST .../active`` (deactivate or
  activate; never oneself);
* ``GET /admin/units`` (``?code=`` fills the form to rename one) and ``POST /admin/units``
  (add a unit or rename it, with the issuer named in its orders);
* ``GET /admin/registers`` (each register with its counts and the reserved numbers),
  ``POST /admin/registers/reserve`` (จองเลข) and ``POST /admin/registers/void``
  (ยกเลิกเลข, with a reason);
* ``GET /admin/sync`` (การรับส่งกับศูนย์กลาง): the envelopes from other offices held because
  they do not verify (:mod:`node.sync.held`), per sender and one by one, and the received
  letters waiting for their attachments.

Passwords are never written back into a form or shown. A failed form shows the page
again with the Thai message of :mod:`node.staff.accounts`, :mod:`node.records.units` or
:mod:`node.records.registers` and what was typed.

Does not: decide anything itself (those modules do, and audit every change), or create
the first administrator (``saraban node adduser`` does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from node.api.kit import ctx, store
from node.errors import BadInput, NodeError, NotFound
from node.records import registers, units
from node.records.access import ROLES
from node.records.directory import load_trusted
from node.staff import accounts
from node.sync.health import directory_status
from node.sync.held import HELD_TRIES, held_list, held_status
from node.web.kit import Done, actor, choice, done, field, once, requires, user
from protocol.numbers import Series
from protocol.sessions import MAX_PASSWORD
from protocol.thai import to_arabic_digits

bp = Blueprint("web_admin", __name__)

SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "web_admin.users",
        "ผู้ใช้",
        (
            "web_admin.add_user",
            "web_admin.user_page",
            "web_admin.save_roles",
            "web_admin.reset_password",
            "web_admin.set_active",
        ),
    ),
    ("web_admin.units", "หน่วยงานและรหัส", ("web_admin.save_unit",)),
    ("web_admin.registers", "ทะเบียนเลข", ("web_admin.reserve", "web_admin.void")),
    ("web_admin.sync", "การรับส่งกับศูนย์กลาง", ()),
)
"""This part's own menu: endpoint, Thai title, and the endpoints that belong to it."""

SERIES_TH: dict[str, str] = {
    Series.OUTGOING.value: "ทะเบียนหนังสือส่ง",
    Series.CIRCULAR.value: "ทะเบียนหนังสือเวียน (ว)",
    Series.ORDER.value: "ทะเบียนคำสั่ง",
    Series.ANNOUNCEMENT.value: "ทะเบียนประกาศ",
    Series.RECEIPT.value: "ทะเบียนหนังสือรับ",
    Series.CLASSIFIED.value: "ทะเบียนคุมหนังสือลับ",
    Series.RADIO.value: "ทะเบียนวิทยุ",
}
"""Each numbering series as the register's Thai name."""

BASIS_TH = {"calendar": "ปีปฏิทิน", "fiscal": "ปีงบประมาณ"}


def _page(template: str, **context: Any) -> str:
    return render_template(template, sections=SECTIONS, **context)


def _password() -> str:
    """The new password typed twice, exactly as typed (never normalised or stripped)."""
    # Longer than any allowed password: the domain refuses it by its length alone.
    password = request.form.get("password", "")[: MAX_PASSWORD + 1]
    if password != request.form.get("password2", "")[: MAX_PASSWORD + 1]:
        raise BadInput(
            "the two passwords differ",
            code="password_mismatch",
            message_th="รหัสผ่านทั้งสองช่องไม่ตรงกัน",
        )
    return password


def _unit_choices(extra: list[str] | None = None) -> list[dict[str, Any]]:
    rows = [{"code": u["code"], "name": u["name"]} for u in units.list_units(store())]
    known = {u["code"] for u in rows}
    rows += [{"code": d, "name": ""} for d in (extra or []) if d not in known]
    return rows


def _roles_and_divisions(held: list[str] | None = None) -> tuple[list[str], list[str]]:
    """The roles and divisions ticked: divisions are units, or ones the user already has."""
    roles = request.form.getlist("roles")
    if not roles:
        raise BadInput("no role", code="roles_required", message_th="กรุณาเลือกบทบาทอย่างน้อยหนึ่งบทบาท")
    divisions = request.form.getlist("divisions")
    allowed = {u["code"] for u in units.list_units(store())} | set(held or [])
    if any(d not in allowed for d in divisions):
        raise BadInput("unknown division", code="bad_division", message_th="หน่วยงานสังกัดไม่ถูกต้อง")
    return roles, divisions


# -- users -----------------------------------------------------------------------------------


def _users_page(error: str | None = None, form: Mapping[str, Any] | None = None) -> str:
    return _page(
        "admin_users.html",
        users=accounts.list_users(store()),
        roles=ROLES,
        unit_choices=_unit_choices(),
        error=error,
        form=form if form is not None else {},
        chosen_roles=request.form.getlist("roles") if form is not None else [],
        chosen_divisions=request.form.getlist("divisions") if form is not None else [],
    )


@bp.get("/admin/users")
@requires("admin")
def users() -> str:
    return _users_page()


@bp.post("/admin/users")
@requires("admin")
def add_user() -> BaseResponse | tuple[str, int]:
    def act() -> Done:
        username = field("username", "ชื่อผู้ใช้", max_len=32)
        display_name = field("display_name", "ชื่อ-สกุล", max_len=200)
        password = _password()
        roles, divisions = _roles_and_divisions()
        added = accounts.add_user(
            ctx(), store(), username, display_name, password, roles, divisions, actor=actor()
        )
        return done(f"เพิ่มผู้ใช้ {added['username']} ({added['display_name']}) แล้ว", "web_admin.users")

    try:
        return once(act)
    except NodeError as e:
        return _users_page(e.message_th, request.form), e.status


def _find_user(username: str) -> dict[str, Any]:
    for row in accounts.list_users(store()):
        if row["username"] == username:
            return row
    raise NotFound(f"no user {username}", message_th="ไม่พบผู้ใช้")


def _user_page(
    username: str,
    error: str | None = None,
    form: Mapping[str, Any] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    row = _find_user(username)
    posted = form is not None and "roles_form" in request.form
    page = _page(
        "admin_user.html",
        account=row,
        roles=ROLES,
        unit_choices=_unit_choices(row["divisions"]),
        is_me=username == user()["username"],
        error=error,
        chosen_roles=request.form.getlist("roles") if posted else row["roles"],
        chosen_divisions=request.form.getlist("divisions") if posted else row["divisions"],
    )
    return page, status


@bp.get("/admin/users/<username>")
@requires("admin")
def user_page(username: str) -> tuple[str, int]:
    return _user_page(username)


@bp.post("/admin/users/<username>/roles")
@requires("admin")
def save_roles(username: str) -> BaseResponse | tuple[str, int]:
    held = _find_user(username)["divisions"]

    def act() -> Done:
        roles, divisions = _roles_and_divisions(held)
        accounts.set_roles(ctx(), store(), username, roles, divisions, actor=actor())
        return done(f"บันทึกบทบาทของ {username} แล้ว", "web_admin.user_page", username=username)

    try:
        return once(act)
    except NodeError as e:
        return _user_page(username, e.message_th, request.form, e.status)


@bp.post("/admin/users/<username>/password")
@requires("admin")
def reset_password(username: str) -> BaseResponse | tuple[str, int]:
    _find_user(username)

    def act() -> Done:
        accounts.set_password(ctx(), store(), username, _password(), actor=actor())
        return done(f"ตั้งรหัสผ่านใหม่ของ {username} แล้ว", "web_admin.user_page", username=username)

    try:
        return once(act)
    except NodeError as e:
        return _user_page(username, e.message_th, request.form, e.status)


@bp.post("/admin/users/<username>/active")
@requires("admin")
def set_active(username: str) -> BaseResponse | tuple[str, int]:
    _find_user(username)

    def act() -> Done:
        active = choice("active", "สถานะการใช้งาน", ("0", "1"), required=True) == "1"
        accounts.set_active(ctx(), store(), username, active, actor=actor())
        state = "เปิดการใช้งาน" if active else "ปิดการใช้งาน"
        return done(f"{state}บัญชี {username} แล้ว", "web_admin.user_page", username=username)

    try:
        return once(act)
    except NodeError as e:
        return _user_page(username, e.message_th, request.form, e.status)


# -- units -----------------------------------------------------------------------------------


def _units_page(error: str | None = None, form: Mapping[str, Any] | None = None) -> str:
    rows = units.list_units(store(), include_inactive=True)
    if form is None:
        chosen = next((u for u in rows if u["code"] == request.args.get("code")), None)
        form = (
            {
                "code": chosen["code"],
                "name": chosen["name"],
                "issuer": chosen["issuer"] or "",
                "active": "1" if chosen["active"] else "",
            }
            if chosen
            else {"active": "1"}
        )
    return _page(
        "admin_units.html",
        units=rows,
        office=ctx().office,
        editing=bool(request.args.get("code")),
        error=error,
        form=form,
    )


@bp.get("/admin/units", endpoint="units")
@requires("admin")
def units_page() -> str:
    return _units_page()


@bp.post("/admin/units")
@requires("admin")
def save_unit() -> BaseResponse | tuple[str, int]:
    def act() -> Done:
        saved = units.save_unit(
            ctx(),
            store(),
            field("code", "รหัสหน่วยงาน", max_len=40),
            field("name", "ชื่อหน่วยงาน", max_len=200),
            field("issuer", "ชื่อผู้ออกคำสั่ง/ประกาศ", required=False, max_len=200),
            active=request.form.get("active") == "1",
            actor=actor(),
        )
        return done(f"บันทึกหน่วยงาน {saved['code']} {saved['name']} แล้ว", "web_admin.units")

    try:
        return once(act)
    except NodeError as e:
        return _units_page(e.message_th, request.form), e.status


# -- registers -------------------------------------------------------------------------------


def _registers_page(error: str | None = None, form: Mapping[str, Any] | None = None) -> str:
    regs = registers.list_registers(store())
    reserved = [
        {"register": r, **e} for r in regs for e in r["entries"] if e["action"] == "reserved"
    ]
    void_form = form if form is not None and "number" in form else dict(request.args)
    return _page(
        "admin_registers.html",
        registers=regs,
        reserved=reserved,
        series_th=SERIES_TH,
        basis_th=BASIS_TH,
        error=error,
        form=form if form is not None else {},
        void_form=void_form,
    )


@bp.get("/admin/registers", endpoint="registers")
@requires("admin")
def registers_page() -> str:
    return _registers_page()


@bp.post("/admin/registers/reserve")
@requires("admin")
def reserve() -> BaseResponse | tuple[str, int]:
    def act() -> Done:
        series = field("series", "ทะเบียน", max_len=20)
        reason = field("reason", "เหตุผลการจอง", required=False, max_len=500)
        issued = registers.reserve(ctx(), store(), series, reason, actor())
        return done(f"จองเลข {issued.display} แล้ว", "web_admin.registers")

    try:
        return once(act)
    except NodeError as e:
        return _registers_page(e.message_th, request.form), e.status


def _number() -> int:
    text = to_arabic_digits(field("number", "เลขที่จะยกเลิก", max_len=9))
    if not text.isascii() or not text.isdigit():
        raise BadInput(f"number {text!r}", code="bad_number", message_th="เลขที่จะยกเลิกต้องเป็นตัวเลข")
    return int(text)


@bp.post("/admin/registers/void")
@requires("admin")
def void() -> BaseResponse | tuple[str, int]:
    def act() -> Done:
        register_id = field("register", "ทะเบียน", max_len=200)
        if not store().scalar("SELECT 1 FROM registers WHERE id = ?", (register_id,)):
            raise BadInput(
                f"no register {register_id!r}", code="bad_register", message_th="ไม่พบทะเบียนที่เลือก"
            )
        number = _number()
        voided = registers.void(
            ctx(),
            store(),
            register_id,
            number,
            field("reason", "เหตุผลการยกเลิก", max_len=500),
            actor(),
        )
        return done(f"ยกเลิกเลข {voided['number']} แล้ว", "web_admin.registers")

    try:
        return once(act)
    except NodeError as e:
        return _registers_page(e.message_th, request.form), e.status


# -- the round trip with the hub --------------------------------------------------------------

KIND_TH = {
    "letter": "หนังสือ",
    "receipt": "ใบตอบรับ",
    "deliveries": "ใบตอบรับว่าได้รับหนังสือ",
    "withdraw": "การถอนหนังสือ",
    "register": "รายการทะเบียน",
    "lease": "การจัดสรรเลข",
}
"""Each envelope kind in Thai, for the held list."""


@bp.get("/admin/sync", endpoint="sync")
@requires("admin")
def sync_page() -> str:
    """The envelopes held because they do not verify: per sender, then one by one."""
    trusted = load_trusted(store())
    names = {o["id"]: o.get("name") or "" for o in trusted.directory.offices} if trusted else {}
    return _page(
        "admin_sync.html",
        held=held_status(store()),
        envelopes=held_list(store()),
        names=names,
        kinds=KIND_TH,
        tries=HELD_TRIES,
        awaiting=store().scalar("SELECT COUNT(*) FROM awaiting_attachments"),
        directory=directory_status(ctx(), store()),
    )
