"""The push half of a sync round: this office's envelopes, and its requests for numbers.

:func:`push_outbox` pushes pending envelopes in feed order, in batches; the hub answers
each one, and the push stops at the first it rejects, since the hub takes an office's feed
only in sequence. The reason is kept on the envelope, and
:func:`node.sync.health.node_status` shows it. A letter the hub accepted is marked sent.

:func:`request_leases` asks the hub for a new block of numbers for each shared register
running low, and applies the signed grant at once (kept in the mailbox too, so pulling it
again later is a duplicate).

Does not: pull (:mod:`node.sync.pull`), upload attachments (:mod:`node.sync.attachments`),
or apply what a lease means to the registers (:mod:`node.records.leases`).
"""

from __future__ import annotations

import json

from node.context import NodeContext
from node.records.directory import pinned_keys
from node.records.leases import apply_lease, lease_needs
from node.records.letters import mark_sent
from node.storage import feed
from node.storage.store import Store
from node.sync.hubclient import HubClient, HubHTTPError
from node.sync.state import SyncResult
from node.sync.verify import verify_hub_envelope
from protocol.api import MAX_PUSH_BATCH
from protocol.envelope import Envelope
from protocol.errors import RemoteDataError
from protocol.hub_messages import Lease
from protocol.sync import next_push_batch


def push_outbox(ctx: NodeContext, store: Store, client: HubClient, result: SyncResult) -> None:
    """Push pending envelopes in feed order; stop at the first the hub rejects."""
    batch_size = max(1, min(int(ctx.settings["PUSH_BATCH"]), MAX_PUSH_BATCH))
    while True:
        rows = next_push_batch(feed.outbox(store, batch_size), batch_size)
        if not rows:
            return
        answer = client.push([json.loads(r["envelope"]) for r in rows])
        by_id = {r.get("env_id"): r for r in answer.get("results") or [] if isinstance(r, dict)}
        stop = False
        now = ctx.now()
        with store.transaction():
            for row in rows:
                verdict = by_id.get(row["env_id"])
                if verdict is None:
                    stop = True
                    break
                status = verdict.get("status")
                result.pushed += 1
                if status in ("accepted", "duplicate"):
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
        if stop or len(rows) < batch_size:
            return


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
