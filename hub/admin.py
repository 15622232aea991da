"""Operator actions on a hub instance, for the command line and the tests.

Every function takes the instance folder (or a hub Flask app) and an optional ``now``
(Unix seconds; the wall clock when omitted). Each change that other offices must learn
about (an office added or revoked, a shared register, a hub key rotation) signs a new
directory version in the same transaction as the change.

This module prints nothing and parses no arguments: ``scripts/`` does that.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from flask import Flask

from protocol.keys import fingerprint
from protocol.numbers import UNIT_CODE_RE, Series, YearBasis

from .config import load_settings
from .directory import HubKeyring, current_directory, publish_directory
from .enrollment import issue_token
from .errors import AdminError
from .numbering import numbering_report as _numbering_report
from .store import HubStore

Instance = str | Path | Flask
PILOT_LIST = "pilot-centres"
ALL_LIST = "all-offices"


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
    instance: Instance, office: str, ttl_hours: float | None = None, now: float | None = None
) -> str:
    """A one-time enrollment token for ``office`` (the secret, shown once; only its hash is
    kept). ``ttl_hours`` defaults to ENROLL_TOKEN_TTL_HOURS."""
    with open_hub(instance) as (_, settings, store):
        ttl = float(settings["ENROLL_TOKEN_TTL_HOURS"] if ttl_hours is None else ttl_hours)
        return issue_token(store, office, ttl, _now(now))


def add_office(
    instance: Instance,
    office_id: str,
    name: str,
    province: str | None = None,
    group_no: int | None = None,
    group_name: str | None = None,
    now: float | None = None,
) -> int:
    """Add a pending office (joining its group list and all-offices); return the new
    directory version."""
    if not UNIT_CODE_RE.fullmatch(office_id):
        raise AdminError(f"office id {office_id!r} is not a unit code like 'ชม 0017'")
    when = _now(now)
    with open_hub(instance) as (path, _, store), store.write():
        if store.office(office_id) is not None:
            raise AdminError(f"office {office_id!r} already exists", code="office_exists")
        store.add_office(office_id, name, province, group_no, group_name, when)
        _rebuild_lists(store)
        return publish_directory(store, HubKeyring.load(path, store), when)


def revoke_office(
    instance: Instance, office_id: str, reason: str = "", now: float | None = None
) -> int:
    """Revoke an office and its keys; return the new directory version."""
    when = _now(now)
    with open_hub(instance) as (path, _, store), store.write():
        row = store.office(office_id)
        if row is None:
            raise AdminError(f"unknown office {office_id!r}", code="unknown_office")
        if row["status"] == "revoked":
            raise AdminError(f"office {office_id!r} is already revoked", code="revoked")
        store.set_office_revoked(office_id, when)
        store.raise_alert("office_revoked", office_id, reason or "revoked by the operator", when)
        return publish_directory(store, HubKeyring.load(path, store), when)


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


def rotate_hub_key(instance: Instance, now: float | None = None) -> str:
    """Make a new hub signing key current; return its key id.

    The directory that announces it is signed by the new and the old key, so nodes that
    pinned the old key accept it; hub envelopes stay co-signed by the old key until the
    next rotation.
    """
    when = _now(now)
    with open_hub(instance) as (path, _, store), store.write():
        top = max((r["key_no"] for r in store.hub_keys()), default=0)
        signer = HubKeyring.create(path, store, top + 1, when)
        publish_directory(store, HubKeyring.load(path, store), when)
        return signer.keyid


def numbering_report(instance_or_store: Instance | HubStore) -> list[dict[str, Any]]:
    """Per-register numbering report (see :func:`hub.numbering.numbering_report`)."""
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
