"""The numbering ledger: every register envelope, the leases granted, the rejections, the reports.

``ledger`` records each number an office took or finalised in a register, ``leases`` the
blocks of numbers the hub lent, ``numbering_rejections`` the attempts refused, and
``numbering_reports`` the daily reconciliation reports. Which number is valid is decided by
:mod:`hub.numbering.authority` and :mod:`hub.numbering.reconcile`, not here.
"""

from __future__ import annotations

from hub.store.connection import Connection, Row


class NumberingRecords(Connection):
    """The ``ledger``, ``leases``, ``numbering_rejections`` and ``numbering_reports`` tables."""

    # -- ledger ----------------------------------------------------------------------------

    def ledger_numbers(self, register: str, number: int) -> list[Row]:
        """Ledger entries holding ``number`` in ``register``."""
        return self._all(
            "SELECT * FROM ledger WHERE register = ? AND number = ?", (register, number)
        )

    def add_ledger_entry(
        self,
        register: str,
        owner: str,
        series: str,
        year: int,
        number: int | None,
        action: str,
        office: str,
        env_id: str,
        provisional_id: str | None,
        reason: str | None,
        now: float,
        replaces: str | None = None,
    ) -> None:
        """Record one register envelope in the ledger (``replaces``: the number it stands in
        for, when an office replaced a number its old copy gave out twice)."""
        self._exec(
            "INSERT INTO ledger (register, owner, series, year, number, action, office, env_id,"
            " provisional_id, reason, at, replaces) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (register, owner, series, year, number, action, office, env_id, provisional_id,
             reason, now, replaces),
        )  # fmt: skip

    def ledger_max(self, register: str) -> int:
        """The highest number recorded in a register (0 when none)."""
        return int(
            self._scalar(
                "SELECT coalesce(max(number), 0) FROM ledger WHERE register = ?", (register,)
            )
        )

    def ledger(self, register: str | None = None) -> list[Row]:
        """Ledger entries, of one register or all, in order."""
        if register is None:
            return self._all("SELECT * FROM ledger ORDER BY register, number, id")
        return self._all("SELECT * FROM ledger WHERE register = ? ORDER BY number, id", (register,))

    def register_ids(self) -> list[str]:
        """Every register id with ledger entries or leases, sorted."""
        rows = self._all(
            "SELECT register FROM ledger UNION SELECT register FROM leases ORDER BY register"
        )
        return [r["register"] for r in rows]

    def provisional_entry(self, register: str, office: str, provisional_id: str) -> Row | None:
        """The ledger entry that finalised a provisional number, if any."""
        return self._one(
            "SELECT * FROM ledger WHERE register = ? AND office = ? AND provisional_id = ?"
            " ORDER BY id LIMIT 1",
            (register, office, provisional_id),
        )

    def office_register_maxima(self, office_id: str) -> dict[str, int]:
        """Highest number an office recorded in each register it wrote to."""
        rows = self._all(
            "SELECT register, coalesce(max(number), 0) AS top FROM ledger WHERE office = ?"
            " GROUP BY register",
            (office_id,),
        )
        return {r["register"]: int(r["top"]) for r in rows}

    def office_register_env_ids(self, office_id: str) -> dict[str, list[str]]:
        """env_ids of an office's register envelopes, by register."""
        out: dict[str, list[str]] = {}
        for r in self._all(
            "SELECT register, env_id FROM ledger WHERE office = ? ORDER BY id", (office_id,)
        ):
            out.setdefault(r["register"], []).append(r["env_id"])
        return out

    # -- leases ----------------------------------------------------------------------------

    def add_lease(
        self, register: str, office: str, start: int, end: int, env_id: str, now: float
    ) -> None:
        """Record a lease granted."""
        self._exec(
            'INSERT INTO leases (register, office, start, "end", env_id, at)'
            " VALUES (?, ?, ?, ?, ?, ?)",
            (register, office, start, end, env_id, now),
        )

    def leases(self, register: str) -> list[Row]:
        """Leases of a register, oldest first."""
        return self._all("SELECT * FROM leases WHERE register = ? ORDER BY id", (register,))

    def lease_max_end(self, register: str) -> int:
        """The highest leased number of a register (0 when none)."""
        return int(
            self._scalar(
                'SELECT coalesce(max("end"), 0) FROM leases WHERE register = ?', (register,)
            )
        )

    # -- rejections ------------------------------------------------------------------------

    def add_numbering_rejection(
        self, register: str, number: int | None, office: str, env_id: str, reason: str, now: float
    ) -> None:
        """Count a rejected numbering attempt (once per envelope and reason)."""
        self._exec(
            "INSERT OR IGNORE INTO numbering_rejections (register, number, office, env_id,"
            " reason, at) VALUES (?, ?, ?, ?, ?, ?)",
            (register, number, office, env_id, reason, now),
        )

    def numbering_rejections(self, register: str, reason: str) -> int:
        """How many attempts on a register were rejected for ``reason``."""
        return int(
            self._scalar(
                "SELECT count(*) FROM numbering_rejections WHERE register = ? AND reason = ?",
                (register, reason),
            )
        )

    # -- daily reconciliation reports ------------------------------------------------------

    def add_numbering_report(self, day: str, report: str, worse: str, now: float) -> None:
        """Keep the numbering report of ``day`` (ISO date, Bangkok); one per day."""
        self._exec(
            "INSERT OR REPLACE INTO numbering_reports (day, at, report, worse) VALUES (?, ?, ?, ?)",
            (day, now, report, worse),
        )

    def numbering_reports(self, limit: int = 60) -> list[Row]:
        """Stored numbering reports, newest first."""
        return self._all("SELECT * FROM numbering_reports ORDER BY day DESC LIMIT ?", (limit,))

    def numbering_report_before(self, day: str) -> Row | None:
        """The newest stored report of a day before ``day``."""
        return self._one(
            "SELECT * FROM numbering_reports WHERE day < ? ORDER BY day DESC LIMIT 1", (day,)
        )

    def numbering_report_of(self, day: str) -> Row | None:
        """The stored numbering report of ``day`` (ISO date, Bangkok), if any."""
        return self._one("SELECT * FROM numbering_reports WHERE day = ?", (day,))
