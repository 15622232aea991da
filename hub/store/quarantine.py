"""Quarantine: envelopes the hub refused, kept aside with the reason until an operator acts.

Each kept envelope is charged to its office: ``quarantine.size`` is what keeping it costs,
and ``quarantine_usage`` keeps each office's running total of the open ones
(``held_bytes``), lowered when an operator releases or discards one, and counts the
envelopes that were refused without being kept (``refused``, ``refused_bytes``).

Why an envelope is refused, whether it is kept within its office's quota
(:mod:`hub.federation.refusals`), and what releasing it does
(:mod:`hub.federation.quarantine`) are decided there, not here.
"""

from __future__ import annotations

from hub.store.connection import Connection, Row

_LISTED = (
    "id, env_id, origin, seq, reason, detail, at, status, resolved_at, resolved_by, resolution"
)
"""Every column but the envelope's bytes: lists never load them."""


ROW_BYTES = 200
"""What a kept row costs beside its bytes and detail (its ids, reason, time and index
entries), so that a flood of tiny envelopes is bounded too."""


def stored_size(envelope: bytes | None, detail: str | None) -> int:
    """The bytes a kept envelope takes: its bytes, the reason's detail and the row."""
    return len(envelope or b"") + len((detail or "").encode("utf-8")) + ROW_BYTES


class QuarantineRecords(Connection):
    """The ``quarantine`` and ``quarantine_usage`` tables."""

    def quarantine(
        self,
        env_id: str,
        origin: str | None,
        seq: int | None,
        reason: str,
        detail: str,
        envelope: bytes | None,
        now: float,
        size: int | None = None,
    ) -> bool:
        """Keep a rejected envelope aside with the reason (once per env_id), charging
        ``size`` bytes (default: :func:`stored_size`) to its office; True when kept now."""
        charge = stored_size(envelope, detail) if size is None else size
        kept = bool(
            self._changed(
                "INSERT OR IGNORE INTO quarantine"
                " (env_id, origin, seq, reason, detail, envelope, at, size)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (env_id, origin, seq, reason, detail, envelope, now, charge),
            )
        )
        if kept and origin is not None:
            self._exec(
                "INSERT INTO quarantine_usage (office, held_bytes) VALUES (?, ?)"
                " ON CONFLICT (office) DO UPDATE SET"
                " held_bytes = quarantine_usage.held_bytes + excluded.held_bytes",
                (origin, charge),
            )
        return kept

    def quarantine_held_bytes(self, office: str) -> int:
        """Bytes of ``office``'s open quarantined envelopes."""
        value = self._scalar("SELECT held_bytes FROM quarantine_usage WHERE office = ?", (office,))
        return int(value or 0)

    def quarantine_held(self, env_id: str) -> bool:
        """Whether an envelope with this id is in quarantine (whatever became of it)."""
        return self._scalar("SELECT 1 FROM quarantine WHERE env_id = ?", (env_id,)) is not None

    def count_quarantine_refusal(self, office: str, size: int, now: float) -> None:
        """An envelope of ``office`` was refused and not kept: its quota was full."""
        self._exec(
            "INSERT INTO quarantine_usage (office, refused, refused_bytes, refused_at)"
            " VALUES (?, 1, ?, ?) ON CONFLICT (office) DO UPDATE SET"
            " refused = quarantine_usage.refused + 1,"
            " refused_bytes = quarantine_usage.refused_bytes + excluded.refused_bytes,"
            " refused_at = excluded.refused_at",
            (office, size, now),
        )

    def quarantine_usage(self) -> list[Row]:
        """Each office's quarantine: ``office``, ``held_bytes``, ``refused``,
        ``refused_bytes`` and ``refused_at`` (the last refusal), by office."""
        return self._all(
            "SELECT office, held_bytes, refused, refused_bytes, refused_at FROM quarantine_usage"
            " ORDER BY office"
        )

    def quarantined(
        self, status: str | None = "open", office: str | None = None, limit: int | None = None
    ) -> list[Row]:
        """Quarantined envelopes without their bytes, newest first; of one ``status``
        (None: all) and one ``office`` (None: all), at most ``limit`` (None: all)."""
        where, params = [], []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if office is not None:
            where.append("origin = ?")
            params.append(office)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        tail = "" if limit is None else f" LIMIT {int(limit)}"
        return self._all(
            f"SELECT {_LISTED} FROM quarantine{clause} ORDER BY id DESC{tail}",  # noqa: S608
            params,
        )

    def open_quarantine_by_office(self) -> dict[str, Row]:
        """Per office with open quarantined envelopes: ``count`` and the oldest one
        (``first_id``, ``first_seq``, ``first_reason``, ``first_detail``)."""
        rows = self._all(
            "SELECT q.origin AS office, n.count, q.id AS first_id, q.seq AS first_seq,"
            " q.reason AS first_reason, q.detail AS first_detail"
            " FROM (SELECT origin, count(*) AS count, min(id) AS first FROM quarantine"
            "       WHERE status = 'open' AND origin IS NOT NULL GROUP BY origin) n"
            " JOIN quarantine q ON q.id = n.first ORDER BY q.origin"
        )
        return {r["office"]: r for r in rows}

    def quarantined_one(self, quarantine_id: int) -> Row | None:
        """One quarantined envelope, with its bytes."""
        return self._one("SELECT * FROM quarantine WHERE id = ?", (quarantine_id,))

    def resolve_quarantine(
        self, quarantine_id: int, status: str, operator: str, resolution: str, now: float
    ) -> None:
        """Close a quarantined envelope as ``released`` or ``discarded``, saying why; its
        bytes no longer count against its office."""
        row = self._one(
            "SELECT origin, size FROM quarantine WHERE id = ? AND status = 'open'",
            (quarantine_id,),
        )
        if row is None:
            return
        self._exec(
            "UPDATE quarantine SET status = ?, resolved_by = ?, resolution = ?, resolved_at = ?"
            " WHERE id = ? AND status = 'open'",
            (status, operator, resolution, now, quarantine_id),
        )
        if row["origin"] is not None:
            self._exec(
                "UPDATE quarantine_usage SET held_bytes = max(0, held_bytes - ?) WHERE office = ?",
                (int(row["size"] or 0), row["origin"]),
            )

    def quarantine_counts_by_reason(self) -> dict[str, int]:
        """Envelopes ever quarantined (whatever became of them since), by reason."""
        rows = self._all(
            "SELECT reason, count(*) AS n FROM quarantine GROUP BY reason ORDER BY reason"
        )
        return {r["reason"]: int(r["n"]) for r in rows}
