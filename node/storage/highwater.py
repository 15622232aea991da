"""The old-backup guard: never reissue a letter number, and know when the feed is behind.

Two records say how far this office has already gone: the sidecar file written beside the
database after every commit (:func:`node.storage.store.write_sidecar`) and the hub's
``GET /highwater`` answer, which the sync worker stores in ``sync_state.hub_ahead``. A
database behind either was started from an old copy (ADR 0012). It keeps working: an owned
register issues above every mark it knows (:func:`issued_high`), so no number the office
already gave out is given again, and a shared register issues provisional numbers the hub
makes final. The feed seqs it signs meanwhile are signed again after the hub's at the first
contact with the hub (:mod:`node.sync.rebase`).

Shared registers are compared with the sidecar only: the hub's high for a shared register
counts numbers issued by other offices.
"""

from __future__ import annotations

import json
from typing import Any

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


def known_marks(store: Store) -> tuple[int, dict[str, int]]:
    """The highest feed seq and register numbers this office is known to have issued: the
    database's, the sidecar's and the hub's, whichever is higher."""
    seq, regs = local_marks(store)
    references = [read_sidecar(store.sidecar)] if store.sidecar is not None else []
    raw = store.scalar("SELECT hub_ahead FROM sync_state WHERE id = 1")
    if raw:
        references.append(json.loads(raw))
    for ref in references:
        seq = max(seq, int(ref.get("feed_seq") or 0))
        for reg, high in (ref.get("registers") or {}).items():
            regs[reg] = max(regs.get(reg, 0), int(high))
    return seq, regs


def issued_high(store: Store, register: str) -> int:
    """The highest number of ``register`` this office is known to have issued anywhere."""
    return known_marks(store)[1].get(register, 0)


def register_behind(store: Store, register: str) -> bool:
    """Whether some copy of this office issued numbers of ``register`` this database lacks."""
    return issued_high(store, register) > local_marks(store)[1].get(register, 0)


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
