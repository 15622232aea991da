"""How far this machine's clock is from the hub's, and what the clerks are told about it.

The hub refuses a signed request whose timestamp is further from its own time than its
window (``401 stale_request``) and says its time in the answer (``hub_time``,
``window_seconds``); every successful pull carries the hub's time in the signed checkpoint
too. From either this module keeps, in ``sync_state``, the skew (this node's time minus the
hub's), whether the hub is refusing this node for it, and the hub's window.

:func:`clock_warning` is what every clerk's page, the status page and ``saraban node
status`` show: while the hub refuses, how far off the clock is and how to set it; after a
good round, an early warning when the skew has come within reach of the window. The round
after the clock was set right succeeds and clears it by itself.

Does not: talk to the hub or decide when to retry (:mod:`node.sync.worker`).
"""

from __future__ import annotations

from typing import Any

from node.storage.feed import parse_iso
from node.storage.store import Store
from node.sync.hubclient import HubHTTPError
from protocol.auth import DEFAULT_WINDOW_SECONDS
from protocol.thai import format_thai_duration

EARLY_WARNING_SHARE = 0.5
"""Warn once the skew measured on a good round is past this share of the hub's window."""

REFUSED_CODE = "clock_refused"
"""The sync result's ``error_code`` when the hub refused this node's time."""

SET_THE_CLOCK_TH = (
    "ให้ผู้ดูแลเครื่องแม่ข่ายตั้งวันเวลาของเครื่องให้ตรง:"
    " Windows เปิด การตั้งค่า > เวลาและภาษา > วันที่และเวลา เปิด “ตั้งเวลาโดยอัตโนมัติ”"
    " แล้วกด “ซิงค์ตอนนี้”; Linux รัน sudo timedatectl set-ntp true"
    " (หรือตั้งเอง sudo timedatectl set-time) ตรวจเขตเวลาให้เป็นเวลาประเทศไทยด้วย"
)


def skew_against(hub_time: str | None, now: float) -> float | None:
    """This node's time ``now`` minus the hub's ``hub_time`` (ISO 8601), or None."""
    hub = parse_iso(hub_time)
    return None if hub is None else now - hub


def refusal_skew(error: BaseException, now: float) -> tuple[float | None, float] | None:
    """``(skew, window)`` when ``error`` is the hub refusing this node's time, else None.

    The skew is None when the hub did not say its time (a hub older than this node)."""
    if not isinstance(error, HubHTTPError) or error.error != "stale_request":
        return None
    window = error.body.get("window_seconds")
    if isinstance(window, bool) or not isinstance(window, int | float) or window <= 0:
        window = DEFAULT_WINDOW_SECONDS
    hub_time = error.body.get("hub_time")
    return skew_against(hub_time if isinstance(hub_time, str) else None, now), float(window)


def refusal_reason(skew: float | None, window: float) -> str:
    """One English line for the sync result and the log."""
    if skew is None:
        return f"the hub refused this node's clock: it is more than {window:.0f} s off"
    way = "ahead of" if skew > 0 else "behind"
    return (
        f"the hub refused this node's clock: it is {abs(skew):.0f} s {way} the hub's"
        f" (the hub accepts {window:.0f} s); set the clock right"
    )


def record_refusal(store: Store, skew: float | None, window: float) -> None:
    """Remember that the hub refuses this node's time (inside the caller's transaction)."""
    store.execute(
        "UPDATE sync_state SET clock_refused = 1, clock_skew = ?, clock_window = ? WHERE id = 1",
        (skew, window),
    )


def record_accepted(store: Store, skew: float | None) -> None:
    """The hub accepted this node's time; ``skew`` as measured on the way, if it was."""
    store.execute("UPDATE sync_state SET clock_refused = 0, clock_skew = ? WHERE id = 1", (skew,))


def _window(state: dict[str, Any]) -> float:
    return float(state.get("clock_window") or DEFAULT_WINDOW_SECONDS)


def clock_warning(state: dict[str, Any]) -> dict[str, Any] | None:
    """What the clerks are told about the clock, from the ``sync_state`` row, or None.

    ``{"refused": bool, "skew_seconds": float | None, "window_seconds": float,
    "message_th": str}``.
    """
    skew = state.get("clock_skew")
    window = _window(state)
    refused = bool(state.get("clock_refused"))
    if not refused and (skew is None or abs(skew) <= window * EARLY_WARNING_SHARE):
        return None
    allowed = format_thai_duration(window)
    if skew is None:
        off = f"คลาดเคลื่อนจากศูนย์กลางเกิน {allowed}"
    else:
        way = "เร็ว" if skew > 0 else "ช้า"
        off = f"{way}กว่าเวลาของศูนย์กลาง {format_thai_duration(skew)}"
    if refused:
        message = (
            f"นาฬิกาของเครื่องนี้{off} ศูนย์กลางจึงไม่รับการซิงค์ (ยอมรับได้ไม่เกิน {allowed})"
            " หนังสือจะค้างส่งและค้างรับจนกว่าจะแก้ไข"
            f" {SET_THE_CLOCK_TH} ระบบจะซิงค์ใหม่เองตามรอบปกติเมื่อเวลาตรงแล้ว"
        )
    else:
        message = (
            f"นาฬิกาของเครื่องนี้{off} ใกล้เกินที่ศูนย์กลางยอมรับ ({allowed})"
            f" หากเกินจะซิงค์ไม่ได้ {SET_THE_CLOCK_TH}"
        )
    return {
        "refused": refused,
        "skew_seconds": None if skew is None else round(float(skew)),
        "window_seconds": window,
        "message_th": message,
    }
