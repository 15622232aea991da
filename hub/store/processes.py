"""What the hub's processes share through the database, so that several of them can serve
one database behind a load balancer (ADR 0025).

* ``hub_processes``: each serving process, with the moment it was last seen alive (its
  heartbeat), so a process knows whether it serves alone;
* ``job_runs``: the last slot of each scheduled job some process claimed, so each job runs
  once across the processes (:meth:`ProcessRecords.claim_job`);
* ``rate_buckets``: the token buckets of the federation's rate limits while several
  processes serve (:mod:`hub.federation.ratelimit`);
* ``address_counts``: the portal's requests per address and minute, likewise
  (:mod:`hub.portal.kit`).

A hub of one process keeps its buckets and counts in memory and writes none of the last
two tables. The tables are in :mod:`hub.store.processes_schema`.
"""

from __future__ import annotations

from hub.store.connection import Connection, Row


class ProcessRecords(Connection):
    """The ``hub_processes``, ``job_runs``, ``rate_buckets`` and ``address_counts`` tables."""

    # -- the processes ------------------------------------------------------------------

    def process_seen(self, process: str, host: str, pid: int, now: float) -> None:
        """Record that ``process`` is alive now (its first heartbeat adds it)."""
        with self.write():
            self._exec(
                "INSERT INTO hub_processes (id, host, pid, started_at, seen_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
                (process, host, pid, now, now),
            )

    def process_gone(self, process: str) -> None:
        """Forget ``process`` (it stopped)."""
        with self.write():
            self._exec("DELETE FROM hub_processes WHERE id = ?", (process,))

    def forget_processes_before(self, moment: float) -> int:
        """Forget the processes last seen before ``moment`` (they died); how many."""
        with self.write():
            return self._changed("DELETE FROM hub_processes WHERE seen_at < ?", (moment,))

    def live_processes(self, since: float) -> list[Row]:
        """The processes seen since ``since``, oldest first."""
        return self._all(
            "SELECT id, host, pid, started_at, seen_at FROM hub_processes WHERE seen_at >= ?"
            " ORDER BY started_at, id",
            (since,),
        )

    # -- the jobs -----------------------------------------------------------------------

    def claim_job(self, job: str, slot: int, process: str, now: float) -> bool:
        """Claim slot ``slot`` of ``job`` for ``process``: True when no process claimed this
        slot or a later one before (the caller then runs the job)."""
        with self.write():
            self._exec(
                "INSERT INTO job_runs (job, slot, process, at) VALUES (?, -1, '', 0)"
                " ON CONFLICT (job) DO NOTHING",
                (job,),
            )
            return (
                self._changed(
                    "UPDATE job_runs SET slot = ?, process = ?, at = ? WHERE job = ? AND slot < ?",
                    (slot, process, now, job, slot),
                )
                == 1
            )

    def job_runs(self) -> list[Row]:
        """The last claimed slot of each job, by job."""
        return self._all("SELECT job, slot, process, at FROM job_runs ORDER BY job")

    # -- limits shared by the processes -------------------------------------------------

    def rate_bucket(self, office: str, family: str) -> tuple[float, float] | None:
        """``(tokens, at)`` of an office's bucket of ``family``, or None before its first
        request while several processes serve."""
        row = self._one(
            "SELECT tokens, at FROM rate_buckets WHERE office = ? AND family = ?",
            (office, family),
        )
        return None if row is None else (float(row["tokens"]), float(row["at"]))

    def set_rate_bucket(self, office: str, family: str, tokens: float, at: float) -> None:
        """Keep an office's bucket of ``family`` (inside the caller's transaction)."""
        self._exec(
            "INSERT INTO rate_buckets (office, family, tokens, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (office, family) DO UPDATE SET tokens = excluded.tokens,"
            " at = excluded.at",
            (office, family, tokens, at),
        )

    def count_address(self, kind: str, address: str, minute: int) -> int:
        """Count one request of ``kind`` from ``address`` in ``minute``; the minute's count."""
        with self.write():
            self._exec(
                "INSERT INTO address_counts (kind, address, minute, count) VALUES (?, ?, ?, 1)"
                " ON CONFLICT (kind, address) DO UPDATE SET"
                " count = CASE WHEN address_counts.minute = excluded.minute"
                " THEN address_counts.count + 1 ELSE 1 END,"
                " minute = excluded.minute",
                (kind, address, minute),
            )
            self._exec("DELETE FROM address_counts WHERE minute < ?", (minute - 1,))
            return int(
                self._scalar(
                    "SELECT count FROM address_counts WHERE kind = ? AND address = ?",
                    (kind, address),
                )
            )
