"""The sync worker: one round trip with the hub, and the node's view of its own health.

:func:`sync_once` does, in order: check the hub's high-water marks (and catch up from the
hub if this database is behind them); refresh the directory when the hub has a newer one;
upload the attachments of outgoing letters (resumable: ``HEAD`` then ``PUT`` from the
received offset); push the outbox in batches; ask for leases of shared registers running
low; pull the mailbox until ``more`` is false, verifying every envelope and applying it AND
advancing the cursor in one SQLite transaction; download attachments of received letters
(resumable, SHA-256 checked); report a heartbeat.

A failure records exponential back-off with jitter (honouring Retry-After) in
``sync_state``; the node keeps working offline, and :func:`node_status` says so.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from node.context import SOFTWARE, NodeContext
from node.errors import NodeError
from node.records import attachment_text, inbox, registers
from node.records.directory import accept_and_store, load_trusted, pinned_keys
from node.records.letters import mark_sent, stats
from node.storage import blobs, feed, highwater
from node.storage.feed import parse_iso
from node.storage.store import Store
from node.sync.hubclient import HubClient, HubHTTPError, hub_client
from node.sync.replay import catch_up
from node.sync.verify import verify_any, verify_hub_envelope
from protocol import PROTOCOL_VERSION
from protocol.api import MAX_PULL_BATCH, MAX_PUSH_BATCH
from protocol.envelope import Envelope
from protocol.errors import HTTPStatusError, RemoteDataError, SarabanError, TransportError
from protocol.messages import Checkpoint, Lease, Letter, Receipt, Withdraw
from protocol.sync import backoff_delay, next_push_batch

CLOCK_SKEW_SECONDS = 300
log = logging.getLogger(__name__)
_SYNC_LOCK = threading.RLock()


@dataclass
class SyncResult:
    """What one sync did; ``ok`` is False when it stopped on an error."""

    ok: bool = False
    online: bool = False
    started_at: float = 0.0
    finished_at: float = 0.0
    caught_up: int = 0
    directory_version: int | None = None
    uploaded: list[str] = field(default_factory=list)
    pushed: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    leases: list[str] = field(default_factory=list)
    pulled: int = 0
    applied: int = 0
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    error: str | None = None
    error_code: str | None = None
    next_attempt: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as JSON for the local API and the CLI."""
        return asdict(self)


def _state(store: Store) -> dict[str, Any]:
    row = store.one("SELECT * FROM sync_state WHERE id = 1")
    assert row is not None
    return row


# -- steps ------------------------------------------------------------------------------


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
        highwater.record_hub_highwater(
            store, answer, ctx.office, registers.shared_pairs(load_trusted(store))
        )
    if highwater.behind(store):
        result.caught_up += catch_up(ctx, store, client)


def upload_blob(ctx: NodeContext, client: HubClient, sha256: str, size: int) -> None:
    """Upload one blob from where the hub's copy stops."""
    complete, offset = client.blob_status(sha256)
    chunk_size = max(1, int(ctx.settings["CHUNK_BYTES"]))
    while not complete:
        chunk = blobs.read_range(ctx.blob_dir(), sha256, offset, chunk_size)
        try:
            answer = client.put_blob_chunk(sha256, offset, size, chunk)
        except HubHTTPError as e:
            if e.status == 409 and isinstance(e.body.get("received"), int):
                offset = int(e.body["received"])
                continue
            raise
        offset = int(answer.get("received", offset + len(chunk)))
        complete = bool(answer.get("complete"))
        if not complete and not chunk:
            raise TransportError(f"hub did not complete blob {sha256[:12]} at {offset}/{size}")


def upload_attachments(
    ctx: NodeContext, store: Store, client: HubClient, result: SyncResult
) -> None:
    """Upload every outgoing attachment the hub does not hold yet."""
    for att in store.query(
        "SELECT sha256, size FROM attachments WHERE direction = 'out' AND uploaded = 0 "
        "AND present = 1"
    ):
        upload_blob(ctx, client, att["sha256"], int(att["size"]))
        with store.transaction():
            store.execute("UPDATE attachments SET uploaded = 1 WHERE sha256 = ?", (att["sha256"],))
        result.uploaded.append(att["sha256"])


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
    for reg_id in registers.lease_needs(ctx, store, ctx.now()):
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
                outcome = registers.apply_lease(ctx, store, env, lease, now)
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
        return registers.apply_lease(ctx, store, env, msg, now)
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
        cursor = _state(store)["cursor"]
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


