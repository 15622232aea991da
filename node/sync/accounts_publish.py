"""A sync round's step that publishes the office's accounts to the hub (ADR 0024).

When the accounts version (:mod:`node.staff.published`) is above the one the hub last
acknowledged, the node signs the whole list as an ``accounts`` envelope
(:mod:`protocol.accounts`) with the office key and posts it (``POST /accounts``); the
hub's answer is the acknowledgement, recorded so the next round sends nothing until an
account changes again.

A hub that holds a version at or above this one (this database is an old copy) answers
409 ``replayed`` with the version it holds: the node moves its version past it and signs
the list once more. A list the node cannot sign as the hub would take it (an account whose
hash is of another scheme, say) is refused here as ``accounts_invalid``. Any refusal is
logged (the hub's code and reason, the version:
never a hash or a secret) and makes the round not ``ok`` with ``error_code``
``accounts_refused`` and a Thai warning, like the other sync problems; the letters went
through all the same, and the next round tries again. A hub without the portal (404) is
logged once a round, and the round goes on.

Does not: decide what is published (:mod:`node.staff.published`) or when a round runs
(:mod:`node.sync.worker`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from node.context import NodeContext
from node.staff.published import (
    account_list_at,
    accounts_version,
    publish_due,
    raise_version_above,
    record_published,
)
from node.storage.store import Store
from node.sync.hubclient import HubClient, HubHTTPError
from node.sync.state import SyncResult
from protocol.accounts import ACCOUNTS_KIND
from protocol.api import ACCOUNTS_REPLAYED
from protocol.envelope import sign_envelope
from protocol.errors import BadMessage

log = logging.getLogger(__name__)

ACCOUNTS_REFUSED_CODE = "accounts_refused"
"""The sync result's ``error_code`` when the hub refused the office's accounts."""
REFUSED_TH = (
    "ศูนย์กลางไม่รับรายชื่อผู้ใช้ของหน่วยงาน (รหัส {code}) ผู้ใช้ที่เพิ่มหรือแก้ไขล่าสุด"
    "จึงยังใช้พอร์ทัลของกระทรวงไม่ได้ กรุณาแจ้งผู้ดูแลระบบ"
)


def _issued_at(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _passes_on(error: HubHTTPError) -> bool:
    """Whether the round, not this step, should answer ``error``: the hub could not judge
    the list (busy, its own failure) or refused the request itself (its signature or
    time), which the round reports as it reports any other request."""
    return error.status in (401, 429) or error.status >= 500


def publish_accounts(ctx: NodeContext, store: Store, client: HubClient, result: SyncResult) -> None:
    """Publish the accounts when they changed since the hub last acknowledged them."""
    if not publish_due(store):
        return
    for attempt in range(2):
        now = ctx.now()
        try:
            accounts = account_list_at(store, ctx.office, _issued_at(now))
        except BadMessage as e:
            # An account the hub would refuse (a hash of another scheme, say): nothing is
            # signed, and the round says so like a refusal.
            _refused(ctx, store, result, accounts_version(store), "accounts_invalid", str(e))
            return
        envelope = sign_envelope(ACCOUNTS_KIND, accounts.to_dict(), ctx.signer)
        try:
            client.publish_accounts(envelope.to_wire())
        except HubHTTPError as e:
            if e.status == 404:
                log.info("the hub does not take the office's accounts yet: %s", e.reason)
                return
            if _passes_on(e):
                raise
            held = e.body.get("held_version")
            if e.error == ACCOUNTS_REPLAYED and isinstance(held, int) and attempt == 0:
                raise_version_above(store, held)
                continue
            code = e.error or f"http_{e.status}"
            _refused(ctx, store, result, accounts.version, code, e.reason)
            return
        record_published(store, accounts.version, now)
        result.accounts_published = accounts.version
        return


def _refused(
    ctx: NodeContext, store: Store, result: SyncResult, version: int, code: str, reason: str
) -> None:
    """Log and report a refusal of the accounts at ``version`` (the reasons the hub and
    :mod:`protocol.accounts` give name fields and accounts, never a hash or a secret)."""
    log.warning("the office's accounts version %d were refused: %s (%s)", version, reason, code)
    with store.transaction():
        store.log(
            ctx.now(), "accounts_refused", {"version": version, "code": code, "reason": reason}
        )
    result.accounts_refused = f"accounts version {version} refused: {reason} ({code})"
    result.warnings.append(REFUSED_TH.format(code=code))
