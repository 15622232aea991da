"""What needs a user now: the lists of the clerk's home page (งานของฉัน).

Three lists: incoming letters waiting for ลงรับ (most urgent speed class first, then
earliest arrival), letters assigned to the user or one of their divisions, and ด่วนภายใน
deadlines within :data:`DEADLINE_WARNING_SECONDS` or already past. A classified letter the
user may not open stays in a list, so the office sees that it exists, but without its
subject (:data:`HIDDEN_SUBJECT_TH`).

Does not: render anything, or change a letter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from node.records.access import Viewer
from node.storage.store import Store
from protocol.lettertypes import DEADLINE_SPEED

SPEED_ORDER: tuple[str, ...] = ("ด่วนที่สุด", "ด่วนมาก", "ด่วน", DEADLINE_SPEED)
"""Speed classes from most to least urgent; a letter without one comes after them all."""

DEADLINE_WARNING_SECONDS = 24 * 3600
HIDDEN_SUBJECT_TH = "(หนังสือชั้นความลับ)"
LIMIT = 200

_COLUMNS = (
    "id, origin, number, subject, speed, secrecy, state, stage, deadline, received_at, "
    "registered_at, receipt_number, assigned_to, paper"
)
_SPEED_RANK = (
    "CASE COALESCE(speed, '') "
    + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SPEED_ORDER))
    + f" ELSE {len(SPEED_ORDER)} END"
)
_OPEN_STAGE = "COALESCE(stage, '') NOT IN ('done', 'kept', 'destroyed')"


def _shown(rows: list[dict[str, Any]], viewer: Viewer) -> list[dict[str, Any]]:
    for r in rows:
        r["hidden"] = not viewer.may_open(r)
        if r["hidden"]:
            r["subject"] = HIDDEN_SUBJECT_TH
            r["origin"] = ""
    return rows


def waiting_for_registration(store: Store, viewer: Viewer) -> list[dict[str, Any]]:
    """Incoming letters not yet registered, most urgent first, then by arrival."""
    sql = (
        f"SELECT {_COLUMNS} FROM letters WHERE direction = 'in' AND state = 'delivered' "  # noqa: S608
        f"ORDER BY {_SPEED_RANK}, received_at, id LIMIT ?"
    )
    return _shown(store.query(sql, (LIMIT,)), viewer)


def assigned_to_me(store: Store, viewer: Viewer) -> list[dict[str, Any]]:
    """Letters now with the user or one of their divisions."""
    holders = [viewer.user, *sorted(viewer.divisions)]
    marks = ", ".join("?" for _ in holders)
    sql = (
        f"SELECT {_COLUMNS} FROM letters WHERE direction = 'in' AND stage = 'assigned' "  # noqa: S608
        f"AND assigned_to IN ({marks}) ORDER BY {_SPEED_RANK}, registered_at, id LIMIT ?"
    )
    return _shown(store.query(sql, (*holders, LIMIT)), viewer)


def deadlines_near(store: Store, viewer: Viewer, now: float) -> list[dict[str, Any]]:
    """ด่วนภายใน letters still open whose deadline is within a day or past, soonest first."""
    sql = (
        f"SELECT {_COLUMNS} FROM letters WHERE direction = 'in' AND speed = ? "  # noqa: S608
        f"AND deadline IS NOT NULL AND state IN ('delivered', 'registered') AND {_OPEN_STAGE}"
    )
    near = []
    for r in store.query(sql, (DEADLINE_SPEED,)):
        try:
            due = datetime.fromisoformat(r["deadline"]).timestamp()
        except (TypeError, ValueError):
            continue
        if due - now <= DEADLINE_WARNING_SECONDS:
            r["due_at"] = due
            r["overdue"] = due < now
            near.append(r)
    near.sort(key=lambda r: (r["due_at"], r["id"]))
    return _shown(near[:LIMIT], viewer)


def my_work(store: Store, viewer: Viewer, now: float) -> dict[str, list[dict[str, Any]]]:
    """The three lists of the home page."""
    return {
        "waiting": waiting_for_registration(store, viewer),
        "assigned": assigned_to_me(store, viewer),
        "deadlines": deadlines_near(store, viewer, now),
    }
