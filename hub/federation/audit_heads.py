"""Receive an office's signed audit chain head and check it extends the verified one.

With every sync a node posts its chain head, an ``audit_head`` envelope signed with the
office key, and the links of the entries since the head the hub last verified
(:mod:`protocol.audit_chain`). The hub verifies the signature against the office's active
keys, checks the links join the verified head to the new one, appends the head to the
office's ``audit_heads`` (``verified`` or ``broken``) and, on a break, raises one alert per
office and condition (``rollback``, ``rewritten``, ``broken``), repeated while the office
keeps sending a chain that does not extend. Deleting or rewriting an office's history, or
replacing its database with an older copy, is thereby found at its next sync.

Does not: see any entry's content (only hashes), or accept a broken chain as the new
verified head by itself: the verified head stays where it was, and the alert repeats, until
an operator closes the alert (after a legitimate ``saraban node restore``, say, or once the
break is recorded); the next head the office sends is then its new baseline.
"""

from __future__ import annotations

from typing import Any

from hub.clock import iso_utc
from hub.errors import BadRequest
from hub.store import HubStore
from protocol.audit_chain import (
    AUDIT_HEAD_KIND,
    GENESIS,
    AuditHead,
    ChainCheck,
    check_extension,
    parse_links,
)
from protocol.envelope import Envelope, verify_envelope
from protocol.errors import SarabanError
from protocol.keys import public_key_from_b64

ALERT_KIND = "audit_chain"
REBASED = "new baseline: the operator closed the alert on the break before it"


def _break_closed(store: HubStore, office: str) -> bool:
    """The office's last head was a break and no alert on it is open any more."""
    last = store.audit_heads(office, 1)
    if not last or last[0]["status"] != "broken":
        return False
    return not any(k.endswith(f":{office}") for k in store.open_alert_keys(f"{ALERT_KIND}:"))


def _resolver(store: HubStore, office: str) -> Any:
    keys = {k["keyid"]: k["public"] for k in store.keys_of(office) if k["status"] == "active"}

    def resolve(keyid: str) -> Any:
        public = keys.get(keyid)
        return None if public is None else public_key_from_b64(public)

    return resolve


def _signed_head(store: HubStore, office: str, wire: Any) -> tuple[AuditHead, bytes]:
    """The head in ``wire``, its signature by ``office`` checked."""
    try:
        env = Envelope.from_wire(wire)
        if env.kind != AUDIT_HEAD_KIND:
            raise BadRequest(f"head must be an {AUDIT_HEAD_KIND} envelope")
        _, body = verify_envelope(env, _resolver(store, office))
        head = AuditHead.from_dict(body)
    except SarabanError as e:
        raise BadRequest(f"audit head refused: {e}") from e
    if head.office != office:
        raise BadRequest("the audit head is another office's")
    return head, env.to_bytes()


def receive_audit_head(
    store: HubStore, office: str, body: dict[str, Any], now: float
) -> dict[str, Any]:
    """Check and record one office's head; answer what the hub now holds as verified.

    The answer is ``{"ok", "verified": {"id", "hash", "at"}, "need_from", "problems"}``;
    ``need_from`` asks the node to send the links from that id again.
    """
    head, envelope = _signed_head(store, office, body.get("head"))
    after = body.get("after")
    if after is not None and (isinstance(after, bool) or not isinstance(after, int) or after < 0):
        raise BadRequest("after must be a whole number from 0")
    try:
        links = parse_links(body.get("links"))
    except SarabanError as e:
        raise BadRequest(str(e)) from e
    with store.write():
        verified = store.verified_audit_head(office)
        v_id = int(verified["last_id"]) if verified else 0
        v_hash = str(verified["head"]) if verified else GENESIS
        check = check_extension(v_id, v_hash, head, links, after)
        store.note_audit_checked(office, now)
        if check.problems and _break_closed(store, office):
            # An operator looked into the break and closed its alert: the chain as it is
            # now becomes the office's new baseline (the closing is on the hub's chain).
            store.add_audit_head(
                office, now, head.last_id, head.head, head.count, "verified", REBASED, envelope
            )
            verified = store.verified_audit_head(office)
            check = ChainCheck()
        elif check.problems:
            text = "; ".join(p for _, p in check.problems)
            store.add_audit_head(
                office, now, head.last_id, head.head, head.count, "broken", text, envelope
            )
            for condition in dict.fromkeys(c for c, _ in check.problems):
                detail = "; ".join(p for c, p in check.problems if c == condition)
                store.raise_alert(
                    ALERT_KIND, office, detail, now, key=f"{ALERT_KIND}:{condition}:{office}"
                )
        elif check.need_from is None and (verified is None or head.last_id != v_id):
            store.add_audit_head(
                office, now, head.last_id, head.head, head.count, "verified", None, envelope
            )
            verified = store.verified_audit_head(office)
    return {
        "ok": check.ok,
        "need_from": check.need_from,
        "problems": [p for _, p in check.problems],
        "verified": None
        if verified is None
        else {
            "id": int(verified["last_id"]),
            "hash": verified["head"],
            "at": iso_utc(float(verified["at"])),
        },
    }
