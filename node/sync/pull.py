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
that advances the cursor, then tried again at every sync after a directory
refresh (:func:`retry_held`, before the pull). A withdrawal or receipt about a held letter
is held until the letter is applied. A cursor the hub no longer knows restarts the pull
from the beginning, once. While one batch is written, the next is asked for on a second thread
and verified with the directory of that moment (verified again here if it changed), in a
worker process when the machine has a core to spare (ADR 0027), else on that thread;
the hub thus sees a batch's cursor before it commits here, which only its backlog figures
read, and a batch that does not commit is pulled again from the cursor kept here.

Does not: push (:mod:`node.sync.push`), move attachment bytes
(:mod:`node.sync.attachments`), or decide what a letter, receipt or lease changes
(:mod:`node.records.inbox`, :mod:`node.records.leases`).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass
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
from node.sync.clock import skew_against
from node.sync.hubclient import HubClient, HubHTTPError
from node.sync.rebase import reconcile_with_hub, settle_lost_tail
from node.sync.state import SyncResult, remember_watch, sync_state
from node.sync.verify import (
    PULL_POOL,
    PULL_POOL_MIN_BATCH,
    verify_each,
    verify_hub_envelope,
    verify_pulled,
)
from protocol.api import MAX_PULL_BATCH
from protocol.crashpoints import crash_point
from protocol.directory import TrustedDirectory
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
"""Envelopes one write transaction of the pull holds at most (:class:`_Group`): four full
pulls. A clerk's own write waits for it at most as long as it takes to store them (about
half a second on the slower machine of docs/performance.md), well within the busy timeout."""
PULL_GROUP_WAIT_SECONDS = 0.5
"""How long the group's transaction stays open for the next answer asked for ahead
(:class:`_Group`); when it has not come by then, what the group holds is committed before
the wait goes on."""
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


@dataclass
class _Pulled:
    """One envelope of a pull answer: verified (``env``, ``msg``) or not (``error``)."""

    wire: Any
    env: Envelope | None = None
    msg: Any = None
    error: str | None = None
    columns: dict[str, Any] | None = None
    """A letter's row columns, when the pull's worker worked them out."""


def _verify(wire: Any, trusted: TrustedDirectory, hub_keys: dict[str, Any]) -> _Pulled:
    return _Pulled(wire, *verify_each([wire], trusted, hub_keys)[0])


def _waits_for(store: Store, msg: Any) -> str | None:
    """The held letter a verified withdrawal, receipt or final-number notice is about, if
    it is held: applied after the letter, never before it."""
    if isinstance(msg, Deliveries):
        return next((letter for letter in msg.letters if held.is_held(store, letter)), None)
    letter = msg.letter if isinstance(msg, Withdraw | Receipt | Lease) else None
    return letter if held.is_held(store, letter) else None


class _Applied:
    """What one transaction of the pull has put in the mailbox so far, and whether
    anything is held here."""

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
            item = _verify(held.wire_of(row), trusted, hub_keys)
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


@dataclass
class _Answer:
    """One pull answer and its envelopes verified against ``trusted`` and ``hub_keys``."""

    answer: dict[str, Any]
    pulled: list[_Pulled]
    trusted: TrustedDirectory | None
    hub_keys: list[dict[str, Any]]

    def verified(self, trusted: TrustedDirectory, hub_keys: list[dict[str, Any]]) -> bool:
        """Whether the envelopes were verified against this same trust."""
        return self.trusted is trusted and self.hub_keys == hub_keys


def _fetch(
    client: HubClient,
    cursor: str | None,
    limit: int,
    trusted: TrustedDirectory | None = None,
    hub_keys: list[dict[str, Any]] | None = None,
) -> _Answer:
    answer = client.pull(cursor, limit)
    if trusted is None or hub_keys is None:
        return _Answer(answer, [], None, [])
    wires = answer.get("envelopes") or []
    if len(wires) >= PULL_POOL_MIN_BATCH:
        args = (trusted.directory, trusted.env_id, hub_keys)
        verdicts = PULL_POOL.map_runs(verify_pulled, args, wires)
    else:
        verified = verify_each(wires, trusted, keys_from_list(hub_keys))
        verdicts = [(env, msg, error, None) for env, msg, error in verified]
    pulled = [
        _Pulled(wire, env if env is None else env.decoded_from(wire), msg, error, columns)
        for wire, (env, msg, error, columns) in zip(wires, verdicts, strict=True)
    ]
    return _Answer(answer, pulled, trusted, hub_keys)


