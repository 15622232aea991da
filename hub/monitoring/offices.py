"""The federation as the operator sees it: every office's state and the numbers behind it.

An office is ``healthy`` when heard from (push, pull or heartbeat) within
LATE_AFTER_MINUTES, ``late`` up to SILENT_AFTER_HOURS, ``silent`` beyond; offices never
enrolled and revoked ones are said to be so. Rows carry what the node reported in its last
heartbeat (outbox backlog, clock skew, software), what the hub knows itself (mailbox
backlog, last push and pull) and the fingerprint of the office's active key.

Does not: raise or close alerts (:mod:`hub.monitoring.alerts`), or render anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.monitoring.timings import thai_span
from hub.store import HubStore
from protocol.keys import fingerprint
from protocol.thai import format_thai_duration

STATES = ("healthy", "late", "silent", "never enrolled", "revoked")
STATE_LABELS = {
    "healthy": "ปกติ",
    "late": "ล่าช้า",
    "silent": "ขาดการติดต่อ",
    "never enrolled": "ยังไม่ลงทะเบียน",
    "revoked": "ถูกเพิกถอน",
}
SORT_KEYS = (
    "id",
    "name",
    "group",
    "state",
    "last_contact",
    "last_push",
    "last_pull",
    "last_heartbeat",
    "outbox",
    "mailbox",
    "clock_skew",
    "software",
)


@dataclass(frozen=True)
class Thresholds:
    """When an office counts as late, silent, or its clock as wrong (seconds)."""

    late_after: float
    silent_after: float
    skew_limit: float

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Thresholds:
        return cls(
            float(settings["LATE_AFTER_MINUTES"]) * 60,
            float(settings["SILENT_AFTER_HOURS"]) * 3600,
            float(settings["CLOCK_SKEW_LIMIT_SECONDS"]),
        )


def last_contact(office: Mapping[str, Any]) -> float | None:
    """When the hub last heard from the office (push, pull or heartbeat)."""
    contacts = [office[k] for k in ("last_push", "last_pull", "last_heartbeat") if office[k]]
    return max(contacts) if contacts else None


def office_state(
    office: Mapping[str, Any], now: float, late_after: float, silent_after: float
) -> str:
    """healthy / late / silent / never enrolled / revoked, from the office's last contact."""
    if office["status"] == "revoked":
        return "revoked"
    if office["status"] != "enrolled":
        return "never enrolled"
    last = last_contact(office) or office["enrolled_at"] or 0
    quiet = now - last
    if quiet <= late_after:
        return "healthy"
    if quiet <= silent_after:
        return "late"
    return "silent"


def office_rows(store: HubStore, now: float, limits: Thresholds) -> list[dict[str, Any]]:
    """Every office as the federation view shows it, in the store's order (group, id)."""
    backlogs = store.mailbox_backlogs()
    keys = store.active_keys()
    rows = []
    for o in store.offices():
        state = office_state(o, now, limits.late_after, limits.silent_after)
        key = keys.get(o["id"])
        contact = last_contact(o)
        skew = o["clock_skew"]
        rows.append(
            {
                **o,
                "group": o["group_no"],
                "state": state,
                "state_label": STATE_LABELS[state],
                "last_contact": contact,
                "quiet_seconds": None if contact is None else max(0.0, now - contact),
                "outbox": o["outbox_backlog"],
                "mailbox": backlogs.get(o["id"], 0),
                "skew_too_large": skew is not None and abs(skew) > limits.skew_limit,
                "key_fingerprint": None if key is None else fingerprint(key["public"]),
                "keyid": None if key is None else key["keyid"],
            }
        )
    return rows


def _sort_value(row: Mapping[str, Any], key: str) -> tuple[int, Any]:
    value = row.get(key)
    if key == "state":
        value = STATES.index(row["state"])
    elif key == "clock_skew" and value is not None:
        value = abs(value)
    # Empty values sort last whatever the direction is.
    return (1, 0) if value is None else (0, value)


