"""The accounts each office published for the portal, and the version the hub holds.

The interface the portal reads (:mod:`hub.portal`)::

    accounts = PortalAccounts(store)          # store: a hub.store.HubStore
    accounts.get(office, username) -> dict | None
        # {"office", "username", "display_name", "roles": [str], "password_hash",
        #  "active": bool, "totp_secret": str | None, "version": int, "updated_at": float}
    accounts.for_office(office) -> list[dict]
        # the same keys without "password_hash" and "totp_secret", by user name

``version`` is the office's accounts version that last wrote the row; ``updated_at`` (Unix
seconds, the hub's clock) moves only when the row's content changed, so a session begun
before a new password, new roles or a reset second factor can tell.

The writer, :meth:`PortalAccounts.replace`, runs inside the caller's write transaction
(:mod:`hub.federation.accounts` decides what is stored): every row of the office is
replaced by the new version's, an account the version no longer lists is removed, and the
office's held version moves on. Its tables are :mod:`hub.store.portal_accounts_schema`'s.

Does not: verify anything, or check passwords and codes; and it never writes a hash or a
secret anywhere but these rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from hub.store.connection import Connection, Row

_PUBLIC = "office, username, display_name, roles, active, version, updated_at"


def _typed(row: Row) -> Row:
    row["roles"] = list(json.loads(row["roles"] or "[]"))
    row["active"] = bool(row["active"])
    return row


class PortalAccounts(Connection):
    """The ``portal_accounts`` and ``portal_account_versions`` tables, on the connection of
    a :class:`hub.store.HubStore` (its transactions are this one's)."""

    def __init__(self, store: Connection):
        super().__init__(store.conn, store.writer)

    def get(self, office: str, username: str) -> Row | None:
        """One account as its office last published it, hash and secret included."""
        row = self._one(
            f"SELECT {_PUBLIC}, password_hash, totp_secret FROM portal_accounts"  # noqa: S608
            " WHERE office = ? AND username = ?",
            (office, username),
        )
        return None if row is None else _typed(row)

    def for_office(self, office: str) -> list[Row]:
        """Every account of ``office``, without hashes or secrets, by user name."""
        rows = self._all(
            f"SELECT {_PUBLIC} FROM portal_accounts WHERE office = ?"  # noqa: S608
            " ORDER BY username",
            (office,),
        )
        return [_typed(r) for r in rows]

    def held_version(self, office: str) -> int:
        """The accounts version of ``office`` the hub holds (0: none yet)."""
        value = self._scalar(
            "SELECT version FROM portal_account_versions WHERE office = ?", (office,)
        )
        return 0 if value is None else int(value)

    def replace(
        self,
        office: str,
        version: int,
        env_id: str,
        accounts: Iterable[dict[str, Any]],
        now: float,
    ) -> int:
        """Make ``accounts`` (each with ``username``, ``display_name``, ``roles``,
        ``password_hash``, ``active``, ``totp_secret``) the office's at ``version``; run
        it inside a write transaction. Return how many accounts the office now has."""
        names: list[str] = []
        for a in accounts:
            names.append(a["username"])
            self._exec(
                "INSERT INTO portal_accounts (office, username, display_name, roles,"
                " password_hash, active, totp_secret, version, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (office, username) DO UPDATE SET"
                " updated_at = CASE WHEN"
                " portal_accounts.display_name IS NOT excluded.display_name"
                " OR portal_accounts.roles IS NOT excluded.roles"
                " OR portal_accounts.password_hash IS NOT excluded.password_hash"
                " OR portal_accounts.active IS NOT excluded.active"
                " OR portal_accounts.totp_secret IS NOT excluded.totp_secret"
                " THEN excluded.updated_at ELSE portal_accounts.updated_at END,"
                " display_name = excluded.display_name, roles = excluded.roles,"
                " password_hash = excluded.password_hash, active = excluded.active,"
                " totp_secret = excluded.totp_secret, version = excluded.version",
                (
                    office,
                    a["username"],
                    a["display_name"],
                    json.dumps(list(a["roles"])),
                    a["password_hash"],
                    int(bool(a["active"])),
                    a["totp_secret"],
                    version,
                    now,
                ),
            )
        self._exec(
            "DELETE FROM portal_accounts WHERE office = ? AND version <> ?", (office, version)
        )
        self._exec(
            "INSERT INTO portal_account_versions (office, version, env_id, accounts,"
            " received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (office) DO UPDATE SET"
            " version = excluded.version, env_id = excluded.env_id,"
            " accounts = excluded.accounts, received_at = excluded.received_at",
            (office, version, env_id, len(names), now),
        )
        return len(names)
