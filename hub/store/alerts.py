"""Alerts for the operator: raised, listed, and closed or resolved.

An alert may carry a ``key`` so that the same condition raises one open alert, not one per
check. When to raise or resolve one is decided by the callers (:mod:`hub.monitoring.alerts`,
the ingest, routing and numbering code), not here.
"""

from __future__ import annotations

from hub.store.connection import Connection, Row


class AlertRecords(Connection):
    """The ``alerts`` table."""

    def raise_alert(
        self, kind: str, office: str | None, detail: str, now: float, key: str | None = None
    ) -> int:
        """Record an alert for the operator; return its id.

        With a ``key``, at most one alert with that key is open at a time: raising it again
        while open changes nothing and returns the open alert's id.
        """
        if key is not None:
            open_id = self._scalar(
                "SELECT id FROM alerts WHERE key = ? AND status = 'open'", (key,)
            )
            if open_id is not None:
                return int(open_id)
        return self._exec(
            "INSERT INTO alerts (kind, office, detail, at, key) VALUES (?, ?, ?, ?, ?)",
            (kind, office, detail, now, key),
        )

    def alerts(self, status: str | None = "open", office: str | None = None) -> list[Row]:
        """Alerts, newest first; of one ``status`` (None: all) and one ``office`` (None: all)."""
        where, params = [], []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if office is not None:
            where.append("office = ?")
            params.append(office)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return self._all(f"SELECT * FROM alerts{clause} ORDER BY id DESC", params)  # noqa: S608

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

    def open_alert_counts_by_kind(self) -> dict[str, int]:
        """Open alerts, by kind."""
        rows = self._all(
            "SELECT kind, count(*) AS n FROM alerts WHERE status = 'open' GROUP BY kind"
            " ORDER BY kind"
        )
        return {r["kind"]: int(r["n"]) for r in rows}
