"""The append-only, hash-chained audit log: who did what, when, to which letter, from where.

Each entry records the actor (who), the action (what), the time (when), the subject (which
letter, ``letter:<id>``, or which account, ``user:<name>``), details, and the client address
of the web or API request that caused it (``address``; NULL for what the node did by itself,
a sync or a scheduled job). Each row stores ``hash = sha256(prev_hash + canonical JSON of the
row's content)``, where the content includes the row id and the address, so editing,
deleting, inserting or reordering any row breaks the chain from that row on (rows written
before the address was recorded hash without it, so old files still verify). Deleting rows
from the *end* leaves a valid shorter chain; the count and head hash kept in the high-water
sidecar (written after every commit) catch that locally, and the head the hub verified
catches it even when the whole folder is replaced (:mod:`node.sync.audit_heads`).

:func:`verify_audit` names each broken entry and what is wrong with it;
:func:`chain_links` gives the hub the recomputed links since the head it last verified.

This module does not decide what is worth auditing; every clerk action calls
:func:`record` in its own transaction.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from node.storage.store import Store
from protocol.audit_chain import GENESIS, entry_hash

MAX_ADDRESS = 64
"""Characters of a client address kept (an IPv6 address with a zone fits)."""

_MOVE_WINDOW = 20
"""How far (in ids) :func:`verify_audit` looks for the place a moved entry was written."""

_ADDRESS: ContextVar[str | None] = ContextVar("saraban_audit_address", default=None)


def set_request_address(address: str | None) -> Any:
    """Start recording ``address`` on this thread's entries; return the token to reset."""
    return _ADDRESS.set((address or "")[:MAX_ADDRESS] or None)


def reset_request_address(token: Any) -> None:
    """Stop recording the address set with ``token``."""
    _ADDRESS.reset(token)


def _row_hash(
    prev_hash: str,
    row_id: int,
    at: float,
    actor: str,
    action: str,
    subject: str,
    detail: str,
    address: str | None = None,
) -> str:
    content: dict[str, Any] = {
        "id": row_id,
        "at": repr(float(at)),
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": detail,
    }
    if address is not None:
        content["address"] = address
    return entry_hash(prev_hash, content)


def _content_hash(row: Any, row_id: int | None = None) -> str:
    """The hash ``row``'s content gives on its stored ``prev_hash`` (as ``row_id`` if given)."""
    return _row_hash(
        str(row["prev_hash"] or ""),
        int(row["id"] if row_id is None else row_id),
        float(row["at"] or 0),
        row["actor"],
        row["action"],
        row["subject"],
        row["detail"],
        row["address"],
    )


def record(
    store: Store,
    at: float,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one audit row inside the caller's transaction; return its id."""
    last = store.audit_head
    if last is None:
        last = store.conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    prev_hash = last[1] if last else GENESIS
    row_id = (last[0] if last else 0) + 1
    detail_text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)
    address = _ADDRESS.get()
    digest = _row_hash(prev_hash, row_id, at, actor, action, subject, detail_text, address)
    store.insert(
        "audit",
        {
            "id": row_id,
            "at": at,
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": detail_text,
            "address": address,
            "prev_hash": prev_hash,
            "hash": digest,
        },
    )
    if store.in_transaction:
        store.audit_head = (row_id, digest)
    return row_id


@dataclass
class AuditReport:
    """The result of checking the chain: ``ok``, rows checked, the head, what is wrong."""

    ok: bool
    rows: int
    problems: list[str] = field(default_factory=list)
    last_id: int = 0
    head: str = GENESIS


def _moved_from(row: Any, candidates: list[int]) -> int | None:
    """The id ``row``'s content was recorded under, when it is another one of ``candidates``."""
    for other in candidates:
        if other != row["id"] and other > 0 and _content_hash(row, other) == row["hash"]:
            return other
    return None


def verify_audit(store: Store, expected: dict[str, Any] | None = None) -> AuditReport:
    """Recompute the chain and name every broken entry (by id, and what is wrong).

    ``expected`` (``{"count", "head"}``, the high-water sidecar's) also catches entries
    deleted from the end and entries added after the last head Saraban recorded.
    """
    rows = store.query("SELECT * FROM audit ORDER BY id")
    by_hash = {r["hash"]: int(r["id"]) for r in rows}
    problems: list[str] = []
    prev_hash = GENESIS
    expected_id = 1
    recorded = int((expected or {}).get("count") or 0)
    for row in rows:
        row_id = int(row["id"])
        gap = row_id > expected_id
        if gap:
            first, last = expected_id, row_id - 1
            span = f"entry {first}" if first == last else f"entries {first}-{last}"
            problems.append(f"{span} deleted (the chain skips from {first - 1} to {row_id})")
        moved = None
        if _content_hash(row) != row["hash"]:
            moved = _moved_from(row, [*range(row_id - _MOVE_WINDOW, row_id + _MOVE_WINDOW + 1)])
            if moved is not None:
                problems.append(f"entry {row_id} reordered: it holds the entry written as {moved}")
            elif expected and row_id > recorded:
                problems.append(
                    f"entry {row_id} inserted: it is past the last recorded entry "
                    f"{recorded} and its content does not match its hash"
                )
            else:
                problems.append(f"entry {row_id} edited: its content does not match its hash")
        elif row["prev_hash"] != prev_hash and not gap:
            after = by_hash.get(row["prev_hash"])
            if after is not None and after >= row_id:
                problems.append(f"entry {row_id} reordered: it was written after entry {after}")
            else:
                problems.append(
                    f"entry {row_id} inserted or its predecessor replaced: it does not "
                    f"link to entry {row_id - 1}"
                )
        prev_hash = row["hash"]
        expected_id = row_id + 1
    if expected:
        _check_recorded_head(rows, expected, recorded, problems)
    last_id = int(rows[-1]["id"]) if rows else 0
    head = rows[-1]["hash"] if rows else GENESIS
    return AuditReport(not problems, len(rows), problems, last_id, head)


def _check_recorded_head(
    rows: list[Any], expected: dict[str, Any], recorded: int, problems: list[str]
) -> None:
    """Compare the chain with the head written to the sidecar after the last commit."""
    if not recorded:
        return
    last_id = int(rows[-1]["id"]) if rows else 0
    if last_id < recorded:
        first = last_id + 1
        span = f"entry {first}" if first == recorded else f"entries {first}-{recorded}"
        problems.append(f"{span} deleted from the end (the recorded head is entry {recorded})")
        return
    at_head = next((r for r in rows if int(r["id"]) == recorded), None)
    if at_head is not None and at_head["hash"] != expected.get("head"):
        problems.append(f"entry {recorded} differs from the recorded head")
    if last_id > recorded and not any("inserted" in p for p in problems):
        problems.append(
            f"entries {recorded + 1}-{last_id} were not written by Saraban "
            f"(the recorded head is entry {recorded})"
        )


def chain_links(store: Store, after: int, limit: int) -> list[list[Any]]:
    """Up to ``limit`` links ``[id, stored prev_hash, hash recomputed from the content]`` of
    the entries after id ``after``, oldest first: what the hub checks continuity with.

    The hash is recomputed here rather than read, so an entry edited in place breaks the
    link to the next one at the hub, even though the hub never sees the content.
    """
    rows = store.query(
        "SELECT * FROM audit WHERE id > ? ORDER BY id LIMIT ?", (int(after), int(limit))
    )
    return [[int(r["id"]), r["prev_hash"], _content_hash(r)] for r in rows]
