"""Alerts for the operator: raised, listed, and closed or resolved.

Every alert has a ``key`` naming its condition, by default its kind and office
(:func:`condition_key`): while an alert with that key is open, raising it again opens no
other one but counts a repeat (``repeats``), moves ``last_at`` and takes the newest
``detail``, so one office that keeps causing the same trouble makes one alert, not one per
event. When to raise or resolve one is decided by the callers (:mod:`hub.monitoring.alerts`,
the ingest, routing and numbering code), not here.
"""

from __future__ import annotations

from hub.store.connection import Connection, Row


def condition_key(kind: str, office: str | None) -> str:
    """The key of an alert raised without one: one open alert per kind and office."""
    return f"{kind}:{office or ''}"


class AlertRecords(Connection):
    """The ``alerts`` table."""

    def raise_alert(
        self, kind: str, office: str | None, detail: str, now: float, key: str | None = None
    ) -> int:
        """Record an alert for the operator; return its id.

        At most one alert with a ``key`` (default :func:`condition_key`) is open at a time:
        raising it again while open counts a repeat, with its time and ``detail``, and
        returns the open alert's id. Run it inside a write transaction.
        """
        key = condition_key(kind, office) if key is None else key
        open_id = self._scalar("SELECT id FROM alerts WHERE key = ? AND status = 'open'", (key,))
        if open_id is not None:
            self._exec(
                "UPDATE alerts SET repeats = repeats + 1, last_at = ?, detail = ? WHERE id = ?",
                (now, detail, open_id),
            )
            return int(open_id)
        return self._exec(
            "INSERT INTO alerts (kind, office, detail, at, key, last_at) VALUES (?, ?, ?, ?, ?, ?)",
            (kind, office, detail, now, key, now),
        )

    def alerts(
        self,
        status: str | None = "open",
        office: str | None = None,
        limit: int | None = None,
        closed: bool = False,
    ) -> list[Row]:
        """Alerts, newest first; of one ``status`` (None: all; ``closed``: every status but
        open) and one ``office`` (None: all), at most ``limit`` (None: all)."""
        where, params = [], []
        if closed:
            where.append("status != 'open'")
        elif status is not None:
            where.append("status = ?")
            params.append(status)
        if office is not None:
            where.append("office = ?")
            params.append(office)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        tail = "" if limit is None else f" LIMIT {int(limit)}"
        return self._all(
            f"SELECT * FROM alerts{clause} ORDER BY id DESC{tail}",  # noqa: S608
            params,
        )

    def alert(self, alert_id: int) -> Row | None:
        """One alert."""
        return self._one("SELECT * FROM alerts WHERE id = ?", (alert_id,))

    def open_alert_keys(self, prefix: str) -> dict[str, int]:
        """Open alerts whose key starts with ``prefix``: key -> id."""
        rows = self._all(
            "SELECT key, id FROM alerts WHERE status = 'open' AND key LIKE ? ESCAPE '\\'",
            (prefix.replace("%", "\\%").replace("_", "\\_") + "%",),
        )
        return {r["key"]: int(r["id"]) for r in rows}

    def close_alert(
        self,
        alert_id: int,
        by: str = "",
        note: str | None = None,
        now: float | None = None,
        status: str = "closed",
    ) -> None:
        """Mark an alert dealt with (``closed`` by an operator, ``resolved`` by the hub)."""
        self._exec(
            "UPDATE alerts SET status = ?, resolved_by = ?, note = ?, resolved_at = ?"
            " WHERE id = ? AND status = 'open'",
            (status, by or None, note, now, alert_id),
        )

    def open_alert_counts_by_kind(self) -> dict[str, tuple[int, int]]:
        """Open alerts by kind: ``(alerts, repeats counted on them)``."""
        rows = self._all(
            "SELECT kind, count(*) AS n, COALESCE(sum(repeats), 0) AS r FROM alerts"
            " WHERE status = 'open' GROUP BY kind ORDER BY kind"
        )
        return {r["kind"]: (int(r["n"]), int(r["r"])) for r in rows}
