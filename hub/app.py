"""The hub's Flask application factory.

``create_app(test_config=None, instance_path=None)`` in the flaskr manner: settings from
:mod:`hub.config`, one database connection per application context (closed on teardown),
one blueprint per endpoint family, and one place that renders every error as
``{"error": code, "reason": ...}`` JSON. ``app.config["CLOCK"]`` (Unix seconds) is the only
source of time, so tests can move it.

The instance must have been initialised first (:func:`hub.admin.instance.init_hub`): the factory
never creates a hub identity by itself.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

from flask import Flask

from hub import accounts_api, api, audit_api
from hub.config import load_settings
from hub.console.kit import configure_console
from hub.context import close_store
from hub.errors import StoreError
from hub.federation.blobs import BlobStore, backfill_readers
from hub.federation.exchanges import Exchanges
from hub.federation.ratelimit import RateLimits
from hub.monitoring import metrics
from hub.monitoring.usage_facts import backfill as backfill_statistics
from hub.processes import HubProcesses
from hub.responses import InflightLimiter, bound_requests, render_errors
from hub.store import HubStore, database_exists
from hub.store.modes import check_file_modes

CONSOLE_MODULES: tuple[str, ...] = (
    "hub.console.overview",
    "hub.console.alerts",
    "hub.console.enrollment",
    "hub.console.lists",
    "hub.console.numbering",
    "hub.console.stats",
)
"""Modules of the operator's console, each with one blueprint ``bp``."""


def create_app(
    test_config: dict[str, Any] | None = None, instance_path: str | Path | None = None
) -> Flask:
    """Build the hub application for an initialised instance folder."""
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
    )
    app.config.update(load_settings(app.instance_path, test_config))
    app.config.setdefault("CLOCK", time.time)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    check_file_modes(Path(app.instance_path), app.config)
    if not database_exists(app.config["DATABASE"]):
        raise StoreError(f"no hub database at {app.config['DATABASE']}: run `saraban hub init`")
    upgrade = HubStore.open(app.config["DATABASE"], create=True)  # schema upgrades
    try:
        backfill_statistics(upgrade)  # once per hub: facts of what ran before them
        backfill_readers(upgrade)  # once per hub: who may read blobs cited before
    finally:
        upgrade.close()
    app.extensions["saraban_keyring"] = {}
    app.extensions["saraban_blobs"] = BlobStore(app.config["BLOB_DIR"])
    app.extensions["saraban_exchanges"] = Exchanges()
    app.extensions["saraban_rate_limits"] = RateLimits.from_settings(app.config)
    app.extensions["saraban_processes"] = HubProcesses(lambda: float(app.config["CLOCK"]()))
    app.teardown_appcontext(close_store)
    render_errors(app)
    bound_requests(app)  # before any route, and any hook that could read a body

    app.register_blueprint(api.bp)
    app.register_blueprint(audit_api.bp)
    app.register_blueprint(accounts_api.bp)
    metrics.init_app(app)
    configure_console(app)
    for name in CONSOLE_MODULES:
        app.register_blueprint(importlib.import_module(name).bp)
    limiter = InflightLimiter(
        app.wsgi_app, int(app.config["MAX_INFLIGHT"]), int(app.config["RETRY_AFTER_SECONDS"])
    )
    app.extensions["saraban_limiter"] = limiter
    app.wsgi_app = limiter  # type: ignore[method-assign]
    return app
