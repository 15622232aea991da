"""Serving the hub and node apps with waitress, the way `saraban ... serve` does.

`saraban hub serve --portal-bind HOST:PORT` (or the ``PORTAL_BIND`` setting) also serves
the portal (:mod:`hub.portal`) from the same process on its own address: one waitress
server listens on both, and each request goes to the app of the port it came in on
(:class:`ByPort`). `saraban hub portal --bind HOST:PORT` serves the portal alone."""

from __future__ import annotations

import logging
import resource
import sys
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


class ByPort:
    """WSGI: each request to the app of the port it came in on (waitress's
    ``SERVER_PORT``), any other port's to ``default``."""

    def __init__(self, default: Any, by_port: dict[int, Any]):
        self.default = default
        self.by_port = {str(port): app for port, app in by_port.items()}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        app = self.by_port.get(str(environ.get("SERVER_PORT", "")), self.default)
        return app(environ, start_response)


def bind_address(text: str, what: str) -> tuple[str, int] | None:
    """``(host, port)`` of a ``HOST:PORT`` (``[::1]:8443`` for IPv6), None when empty;
    :class:`BadSetting` naming ``what`` otherwise."""
    text = text.strip()
    if not text:
        return None
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadSetting(f"{what} must be host:port, e.g. 127.0.0.1:8443; got {text!r}")
    return host, int(port)


def _serve(
    app: Flask,
    scheduler: Any,
    kind: str,
    host: str,
    port: int,
    threads: int,
    connections: int = 100,
    also: str = "",
    wsgi: Any = None,
    portal: str = "",
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
    if portal:
        print(f"portal serving on http://{portal}/", flush=True)
    listen = f"{_bracketed(host)}:{port} {also} {portal}".strip()
    try:
        serve(
            wsgi or app,
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
            # poll(), not select(): select cannot watch a socket numbered above 1,024, and
            # every office keeps a connection open for its wake-up check.
            asyncore_use_poll=True,
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
    instance: Path,
    host: str | None,
    port: int | None,
    threads: int | None = None,
    portal: str | None = None,
) -> None:
    """Serve the hub (API, console, /metrics, and the portal at ``portal`` or
    ``PORTAL_BIND`` when given) with its scheduler until interrupted; unset options come
    from the hub's settings."""
    from hub.app import create_app
    from hub.federation.verifier_pool import start_pool
    from hub.jobs import leave, start_scheduler
    from hub.monitoring.metrics import metrics_listen
    from hub.portal.app import create_portal_app

    app = create_app(instance_path=str(instance.resolve()))
    host = host or str(app.config["HOST"])
    port = port or int(app.config["PORT"])
    threads = threads or int(app.config["THREADS"])
    connections = int(app.config["CONNECTIONS"])
    metrics = metrics_listen(app.config["METRICS_LISTEN"])
    if metrics is not None and metrics[1] == port:
        raise BadSetting(f"METRICS_LISTEN needs a port of its own, not the hub's {port}")
    also = "" if metrics is None else f"{_bracketed(metrics[0])}:{metrics[1]}"
    bind = bind_address(portal or str(app.config["PORTAL_BIND"] or ""), "--portal-bind")
    wsgi, shown = None, ""
    if bind is not None:
        if bind[1] == port or (metrics is not None and bind[1] == metrics[1]):
            raise BadSetting(f"the portal needs a port of its own, not {bind[1]}")
        portal_app = create_portal_app(instance_path=str(instance.resolve()))
        wsgi, shown = ByPort(app, {bind[1]: portal_app}), f"{_bracketed(bind[0])}:{bind[1]}"
    _allow_open_files(connections + 256)
    start_pool(wait=False)  # the workers start beside the first requests
    scheduler = start_scheduler(app)
    try:
        _serve(app, scheduler, "hub", host, port, threads, connections, also, wsgi, shown)
    finally:
        leave(app)


def serve_portal(instance: Path, bind: str, threads: int | None = None) -> None:
    """Serve the portal alone (no API, console or jobs) at ``bind`` (``HOST:PORT``, or the
    ``PORTAL_BIND`` setting) until interrupted."""
    from hub.portal.app import create_portal_app

    app = create_portal_app(instance_path=str(instance.resolve()))
    address = bind_address(bind or str(app.config["PORTAL_BIND"] or ""), "--bind")
    if address is None:
        raise BadSetting("the portal needs an address: --bind HOST:PORT or PORTAL_BIND")
    threads = threads or int(app.config["THREADS"])
    _serve(app, None, "portal", address[0], address[1], threads)


def serve_node(instance: Path, host: str, port: int, threads: int = 4) -> None:
    """Serve a node (API, status page) with its sync scheduler until interrupted."""
    from node.app import create_app
    from node.sync.enrolment import start_scheduler
    from node.sync.pull import SWITCH_INTERVAL_SECONDS

    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    app = create_app(instance_path=str(instance.resolve()))
    _serve(app, start_scheduler(app), "node", host, port, threads)
