"""The sync worker: one round trip with the hub, one at a time, and its back-off.

:func:`sync_once` does, in order: check the hub's high-water marks (and catch up from the
hub if this database is behind them); refresh the directory when the hub has a newer one;
upload the attachments of outgoing letters; push the outbox in batches; ask for leases of
shared registers running low; pull the mailbox until ``more`` is false; download the
attachments of received letters; report a heartbeat. The steps live in
:mod:`node.sync.pull`, :mod:`node.sync.push`, :mod:`node.sync.attachments` and
:mod:`node.sync.health`.

A failure records exponential back-off with jitter (honouring Retry-After) in
``sync_state``; the node keeps working offline, and :func:`node.sync.health.node_status`
says so. :func:`scheduled_sync` is the scheduler's job; :func:`startup_check` asks the hub,
before the first issuance after start-up, whether this database is behind.
"""

from __future__ import annotations

import json
import logging
import random
import threading

from node.context import NodeContext
from node.errors import NodeError
from node.records.directory import load_trusted
from node.storage import highwater
from node.storage.store import Store
from node.sync.attachments import download_attachments, upload_attachments
from node.sync.health import send_heartbeat
from node.sync.hubclient import HubClient, hub_client
from node.sync.pull import check_highwater, pull_mailbox, refresh_directory
from node.sync.push import push_outbox, request_leases
from node.sync.state import SyncResult, sync_state
from protocol.errors import HTTPStatusError, SarabanError, TransportError
from protocol.sync import backoff_delay

log = logging.getLogger(__name__)

_SYNC_LOCK = threading.RLock()


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
            if load_trusted(store) is None or sync_state(store)["directory_wanted"]:
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
        failures = int(sync_state(store)["failures"] or 0) + 1
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
        due = float(sync_state(store)["next_attempt"] or 0)
    if due > ctx.now():
        return None
    return sync_once(ctx)
