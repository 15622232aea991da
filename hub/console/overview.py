"""The operator's console, first part: login, the overview, the federation view, one
office's page and the record of operator actions.

Routes (blueprint ``console``, no prefix): ``/login``, ``/logout``, ``/`` (ภาพรวม),
``/offices`` (every office; ``?group=``, ``?state=``, ``?sort=``, ``?dir=desc``),
``/offices/<id>`` (its details, current problems, alerts and last 100 sync sessions),
``/actions`` (the record of operator actions in Thai: :mod:`hub.console.action_log`) and
``/fonts/<name>`` (Sarabun, served by the hub: no CDN) and ``/favicon.ico`` (the console's
icon, ``/static/favicon.svg``, which every page links).

Other sections register their own blueprints (alerts, enrollment, numbering, statistics,
lists). Every page needs a signed-in operator; see :mod:`hub.console.session`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from fontpkg_sarabun import ROOT as SARABUN_ROOT
from werkzeug.exceptions import NotFound as HTTPNotFound
from werkzeug.wrappers import Response as BaseResponse

from hub.console.action_log import action_views
from hub.console.kit import now
from hub.console.operators import LoginRefused, authenticate
from hub.console.session import end_session, login_required, start_session
from hub.context import get_keyring, get_store
from hub.directory import directory_version
from hub.monitoring.alerts import alert_view, refresh_alerts
from hub.monitoring.offices import (
    SORT_KEYS,
    STATE_LABELS,
    STATES,
    Thresholds,
    groups,
    office_problems,
    office_rows,
    select_rows,
    state_counts,
)
from hub.store import HubStore
from protocol.sessions import login_form

bp = Blueprint("console", __name__)

FONT_FILES = frozenset({"Sarabun-Regular.ttf", "Sarabun-Bold.ttf"})


def limits() -> Thresholds:
    """The thresholds in force."""
    return Thresholds.from_settings(current_app.config)


def _safe_next(target: str | None) -> str:
    # Only a path of this site: never send a freshly signed-in operator elsewhere.
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("console.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("console.dashboard")
    return target


@bp.get("/login")
def login() -> str:
    return render_template(
        "login.html", username="", error=None, next_url=request.args.get("next", "")[:300]
    )


@bp.post("/login")
def login_submit() -> BaseResponse | tuple[str, int]:
    username, password = login_form(request.form)
    next_url = request.form.get("next", "")[:300]
    try:
        operator = authenticate(get_store(), username, password, now())
    except LoginRefused as e:
        page = render_template(
            "login.html", username=username, error=e.message_th, next_url=next_url
        )
        return page, e.status
    start_session(operator)
    return redirect(_safe_next(next_url))


@bp.post("/logout")
def logout() -> BaseResponse:
    end_session()
    return redirect(url_for("console.login"))


@bp.get("/fonts/<name>")
def font(name: str) -> Response:
    if name not in FONT_FILES:
        raise HTTPNotFound()
    return send_file(SARABUN_ROOT / "files" / name, mimetype="font/ttf", max_age=7 * 24 * 3600)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The console's icon, for browsers that ask for it where a page does not name it."""
    icon = Path(current_app.static_folder or "") / "favicon.svg"
    return send_file(icon, mimetype="image/svg+xml", max_age=7 * 24 * 3600)


def _office_rows(store: HubStore) -> list[dict[str, Any]]:
    """Every office's row as of now, once the alerts are brought up to date."""
    moment = now()
    refresh_alerts(store, moment, current_app.config)
    return office_rows(store, moment, limits())


@bp.get("/")
@login_required
def dashboard() -> str:
    store = get_store()
    rows = _office_rows(store)
    alerts = [alert_view(a) for a in store.alerts("open")]
    keyring = get_keyring()
    return render_template(
        "dashboard.html",
        counts=state_counts(rows),
        state_labels=STATE_LABELS,
        alerts=alerts[:8],
        alert_total=len(alerts),
        quarantine_open=len(store.quarantined("open")),
        directory_version=directory_version(store),
        hub_keyid=keyring.current.keyid,
        hub_public=keyring.current.public_b64(),
        worst=[r for r in rows if r["state"] in ("silent", "late")][:10],
    )


def _group_arg() -> int | None:
    text = request.args.get("group", "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else None


@bp.get("/offices")
@login_required
def offices() -> str:
    rows = _office_rows(get_store())
    group = _group_arg()
    state = request.args.get("state") if request.args.get("state") in STATES else None
    sort = request.args.get("sort") if request.args.get("sort") in SORT_KEYS else "group"
    descending = request.args.get("dir") == "desc"
    shown = select_rows(rows, group, state, str(sort), descending)
    return render_template(
        "offices.html",
        rows=shown,
        total=len(rows),
        groups=groups(rows),
        states=STATES,
        state_labels=STATE_LABELS,
        group=group,
        state=state,
        sort=sort,
        descending=descending,
        limits=limits(),
    )


def sort_link(column: str, sort: str, descending: bool, args: dict[str, Any]) -> str:
    """The URL that sorts the federation view by ``column`` (flipping the direction)."""
    flip = "asc" if (column == sort and descending) else "desc" if column == sort else "asc"
    return url_for("console.offices", **{**args, "sort": column, "dir": flip})


bp.add_app_template_global(sort_link, "sort_link")


@bp.get("/offices/<path:office_id>")
@login_required
def office(office_id: str) -> str:
    store = get_store()
    rows = {r["id"]: r for r in _office_rows(store)}
    row = rows.get(office_id)
    if row is None:
        raise HTTPNotFound(f"no office {office_id}")
    return render_template(
        "office.html",
        o=row,
        problems=office_problems(row, limits()),
        alerts=[alert_view(a) for a in store.alerts("open", office=office_id)],
        quarantine=[q for q in store.quarantined("open") if q["origin"] == office_id],
        sessions=store.sync_sessions(office_id, 100),
        keys=store.keys_of(office_id),
        actions=action_views(store, store.actions(50, target=office_id)),
        feed_head=store.feed_head(office_id),
        **_audit_view(store, office_id),
    )


def _audit_view(store: HubStore, office_id: str) -> dict[str, Any]:
    """The office's last verified audit chain head, when it was last checked, and the
    newest break if it came after that head."""
    heads = store.audit_heads(office_id, 1)
    office_row = store.office(office_id)
    return {
        "audit_head": store.verified_audit_head(office_id),
        "audit_checked_at": office_row["audit_checked_at"] if office_row else None,
        "audit_broken": heads[0] if heads and heads[0]["status"] == "broken" else None,
    }


@bp.get("/actions")
@login_required
def actions() -> str:
    store = get_store()
    return render_template("actions.html", actions=action_views(store, store.actions(500)))
