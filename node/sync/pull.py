"""The pull half of a sync round: what the hub holds for this office, applied here.

:func:`check_highwater` records how far the hub has seen this office go, and replays the
missing envelopes when this database is behind (a restored copy). :func:`refresh_directory`
accepts the hub's directory when it is newer. :func:`pull_mailbox` pulls the mailbox until
``more`` is false: the answer's checkpoint must be the hub's, for this office and not
expired; every envelope is verified before anything is written, and applying a batch AND
advancing the cursor past it happen in one SQLite transaction, so a crash leaves both done
or neither (the batches of a catch-up share transactions, :class:`_Group`). An envelope
that fails verification is never skipped: the directory is refreshed once and it is
verified again, and what still fails is held (:mod:`node.sync.held`) in the transaction
that advances the cursor, then tried again at every sync after a directory refresh
(:func:`retry_held`, before the pull). A withdrawal or receipt about a held letter is held
until the letter is applied. A cursor the hub no longer knows restarts the pull from the
beginning, once. While one batch is written, the next ones are asked for on a second
thread (:mod:`node.sync.ahead`) and verified with the directory of that moment (verified
again here if it changed), in a worker process when the machine has a core to spare (ADR
0027), else on that thread; the hub thus sees a batch's cursor before it commits here,
which only its backlog figures read, and a batch that does not commit is pulled again from
the cursor kept here.

Does not: push (:mod:`node.sync.push`), move attachment bytes
(:mod:`node.sync.attachments`), or decide what a letter, receipt or lease changes
(:mod:`node.records.inbox`, :mod:`node.records.leases`).
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import Any

from node.context import NodeContext
from node.records import deliveries, inbox
from node.records.directory import (
    accept_and_store,
    keys_from_list,
    load_trusted,
    pinned_entries,
    pinned_keys,
)
from node.records.leases import apply_lease
from node.records.registers import shared_pairs
from node.storage import highwater
from node.storage.feed import parse_iso
from node.storage.store import Store
from node.sync import held
from node.sync.ahead import Ahead, Pulled, verify_wire
from node.sync.clock import skew_against
from node.sync.hubclient import HubClient, HubHTTPError
from node.sync.rebase import reconcile_with_hub, settle_lost_tail
from node.sync.state import SyncResult, remember_watch, sync_state
from node.sync.verify import verify_hub_envelope
from protocol.api import MAX_PULL_BATCH
from protocol.crashpoints import crash_point
from protocol.envelope import Envelope
from protocol.errors import RemoteDataError
from protocol.hub_messages import Checkpoint, Lease
from protocol.messages import Deliveries, Letter, Receipt, Withdraw

CLOCK_SKEW_SECONDS = 300
PULL_CACHE_KIB = 8 * 1024
"""SQLite page cache while pulling: a week's catch-up writes 100,000 letters into indexes
keyed by hash, whose pages a 2 MB cache keeps reading back (peak RSS +8 MB at most). Since
the search index is written after the letters (ADR 0019), 8 MB does what 16 MB did:
100,000 letters in 63.7 s at 144.9 MB peak, against 71.8 s at 150.5 MB."""
PULL_GROUP_LETTERS = 2000
"""Envelopes one write transaction of the pull holds at most (:class:`_Group`)."""
PULL_GROUP_SECONDS = 1.0
"""How long one write transaction of the pull stays open at most (:class:`_Group`), its
last batch's writing aside: a clerk's own write waits no longer than this and one batch
(a quarter of a second for 250 letters on the slower machine of docs/performance.md), well
within the busy timeout, however small the batches the hub answers."""
PULL_GROUP_WAIT_SECONDS = 0.5
"""How long the group's transaction stays open for the next answer asked for ahead, within
:data:`PULL_GROUP_SECONDS`; when it has not come by then, what the group holds is
committed before the wait goes on."""
SWITCH_INTERVAL_SECONDS = 0.001
"""How long a thread of the serving node may keep the interpreter lock while another
waits for it (``sys.setswitchinterval``; Python's default is 5 ms). The pull's writer gives
the lock up for every SQLite statement and then waits for it while the pull's other
thread reads the worker's answers: at 1 ms a catch-up of 20,000 letters took 13.1 s
instead of 14.2 s (means of six pairs on the slower machine of docs/performance.md)."""


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


def _apply(
    ctx: NodeContext,
    store: Store,
    env: Envelope,
    env_id: str,
    msg: Any,
    now: float,
    known: inbox.Known | None = None,
    columns: dict[str, Any] | None = None,
) -> str:
    if isinstance(msg, Letter):
        return inbox.apply_incoming_letter(ctx, store, env_id, msg, now, known, columns)
    if isinstance(msg, Receipt):
        return inbox.apply_receipt(ctx, store, msg, now)
    if isinstance(msg, Deliveries):
        return inbox.apply_deliveries(ctx, store, msg, now)
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
        return "applied" if before is None or before.env_id != env_id else "duplicate"
    return "stored"


def _waits_for(store: Store, msg: Any) -> str | None:
    """The held letter a verified withdrawal, receipt or final-number notice is about, if
    it is held: applied after the letter, never before it."""
    if isinstance(msg, Deliveries):
        return next((letter for letter in msg.letters if held.is_held(store, letter)), None)
    letter = msg.letter if isinstance(msg, Withdraw | Receipt | Lease) else None
    return letter if held.is_held(store, letter) else None


class _Applied:
    """What the database holds about one pulled batch's envelopes, what applying it has
    put in the mailbox so far, and whether anything is held here."""

    def __init__(self, store: Store, env_ids: list[str]) -> None:
        self.known = _in_mailbox(store, env_ids)
        self.any_held = held.any_held(store)
        self.letters = inbox.Known.of(store, env_ids)


def _in_mailbox(store: Store, env_ids: list[str]) -> set[str]:
    return {r[0] for r in store.rows_in("SELECT env_id FROM mailbox WHERE env_id", env_ids)}


def _store_verified(
    ctx: NodeContext,
    store: Store,
    env: Envelope,
    msg: Any,
    now: float,
    result: SyncResult,
    applied: _Applied,
    columns: dict[str, Any] | None = None,
) -> None:
    """Apply a verified envelope once and keep it in the mailbox (inside a transaction);
    a copy of it held earlier (bytes damaged on the way, say) is held no more. ``columns``
    are a letter's row columns when the pull's worker worked them out."""
    env_id = env.env_id
    if applied.any_held:
        held.release(store, env_id)
    if env_id in applied.known:
        return
    origin = getattr(msg, "origin", "hub") if env.kind != "lease" else "hub"
    if origin == ctx.office:
        return
    outcome = _apply(ctx, store, env, env_id, msg, now, applied.letters, columns)
    applied.known.add(env_id)
    store.insert(
        "mailbox",
        {
            "env_id": env_id,
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
    with store.transaction(), deliveries.answering_together(ctx, store, now):
        rows = held.held_rows(store)
        applied = _Applied(store, [row["env_id"] for row in rows])
        for row in rows:
            if held.is_held(store, row["waits_for"]):
                held.tried_again(store, row["env_id"], row["reason"], now)
                continue
            item = verify_wire(held.wire_of(row), trusted, hub_keys)
            if item.env is None:
                held.tried_again(store, row["env_id"], str(item.error), now)
                continue
            _store_verified(ctx, store, item.env, item.msg, now, result, applied)
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
    refreshed = retry_held(ctx, store, client, result)
    ahead = Ahead(client, limit)
    group = _Group(ctx, store, result)
    try:
        with store.page_cache(PULL_CACHE_KIB):
            try:
                _pull_batches(ctx, store, client, result, ahead, refreshed, group)
            finally:
                # Whole batches only: a batch whose writing failed rolled its group back
                # itself, and what failed between batches (the hub's next answer, its
                # checkpoint) costs none of those before it.
                group.commit()
    finally:
        ahead.close()


def _pull_batches(
    ctx: NodeContext,
    store: Store,
    client: HubClient,
    result: SyncResult,
    ahead: Ahead,
    refreshed: bool,
    group: _Group,
) -> None:
    restarted = False
    while True:
        cursor = sync_state(store)["cursor"]
        if not ahead.ready(cursor, within=group.wait_left()):
            group.commit()  # the write lock is not held while the hub is waited for
        try:
            fetched = ahead.take(cursor)
        except HubHTTPError as e:
            if e.status == 400 and e.error == "bad_cursor" and not restarted:
                restarted = True
                group.commit()
                with store.transaction():
                    store.execute("UPDATE sync_state SET cursor = NULL WHERE id = 1")
                    store.log(ctx.now(), "bad_cursor", {"cursor": cursor})
                continue
            raise
        answer = fetched.answer
        cp = _check_checkpoint(ctx, store, answer)
        result.clock_skew = skew_against(cp.hub_time, ctx.now())
        trusted = load_trusted(store)
        if trusted is None or cp.directory_version > trusted.version:
            group.commit()
            ahead.settle()
            result.directory_version = refresh_directory(ctx, store, client)
            trusted = load_trusted(store)
        assert trusted is not None
        entries = pinned_entries(store)
        hub_keys = keys_from_list(entries)
        if fetched.verified(trusted, entries):
            pulled = fetched.pulled
        else:
            pulled = [
                verify_wire(wire, trusted, hub_keys) for wire in answer.get("envelopes") or []
            ]
        if not refreshed and any(p.error for p in pulled):
            # A sender that re-enrolled since our copy of the directory, most likely.
            refreshed = True
            group.commit()
            ahead.settle()
            result.directory_version = refresh_directory(ctx, store, client)
            trusted = load_trusted(store)
            assert trusted is not None
            pulled = [verify_wire(p.wire, trusted, hub_keys) if p.error else p for p in pulled]
        if answer.get("more"):
            ahead.start(answer.get("cursor"), trusted, entries)
        _apply_batch(ctx, store, answer, pulled, result, group)
        _count_held(store, result)
        accepted = store.scalar("SELECT COALESCE(MAX(seq), 0) FROM feed WHERE state = 'accepted'")
        if cp.last_seq > int(accepted):
            group.commit()
            ahead.settle()
            report = reconcile_with_hub(ctx, store, client)
            if report is not None:
                result.caught_up += report.replayed
                if report.fork_seq:
                    result.rebased = report.to_json()
        if not answer.get("more"):
            return
        if group.full():
            group.commit()


class _Group:
    """The write transaction the pulled batches are applied in. It is committed once it
    holds :data:`PULL_GROUP_LETTERS` envelopes or has been open :data:`PULL_GROUP_SECONDS`,
    when the next answer asked for ahead is not in within :data:`PULL_GROUP_WAIT_SECONDS`,
    before a directory refresh or a reconciliation with the hub, and when the pull ends or
    stops between batches. A catch-up commits several answers at a time, and each commit
    rewrites fewer of the index pages keyed by hash that its letters touch: the writer
    alone stored 100,000 letters at 221–224 µs of CPU a letter against 243–253 with a
    commit every batch of 500. A batch whose writing fails rolls back the whole group, and
    the round's counts with it; those batches are pulled again from the cursor kept here."""

    def __init__(self, ctx: NodeContext, store: Store, result: SyncResult) -> None:
        self.ctx = ctx
        self.store = store
        self.result = result
        self.held = 0
        self._open: ExitStack | None = None
        self._opened = 0.0
        self._counts: tuple[int, int, int, list[str]] = (0, 0, 0, [])

    def join(self, now: float) -> None:
        """Open the transaction if none is open."""
        if self._open is None:
            stack = ExitStack()
            with stack:
                stack.enter_context(self.ctx.signer_pinned())
                stack.enter_context(self.store.transaction())
                stack.enter_context(deliveries.answering_together(self.ctx, self.store, now))
                self._open = stack.pop_all()
            self._opened = time.monotonic()
            r = self.result
            self._counts = (r.pulled, r.applied, r.held, list(r.held_from))

    def full(self) -> bool:
        """Whether the group holds as many envelopes, or has been open as long, as it may."""
        return self.held >= PULL_GROUP_LETTERS or self.wait_left() <= 0

    def wait_left(self) -> float:
        """How long the open group may wait for the next answer (0 with none open)."""
        if self._open is None:
            return 0.0
        left = PULL_GROUP_SECONDS - (time.monotonic() - self._opened)
        return max(0.0, min(PULL_GROUP_WAIT_SECONDS, left))

    def commit(self) -> None:
        """Commit what the group holds (nothing when none is open)."""
        stack, self._open, self.held = self._open, None, 0
        if stack is not None:
            stack.close()

    def abandon(self, error: BaseException) -> None:
        """Roll back what the group holds, and the round's counts of it: ``error`` stopped
        the writing of a batch."""
        stack, self._open, self.held = self._open, None, 0
        if stack is not None:
            r = self.result
            r.pulled, r.applied, r.held, r.held_from = self._counts
            stack.__exit__(type(error), error, error.__traceback__)


def _apply_batch(
    ctx: NodeContext,
    store: Store,
    answer: dict[str, Any],
    pulled: list[Pulled],
    result: SyncResult,
    group: _Group,
) -> None:
    """Apply one pulled batch and advance the cursor past it, in the group's transaction."""
    now = ctx.now()
    group.join(now)
    try:
        applied = _Applied(store, [p.env.env_id for p in pulled if p.env is not None])
        for p in pulled:
            result.pulled += 1
            if p.env is None:
                held.hold(store, held.Unverified.from_wire(p.wire), str(p.error), now)
                store.log(now, "held", {"reason": p.error})
                applied.any_held = True
                continue
            waits = _waits_for(store, p.msg) if applied.any_held else None
            if waits is not None:
                item = held.Unverified.from_wire(p.wire)
                held.hold(store, item, f"waits_for: {waits[:12]}", now, waits_for=waits)
                continue
            _store_verified(ctx, store, p.env, p.msg, now, result, applied, p.columns)
            crash_point("node_pull_mid_batch")
        store.execute("UPDATE sync_state SET cursor = ? WHERE id = 1", (answer.get("cursor"),))
        remember_watch(store, answer)
    except BaseException as e:
        group.abandon(e)
        raise
    group.held += len(pulled)