def download_attachments(
    ctx: NodeContext, store: Store, client: HubClient, result: SyncResult
) -> None:
    """Download received attachments not on disk yet, resuming partial downloads."""
    root = ctx.blob_dir()
    for att in store.query(
        "SELECT sha256, size FROM attachments WHERE direction = 'in' AND present = 0"
    ):
        sha = att["sha256"]
        if blobs.has_blob(root, sha):
            ok = True
        else:
            part = blobs.partial_path(root, sha)
            part.parent.mkdir(parents=True, exist_ok=True)
            start = part.stat().st_size if part.exists() else 0
            if start < int(att["size"]):
                try:
                    with part.open("ab") as sink:
                        client.download_blob(sha, start, sink)
                except HubHTTPError as e:
                    with store.transaction():
                        store.log(ctx.now(), "download_failed", {"sha256": sha, "reason": e.reason})
                    continue
            ok = blobs.complete_partial(root, sha)
        with store.transaction():
            if ok:
                store.execute("UPDATE attachments SET present = 1 WHERE sha256 = ?", (sha,))
            else:
                store.log(ctx.now(), "blob_hash_mismatch", {"sha256": sha})
        if ok:
            result.downloaded.append(sha)
            attachment_text.index_blob(ctx, store, sha)  # search: text of a received PDF


def send_heartbeat(
    ctx: NodeContext, store: Store, client: HubClient, failed: SyncResult | None = None
) -> None:
    """Tell the hub how this node is doing: after a good round, or after one that failed
    while the hub was answering (``failed``), so the console sees why, e.g. a directory
    this node refused as a rollback."""
    state = _state(store)
    held = load_trusted(store)
    report: dict[str, Any] = {
        "outbox": feed.outbox_count(store),
        "last_sync_ok": failed is None,
        "last_error": state["last_error"] if failed is None else failed.error,
        "clock": int(ctx.now()),
        "software": f"{SOFTWARE} protocol/{PROTOCOL_VERSION}",
        "provisional_pending": registers.provisional_pending(store),
        "directory_version": None if held is None else held.version,
    }
    if failed is not None:
        report["last_error_code"] = failed.error_code
    client.heartbeat(report)


# -- the round --------------------------------------------------------------------------


def sync_once(
    ctx: NodeContext,
    client: HubClient | None = None,
    rng: random.Random | None = None,
) -> SyncResult:
    """One full sync with the hub. Never raises for hub or network trouble: see ``error``.

    Syncs of one process run one at a time (the scheduler and ``POST /api/sync`` may
    overlap); another process syncing the same database is harmless, only wasted work,
    as everything applied is idempotent and writers serialise on the database.
    """
    with _SYNC_LOCK:
        return _sync_once(ctx, client, rng)


def _sync_once(ctx: NodeContext, client: HubClient | None, rng: random.Random | None) -> SyncResult:
    result = SyncResult(started_at=ctx.now())
    ctx.startup_checked = True
    own_client = client is None
    hub = client or hub_client(ctx)
    store = ctx.open_store()
    try:
        try:
            check_highwater(ctx, store, hub, result)
            result.online = True
            if load_trusted(store) is None or _state(store)["directory_wanted"]:
                result.directory_version = refresh_directory(ctx, store, hub)
            upload_attachments(ctx, store, hub, result)
            push_outbox(ctx, store, hub, result)
            request_leases(ctx, store, hub, result)
            if highwater.behind(store):
                highwater.check_not_behind(store)
            pull_mailbox(ctx, store, hub, result)
            download_attachments(ctx, store, hub, result)
            send_heartbeat(ctx, store, hub)
        except (SarabanError, NodeError) as e:
            _record_failure(ctx, store, result, e, rng)
            if result.online:
                _report_failure(ctx, store, hub, result)
        else:
            if result.rejected:
                result.error = f"hub rejected seq {result.rejected[0]['seq']}: " + str(
                    result.rejected[0]["reason"]
                )
                result.error_code = "push_rejected"
            result.ok = not result.rejected
            _record_success(ctx, store, result)
    finally:
        store.close()
        if own_client:
            hub.close()
    return result


def _report_failure(ctx: NodeContext, store: Store, hub: HubClient, result: SyncResult) -> None:
    # Best effort: the round already failed and says why; a heartbeat the hub refuses too
    # changes nothing here.
    try:
        send_heartbeat(ctx, store, hub, failed=result)
    except (SarabanError, NodeError) as e:
        log.info("heartbeat after a failed sync not sent: %s", e)


