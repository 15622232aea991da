"""Send the hub this office's signed audit chain head with every sync.

The node signs its chain head (:class:`protocol.audit_chain.AuditHead`: last id, its stored
hash, the count of entries) with the office key and posts it with the links of the entries
since the head the hub last said it verified (remembered in the setting
:data:`VERIFIED_SETTING`), at most :data:`~protocol.audit_chain.MAX_AUDIT_LINKS` per request:
a longer stretch goes as several heads, each signed for the last entry it covers. When the
hub asks for links from an earlier id (``need_from``: this database remembers more than the
hub verified), the node sends them once more.

Does not: judge the answer. A break is the hub's to raise (a console alert); this module
only records what the hub answered, for ``saraban node audit verify`` to show.
"""

from __future__ import annotations

import logging
from typing import Any

from node.context import NodeContext
from node.storage.audit import chain_links
from node.storage.store import Store
from node.sync.hubclient import HubClient
from protocol.audit_chain import AUDIT_HEAD_KIND, GENESIS, MAX_AUDIT_LINKS, AuditHead
from protocol.envelope import sign_envelope
from protocol.errors import HTTPStatusError

log = logging.getLogger(__name__)

VERIFIED_SETTING = "audit_hub_verified"
"""The head the hub last answered it holds as verified: ``{"id", "hash", "at", "ok"}``."""
MAX_REQUESTS = 20
"""Heads sent in one sync at most (20,000 entries); the rest go with the next sync."""


def _head_at(store: Store, ctx: NodeContext, last_id: int) -> AuditHead:
    head = store.scalar("SELECT hash FROM audit WHERE id = ?", (last_id,)) if last_id else None
    count = store.scalar("SELECT COUNT(*) FROM audit WHERE id <= ?", (last_id,))
    return AuditHead(ctx.office, last_id, head or GENESIS, int(count or 0), int(ctx.now()))


def send_audit_head(ctx: NodeContext, store: Store, client: HubClient) -> dict[str, Any]:
    """Send the chain head (in as many heads as the links need); return the hub's last answer."""
    known = store.get_setting(VERIFIED_SETTING) or {}
    after = int(known.get("id") or 0)
    answer: dict[str, Any] = {}
    for _ in range(MAX_REQUESTS):
        last_id = int(store.scalar("SELECT COALESCE(MAX(id), 0) FROM audit") or 0)
        start = min(after, last_id)
        links = chain_links(store, start, MAX_AUDIT_LINKS)
        head = _head_at(store, ctx, links[-1][0] if links else last_id)
        env = sign_envelope(AUDIT_HEAD_KIND, head.to_dict(), ctx.signer)
        answer = client.audit_head({"head": env.to_wire(), "after": start, "links": links})
        verified = answer.get("verified") or {}
        with store.transaction():
            store.set_setting(
                VERIFIED_SETTING,
                {
                    "id": int(verified.get("id") or 0),
                    "hash": verified.get("hash"),
                    "at": verified.get("at"),
                    "ok": bool(answer.get("ok")),
                    "problems": list(answer.get("problems") or [])[:20],
                },
            )
        need_from = answer.get("need_from")
        if isinstance(need_from, int) and need_from - 1 < after:
            after = need_from - 1
            continue
        if not answer.get("ok") or head.last_id >= last_id:
            break
        after = head.last_id
    return answer


def report_audit_head(ctx: NodeContext, store: Store, client: HubClient) -> None:
    """:func:`send_audit_head` in a sync round: a hub that does not take heads yet (404)
    is logged and the round goes on."""
    try:
        send_audit_head(ctx, store, client)
    except HTTPStatusError as e:
        if e.status != 404:
            raise
        log.info("the hub does not take audit chain heads yet: %s", e)
