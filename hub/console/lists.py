"""The console's distribution lists (รายชื่อส่งหนังสือ): the lists of offices a clerk
names instead of recipients when sending a circular letter.

Routes (blueprint ``console_lists``): ``GET /lists`` (every list, its size and whether the
hub derives it); ``GET /lists/new`` and ``POST /lists`` (create); ``GET /lists/<name>``
(edit form, or a read-only view of a derived list) and ``POST /lists/<name>`` (update);
``POST /lists/<name>/delete`` (with confirmation).

``group-NN`` and ``all-offices`` are rebuilt from the offices table whenever an office is
added, so they are shown read-only; ``pilot-centres`` (seeded at ``hub init``) and lists
made by operators are edited here. Lists are part of the signed directory: every change
runs :func:`hub.admin.lists.save_list` or :func:`hub.admin.lists.delete_list` (the
command line's functions too), which publish a new directory version in the same transaction as the
change and the operator's action record. A refused form comes back with the operator's
choices and a Thai message; nothing is stored.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from hub.admin.lists import (
    ALL_LIST,
    MAX_LIST_TITLE,
    PILOT_LIST,
    delete_list,
    distribution_lists,
    is_derived_list,
    save_list,
)
from hub.console.kit import done, form_confirmed, form_text, now, record
from hub.console.session import login_required, operator_required
from hub.context import get_store
from hub.errors import ConsoleError
from hub.store import HubStore

bp = Blueprint("console_lists", __name__)

MAX_MEMBERS_FIELD = 2000
"""More checkbox values than this is not a form this page made."""


def _app() -> Flask:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def _unknown(name: str) -> ConsoleError:
    return ConsoleError(
        f"no list {name!r}", f"ไม่พบรายชื่อ {name[:60]}", code="unknown_list", status=404
    )


def _derived(name: str) -> ConsoleError:
    return ConsoleError(
        f"list {name!r} is derived from the offices table",
        f"รายชื่อ {name} สร้างจากข้อมูลหน่วยงานโดยอัตโนมัติ แก้ไขหรือลบด้วยมือไม่ได้",
        code="derived_list",
        status=409,
    )


def _kind(name: str) -> str:
    if is_derived_list(name):
        return "derived"
    return "seeded" if name == PILOT_LIST else "operator"


def _office_groups(store: HubStore) -> list[dict[str, Any]]:
    """Offices that may be members (not revoked), by provincial group, central units first."""
    groups: dict[int | None, dict[str, Any]] = {}
    for o in store.offices():
        if o["status"] == "revoked":
            continue
        number = o["group_no"]
        if number is None:
            title = "ส่วนกลาง (ไม่สังกัดกลุ่มจังหวัด)"
        else:
            title = f"กลุ่มจังหวัดที่ {number}" + (f" {o['group_name']}" if o["group_name"] else "")
        groups.setdefault(number, {"number": number, "title": title, "offices": []})
        groups[number]["offices"].append(o)
    return list(groups.values())


def _form_page(
    store: HubStore,
    *,
    name: str,
    title: str,
    members: list[str],
    new: bool,
    error: str | None = None,
) -> str:
    offices = {o["id"]: o for o in store.offices()}
    return render_template(
        "lists_form.html",
        name=name,
        title=title,
        members=set(members),
        new=new,
        error=error,
        groups=_office_groups(store),
        revoked_members=[
            offices[m] for m in members if m in offices and offices[m]["status"] == "revoked"
        ],
        max_title=MAX_LIST_TITLE,
        kind=_kind(name) if name else "operator",
    )


def _members_field() -> list[str]:
    members = request.form.getlist("member")
    if len(members) > MAX_MEMBERS_FIELD:
        raise ConsoleError(
            "too many members", "แบบฟอร์มไม่ถูกต้อง (ยังไม่ได้บันทึกสิ่งใด)", code="bad_request"
        )
    return [m.strip() for m in members if m.strip()]


@bp.get("/lists")
@login_required
def lists() -> str:
    rows = [
        {**entry, "kind": _kind(entry["name"])}
        for entry in distribution_lists(_app(), store=get_store())
    ]
    return render_template("lists.html", lists=rows, all_list=ALL_LIST)


@bp.get("/lists/new")
@operator_required
def new() -> str:
    return _form_page(get_store(), name="", title="", members=[], new=True)


@bp.get("/lists/<name>")
@login_required
def edit(name: str) -> str:
    store = get_store()
    entry = store.lists().get(name)
    if entry is None:
        raise _unknown(name)
    if is_derived_list(name):
        offices = {o["id"]: o for o in store.offices()}
        return render_template(
            "lists_derived.html",
            name=name,
            title=entry["title"],
            members=[offices.get(m, {"id": m, "name": "", "status": ""}) for m in entry["members"]],
            all_list=ALL_LIST,
        )
    return _form_page(store, name=name, title=entry["title"], members=entry["members"], new=False)


def _save(name: str, new: bool) -> BaseResponse | tuple[str, int]:
    store = get_store()
    members = _members_field()
    title = request.form.get("title", "")
    try:
        title = form_text("title", "ชื่อเรียกรายชื่อ", MAX_LIST_TITLE)
        with store.write():
            saved = save_list(
                _app(),
                name,
                title,
                members,
                now(),
                store=store,
                expect="new" if new else "existing",
            )
            if saved["changed"]:
                record(
                    "create_list" if saved["created"] else "update_list",
                    name,
                    None,
                    f"{saved['title']}; {len(saved['members'])} หน่วยงาน;"
                    f" ทะเบียนหน่วยงานฉบับที่ {saved['directory_version']}",
                )
    except ConsoleError as e:
        if e.status == 404:
            raise
        page = _form_page(
            store, name=name, title=title, members=members, new=new, error=e.message_th
        )
        return page, e.status
    if not saved["changed"]:
        return done(f"รายชื่อ {name} ไม่มีการเปลี่ยนแปลง", "console_lists.lists")
    verb = "สร้าง" if saved["created"] else "แก้ไข"
    return done(
        f"{verb}รายชื่อ {name} แล้ว ({len(saved['members'])} หน่วยงาน)"
        f" ทุกหน่วยงานจะได้รับทะเบียนหน่วยงานฉบับที่ {saved['directory_version']}",
        "console_lists.lists",
    )


@bp.post("/lists")
@operator_required
def create() -> BaseResponse | tuple[str, int]:
    return _save(request.form.get("name", "").strip()[:100], new=True)


@bp.post("/lists/<name>")
@operator_required
def update(name: str) -> BaseResponse | tuple[str, int]:
    if name not in get_store().lists():
        raise _unknown(name)
    if is_derived_list(name):
        raise _derived(name)
    return _save(name, new=False)


@bp.post("/lists/<name>/delete")
@operator_required
def remove(name: str) -> BaseResponse:
    store = get_store()
    if name not in store.lists():
        raise _unknown(name)
    if is_derived_list(name):
        raise _derived(name)
    form_confirmed("ยืนยันการลบรายชื่อ")
    with store.write():
        version = delete_list(_app(), name, now(), store=store)
        record("delete_list", name, None, f"ทะเบียนหน่วยงานฉบับที่ {version}")
    return done(
        f"ลบรายชื่อ {name} แล้ว ทุกหน่วยงานจะได้รับทะเบียนหน่วยงานฉบับที่ {version}", "console_lists.lists"
    )
