"""Where a letter this office sent is, recipient by recipient: the tracking table of its page.

Each recipient's row shows its state and five steps, each with its time (Buddhist era,
Bangkok time) or ``-`` where it has not happened:

* ส่ง: when the clerk sent the letter (``letters.dispatched_at``);
* ถึงศูนย์กลาง: when the hub accepted the letter's envelope, as this node recorded its signed
  ack (``feed.acked_at`` of the accepted envelope, :mod:`node.sync.push`);
* ส่งถึงปลายทาง, ลงรับ (with the เลขรับ) and ส่งคืน (with the reason): the times the recipient
  wrote in its ``delivered``, ``registered`` and ``returned`` (or ``invalid``) receipts,
  from the letter's history (the audit rows :func:`node.records.inbox.apply_receipt`
  writes), or from the recipient's row where the history has none. A step this node knows
  happened without knowing when (a later step came first) says so instead of a time.

A recipient on paper has only ส่ง: the rest happens outside the system.

Does not: apply receipts or move recipients' states (:mod:`node.records.inbox`,
:mod:`node.records.letters`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from node.api.kit import store
from node.storage.feed import ACCEPTED, parse_iso
from protocol.thai import BANGKOK, format_thai_date, format_thai_time

PAPER_CHANNEL = "paper"

RECIPIENT_STATE_TH = {
    "queued": "รอส่ง",
    "sent": "ส่งแล้ว",
    "delivered": "ถึงปลายทาง",
    "registered": "ลงรับแล้ว",
    "returned": "ส่งคืน",
    "withdrawn": "ถอนแล้ว",
    "invalid": "ผู้รับแจ้งว่าหนังสือไม่ถูกต้อง",
    "dispatched": "ส่งแล้ว",
}

STEPS = (
    ("sent", "ส่ง"),
    ("hub", "ถึงศูนย์กลาง"),
    ("delivered", "ส่งถึงปลายทาง"),
    ("registered", "ลงรับ"),
    ("returned", "ส่งคืน"),
)
"""The steps of the table, in order: key and Thai column title."""

RECEIPT_STEPS = {
    "receipt_delivered": "delivered",
    "receipt_registered": "registered",
    "receipt_returned": "returned",
    "receipt_invalid": "returned",
}
"""History actions of recipients' receipts, and the step each one is."""


def step_time(moment: float | None) -> dict[str, str] | None:
    """A moment as the table shows it: Buddhist-era date and Bangkok time, on two lines."""
    if moment is None:
        return None
    local = datetime.fromtimestamp(float(moment), BANGKOK)
    return {
        "iso": local.isoformat(timespec="seconds"),
        "date": format_thai_date(local),
        "time": format_thai_time(local),
    }


def tracking_rows(letter: Mapping[str, Any], names: Callable[[str], str]) -> list[dict[str, Any]]:
    """The tracking table of an outgoing letter (:func:`node.records.letters.get_letter`)."""
    sent_at = letter.get("dispatched_at")
    if sent_at is None and letter.get("env_id"):
        sent_at = letter.get("created_at")
    hub_at = None
    if letter.get("env_id"):
        hub_at = store().scalar(
            "SELECT acked_at FROM feed WHERE env_id = ? AND state = ?",
            (letter["env_id"], ACCEPTED),
        )
    receipts = _receipts(letter.get("history") or [])
    return [
        _row(t, names, sent_at, hub_at, receipts.get(str(t["office"]), {}))
        for t in letter.get("tracking") or []
    ]


def _receipts(history: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per recipient office and step: the first receipt of that step, its time and details."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for h in history:
        step = RECEIPT_STEPS.get(str(h.get("action")))
        detail = h.get("detail")
        if step is None or not isinstance(detail, dict) or not detail.get("office"):
            continue
        at = parse_iso(detail.get("at")) or h.get("at")
        found.setdefault(str(detail["office"]), {}).setdefault(step, {**detail, "time": at})
    return found


def _row(
    t: Mapping[str, Any],
    names: Callable[[str], str],
    sent_at: float | None,
    hub_at: float | None,
    receipts: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    paper = t.get("channel") == PAPER_CHANNEL
    state = str(t["state"])
    label = RECIPIENT_STATE_TH.get(state, state)
    if state == "dispatched" and t.get("method"):
        label = f"ส่งแล้ว (ทาง{t['method']})"
    notes = [f"เหตุผล: {t['reason']}"] if state == "withdrawn" and t.get("reason") else []
    channel = "ระบบ"
    if paper:
        channel = f"กระดาษ ({t['method']})" if t.get("method") else "กระดาษ"
    steps = {key: _cell(None) for key, _ in STEPS}
    steps["sent"] = _cell(sent_at)
    if not paper:
        steps.update(_electronic_steps(t, hub_at, receipts))
    return {
        "office": t["office"],
        "name": t["office"] if paper else names(str(t["office"])),
        "channel_th": channel,
        "state": state,
        "state_th": label,
        "notes": notes,
        "steps": [(title, steps[key]) for key, title in STEPS],
    }


def _electronic_steps(
    t: Mapping[str, Any], hub_at: float | None, receipts: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    state = str(t["state"])
    at_row = parse_iso(t.get("at"))
    registered = receipts.get("registered") or (
        {"time": at_row, "receipt_number": t.get("receipt_number")} if state == "registered" else {}
    )
    returned = receipts.get("returned") or (
        {"time": at_row, "reason": t.get("reason")} if state in ("returned", "invalid") else {}
    )
    delivered = receipts.get("delivered") or ({"time": at_row} if state == "delivered" else {})
    answered = bool(registered or returned)
    reached = bool(delivered) or answered
    number = registered.get("receipt_number")
    reason = returned.get("reason")
    return {
        "hub": _cell(hub_at, happened=reached),
        "delivered": _cell(delivered.get("time"), happened=answered),
        "registered": _cell(
            registered.get("time"),
            happened=bool(registered),
            note=f"เลขรับ {number}" if number else None,
        ),
        "returned": _cell(
            returned.get("time"),
            happened=bool(returned),
            note=f"เหตุผล: {reason}" if reason else None,
        ),
    }


def _cell(moment: Any, *, happened: bool = False, note: str | None = None) -> dict[str, Any]:
    """One step: its time, or that it happened at a time not known here, and a note."""
    when = step_time(float(moment)) if isinstance(moment, int | float) else None
    return {
        "when": when,
        "unknown_time": when is None and happened,
        "note": note,
    }