def select_rows(
    rows: list[dict[str, Any]],
    group: int | None = None,
    state: str | None = None,
    sort: str = "group",
    descending: bool = False,
) -> list[dict[str, Any]]:
    """Rows of one provincial group and/or state, sorted by ``sort`` (one of SORT_KEYS)."""
    chosen = [
        r
        for r in rows
        if (group is None or r["group"] == group) and (state is None or r["state"] == state)
    ]
    key = sort if sort in SORT_KEYS else "group"
    present = [r for r in chosen if r.get(key) is not None or key == "state"]
    missing = [r for r in chosen if not (r.get(key) is not None or key == "state")]
    present.sort(key=lambda r: (_sort_value(r, key), r["id"]), reverse=descending)
    return present + missing


def groups(rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """The provincial groups present: ``(number, name)``, in order."""
    seen: dict[int, str] = {}
    for r in rows:
        if r["group"] is not None:
            seen.setdefault(int(r["group"]), r["group_name"] or f"กลุ่มจังหวัดที่ {r['group']}")
    return sorted(seen.items())


def state_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many offices are in each state (every state listed, zeros too)."""
    counts = dict.fromkeys(STATES, 0)
    for r in rows:
        counts[r["state"]] += 1
    return counts


SKEW_UNNOTICED = 0.5
"""An office clock within this many seconds of the hub's reads as on time (never ``-0``)."""


def clock_skew_text(seconds: Any, short: bool = False) -> str:
    """How far an office's clock is from the hub's, in Thai words: ``เร็วกว่าศูนย์กลาง 7
    วินาที``, ``ช้ากว่าศูนย์กลาง 2 นาที 5 วินาที``, ``ตรงกับศูนย์กลาง``; ``short`` drops
    ``กว่าศูนย์กลาง`` for a table cell. ``-`` when the office has not reported its clock."""
    if seconds is None or seconds == "":
        return "-"
    skew = float(seconds)
    if abs(skew) < SKEW_UNNOTICED:
        return "ตรง" if short else "ตรงกับศูนย์กลาง"
    way = "เร็ว" if skew > 0 else "ช้า"
    return f"{way} {thai_span(skew)}" if short else f"{way}กว่าศูนย์กลาง {thai_span(skew)}"


def office_problems(row: Mapping[str, Any], limits: Thresholds) -> list[str]:
    """What is wrong with one office now, in Thai, most serious first."""
    problems = []
    if row["state"] == "silent":
        problems.append(f"ขาดการติดต่อเกิน {format_thai_duration(limits.silent_after)}")
    elif row["state"] == "late":
        problems.append(f"ไม่ได้ติดต่อเกิน {format_thai_duration(limits.late_after)}")
    if row["skew_too_large"]:
        problems.append(
            f"นาฬิกาของหน่วยงาน{clock_skew_text(row['clock_skew'])}"
            f" (เกิน {format_thai_duration(limits.skew_limit)})"
        )
    if row.get("clock_refused_at") is not None:
        skew = float(row.get("clock_refused_skew") or 0)
        problems.append(
            f"ศูนย์กลางปฏิเสธการซิงค์ เพราะนาฬิกาของหน่วยงาน{'เร็ว' if skew > 0 else 'ช้า'}ไป"
            f" {format_thai_duration(skew)}"
        )
    if row["last_sync_ok"] == 0 and row["last_error"]:
        problems.append(f"การซิงค์ครั้งล่าสุดล้มเหลว: {row['last_error']}")
    if row["outbox"]:
        problems.append(f"มีซองเอกสารค้างส่งที่หน่วยงาน {row['outbox']} ซอง")
    if row["mailbox"]:
        problems.append(f"มีซองเอกสารรอหน่วยงานมารับที่ศูนย์กลาง {row['mailbox']} ซอง")
    if row["provisional_pending"]:
        problems.append(f"มีเลขหนังสือชั่วคราวรอเลขจริง {row['provisional_pending']} เลข")
    return problems
