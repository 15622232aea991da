"""The hub's public status page ``GET /``: every office and how recently it synced.

A plain HTML page with Thai headings for the operator; every value is escaped. States:
``healthy`` (heard from within LATE_AFTER_MINUTES), ``late``, ``silent`` (nothing for
SILENT_AFTER_HOURS), ``never enrolled`` and ``revoked``. The full operator console is a
later, separate blueprint.
"""

from __future__ import annotations

from html import escape
from typing import Any

from flask import Blueprint, Response, current_app

from .app import clock, get_store
from .clock import iso_utc
from .directory import current_directory

bp = Blueprint("status", __name__)

STATE_LABELS = {
    "healthy": "ปกติ",
    "late": "ล่าช้า",
    "silent": "ขาดการติดต่อ",
    "never enrolled": "ยังไม่ลงทะเบียน",
    "revoked": "ถูกเพิกถอน",
}


def office_state(office: dict[str, Any], now: float, late_after: float, silent_after: float) -> str:
    """healthy / late / silent / never enrolled / revoked, from the office's last contact."""
    if office["status"] == "revoked":
        return "revoked"
    if office["status"] != "enrolled":
        return "never enrolled"
    contacts = [office[k] for k in ("last_push", "last_pull", "last_heartbeat") if office[k]]
    last = max(contacts, default=office["enrolled_at"] or 0)
    quiet = now - last
    if quiet <= late_after:
        return "healthy"
    if quiet <= silent_after:
        return "late"
    return "silent"


def _when(value: float | None) -> str:
    return "—" if not value else iso_utc(value)


@bp.get("/")
def status_page() -> Response:
    """The status page."""
    store = get_store()
    now = clock()
    late = float(current_app.config["LATE_AFTER_MINUTES"]) * 60
    silent = float(current_app.config["SILENT_AFTER_HOURS"]) * 3600
    head = current_directory(store)
    rows = []
    counts: dict[str, int] = {}
    for office in store.offices():
        state = office_state(office, now, late, silent)
        counts[state] = counts.get(state, 0) + 1
        backlog = office["outbox_backlog"]
        cells = [
            office["id"],
            office["name"],
            STATE_LABELS[state],
            _when(office["last_push"]),
            _when(office["last_pull"]),
            _when(office["last_heartbeat"]),
            "—" if backlog is None else str(backlog),
        ]
        tds = "".join(f"<td>{escape(str(c))}</td>" for c in cells)
        rows.append(f'<tr class="{escape(state.replace(" ", "-"))}">{tds}</tr>')
    summary = ", ".join(f"{escape(STATE_LABELS[k])} {v}" for k, v in sorted(counts.items()))
    heads = ["รหัส", "หน่วยงาน", "สถานะ", "ส่งล่าสุด", "รับล่าสุด", "รายงานล่าสุด", "ค้างส่ง"]
    th = "".join(f"<th>{h}</th>" for h in heads)
    page = f"""<!doctype html>
<html lang="th"><head><meta charset="utf-8">
<title>สถานะศูนย์กลางสารบรรณ</title>
<style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:2px 6px}}.late{{background:#ffe9a8}}
.silent{{background:#f7b2b2}}.revoked{{color:#777}}</style></head>
<body><h1>สถานะศูนย์กลางระบบสารบรรณอิเล็กทรอนิกส์</h1>
<p>เวลาศูนย์กลาง {escape(iso_utc(now))} · ทะเบียนหน่วยงานฉบับที่ {head[0] if head else 0}
 · {summary}</p>
<h2>หน่วยงาน</h2>
<table><thead><tr>{th}</tr></thead><tbody>
{"".join(rows)}
</tbody></table></body></html>
"""
    return Response(page, mimetype="text/html")
