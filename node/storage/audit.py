"""The append-only, hash-chained audit log: who did what, and proof nobody edited it.

Each row stores ``hash = sha256(prev_hash + canonical JSON of the row's content)``, where
the content includes the row id, so editing, deleting or reordering any row breaks the
chain from that row on. Deleting rows from the *end* leaves a valid shorter chain; the
count and head hash kept in the high-water sidecar (written after every commit) catch
that, so :func:`verify_audit` takes the expected head.

This module does not decide what is worth auditing; every clerk action calls
:func:`record` in its own transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from node.storage.store import Store
from protocol.canonical import canonical_bytes

GENESIS = "0" * 64


def _row_hash(
    prev_hash: str, row_id: int, at: float, actor: str, action: str, subject: str, detail: str
) -> str:
    content = canonical_bytes(
        {
            "id": row_id,
            "at": repr(float(at)),
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": detail,
        }
    )
    return hashlib.sha256(prev_hash.encode("ascii") + content).hexdigest()


def record(
    store: Store,
    at: float,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one audit row inside the caller's transaction; return its id."""
    last = store.one("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
    prev_hash = last["hash"] if last else GENESIS
    row_id = (last["id"] if last else 0) + 1
    detail_text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)
    digest = _row_hash(prev_hash, row_id, at, actor, action, subject, detail_text)
    store.insert(
        "audit",
        {
            "id": row_id,
            "at": at,
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": detail_text,
            "prev_hash": prev_hash,
            "hash": digest,
        },
    )
    return row_id


@dataclass
class AuditReport:
    """The result of checking the chain: ``ok``, rows checked and what is wrong."""

    ok: bool
    rows: int
    problems: list[str] = field(default_factory=list)


def verify_audit(store: Store, expected: dict[str, Any] | None = None) -> AuditReport:
    """Recompute the chain; with ``expected`` (``{"count", "head"}``) also catch truncation."""
    problems: list[str] = []
    prev_hash = GENESIS
    expected_id = 1
    rows = store.query("SELECT * FROM audit ORDER BY id")
    for row in rows:
        if row["id"] != expected_id:
            problems.append(f"row {expected_id} is missing (next row is {row['id']})")
            expected_id = row["id"]
        if row["prev_hash"] != prev_hash:
            problems.append(f"row {row['id']} does not link to the row before it")
        digest = _row_hash(
            row["prev_hash"],
            row["id"],
            row["at"],
            row["actor"],
            row["action"],
            row["subject"],
            row["detail"],
        )
        if digest != row["hash"]:
            problems.append(f"row {row['id']} was edited (hash mismatch)")
        prev_hash = row["hash"]
        expected_id += 1
    if expected:
        count = int(expected.get("count") or 0)
        if len(rows) < count:
            problems.append(f"{count - len(rows)} row(s) were deleted from the end")
        elif count and rows and len(rows) >= count:
            if rows[count - 1]["hash"] != expected.get("head"):
                problems.append(f"row {count} differs from the recorded head")
    return AuditReport(not problems, len(rows), problems)
