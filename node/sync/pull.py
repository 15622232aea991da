"""The pull half of a sync round: what the hub holds for this office, applied here.

:func:`check_highwater` records how far the hub has seen this office go, and replays the
missing envelopes when this database is behind (a restored copy). :func:`refresh_directory`
accepts the hub's directory when it is newer. :func:`pull_mailbox` pulls the mailbox until
``more`` is false: the answer's checkpoint must be the hub's, for this office and not
expired; every envelope is verified before anything is written, and applying the batch AND
advancing the cursor happen in one SQLite transaction, so a crash leaves both done or
neither. An envelope that fails verification is never skipped: the directory is refreshed
once and it is verified again, and what still fails is held (:mod:`node.sync.held`) in the
transaction that advances the cursor, then tried again at every sync after a directory
refresh (:func:`retry_held`, before the pull). A withdrawal or receipt about a held letter
is held until the letter is applied. A cursor the hub no longer knows restarts the pull
from the beginning, once.

Does not: push (:mod:`node.sync.push`), move attachment bytes
(:mod:`node.sync.attachments`), or decide what a letter, receipt or lease changes
(:mod:`node.records.inbox`, :mod:`node.records.leases`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.context import NodeContext
from node.records import inbox
from node.records.directory import accept_and_store, load_trusted, pinned_keys
from node.records.leases import apply_lease
from node.records.registers import shared_pairs
from node.storage import highwater
from node.storage.feed import parse_iso
from node.storage.store import Store
from node.sync import held
from node.sync.clock import skew_against
from node.sync.hubclient import HubClient, HubHTTPError
from node.sync.rebase import reconcile_with_hub, settle_lost_tail
from node.sync.state import SyncResult, remember_watch, sync_state
from node.sync.verify import verify_any, verify_hub_envelope
from protocol.api import MAX_PULL_BATCH
from protocol.crashpoints import crash_point
from protocol.directory import TrustedDirectory
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
    """Record the hub's marks and make this office's feed agree with what the hub published.

    When the hub holds envelopes of this office beyond what the node knows it accepted, the
    node catches up, or rebases when its own envelopes at those seqs differ (it was started
    from an old copy: :mod:`node.sync.rebase`). When the hub holds less than it once
    accepted (it was restored from an older backup), the missing envelopes go out again.
    What the sidecar remembers beyond both was issued by a copy that is gone, and is
    settled (:func:`node.sync.rebase.settle_lost_tail`).
    """
    answer = client.highwater()
    with store.transaction():
        highwater.record_hub_highwater(store, answer, ctx.office, shared_pairs(load_trusted(store)))
    hub_seq = int((answer.get("feed") or {}).get("seq") or 0)
    accepted = int(store.scalar("SELECT COALESCE(MAX(seq), 0) FROM feed WHERE state = 'accepted'"))
    if hub_seq < accepted:
        # The hub forgot what it once accepted (it was restored from an older backup):
        # send it again, so its feed, ledger and mailboxes heal from the offices.
        with store.transaction():
            store.execute(
                "UPDATE feed SET state = 'pending', acked_at = NULL "
                "WHERE seq > ? AND state = 'accepted'",
                (hub_seq,),
            )
            store.log(ctx.now(), "hub_behind", {"hub_seq": hub_seq, "accepted": accepted})
    elif hub_seq > accepted:
        report = reconcile_with_hub(ctx, store, client)
        if report is not None:
            result.caught_up += report.replayed
            if report.fork_seq:
                result.rebased = report.to_json()
    if highwater.behind(store):
        result.lost_voided += settle_lost_tail(ctx, store)


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
        before = load_trusted(store)
        try:
            accept_and_store(store, env, now, instance=ctx.instance)
        except RemoteDataError as e:
            return f"ignored: {e.code}"
        return "applied" if before is None or before.env_id != env.env_id else "duplicate"
    return "stored"


@dataclass
class _Pulled:
    """One envelope of a pull answer: verified (``env``, ``msg``) or not (``error``)."""

    wire: Any
    env: Envelope | None = None
    msg: Any = None
    error: str | None = None


def _verify(wire: Any, trusted: TrustedDirectory, hub_keys: dict[str, Any]) -> _Pulled:
    try:
        env, msg = verify_any(wire, trusted, hub_keys)
    except SarabanError as e:
        return _Pulled(wire, error=f"{e.code}: {e}")
    return _Pulled(wire, env, msg)


def _waits_for(store: Store, msg: Any) -> str | None:
    """The held letter a verified withdrawal or receipt is about, if it is held."""
    letter = msg.letter if isinstance(msg, Withdraw | Receipt) else None
    return letter if held.is_held(store, letter) else None


def _store_verified(
    ctx: NodeContext, store: Store, env: Envelope, msg: Any, now: float, result: SyncResult
) -> None:
    """Apply a verified envelope once and keep it in the mailbox (inside a transaction);
    a copy of it held earlier (bytes damaged on the way, say) is held no more."""
    held.release(store, env.env_id)
    if store.scalar("SELECT 1 FROM mailbox WHERE env_id = ?", (env.env_id,)):
        return
    origin = getattr(msg, "origin", "hub") if env.kind != "lease" else "hub"
    if origin == ctx.office:
        return
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


def retry_held(ctx: NodeContext, store: Store, client: HubClient, result: SyncResult) -> bool:
    """Refresh the directory and try every held envelope again, oldest first; apply the
    ones that verify. Returns whether the directory was fetched."""
    if not held.held_rows(store):
        return False
    result.directory_version = refresh_directory(ctx, store, client)
    trusted = load_trusted(store)
    assert trusted is not None
    hub_keys = pinned_keys(store)
    now = ctx.now()
    with store.transaction():
        for row in held.held_rows(store):
            if held.is_held(store, row["waits_for"]):
                held.tried_again(store, row["env_id"], row["reason"], now)
                continue
            item = _verify(held.wire_of(row), trusted, hub_keys)
            if item.env is None:
                held.tried_again(store, row["env_id"], str(item.error), now)
                continue
            _store_verified(ctx, store, item.env, item.msg, now, result)
            result.released += 1
    return True


def _count_held(store: Store, result: SyncResult) -> None:
    status = held.held_status(store)
    result.held = status["count"]
    result.held_from = [s["origin"] or "?" for s in status["senders"]]


def pull_mailbox(ctx: NodeContext, store: Store, client: HubClient, result: SyncResult) -> None:
    """Pull and apply the mailbox until the hub says there is no more; what does not
    verify is held, never skipped."""
    limit = max(1, min(int(ctx.settings["PULL_BATCH"]), MAX_PULL_BATCH))
    restarted = False
    refreshed = retry_held(ctx, store, client, result)
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
        result.clock_skew = skew_against(cp.hub_time, ctx.now())
        trusted = load_trusted(store)
        if trusted is None or cp.directory_version > trusted.version:
            result.directory_version = refresh_directory(ctx, store, client)
            trusted = load_trusted(store)
        assert trusted is not None
        hub_keys = pinned_keys(store)
        pulled = [_verify(wire, trusted, hub_keys) for wire in answer.get("envelopes") or []]
        if not refreshed and any(p.error for p in pulled):
            # A sender that re-enrolled since our copy of the directory, most likely.
            refreshed = True
            result.directory_version = refresh_directory(ctx, store, client)
            trusted = load_trusted(store)
            assert trusted is not None
            pulled = [_verify(p.wire, trusted, hub_keys) if p.error else p for p in pulled]
        now = ctx.now()
        with store.transaction():
            for p in pulled:
                result.pulled += 1
                if p.env is None:
                    held.hold(store, held.Unverified.from_wire(p.wire), str(p.error), now)
                    store.log(now, "held", {"reason": p.error})
                    continue
                waits = _waits_for(store, p.msg)
                if waits is not None:
                    item = held.Unverified.from_wire(p.wire)
                    held.hold(store, item, f"waits_for: {waits[:12]}", now, waits_for=waits)
                    continue
                _store_verified(ctx, store, p.env, p.msg, now, result)
                crash_point("node_pull_mid_batch")
            store.execute("UPDATE sync_state SET cursor = ? WHERE id = 1", (answer.get("cursor"),))
            remember_watch(store, answer)
        _count_held(store, result)
        accepted = store.scalar("SELECT COALESCE(MAX(seq), 0) FROM feed WHERE state = 'accepted'")
        if cp.last_seq > int(accepted):
            report = reconcile_with_hub(ctx, store, client)
            if report is not None:
                result.caught_up += report.replayed
                if report.fork_seq:
                    result.rebased = report.to_json()
        if not answer.get("more"):
            return
