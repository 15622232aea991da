"""The offices the hub knows: enrollment state, and what each node last reported.

One row per office in ``offices``: its name and group, whether it is pending, enrolled or
revoked, the times of its last push, pull and heartbeat, the mailbox position it confirmed
pulling, the directory version it holds, and how often its requests were refused because
its clock was off (``clock_refusals``; ``clock_refused_at`` while that lasts). Its signing
keys are in :mod:`hub.store.keys`.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.store.connection import Connection, Row


class OfficeRecords(Connection):
    """The ``offices`` table."""

    def office(self, office_id: str) -> Row | None:
        """One office row."""
        return self._one("SELECT * FROM offices WHERE id = ?", (office_id,))

    def offices_by_id(self, office_ids: Iterable[str]) -> dict[str, Row]:
        """The rows of these offices (those the directory knows), by id."""
        found: dict[str, Row] = {}
        for chunk, marks in self._in_chunks(office_ids):
            rows = self._all(f"SELECT * FROM offices WHERE id IN ({marks})", chunk)  # noqa: S608
            found.update((r["id"], r) for r in rows)
        return found

    def office_names(self, office_ids: Iterable[str]) -> dict[str, str]:
        """The directory's names of these offices (those it knows)."""
        return {k: r["name"] for k, r in self.offices_by_id(office_ids).items()}

    def offices(self) -> list[Row]:
        """Every office, ordered by group then id."""
        return self._all("SELECT * FROM offices ORDER BY coalesce(group_no, 0), id")

    def add_office(
        self,
        office_id: str,
        name: str,
        province: str | None,
        group_no: int | None,
        group_name: str | None,
        now: float,
    ) -> None:
        """Create an office in ``pending`` state (no-op if it exists)."""
        self._exec(
            "INSERT OR IGNORE INTO offices (id, name, province, group_no, group_name, status,"
            " created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
            (office_id, name, province, group_no, group_name, now),
        )

    def set_office_enrolled(self, office_id: str, seal_public: str, now: float) -> None:
        """Mark an office enrolled with its seal key."""
        self._exec(
            "UPDATE offices SET status = 'enrolled', seal_public = ?, enrolled_at = ? WHERE id = ?",
            (seal_public, now, office_id),
        )

    def set_office_seal(self, office_id: str, seal_public: str) -> None:
        """Give an enrolled office a new seal key (a rekey, ADR 0022)."""
        self._exec("UPDATE offices SET seal_public = ? WHERE id = ?", (seal_public, office_id))

    def set_office_revoked(self, office_id: str, now: float) -> None:
        """Mark an office revoked and retire its keys."""
        self._exec(
            "UPDATE offices SET status = 'revoked', revoked_at = ? WHERE id = ?", (now, office_id)
        )
        self._exec("UPDATE keys SET status = 'revoked' WHERE office = ?", (office_id,))

    def record_contact(self, office_id: str, kind: str, now: float) -> None:
        """Remember the time of an office's last push or pull."""
        column = {"push": "last_push", "pull": "last_pull"}[kind]
        self._exec(f"UPDATE offices SET {column} = ? WHERE id = ?", (now, office_id))  # noqa: S608

    def record_heartbeat(
        self,
        office_id: str,
        now: float,
        outbox: int | None,
        clock_skew: float | None,
        software: str | None,
        provisional_pending: int | None,
        last_sync_ok: bool | None,
        last_error: str | None,
    ) -> None:
        """Store what a node reported about itself."""
        self._exec(
            "UPDATE offices SET last_heartbeat = ?, outbox_backlog = ?, clock_skew = ?,"
            " software = ?, provisional_pending = ?, last_sync_ok = ?, last_error = ?"
            " WHERE id = ?",
            (
                now,
                outbox,
                clock_skew,
                software,
                provisional_pending,
                None if last_sync_ok is None else int(last_sync_ok),
                last_error,
                office_id,
            ),
        )

    def set_pulled_upto(self, office_id: str, position: int) -> None:
        """The mailbox position up to which the office has confirmed what it pulled."""
        self._exec(
            "UPDATE offices SET pulled_upto = max(pulled_upto, ?) WHERE id = ?",
            (position, office_id),
        )

    def record_clock_refusal(self, office_id: str, skew: float, now: float) -> None:
        """Count a signed request of an enrolled office refused because its clock is off by
        ``skew`` seconds (its time minus the hub's), and remember the last one."""
        self._exec(
            "UPDATE offices SET clock_refusals = clock_refusals + 1, clock_refused_at = ?,"
            " clock_refused_skew = ? WHERE id = ? AND status = 'enrolled'",
            (now, skew, office_id),
        )

    def clear_clock_refusal(self, office_id: str) -> None:
        """The office's clock is right again: its refusals are history (the count stays)."""
        self._exec(
            "UPDATE offices SET clock_refused_at = NULL, clock_refused_skew = NULL WHERE id = ?",
            (office_id,),
        )

    def set_office_directory_version(self, office_id: str, version: int | None) -> None:
        """The directory version a node reported holding."""
        self._exec("UPDATE offices SET directory_version = ? WHERE id = ?", (version, office_id))
