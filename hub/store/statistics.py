"""Usage statistics: one fact per routed letter and per routed receipt, and the counts over them.

``letter_facts`` and ``receipt_facts`` are filled by :mod:`hub.monitoring.usage_facts` as
envelopes are routed (and once by a backfill from the feed); the queries count per
``(office, day or month)`` and compute registration times in SQL. What the figures mean
and how they are shown is decided in :mod:`hub.monitoring`, not here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub.store.connection import Connection, Row


class StatisticsRecords(Connection):
    """The ``letter_facts`` and ``receipt_facts`` tables."""

    @staticmethod
    def _stats_period(bucket: str) -> str:
        # A fixed SQL expression per granularity, never text from a request.
        return {"day": "day", "month": "substr(day, 1, 7)"}[bucket]

    @staticmethod
    def _stats_group(column: str, group: int | None) -> tuple[str, tuple[Any, ...]]:
        # ``column`` is a constant of this module; group 0 means offices without a group.
        if group is None:
            return "", ()
        return (
            f" AND {column} IN (SELECT id FROM offices WHERE coalesce(group_no, 0) = ?)",  # noqa: S608
            (group,),
        )

    # -- recording facts -------------------------------------------------------------------

    def add_letter_facts(self, rows: Iterable[tuple[str, str, float, str, str, str, int]]) -> None:
        """Remember routed letters for the statistics, once per env_id: ``(env_id, origin,
        sent_at, day, speed, letter_type, recipients)`` each."""
        self._many(
            "INSERT OR IGNORE INTO letter_facts (env_id, origin, sent_at, day, speed,"
            " letter_type, recipients) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def add_receipt_facts(self, rows: Iterable[tuple[str, str, str, str, str, float, str]]) -> None:
        """Remember routed receipts, in order: ``(env_id, letter, office, sender, status, at,
        day)`` each; the first of each ``(letter, office, status)`` wins."""
        self._many(
            "INSERT OR IGNORE INTO receipt_facts (env_id, letter, office, sender, status, at,"
            " day) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def feed_for_facts(self, after: int, limit: int) -> list[Row]:
        """Stored letters and receipts after feed position ``after``, for the backfill.

        Each row: ``position, kind, env_id, envelope, received_at``, ``routes`` (how many
        offices a letter was routed to) and ``routed_to`` (the office a receipt or
        ``deliveries`` was routed to, or None when it was not routed).
        """
        return self._all(
            "SELECT f.rowid AS position, f.kind, f.env_id, f.envelope, f.received_at,"
            " (SELECT count(*) FROM letter_routes r WHERE r.letter = f.env_id) AS routes,"
            " (SELECT m.office FROM mailbox m WHERE m.env_id = f.env_id"
            " AND m.kind IN ('receipt', 'deliveries') LIMIT 1) AS routed_to"
            " FROM feed f WHERE f.kind IN ('letter', 'receipt', 'deliveries') AND f.rowid > ?"
            " ORDER BY f.rowid LIMIT ?",
            (after, limit),
        )

    # -- counting --------------------------------------------------------------------------

    def letters_sent_by(self, first_day: str, last_day: str, bucket: str) -> list[Row]:
        """Letters sent per ``(office, period)`` between two ISO days (inclusive).

        ``bucket`` is ``day`` (period = ISO day) or ``month`` (period = ``YYYY-MM``).
        """
        period = self._stats_period(bucket)
        return self._all(
            f"SELECT origin AS office, {period} AS period, count(*) AS n FROM letter_facts"  # noqa: S608
            " WHERE day BETWEEN ? AND ? GROUP BY origin, period",
            (first_day, last_day),
        )

    def receipts_by(self, status: str, first_day: str, last_day: str, bucket: str) -> list[Row]:
        """Receipts of ``status`` per ``(recipient office, period)`` between two ISO days."""
        period = self._stats_period(bucket)
        return self._all(
            f"SELECT office, {period} AS period, count(*) AS n FROM receipt_facts"  # noqa: S608
            " WHERE status = ? AND day BETWEEN ? AND ? GROUP BY office, period",
            (status, first_day, last_day),
        )

    def registration_percentiles(
        self, first_day: str, last_day: str, group: int | None, percents: tuple[int, int]
    ) -> list[Row]:
        """Time from delivery to registration per speed class, nearest-rank percentiles.

        Pairs are (letter, recipient) with both a delivered and a registered receipt,
        registered between the two ISO days; ``group`` (0: offices without a group) limits
        the recipients. Each row: ``speed, count, p_low, p_high`` in seconds, where
        ``p_low`` is the ``percents[0]``-th percentile: the smallest duration whose rank
        ``r`` (1-based, ascending) has ``r * 100 >= count * percent``.
        """
        where, params = self._stats_group("r.office", group)
        return self._all(
            "WITH pairs AS (SELECT coalesce(l.speed, '') AS speed, max(r.at - d.at, 0) AS dur"  # noqa: S608
            " FROM receipt_facts r JOIN receipt_facts d ON d.letter = r.letter"
            " AND d.office = r.office AND d.status = 'delivered'"
            " LEFT JOIN letter_facts l ON l.env_id = r.letter"
            f" WHERE r.status = 'registered' AND r.day BETWEEN ? AND ?{where}),"
            " ranked AS (SELECT speed, dur,"
            " row_number() OVER (PARTITION BY speed ORDER BY dur) AS rn,"
            " count(*) OVER (PARTITION BY speed) AS n FROM pairs)"
            " SELECT speed, max(n) AS count,"
            " min(CASE WHEN rn * 100 >= n * ? THEN dur END) AS p_low,"
            " min(CASE WHEN rn * 100 >= n * ? THEN dur END) AS p_high"
            " FROM ranked GROUP BY speed",
            (first_day, last_day, *params, percents[0], percents[1]),
        )

    def deliveries_of_speed(
        self, speed: str, first_day: str, last_day: str, group: int | None
    ) -> list[Row]:
        """Deliveries of letters of one speed class between two ISO days (delivery day).

        Each row: ``letter, office, delivered_at``, ``registered_at`` (None when not
        registered) and ``declined`` (1 when the recipient returned it or found it invalid).
        """
        where, params = self._stats_group("d.office", group)
        return self._all(
            "SELECT d.letter, d.office, d.at AS delivered_at, r.at AS registered_at,"  # noqa: S608
            " EXISTS (SELECT 1 FROM receipt_facts x WHERE x.letter = d.letter"
            " AND x.office = d.office AND x.status IN ('returned', 'invalid')) AS declined"
            " FROM receipt_facts d JOIN letter_facts l ON l.env_id = d.letter AND l.speed = ?"
            " LEFT JOIN receipt_facts r ON r.letter = d.letter AND r.office = d.office"
            " AND r.status = 'registered'"
            f" WHERE d.status = 'delivered' AND d.day BETWEEN ? AND ?{where}"
            " ORDER BY d.at",
            (speed, first_day, last_day, *params),
        )

    def last_use(self) -> dict[str, float]:
        """Per office: the last time it sent a letter or registered a received one."""
        rows = self._all(
            "SELECT office, max(at) AS at FROM ("
            " SELECT origin AS office, max(sent_at) AS at FROM letter_facts GROUP BY origin"
            " UNION ALL SELECT office, max(at) AS at FROM receipt_facts"
            " WHERE status = 'registered' GROUP BY office) uses GROUP BY office"
        )
        return {r["office"]: float(r["at"]) for r in rows}
