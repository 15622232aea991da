"""What the portal reads to track letters: each recipient's receipts of one letter, and the
letters not yet registered (ลงรับ) by their recipients, by speed class and office.

Reads the tables the hub already keeps as it routes (``delivery_times``, ``receipt_facts``,
``feed``, ``offices``); :meth:`PortalTracking.create_indexes` adds the one index the
waiting letters need (rows neither registered nor returned, by speed and the time the hub
accepted the letter).

Does not: decide when a letter is late (:mod:`hub.portal.waiting`) or what a person may see
(:mod:`hub.portal.access`).
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.store.connection import Connection, Row

INDEXES = """
CREATE INDEX IF NOT EXISTS delivery_times_waiting ON delivery_times (speed, hub_at)
    WHERE registered_at IS NULL AND returned_at IS NULL;
"""

_WAITING = (
    " FROM delivery_times d WHERE d.registered_at IS NULL AND d.returned_at IS NULL"
    " AND d.speed = ? AND d.hub_at <= ?"
    " AND NOT EXISTS (SELECT 1 FROM receipt_facts r WHERE r.letter = d.letter"
    " AND r.office = d.recipient AND r.status = 'invalid')"
)
"""The rows of one speed class accepted by the hub at or before a moment and answered
neither by ลงรับ, nor by a return, nor found invalid by their recipient."""


class PortalTracking(Connection):
    """Reads for the portal's tracking, on the connection of a :class:`hub.store.HubStore`."""

    def __init__(self, store: Connection):
        super().__init__(store.conn, store.writer)

    def create_indexes(self) -> None:
        """Create the index of waiting letters when it is missing (under the writer's lock)."""
        self.create_all(INDEXES)

    def receipts_of(self, letter: str) -> list[Row]:
        """Every routed receipt of ``letter``: ``office``, ``status``, ``at`` (the hub's
        time of receiving it) and the signed ``envelope``, oldest first."""
        return self._all(
            "SELECT r.office, r.status, r.at, f.envelope FROM receipt_facts r"
            " JOIN feed f ON f.env_id = r.env_id WHERE r.letter = ? ORDER BY r.at, r.office",
            (letter,),
        )

    def letter_envelope(self, env_id: str) -> Row | None:
        """A letter of the feed: ``origin``, ``envelope``, ``received_at``."""
        return self._one(
            "SELECT origin, envelope, received_at FROM feed WHERE env_id = ? AND kind = 'letter'",
            (env_id,),
        )

    def offices_by_id(self, office_ids: Iterable[str]) -> dict[str, Row]:
        """The directory's rows of these offices (``id``, ``name``, ``province``,
        ``group_no``, ``group_name``), those it knows."""
        ids = sorted(set(office_ids))
        found: dict[str, Row] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ", ".join("?" for _ in part)
            for row in self._all(
                "SELECT id, name, province, group_no, group_name FROM offices"  # noqa: S608
                f" WHERE id IN ({marks})",
                part,
            ):
                found[row["id"]] = row
        return found

    def all_offices(self) -> list[Row]:
        """Every office of the directory, by id: ``id``, ``name``, ``province``,
        ``group_no``, ``group_name``, ``status``."""
        return self._all(
            "SELECT id, name, province, group_no, group_name, status FROM offices ORDER BY id"
        )

    def waiting_by_office(self, speed: str, accepted_by: float) -> list[Row]:
        """Per recipient office, the letters of ``speed`` the hub accepted at or before
        ``accepted_by`` that still wait: ``office``, ``letters``, ``oldest`` (the hub's
        time of accepting the oldest) and ``undelivered`` (of those, not yet stored at the
        office)."""
        return self._all(
            "SELECT d.recipient AS office, count(*) AS letters, min(d.hub_at) AS oldest,"
            " count(*) - count(d.delivered_at) AS undelivered" + _WAITING + " GROUP BY d.recipient",
            (speed, accepted_by),
        )

    def oldest_waiting(self, speed: str, accepted_by: float, limit: int) -> list[Row]:
        """The ``limit`` longest-waiting letter and recipient pairs of ``speed`` (as
        :meth:`waiting_by_office` counts them): ``letter``, ``recipient``, ``origin``,
        ``speed``, ``sent_at``, ``hub_at`` and ``delivered_at``."""
        return self._all(
            "SELECT d.letter, d.recipient, d.origin, d.speed, d.sent_at, d.hub_at,"
            " d.delivered_at" + _WAITING + " ORDER BY d.hub_at LIMIT ?",
            (speed, accepted_by, limit),
        )
