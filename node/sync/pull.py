"""The pull half of a sync round: what the hub holds for this office, applied here.

:func:`check_highwater` records how far the hub has seen this office go, and replays the
missing envelopes when this database is behind (a restored copy). :func:`refresh_directory`
accepts the hub's directory when it is newer. :func:`pull_mailbox` pulls the mailbox until
``more`` is false: the answer's checkpoint must be the hub's, for this office and not
expired; every envelope is verified before anything is written, and applying the batch AND
advancing the cursor happen in one SQLite transaction, so a crash leaves both done or
neither. An envelope that fails verification is quarantined (logged) and skipped; a
cursor the hub no longer knows restarts the pull from the beginning, once.

Does not: push (:mod:`node.sync.push`), move attachment bytes
(:mod:`node.sync.attachments`), or decide what a letter, receipt or lease changes
(:mod:`node.records.inbox`, :mod:`node.records.leases`).
"""

from __future__ import annotations

from typing import Any

from node.context import NodeContext
from node.records import inbox
from node.records.directory import accept_and_store, load_trusted, pinned_keys
from node.records.leases import apply_lease
from node.records.registers import shared_pairs
from node.storage import highwater
from node.storage.feed import parse_iso
from node.storage.store import Store
from node.sync.hubclient import HubClient, HubHTTPError
from node.sync.replay import catch_up
from node.sync.state import SyncResult, sync_state
from node.sync.verify import verify_any, verify_hub_envelope
from protocol.api import MAX_PULL_BATCH
from protocol.envelope import Envelope
from protocol.errors import RemoteDataError, SarabanError
from protocol.hub_messages import Checkpoint, Lease
from protocol.messages import Letter, Receipt, Withdraw

CLOCK_SKEW_SECONDS = 300


def refresh_directory(ctx: NodeContext, store: Store, client: HubClient) -> int:
    """Fetch the hub's directory and accept it if newer; return the version held."""
    answer = client.directory()
    env = Envelope.from_wire(answer.get("directory"))
    with store.transaction():
        trusted = load_trusted(store)
        if trusted is None or env.env_id != trusted.env_id:
            trusted = accept_and_store(store, env, ctx.now(), instance=ctx.instance)
        store.execute("UPDATE sync_state SET directory_wanted = 0 WHERE id = 1")
    return trusted.version


def check_highwater(ctx: NodeContext, store: Store, client: HubClient, result: SyncResult) -> None:
    """Record the hub's marks; when this database is behind, replay the missing envelopes."""
    answer = client.highwater()
    with store.transaction():
        highwater.record_hub_highwater(store, answer, ctx.office, shared_pairs(load_trusted(store)))
    if highwater.behind(store):
        result.caught_up += catch_up(ctx, store, client)


def _check_checkpoint(ctx: NodeContext, store: Store, answer: dict[str, Any]) -> Checkpoint:
    env = Envelope.from_wire(answer.get("checkpoint"))
    cp = verify_hub_envelope(env, pinned_keys(store))
    if not isinstance(cp, Checkpoint):
        raise RemoteDataError("pull answered without a checkpoint")
    if cp.office != ctx.office:
        raise RemoteDataError(f"checkpoint is for {cp.office!r}, not this office")
    if cp.cursor and answer.get("cursor") and cp.cursor != answer.get("cursor"):
        raise RemoteDataError("checkpoint names a different cursor than the answer")
    expires = parse_iso(cp.expires_at)
    if expires is not None and expires + CLOCK_SKEW_SECONDS < ctx.now():
        raise RemoteDataError("checkpoint has expired: a replayed or very delayed answer")
    return cp


def _apply(ctx: NodeContext, store: Store, env: Envelope, msg: Any, now: float) -> str:
    if isinstance(msg, Letter):
        return inbox.apply_incoming_letter(ctx, store, env.env_id, msg, now)
    if isinstance(msg, Receipt):
        return inbox.apply_receipt(ctx, store, msg, now)
    if isinstance(msg, Withdraw):
        return inbox.apply_withdraw(ctx, store, msg, now)
    if isinstance(msg, Lease):
        return apply_lease(ctx, store, env, msg, now)
    if env.kind == "directory":
        held = load_trusted(store)
        try:
            accept_and_store(store, env, now, instance=ctx.instance)
        except RemoteDataError as e:
            return f"ignored: {e.code}"
        return "applied" if held is None or held.env_id != env.env_id else "duplicate"
    return "stored"


def pull_mailbox(ctx: NodeContext, store: Store, client: HubClient, result: SyncResult) -> None:
    """Pull and apply the mailbox until the hub says there is no more."""
    limit = max(1, min(int(ctx.settings["PULL_BATCH"]), MAX_PULL_BATCH))
    restarted = False
    while True:
        cursor = sync_state(store)["cursor"]
        try:
            answer = client.pull(cursor, limit)
        except HubHTTPError as e:
            if e.status == 400 and e.error == "bad_cursor" and not restarted:
                restarted = True
                with store.transaction():
                    store.execute("UPDATE sync_state SET cursor = NULL WHERE id = 1")
                    store.log(ctx.now(), "bad_cursor", {"cursor": cursor})
                continue
            raise
        cp = _check_checkpoint(ctx, store, answer)
        trusted = load_trusted(store)
        if trusted is None or cp.directory_version > trusted.version:
            result.directory_version = refresh_directory(ctx, store, client)
            trusted = load_trusted(store)
        assert trusted is not None
        hub_keys = pinned_keys(store)
        verified: list[tuple[Envelope, Any]] = []
        bad: list[dict[str, Any]] = []
        for wire in answer.get("envelopes") or []:
            try:
                verified.append(verify_any(wire, trusted, hub_keys))
            except SarabanError as e:
                bad.append({"reason": f"{e.code}: {e}"})
        now = ctx.now()
        with store.transaction():
            for env, msg in verified:
                result.pulled += 1
                if store.scalar("SELECT 1 FROM mailbox WHERE env_id = ?", (env.env_id,)):
                    continue
                origin = getattr(msg, "origin", "hub") if env.kind != "lease" else "hub"
                if origin == ctx.office:
                    continue
                outcome = _apply(ctx, store, env, msg, now)
                store.insert(
                    "mailbox",
                    {
                        "env_id": env.env_id,
                        "origin": origin,
                        "kind": env.kind,
                        "envelope": env.to_bytes(),
                        "received_at": now,
                        "outcome": outcome,
                    },
                )
                result.applied += 1
            for q in bad:
                store.log(now, "quarantined", q)
            store.execute("UPDATE sync_state SET cursor = ? WHERE id = 1", (answer.get("cursor"),))
        result.quarantined.extend(bad)
        if cp.last_seq > int(store.scalar("SELECT COALESCE(MAX(seq), 0) FROM feed")):
            result.caught_up += catch_up(ctx, store, client)
        if not answer.get("more"):
            return
