"""Rebuilding local state from this office's own envelopes, fetched back from the hub.

Used by :func:`catch_up` (a database restored from an old copy fetches the envelopes it is
missing from ``GET /feed``) and by :mod:`node.sync.restore` (a whole node rebuilt from its feed
and mailbox). Each own envelope is stored as accepted and replayed into letters, register
entries, recipients and the state of received letters. Everything is idempotent.
"""

from __future__ import annotations

from typing import Any

from node.context import NodeContext
from node.errors import NodeError
from node.records.directory import load_trusted
from node.records.inbox import apply_own_receipts
from node.records.letters import create_out_letter_from_feed
from node.records.registers import ensure_register_by_id
from node.storage import feed
from node.storage.feed import parse_iso
from node.storage.store import Store
from node.sync.hubclient import HubClient
from node.sync.verify import verify_own_envelope
from protocol.envelope import Envelope
from protocol.keys import public_key_from_b64
from protocol.messages import FeedMessage, Letter, Receipt, RegisterEntry, Withdraw

FEED_PAGE = 500


class FeedForked(NodeError):
    """The hub holds a different envelope at a seq this database also holds."""

    status = 409
    code = "feed_forked"
    message_th = "ข้อมูลของหน่วยงานไม่ตรงกับศูนย์กลาง (สายข้อมูลแตก) กรุณาติดต่อผู้ดูแลระบบ"


def _letter_id(store: Store, env_id: str | None) -> int | None:
    if not env_id:
        return None
    value = store.scalar("SELECT id FROM letters WHERE env_id = ?", (env_id,))
    return int(value) if value is not None else None


def _replay_register(
    ctx: NodeContext, store: Store, env_id: str, msg: RegisterEntry, now: float
) -> None:
    ensure_register_by_id(ctx, store, msg.register)
    letter_id = _letter_id(store, msg.letter)
    if msg.action == "paper_registered" and letter_id is None:
        letter_id = store.insert(
            "letters",
            {
                "direction": "in",
                "paper": 1,
                "origin": "",
                "subject": msg.subject or "",
                "state": "registered",
                "receipt_number": msg.display,
                "receipt_register": msg.register,
                "registered_at": parse_iso(msg.created_at),
                "received_at": parse_iso(msg.created_at),
                "created_at": now,
            },
        )
    if msg.provisional:
        existing = store.one(
            "SELECT id FROM register_entries WHERE provisional_id = ?", (msg.provisional_id,)
        )
    else:
        existing = store.one(
            "SELECT id FROM register_entries WHERE register = ? AND number = ?",
            (msg.register, msg.number),
        )
    if existing is not None:
        store.execute(
            "UPDATE register_entries SET action = ?, reason = COALESCE(?, reason), "
            "letter = COALESCE(?, letter), env_id = ? WHERE id = ?",
            (msg.action, msg.reason, letter_id, env_id, existing["id"]),
        )
        return
    store.insert(
        "register_entries",
        {
            "register": msg.register,
            "number": msg.number,
            "display": msg.display,
            "action": msg.action,
            "letter": letter_id,
            "letter_env": msg.letter,
            "reason": msg.reason,
            "provisional_id": msg.provisional_id,
            "env_id": env_id,
            "at": parse_iso(msg.created_at) or now,
        },
    )
    if letter_id is not None and msg.action == "issued":
        direction = store.scalar("SELECT direction FROM letters WHERE id = ?", (letter_id,))
        if direction == "out":
            store.execute(
                "UPDATE letters SET register_number = ?, provisional_id = ? WHERE id = ?",
                (msg.number, msg.provisional_id, letter_id),
            )


def _replay_withdraw(store: Store, msg: Withdraw, now: float) -> None:
    letter_id = _letter_id(store, msg.letter)
    if letter_id is None:
        return
    for office in msg.recipients:
        store.execute(
            "UPDATE recipients SET state = 'withdrawn', reason = ?, updated_at = ? "
            "WHERE letter = ? AND office = ?",
            (msg.reason, now, letter_id, office),
        )
    store.execute(
        "UPDATE letters SET state = 'withdrawn', reason = ? WHERE id = ?", (msg.reason, letter_id)
    )


def replay_own(ctx: NodeContext, store: Store, env: Envelope, msg: FeedMessage, now: float) -> bool:
    """Store one own envelope as accepted and replay it; False if that seq was held."""
    held = store.scalar("SELECT env_id FROM feed WHERE seq = ?", (msg.seq,))
    if held is not None:
        if held != env.env_id:
            raise FeedForked(
                f"seq {msg.seq}: the hub holds {env.env_id[:12]}, this database {str(held)[:12]}"
            )
        feed.mark(store, env.env_id, feed.ACCEPTED, None, now)
        return False
    feed.store_accepted(store, env, msg, now)
    apply_own(ctx, store, env.env_id, msg, now)
    return True


def apply_own(ctx: NodeContext, store: Store, env_id: str, msg: FeedMessage, now: float) -> None:
    """Bring letters, registers and tracking to what one own envelope says."""
    if isinstance(msg, Letter):
        create_out_letter_from_feed(store, env_id, msg, now)
    elif isinstance(msg, RegisterEntry):
        _replay_register(ctx, store, env_id, msg, now)
    elif isinstance(msg, Receipt):
        apply_own_receipts(store, msg.letter)
    elif isinstance(msg, Withdraw):
        _replay_withdraw(store, msg, now)


def reconcile_leases(store: Store) -> None:
    """Move each lease's next number past the numbers already issued from it."""
    for lease in store.query('SELECT id, register, start, "end", next FROM leases'):
        used = store.scalar(
            "SELECT MAX(number) FROM register_entries "
            "WHERE register = ? AND number BETWEEN ? AND ?",
            (lease["register"], lease["start"], lease["end"]),
        )
        if used is not None and int(used) + 1 > lease["next"]:
            store.execute("UPDATE leases SET next = ? WHERE id = ?", (int(used) + 1, lease["id"]))


def catch_up(ctx: NodeContext, store: Store, client: HubClient) -> int:
    """Fetch and replay own envelopes the hub holds beyond this database's feed head."""
    own_key = public_key_from_b64(ctx.signer.public_b64())
    trusted = load_trusted(store)  # a key the office retired still verifies what it signed
    replayed = 0
    after = int(store.scalar("SELECT COALESCE(MAX(seq), 0) FROM feed"))
    while True:
        answer: dict[str, Any] = client.feed(after, FEED_PAGE)
        wires = answer.get("envelopes") or []
        verified = []
        for wire in wires:
            env = Envelope.from_wire(wire)
            verified.append((env, verify_own_envelope(env, ctx.signer.keyid, own_key, trusted)))
        now = ctx.now()
        with store.transaction():
            for env, msg in sorted(verified, key=lambda p: p[1].seq):
                if replay_own(ctx, store, env, msg, now):
                    replayed += 1
                after = max(after, msg.seq)
            reconcile_leases(store)
        if not answer.get("more") or not wires:
            break
    return replayed