class _Ahead:
    """The next pull, asked for and verified on a second thread while this batch is
    written, so that the hub's answer and the signatures do not wait for SQLite. The
    thread starts with the first batch that says ``more`` and touches no database; the
    client is never used by both threads at once."""

    def __init__(self, client: HubClient, limit: int) -> None:
        self.client = client
        self.limit = limit
        self.pool: ThreadPoolExecutor | None = None
        self.job: tuple[str | None, Future[_Answer]] | None = None

    def start(
        self, cursor: str | None, trusted: TrustedDirectory, hub_keys: list[dict[str, Any]]
    ) -> None:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="saraban-pull")
        future = self.pool.submit(_fetch, self.client, cursor, self.limit, trusted, hub_keys)
        self.job = (cursor, future)

    def take(self, cursor: str | None) -> _Answer:
        """The answer after ``cursor``: the one fetched ahead if it was for that cursor
        (raising what its request raised), else asked for now."""
        job, self.job = self.job, None
        if job is not None:
            wanted, future = job
            wait([future])
            if wanted == cursor:
                return future.result()
        return _fetch(self.client, cursor, self.limit)

    def ready(self, cursor: str | None, within: float) -> bool:
        """Whether the answer after ``cursor`` was asked for ahead and is in, or comes
        within ``within`` seconds; False when it was not asked for (:meth:`take` asks
        for it on this thread)."""
        if self.job is None or self.job[0] != cursor:
            return False
        return not wait([self.job[1]], timeout=within).not_done

    def settle(self) -> None:
        """Wait until the request ahead is done, before the client is used for another."""
        if self.job is not None:
            wait([self.job[1]])

    def close(self) -> None:
        self.settle()
        if self.pool is not None:
            self.pool.shutdown(wait=True)


def pull_mailbox(ctx: NodeContext, store: Store, client: HubClient, result: SyncResult) -> None:
    """Pull and apply the mailbox until the hub says there is no more; what does not
    verify is held, never skipped."""
    limit = max(1, min(int(ctx.settings["PULL_BATCH"]), MAX_PULL_BATCH))
    refreshed = retry_held(ctx, store, client, result)
    ahead = _Ahead(client, limit)
    try:
        with store.page_cache(PULL_CACHE_KIB):
            _pull_batches(ctx, store, client, result, ahead, refreshed)
    finally:
        ahead.close()


def _pull_batches(
    ctx: NodeContext,
    store: Store,
    client: HubClient,
    result: SyncResult,
    ahead: _Ahead,
    refreshed: bool,
) -> None:
    group = _Group(ctx, store)
    try:
        _pull_into(ctx, store, client, result, ahead, refreshed, group)
    except BaseException as e:
        group.abandon(e)
        raise
    group.commit()


def _pull_into(
    ctx: NodeContext,
    store: Store,
    client: HubClient,
    result: SyncResult,
    ahead: _Ahead,
    refreshed: bool,
    group: _Group,
) -> None:
    restarted = False
    while True:
        cursor = sync_state(store)["cursor"]
        if not ahead.ready(cursor, within=PULL_GROUP_WAIT_SECONDS):
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
            result.directory_version = refresh_directory(ctx, store, client)
            trusted = load_trusted(store)
        assert trusted is not None
        entries = pinned_entries(store)
        hub_keys = keys_from_list(entries)
        if fetched.verified(trusted, entries):
            pulled = fetched.pulled
        else:
            pulled = [_verify(wire, trusted, hub_keys) for wire in answer.get("envelopes") or []]
        if not refreshed and any(p.error for p in pulled):
            # A sender that re-enrolled since our copy of the directory, most likely.
            refreshed = True
            group.commit()
            result.directory_version = refresh_directory(ctx, store, client)
            trusted = load_trusted(store)
            assert trusted is not None
            pulled = [_verify(p.wire, trusted, hub_keys) if p.error else p for p in pulled]
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
    holds :data:`PULL_GROUP_LETTERS` envelopes, when the next answer asked for ahead is not
    in within :data:`PULL_GROUP_WAIT_SECONDS`, and before a directory refresh, a
    reconciliation with the hub or the last answer's end. A catch-up thus commits about a
    quarter as often as it pulls, and each commit rewrites fewer of the index pages keyed
    by hash that its letters touch: the writer alone stored 100,000 letters at 221–224 µs
    of CPU a letter against 243–253 with a commit every batch. A failure rolls back the
    whole group; its batches are pulled again from the cursor kept here."""

    def __init__(self, ctx: NodeContext, store: Store) -> None:
        self.ctx = ctx
        self.store = store
        self.held = 0
        self._open: ExitStack | None = None

    def join(self, now: float) -> None:
        """Open the transaction if none is open."""
        if self._open is None:
            stack = ExitStack()
            with stack:
                stack.enter_context(self.ctx.signer_pinned())
                stack.enter_context(self.store.transaction())
                stack.enter_context(deliveries.answering_together(self.ctx, self.store, now))
                self._open = stack.pop_all()

    def full(self) -> bool:
        return self.held >= PULL_GROUP_LETTERS

    def commit(self) -> None:
        """Commit what the group holds (nothing when none is open)."""
        stack, self._open, self.held = self._open, None, 0
        if stack is not None:
            stack.close()

    def abandon(self, error: BaseException) -> None:
        """Roll back what the group holds: ``error`` stopped the pull."""
        stack, self._open, self.held = self._open, None, 0
        if stack is not None:
            stack.__exit__(type(error), error, error.__traceback__)


def _apply_batch(
    ctx: NodeContext,
    store: Store,
    answer: dict[str, Any],
    pulled: list[_Pulled],
    result: SyncResult,
    group: _Group,
) -> None:
    """Apply one pulled batch and advance the cursor past it, in the group's transaction."""
    now = ctx.now()
    group.join(now)
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
    group.held += len(pulled)
