"""Mailboxes: what each office has to pull, and the envelopes the hub signed itself.

An office's mailbox lists, in order, the env_ids delivered to it: envelopes of other
offices' feeds and the hub's own (``hub_envelopes``: lease grants and finalisations; a
finalisation remembers the letter that carried the provisional number and that number's
search key, so a letter routed after it is followed by it). The office pulls by position
and confirms up to where it pulled (``offices.pulled_upto``).
Who receives what is decided by :mod:`hub.federation.routing` and
:mod:`hub.numbering.authority`, not here.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.store.connection import Connection, DatabaseError, Row, store_failure


class MailboxRecords(Connection):
    """The ``mailbox`` and ``hub_envelopes`` tables."""

    def add_hub_envelope(
        self,
        env_id: str,
        kind: str,
        office: str | None,
        register: str | None,
        envelope: bytes,
        now: float,
        *,
        letter: str | None = None,
        provisional_key: str | None = None,
    ) -> None:
        """Store an envelope the hub signed; ``kind`` is ``lease_grant`` or ``lease_finalise``
        (with the ``letter`` that carried the provisional number and its ``provisional_key``,
        when known)."""
        self._exec(
            "INSERT OR IGNORE INTO hub_envelopes (env_id, kind, office, register, envelope, at,"
            " letter, provisional_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (env_id, kind, office, register, envelope, now, letter, provisional_key),
        )

    def finalisations_of_letter(
        self, office: str, letter: str, register: str | None, provisional_key: str
    ) -> list[str]:
        """env_ids of the finalisations of ``office`` about ``letter``: naming it, or made
        for the provisional number it carries (``provisional_key`` in ``register``)."""
        rows = self._all(
            "SELECT env_id FROM hub_envelopes WHERE kind = 'lease_finalise' AND office = ?"
            " AND (letter = ? OR (register = ? AND provisional_key = ?)) ORDER BY at, env_id",
            (office, letter, register, provisional_key),
        )
        return [r["env_id"] for r in rows]

    def deliver(self, office_id: str, env_id: str, kind: str) -> bool:
        """Put an envelope in an office's mailbox once; False when it was already there."""
        try:
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO mailbox (office, env_id, kind) VALUES (?, ?, ?)",
                (office_id, env_id, kind),
            )
        except DatabaseError as e:
            raise store_failure(e, "database error") from e
        return cur.rowcount == 1

    def deliver_all(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Put envelopes in mailboxes once each, in order: ``(office, env_id, kind)`` each."""
        self._many("INSERT OR IGNORE INTO mailbox (office, env_id, kind) VALUES (?, ?, ?)", rows)

    def mailbox_after(self, office_id: str, after: int, limit: int) -> list[tuple[int, bytes]]:
        """``(position, envelope bytes)`` of an office's mailbox after ``after``, in order."""
        rows = self._all(
            "SELECT m.id AS id, coalesce(f.envelope, h.envelope) AS envelope FROM mailbox m"
            " LEFT JOIN feed f ON f.env_id = m.env_id"
            " LEFT JOIN hub_envelopes h ON h.env_id = m.env_id"
            " WHERE m.office = ? AND m.id > ? ORDER BY m.id LIMIT ?",
            (office_id, after, limit),
        )
        return [(int(r["id"]), bytes(r["envelope"])) for r in rows]

    def mailbox_last(self, office_id: str) -> int:
        """The last mailbox position of an office (0 when empty)."""
        return int(
            self._scalar("SELECT coalesce(max(id), 0) FROM mailbox WHERE office = ?", (office_id,))
        )

    def mailbox_rows(self, office_id: str) -> list[Row]:
        """Every mailbox row of an office (for tests and the console)."""
        return self._all("SELECT * FROM mailbox WHERE office = ? ORDER BY id", (office_id,))

    def mailbox_backlogs(self) -> dict[str, int]:
        """Per office: mailbox envelopes beyond the position it confirmed pulling."""
        rows = self._all(
            "SELECT o.id AS office, count(m.id) AS backlog FROM offices o"
            " LEFT JOIN mailbox m ON m.office = o.id AND m.id > o.pulled_upto GROUP BY o.id"
        )
        return {r["office"]: int(r["backlog"]) for r in rows}

    def pending_finalisations(self, office_id: str) -> int:
        """Finalisations of an office's own numbers in its mailbox beyond what it confirmed
        pulling (a recipient's copy of another office's finalisation is not one)."""
        return int(
            self._scalar(
                "SELECT count(*) FROM mailbox m JOIN hub_envelopes h ON h.env_id = m.env_id"
                " JOIN offices o ON o.id = m.office WHERE m.office = ? AND h.office = m.office"
                " AND h.kind = 'lease_finalise' AND m.id > o.pulled_upto",
                (office_id,),
            )
        )

    def pending_finalisations_in(self, register: str) -> int:
        """Finalisations of a register not yet confirmed pulled by their office."""
        return int(
            self._scalar(
                "SELECT count(*) FROM hub_envelopes h JOIN offices o ON o.id = h.office"
                " JOIN mailbox m ON m.env_id = h.env_id AND m.office = h.office"
                " WHERE h.register = ? AND h.kind = 'lease_finalise' AND m.id > o.pulled_upto",
                (register,),
            )
        )
