"""The console's alerts and quarantine: what is wrong, what to do, and the actions.

Routes (blueprint ``console_alerts``): ``GET /alerts`` (open alerts with what to do and how
often each repeated, and the latest closed ones), ``POST /alerts/<id>/close`` (an event
alert dealt with, with a note), ``GET /quarantine/<id>`` (a quarantined envelope for
review), ``POST /quarantine/<id>/release`` and ``/discard`` (with a reason;
:mod:`hub.federation.quarantine`).
Acting needs the ``operator`` role.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from werkzeug.exceptions import NotFound as HTTPNotFound
from werkzeug.wrappers import Response as BaseResponse

from hub.console.kit import done, form_text, now, record
from hub.console.session import login_required, operator_name, operator_required
from hub.context import get_blobs, get_keyring, get_store
from hub.errors import ConsoleError
from hub.federation.quarantine import MAX_REASON, discard, envelope_summary, release
from hub.monitoring.alerts import alert_view, reason_label, refresh_alerts

bp = Blueprint("console_alerts", __name__)
bp.add_app_template_global(reason_label, "reason_label")

CONDITION_PREFIXES = ("silent:", "skew:", "quarantine:", "clock_refused:")
"""Alerts the hub resolves by itself when the condition passes; not closed by hand."""


@bp.get("/alerts")
@login_required
def alerts() -> str:
    store = get_store()
    refresh_alerts(store, now(), current_app.config)
    waiting = store.open_quarantine_by_office()
    open_alerts = []
    for row in store.alerts("open"):
        view = alert_view(row)
        if view["quarantine_id"] is None and row["kind"] in ("quarantined", "quarantine_full"):
            # The office's oldest open envelope: the one its later envelopes wait behind.
            first = waiting.get(row["office"])
            view["quarantine_id"] = None if first is None else first["first_id"]
        open_alerts.append(view)
    return render_template(
        "alerts.html",
        alerts=open_alerts,
        done=[alert_view(a) for a in store.alerts(closed=True, limit=50)],
        quarantine=store.quarantined(None, limit=100),
        condition_prefixes=CONDITION_PREFIXES,
    )


@bp.post("/alerts/<int:alert_id>/close")
@operator_required
def close(alert_id: int) -> BaseResponse:
    note = form_text("reason", "บันทึกการดำเนินการ", 500)
    store = get_store()
    with store.write():
        row = store.alert(alert_id)
        if row is None:
            raise HTTPNotFound()
        if row["status"] != "open":
            raise ConsoleError("already closed", "การแจ้งเตือนนี้ปิดไปแล้ว", status=409)
        if (row["key"] or "").startswith(CONDITION_PREFIXES):
            raise ConsoleError(
                "condition alerts close by themselves",
                "การแจ้งเตือนนี้จะปิดเองเมื่อเหตุหายไป (เช่น หน่วยงานกลับมาติดต่อ หรือจัดการซองที่ถูกกักแล้ว)",
                status=409,
            )
        store.close_alert(alert_id, operator_name(), note, now())
        record("close_alert", row["office"], note, f"{row['kind']} #{alert_id}")
    return done("ปิดการแจ้งเตือนแล้ว", "console_alerts.alerts")


@bp.get("/quarantine/<int:quarantine_id>")
@login_required
def quarantined(quarantine_id: int) -> str:
    row = get_store().quarantined_one(quarantine_id)
    if row is None:
        raise HTTPNotFound()
    return render_template(
        "quarantine.html",
        q={k: v for k, v in row.items() if k != "envelope"},
        env=envelope_summary(row["envelope"]),
        max_reason=MAX_REASON,
    )


@bp.post("/quarantine/<int:quarantine_id>/release")
@operator_required
def release_envelope(quarantine_id: int) -> BaseResponse:
    reason = form_text("reason", "เหตุผล", MAX_REASON)
    outcome = release(
        get_store(), get_keyring(), quarantine_id, operator_name(), reason, now(), get_blobs()
    )
    word = "รับเข้าแล้ว" if outcome.status == "accepted" else "ศูนย์กลางมีซองนี้อยู่แล้ว"
    return done(f"ปล่อยซองแล้ว: {word}", "console_alerts.quarantined", quarantine_id=quarantine_id)


@bp.post("/quarantine/<int:quarantine_id>/discard")
@operator_required
def discard_envelope(quarantine_id: int) -> BaseResponse:
    reason = form_text("reason", "เหตุผล", MAX_REASON)
    discard(get_store(), quarantine_id, operator_name(), reason, now())
    return done("ทิ้งซองแล้ว", "console_alerts.quarantined", quarantine_id=quarantine_id)
