"""Sync sessions: one row per push or pull of a node, with what came of it, for the console."""

from __future__ import annotations

from hub.store.connection import Connection, Row


class SyncSessionRecords(Connection):
    """The ``sync_sessions`` table."""

    def add_sync_session(
        self,
        office_id: str,
        kind: str,
        now: float,
        count: int,
        accepted: int = 0,
        duplicate: int = 0,
        rejected: int = 0,
        errors: str | None = None,
    ) -> None:
        """Record one push or pull for the console."""
        self._exec(
            "INSERT INTO sync_sessions (office, kind, at, count, accepted, duplicate, rejected,"
            " errors) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (office_id, kind, now, count, accepted, duplicate, rejected, errors),
        )

    def sync_sessions(self, office_id: str, limit: int = 100) -> list[Row]:
        """An office's latest sync sessions."""
        return self._all(
            "SELECT * FROM sync_sessions WHERE office = ? ORDER BY id DESC LIMIT ?",
            (office_id, limit),
        )

    def duplicate_envelopes_total(self) -> int:
        """Envelopes pushed again that the hub already held, over every sync session."""
        return int(self._scalar("SELECT coalesce(sum(duplicate), 0) FROM sync_sessions"))
