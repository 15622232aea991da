"""What a sync round did, and what the node remembers between rounds.

:class:`SyncResult` is the account of one round with the hub: the local API and the CLI
show it, and the round keeps it as ``sync_state.last_result``. :func:`sync_state` reads the
node's one ``sync_state`` row: the pull cursor, the back-off (failures, next attempt), the
last error and whether the directory should be fetched again.

Does not: talk to the hub, or decide when to sync (:mod:`node.sync.worker` does).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from node.storage.store import Store

WATCH_SETTING = "watch"
"""The hub's wake-up token and the ETag where the last pull ended (ADR 0016)."""


@dataclass
class SyncResult:
    """What one sync did; ``ok`` is False when it stopped on an error, when the hub
    rejected an envelope, or while envelopes are held (``held``): never a plain "ok" then."""

    ok: bool = False
    online: bool = False
    started_at: float = 0.0
    finished_at: float = 0.0
    caught_up: int = 0
    rebased: dict[str, Any] | None = None
    lost_voided: list[dict[str, Any]] = field(default_factory=list)
    directory_version: int | None = None
    uploaded: list[str] = field(default_factory=list)
    pushed: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    leases: list[str] = field(default_factory=list)
    pulled: int = 0
    applied: int = 0
    held: int = 0
    """Envelopes from the hub held here because they do not verify yet (node.sync.held)."""
    held_from: list[str] = field(default_factory=list)
    """The offices those held envelopes claim to come from."""
    released: int = 0
    """Held envelopes that verified and were applied this round."""
    downloaded: list[str] = field(default_factory=list)
    accounts_published: int | None = None
    """The accounts version the hub acknowledged this round (node.sync.accounts_publish)."""
    accounts_refused: str | None = None
    """Why the hub refused the office's accounts this round, when it did."""
    error: str | None = None
    error_code: str | None = None
    next_attempt: float | None = None
    clock_skew: float | None = None
    """Seconds this node's clock is ahead of the hub's (negative: behind), when measured."""
    warnings: list[str] = field(default_factory=list)
    """What the clerks should know although the round went through (Thai)."""

    def to_json(self) -> dict[str, Any]:
        """The result as JSON for the local API and the CLI."""
        return asdict(self)


def sync_state(store: Store) -> dict[str, Any]:
    """The node's one ``sync_state`` row (created with the database)."""
    row = store.one("SELECT * FROM sync_state WHERE id = 1")
    assert row is not None
    return row


def remember_watch(store: Store, answer: dict[str, Any]) -> None:
    """Keep the wake-up token and ETag of a pull answer (inside the pull's transaction)."""
    watch = answer.get("watch")
    if not isinstance(watch, dict) or not isinstance(watch.get("token"), str):
        return
    etag = watch.get("etag") if not answer.get("more") else None
    store.set_setting(
        WATCH_SETTING, {"token": watch["token"], "etag": etag if isinstance(etag, str) else None}
    )


def watch_credentials(store: Store) -> tuple[str | None, str | None]:
    """``(token, etag)`` for the wake-up check; ``(None, None)`` before the first pull."""
    value = store.get_setting(WATCH_SETTING) or {}
    token, etag = value.get("token"), value.get("etag")
    return (token if isinstance(token, str) else None, etag if isinstance(etag, str) else None)
