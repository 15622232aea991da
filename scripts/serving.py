"""Serving the hub and node apps with waitress, the way `saraban ... serve` does."""

from __future__ import annotations

import logging
import resource
from pathlib import Path
from typing import TYPE_CHECKING, Any

from waitress import serve

from protocol.settings import BadSetting

if TYPE_CHECKING:
    from flask import Flask

RECV_BYTES = 64 * 1024
"""Bytes waitress reads from a socket at once."""
INBUF_OVERFLOW = 2 * 1024 * 1024
"""A request body up to this size stays in memory; a larger one goes to a temporary file."""


def _serve(
    app: Flask,
    scheduler: Any,
    kind: str,
    host: str,
    port: int,
    threads: int,
    connections: int = 100,
    also: str = "",
) -> None:
    """Serve ``app`` with waitress until interrupted, then stop its ``scheduler``.

    ``connections`` is waitress's ``connection_limit``: beyond it new connections wait,
    so the hub sets it above the number of offices (each keeps one open). ``also`` is
    another ``host:port`` to listen on (the hub's metrics address)."""
    # waitress warns on every queue backlog; the hub answers overload itself with 429.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    print(f"{kind} serving on http://{host}:{port}/", flush=True)
    if also:
        print(f"{kind} serving /metrics on http://{also}/metrics", flush=True)
    listen = f"{_bracketed(host)}:{port} {also}".strip()
    try:
        serve(
            app,
            listen=listen,
            threads=threads,
            connection_limit=connections,
            # A push of 200 letters is about 1 MB: read it in large pieces and keep it in
            # memory: waitress's defaults (8 KB reads, a temporary file past 512 KB) cost
            # the hub process about a sixth of its time per pushed envelope.
            recv_bytes=RECV_BYTES,
            inbuf_overflow=INBUF_OVERFLOW,
            # The app answers a body over its limit with a reason (JSON, a Thai page);
            # waitress reads no body beyond twice that limit (its default is 1 GB).
            max_request_body_size=2 * int(app.config["MAX_CONTENT_LENGTH"]),
            ident=f"saraban-{kind}",
        )
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _allow_open_files(wanted: int) -> None:
    """Raise this process's soft limit of open files towards ``wanted`` (within the hard
    limit): a hub with one kept-alive connection per office needs more than the usual
    1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def serve_hub(
    instance: Path, host: str | None, port: int | None, threads: int | None = None
) -> None:
    """Serve the hub (API, console, /metrics) with its scheduler until interrupted; unset
    options come from the hub's settings."""
    from hub.app import create_app
    from hub.jobs import start_scheduler
    from hub.monitoring.metrics import metrics_listen

    app = create_app(instance_path=str(instance.resolve()))
    host = host or str(app.config["HOST"])
    port = port or int(app.config["PORT"])
    threads = threads or int(app.config["THREADS"])
    connections = int(app.config["CONNECTIONS"])
    metrics = metrics_listen(app.config["METRICS_LISTEN"])
    if metrics is not None and metrics[1] == port:
        raise BadSetting(f"METRICS_LISTEN needs a port of its own, not the hub's {port}")
    also = "" if metrics is None else f"{_bracketed(metrics[0])}:{metrics[1]}"
    _allow_open_files(connections + 256)
    _serve(app, start_scheduler(app), "hub", host, port, threads, connections, also)


def serve_node(instance: Path, host: str, port: int, threads: int = 4) -> None:
    """Serve a node (API, status page) with its sync scheduler until interrupted."""
    from node.app import create_app
    from node.sync.enrolment import start_scheduler

    app = create_app(instance_path=str(instance.resolve()))
    _serve(app, start_scheduler(app), "node", host, port, threads)
