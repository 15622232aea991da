"""Idempotency keys: a request that changes state is acted on once, however often it comes.

Every state-changing form of the clerk's pages carries a key issued with the page, and a
local API call may carry one in its ``Idempotency-Key`` header. :func:`run_once` runs the
action and records its answer (status, the page to go to or the JSON body) in one
transaction that takes the write lock first (``BEGIN IMMEDIATE``), so a crash leaves both
the action and its key or neither. The same key again (a double click, Back and submit
again, a client's retry after a lost answer) waits for the first request to commit, then
gets the recorded answer without anything being done again. A key sent by someone else,
to another route or (for the API) with another body is refused. An action that fails
records nothing: its transaction rolls back and the key may be used again. Keys are
forgotten after :data:`KEY_LIFETIME`, lazily, by the next action.

Does not: read requests or build responses (:mod:`node.web.kit`, :mod:`node.api.kit` do).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from node.errors import BadInput, NodeError
from node.storage.store import Store

KEY_LIFETIME = 24 * 3600.0
"""Seconds a key is remembered; a repeat later than that is a new request."""

_KEY = re.compile(r"[\x21-\x7e]{1,200}")
"""A key: 1 to 200 visible ASCII characters (a UUID, a random token)."""


class KeyReused(NodeError):
    """The key was already used by someone else, for another route or another request."""

    status = 422
    code = "idempotency_key_reused"
    message_th = (
        "คำขอนี้ใช้รหัสป้องกันการทำซ้ำเดียวกับคำขออื่นที่ดำเนินการไปแล้ว จึงไม่ได้ดำเนินการ กรุณาเปิดหน้านี้ใหม่แล้วลองอีกครั้ง"
    )


@dataclass(frozen=True)
class Claim:
    """One request's claim on a key: who sent it, to which route, and (for the API) a hash
    of what it sent."""

    key: str
    who: str
    route: str
    fingerprint: str = ""


@dataclass(frozen=True)
class Outcome:
    """The answer given to a key: an HTTP status, the page to go to (a redirect) and the
    body (the API's JSON text, or a page's Thai confirmation). ``replayed`` when it is the
    recorded answer of an earlier request."""

    status: int
    location: str | None = None
    body: str = ""
    replayed: bool = False


def check_key(key: str) -> str:
    """``key`` if it is well formed; :class:`~node.errors.BadInput` otherwise."""
    if not _KEY.fullmatch(key):
        raise BadInput(
            "an idempotency key is 1 to 200 visible ASCII characters",
            code="bad_idempotency_key",
            message_th="รหัสป้องกันการทำซ้ำไม่ถูกต้อง กรุณาเปิดหน้านี้ใหม่แล้วลองอีกครั้ง",
        )
    return key


def run_once(store: Store, claim: Claim, now: float, act: Callable[[], Outcome]) -> Outcome:
    """Run ``act`` and record its answer under ``claim.key``, in one transaction; or, if the
    key was answered before, that answer (``replayed``) without running ``act``.

    ``act`` does its writes through ``store`` (they join this transaction). A key claimed
    by someone else, for another route or with another fingerprint raises
    :class:`KeyReused`; an exception from ``act`` rolls everything back and records nothing.
    """
    check_key(claim.key)
    with store.transaction():
        forget_expired(store, now)
        row = store.one("SELECT * FROM idempotency WHERE key = ?", (claim.key,))
        if row is not None:
            _same_request(row, claim)
            return Outcome(int(row["status"]), row["location"], str(row["body"]), replayed=True)
        outcome = act()
        store.insert(
            "idempotency",
            {
                "key": claim.key,
                "who": claim.who,
                "route": claim.route,
                "fingerprint": claim.fingerprint,
                "status": outcome.status,
                "location": outcome.location,
                "body": outcome.body,
                "created_at": now,
            },
        )
    return outcome


def _same_request(row: dict[str, Any], claim: Claim) -> None:
    for name, mine in (("who", claim.who), ("route", claim.route)):
        if row[name] != mine:
            raise KeyReused(f"key {claim.key!r} was used by another request ({name} differs)")
    if row["fingerprint"] != claim.fingerprint:
        raise KeyReused(f"key {claim.key!r} was used with another request body")


def forget_expired(store: Store, now: float) -> None:
    """Drop the keys older than :data:`KEY_LIFETIME` (inside a transaction)."""
    store.execute("DELETE FROM idempotency WHERE created_at < ?", (now - KEY_LIFETIME,))
