"""Check the hub's own audit chain: operator actions, enrollments, key changes, alerts
closed or resolved, each entry hash-chained to the one before (:mod:`hub.store.operators`).

:func:`verify_hub_audit` recomputes every entry's hash and names each entry edited,
deleted, inserted or reordered. Entries written before the hub kept a chain (no hash) are
counted, not judged; once the chain begins, every entry must be on it.

Does not: catch entries deleted from the very end (the chain left is whole); the head it
prints is what an operator keeps to compare with later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.store import HubStore
from hub.store.operators import action_content
from protocol.audit_chain import GENESIS, entry_hash

_MOVE_WINDOW = 20


@dataclass
class HubAuditReport:
    """What :func:`verify_hub_audit` found."""

    rows: int
    problems: list[str] = field(default_factory=list)
    unchained: int = 0
    last_id: int = 0
    head: str = GENESIS

    @property
    def ok(self) -> bool:
        """Nothing is wrong."""
        return not self.problems


def _hash_as(row: Any, row_id: int) -> str:
    content = action_content(
        row_id,
        float(row["at"]),
        row["operator"],
        row["action"],
        row["target"],
        row["reason"],
        row["detail"],
    )
    return entry_hash(str(row["prev_hash"]), content)


def verify_hub_audit(store: HubStore) -> HubAuditReport:
    """Recompute the hub's chain and name every broken entry."""
    rows = store.action_chain()
    report = HubAuditReport(len(rows))
    by_hash = {r["hash"]: int(r["id"]) for r in rows if r["hash"]}
    problems = report.problems
    prev: str | None = None  # None: the chain has not begun
    expected_id = 0
    for row in rows:
        row_id = int(row["id"])
        if prev is None and not row["hash"]:
            report.unchained += 1
            expected_id = row_id + 1
            continue
        if not row["hash"] or not row["prev_hash"]:
            problems.append(f"entry {row_id} inserted: it carries no hash")
            expected_id = row_id + 1
            continue
        gap = prev is not None and row_id > expected_id
        if gap:
            span = f"{expected_id}" if expected_id == row_id - 1 else f"{expected_id}-{row_id - 1}"
            problems.append(f"entry {span} deleted (the chain skips to {row_id})")
        if _hash_as(row, row_id) != row["hash"]:
            near = range(row_id - _MOVE_WINDOW, row_id + _MOVE_WINDOW + 1)
            moved = next((i for i in near if i != row_id and _hash_as(row, i) == row["hash"]), None)
            if moved is not None:
                problems.append(f"entry {row_id} reordered: it holds the entry written as {moved}")
            else:
                problems.append(f"entry {row_id} edited: its content does not match its hash")
        elif row["prev_hash"] != (prev or GENESIS) and not gap:
            after = by_hash.get(row["prev_hash"])
            if after is not None and after >= row_id:
                problems.append(f"entry {row_id} reordered: it was written after entry {after}")
            else:
                problems.append(
                    f"entry {row_id} inserted or its predecessor replaced: it does not "
                    f"link to entry {row_id - 1}"
                )
        prev = row["hash"]
        expected_id = row_id + 1
        report.last_id, report.head = row_id, str(row["hash"])
    return report
