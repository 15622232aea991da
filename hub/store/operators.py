"""Operator accounts of the console and the append-only log of what operators did.

Password hashes are stored here but never listed; checking a password and locking an
account after failures is decided by :mod:`hub.console.operators`, not here. Each account's
``session_gen`` is the generation its console sessions must carry
(:func:`protocol.sessions.is_revoked`): a new password, deactivation and signing out move it
on.
"""

from __future__ import annotations

from typing import Any

from hub.store.connection import Connection, Row
from protocol.audit_chain import GENESIS, entry_hash


def action_content(
    row_id: int,
    at: float,
    operator: str,
    action: str,
    target: str | None,
    reason: str | None,
    detail: str | None,
) -> dict[str, Any]:
    """What an operator action's hash covers."""
    return {
        "id": row_id,
        "at": repr(float(at)),
        "operator": operator,
        "action": action,
        "target": target,
        "reason": reason,
        "detail": detail,
    }


class OperatorRecords(Connection):
    """The ``operators`` and ``operator_actions`` tables."""

    # -- accounts --------------------------------------------------------------------------

    def operator(self, username: str) -> Row | None:
        """One operator account (with its password hash: never render it)."""
        return self._one("SELECT * FROM operators WHERE username = ?", (username,))

    def operators(self) -> list[Row]:
        """Every operator account, without password hashes."""
        return [
            {k: v for k, v in r.items() if k != "password_hash"}
            for r in self._all("SELECT * FROM operators ORDER BY username")
        ]

    def add_operator(
        self, username: str, display_name: str, role: str, password_hash: str, now: float
    ) -> None:
        """Create an operator account."""
        self._exec(
            "INSERT INTO operators (username, display_name, role, password_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (username, display_name, role, password_hash, now),
        )

    def set_operator_password(self, username: str, password_hash: str) -> None:
        """Replace an operator's password, lift any lock and end the account's sessions."""
        self._exec(
            "UPDATE operators SET password_hash = ?, failures = 0, locked_until = NULL,"
            " active = 1, session_gen = session_gen + 1 WHERE username = ?",
            (password_hash, username),
        )

    def end_operator_sessions(self, username: str) -> None:
        """End every console session of an operator (signing out)."""
        self._exec(
            "UPDATE operators SET session_gen = session_gen + 1 WHERE username = ?", (username,)
        )

    def set_login_state(
        self, username: str, failures: int, locked_until: float | None, last_login: float | None
    ) -> None:
        """Store an operator's failed-login count and lock (and the time of a good login)."""
        self._exec(
            "UPDATE operators SET failures = ?, locked_until = ?,"
            " last_login = coalesce(?, last_login) WHERE username = ?",
            (failures, locked_until, last_login, username),
        )

    def set_operator_active(self, username: str, active: bool) -> None:
        """Allow or stop an operator's logins; either way the sessions they had end."""
        self._exec(
            "UPDATE operators SET active = ?, session_gen = session_gen + 1 WHERE username = ?",
            (int(active), username),
        )

    # -- actions ---------------------------------------------------------------------------

    def log_action(
        self,
        operator: str,
        action: str,
        target: str | None,
        reason: str | None,
        detail: str | None,
        now: float,
    ) -> None:
        """Record what an operator (or the hub, ``hub``) did: append-only and hash-chained
        (:func:`action_content`), in the caller's write transaction or one of its own."""
        with self.write():
            last = self._one("SELECT id, hash FROM operator_actions ORDER BY id DESC LIMIT 1")
            row_id = (int(last["id"]) if last else 0) + 1
            prev = (last["hash"] if last else None) or GENESIS
            content = action_content(row_id, now, operator, action, target, reason, detail)
            self._exec(
                "INSERT INTO operator_actions (id, at, operator, action, target, reason, detail,"
                " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row_id,
                    now,
                    operator,
                    action,
                    target,
                    reason,
                    detail,
                    prev,
                    entry_hash(prev, content),
                ),
            )

    def action_chain(self) -> list[Row]:
        """Every operator action, oldest first, with its chain hashes (for verifying)."""
        return self._all("SELECT * FROM operator_actions ORDER BY id")

    def actions(self, limit: int = 200, target: str | None = None) -> list[Row]:
        """Operator actions, newest first (of one target, when given)."""
        if target is None:
            return self._all("SELECT * FROM operator_actions ORDER BY id DESC LIMIT ?", (limit,))
        return self._all(
            "SELECT * FROM operator_actions WHERE target = ? ORDER BY id DESC LIMIT ?",
            (target, limit),
        )
