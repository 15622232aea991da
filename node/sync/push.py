"""The push half of a sync round: this office's envelopes, and its requests for numbers.

:func:`push_outbox` pushes pending envelopes in feed order, in batches, each signed by the
office's key now (:func:`node.storage.feed.outgoing_wire`); the hub answers each one, and
the push stops at the first it rejects, since the hub takes an office's feed only in
sequence. The reason is kept on the envelope, and
:func:`node.sync.health.node_status` shows it. A letter the hub accepted is marked sent.

Bytes before letters: before a batch goes, the hub must hold every attachment its letters
cite (:func:`node.sync.attachments.upload_cited`); a letter the hub still refuses
``blobs_incomplete`` has the missing bytes uploaded again and is pushed once more.

Nothing is marked accepted on the answer's word alone (:func:`check_ack`): the answer's
``ack`` must be signed by a pinned hub key and be for this office, and its ``last_seq`` and
``head`` must cover every envelope to be marked (the head is our own envelope at that seq,
so the hub's chain holds all of ours before it). A missing or bad ack marks nothing and
fails the round with :class:`~protocol.errors.BadAck`.

:func:`request_leases` asks the hub for a new block of numbers for each shared register
running low, and applies the signed grant at once (kept in the mailbox too, so pulling it
again later is a duplicate).

Does not: pull (:mod:`node.sync.pull`), move attachment bytes (:mod:`node.sync.attachments`),
or apply what a lease means to the registers (:mod:`node.records.leases`).
"""

from __future__ import annotations

from typing import Any

from node.context import NodeContext
from node.records.directory import pinned_keys
from node.records.leases import apply_lease, lease_needs
from node.records.letters import mark_sent
from node.storage import feed
from node.storage.store import Store
from node.sync.attachments import forget_uploaded, upload_cited
from node.sync.hubclient import HubClient, HubHTTPError
from node.sync.state import SyncResult
from node.sync.verify import verify_hub_envelope
from protocol.api import BLOBS_INCOMPLETE, MAX_PUSH_BATCH
from protocol.envelope import Envelope
from protocol.errors import BadAck, RemoteDataError
from protocol.hub_messages import Ack, Lease
from protocol.sync import next_push_batch

TAKEN = ("accepted", "duplicate")


def push_outbox(ctx: NodeContext, store: Store, client: HubClient, result: SyncResult) -> None:
    """Push pending envelopes in feed order; stop at the first the hub rejects."""
    batch_size = max(1, min(int(ctx.settings["PUSH_BATCH"]), MAX_PUSH_BATCH))
    uploaded_again: set[str] = set()
    while True:
        rows = next_push_batch(feed.outbox(store, batch_size), batch_size)
        if not rows:
            return
        sendable = upload_cited(ctx, store, client, rows, result)
        if not sendable:
            return
        answer = client.push(feed.outgoing_wire(store, ctx.signer, sendable))
        by_id = {r.get("env_id"): r for r in answer.get("results") or [] if isinstance(r, dict)}
        check_ack(ctx, store, answer, sendable, by_id)
        stop = again = False
        now = ctx.now()
        with store.transaction():
            for row in sendable:
                verdict = by_id.get(row["env_id"])
                if verdict is None:
                    stop = True
                    break
                status = verdict.get("status")
                if (
                    status == "rejected"
                    and verdict.get("reason") == BLOBS_INCOMPLETE
                    and row["env_id"] not in uploaded_again
                ):
                    # The hub lacks bytes we took it to hold: upload them, push once more.
                    uploaded_again.add(row["env_id"])
                    forget_uploaded(store, verdict.get("missing"))
                    again = True
                    break
                result.pushed += 1
                if status in TAKEN:
                    feed.mark(store, row["env_id"], feed.ACCEPTED, None, now)
                    if row["kind"] == "letter":
                        mark_sent(store, row["env_id"], now)
                    if status == "accepted":
                        result.accepted += 1
                    else:
                        result.duplicates += 1
                    continue
                reason = f"{verdict.get('reason') or 'rejected'}: {verdict.get('detail') or ''}"
                feed.mark(store, row["env_id"], feed.REJECTED, reason.strip(": "), now)
                store.log(now, "push_rejected", {"seq": row["seq"], "reason": reason})
                result.rejected.append(
                    {
                        "seq": row["seq"],
                        "env_id": row["env_id"],
                        "kind": row["kind"],
                        "reason": reason,
                    }
                )
                stop = True
                break
        if again:
            continue
        if stop or len(sendable) < len(rows) or len(rows) < batch_size:
            return


def check_ack(
    ctx: NodeContext,
    store: Store,
    answer: dict[str, Any],
    rows: list[dict[str, Any]],
    by_id: dict[Any, dict[str, Any]],
) -> Ack:
    """The push answer's ack, verified; :class:`BadAck` unless it covers what it takes."""
    try:
        env = Envelope.from_wire(answer.get("ack"))
        ack = verify_hub_envelope(env, pinned_keys(store))
    except RemoteDataError as e:
        raise BadAck(f"the hub's ack is missing or not the hub's: {e}") from e
    if not isinstance(ack, Ack):
        raise BadAck(f"the hub answered the push with a {env.kind}, not an ack")
    if ack.office != ctx.office:
        raise BadAck(f"the hub's ack is for {ack.office!r}, not this office")
    taken = [r["seq"] for r in rows if (by_id.get(r["env_id"]) or {}).get("status") in TAKEN]
    if taken and ack.last_seq < max(taken):
        raise BadAck(f"the hub's ack stops at seq {ack.last_seq}, before seq {max(taken)}")
    if taken and (
        ack.head is None
        or ack.head != store.scalar("SELECT env_id FROM feed WHERE seq = ?", (ack.last_seq,))
    ):
        raise BadAck(f"the hub's ack names another envelope than ours at seq {ack.last_seq}")
    return ack


def request_leases(ctx: NodeContext, store: Store, client: HubClient, result: SyncResult) -> None:
    """Ask for a new block of numbers for each shared register running low."""
    for reg_id in lease_needs(ctx, store, ctx.now()):
        try:
            answer = client.lease(reg_id, int(ctx.settings["LEASE_SIZE"]))
        except HubHTTPError as e:
            with store.transaction():
                store.log(ctx.now(), "lease_refused", {"register": reg_id, "reason": e.reason})
            continue
        env = Envelope.from_wire(answer.get("lease"))
        lease = verify_hub_envelope(env, pinned_keys(store))
        if not isinstance(lease, Lease):
            raise RemoteDataError("the hub answered a lease request with another kind")
        now = ctx.now()
        with store.transaction():
            if not store.scalar("SELECT 1 FROM mailbox WHERE env_id = ?", (env.env_id,)):
                outcome = apply_lease(ctx, store, env, lease, now)
                store.insert(
                    "mailbox",
                    {
                        "env_id": env.env_id,
                        "origin": "hub",
                        "kind": "lease",
                        "envelope": env.to_bytes(),
                        "received_at": now,
                        "outcome": outcome,
                    },
                )
        result.leases.append(reg_id)
