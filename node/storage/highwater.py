"""The old-backup guard: never reissue a feed seq or a letter number.

Two records say how far this office has already gone: the sidecar file written beside the
database after every commit (:func:`node.storage.store.write_sidecar`) and the hub's
``GET /highwater`` answer, which the sync worker stores in ``sync_state.hub_ahead``. When
the database is behind either (it was restored from an old copy), the node refuses to
issue numbers or append to its feed until it has fetched its missing envelopes back from
the hub (:func:`node.sync.restore.catch_up`).

Shared registers are compared with the sidecar only: the hub's high for a shared register
counts numbers issued by other offices.
"""

from __future__ import annotations

import json
from typing import Any

from node.errors import BehindHighwater
from node.storage.store import Store, read_sidecar


def local_marks(store: Store) -> tuple[int, dict[str, int]]:
    """The feed seq and per-register highs this database holds."""
    seq = int(store.scalar("SELECT COALESCE(MAX(seq), 0) FROM feed"))
    regs = {
        r["register"]: int(r["high"])
        for r in store.query(
            "SELECT register, MAX(number) AS high FROM register_entries "
            "WHERE number IS NOT NULL GROUP BY register"
        )
    }
    return seq, regs


def _gaps(reference: dict[str, Any], seq: int, regs: dict[str, int], source: str) -> list[str]:
    out: list[str] = []
    ref_seq = int(reference.get("feed_seq") or 0)
    if ref_seq > seq:
        out.append(f"{source}: feed seq {ref_seq} > local {seq}")
    for reg, high in (reference.get("registers") or {}).items():
        if int(high) > regs.get(reg, 0):
            out.append(f"{source}: register {reg} number {high} > local {regs.get(reg, 0)}")
    return out


def behind(store: Store) -> list[str]:
    """How the database is behind the sidecar or the hub; empty when it is not."""
    seq, regs = local_marks(store)
    problems: list[str] = []
    if store.sidecar is not None:
        problems += _gaps(read_sidecar(store.sidecar), seq, regs, "highwater.json")
    raw = store.scalar("SELECT hub_ahead FROM sync_state WHERE id = 1")
    if raw:
        problems += _gaps(json.loads(raw), seq, regs, "hub")
    return problems


def check_not_behind(store: Store) -> None:
    """Raise :class:`~node.errors.BehindHighwater` when the database is behind."""
    problems = behind(store)
    if problems:
        raise BehindHighwater(
            "database is behind what this office already issued ("
            + "; ".join(problems[:3])
            + "); run a sync to catch up from the hub before issuing"
        )


def record_hub_highwater(
    store: Store, answer: dict[str, Any], office: str, shared: set[tuple[str, str]]
) -> None:
    """Store the hub's ``/highwater`` answer, keeping only this office's owned registers.

    ``shared`` holds the ``(owner, series)`` pairs numbered by the hub through leases.
    """
    feed = answer.get("feed") or {}
    regs: dict[str, int] = {}
    for reg, high in (answer.get("registers") or {}).items():
        owner, _, rest = str(reg).partition("|")
        series = rest.partition("|")[0]
        if owner == office and (owner, series) not in shared:
            regs[reg] = int(high)
    value = {"feed_seq": int(feed.get("seq") or 0), "registers": regs}
    store.execute(
        "UPDATE sync_state SET hub_ahead = ? WHERE id = 1",
        (json.dumps(value, ensure_ascii=False),),
    )
