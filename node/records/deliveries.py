"""The ``delivered`` answer to received letters: once per letter, when every attachment is held.

A letter stored here is answered ``delivered`` as soon as this node holds every attachment
it lists (a blob is kept only after its SHA-256 checked out, :mod:`node.storage.blobs`, so
"present" means held and checked); until then it waits in ``awaiting_attachments`` and
:func:`emit_due_deliveries` answers it when the last one arrives. The time of receipt is
this node's clock when it stored the letter, or when its last attachment arrived.

The answers decided within :func:`answering_together` (one write transaction of the pull,
which holds one or several pulled batches; the letters whose last attachment arrived) are
signed together at its end: one ``deliveries`` envelope per sender and time of receipt,
naming the letters' env_ids (ADR 0028). Each letter is answered once:
:func:`node.storage.feed.delivered` finds an earlier answer, and the batch of the open
transaction knows its own.

Does not: store letters or apply what recipients answer (:mod:`node.records.inbox`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from node.context import NodeContext
from node.storage import feed
from node.storage.blobs import has_blob
from node.storage.store import Store
from protocol.limits import MAX_DELIVERIES
from protocol.messages import Deliveries


class DeliveryBatch:
    """The ``delivered`` answers one transaction decided, signed together at its end: one
    ``deliveries`` envelope per sender and time of receipt (ADR 0028)."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str], list[str]] = {}
        self._named: set[str] = set()

    def add(self, letter_origin: str, letter_env_id: str, at: str) -> None:
        """Answer ``letter_env_id`` as delivered at ``at``, once."""
        if letter_env_id not in self._named:
            self._named.add(letter_env_id)
            self._groups.setdefault((letter_origin, at), []).append(letter_env_id)

    def __contains__(self, letter_env_id: object) -> bool:
        return letter_env_id in self._named

    def sign(self, ctx: NodeContext, store: Store, now: float) -> int:
        """Append the ``deliveries`` envelopes to the feed; returns how many."""
        signed = 0
        for (origin, at), letters in self._groups.items():
            for i in range(0, len(letters), MAX_DELIVERIES):
                part = letters[i : i + MAX_DELIVERIES]
                answer = Deliveries(letter_origin=origin, letters=part, at=at)
                feed.append(store, ctx.signer, answer, now)
                signed += 1
        self._groups.clear()
        self._named.clear()
        return signed


@contextmanager
def answering_together(ctx: NodeContext, store: Store, now: float) -> Iterator[DeliveryBatch]:
    """Inside ``store.transaction()``: collect the ``delivered`` answers decided within and
    sign them together when the block ends without an error (a write transaction of the
    pull, the letters whose last attachment arrived). Nested, the outer block signs."""
    if store.deliveries is not None:
        yield store.deliveries
        return
    batch = DeliveryBatch()
    store.deliveries = batch
    try:
        yield batch
    finally:
        store.deliveries = None
    batch.sign(ctx, store, now)


def answered(store: Store, letter_env_id: str) -> bool:
    """Whether the ``delivered`` answer to a letter is signed or decided in this transaction."""
    return pending(store, letter_env_id) or feed.delivered(store, letter_env_id)


def pending(store: Store, letter_env_id: str) -> bool:
    """Whether the ``delivered`` answer to a letter is decided in this transaction, to be
    signed at its end."""
    batch = store.deliveries
    return batch is not None and letter_env_id in batch


def missing_attachments(ctx: NodeContext, store: Store, hashes: Iterable[str]) -> list[str]:
    """The hashes of ``hashes`` this node does not hold (present, checked, on disk)."""
    missing = []
    for sha in hashes:
        present = store.scalar("SELECT present FROM attachments WHERE sha256 = ?", (sha,))
        if not present or not has_blob(ctx.blob_dir(), sha):
            missing.append(sha)
    return missing


def emit_delivered(ctx: NodeContext, store: Store, letter_env_id: str, now: float) -> bool:
    """Answer a stored letter ``delivered`` once every attachment it lists is held here,
    unless it was answered already; until then the letter waits for them."""
    if answered(store, letter_env_id):
        store.execute("DELETE FROM awaiting_attachments WHERE letter_env = ?", (letter_env_id,))
        return False
    row = store.one(
        "SELECT origin, attachments, received_at FROM letters WHERE env_id = ?", (letter_env_id,)
    )
    if row is None:
        return False
    hashes = [a["sha256"] for a in json.loads(row["attachments"] or "[]")]
    waited = bool(
        store.scalar("SELECT 1 FROM awaiting_attachments WHERE letter_env = ?", (letter_env_id,))
    )
    at = feed.iso(now if waited else row["received_at"] or now)
    return deliver(ctx, store, letter_env_id, row["origin"], hashes, at, now, waited)


def deliver(
    ctx: NodeContext,
    store: Store,
    letter_env_id: str,
    letter_origin: str,
    hashes: list[str],
    at: str,
    now: float,
    waited: bool,
) -> bool:
    """Answer a letter ``delivered`` at ``at`` if every attachment it lists is held here
    (at the time the last one arrived if it ``waited``), else let it wait for them. Inside
    :func:`answering_together` the answer joins the batch's; alone it is signed now."""
    if hashes and missing_attachments(ctx, store, hashes):
        store.execute(
            "INSERT OR IGNORE INTO awaiting_attachments (letter_env, since) VALUES (?, ?)",
            (letter_env_id, now),
        )
        return False
    if waited:
        store.execute("DELETE FROM awaiting_attachments WHERE letter_env = ?", (letter_env_id,))
    with answering_together(ctx, store, now) as batch:
        batch.add(letter_origin, letter_env_id, at)
    return True


def emit_due_deliveries(ctx: NodeContext, store: Store, now: float) -> int:
    """Answer ``delivered`` the letters whose last attachment has arrived, together."""
    due = store.query("SELECT letter_env FROM awaiting_attachments ORDER BY since, letter_env")
    with answering_together(ctx, store, now):
        return sum(emit_delivered(ctx, store, r["letter_env"], now) for r in due)
