"""``GET /metrics``: the hub's state in the Prometheus text format (prometheus_client).

Each app has its own ``CollectorRegistry`` in ``app.extensions["saraban_metrics"]`` (never
the library's global one: a process may hold several hub apps, as the tests do). Two kinds
of metric live in it:

* Histograms the API observes as requests are served: ``saraban_hub_push_seconds`` and
  ``saraban_hub_pull_seconds`` (:func:`timed`, used by :mod:`hub.api`). They start at zero
  when the process starts, as Prometheus expects.
* :class:`HubCollector`, which reads the database at scrape time, so every number is the
  hub's own record and survives a restart: envelopes accepted (feed rows, by kind),
  rejected (quarantine rows, by reason) and pushed again (sync sessions), mailbox and
  outbox backlogs, seconds since each office was last heard from (by the app's clock),
  signed requests refused because the office's clock was off
  (``saraban_hub_clock_refusals``, counted for enrolled offices only, so no stranger adds a
  label), each office's state, the numbering problems of each register and the open alerts;
  and how long the letters sent in the last :data:`TIMING_WINDOW` seconds took from their
  sending to the hub, to the recipient's inbox and to ลงรับ, overall and per speed class
  (``saraban_hub_letter_timing_seconds`` with a ``quantile`` of 0.5 or 0.95, and
  ``saraban_hub_letter_timing_count``; :func:`hub.monitoring.timings.delivery_timings`).

``METRICS_TOKEN`` set: a scrape must send ``Authorization: Bearer <token>`` (compared in
constant time) or gets a 401 JSON answer. Empty: the endpoint is open, as is usual for a
scrape target on an internal network.

Does not: decide states or numbering problems (:mod:`hub.monitoring.offices`,
:mod:`hub.numbering.authority`), nor keep any count of its own that the database does not hold.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from hub.errors import Unauthorized
from hub.monitoring.alerts import KINDS, REASONS
from hub.monitoring.offices import STATES, Thresholds, office_rows
from hub.monitoring.timing_facts import CLOCK_ALLOWANCE
from hub.monitoring.timings import ALL_SPEEDS, MEASURES, PERCENTS, delivery_timings
from hub.numbering.authority import numbering_report
from hub.numbering.reconcile import PROBLEMS, problem_count
from hub.store import HubStore
from protocol.messages import FEED_KINDS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The classic text format: what every Prometheus server reads."""
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds; a push of a full batch of signed envelopes may take seconds on a busy hub."""
TIMING_WINDOW = 7 * 86_400
"""Seconds back from now whose sent letters the timing metrics cover: a week, so that the
slower ลงรับ of a letter sent days ago still counts."""

bp = Blueprint("metrics", __name__)


@dataclass(frozen=True)
class HubMetrics:
    """The registry of one app and the histograms its API observes."""

    registry: CollectorRegistry
    push_seconds: Histogram
    pull_seconds: Histogram


class HubCollector:
    """Metrics read from the hub's database at every scrape."""

    def __init__(self, app: Flask):
        self.app = app

    def describe(self) -> list[Metric]:
        # The names the registry checks for clashes, without reading the database.
        return list(_families().values())

    def collect(self) -> Iterator[Metric]:
        store = HubStore.open(self.app.config["DATABASE"], create=False)
        try:
            now = float(self.app.config["CLOCK"]())
            yield from _read(store, now, Thresholds.from_settings(self.app.config))
        finally:
            store.close()


Family = CounterMetricFamily | GaugeMetricFamily


def _families() -> dict[str, Family]:
    """Every family the collector reports, empty, by a short name."""
    return {
        "accepted": CounterMetricFamily(
            "saraban_hub_envelopes_accepted",
            "Envelopes accepted into the offices' feeds, by kind.",
            labels=["kind"],
        ),
        "rejected": CounterMetricFamily(
            "saraban_hub_envelopes_rejected",
            "Envelopes refused and quarantined, by reason.",
            labels=["reason"],
        ),
        "duplicate": CounterMetricFamily(
            "saraban_hub_envelopes_duplicate",
            "Envelopes pushed again that the hub already held.",
            labels=[],
        ),
        "mailbox": GaugeMetricFamily(
            "saraban_hub_mailbox_backlog",
            "Envelopes waiting at the hub for an office to pull them.",
            labels=["office"],
        ),
        "outbox": GaugeMetricFamily(
            "saraban_hub_outbox_backlog",
            "Envelopes waiting at an office to be pushed, as its node last reported.",
            labels=["office"],
        ),
        "contact": GaugeMetricFamily(
            "saraban_hub_seconds_since_contact",
            "Seconds since the office last pushed, pulled or reported (absent: never).",
            labels=["office"],
        ),
        "clock": CounterMetricFamily(
            "saraban_hub_clock_refusals",
            "Signed requests of an office refused because its clock was outside the window.",
            labels=["office"],
        ),
        "state": GaugeMetricFamily(
            "saraban_hub_office_state",
            "1 for the office's state now (healthy, late, silent, never enrolled, revoked).",
            labels=["office", "state"],
        ),
        "numbering": GaugeMetricFamily(
            "saraban_hub_numbering_problems",
            "Numbering problems of a register now: gaps, duplicates, provisional_pending.",
            labels=["register", "problem"],
        ),
        "alerts": GaugeMetricFamily(
            "saraban_hub_alerts_open",
            "Open alerts for the operator, by kind.",
            labels=["kind"],
        ),
        "timing": GaugeMetricFamily(
            "saraban_hub_letter_timing_seconds",
            "Seconds from a letter's sending to the hub (to_hub), the recipient's inbox"
            " (to_inbox) and registration (to_registered), letters sent in the last 7 days,"
            " nearest-rank quantile, by speed class (all: every class).",
            labels=["measure", "speed", "quantile"],
        ),
        "timed": GaugeMetricFamily(
            "saraban_hub_letter_timing_count",
            "Spans the letter timing quantiles were taken from (letters for to_hub,"
            " letter and recipient pairs for the others).",
            labels=["measure", "speed"],
        ),
    }


