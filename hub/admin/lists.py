"""Distribution lists: the ones operators make by hand, and the ones derived from the
offices table (``group-NN`` per provincial group, ``all-offices``).

A list changed by hand signs a new directory version in the same transaction, so that
nodes learn of it. Derived lists are rebuilt whenever offices change
(:func:`rebuild_derived_lists`) and nobody edits them; the pilot list is seeded once and
then edited like any other.

Does not: resolve a list into recipients when a letter is sent (the node does, from the
directory).
"""

from __future__ import annotations

import re
from typing import Any

from hub.admin.access import AdminRefused, Instance, action_time, open_for_action
from hub.directory import HubKeyring, directory_version, publish_directory
from hub.store import HubStore
from protocol.errors import SarabanError
from protocol.numbers import parse_unit_code
from protocol.thai import normalize_thai

PILOT_LIST = "pilot-centres"
ALL_LIST = "all-offices"
MAX_LIST_TITLE = 200
LIST_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")
GROUP_LIST_RE = re.compile(r"group-[0-9]{2}")
RESERVED_LIST_NAMES = frozenset({"new"})
"""Names a list may not take: ``/lists/new`` is the console's page for a new list."""


def _group_list_name(group_no: int) -> str:
    return f"group-{group_no:02d}"


def rebuild_derived_lists(store: HubStore) -> None:
    """Derive the group lists and all-offices from the offices table (pilot list kept)."""
    offices = [o for o in store.offices()]
    groups: dict[int, tuple[str, list[str]]] = {}
    for o in offices:
        if o["group_no"] is not None:
            title = o["group_name"] or f"กลุ่มจังหวัดที่ {o['group_no']}"
            groups.setdefault(o["group_no"], (title, []))[1].append(o["id"])
    for number, (title, members) in sorted(groups.items()):
        store.set_list(_group_list_name(number), title, members)
    store.set_list(ALL_LIST, "ทุกหน่วยงาน", [o["id"] for o in offices])


def is_derived_list(name: str) -> bool:
    """Whether ``name`` is rebuilt from the offices table (``group-NN``, ``all-offices``),
    so nobody edits it by hand."""
    return name == ALL_LIST or GROUP_LIST_RE.fullmatch(name) is not None


def distribution_lists(
    instance: Instance, *, store: HubStore | None = None
) -> list[dict[str, Any]]:
    """Every list, by name: ``name``, ``title``, ``members``, ``derived``."""
    with open_for_action(instance, store) as (_, _, db):
        return [
            {
                "name": name,
                "title": entry["title"],
                "members": list(entry["members"]),
                "derived": is_derived_list(name),
            }
            for name, entry in db.lists().items()
        ]


def _check_list_name(name: str) -> None:
    if not LIST_NAME_RE.fullmatch(name or ""):
        raise AdminRefused(
            f"list name {name!r} is not 2-40 of a-z 0-9 - (not starting with -)",
            "ชื่อรายชื่อต้องเป็นอักษรอังกฤษตัวเล็ก ตัวเลข หรือ - ยาว 2 ถึง 40 ตัว และขึ้นต้นด้วยอักษรหรือตัวเลข",
            code="bad_list_name",
        )
    if is_derived_list(name):
        raise AdminRefused(
            f"list {name!r} is derived from the offices table",
            f"รายชื่อ {name} สร้างจากข้อมูลหน่วยงานโดยอัตโนมัติ แก้ไขหรือลบด้วยมือไม่ได้",
            code="derived_list",
            status=409,
        )
    if name in RESERVED_LIST_NAMES:
        raise AdminRefused(
            f"list name {name!r} is reserved",
            f"ใช้ชื่อ {name} ไม่ได้ กรุณาตั้งชื่ออื่น",
            code="bad_list_name",
        )


def _members(store: HubStore, members: list[str]) -> list[str]:
    """The members as canonical office ids in the offices' order; a refusal for an unknown
    or revoked office or none at all."""
    if not members:
        raise AdminRefused(
            "a list has at least one member",
            "กรุณาเลือกหน่วยงานอย่างน้อยหนึ่งแห่ง",
            code="no_members",
        )
    wanted: set[str] = set()
    for given in members:
        try:
            office_id = parse_unit_code(given)
        except SarabanError:
            office_id = given
        row = store.office(office_id)
        if row is None:
            raise AdminRefused(
                f"unknown member office {given!r}",
                f"ไม่พบหน่วยงาน {given}",
                code="unknown_member",
            )
        if row["status"] == "revoked":
            raise AdminRefused(
                f"member office {office_id!r} is revoked",
                f"หน่วยงาน {office_id} ถูกเพิกถอนแล้ว ใส่ในรายชื่อไม่ได้",
                code="revoked_member",
            )
        wanted.add(office_id)
    return [o["id"] for o in store.offices() if o["id"] in wanted]


def save_list(
    instance: Instance,
    name: str,
    title: str,
    members: list[str],
    now: float | None = None,
    *,
    store: HubStore | None = None,
    expect: str | None = None,
) -> dict[str, Any]:
    """Create or replace the distribution list ``name``; publish a new directory version
    when it changed.

    ``expect`` is ``"new"`` (refuse an existing name), ``"existing"`` (refuse an unknown
    one) or None (either). Members are office ids (typed loosely or not), known and not
    revoked, at least one; they are kept in the offices' order. Returns ``{"name",
    "title", "members", "created", "changed", "directory_version"}``.
    """
    _check_list_name(name)
    title = normalize_thai(title or "").strip()
    if not title:
        raise AdminRefused("a list needs a title", "กรุณากรอกชื่อเรียกรายชื่อ", code="required")
    if len(title) > MAX_LIST_TITLE:
        raise AdminRefused(
            f"a list title has at most {MAX_LIST_TITLE} characters",
            f"ชื่อเรียกรายชื่อยาวเกิน {MAX_LIST_TITLE} ตัวอักษร",
            code="too_long",
        )
    when = action_time(now)
    with open_for_action(instance, store) as (path, _, db), db.write():
        existing = db.lists().get(name)
        if expect == "new" and existing is not None:
            raise AdminRefused(
                f"list {name!r} exists",
                f"มีรายชื่อชื่อ {name} อยู่แล้ว",
                code="list_exists",
                status=409,
            )
        if expect == "existing" and existing is None:
            raise AdminRefused(
                f"no list {name!r}", f"ไม่พบรายชื่อ {name}", code="unknown_list", status=404
            )
        ids = _members(db, members)
        changed = existing != {"title": title, "members": ids}
        if changed:
            db.set_list(name, title, ids)
            version = publish_directory(db, HubKeyring.load(path, db), when)
        else:
            version = directory_version(db)
        return {
            "name": name,
            "title": title,
            "members": ids,
            "created": existing is None,
            "changed": changed,
            "directory_version": version,
        }


def delete_list(
    instance: Instance, name: str, now: float | None = None, *, store: HubStore | None = None
) -> int:
    """Remove a distribution list made by hand; return the new directory version.

    Nodes learn of it with that version; a draft still naming the list is refused when it
    is dispatched (the list is unknown), so the clerk picks its recipients again.
    """
    _check_list_name(name)
    when = action_time(now)
    with open_for_action(instance, store) as (path, _, db), db.write():
        if not db.delete_list(name):
            raise AdminRefused(
                f"no list {name!r}", f"ไม่พบรายชื่อ {name}", code="unknown_list", status=404
            )
        return publish_directory(db, HubKeyring.load(path, db), when)
