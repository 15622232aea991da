"""The sync badge of every clerk's page, and its ส่ง/รับเดี๋ยวนี้ button.

:func:`sync_badge` is what the badge shows: the link in Thai (เชื่อมต่อแล้ว, ขาดการเชื่อมต่อ,
or กำลังส่ง-รับ… with the step of the round running now), how long ago the last successful
exchange with the hub was (:func:`exchange_age_th`), and รอส่ง, the envelopes a clerk sent
that the hub has not taken yet (:func:`node.sync.health.clerk_outbox_count`). With the live
sync of :mod:`node.sync.live` running, the link is what its last check saw; without it (the
scheduler off) the badge judges from the last round recorded in ``sync_state``.

Routes (blueprint ``web_sync``), for every signed-in user:

* ``POST /sync/now``: ส่ง/รับเดี๋ยวนี้, once per form (:func:`node.web.kit.once`). With the
  live sync it asks for a round at once (:meth:`LiveSync.kick`), remembers in the session
  which round will have done it, and goes back to the page, where ``/static/sync.js``
  follows the round. Without the live sync, or while a failed round's back-off runs (which
  the live sync waits out), it runs one round itself (:func:`node.sync.worker.sync_once`,
  as ``POST /api/sync`` does) and goes back with its result in Thai. A round runs
  outside the form key's transaction (it writes through connections of its own): a key
  answered before gets its answer and no round, and two requests with one key at the same
  moment may both sync, which is harmless (the API's ``POST /api/sync`` acts every time).
* ``GET /sync/progress``: the badge as JSON, for that script: ``label_th``, ``state``,
  ``age_th``, ``outbox``, ``busy``, ``waiting`` (a round this session asked for has not
  finished) and, once it has, ``result_th``. The script asks only while something is under
  way, since every request keeps the session from idling out.

Does not: run rounds on a schedule or decide what a round does (:mod:`node.sync.live`,
:mod:`node.sync.worker`), or judge the node's health (:mod:`node.sync.health`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from node.api.kit import ctx, store
from node.errors import NodeError
from node.sync.health import clerk_outbox_count, node_status
from node.sync.live import LiveSync
from node.sync.state import SyncResult, sync_state
from node.sync.worker import sync_once
from node.web.kit import Done, once, requires
from node.web.names import Names
from node.web.session import form_key
from protocol.thai import BANGKOK, format_thai_datetime

bp = Blueprint("web_sync", __name__)

PHASE_TH = {
    "check": "ตรวจสอบกับศูนย์กลาง",
    "push": "ส่งเอกสาร",
    "pull": "รับเอกสาร",
    "download": "รับไฟล์แนบ",
}
"""The steps of a round (``NodeContext.sync_phase``) as the badge names them."""

LINK_TH = {"up": "เชื่อมต่อแล้ว", "down": "ขาดการเชื่อมต่อ", "busy": "กำลังส่ง-รับ…"}

FAILURE_TH = {
    "unreachable": "ติดต่อศูนย์กลางไม่ได้ (ขาดการเชื่อมต่อ)",
    "transport": "ติดต่อศูนย์กลางไม่ได้ (ขาดการเชื่อมต่อ)",
    "hub_unreachable": "ติดต่อศูนย์กลางไม่ได้ (ขาดการเชื่อมต่อ)",
    "http_status": "ศูนย์กลางตอบกลับผิดปกติ",
    "hub_busy": "ศูนย์กลางมีงานมาก ขอให้รอสักครู่ เครื่องจะลองส่ง-รับใหม่เอง",
    "hub_refused": "ศูนย์กลางปฏิเสธคำขอของเครื่องนี้",
    "cannot_write": "บันทึกข้อมูลลงเครื่องนี้ไม่ได้ (ดิสก์เต็มหรือเขียนไม่ได้)",
    "not_initialised": "เครื่องนี้ยังไม่ได้ลงทะเบียนหน่วยงานกับศูนย์กลาง",
    "bad_ack": "คำตอบรับจากศูนย์กลางตรวจสอบไม่ผ่าน",
}
"""Why a round failed, by its ``error_code``; others get a general sentence and the code."""

WAIT_SETTING = "sync_wait"
"""The session's note of the round ส่ง/รับเดี๋ยวนี้ asked the live sync for."""

