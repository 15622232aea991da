"""The node's view of its own health, for the clerk and for the hub.

:func:`node_status` is what the status page and ``saraban node status`` show: whether the
last sync worked, the back-off, the outbox, the first rejected envelope, provisional
numbers waiting for the hub, whether this database is behind the hub, the counts, the
envelopes held unverified (per sender) and the letters waiting for attachments, and what
every clerk's page warns about at the top (``warnings``, Thai): a disk that cannot be written
(:mod:`node.storage.disk`) and a clock the hub refuses or soon will (:mod:`node.sync.clock`).
:func:`send_heartbeat` reports the same kind of figures to the hub at the end of a round,
so the hub's console can see every office. :func:`clerk_outbox_count` is the part of the
outbox a clerk sent (the badge's รอส่ง).

Does not: run a sync (:mod:`node.sync.worker`) or judge the figures (the console does).
"""

from __future__ import annotations

from typing import Any

from node.context import SOFTWARE, NodeContext
from node.records.directory import load_trusted
from node.records.leases import provisional_pending
from node.records.letters import stats
from node.storage import disk, feed, highwater
from node.storage.store import Store
from node.sync.clock import clock_warning
from node.sync.held import held_status, stuck_report
from node.sync.hubclient import HubClient
from node.sync.rebase import recent_notices
from node.sync.state import SyncResult, sync_state
from protocol import PROTOCOL_VERSION

CLERK_SENT_SQL = "(kind IN ('letter', 'withdraw') OR (kind = 'receipt' AND status = 'returned'))"
"""The feed envelopes that are a clerk's own sending (see :func:`clerk_outbox_count`)."""


def clerk_outbox_count(store: Store) -> int:
    """How many of the envelopes waiting for the hub a clerk sent: letters (ส่ง), withdrawals
    (ถอน) and returns (ส่งคืน), pending or rejected by the hub.

    Not counted: what the node sends by itself as a consequence of other work, the
    ``delivered`` and ``invalid`` receipts, the ``registered`` receipt of a ลงรับ (the
    clerk registered a letter, they did not send one) and every ``register`` entry for the
    hub's numbering ledger. :func:`node.storage.feed.outbox_count` counts them all.
    """
    # The condition is the constant above, never input.
    sql = f"SELECT COUNT(*) FROM feed WHERE state != ? AND {CLERK_SENT_SQL}"  # noqa: S608
    return int(store.scalar(sql, (feed.ACCEPTED,)) or 0)


def send_heartbeat(
    ctx: NodeContext, store: Store, client: HubClient, failed: SyncResult | None = None
) -> None:
    """Tell the hub how this node is doing: after a good round, or after one that failed
    while the hub was answering (``failed``), so the console sees why, e.g. a directory
    this node refused as a rollback."""
    state = sync_state(store)
    held = load_trusted(store)
    report: dict[str, Any] = {
        "outbox": feed.outbox_count(store),
        "last_sync_ok": failed is None,
        "last_error": state["last_error"] if failed is None else failed.error,
        "clock": int(ctx.now()),
        "software": f"{SOFTWARE} protocol/{PROTOCOL_VERSION}",
        "provisional_pending": provisional_pending(store),
        "directory_version": None if held is None else held.version,
        "held": stuck_report(store),
    }
    if failed is not None:
        report["last_error_code"] = failed.error_code
    client.heartbeat(report)


def node_status(ctx: NodeContext) -> dict[str, Any]:
    """Everything the status page and ``saraban node status`` show."""
    with ctx.open_store() as store:
        state = sync_state(store)
        trusted = load_trusted(store)
        rejected = store.one(
            "SELECT seq, reason FROM feed WHERE state = 'rejected' ORDER BY seq LIMIT 1"
        )
        mismatches = store.get_setting("digest_mismatches", [])
        clock, skew = clock_warning(state), state.get("clock_skew")
        unwritable = disk.conditions(store.place, disk.files_place(ctx.instance))
        warnings = [c.message_th for c in unwritable] + ([clock["message_th"]] if clock else [])
        warnings += recent_notices(store, ctx.now())  # numbers replaced after an old copy
        held = held_status(store)
        if held["count"]:
            warnings.append(
                f"มีซองเอกสารจากหน่วยงานอื่น {held['count']} ซองที่ตรวจลายมือชื่อไม่ผ่าน"
                " เครื่องพักไว้และจะตรวจใหม่ทุกครั้งที่ซิงค์ (ดูหน้าผู้ดูแลระบบ: การรับส่งกับศูนย์กลาง)"
            )
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
            "outbox_clerks": clerk_outbox_count(store),
            "rejected": rejected,
            "provisional_pending": provisional_pending(store),
            "directory_version": trusted.version if trusted else None,
            "behind": highwater.behind(store),
            "digest_mismatches": mismatches,
            "counts": stats(store),
            "held": held,
            "awaiting_attachments": store.scalar("SELECT COUNT(*) FROM awaiting_attachments"),
            "clock": {
                "skew_seconds": None if skew is None else round(float(skew)),
                "refused": bool(state.get("clock_refused")),
                "warning_th": None if clock is None else clock["message_th"],
            },
            "disk": {
                "writable": not unwritable,
                "conditions": [{"code": c.code, "message_th": c.message_th} for c in unwritable],
            },
            "warnings": warnings,
        }
