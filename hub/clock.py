"""Time as the hub writes it in signed messages: ISO 8601 UTC from Unix seconds.

The hub never reads the wall clock here; callers pass the time from ``app.config["CLOCK"]``
(or an explicit ``now``), so tests can move time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from protocol.thai import BANGKOK


def iso_utc(now: float) -> str:
    """``2026-11-23T07:35:00Z`` for Unix time ``now``."""
    return datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_clock(value: object) -> float | None:
    """A node's reported clock (Unix seconds or ISO 8601) as Unix seconds, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    return None


def bangkok_day(now: float) -> str:
    """The Bangkok calendar day of Unix time ``now`` as an ISO date (``2026-11-18``)."""
    return datetime.fromtimestamp(now, BANGKOK).date().isoformat()