WAIT_SECONDS = 120.0
"""How long the page follows a round it asked for before it stops asking."""

STARTED_TH = "เริ่มส่ง-รับกับศูนย์กลางแล้ว"


def exchange_age_th(last_ok: float | None, now: float) -> str:
    """How long ago the last successful exchange was, in Thai words: ``เมื่อ 5 วินาทีที่แล้ว``,
    ``เมื่อ 3 นาทีที่แล้ว``, ``เมื่อ 2 ชั่วโมงที่แล้ว``; after a day the Buddhist-era date and
    Bangkok time; ``ยังไม่เคย`` when there was none."""
    if not last_ok:
        return "ยังไม่เคย"
    ago = now - float(last_ok)
    if ago < 1:
        return "เมื่อสักครู่"
    if ago < 60:
        return f"เมื่อ {int(ago)} วินาทีที่แล้ว"
    if ago < 3600:
        return f"เมื่อ {int(ago // 60)} นาทีที่แล้ว"
    if ago < 86400:
        return f"เมื่อ {int(ago // 3600)} ชั่วโมงที่แล้ว"
    return f"เมื่อ {format_thai_datetime(datetime.fromtimestamp(float(last_ok), BANGKOK))}"


def result_th(result: Mapping[str, Any]) -> str:
    """One round's result (:meth:`SyncResult.to_json`) as a Thai sentence for the clerk."""
    sent = int(result.get("accepted") or 0) + int(result.get("duplicates") or 0)
    counts = f"ส่งแล้ว {sent} รายการ รับแล้ว {int(result.get('pulled') or 0)} รายการ"
    code = str(result.get("error_code") or "")
    if result.get("ok"):
        return f"ส่ง-รับเสร็จแล้ว: {counts}"
    if code == "push_rejected":
        rejected = len(result.get("rejected") or [])
        return f"ส่ง-รับเสร็จแล้ว: {counts} แต่ศูนย์กลางไม่รับ {rejected} รายการ (ดูหน้าสถานะระบบ)"
    if code == "held":
        held = int(result.get("held") or 0)
        return f"ส่ง-รับเสร็จแล้ว: {counts} แต่มีซองเอกสาร {held} ซองที่ตรวจลายมือชื่อไม่ผ่าน"
    warnings = [w for w in result.get("warnings") or [] if isinstance(w, str)]
    reason = FAILURE_TH.get(code) or (warnings[0] if warnings else "")
    if not reason:
        reason = f"ส่ง-รับกับศูนย์กลางไม่สำเร็จ (รหัส {code or 'error'})"
    return f"ส่ง-รับไม่สำเร็จ: {reason} เอกสารที่รอส่งยังอยู่ในเครื่อง ระบบจะลองใหม่เอง"


def last_round_th(state: Mapping[str, Any]) -> str:
    """The last recorded round's result as :func:`result_th` says it; ``""`` before the first."""
    last = _last_result(state)
    return result_th(last) if last else ""


def _live() -> LiveSync | None:
    live = current_app.extensions.get("saraban_live")
    return live if isinstance(live, LiveSync) and live.running else None


def _last_result(state: Mapping[str, Any]) -> dict[str, Any]:
    try:
        last = json.loads(state.get("last_result") or "{}")
    except (TypeError, ValueError):
        return {}
    return last if isinstance(last, dict) else {}


def link_view(state: Mapping[str, Any], live: Mapping[str, Any] | None) -> tuple[str, str]:
    """``(state, label_th)`` of the link: ``busy`` while a round runs, else ``up`` or
    ``down`` as the newer of the live sync's last check (``live``, :meth:`LiveSync.state`)
    and the last recorded round (``state``, :func:`node.sync.state.sync_state`) says."""
    if live is not None and live.get("phase"):
        step = PHASE_TH.get(str(live["phase"]), "")
        return "busy", f"{LINK_TH['busy']} ({step})" if step else LINK_TH["busy"]
    failing = int(state.get("failures") or 0) > 0
    checked = float((live or {}).get("last_check") or 0)
    if (
        live is not None
        and live.get("link") in ("up", "down")
        and checked >= float(state.get("last_attempt") or 0)
    ):
        link = str(live["link"])
    elif not state.get("last_attempt"):
        link = "down"
    else:
        link = "up" if not failing or _last_result(state).get("online") else "down"
    if link == "up" and failing:
        return "down", f"{LINK_TH['up']} แต่ส่ง-รับไม่สำเร็จ"
    return link, LINK_TH[link]


