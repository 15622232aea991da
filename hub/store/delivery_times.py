"""Delivery timings: when each routed letter was sent, reached the hub, reached each
recipient's inbox, was registered (ลงรับ) or returned there, and the percentiles over them.

One row per ``(letter, recipient)`` of the ``delivery_times`` table, written by
:mod:`hub.monitoring.timing_facts` as the hub routes letters and receipts (and once by a
backfill from the feed). Every duration is measured from ``sent_at``, the moment the
sender's clerk sent the letter; which moment that is, and what the figures mean, is decided
in :mod:`hub.monitoring`, not here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from hub.store.connection import Connection, Row

ANSWER_COLUMNS = {
    "delivered": ("delivered_at", "delivered_hub_at"),
    "registered": ("registered_at", "registered_hub_at"),
    "returned": ("returned_at", "returned_hub_at"),
}
"""The receipt statuses whose times are kept, and their two columns (the recipient's time,
the hub's time of receiving the receipt). Fixed SQL names, never text from a request."""

TIMING_KEYS = {
    "all": "''",
    "speed": "d.speed",
    "office": "d.office",
    "province": "coalesce(o.group_no, 0) || '|' || coalesce(o.province, '')",
    "group": "coalesce(o.group_no, 0)",
}
"""What the percentiles may be grouped by, and the SQL key of each."""

_DURATIONS = (
    # Time to the hub counts each letter once, under its sender; the others count each
    # recipient, under that recipient. A recipient's clock may be behind the sender's: a
    # negative span is no time at all.
    "SELECT 'to_hub' AS measure, min(origin) AS office, min(speed) AS speed,"
    " max(min(hub_at - sent_at), 0) AS dur"
    " FROM delivery_times WHERE sent_at >= ? AND sent_at < ? GROUP BY letter"
    " UNION ALL SELECT 'to_inbox', recipient, speed, max(delivered_at - sent_at, 0)"
    " FROM delivery_times WHERE sent_at >= ? AND sent_at < ? AND delivered_at IS NOT NULL"
    " UNION ALL SELECT 'to_registered', recipient, speed, max(registered_at - sent_at, 0)"
    " FROM delivery_times WHERE sent_at >= ? AND sent_at < ? AND registered_at IS NOT NULL"
)


class Answer(NamedTuple):
    """A recipient's receipt as the timings keep it."""

    letter: str
    recipient: str
    status: str
    at: float
    hub_at: float
    receipt_number: str | None = None


class DeliveryTimeRecords(Connection):
    """The ``delivery_times`` table."""

    def add_sent_letters(
        self, rows: Iterable[tuple[str, str, str, str, float, int, float]]
    ) -> None:
        """One row per letter and recipient it was routed to, once each: ``(letter,
        recipient, origin, speed, sent_at, sent_replaced, hub_at)``."""
        self._many(
            "INSERT OR IGNORE INTO delivery_times (letter, recipient, origin, speed,"
            " sent_at, sent_replaced, hub_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def add_answer_times(self, answers: Iterable[Answer]) -> None:
        """Recipients' receipts, in order: the first of each status keeps its times.

        Statuses other than those of :data:`ANSWER_COLUMNS` are not kept. Each status has
        columns of its own, so writing them a status at a time keeps what order decides.
        """
        by_status: dict[str, list[tuple[Any, ...]]] = {}
        for a in answers:
            if a.status not in ANSWER_COLUMNS:
                continue
            kept = (a.receipt_number,) if a.status == "registered" else ()
            by_status.setdefault(a.status, []).append(
                (a.at, a.hub_at, *kept, a.letter, a.recipient)
            )
        for status, rows in by_status.items():
            at_column, hub_column = ANSWER_COLUMNS[status]
            number = ", receipt_number = ?" if status == "registered" else ""
            self._many(
                f"UPDATE delivery_times SET {at_column} = ?, {hub_column} = ?{number}"  # noqa: S608
                f" WHERE letter = ? AND recipient = ? AND {at_column} IS NULL",
                rows,
            )

    def delivery_times_of(self, letter: str) -> list[Row]:
        """Every recipient's row of one letter, by recipient."""
        return self._all(
            "SELECT * FROM delivery_times WHERE letter = ? ORDER BY recipient", (letter,)
        )

    def timing_percentiles(
        self,
        since: float,
        until: float,
        by: str,
        group: int | None,
        percents: tuple[int, int],
    ) -> list[Row]:
        """Nearest-rank percentiles of the times from sending, for letters sent in
        ``[since, until)`` (Unix seconds), grouped by ``by`` (a key of :data:`TIMING_KEYS`).

        Each row: ``measure`` (``to_hub``, ``to_inbox``, ``to_registered``), ``key``,
        ``count``, ``p_low`` and ``p_high`` in seconds, where ``p_low`` is the
        ``percents[0]``-th percentile: the smallest duration whose rank ``r`` (1-based,
        ascending) has ``r * 100 >= count * percent``. Time to the hub is keyed by the
        sender's office, the others by the recipient's; ``group`` (0: offices without a
        group) keeps those offices only.
        """
        key = TIMING_KEYS[by]
        where = " WHERE coalesce(o.group_no, 0) = ?" if group is not None else ""
        group_params: tuple[Any, ...] = () if group is None else (group,)
        return self._all(
            f"WITH durations AS ({_DURATIONS}),"  # noqa: S608
            f" keyed AS (SELECT d.measure, {key} AS key, d.dur FROM durations d"
            f" LEFT JOIN offices o ON o.id = d.office{where}),"
            " ranked AS (SELECT measure, key, dur,"
            " row_number() OVER (PARTITION BY measure, key ORDER BY dur) AS rn,"
            " count(*) OVER (PARTITION BY measure, key) AS n FROM keyed)"
            " SELECT measure, key, max(n) AS count,"
            " min(CASE WHEN rn * 100 >= n * ? THEN dur END) AS p_low,"
            " min(CASE WHEN rn * 100 >= n * ? THEN dur END) AS p_high"
            " FROM ranked GROUP BY measure, key",
            (since, until) * 3 + group_params + percents,
        )

    def timing_totals(self, since: float, until: float, group: int | None) -> Row:
        """Counts over the letters sent in ``[since, until)``.

        ``letters`` (sent by the group's offices), ``replaced`` (of those, sent by a clock
        the hub did not believe), ``deliveries`` (letter and recipient pairs addressed to
        the group's offices), ``delivered``, ``registered`` and ``returned`` (of those pairs).
        """
        where = " AND coalesce(o.group_no, 0) = ?" if group is not None else ""
        params: tuple[Any, ...] = () if group is None else (group,)
        sent = self._one(
            "SELECT count(*) AS letters, coalesce(sum(replaced), 0) AS replaced FROM"  # noqa: S608
            " (SELECT min(t.origin) AS origin, max(t.sent_replaced) AS replaced"
            " FROM delivery_times t WHERE t.sent_at >= ? AND t.sent_at < ? GROUP BY t.letter) l"
            f" LEFT JOIN offices o ON o.id = l.origin WHERE 1 = 1{where}",
            (since, until, *params),
        )
        received = self._one(
            "SELECT count(*) AS deliveries, count(t.delivered_at) AS delivered,"  # noqa: S608
            " count(t.registered_at) AS registered, count(t.returned_at) AS returned"
            " FROM delivery_times t LEFT JOIN offices o ON o.id = t.recipient"
            f" WHERE t.sent_at >= ? AND t.sent_at < ?{where}",
            (since, until, *params),
        )
        return {**(sent or {}), **(received or {})}
