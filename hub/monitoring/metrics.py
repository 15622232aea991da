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
  ``saraban_hub_letter_timing_count``; :func:`hub.monitoring.timings.delivery_timings`);
  the bytes each office holds in quarantine and the envelopes refused unkept because that
  was full (``saraban_hub_quarantine_bytes``, ``saraban_hub_quarantine_refused``), the
  repeats counted on open alerts, and the files and bytes the collection removed
  (``saraban_hub_collected_files``, ``saraban_hub_collected_bytes``).
* The requests each office had refused by its rate limits since the process started
  (``saraban_hub_rate_limited``, :mod:`hub.federation.ratelimit`), read from the app.

Who may read it (:func:`check_access`), since the figures name every office and its
trouble: with a token (``METRICS_TOKEN``, from ``config.json`` or the environment, or the
file ``METRICS_TOKEN_FILE``, by default ``<instance>/metrics_token`` when it exists; never
a command-line argument) a scrape must send ``Authorization: Bearer <token>`` (compared in
constant time) or gets a 401 JSON answer. With ``METRICS_LISTEN`` (``host:port``),
``saraban hub serve`` also listens there and serves ``/metrics`` there only: the hub's own
address answers 404 for it, and that address answers 404 for anything else; the token,
when there is one, is asked there too. With neither, ``/metrics`` answers 401 saying how to
open it: it is never open to whoever reaches the hub.

