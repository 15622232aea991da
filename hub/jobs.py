"""The hub's scheduled work, run by ``saraban hub serve``: the nightly numbering report,
the condition alerts, the directory signed again and unused attachment bytes collected.

Jobs in an APScheduler ``BackgroundScheduler`` on Bangkok time: the numbering
reconciliation (:func:`hub.numbering.reconcile.run_nightly`) every day at ``RECONCILE_AT``
(``HH:MM``,
02:00 by default), :func:`hub.monitoring.alerts.refresh_alerts` every minute, so an office going
silent raises its alert although no operator has the console open, and every hour
:func:`hub.directory.reissue_stale_directory`, so no node holds a directory older than a day
(a node warns of an older one as frozen); also every hour
:func:`hub.federation.collection.collect_unused`, removing orphan blobs and stale partial
uploads past their grace periods (``ORPHAN_BLOB_GRACE_DAYS``, ``PARTIAL_UPLOAD_GRACE_HOURS``);
and every second :func:`keep_portal_index`, which records for the portal an older hub's
feed letters and the letters accepted since (ADR 0030), and indexes them
(:func:`hub.federation.letter_index.keep_up`).
Every process that serves the hub runs the scheduler, and each run of a job first claims
its slot in the database (:func:`once_across_processes`), so that of several hub
processes on one database one runs each night's report, each minute's alerts and each
second's index (ADR 0025); the heartbeat (:func:`heartbeat`, every
:data:`hub.processes.HEARTBEAT_SECONDS`) records the process as serving.
Each job runs one of :func:`nightly_reconciliation`, :func:`refresh_condition_alerts`,
:func:`reissue_directory` or :func:`collect_unused_files` with the app (the last three from
the table :data:`INTERVAL_JOBS`), plain functions the tests call directly. A bad
``RECONCILE_AT`` stops the hub at start-up with a message saying what is expected, rather
than never running the report.

Does not: decide what the report says (:mod:`hub.numbering.reconcile`), which alerts are open
(:mod:`hub.monitoring.alerts`) or which files go (:mod:`hub.federation.collection`); it only
runs them with the app's database, blobs, clock and settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from hub.directory import HubKeyring, reissue_stale_directory
from hub.federation.blobs import BlobStore
from hub.federation.collection import Collected, collect_unused
from hub.federation.exchanges import BUSY_BATCH, QUIET_SECONDS, Exchanges
from hub.federation.letter_index import keep_up
from hub.monitoring.alerts import refresh_alerts
from hub.numbering.reconcile import Reconciliation, run_nightly
from hub.processes import HEARTBEAT_SECONDS, HubProcesses
from hub.store import HubStore

TIMEZONE = "Asia/Bangkok"
RECONCILE_JOB = "numbering_reconciliation"
ALERTS_JOB = "refresh_alerts"
ALERTS_EVERY_MINUTES = 1
DIRECTORY_JOB = "reissue_directory"
DIRECTORY_EVERY_MINUTES = 60
COLLECT_JOB = "collect_unused_files"
COLLECT_EVERY_MINUTES = 60
PORTAL_INDEX_JOB = "keep_portal_index"
PORTAL_INDEX_EVERY_SECONDS = 1
PORTAL_INDEX_SECONDS = 0.5
HEARTBEAT_JOB = "hub_process_heartbeat"
BANGKOK_OFFSET_SECONDS = 7 * 3600
"""How long one run of the portal index's job writes, so that pushes wait little."""
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


def reissue_directory(app: Flask) -> int | None:
    """Sign the app's hub directory again when it is a day old; the new version, or None."""
    with _store(app) as store:
        keyring = HubKeyring.load(app.instance_path, store)
        return reissue_stale_directory(store, keyring, _now(app))


def collect_unused_files(app: Flask) -> Collected:
    """Remove the app's orphan blobs and stale partial uploads now."""
    blobs: BlobStore = app.extensions["saraban_blobs"]
    with _store(app) as store:
        return collect_unused(
            store,
            blobs,
            _now(app),
            float(app.config["ORPHAN_BLOB_GRACE_DAYS"]) * 86_400,
            float(app.config["PARTIAL_UPLOAD_GRACE_HOURS"]) * 3_600,
        )


def keep_portal_index(app: Flask) -> tuple[int, int]:
    """Record the letters accepted since for the portal (an older feed's first) and index
    them, for about half a second; while offices push or pull, one small batch of each
    (:mod:`hub.federation.exchanges`): while
    this process serves an exchange, or any process accepted a letter in the last
    :data:`QUIET_SECONDS`."""
    exchanges: Exchanges = app.extensions["saraban_exchanges"]
    with _store(app) as store:
        last = store.last_accepted_at()
        if exchanges.busy() or (last is not None and _now(app) - last < QUIET_SECONDS):
            return keep_up(store, 0.0, batch=BUSY_BATCH)
        return keep_up(store, PORTAL_INDEX_SECONDS)