def _read(store: HubStore, now: float, limits: Thresholds) -> Iterator[Metric]:
    f = _families()
    # Known labels are reported at zero too, so a rate() has a series before the first one.
    fed = store.feed_counts_by_kind()
    for kind in sorted(set(FEED_KINDS) | set(fed)):
        f["accepted"].add_metric([kind], fed.get(kind, 0))
    quarantined = store.quarantine_counts_by_reason()
    for reason in sorted(set(REASONS) | set(quarantined)):
        f["rejected"].add_metric([reason], quarantined.get(reason, 0))
    f["duplicate"].add_metric([], store.duplicate_envelopes_total())
    for row in office_rows(store, now, limits):
        office = row["id"]
        f["mailbox"].add_metric([office], row["mailbox"])
        if row["outbox"] is not None:
            f["outbox"].add_metric([office], row["outbox"])
        if row["quiet_seconds"] is not None:
            f["contact"].add_metric([office], row["quiet_seconds"])
        f["clock"].add_metric([office], row.get("clock_refusals") or 0)
        for name in STATES:
            f["state"].add_metric([office, name], 1 if row["state"] == name else 0)
    for report in numbering_report(store):
        for problem in PROBLEMS:
            f["numbering"].add_metric([report["register"], problem], problem_count(report, problem))
    opened = store.open_alert_counts_by_kind()
    for kind in sorted(set(KINDS) | set(opened)):
        f["alerts"].add_metric([kind], opened.get(kind, 0))
    # A sending clock the hub believed may be ahead of it by up to CLOCK_ALLOWANCE.
    timings = delivery_timings(store, now - TIMING_WINDOW, now + CLOCK_ALLOWANCE)
    for speed, spans in ((ALL_SPEEDS, timings["overall"]), *timings["by_speed"].items()):
        for measure in MEASURES:
            span = spans[measure]
            f["timed"].add_metric([measure, speed], span["count"])
            for percent in PERCENTS:
                value = span[f"p{percent}_s"]
                if value is not None:
                    f["timing"].add_metric([measure, speed, f"{percent / 100:g}"], value)
    yield from f.values()


def init_app(app: Flask) -> HubMetrics:
    """Give ``app`` its registry, histograms and collector, and the ``/metrics`` route."""
    registry = CollectorRegistry()
    metrics = HubMetrics(
        registry,
        Histogram(
            "saraban_hub_push_seconds",
            "Time to answer a push request.",
            registry=registry,
            buckets=LATENCY_BUCKETS,
        ),
        Histogram(
            "saraban_hub_pull_seconds",
            "Time to answer a pull request.",
            registry=registry,
            buckets=LATENCY_BUCKETS,
        ),
    )
    registry.register(HubCollector(app))
    app.extensions["saraban_metrics"] = metrics
    app.register_blueprint(bp)
    return metrics


def timed(kind: str) -> AbstractContextManager[Any]:
    """Observe how long the block takes as one ``push`` or ``pull`` request."""
    metrics: HubMetrics = current_app.extensions["saraban_metrics"]
    histogram = {"push": metrics.push_seconds, "pull": metrics.pull_seconds}[kind]
    timer: AbstractContextManager[Any] = histogram.time()
    return timer


def _header_bytes(value: str) -> bytes:
    # WSGI hands header values over as latin-1 text; the token is compared as the bytes sent.
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _check_token() -> None:
    expected = str(current_app.config.get("METRICS_TOKEN") or "")
    if not expected:
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        _header_bytes(given.strip()), expected.encode("utf-8")
    ):
        error = Unauthorized(
            "send Authorization: Bearer <METRICS_TOKEN> to read /metrics", code="unauthorized"
        )
        error.headers["WWW-Authenticate"] = 'Bearer realm="saraban-hub-metrics"'
        raise error


@bp.get("/metrics")
def metrics_page() -> Response:
    """The hub's metrics in the Prometheus text format."""
    _check_token()
    metrics: HubMetrics = current_app.extensions["saraban_metrics"]
    return Response(
        generate_latest(metrics.registry),
        mimetype=None,
        content_type=CONTENT_TYPE,
        headers={"Cache-Control": "no-store"},
    )
