"""Quarantine: envelopes the hub refused, kept aside with the reason until an operator acts.

Why an envelope is refused, and what releasing it does, is decided by
:mod:`hub.federation.quarantine`, not here.
"""

from __future__ import annotations

from hub.store.connection import Connection, Row


class QuarantineRecords(Connection):
    """The ``quarantine`` table."""

    def quarantine(
        self,
        env_id: str,
        origin: str | None,
        seq: int | None,
        reason: str,
        detail: str,
        envelope: bytes | None,
        now: float,
    ) -> None:
        """Keep a rejected envelope aside with the reason (once per env_id)."""
        self._exec(
            "INSERT OR IGNORE INTO quarantine (env_id, origin, seq, reason, detail, envelope, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (env_id, origin, seq, reason, detail, envelope, now),
        )

    def quarantined(self, status: str | None = "open") -> list[Row]:
        """Quarantined envelopes, newest first."""
        if status is None:
            return self._all("SELECT * FROM quarantine ORDER BY id DESC")
        return self._all("SELECT * FROM quarantine WHERE status = ? ORDER BY id DESC", (status,))

    def quarantined_one(self, quarantine_id: int) -> Row | None:
        """One quarantined envelope, with its bytes."""
        return self._one("SELECT * FROM quarantine WHERE id = ?", (quarantine_id,))

    def resolve_quarantine(
        self, quarantine_id: int, status: str, operator: str, resolution: str, now: float
    ) -> None:
        """Close a quarantined envelope as ``released`` or ``discarded``, saying why."""
        self._exec(
            "UPDATE quarantine SET status = ?, resolved_by = ?, resolution = ?, resolved_at = ?"
            " WHERE id = ? AND status = 'open'",
            (status, operator, resolution, now, quarantine_id),
        )

    def quarantine_counts_by_reason(self) -> dict[str, int]:
        """Envelopes ever quarantined (whatever became of them since), by reason."""
        rows = self._all(
            "SELECT reason, count(*) AS n FROM quarantine GROUP BY reason ORDER BY reason"
        )
        return {r["reason"]: int(r["n"]) for r in rows}
