"""The sync worker: one round trip with the hub, one at a time, and its back-off.

:func:`sync_once` does, in order: check the hub's high-water marks (and catch up from the
hub if this database is behind them); refresh the directory when the hub has a newer one;
upload the attachments of outgoing letters; push the outbox in batches (each letter's bytes
first, each answer's signed ack checked); ask for leases of shared registers running low;
try the held envelopes again and pull the mailbox until ``more`` is false; download the
attachments this node lacks (and send the ``delivered`` receipts they complete); report a
heartbeat and the signed audit chain head; publish the office's accounts when they
changed. The steps live in :mod:`node.sync.pull`,
:mod:`node.sync.held`, :mod:`node.sync.push`, :mod:`node.sync.attachments`,
:mod:`node.sync.health`, :mod:`node.sync.audit_heads` and
:mod:`node.sync.accounts_publish`. A round that went through is still not ``ok`` while the
hub rejected an envelope, envelopes are held or the hub refused the accounts
(``error_code`` ``push_rejected``, ``held`` or ``accounts_refused``).

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
from node.errors import CannotWrite, NodeError
from node.records.directory import load_trusted
from node.storage import disk
from node.storage.store import Store
from node.sync.accounts_publish import ACCOUNTS_REFUSED_CODE, publish_accounts
from node.sync.attachments import download_attachments, upload_attachments
from node.sync.audit_heads import report_audit_head
from node.sync.clock import (
    REFUSED_CODE,
    clock_warning,
    record_accepted,
    record_refusal,
    refusal_reason,
    refusal_skew,
)
from node.sync.health import KEY_REFUSED_CODE, key_refusal, note_directory_age, send_heartbeat
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
        if store.refusal is not None:
            # Nothing pulled could be kept: only tell the hub why this office is quiet.
            _record_failure(ctx, store, result, store.refusal, rng)
            _report_failure(ctx, store, hub, result)
            return result
        try:
            # The own feed must agree with the hub's before anything is pushed; when it
            # cannot be made to, the round says why but still pulls what others sent.
            feed_problem: SarabanError | NodeError | None = None
            try:
                ctx.sync_phase = "check"
                check_highwater(ctx, store, hub, result)
            except TransportError:
                raise
            except (SarabanError, NodeError) as e:
                feed_problem = e
            result.online = True
            if load_trusted(store) is None or sync_state(store)["directory_wanted"]:
                result.directory_version = refresh_directory(ctx, store, hub)
            if feed_problem is None:
                ctx.sync_phase = "push"
                upload_attachments(ctx, store, hub, result)
                push_outbox(ctx, store, hub, result)
                request_leases(ctx, store, hub, result)
            ctx.sync_phase = "pull"
            pull_mailbox(ctx, store, hub, result)
            ctx.sync_phase = "download"
            download_attachments(ctx, store, hub, result)
            publish_accounts(ctx, store, hub, result)
            send_heartbeat(ctx, store, hub)
            report_audit_head(ctx, store, hub)
            note_directory_age(ctx, store, result)
            if feed_problem is not None:
                raise feed_problem
        except (SarabanError, NodeError, OSError) as e:
            error = e if not isinstance(e, OSError) else _disk_refusal(ctx, e)
            _record_failure(ctx, store, result, error, rng)
            if result.online:
                _report_failure(ctx, store, hub, result)
        else:
            if result.rejected:
                result.error = f"hub rejected seq {result.rejected[0]['seq']}: " + str(
                    result.rejected[0]["reason"]
                )
                result.error_code = "push_rejected"
            elif result.held:
                senders = ", ".join(result.held_from)
                result.error = f"{result.held} envelope(s) held unverified, from {senders}"
                result.error_code = "held"
            elif result.accounts_refused:
                result.error = result.accounts_refused
                result.error_code = ACCOUNTS_REFUSED_CODE
            result.ok = not result.rejected and not result.held and not result.accounts_refused
            _record_success(ctx, store, result)
    finally:
        ctx.sync_phase = None
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


def _disk_refusal(ctx: NodeContext, error: OSError) -> CannotWrite:
    # Attachment bytes that cannot be written: a full or read-only disk is the round's
    # failure like any other (said once); any other OSError is a bug to see in full.
    refusal = disk.refusal_for(error, disk.files_place(ctx.instance))
    if refusal is None:
        raise error
    return refusal


HUB_BUSY_CODE = "hub_busy"
"""The sync result's ``error_code`` when the hub asked this office to wait (429, 503): the
round is tried again after its ``Retry-After``."""


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
    if isinstance(error, HTTPStatusError) and error.status in (429, 503):
        result.error_code = HUB_BUSY_CODE
    result.finished_at = now
    refused_key = key_refusal(ctx, error)
    if refused_key is not None:
        result.error_code = KEY_REFUSED_CODE
        result.warnings.append(refused_key)
    refused = refusal_skew(error, now)
    if refused is not None:
        result.clock_skew, window = refused
        result.error = refusal_reason(result.clock_skew, window)
        result.error_code = REFUSED_CODE
        warning = clock_warning(
            {"clock_refused": 1, "clock_skew": result.clock_skew, "clock_window": window}
        )
        result.warnings.append(warning["message_th"] if warning else result.error)
    try:
        with store.transaction():
            _remember_failure(ctx, store, result, rng, retry_after, refused)
    except CannotWrite:
        pass  # said once by node.storage.disk; the result says why the round failed


def _remember_failure(
    ctx: NodeContext,
    store: Store,
    result: SyncResult,
    rng: random.Random | None,
    retry_after: float | None,
    refused: tuple[float | None, float] | None,
) -> None:
    now = result.finished_at
    failures = int(sync_state(store)["failures"] or 0) + 1
    due = 0.0
    if result.error_code == HUB_BUSY_CODE and retry_after is not None:
        # The hub said how long it needs: that long (and a little, so offices told at the
        # same moment do not all come back at once), not a back-off grown by earlier
        # failures. A busy answer is no failure of the link or of this node.
        delay = retry_after * (rng or random.Random()).uniform(1.0, 1.2)
        due = result.next_attempt = now + delay
    elif refused is None:
        delay = backoff_delay(
            failures,
            rng or random.Random(),
            float(ctx.settings["BACKOFF_BASE_SECONDS"]),
            float(ctx.settings["BACKOFF_CAP_SECONDS"]),
            retry_after,
        )
        due = result.next_attempt = now + delay
    else:
        # A refused clock is this machine's to fix, not the hub's trouble: no back-off, and
        # no deadline written in the wrong time, so the round after the clock was set right
        # goes through on the normal schedule.
        result.next_attempt = now
        record_refusal(store, *refused)
    store.execute(
        "UPDATE sync_state SET failures = ?, next_attempt = ?, last_attempt = ?, "
        "last_error = ?, last_result = ? WHERE id = 1",
        (
            failures,
            due,
            now,
            result.error,
            json.dumps(result.to_json(), ensure_ascii=False),
        ),
    )
    store.log(now, "sync_failed", {"error": result.error, "code": result.error_code})


def _record_success(ctx: NodeContext, store: Store, result: SyncResult) -> None:
    now = ctx.now()
    result.finished_at = now
    window = sync_state(store).get("clock_window")
    warning = clock_warning({"clock_skew": result.clock_skew, "clock_window": window})
    if warning is not None:
        result.warnings.append(warning["message_th"])
    try:
        with store.transaction():
            record_accepted(store, result.clock_skew)
            _remember_success(store, result, now)
    except CannotWrite:
        pass  # said once by node.storage.disk


def _remember_success(store: Store, result: SyncResult, now: float) -> None:
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
    """Sync unless back-off says it is too early; the scheduler's job.

    Never raises: what went wrong is in the result and ``sync_state``, a disk that cannot
    be written was logged once when it started (:mod:`node.storage.disk`), and anything
    else the node reports is one log line, not a traceback every few minutes."""
    try:
        with ctx.open_store() as store:
            due = float(sync_state(store)["next_attempt"] or 0)
        if due > ctx.now():
            return None
        return sync_once(ctx)
    except NodeError as e:
        log.warning("scheduled sync did not run: %s (%s)", e.reason, e.code)
        return None
