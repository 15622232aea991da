"""Rebuilding a node from the hub: ``saraban node restore``.

:func:`restore_from_hub` moves the old database aside and rebuilds a new one from what the
hub holds for this office: its own feed (``GET /feed``, every envelope verified against
the office's own key) and its mailbox (pulled from a null cursor). Letters, registers,
recipients' states and leases are reconstructed by replaying both; nothing is re-signed
except a ``delivered`` receipt that was never sent.

It needs the instance folder's keys, ``config.json`` and ``hub_keys.json`` (written at
enrolment), which is why those live beside, not inside, the database.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from node.context import NodeContext
from node.errors import from_protocol
from node.records.directory import accept_and_store, keys_from_list, read_hub_keys
from node.storage import feed
from node.storage.highwater import local_marks
from node.storage.store import SIDECAR_NAME, Store, read_sidecar, write_sidecar
from node.sync.hubclient import hub_client
from node.sync.pull import pull_mailbox
from node.sync.replay import catch_up, reconcile_leases
from node.sync.state import SyncResult
from protocol.envelope import Envelope
from protocol.errors import SarabanError
from protocol.messages import RegisterEntry

LOST_REASON = "เลขที่ออกแล้วแต่สูญหายก่อนส่งถึงศูนย์กลาง (กู้คืนระบบ)"


def void_lost_numbers(
    ctx: NodeContext, store: Store, marks: dict[str, Any]
) -> list[dict[str, Any]]:
    """Void numbers the lost database issued but the hub never saw, so none is reused.

    The sidecar knows the highest number of each register; every number above what the
    rebuilt database holds is voided with a reason. Feed seqs the hub never saw are free
    to use again.
    """
    _, local = local_marks(store)
    voided: list[dict[str, Any]] = []
    now = ctx.now()
    with store.transaction():
        for reg, high in (marks.get("registers") or {}).items():
            for number in range(local.get(reg, 0) + 1, int(high) + 1):
                store.insert(
                    "register_entries",
                    {
                        "register": reg,
                        "number": number,
                        "action": "voided",
                        "reason": LOST_REASON,
                        "display": str(number),
                        "at": now,
                    },
                )
                entry = RegisterEntry(
                    register=reg, action="voided", number=number, reason=LOST_REASON
                )
                feed.append(store, ctx.signer, entry, now)
                voided.append({"register": reg, "number": number})
    return voided


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
        "lost_numbers_voided": lost,
        "quarantined": len(result.quarantined),
        "previous_database": moved,
        **counts,
    }
