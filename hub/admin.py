"""Operator actions on a hub instance, for the command line and the tests.

Every function takes the instance folder (or a hub Flask app) and an optional ``now``
(Unix seconds; the wall clock when omitted). Each change that other offices must learn
about (an office added or revoked, a shared register, a distribution list, a hub key
rotation) signs a new directory version in the same transaction as the change.

The operator actions also take an optional ``store``: the console passes its own
connection so that the change, the directory that announces it and the operator's action
record commit together (the action's ``store.write()`` joins the caller's transaction).
Without one, the function opens the instance's database itself (the command line).
Refusals are :class:`AdminRefused`: an English reason for logs and a Thai message that
the console shows and the command line prints.

This module prints nothing and parses no arguments: ``scripts/`` does that.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from flask import Flask

from hub.config import load_settings
from hub.directory import HubKeyring, current_directory, directory_version, publish_directory
from hub.errors import AdminError, ConsoleError
from hub.federation.enrollment import issue_token
from hub.numbering.authority import numbering_report as _numbering_report
from hub.store import HubStore
from protocol.errors import SarabanError
from protocol.keys import fingerprint
from protocol.numbers import UNIT_CODE_RE, Series, YearBasis, parse_unit_code
from protocol.thai import normalize_thai

Instance = str | Path | Flask
PILOT_LIST = "pilot-centres"
ALL_LIST = "all-offices"
GROUP_COUNT = 18
"""Provincial groups (กลุ่มจังหวัด) are numbered 1 to 18."""
MAX_OFFICE_NAME = 200
MAX_PROVINCE = 100
MAX_LIST_TITLE = 200
LIST_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")
GROUP_LIST_RE = re.compile(r"group-[0-9]{2}")
RESERVED_LIST_NAMES = frozenset({"new"})
"""Names a list may not take: ``/lists/new`` is the console's page for a new list."""
TOKEN_ID_LENGTH = 16
"""Hex characters of a token's stored hash that name it in the console and the CLI."""
TOKEN_ID_RE = re.compile(f"[0-9a-f]{{{TOKEN_ID_LENGTH}}}")
TOKEN_STATES = {
    "unused": "ยังไม่ใช้",
    "used": "ใช้แล้ว",
    "expired": "หมดอายุ",
    "cancelled": "ยกเลิก",
}
"""States of an enrollment token and how the console names them."""


class AdminRefused(ConsoleError, AdminError):
    """An operator action refused, with the Thai message the operator reads (an
    :class:`AdminError` for the callers that catch those)."""


def _instance_and_settings(instance: Instance) -> tuple[Path, dict[str, Any]]:
    if isinstance(instance, Flask):
        return Path(instance.instance_path), dict(instance.config)
    path = Path(instance)
    return path, load_settings(path)


@contextmanager
def open_hub(
    instance: Instance, create: bool = False
) -> Iterator[tuple[Path, dict[str, Any], HubStore]]:
    """``(instance path, settings, store)`` of a hub instance; the store is closed after."""
    path, settings = _instance_and_settings(instance)
    store = HubStore.open(settings["DATABASE"], create=create)
    try:
        yield path, settings, store
    finally:
        store.close()


@contextmanager
def _hub(
    instance: Instance, store: HubStore | None
) -> Iterator[tuple[Path, dict[str, Any], HubStore]]:
    """Like :func:`open_hub`, but on the caller's ``store`` (left open) when given."""
    if store is None:
        with open_hub(instance) as opened:
            yield opened
        return
    path, settings = _instance_and_settings(instance)
    yield path, settings, store


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _group_list_name(group_no: int) -> str:
    return f"group-{group_no:02d}"