INTERVAL_JOBS: dict[str, tuple[int, Callable[[Flask], object]]] = {
    ALERTS_JOB: (ALERTS_EVERY_MINUTES, refresh_condition_alerts),
    DIRECTORY_JOB: (DIRECTORY_EVERY_MINUTES, reissue_directory),
    COLLECT_JOB: (COLLECT_EVERY_MINUTES, collect_unused_files),
}
"""The jobs run every so many minutes, by id: the minutes, and the plain function run with
the app."""


def _bangkok_day(moment: float) -> int:
    return int((moment + BANGKOK_OFFSET_SECONDS) // 86_400)


def once_across_processes(
    app: Flask, job_id: str, slot_of: Callable[[float], int], run: Callable[[Flask], object]
) -> Callable[[], object]:
    """The scheduler's function for ``job_id``: ``run`` with the app when this process
    claims the slot of now (``slot_of`` the app's time), so that of several hub processes
    one runs each slot (ADR 0025); None when another process claimed it."""

    def job() -> object:
        processes: HubProcesses = app.extensions["saraban_processes"]
        with _store(app) as store:
            claimed = processes.claim(store, job_id, slot_of(_now(app)))
        return run(app) if claimed else None

    return job


def every(seconds: float) -> Callable[[float], int]:
    """The slot of an interval job at a moment: which ``seconds``-long span it falls in."""
    return lambda moment: int(moment // seconds)


def heartbeat(app: Flask) -> int:
    """Record that this process serves the app's hub (:mod:`hub.processes`); how many do."""
    processes: HubProcesses = app.extensions["saraban_processes"]
    with _store(app) as store:
        return processes.beat(store)


def leave(app: Flask) -> None:
    """Forget this process among the hub's (it stops serving)."""
    processes: HubProcesses = app.extensions["saraban_processes"]
    with _store(app) as store:
        processes.leave(store)


def build_scheduler(app: Flask) -> BackgroundScheduler:
    """The hub's scheduler with its jobs, not started. Every job but the heartbeat runs
    once across the hub's processes (:func:`once_across_processes`).

    Raises :class:`ValueError` when ``RECONCILE_AT`` is not ``HH:MM``.
    """
    hour, minute = parse_time_of_day(app.config["RECONCILE_AT"])
    scheduler = BackgroundScheduler(timezone=TIMEZONE)
    scheduler.add_job(
        once_across_processes(app, RECONCILE_JOB, _bangkok_day, nightly_reconciliation),
        "cron",
        hour=hour,
        minute=minute,
        id=RECONCILE_JOB,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,  # a hub restarted at 02:10 still makes the night's report
    )
    for job_id, (minutes, job) in INTERVAL_JOBS.items():
        scheduler.add_job(
            once_across_processes(app, job_id, every(minutes * 60), job),
            "interval",
            minutes=minutes,
            id=job_id,
            max_instances=1,
            coalesce=True,
        )
    scheduler.add_job(
        once_across_processes(
            app, PORTAL_INDEX_JOB, every(PORTAL_INDEX_EVERY_SECONDS), keep_portal_index
        ),
        "interval",
        seconds=PORTAL_INDEX_EVERY_SECONDS,
        id=PORTAL_INDEX_JOB,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,  # a busy second is made up for, not logged as missed
    )
    _add_heartbeat(scheduler, app)
    return scheduler


def _add_heartbeat(scheduler: BackgroundScheduler, app: Flask) -> None:
    scheduler.add_job(
        partial(heartbeat, app),
        "interval",
        seconds=HEARTBEAT_SECONDS,
        id=HEARTBEAT_JOB,
        max_instances=1,
        coalesce=True,
    )


def start_scheduler(app: Flask) -> BackgroundScheduler:
    """Record this process among the hub's and start its jobs; with ``SCHEDULER`` off, only
    the heartbeat (the process serves, so the others must count it, ADR 0025)."""
    if app.config.get("SCHEDULER", True):
        scheduler = build_scheduler(app)
    else:
        scheduler = BackgroundScheduler(timezone=TIMEZONE)
        _add_heartbeat(scheduler, app)
    heartbeat(app)
    scheduler.start()
    app.extensions["saraban_scheduler"] = scheduler
    return scheduler
