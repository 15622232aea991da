"""Scheduled work: the sync every few minutes and the nightly job.

The nightly job does a full catch-up sync, fetches missing attachments (part of the sync),
voids leased numbers left over from last year, compares each register's digest with the
hub's (anti-entropy) and writes a consistent backup of the database with SQLite's backup
API, keeping ``BACKUP_KEEP`` files. Each scheduler job is a one-line wrapper around a plain
function that tests call directly. The sync job is the safety net: the live sync
(:mod:`node.sync.live`) runs a round as soon as there is something to send or to fetch.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from node.context import NodeContext
from node.errors import CannotWrite
from node.records.attachment_text import extract_missing
from node.records.leases import void_unused_leases
from node.storage import disk
from node.sync.hubclient import hub_client
from node.sync.worker import scheduled_sync, sync_once
from protocol.api import register_digest
from protocol.crashpoints import crash_point
from protocol.errors import SarabanError
from protocol.filemodes import create_private_file, private_folder

TIMEZONE = "Asia/Bangkok"
SYNC_JOB = "sync"


def local_register_digests(ctx: NodeContext) -> dict[str, dict[str, Any]]:
    """Per-register count and digest of the ``register`` envelopes in the own feed."""
    ids: dict[str, list[str]] = defaultdict(list)
    with ctx.open_store() as store:
        for row in store.query("SELECT ref, env_id FROM feed WHERE kind = 'register'"):
            ids[row["ref"]].append(row["env_id"])
    return {reg: {"count": len(v), "digest": register_digest(v)} for reg, v in ids.items()}


def compare_register_digests(ctx: NodeContext) -> list[dict[str, Any]]:
    """Registers whose digest differs from the hub's; recorded in the sync log and status."""
    local = local_register_digests(ctx)
    client = hub_client(ctx)
    try:
        remote = client.register_digests().get("registers") or {}
    finally:
        client.close()
    with ctx.open_store() as store:
        # Entries still in the outbox are not at the hub yet: not a mismatch.
        pending = {
            r["ref"]
            for r in store.query(
                "SELECT DISTINCT ref FROM feed WHERE kind = 'register' AND state != 'accepted'"
            )
        }
        mismatches = []
        for reg in sorted(set(local) | set(remote)):
            mine, theirs = local.get(reg), remote.get(reg)
            if reg in pending or (mine and theirs and mine["digest"] == theirs.get("digest")):
                continue
            if reg not in local and reg.split("|", 1)[0] != ctx.office:
                continue
            mismatches.append({"register": reg, "local": mine, "hub": theirs})
        with store.transaction():
            store.set_setting("digest_mismatches", mismatches)
            store.log(ctx.now(), "digests", {"mismatches": mismatches})
    return mismatches


def backup_database(ctx: NodeContext) -> Path:
    """A consistent copy of the database in ``<instance>/backups/`` (0700, the copy 0600);
    old ones pruned."""
    folder = private_folder(ctx.instance / "backups")
    stamp = datetime.fromtimestamp(ctx.now(), UTC).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"node-{stamp}.sqlite"
    try:
        create_private_file(target)  # 0600 before SQLite writes a byte of the copy
        src = sqlite3.connect(ctx.settings["DATABASE"])
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    except (sqlite3.Error, OSError) as e:
        # A copy cut short by a full disk is no backup: leave none rather than half of one.
        with contextlib.suppress(OSError):
            target.unlink(missing_ok=True)
        refusal = disk.refusal_for(e, disk.files_place(ctx.instance))
        if refusal is None:
            raise
        raise refusal from e
    keep = max(1, int(ctx.settings["BACKUP_KEEP"]))
    for old in sorted(folder.glob("node-*.sqlite"))[:-keep]:
        old.unlink()
    return target


def nightly(ctx: NodeContext) -> dict[str, Any]:
    """The nightly job; returns what it did. A disk that cannot be written stops it without
    a traceback (:mod:`node.storage.disk` logged it once); tomorrow's run does the rest."""
    report: dict[str, Any] = {}
    try:
        _nightly(ctx, report)
    except CannotWrite as e:
        report["stopped"] = e.code
    return report


def _nightly(ctx: NodeContext, report: dict[str, Any]) -> None:
    with ctx.open_store() as store:
        report["year_end_voided"] = len(void_unused_leases(ctx, store, ctx.now()))
    result = sync_once(ctx)
    report["sync"] = result.to_json()
    crash_point("node_nightly")
    if result.ok:
        try:
            report["digest_mismatches"] = compare_register_digests(ctx)
        except SarabanError as e:
            report["digest_error"] = str(e)
    report["search_texts"] = extract_missing(ctx)  # search: PDFs present but not yet read
    report["backup"] = str(backup_database(ctx))


def _hhmm(text: str) -> tuple[int, int]:
    hour, _, minute = text.partition(":")
    return int(hour), int(minute or 0)


def build_scheduler(ctx: NodeContext) -> BackgroundScheduler:
    """A scheduler (not started) with the sync and nightly jobs of this node."""
    scheduler = BackgroundScheduler(timezone=TIMEZONE)
    hour, minute = _hhmm(str(ctx.settings["NIGHTLY_AT"]))
    scheduler.add_job(
        lambda: scheduled_sync(ctx),
        "interval",
        minutes=float(ctx.settings["SYNC_INTERVAL_MINUTES"]),
        id=SYNC_JOB,
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        lambda: nightly(ctx),
        "cron",
        hour=hour,
        minute=minute,
        id="nightly",
        max_instances=1,
        coalesce=True,
    )
    return scheduler
