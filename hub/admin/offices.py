"""The offices of the federation as the operator changes them: add, revoke, list, and
the shared registers the hub numbers for several offices.

Each change signs a new directory version in the same transaction, so that other offices
learn of it (:func:`hub.directory.publish_directory`). Adding an office also rebuilds the
lists derived from the offices table (:func:`hub.admin.lists.rebuild_derived_lists`).

Does not: issue enrollment tokens (:mod:`hub.admin.tokens`) nor enroll an office: that is
the node's request (:mod:`hub.federation.enrollment`).
"""

from __future__ import annotations

from typing import Any

from hub.admin.access import AdminRefused, Instance, action_time, open_for_action, open_hub
from hub.admin.lists import rebuild_derived_lists
from hub.directory import HubKeyring, publish_directory
from hub.errors import AdminError
from hub.store import HubStore
from protocol.errors import SarabanError
from protocol.numbers import UNIT_CODE_RE, Series, YearBasis, parse_unit_code
from protocol.thai import normalize_thai

GROUP_COUNT = 18
"""Provincial groups (กลุ่มจังหวัด) are numbered 1 to 18."""
MAX_OFFICE_NAME = 200
MAX_PROVINCE = 100


def add_office(
    instance: Instance,
    office_id: str,
    name: str,
    province: str | None = None,
    group_no: int | None = None,
    group_name: str | None = None,
    now: float | None = None,
    *,
    store: HubStore | None = None,
) -> int:
    """Add a pending office (joining its group list and all-offices); return the new
    directory version.

    ``office_id`` may be typed loosely (``ชม0017``, Thai digits); it is stored in canonical
    form. Without ``group_name`` the office takes the name its group already has.
    """
    try:
        office_id = parse_unit_code(office_id)
    except SarabanError as e:
        raise AdminRefused(
            f"office id {office_id!r} is not a unit code like 'ชม 0017'",
            "รหัสหน่วยงานต้องเป็นอักษรไทย 2 ตัว เว้นวรรค และตัวเลข 4 หลัก เช่น ชม 0017",
            code="bad_office_id",
        ) from e
    name = normalize_thai(name or "").strip()
    province = normalize_thai(province or "").strip() or None
    if not name or len(name) > MAX_OFFICE_NAME:
        raise AdminRefused(
            f"an office name has 1 to {MAX_OFFICE_NAME} characters",
            f"ชื่อหน่วยงานต้องมีความยาว 1 ถึง {MAX_OFFICE_NAME} ตัวอักษร",
            code="bad_office_name",
        )
    if province is not None and len(province) > MAX_PROVINCE:
        raise AdminRefused(
            f"a province name has at most {MAX_PROVINCE} characters",
            f"ชื่อจังหวัดยาวเกิน {MAX_PROVINCE} ตัวอักษร",
            code="bad_province",
        )
    if group_no is not None and not 1 <= group_no <= GROUP_COUNT:
        raise AdminRefused(
            f"group number {group_no} is not 1 to {GROUP_COUNT}",
            f"กลุ่มจังหวัดต้องเป็นเลข 1 ถึง {GROUP_COUNT}",
            code="bad_group",
        )
    when = action_time(now)
    with open_for_action(instance, store) as (path, _, db), db.write():
        if db.office(office_id) is not None:
            raise AdminRefused(
                f"office {office_id!r} already exists",
                f"มีหน่วยงาน {office_id} อยู่แล้ว",
                code="office_exists",
                status=409,
            )
        if group_no is not None and group_name is None:
            group_name = next(
                (o["group_name"] for o in db.offices() if o["group_no"] == group_no), None
            )
        db.add_office(office_id, name, province, group_no, group_name, when)
        rebuild_derived_lists(db)
        return publish_directory(db, HubKeyring.load(path, db), when)


def revoke_office(
    instance: Instance,
    office_id: str,
    reason: str = "",
    now: float | None = None,
    *,
    store: HubStore | None = None,
) -> int:
    """Revoke an office and its keys; return the new directory version.

    Its unused enrollment tokens die with it (:mod:`hub.federation.enrollment` refuses a revoked
    office), and its signed requests are refused from the next one on.
    """
    when = action_time(now)
    with open_for_action(instance, store) as (path, _, db), db.write():
        row = db.office(office_id)
        if row is None:
            raise AdminRefused(
                f"unknown office {office_id!r}",
                f"ไม่พบหน่วยงาน {office_id}",
                code="unknown_office",
                status=404,
            )
        if row["status"] == "revoked":
            raise AdminRefused(
                f"office {office_id!r} is already revoked",
                f"หน่วยงาน {office_id} ถูกเพิกถอนไปแล้ว",
                code="revoked",
                status=409,
            )
        db.set_office_revoked(office_id, when)
        db.raise_alert("office_revoked", office_id, reason or "revoked by the operator", when)
        return publish_directory(db, HubKeyring.load(path, db), when)


def add_shared_register(
    instance: Instance,
    owner: str,
    series: str,
    members: list[str],
    basis: str = "calendar",
    now: float | None = None,
) -> int:
    """Make ``(owner, series)`` a register numbered by the hub through leases to
    ``members``; return the new directory version."""
    if not UNIT_CODE_RE.fullmatch(owner):
        raise AdminError(f"owner {owner!r} is not a unit code like 'มท 0200'")
    try:
        series_value = Series(series).value
        basis_value = YearBasis(basis).value
    except ValueError as e:
        raise AdminError(str(e)) from e
    when = action_time(now)
    with open_hub(instance) as (path, _, store), store.write():
        unknown = [m for m in members if store.office(m) is None]
        if unknown or not members:
            raise AdminError(f"unknown member offices: {', '.join(unknown) or '(none given)'}")
        store.set_shared_register(owner, series_value, basis_value, list(dict.fromkeys(members)))
        return publish_directory(store, HubKeyring.load(path, store), when)


def offices(instance: Instance) -> list[dict[str, Any]]:
    """Every office (``id``, ``name``, ``province``, ``group_no``, ``status``, sync health
    fields), ordered by group."""
    with open_hub(instance) as (_, _, store):
        return store.offices()


list_offices = offices
