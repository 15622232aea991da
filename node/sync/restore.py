"""Rebuilding a node from the hub: ``saraban node restore``.

:func:`restore_from_hub` moves the old database aside and rebuilds a new one from what the
hub holds for this office: its own feed (``GET /feed``, every envelope verified against
the office's own key) and its mailbox (pulled from a null cursor). Letters, registers,
recipients' states and leases are reconstructed by replaying both.

Nothing the office made is dropped silently: when the old database can still be read, what
it made that never reached the hub (letters sent while the link was down, ลงรับ, register
entries) is carried over and signed again after the hub's envelopes
(:func:`carry_over`), a number the hub's copy already used replaced by the register's next
(:mod:`node.sync.rebase`); the command lists every letter carried over and every number
voided because the copy that issued it is gone.

It needs the instance folder's keys, ``config.json`` and ``hub_keys.json`` (written at
enrolment), which is why those live beside, not inside, the database.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from pathlib import Path
from typing import Any

from node.context import NodeContext
from node.errors import from_protocol
from node.records.directory import accept_and_store, keys_from_list, read_hub_keys
from node.records.registers import display_number
from node.storage import feed
from node.storage.store import SIDECAR_NAME, Store, read_sidecar, write_sidecar
from node.sync.hubclient import hub_client
from node.sync.pull import pull_mailbox
from node.sync.rebase import FINAL_RECEIPTS, RENUMBER_NOTICE, RENUMBER_REASON, void_lost_numbers
from node.sync.replay import apply_own, catch_up, reconcile_leases
from node.sync.state import SyncResult
from protocol.canonical import parse_canonical
from protocol.envelope import Envelope
from protocol.errors import SarabanError
from protocol.messages import (
    Deliveries,
    FeedMessage,
    Letter,
    Receipt,
    RegisterEntry,
    Withdraw,
    parse_feed_message,
)
from protocol.numbers import Series


def _unpublished(old_db: Path, published: set[str]) -> list[tuple[str, FeedMessage]]:
    """The envelopes the old database made that the hub does not hold, in feed order."""
    if not old_db.exists():
        return []
    try:
        conn = sqlite3.connect(f"{old_db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT env_id, envelope FROM feed ORDER BY seq").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return []  # unreadable: nothing can be carried over, the lost numbers are voided
    out: list[tuple[str, FeedMessage]] = []
    for env_id, blob in rows:
        if env_id in published:
            continue
        env = Envelope.from_bytes(blob)
        out.append((env_id, parse_feed_message(env.kind, parse_canonical(env.body))))
    return out


def carry_over(ctx: NodeContext, store: Store, old_db: Path) -> list[dict[str, Any]]:
    """Sign again, after the hub's envelopes, what the old database made and the hub lacks.

    Returns each letter carried over (its number, subject and what replaced its number).
    """
    published = {r["env_id"] for r in store.query("SELECT env_id FROM feed")}
    unpublished = _unpublished(old_db, published)
    if not unpublished:
        return []
    answered = {
        (r["ref"], "final" if r["status"] in FINAL_RECEIPTS else r["status"])
        for r in store.query("SELECT ref, status FROM feed WHERE kind = 'receipt'")
    }
    renumber = _renumbering(ctx, store, unpublished)
    now = ctx.now()
    carried: list[dict[str, Any]] = []
    new_envs: dict[str, str] = {}
    with store.transaction():
        for old_env, msg in unpublished:
            if isinstance(msg, Receipt):
                kind = "final" if msg.status in FINAL_RECEIPTS else msg.status
                if (msg.letter, kind) in answered or (
                    msg.status == "delivered" and feed.delivered(store, msg.letter)
                ):
                    continue  # the hub's copy already answered for that letter
            changes: dict[str, Any] = {"seq": 0, "prev": None}
            if isinstance(msg, Deliveries):
                letters = [x for x in msg.letters if not feed.delivered(store, x)]
                if not letters:
                    continue  # the hub's copy answered for every one of them
                changes["letters"] = letters
            if isinstance(msg, Letter) and old_env in renumber:
                changes["number"] = renumber[old_env][1]
            if isinstance(msg, RegisterEntry):
                if msg.letter:
                    changes["letter"] = new_envs.get(msg.letter, msg.letter)
                if (msg.register, msg.number) in renumber:
                    number, display = renumber[(msg.register, msg.number)]
                    changes.update(
                        number=number,
                        display=display,
                        reason=RENUMBER_REASON.format(old=msg.display),
                    )
            if isinstance(msg, Withdraw):
                changes["letter"] = new_envs.get(msg.letter, msg.letter)
            kept, env = feed.append(store, ctx.signer, dataclasses.replace(msg, **changes), now)
            new_envs[old_env] = env.env_id
            apply_own(ctx, store, env.env_id, kept, now)
            if isinstance(kept, Letter):
                _queue(store, env.env_id)
                entry = {"number": kept.number, "subject": kept.subject}
                if old_env in renumber:
                    entry["replaced"] = renumber[old_env][2]
                    notice = RENUMBER_NOTICE.format(old=renumber[old_env][2], new=kept.number)
                    store.execute(
                        "UPDATE letters SET number_notice = ? WHERE env_id = ?",
                        (notice, env.env_id),
                    )
                carried.append(entry)
        store.log(now, "carried_over", {"letters": carried, "envelopes": len(new_envs)})
    return carried


def _renumbering(
    ctx: NodeContext, store: Store, unpublished: list[tuple[str, FeedMessage]]
) -> dict[Any, Any]:
    """Numbers of the old database that the hub's copy already used, and their replacements:
    ``(register, old number) -> (new number, new display)`` and, for the letter that carried
    it, ``old letter env_id -> (new number, new display, old display)``."""
    out: dict[Any, Any] = {}
    taken: dict[str, int] = {}
    for _, msg in unpublished:
        if not isinstance(msg, RegisterEntry) or msg.number is None:
            continue
        clash = store.scalar(
            "SELECT 1 FROM register_entries WHERE register = ? AND number = ?",
            (msg.register, msg.number),
        )
        if not clash:
            continue
        reg = store.one("SELECT * FROM registers WHERE id = ?", (msg.register,))
        if reg is None:
            continue
        high = store.scalar(
            "SELECT COALESCE(MAX(number), 0) FROM register_entries WHERE register = ?",
            (msg.register,),
        )
        number = max(int(high), taken.get(msg.register, 0)) + 1
        taken[msg.register] = number
        display = display_number(
            ctx, Series(reg["series"]), reg["display_code"], number, reg["year"], False
        )
        out[(msg.register, msg.number)] = (number, display)
        if msg.letter:
            out[msg.letter] = (number, display, msg.display)
    return out


def _queue(store: Store, env_id: str) -> None:
    """A carried-over letter waits for the hub again (รอส่ง), as it did in the old database."""
    store.execute("UPDATE letters SET state = 'queued' WHERE env_id = ?", (env_id,))
    store.execute(
        "UPDATE recipients SET state = 'queued' WHERE letter = "
        "(SELECT id FROM letters WHERE env_id = ?) AND state = 'sent'",
        (env_id,),
    )


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def restore_from_hub(
    instance: str | Path, test_config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Rebuild the node database in ``instance`` from its feed and mailbox at the hub.

    The new database is built beside the old one and swapped in only when the rebuild
    succeeded; the old file is kept as ``node.sqlite.before-restore-<time>``.
    """
    base = NodeContext.load(instance, test_config)
    db_path = Path(base.settings["DATABASE"])
    building = db_path.with_name(db_path.name + ".restoring")
    _remove_db(building)
    ctx = NodeContext.load(instance, {**(test_config or {}), "DATABASE": str(building)})
    sidecar = ctx.instance / SIDECAR_NAME
    pins = read_hub_keys(ctx.instance)
    client = hub_client(ctx)
    # No sidecar while building: the rebuilt file is not the node's database yet.
    store = Store(building)
    result = SyncResult(started_at=ctx.now())
    try:
        answer = client.directory()
        env = Envelope.from_wire(answer.get("directory"))
        with store.transaction():
            accept_and_store(
                store,
                env,
                ctx.now(),
                pinned=keys_from_list(pins),
                pinned_list=pins,
                instance=ctx.instance,
            )
        own = catch_up(ctx, store, client)
        carried = carry_over(ctx, store, db_path)
        lost = void_lost_numbers(ctx, store, read_sidecar(sidecar))
        pull_mailbox(ctx, store, client, result)
        with store.transaction():
            reconcile_leases(store)
            store.log(ctx.now(), "restored", {"feed": own, "mailbox": result.applied})
        counts = {
            "letters": store.scalar("SELECT COUNT(*) FROM letters"),
            "register_entries": store.scalar("SELECT COUNT(*) FROM register_entries"),
            "feed_seq": store.scalar("SELECT COALESCE(MAX(seq), 0) FROM feed"),
        }
        marks = store.high_marks()
        store.conn.execute("PRAGMA journal_mode = DELETE")  # fold the WAL into the file
    except SarabanError as e:
        store.close()
        _remove_db(building)
        raise from_protocol(e) from e
    except BaseException:
        store.close()
        _remove_db(building)
        raise
    finally:
        client.close()
    store.close()
    moved: str | None = None
    if db_path.exists():
        aside = db_path.with_name(f"{db_path.name}.before-restore-{int(ctx.now())}")
        os.replace(db_path, aside)
        for suffix in ("-wal", "-shm"):
            extra = db_path.with_name(db_path.name + suffix)
            if extra.exists():
                os.replace(extra, aside.with_name(aside.name + suffix))
        moved = str(aside)
    os.replace(building, db_path)
    sidecar.unlink(missing_ok=True)
    write_sidecar(sidecar, marks)
    return {
        "office": ctx.office,
        "feed_envelopes": own,
        "mailbox_envelopes": result.applied,
        "carried_over": carried,
        "lost_numbers_voided": lost,
        "held": result.held,
        "previous_database": moved,
        **counts,
    }
