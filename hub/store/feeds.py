"""The offices' feeds: every envelope the hub accepted, by origin and sequence number.

Each office's feed is append-only; ``(origin, seq)`` and ``env_id`` are unique. Whether an
envelope belongs in a feed is decided by :mod:`hub.federation.ingest`, not here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hub.store.connection import Connection


@dataclass(frozen=True)
class FeedRow:
    """One stored envelope of an office's feed."""

    origin: str
    seq: int
    env_id: str
    kind: str
    envelope: bytes


class FeedRecords(Connection):
    """The ``feed`` table."""

    def feed_head(self, origin: str) -> tuple[int, str] | None:
        """``(seq, env_id)`` of the last stored envelope of ``origin``'s feed."""
        row = self._one(
            "SELECT seq, env_id FROM feed WHERE origin = ? ORDER BY seq DESC LIMIT 1", (origin,)
        )
        return None if row is None else (int(row["seq"]), str(row["env_id"]))

    def last_accepted_at(self) -> float | None:
        """When the hub accepted the newest envelope of any feed (None: none yet)."""
        value = self._scalar("SELECT received_at FROM feed ORDER BY rowid DESC LIMIT 1")
        return None if value is None else float(value)

    def feed_env_id_at(self, origin: str, seq: int) -> str | None:
        """env_id stored at ``(origin, seq)``."""
        value = self._scalar("SELECT env_id FROM feed WHERE origin = ? AND seq = ?", (origin, seq))
        return None if value is None else str(value)

    def append_feed(self, rows: Iterable[tuple[str, int, str, str, bytes, float]]) -> None:
        """Store accepted envelopes of feeds, in order: ``(origin, seq, env_id, kind,
        envelope bytes, received at)`` each."""
        self._many(
            "INSERT INTO feed (origin, seq, env_id, kind, envelope, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    def feed_after(self, origin: str, after: int, limit: int) -> list[FeedRow]:
        """Envelopes of ``origin``'s feed with seq above ``after``, in order."""
        rows = self._all(
            "SELECT origin, seq, env_id, kind, envelope FROM feed"
            " WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?",
            (origin, after, limit),
        )
        return [FeedRow(r["origin"], r["seq"], r["env_id"], r["kind"], r["envelope"]) for r in rows]

    def feed_envelope(self, env_id: str) -> FeedRow | None:
        """A feed envelope by env_id."""
        r = self._one(
            "SELECT origin, seq, env_id, kind, envelope FROM feed WHERE env_id = ?", (env_id,)
        )
        if r is None:
            return None
        return FeedRow(r["origin"], r["seq"], r["env_id"], r["kind"], r["envelope"])

    def feed_counts_by_kind(self) -> dict[str, int]:
        """Envelopes accepted into the offices' feeds, by kind."""
        rows = self._all("SELECT kind, count(*) AS n FROM feed GROUP BY kind ORDER BY kind")
        return {r["kind"]: int(r["n"]) for r in rows}
