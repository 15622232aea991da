"""The node's Flask application factory.

``create_app(test_config=None, instance_path=None)`` follows Flask's tutorial: settings
from defaults, the instance folder's ``config.json``, the environment and ``test_config``
(:mod:`node.config`). ``app.config["CLOCK"]`` is the one source of time (Unix seconds).
The scheduler is started separately (:func:`node.sync.enrolment.start_scheduler`). The
clerk's pages are :mod:`node.web.home` (home at ``/``); the status page is at ``/status``
(:mod:`node.web.status`). Every error is rendered in one place, :mod:`node.responses`.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

from flask import Flask, g, request

from node.api.core import bp as api_bp
from node.context import API_TOKEN_FILE, NodeContext
from node.records.sealed import sealing_problem
from node.records.units import seed_units
from node.responses import bound_requests, render_errors
from node.storage import audit
from node.storage.modes import check_file_modes
from node.web.home import bp as web_bp
from node.web.session import configure_sessions
from node.web.status import status_page

API_MODULES: tuple[str, ...] = (
    "node.api.letters",
    "node.api.retention",
    "node.api.reports",
    "node.api.search",
)
"""Further ``/api`` blueprints (each module's ``bp``, made by apikit.protected_blueprint)."""

WEB_MODULES: tuple[str, ...] = (
    "node.web.letters",
    "node.web.workflow",
    "node.web.paper",
    "node.web.compose",
    "node.web.search",
    "node.web.registers",
    "node.web.library",
    "node.web.retention",
    "node.web.admin",
    "node.web.sync",
    "node.web.sealed",
    "node.web.totp",
    "node.web.dates",
)
"""The clerk's page modules (each module's ``bp``; shared helpers in node.webkit)."""


def _read_token(instance: Path) -> str:
    path = instance / API_TOKEN_FILE
    return path.read_text(encoding="utf-8").strip() if path.exists() else ""


def create_app(
    test_config: dict[str, Any] | None = None, instance_path: str | Path | None = None
) -> Flask:
    """Build the node app for the instance folder ``instance_path``."""
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
    )
    instance = Path(app.instance_path)
    ctx = NodeContext.load(instance, test_config)
    check_file_modes(instance, ctx.settings["DATABASE"])
    sealing = sealing_problem()
    if sealing is not None:
        app.logger.error("classified letters can be neither sealed nor opened: %s", sealing)
    app.config.update(ctx.settings)
    app.config.setdefault("CLOCK", time.time)
    app.config.setdefault("API_TOKEN", _read_token(instance))
    app.config["MAX_CONTENT_LENGTH"] = int(ctx.settings["MAX_UPLOAD_BYTES"])
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    ctx.clock = lambda: float(app.config["CLOCK"]())
    app.extensions["saraban_node"] = ctx
    if ctx.settings.get("OFFICE"):
        with ctx.open_store() as store:
            seed_units(ctx, store)
    bound_requests(app)  # before any route, and any hook that could read a body
    configure_sessions(app, ctx)
    app.register_blueprint(web_bp)
    app.register_blueprint(api_bp)
    for module in WEB_MODULES + API_MODULES:
        app.register_blueprint(importlib.import_module(module).bp)
    render_errors(app)

    @app.before_request
    def note_address() -> None:
        g.audit_address = audit.set_request_address(request.remote_addr)

    @app.teardown_request
    def forget_address(_exc: BaseException | None) -> None:
        token = g.pop("audit_address", None)
        if token is not None:
            audit.reset_request_address(token)

    @app.teardown_appcontext
    def close_store(_exc: BaseException | None) -> None:
        store = g.pop("store", None)
        if store is not None:
            store.close()

    app.add_url_rule("/status", "status_page", status_page)
    return app
