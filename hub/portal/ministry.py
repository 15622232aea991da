"""The ministry's pages of the portal: where letters wait.

Route (blueprint ``portal_ministry``): ``GET /waiting``: the letters not registered (ลงรับ)
beyond their speed class's time (:mod:`hub.portal.waiting`), by provincial group, province
and office, and the longest-waiting of them, each linked to its tracking. Only the
ministry's view (:func:`hub.portal.session.ministry_only`) opens it; any office's tracking
is the search page itself, which shows that view every letter.

Does not: compute anything (:mod:`hub.portal.waiting`).
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from hub.portal.kit import get_store, now
from hub.portal.session import ministry_only
from hub.portal.waiting import ALLOWED_WORKING_DAYS, speed_title, waiting_report

bp = Blueprint("portal_ministry", __name__)


@bp.get("/waiting")
@ministry_only
def waiting() -> str:
    report = waiting_report(get_store(), current_app.config, now())
    return render_template(
        "portal_waiting.html",
        report=report,
        speeds=list(ALLOWED_WORKING_DAYS),
        allowed=ALLOWED_WORKING_DAYS,
        speed_title=speed_title,
    )
