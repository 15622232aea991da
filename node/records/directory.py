"""The node's copy of the hub's directory and the hub keys it pins.

The directory envelope is stored as received, with the hub keys pinned at enrolment (and
rotated by later directories). :func:`load_trusted` re-verifies the stored envelope, so a
row edited on disk is not trusted. The pinned keys are also written to
``<instance>/hub_keys.json`` so that a node whose database is lost can still verify what
the hub sends when it is rebuilt (:mod:`node.sync.restore`).

:func:`issued_at`, :func:`key_status` and :func:`next_key_number` read what the held
directory says of its own age and of an office's keys (for the frozen-directory warning
and for a new key, ADR 0018).

This module does not fetch directories; :mod:`node.sync.pull` and :mod:`node.sync.enrolment` do.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.errors import NotInitialised
from node.storage.feed import parse_iso
from node.storage.store import Store
from protocol.directory import TrustedDirectory, accept_directory
from protocol.envelope import Envelope
from protocol.errors import BadMessage
from protocol.filemodes import private_opener
from protocol.keys import public_key_from_b64, split_keyid

HUB_KEYS_FILE = "hub_keys.json"

_cache: dict[str, TrustedDirectory] = {}


def keys_from_list(entries: list[dict[str, Any]]) -> dict[str, Ed25519PublicKey]:
    """``[{"keyid", "public"}]`` as a key map."""
    return {e["keyid"]: public_key_from_b64(e["public"]) for e in entries}


def _entries(stored: Any) -> list[dict[str, Any]]:
    """Pinned keys are stored as ``{keyid: public}``; callers use ``[{"keyid", "public"}]``."""
    if isinstance(stored, dict):
        return [{"keyid": k, "public": v} for k, v in stored.items()]
    return list(stored or [])


def pinned_entries(store: Store) -> list[dict[str, Any]]:
    """The pinned hub keys as ``[{"keyid", "public"}]``."""
    raw = store.scalar("SELECT hub_keys FROM directory WHERE id = 1")
    return _entries(json.loads(raw)) if raw else []


def pinned_keys(store: Store) -> dict[str, Ed25519PublicKey]:
    """The pinned hub keys."""
    return keys_from_list(pinned_entries(store))


def load_trusted(store: Store) -> TrustedDirectory | None:
    """The stored directory, verified against the pinned hub keys; None before enrolment."""
    row = store.one("SELECT env_id, envelope, hub_keys FROM directory WHERE id = 1")
    if row is None:
        return None
    cached = _cache.get(row["env_id"])
    if cached is not None:
        return cached
    env = Envelope.from_bytes(row["envelope"])
    trusted = accept_directory(env, keys_from_list(_entries(json.loads(row["hub_keys"]))), None)
    _cache[row["env_id"]] = trusted
    return trusted


def require_trusted(store: Store) -> TrustedDirectory:
    """The stored directory, or :class:`~node.errors.NotInitialised`."""
    trusted = load_trusted(store)
    if trusted is None:
        raise NotInitialised("this node holds no directory; run init first")
    return trusted


def accept_and_store(
    store: Store,
    env: Envelope,
    now: float,
    pinned: dict[str, Ed25519PublicKey] | None = None,
    pinned_list: list[dict[str, Any]] | None = None,
    instance: Path | None = None,
) -> TrustedDirectory:
    """Verify a directory against the pinned keys, refuse a rollback, store it.

    Must run inside a transaction. The hub keys the new directory lists become the pinned
    keys (rotation), as long as it was signed by a key pinned before.
    """
    held = load_trusted(store)
    if pinned is None:
        pinned_list = pinned_entries(store)
        pinned = keys_from_list(pinned_list)
    trusted = accept_directory(env, pinned, held)
    new_pins = trusted.directory.hub_keys or pinned_list or []
    entries = [{"keyid": k["keyid"], "public": k["public"]} for k in new_pins]
    store.execute(
        "INSERT INTO directory (id, version, env_id, envelope, hub_keys, updated_at) "
        "VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version, "
        "env_id = excluded.env_id, envelope = excluded.envelope, "
        "hub_keys = excluded.hub_keys, updated_at = excluded.updated_at",
        (trusted.version, env.env_id, env.to_bytes(), json.dumps(_as_map(entries)), now),
    )
    if instance is not None:
        write_hub_keys(instance, entries)
    _cache[env.env_id] = trusted
    return trusted


def _as_map(entries: list[dict[str, Any]]) -> dict[str, str]:
    return {e["keyid"]: e["public"] for e in entries}


def write_hub_keys(instance: Path, entries: list[dict[str, Any]]) -> None:
    """Keep a copy of the pinned hub keys beside the database."""
    path = instance / HUB_KEYS_FILE
    tmp = path.with_name(f".{HUB_KEYS_FILE}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", opener=private_opener) as f:
        f.write(json.dumps(_as_map(entries), indent=1))
    os.replace(tmp, path)


def read_hub_keys(instance: Path) -> list[dict[str, Any]]:
    """The pinned hub keys written by :func:`write_hub_keys`."""
    path = instance / HUB_KEYS_FILE
    if not path.exists():
        raise NotInitialised(f"{path} is missing; this node was never enrolled")
    return _entries(json.loads(path.read_text(encoding="utf-8")))


def shared_registers(trusted: TrustedDirectory) -> list[dict[str, Any]]:
    """The directory's shared registers (``owner``, ``series``, ``basis``, ``members``)."""
    return [r for r in trusted.directory.shared_registers if isinstance(r, dict)]


def issued_at(trusted: TrustedDirectory) -> float | None:
    """When the hub signed this directory (Unix seconds); None when it does not say."""
    return parse_iso(trusted.directory.issued_at)


def _keys_of(trusted: TrustedDirectory, office: str) -> list[dict[str, Any]]:
    entry = trusted.office(office) or {}
    return [k for k in entry.get("keys") or [] if isinstance(k, dict)]


def key_status(trusted: TrustedDirectory, keyid: str) -> str | None:
    """What the directory says of an office key: ``active``, ``retired`` or ``revoked``
    (every key of a revoked office), None when it does not list it."""
    try:
        office = split_keyid(keyid)[0]
    except BadMessage:
        return None
    entry = trusted.office(office) or {}
    for key in _keys_of(trusted, office):
        if key.get("keyid") == keyid:
            return "revoked" if entry.get("status") == "revoked" else str(key.get("status"))
    return None


def next_key_number(trusted: TrustedDirectory, office: str) -> int:
    """One above every key number the directory lists for ``office`` (1 when none)."""
    numbers = [0]
    for key in _keys_of(trusted, office):
        try:
            numbers.append(split_keyid(str(key.get("keyid")))[1])
        except BadMessage:
            continue
    return max(numbers) + 1
