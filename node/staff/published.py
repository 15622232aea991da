"""What the office publishes of its accounts to the hub, and which version of it.

Every change of an account that the portal must know (added, new password, roles,
deactivated or activated, TOTP enrolled or reset) calls :func:`note_change` inside the
transaction that makes it: the stored accounts version moves on in that same
transaction, so a change is never committed without a version that announces it, and the
live sync is asked for a round once it commits (as a letter sent does). A sync round
(:mod:`node.sync.accounts_publish`) signs :func:`account_list` when
:func:`accounts_version` is above :func:`published_version`, the version the hub last
acknowledged, and records the acknowledgement (:func:`record_published`).

The version of a database that never counted is 1 and nothing is acknowledged (0), so an
office's first sync publishes whatever accounts it has; an office that has none and never
published has nothing to say (:func:`publish_due`). A database restored from an old
copy may count below what the hub holds; the hub says which version it holds, and
:func:`raise_version_above` moves this one past it.

Does not: talk to the hub or sign (:mod:`node.sync.accounts_publish`), or decide who may
change an account (:mod:`node.staff.accounts`).
"""

from __future__ import annotations

import json
from typing import Any

from node.storage.store import Store
from protocol.accounts import AccountList, account_list

VERSION_SETTING = "accounts_version"
"""The version of the office's accounts: moved on by every change the portal must know."""
PUBLISHED_SETTING = "accounts_published"
"""What the hub last acknowledged: ``{"version", "at"}``."""


def accounts_version(store: Store) -> int:
    """The version of the accounts as they are now."""
    return int(store.get_setting(VERSION_SETTING, 1) or 1)


def published_version(store: Store) -> int:
    """The version the hub last acknowledged (0: none yet)."""
    value = store.get_setting(PUBLISHED_SETTING) or {}
    return int(value.get("version") or 0)


def publish_due(store: Store) -> bool:
    """Whether the hub should be sent the accounts: their version is above the one it
    acknowledged, and the office has accounts or published some before."""
    acknowledged = published_version(store)
    if accounts_version(store) <= acknowledged:
        return False
    return acknowledged > 0 or bool(store.scalar("SELECT 1 FROM users LIMIT 1"))


def note_change(store: Store) -> int:
    """Move the accounts version on, inside the caller's transaction; the new version.

    Once the transaction commits, the live sync (when it runs) starts a round, so a
    person disabled here is disabled at the portal within seconds."""
    version = accounts_version(store) + 1
    store.set_setting(VERSION_SETTING, version)
    if store.on_feed_change is not None:
        store.after_commit(store.on_feed_change)
    return version


def raise_version_above(store: Store, held: int) -> int:
    """Move the version past ``held``, the version the hub holds (an old copy of this
    database counts below it); the version now."""
    with store.transaction():
        version = max(accounts_version(store), held + 1)
        store.set_setting(VERSION_SETTING, version)
    return version


def record_published(store: Store, version: int, at: float) -> None:
    """Remember that the hub acknowledged ``version`` (never going back)."""
    with store.transaction():
        if version > published_version(store):
            store.set_setting(PUBLISHED_SETTING, {"version": version, "at": at})


def account_list_at(store: Store, office: str, issued_at: str) -> AccountList:
    """Every account of the office as the hub takes them, at the current version.

    The version is read before the rows: a change committed in between makes the rows
    newer than the version they go out under, never older, and its own version follows."""
    version = accounts_version(store)
    rows = store.query(
        "SELECT username, display_name, roles, password_hash, active, totp_secret "
        "FROM users ORDER BY username"
    )
    accounts: list[dict[str, Any]] = [
        {
            "username": r["username"],
            "display_name": r["display_name"],
            "roles": sorted(json.loads(r["roles"] or "[]")),
            "password_hash": r["password_hash"],
            "active": bool(r["active"]),
            "totp_secret": r["totp_secret"],
        }
        for r in rows
    ]
    return account_list(office, version, issued_at, accounts)
