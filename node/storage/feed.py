"""The office's own feed and its outbox.

:func:`append` turns a message into the next envelope of this office's feed: it assigns
``seq = last + 1`` and ``prev = last env_id``, normalises Thai text, signs and stores it,
always inside the caller's transaction, so a clerk's state change and its envelope commit
together. The outbox is the feed rows the hub has not accepted yet; :func:`outgoing_wire`
hands them to the push signed by the office's key now, signing again, body unchanged, one
an older key signed before a rekey (ADR 0018).

This module does not talk to the hub (see :mod:`node.sync.push`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from node.storage.store import Store
from protocol.envelope import Envelope, Signature, pae, sign_envelope
from protocol.keys import Signer
from protocol.messages import Deliveries, FeedMessage, Letter, Receipt, RegisterEntry, Withdraw

M = TypeVar("M", bound=FeedMessage)

PENDING = "pending"
ACCEPTED = "accepted"
REJECTED = "rejected"


@lru_cache(maxsize=64)
def iso(ts: float) -> str:
    """A Unix time as the ISO 8601 UTC text used in message bodies."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def head(store: Store) -> tuple[int, str | None]:
    """``(last seq, last env_id)`` of the own feed; ``(0, None)`` when empty."""
    row = store.conn.execute("SELECT seq, env_id FROM feed ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, None)


def _ref_and_status(message: FeedMessage) -> tuple[str | None, str | None]:
    """What the envelope is about, so the feed can be searched without parsing it."""
    if isinstance(message, Receipt):
        return message.letter, message.status
    if isinstance(message, Deliveries):
        return message.letter_origin, "delivered"
    if isinstance(message, RegisterEntry):
        return message.register, message.action
    if isinstance(message, Withdraw):
        return message.letter, None
    if isinstance(message, Letter):
        return message.register, None
    return None, None


def append(
    store: Store, signer: Signer, message: M, now: float | None = None
) -> tuple[M, Envelope]:
    """Sign ``message`` as the next envelope of the feed and store it as pending.

    Must run inside ``store.transaction()``. ``origin``, ``seq`` and ``prev`` are set here;
    ``created_at`` from ``now`` when the message has none. Returns the message as signed
    and its envelope.

    A database older than what the office already published (an old copy) still appends:
    the seq it signs may collide with one the hub holds, and the first contact with the hub
    signs it again after the hub's (:mod:`node.sync.rebase`).
    """
    seq, prev = head(store)
    changes: dict[str, Any] = {"origin": signer.office, "seq": seq + 1, "prev": prev}
    if not message.created_at:
        changes["created_at"] = iso(now if now is not None else 0.0)
    signed = message.normalized(**changes)
    signed.validate()
    env = sign_envelope(signed.KIND, signed.to_dict(), signer)
    ref, status = _ref_and_status(signed)
    store.insert(
        "feed",
        {
            "seq": signed.seq,
            "env_id": env.env_id,
            "kind": signed.KIND,
            "ref": ref,
            "status": status,
            "envelope": env.to_bytes(),
            "state": PENDING,
            "created_at": now,
        },
    )
    _index_deliveries(store, env.env_id, signed)
    if store.on_feed_change is not None:
        store.after_commit(store.on_feed_change)
    return signed, env


def store_accepted(store: Store, env: Envelope, message: FeedMessage, now: float) -> bool:
    """Insert an own envelope fetched back from the hub (restore, catch-up) as accepted.

    Returns False when that seq is already held. The caller has verified the signature.
    """
    if store.scalar("SELECT 1 FROM feed WHERE seq = ?", (message.seq,)):
        return False
    ref, status = _ref_and_status(message)
    store.insert(
        "feed",
        {
            "seq": message.seq,
            "env_id": env.env_id,
            "kind": message.KIND,
            "ref": ref,
            "status": status,
            "envelope": env.to_bytes(),
            "state": ACCEPTED,
            "created_at": now,
            "acked_at": now,
        },
    )
    _index_deliveries(store, env.env_id, message)
    return True


def _index_deliveries(store: Store, env_id: str, message: FeedMessage) -> None:
    """Name the letters a ``deliveries`` envelope answers in ``delivered_letters`` (the
    first envelope to name a letter keeps it)."""
    if isinstance(message, Deliveries):
        store.conn.executemany(
            "INSERT OR IGNORE INTO delivered_letters (letter_env, env_id) VALUES (?, ?)",
            [(letter, env_id) for letter in message.letters],
        )


def drop_from(store: Store, seq: int) -> None:
    """Delete the feed from ``seq`` on, with the letters its ``deliveries`` named (a rebase
    signs what it keeps again after the hub's envelopes)."""
    store.execute(
        "DELETE FROM delivered_letters WHERE env_id IN (SELECT env_id FROM feed WHERE seq >= ?)",
        (seq,),
    )
    store.execute("DELETE FROM feed WHERE seq >= ?", (seq,))


def delivered(store: Store, letter_env_id: str) -> bool:
    """Whether this office has signed the ``delivered`` answer to a letter: in a
    ``deliveries`` envelope, or (an earlier version) a receipt of its own."""
    return bool(
        store.scalar("SELECT 1 FROM delivered_letters WHERE letter_env = ?", (letter_env_id,))
        or store.scalar(
            "SELECT 1 FROM feed WHERE kind = 'receipt' AND ref = ? AND status = 'delivered'",
            (letter_env_id,),
        )
    )


def outbox(store: Store, limit: int) -> list[dict[str, Any]]:
    """The oldest feed rows not accepted by the hub, in seq order."""
    return store.query(
        "SELECT seq, env_id, kind, envelope, state, reason FROM feed "
        "WHERE state != ? ORDER BY seq LIMIT ?",
        (ACCEPTED, limit),
    )


def outgoing_wire(store: Store, signer: Signer, rows: list[dict[str, Any]]) -> list[Any]:
    """The wire form of outbox ``rows`` (:func:`outbox`), every one signed by ``signer``.

    A row an earlier key of this office signed (queued before a rekey or a re-enrolment
    retired it) is signed again by ``signer`` and stored so, in a transaction of its own:
    the body, hence the env_id, the seq and the chain, stay what they were, and the hub,
    which refuses the retired key beyond its last seq, takes it.
    """
    wires = [json.loads(row["envelope"]) for row in rows]
    again: list[tuple[int, Envelope]] = []
    for i, wire in enumerate(wires):
        signatures = wire.get("signatures") if isinstance(wire, dict) else None
        if any(isinstance(s, dict) and s.get("keyid") == signer.keyid for s in signatures or []):
            continue
        env = Envelope.from_wire(wire)
        sig = signer.sign(pae(env.payload_type, env.body))
        again.append((i, Envelope(env.payload_type, env.body, (Signature(signer.keyid, sig),))))
    if again:
        with store.transaction():
            for i, env in again:
                store.execute(
                    "UPDATE feed SET envelope = ? WHERE env_id = ?", (env.to_bytes(), env.env_id)
                )
                wires[i] = env.to_wire()
    return wires


def outbox_count(store: Store) -> int:
    """How many envelopes wait for the hub."""
    return int(store.scalar("SELECT COUNT(*) FROM feed WHERE state != ?", (ACCEPTED,)))


def mark(store: Store, env_id: str, state: str, reason: str | None, now: float) -> None:
    """Record the hub's verdict on one envelope."""
    store.execute(
        "UPDATE feed SET state = ?, reason = ?, acked_at = ? WHERE env_id = ?",
        (state, reason, now, env_id),
    )


def parse_iso(text: str | None) -> float | None:
    """Unix seconds of an ISO 8601 time written by :func:`node.storage.feed.iso`."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