Does not: decide states or numbering problems (:mod:`hub.monitoring.offices`,
:mod:`hub.numbering.authority`), nor keep any count of its own that the database does not hold.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from hub.errors import NotFound, Unauthorized
from hub.monitoring.alerts import KINDS, REASONS
from hub.monitoring.offices import STATES, Thresholds, office_rows
from hub.monitoring.timing_facts import CLOCK_ALLOWANCE
from hub.monitoring.timings import ALL_SPEEDS, MEASURES, PERCENTS, delivery_timings
from hub.numbering.authority import numbering_report
from hub.numbering.reconcile import PROBLEMS, problem_count
from hub.store import COLLECTED_KINDS, HubStore
from protocol.messages import FEED_KINDS
from protocol.settings import BadSetting

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The classic text format: what every Prometheus server reads."""
DEFAULT_TOKEN_FILE = "metrics_token"  # noqa: S105 (a file name)
"""The token file read from the instance folder when ``METRICS_TOKEN_FILE`` is not set."""
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
        return [*_families().values(), _rate_limited(self.app)]

    def collect(self) -> Iterator[Metric]:
        store = HubStore.open(self.app.config["DATABASE"], create=False)
        try:
            now = float(self.app.config["CLOCK"]())
            yield from _read(store, now, Thresholds.from_settings(self.app.config))
        finally:
            store.close()
        yield _rate_limited(self.app)


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
        "repeats": GaugeMetricFamily(
            "saraban_hub_alert_repeats",
            "Times the open alerts of a kind were raised again while open.",
            labels=["kind"],
        ),
        "quarantine_bytes": GaugeMetricFamily(
            "saraban_hub_quarantine_bytes",
            "Bytes of an office's refused envelopes waiting in quarantine (its quota's use).",
            labels=["office"],
        ),
        "quarantine_refused": CounterMetricFamily(
            "saraban_hub_quarantine_refused",
            "Refused envelopes of an office not kept because its quarantine quota was full.",
            labels=["office"],
        ),
        "collected_files": CounterMetricFamily(
            "saraban_hub_collected_files",
            "Files removed by the collection: orphan_blob, partial_upload.",
            labels=["what"],
        ),
        "collected_bytes": CounterMetricFamily(
            "saraban_hub_collected_bytes",
            "Bytes removed by the collection: orphan_blob, partial_upload.",
            labels=["what"],
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
        count, repeats = opened.get(kind, (0, 0))
        f["alerts"].add_metric([kind], count)
        f["repeats"].add_metric([kind], repeats)
    for usage in store.quarantine_usage():
        f["quarantine_bytes"].add_metric([usage["office"]], usage["held_bytes"])
        f["quarantine_refused"].add_metric([usage["office"]], usage["refused"])
    collected = store.collected()
    for what in COLLECTED_KINDS:
        row = collected.get(what) or {}
        f["collected_files"].add_metric([what], row.get("files") or 0)
        f["collected_bytes"].add_metric([what], row.get("bytes") or 0)
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
    """Give ``app`` its registry, histograms and collector, the ``/metrics`` route and who
    may read it; :class:`BadSetting` for a bad ``METRICS_LISTEN`` or token file."""
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
    listen = metrics_listen(app.config.get("METRICS_LISTEN"))
    app.extensions["saraban_metrics_access"] = MetricsAccess(
        metrics_token(app.config, Path(app.instance_path)), None if listen is None else listen[1]
    )
    app.before_request(_metrics_address_only)
    app.register_blueprint(bp)
    return metrics


def timed(kind: str) -> AbstractContextManager[Any]:
    """Observe how long the block takes as one ``push`` or ``pull`` request."""
    metrics: HubMetrics = current_app.extensions["saraban_metrics"]
    histogram = {"push": metrics.push_seconds, "pull": metrics.pull_seconds}[kind]
    timer: AbstractContextManager[Any] = histogram.time()
    return timer


def _rate_limited(app: Flask) -> Metric:
    family = CounterMetricFamily(
        "saraban_hub_rate_limited",
        "Requests of an office refused 429 by its rate limit since the hub started, by family.",
        labels=["office", "family"],
    )
    limits = app.extensions.get("saraban_rate_limits")
    refused: dict[tuple[str, str], int] = {} if limits is None else limits.refused()
    for (office, kind), count in sorted(refused.items()):
        family.add_metric([office, kind], count)
    return family


@dataclass(frozen=True)
class MetricsAccess:
    """Who may read ``/metrics``: the bearer ``token`` (empty: none) and the ``port`` of
    the address it is served on alone (None: the hub's own)."""

    token: str
    port: int | None


def metrics_listen(value: object) -> tuple[str, int] | None:
    """``(host, port)`` of a ``METRICS_LISTEN`` setting (None when empty);
    :class:`BadSetting` saying what is expected."""
    text = str(value or "").strip()
    if not text:
        return None
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadSetting(
            f"METRICS_LISTEN must be host:port, e.g. 10.0.0.5:9464 or [::1]:9464; got {text!r}"
        )
    return host, int(port)


def metrics_token(settings: Mapping[str, Any], instance: Path) -> str:
    """The token ``/metrics`` asks for: ``METRICS_TOKEN``, else the first line of
    ``METRICS_TOKEN_FILE`` (by default ``<instance>/metrics_token`` when it exists), else
    empty. :class:`BadSetting` for a named file that cannot be read or holds nothing."""
    token = str(settings.get("METRICS_TOKEN") or "").strip()
    if token:
        return token
    named = settings.get("METRICS_TOKEN_FILE")
    path = Path(str(named)) if named else instance / DEFAULT_TOKEN_FILE
    if not named and not path.exists():
        return ""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise BadSetting(f"cannot read the /metrics token file {path}: {e}") from e
    token = lines[0].strip() if lines else ""
    if not token:
        raise BadSetting(f"the /metrics token file {path} is empty")
    return token


def _access() -> MetricsAccess:
    access: MetricsAccess = current_app.extensions["saraban_metrics_access"]
    return access


def _on_metrics_address(access: MetricsAccess) -> bool:
    return access.port is not None and request.environ.get("SERVER_PORT") == str(access.port)


def _header_bytes(value: str) -> bytes:
    # WSGI hands header values over as latin-1 text; the token is compared as the bytes sent.
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def check_access() -> None:
    """Refuse this scrape unless the hub's settings let it read ``/metrics``."""
    access = _access()
    if access.port is not None and not _on_metrics_address(access):
        raise NotFound("/metrics is served at the hub's metrics address (METRICS_LISTEN)")
    if not access.token:
        if access.port is not None:
            return
        error = Unauthorized(
            "/metrics is closed: set METRICS_TOKEN (config.json or the environment),"
            " METRICS_TOKEN_FILE or METRICS_LISTEN",
            code="unauthorized",
        )
    else:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            _header_bytes(given.strip()), access.token.encode("utf-8")
        ):
            return
        error = Unauthorized(
            "send Authorization: Bearer <METRICS_TOKEN> to read /metrics", code="unauthorized"
        )
    error.headers["WWW-Authenticate"] = 'Bearer realm="saraban-hub-metrics"'
    raise error


def _metrics_address_only() -> None:
    # The metrics address serves /metrics alone: the API and console stay where they were.
    if _on_metrics_address(_access()) and request.endpoint != "metrics.metrics_page":
        raise NotFound("only /metrics is served at this address")


@bp.get("/metrics")
def metrics_page() -> Response:
    """The hub's metrics in the Prometheus text format."""
    check_access()
    metrics: HubMetrics = current_app.extensions["saraban_metrics"]
    return Response(
        generate_latest(metrics.registry),
        mimetype=None,
        content_type=CONTENT_TYPE,
        headers={"Cache-Control": "no-store"},
    )
