"""The node's view of its own health, for the clerk and for the hub.

:func:`node_status` is what the status page and ``saraban node status`` show: whether the
last sync worked, the back-off, the outbox, the first rejected envelope, provisional
numbers waiting for the hub, whether this database is behind the hub, the counts, the
envelopes held unverified (per sender) and the letters waiting for attachments, and what
every clerk's page warns about at the top (``warnings``, Thai): a disk that cannot be written
(:mod:`node.storage.disk`), a clock the hub refuses or soon will (:mod:`node.sync.clock`),
a frozen directory and a signing key the hub no longer takes (the directory lists it
retired, or the hub refused the last round's signature: :func:`key_warning`).

A directory is frozen when it is older than ``DIRECTORY_MAX_AGE_DAYS`` although the hub
answered after it had grown that old (:func:`directory_freshness`): the hub signs its
directory again every day (:mod:`hub.directory`), so a hub that answers with nothing newer
has stopped publishing, or an old answer is being replayed, and this node may not know of
an office revoked or a key retired since. An office merely offline is told so by the link,
not by this. :func:`note_directory_age` adds the warning to each round's result and logs it
once when it starts and once when it ends.
:func:`send_heartbeat` reports the same kind of figures to the hub at the end of a round,
so the hub's console can see every office. :func:`clerk_outbox_count` is the part of the
outbox a clerk sent (the badge's รอส่ง).

Does not: run a sync (:mod:`node.sync.worker`) or judge the figures (the console does).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from node.context import SOFTWARE, NodeContext
from node.errors import CannotWrite, NodeError
from node.records.directory import issued_at, key_status, load_trusted
from node.records.leases import provisional_pending
from node.records.letters import stats
from node.storage import disk, feed, highwater
from node.storage.store import Store
from node.sync.clock import clock_warning
from node.sync.held import held_status, stuck_report
from node.sync.hubclient import HubClient, HubHTTPError
from node.sync.rebase import recent_notices
from node.sync.state import SyncResult, sync_state
from protocol import PROTOCOL_VERSION
from protocol.directory import TrustedDirectory
from protocol.thai import format_thai_datetime

log = logging.getLogger(__name__)

DAY = 86400.0
KEY_REFUSED_CODE = "key_refused"
"""The sync result's ``error_code`` when the hub refused this node's request signature."""
FROZEN_SETTING = "directory_frozen"
"""Whether the last round found the directory frozen (so it is logged once each way)."""

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


def directory_freshness(
    ctx: NodeContext, trusted: TrustedDirectory | None, reached_at: float | None
) -> dict[str, Any]:
    """The held directory's version, issue time and age, and whether it is frozen: older
    than ``DIRECTORY_MAX_AGE_DAYS`` now although the hub answered at ``reached_at`` (None:
    not since the last failure), after it had grown that old.

    ``{"version", "issued_at", "age_days", "max_age_days", "frozen", "warning_th"}``.
    """
    max_days = float(ctx.settings["DIRECTORY_MAX_AGE_DAYS"])
    now = ctx.now()
    issued = None if trusted is None else issued_at(trusted)
    out: dict[str, Any] = {
        "version": None if trusted is None else trusted.version,
        "issued_at": None if trusted is None else trusted.directory.issued_at,
        "age_days": None if issued is None else round((now - issued) / DAY, 1),
        "max_age_days": max_days,
        "frozen": False,
        "warning_th": None,
    }
    if trusted is None or issued is None or max_days <= 0 or reached_at is None:
        return out
    too_old = issued + max_days * DAY
    if now <= too_old or reached_at < too_old:
        return out
    when = format_thai_datetime(datetime.fromtimestamp(issued, UTC))
    out["frozen"] = True
    out["warning_th"] = (
        f"ทะเบียนหน่วยงานที่เครื่องนี้ใช้ตรวจลายมือชื่อ (ฉบับที่ {trusted.version})"
        f" ออกโดยศูนย์กลางเมื่อ {when} ผ่านมา {int((now - issued) // DAY)} วันแล้ว"
        f" เกินกำหนด {max_days:g} วัน ทั้งที่ติดต่อศูนย์กลางได้ตามปกติ"
        " ศูนย์กลางอาจหยุดออกทะเบียนฉบับใหม่ หรือมีผู้ส่งทะเบียนฉบับเก่าซ้ำมาให้เครื่องนี้"
        " เครื่องนี้จึงอาจยังไม่รู้ว่ามีหน่วยงานถูกเพิกถอนหรือเปลี่ยนกุญแจ"
        " ให้แจ้งผู้ดูแลศูนย์กลางตรวจสอบ"
    )
    return out


def directory_status(
    ctx: NodeContext, store: Store, trusted: TrustedDirectory | None = None
) -> dict[str, Any]:
    """:func:`directory_freshness` of the held directory (``trusted`` when the caller has
    loaded it), the hub reached at the last good round unless rounds have failed since."""
    state = sync_state(store)
    reached_at = None if state["failures"] else state["last_ok"]
    return directory_freshness(ctx, trusted or load_trusted(store), reached_at)


def _own_keyid(ctx: NodeContext) -> str | None:
    try:
        return ctx.signer.keyid
    except NodeError:
        return None


def key_warning(
    ctx: NodeContext, trusted: TrustedDirectory | None, state: dict[str, Any]
) -> str | None:
    """A Thai warning when this node's signing key is no longer the office's: the directory
    lists it retired, or the hub refused the signature of the last round (an old copy of the
    folder after a rekey or a re-enrolment, ADR 0018); None otherwise."""
    keyid = _own_keyid(ctx)
    if keyid is None:
        return None
    refused = bool(state["failures"]) and _last_error_code(state) == KEY_REFUSED_CODE
    if refused or (trusted is not None and key_status(trusted, keyid) == "retired"):
        return key_refused_th(keyid)
    return None


def key_refused_th(keyid: str) -> str:
    """What the clerks are told when the hub no longer takes this node's key ``keyid``."""
    return (
        f"ศูนย์กลางไม่รับลายมือชื่อของเครื่องนี้ (กุญแจ {keyid}) หนังสือจะค้างส่งและค้างรับ"
        " กุญแจนี้ถูกเลิกใช้เพราะหน่วยงานเปลี่ยนกุญแจหรือลงทะเบียนใหม่ เครื่องนี้อาจเป็นสำเนาเก่า"
        " ให้ขอรหัสลงทะเบียนใหม่จากศูนย์กลางแล้วรัน saraban node init --reenroll --token -"
    )