def _record_failure(
    ctx: NodeContext,
    store: Store,
    result: SyncResult,
    error: Exception,
    rng: random.Random | None,
) -> None:
    now = ctx.now()
    result.online = result.online and not isinstance(error, TransportError)
    retry_after = error.retry_after if isinstance(error, HTTPStatusError) else None
    result.error = str(error)
    result.error_code = getattr(error, "code", "error")
    result.finished_at = now
    with store.transaction():
        failures = int(_state(store)["failures"] or 0) + 1
        delay = backoff_delay(
            failures,
            rng or random.Random(),
            float(ctx.settings["BACKOFF_BASE_SECONDS"]),
            float(ctx.settings["BACKOFF_CAP_SECONDS"]),
            retry_after,
        )
        result.next_attempt = now + delay
        store.execute(
            "UPDATE sync_state SET failures = ?, next_attempt = ?, last_attempt = ?, "
            "last_error = ?, last_result = ? WHERE id = 1",
            (
                failures,
                result.next_attempt,
                now,
                result.error,
                json.dumps(result.to_json(), ensure_ascii=False),
            ),
        )
        store.log(now, "sync_failed", {"error": result.error, "code": result.error_code})


def _record_success(ctx: NodeContext, store: Store, result: SyncResult) -> None:
    now = ctx.now()
    result.finished_at = now
    with store.transaction():
        store.execute(
            "UPDATE sync_state SET failures = 0, next_attempt = 0, last_attempt = ?, "
            "last_ok = ?, last_error = ?, last_result = ? WHERE id = 1",
            (now, now, result.error, json.dumps(result.to_json(), ensure_ascii=False)),
        )
        store.log(
            now,
            "sync_ok" if result.ok else "sync_partial",
            {"pushed": result.pushed, "pulled": result.pulled, "error": result.error},
        )


STARTUP_CHECK_TIMEOUT = 3.0


def startup_check(ctx: NodeContext) -> None:
    """Before the first issuance after start-up, ask the hub how far this office has gone.

    A database restored from an old copy (with its old sidecar) only learns that it is
    behind from the hub; if the hub is ahead, the missing envelopes are replayed now. When
    the hub cannot be reached the node keeps working offline, guarded by the sidecar.
    """
    if ctx.startup_checked or not ctx.settings.get("HUB_URL"):
        return
    client = HubClient(
        ctx.settings["HUB_URL"],
        ctx.signer,
        ctx.now,
        timeout=min(STARTUP_CHECK_TIMEOUT, float(ctx.settings["HTTP_TIMEOUT_SECONDS"])),
    )
    store = ctx.open_store()
    try:
        check_highwater(ctx, store, client, SyncResult())
        ctx.startup_checked = True
    except TransportError:
        ctx.startup_checked = True
    except SarabanError as e:
        with store.transaction():
            store.log(ctx.now(), "startup_check_failed", {"error": str(e)})
    finally:
        store.close()
        client.close()


def scheduled_sync(ctx: NodeContext) -> SyncResult | None:
    """Sync unless back-off says it is too early; the scheduler's job."""
    with ctx.open_store() as store:
        due = float(_state(store)["next_attempt"] or 0)
    if due > ctx.now():
        return None
    return sync_once(ctx)


def node_status(ctx: NodeContext) -> dict[str, Any]:
    """Everything the status page and ``saraban node status`` show."""
    with ctx.open_store() as store:
        state = _state(store)
        trusted = load_trusted(store)
        rejected = store.one(
            "SELECT seq, reason FROM feed WHERE state = 'rejected' ORDER BY seq LIMIT 1"
        )
        mismatches = store.get_setting("digest_mismatches", [])
        return {
            "office": ctx.settings.get("OFFICE"),
            "hub_url": ctx.settings.get("HUB_URL"),
            "online": bool(state["last_attempt"]) and not state["failures"],
            "last_sync_ok": state["last_ok"],
            "last_sync_ok_iso": feed.iso(state["last_ok"]) if state["last_ok"] else None,
            "last_attempt": state["last_attempt"],
            "last_error": state["last_error"],
            "failures": state["failures"],
            "next_attempt": state["next_attempt"],
            "outbox": feed.outbox_count(store),
            "rejected": rejected,
            "provisional_pending": registers.provisional_pending(store),
            "directory_version": trusted.version if trusted else None,
            "behind": highwater.behind(store),
            "digest_mismatches": mismatches,
            "counts": stats(store),
        }