def seed_data() -> dict[str, Any]:
    """The pilot offices and list titles shipped in ``hub/data/offices.json``."""
    text = resources.files("hub").joinpath("data/offices.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _rebuild_lists(store: HubStore) -> None:
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


def init_hub(instance_path: str | Path, now: float | None = None) -> dict[str, Any]:
    """Create a hub instance: folder, hub key (0600), database, pilot offices, lists, and
    directory version 1. Running it again on an initialised instance changes nothing.

    Returns ``{"instance", "database", "hub_keyid", "fingerprint", "directory_version",
    "offices", "created"}``.
    """
    when = _now(now)
    path = Path(instance_path)
    path.mkdir(parents=True, exist_ok=True)
    with open_hub(path, create=True) as (_, settings, store):
        created = not store.hub_keys()
        if created:
            data = seed_data()
            with store.write():
                HubKeyring.create(path, store, 1, when)
                for o in data["offices"]:
                    store.add_office(
                        o["id"], o["name"], o["province"], o["group_no"], o["group_name"], when
                    )
                pilot = data["pilot_list"]
                store.set_list(
                    pilot["name"],
                    pilot["title"],
                    [o["id"] for o in data["offices"] if o["group_no"] is not None],
                )
                _rebuild_lists(store)
                publish_directory(store, HubKeyring.load(path, store), when)
        keyring = HubKeyring.load(path, store)
        head = current_directory(store)
        return {
            "instance": str(path),
            "database": settings["DATABASE"],
            "hub_keyid": keyring.current.keyid,
            "fingerprint": fingerprint(keyring.current.public_b64()),
            "directory_version": head[0] if head else 0,
            "offices": len(store.offices()),
            "created": created,
        }


def issue_enrollment_token(
    instance: Instance,
    office: str,
    ttl_hours: float | None = None,
    now: float | None = None,
    *,
    store: HubStore | None = None,
) -> str:
    """A one-time enrollment token for ``office`` (the secret, shown once; only its hash is
    kept: :func:`token_id` names it afterwards). ``ttl_hours`` defaults to
    ENROLL_TOKEN_TTL_HOURS."""
    with _hub(instance, store) as (_, settings, db):
        ttl = float(settings["ENROLL_TOKEN_TTL_HOURS"] if ttl_hours is None else ttl_hours)
        return issue_token(db, office, ttl, _now(now))


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
    when = _now(now)
    with _hub(instance, store) as (path, _, db), db.write():
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
        _rebuild_lists(db)
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
    when = _now(now)
    with _hub(instance, store) as (path, _, db), db.write():
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
    when = _now(now)
    with open_hub(instance) as (path, _, store), store.write():
        unknown = [m for m in members if store.office(m) is None]
        if unknown or not members:
            raise AdminError(f"unknown member offices: {', '.join(unknown) or '(none given)'}")
        store.set_shared_register(owner, series_value, basis_value, list(dict.fromkeys(members)))
        return publish_directory(store, HubKeyring.load(path, store), when)


def rotate_hub_key(
    instance: Instance, now: float | None = None, *, store: HubStore | None = None
) -> str:
    """Make a new hub signing key current; return its key id.

    The directory that announces it is signed by the new and the old key, so nodes that
    pinned the old key accept it; hub envelopes stay co-signed by the old key until the
    next rotation.
    """
    when = _now(now)
    with _hub(instance, store) as (path, _, db), db.write():
        top = max((r["key_no"] for r in db.hub_keys()), default=0)
        signer = HubKeyring.create(path, db, top + 1, when)
        publish_directory(db, HubKeyring.load(path, db), when)
        return signer.keyid


def numbering_report(instance_or_store: Instance | HubStore) -> list[dict[str, Any]]:
    """Per-register numbering report (see :func:`hub.numbering.authority.numbering_report`)."""
    if isinstance(instance_or_store, HubStore):
        return _numbering_report(instance_or_store)
    with open_hub(instance_or_store) as (_, _, store):
        return _numbering_report(store)


def list_alerts(instance: Instance, status: str | None = "open") -> list[dict[str, Any]]:
    """Alerts (equivocation, unroutable, numbering conflicts...), newest first."""
    with open_hub(instance) as (_, _, store):
        return store.alerts(status)


def list_quarantine(instance: Instance, status: str | None = "open") -> list[dict[str, Any]]:
    """Quarantined envelopes with their reasons, newest first (envelope bytes omitted)."""
    with open_hub(instance) as (_, _, store):
        return [{k: v for k, v in r.items() if k != "envelope"} for r in store.quarantined(status)]


def offices(instance: Instance) -> list[dict[str, Any]]:
    """Every office (``id``, ``name``, ``province``, ``group_no``, ``status``, sync health
    fields), ordered by group."""
    with open_hub(instance) as (_, _, store):
        return store.offices()


list_offices = offices


# -- enrollment tokens ----------------------------------------------------------------------


def token_id(stored_hash: str) -> str:
    """How the console and the CLI name a token: the start of its stored hash.

    The hash of a 192-bit random secret: its prefix tells nothing about the secret.
    """
    return stored_hash[:TOKEN_ID_LENGTH]


def _token_state(row: dict[str, Any], office_status: str | None, now: float) -> str:
    if row["used_at"] is not None:
        return "used"
    if row["cancelled_at"] is not None or office_status == "revoked":
        return "cancelled"  # a revoked office's token can never be redeemed
    if row["expires_at"] <= now:
        return "expired"
    return "unused"


def enrollment_tokens(
    instance: Instance,
    now: float | None = None,
    limit: int = 200,
    *,
    store: HubStore | None = None,
) -> list[dict[str, Any]]:
    """Issued tokens, newest first: ``id``, ``office``, ``office_name``, ``issued_at``,
    ``expires_at``, ``used_at``, ``state`` (a key of :data:`TOKEN_STATES`).

    Never the secret (it is not kept) nor the full hash.
    """
    when = _now(now)
    with _hub(instance, store) as (_, _, db):
        offices = {o["id"]: o for o in db.offices()}
        out = []
        for row in db.tokens(limit):
            office = offices.get(row["office"])
            ident = token_id(row["token_hash"])
            out.append(
                {
                    "id": ident,
                    "office": row["office"],
                    "office_name": office["name"] if office else None,
                    "issued_at": row["issued_at"],
                    "expires_at": row["expires_at"],
                    "used_at": row["used_at"],
                    "state": _token_state(row, office["status"] if office else None, when),
                }
            )
        return out


def cancel_enrollment_token(
    instance: Instance, ident: str, now: float | None = None, *, store: HubStore | None = None
) -> dict[str, Any]:
    """Make the unused token named ``ident`` (:func:`token_id`) unusable; return
    ``{"id", "office"}``.
    """
    if not TOKEN_ID_RE.fullmatch(ident):
        raise AdminRefused(
            f"{ident!r} is not a token id", "ไม่พบรหัสลงทะเบียนนี้", code="unknown_token", status=404
        )
    when = _now(now)
    with _hub(instance, store) as (_, _, db), db.write():
        rows = db.tokens_by_prefix(ident)
        if len(rows) != 1:  # two hashes sharing 64 bits: never in practice, refused anyway
            raise AdminRefused(
                f"no single token {ident}", "ไม่พบรหัสลงทะเบียนนี้", code="unknown_token", status=404
            )
        row = rows[0]
        if row["used_at"] is not None or row["expires_at"] <= when:
            raise AdminRefused(
                f"token {ident} is used or expired",
                "รหัสลงทะเบียนนี้ถูกใช้ไปแล้วหรือหมดอายุแล้ว ยกเลิกไม่ได้",
                code="token_not_live",
                status=409,
            )
        db.cancel_token(row["token_hash"], when)
        return {"id": ident, "office": row["office"]}


# -- distribution lists ----------------------------------------------------------------------


def is_derived_list(name: str) -> bool:
    """Whether ``name`` is rebuilt from the offices table (``group-NN``, ``all-offices``),
    so nobody edits it by hand."""
    return name == ALL_LIST or GROUP_LIST_RE.fullmatch(name) is not None


def distribution_lists(
    instance: Instance, *, store: HubStore | None = None
) -> list[dict[str, Any]]:
    """Every list, by name: ``name``, ``title``, ``members``, ``derived``."""
    with _hub(instance, store) as (_, _, db):
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
    when = _now(now)
    with _hub(instance, store) as (path, _, db), db.write():
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
    when = _now(now)
    with _hub(instance, store) as (path, _, db), db.write():
        if not db.delete_list(name):
            raise AdminRefused(
                f"no list {name!r}", f"ไม่พบรายชื่อ {name}", code="unknown_list", status=404
            )
        return publish_directory(db, HubKeyring.load(path, db), when)
