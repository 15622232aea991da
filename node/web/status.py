"""The node's status page (``GET /status``), in Thai and the look of the clerk's pages.

Anyone who opens the node in a browser may read it, signed in or not, as before: the
office, whether the hub answers and when the last exchange with it went through (Bangkok
time, Buddhist era), what waits to be sent (รอส่ง as the badge counts it, what clerks sent,
and every envelope in the outbox with the receipts and register entries the node writes by
itself), what the hub refused, numbers waiting for the hub, the directory, the clock, what
is held, and the counts of letters. The warnings every page shows stand at its top.

Does not: judge the figures (:mod:`node.sync.health` gathers them) or run a sync.
"""

from __future__ import annotations

from typing import Any

from flask import render_template

from node.api.kit import ctx, store
from node.errors import NodeError
from node.sync.health import node_status
from node.sync.state import sync_state
from node.web.names import Names
from node.web.sync import exchange_age_th, last_round_th

ONLINE_TH = {True: "เชื่อมต่อศูนย์กลางได้", False: "ออฟไลน์ (ทำงานต่อได้ รอส่งข้อมูล)"}


def _figures(s: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    office = str(s["office"] or "")
    name = Names().office(office) if office else ""
    clock = s["clock"]
    skew = clock["skew_seconds"]
    return {
        "office": office,
        "office_name": name if name != office else "",
        "online_th": ONLINE_TH[bool(s["online"])],
        "online": bool(s["online"]),
        "last_ok": s["last_sync_ok"],
        "age_th": exchange_age_th(s["last_sync_ok"], ctx().now()),
        "last_round_th": last_round_th(state),
        "failures": int(s["failures"] or 0),
        "next_attempt": s["next_attempt"],
        "outbox_clerks": int(s["outbox_clerks"] or 0),
        "outbox": int(s["outbox"] or 0),
        "rejected": s["rejected"],
        "provisional_pending": s["provisional_pending"],
        "directory": s["directory"],
        "skew_th": "ยังไม่ได้วัด" if skew is None else _skew_th(int(skew)),
        "held": s["held"]["count"],
        "awaiting_attachments": int(s["awaiting_attachments"] or 0),
        "behind": s["behind"],
        "counts": s["counts"],
        "last_error": s["last_error"],
        "hub_url": s["hub_url"],
    }


def _skew_th(skew: int) -> str:
    if skew == 0:
        return "ตรงกับศูนย์กลาง"
    side = "เร็วกว่า" if skew > 0 else "ช้ากว่า"
    return f"{side}ศูนย์กลาง {abs(skew):,} วินาที"


def status_page() -> tuple[str, int]:
    """``GET /status``: the page, or the Thai reason when the node cannot tell (503)."""
    try:
        s = node_status(ctx())
        state = sync_state(store())
    except NodeError as e:
        return render_template("status.html", status=None, error=e.message_th), 503
    return render_template("status.html", status=_figures(s, state), error=None), 200