def key_refusal(ctx: NodeContext, error: BaseException) -> str | None:
    """The warning of :func:`key_refused_th` when ``error`` is the hub refusing this node's
    request signature (401 ``bad_request_signature``), else None."""
    if not isinstance(error, HubHTTPError) or error.status != 401:
        return None
    if error.error != "bad_request_signature":
        return None
    keyid = _own_keyid(ctx)
    return None if keyid is None else key_refused_th(keyid)


def _last_error_code(state: dict[str, Any]) -> str | None:
    try:
        last = json.loads(state.get("last_result") or "{}")
    except ValueError:
        return None
    return last.get("error_code") if isinstance(last, dict) else None


def note_directory_age(ctx: NodeContext, store: Store, result: SyncResult) -> None:
    """After a round that reached the hub: the frozen-directory warning in the round's
    ``warnings``, and one log line when the directory becomes frozen and one when it is
    fresh again."""
    fresh = directory_freshness(ctx, load_trusted(store), ctx.now())
    frozen = bool(fresh["frozen"])
    if frozen:
        result.warnings.append(fresh["warning_th"])
    if frozen == bool(store.get_setting(FROZEN_SETTING, False)):
        return
    try:
        with store.transaction():
            store.set_setting(FROZEN_SETTING, frozen)
    except CannotWrite:
        return  # said once by node.storage.disk; the next round tries again
    if frozen:
        log.warning(
            "the hub's directory is frozen: version %s, issued %s, older than %s days"
            " although the hub answers",
            fresh["version"],
            fresh["issued_at"],
            fresh["max_age_days"],
        )
    else:
        log.info("the hub's directory is fresh again: version %s", fresh["version"])


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
        directory = directory_status(ctx, store, trusted)
        warnings += [w for w in (directory["warning_th"], key_warning(ctx, trusted, state)) if w]
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
            "directory": directory,
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
