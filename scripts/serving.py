"""Serving the hub and node apps with waitress, the way `saraban ... serve` does."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from waitress import serve

if TYPE_CHECKING:
    from flask import Flask


def _serve(app: Flask, scheduler: Any, kind: str, host: str, port: int, threads: int) -> None:
    """Serve ``app`` with waitress until interrupted, then stop its ``scheduler``."""
    # waitress warns on every queue backlog; the hub answers overload itself with 429.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    print(f"{kind} serving on http://{host}:{port}/", flush=True)
    try:
        serve(app, host=host, port=port, threads=threads, ident=f"saraban-{kind}")
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def serve_hub(
    instance: Path, host: str | None, port: int | None, threads: int | None = None
) -> None:
    """Serve the hub (API, console, /metrics) with its scheduler until interrupted; unset
    options come from the hub's settings."""
    from hub.app import create_app
    from hub.jobs import start_scheduler

    app = create_app(instance_path=str(instance.resolve()))
    host = host or str(app.config["HOST"])
    port = port or int(app.config["PORT"])
    threads = threads or int(app.config["THREADS"])
    _serve(app, start_scheduler(app), "hub", host, port, threads)


def serve_node(instance: Path, host: str, port: int, threads: int = 4) -> None:
    """Serve a node (API, status page) with its sync scheduler until interrupted."""
    from node.app import create_app
    from node.sync.enrolment import start_scheduler

    app = create_app(instance_path=str(instance.resolve()))
    _serve(app, start_scheduler(app), "node", host, port, threads)
