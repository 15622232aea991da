"""The signed audit chain heads each office sent, append-only, and when they were checked.

A row is added when an office's head moved on and extended the verified one (``verified``)
or failed to (``broken``, with the problem); the newest ``verified`` row is the head the next
one must extend. Whether a head extends another is decided by
:mod:`hub.federation.audit_heads`, not here.
"""

from __future__ import annotations

from hub.store.connection import Connection, Row


class AuditHeadRecords(Connection):
    """The ``audit_heads`` table and the offices' ``audit_checked_at``."""

    def add_audit_head(
        self,
        office: str,
        now: float,
        last_id: int,
        head: str,
        count: int,
        status: str,
        problem: str | None,
        envelope: bytes,
    ) -> int:
        """Append one head an office sent; run it inside a write transaction."""
        return self._exec(
            "INSERT INTO audit_heads (office, at, last_id, head, count, status, problem,"
            " envelope) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (office, now, last_id, head, count, status, problem, envelope),
        )

    def verified_audit_head(self, office: str) -> Row | None:
        """The newest head of ``office`` that extended the one before (None: none yet)."""
        return self._one(
            "SELECT * FROM audit_heads WHERE office = ? AND status = 'verified'"
            " ORDER BY id DESC LIMIT 1",
            (office,),
        )

    def audit_heads(self, office: str, limit: int = 20) -> list[Row]:
        """The heads ``office`` sent, newest first."""
        return self._all(
            "SELECT id, office, at, last_id, head, count, status, problem FROM audit_heads"
            " WHERE office = ? ORDER BY id DESC LIMIT ?",
            (office, limit),
        )

    def note_audit_checked(self, office: str, now: float) -> None:
        """Remember when ``office``'s chain was last checked."""
        self._exec("UPDATE offices SET audit_checked_at = ? WHERE id = ?", (now, office))