def _waiting(live: LiveSync | None, now: float) -> tuple[bool, bool]:
    """``(waiting, finished)`` for the round this session asked for: still to finish, or
    finished just now (the note is dropped then, and when the live sync is gone or the
    page has followed it long enough)."""
    note = session.get(WAIT_SETTING)
    if not isinstance(note, dict):
        return False, False
    if live is None or now > float(note.get("until") or 0):
        session.pop(WAIT_SETTING, None)
        return False, False
    if live.rounds >= int(note.get("round") or 0):
        session.pop(WAIT_SETTING, None)
        return False, True
    return True, False


def _back() -> str:
    """This page's own address, for the form to come back to (the home page after a POST)."""
    if request.method != "GET":
        return url_for("web.home")
    return request.full_path.rstrip("?")


def _figures(state: Mapping[str, Any], outbox: int) -> dict[str, Any]:
    live = _live()
    now = ctx().now()
    link, label = link_view(state, live.state() if live is not None else None)
    waiting, finished = _waiting(live, now)
    return {
        "state": link,
        "label_th": label,
        "busy": link == "busy",
        "age_th": exchange_age_th(state.get("last_ok"), now),
        "outbox": outbox,
        "live": live is not None,
        "waiting": waiting,
        "result_th": result_th(_last_result(state)) if finished else "",
    }


def sync_badge() -> dict[str, Any] | None:
    """What the badge shows, or None when the node cannot tell (the page still renders)."""
    try:
        s = node_status(ctx())
        state = sync_state(store())
    except NodeError:
        return None
    office = str(s["office"] or "")
    return {
        **_figures(state, int(s["outbox_clerks"] or 0)),
        "office": office,
        "office_name": Names().office(office) if office else "",
        "warnings": s.get("warnings") or [],
        "back": _back(),
    }


@bp.get("/sync/progress")
@requires()
def progress() -> Response:
    s = store()
    resp = jsonify(_figures(sync_state(s), clerk_outbox_count(s)))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/sync/now")
@requires()
def sync_now() -> BaseResponse:
    back = _safe_back(request.form.get("back", ""))
    live = _live()
    if live is not None and not _backing_off():

        def kick() -> Done:
            # The round running now may have started before the clerk's last change: the
            # one after it is the clerk's.
            running = live.state()["phase"] is not None
            session[WAIT_SETTING] = {
                "round": live.rounds + (2 if running else 1),
                "until": ctx().now() + WAIT_SECONDS,
            }
            live.kick()
            return Done(STARTED_TH, back)

        return once(kick)
    message = None if _answered_before() else _run_round()
    # A key answered before is replayed by once() without calling this.
    return once(lambda: Done(message or STARTED_TH, back))


def _backing_off() -> bool:
    """Whether the last round failed and its back-off runs: the live sync would wait for
    it, a clerk who asks for a round now does not."""
    return float(sync_state(store())["next_attempt"] or 0) > ctx().now()


def _answered_before() -> bool:
    """Whether this form's idempotency key already has its answer."""
    return bool(store().scalar("SELECT 1 FROM idempotency WHERE key = ?", (form_key(),)))


def _run_round() -> str:
    try:
        result = sync_once(ctx())
    except NodeError as e:
        result = SyncResult(error=e.reason, error_code=e.code)
    return result_th(result.to_json())


def _safe_back(raw: str) -> str:
    """The page the form came from, if it is a path of this node; else the home page."""
    parts = urlsplit(raw)
    path = raw.strip()
    if (
        not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or parts.scheme
        or parts.netloc
        or any(ord(c) < 32 for c in path)
    ):
        return url_for("web.home")
    return path
