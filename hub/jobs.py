"""The hub's scheduled work, run by ``saraban hub serve``: the nightly numbering report and
the condition alerts.

Two jobs in an APScheduler ``BackgroundScheduler`` on Bangkok time: the numbering
reconciliation (:func:`hub.numbering.reconcile.run_nightly`) every day at ``RECONCILE_AT``
(``HH:MM``,
02:00 by default) and :func:`hub.monitoring.alerts.refresh_alerts` every minute, so an office going
silent raises its alert although no operator has the console open. Each job is a one-line
wrapper around :func:`nightly_reconciliation` or :func:`refresh_condition_alerts`, plain
functions the tests call directly. A bad ``RECONCILE_AT`` stops the hub at start-up with
a message saying what is expected, rather than never running the report.

Does not: decide what the report says (:mod:`hub.numbering.reconcile`) or which alerts are open
(:mod:`hub.monitoring.alerts`); it only runs them with the app's database, clock and settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from hub.monitoring.alerts import refresh_alerts
from hub.numbering.reconcile import Reconciliation, run_nightly
from hub.store import HubStore

TIMEZONE = "Asia/Bangkok"
RECONCILE_JOB = "numbering_reconciliation"
ALERTS_JOB = "refresh_alerts"
ALERTS_EVERY_MINUTES = 1
_HHMM_RE = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


def parse_time_of_day(text: object, setting: str = "RECONCILE_AT") -> tuple[int, int]:
    """``(hour, minute)`` of a ``HH:MM`` setting; :class:`ValueError` saying what is wrong."""
    match = _HHMM_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"{setting} must be a Bangkok time of day as HH:MM (00:00 to 23:59),"
            f" e.g. 02:00; got {text!r}"
        )
    return int(match.group(1)), int(match.group(2))


@contextmanager
def _store(app: Flask) -> Iterator[HubStore]:
    store = HubStore.open(app.config["DATABASE"], create=False)
    try:
        yield store
    finally:
        store.close()


def _now(app: Flask) -> float:
    return float(app.config["CLOCK"]())


def nightly_reconciliation(app: Flask) -> Reconciliation:
    """Run the numbering reconciliation of the app's hub now."""
    with _store(app) as store:
        return run_nightly(store, app.config, _now(app))


def refresh_condition_alerts(app: Flask) -> None:
    """Open and resolve the condition alerts of the app's hub now."""
    with _store(app) as store:
        refresh_alerts(store, _now(app), app.config)


def build_scheduler(app: Flask) -> BackgroundScheduler:
    """The hub's scheduler with its two jobs, not started.

    Raises :class:`ValueError` when ``RECONCILE_AT`` is not ``HH:MM``.
    """
    hour, minute = parse_time_of_day(app.config["RECONCILE_AT"])
    scheduler = BackgroundScheduler(timezone=TIMEZONE)
    scheduler.add_job(
        lambda: nightly_reconciliation(app),
        "cron",
        hour=hour,
        minute=minute,
        id=RECONCILE_JOB,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,  # a hub restarted at 02:10 still makes the night's report
    )
    scheduler.add_job(
        lambda: refresh_condition_alerts(app),
        "interval",
        minutes=ALERTS_EVERY_MINUTES,
        id=ALERTS_JOB,
        max_instances=1,
        coalesce=True,
    )
    return scheduler


def start_scheduler(app: Flask) -> BackgroundScheduler | None:
    """Start the hub's jobs unless ``SCHEDULER`` is off (then None)."""
    if not app.config.get("SCHEDULER", True):
        return None
    scheduler = build_scheduler(app)
    scheduler.start()
    app.extensions["saraban_scheduler"] = scheduler
    return scheduler
