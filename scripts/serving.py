"""Serving the hub, the portal and the node apps, the way `saraban ... serve` does.

The hub and the portal are served by cheroot (:func:`_serve_many`): every office keeps a
connection open to the hub for its wake-up check, and cheroot watches its idle
connections with the kernel's selector, so a request costs the same with 1,000 offices
connected as with ten (ADR 0032). A node, with its clerks' few connections, is served by
waitress (:func:`_serve`).

`saraban hub serve --portal-bind HOST:PORT` (or the ``PORTAL_BIND`` setting) also serves
the portal (:mod:`hub.portal`) from the same process on its own address, and
``METRICS_LISTEN`` /metrics on another: each request goes to the app of the port it came
in on (:class:`ByPort`). `saraban hub portal --bind HOST:PORT` serves the portal alone."""

from __future__ import annotations

import io
import json
import logging
import resource
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cheroot import server as cheroot_server
from cheroot import wsgi as cheroot_wsgi
from cheroot.errors import MaxSizeExceeded
from waitress import serve

from protocol.refusal import log_refusal
from protocol.settings import BadSetting

if TYPE_CHECKING:
    from flask import Flask

RECV_BYTES = 64 * 1024
"""Bytes read at once: from a socket by waitress, from a request body by cheroot's."""
INBUF_OVERFLOW = 2 * 1024 * 1024
"""A request body up to this size stays in memory; a larger one goes to a temporary file."""


IDLE_SECONDS = 60
"""How long the hub keeps a connection on which nothing arrives (an office's wake-up check
comes every few seconds; waitress, before, kept one 120 s)."""
MAX_HEADER_BYTES = 256 * 1024
"""The largest request line and headers the hub reads (waitress's limit, kept)."""

log = logging.getLogger("saraban.http")


class ByPort:
    """WSGI: each request to the app of the port it came in on (the server's
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


def _serve(app: Flask, scheduler: Any, kind: str, host: str, port: int, threads: int) -> None:
    """Serve ``app`` with waitress until interrupted, then stop its ``scheduler``."""
    # waitress warns on every queue backlog; the app answers overload itself.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    print(f"{kind} serving on http://{_bracketed(host)}:{port}/", flush=True)
    try:
        serve(
            app,
            listen=f"{_bracketed(host)}:{port}",
            threads=threads,
            # A clerk's scan is read in large pieces and kept in memory up to 2 MB
            # (waitress's defaults: 8 KB reads, a temporary file past 512 KB).
            recv_bytes=RECV_BYTES,
            inbuf_overflow=INBUF_OVERFLOW,
            # The app answers a body over its limit with a reason (JSON, a Thai page);
            # waitress reads no body beyond twice that limit (its default is 1 GB).
            max_request_body_size=_max_body(app),
            ident=f"saraban-{kind}",
        )
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


class _WholeBody:
    """WSGI: request bodies as waitress gave them to the app, read whole.

    - A chunked body is read into memory first (at most ``limit`` bytes, the server's)
      and given to the app with its length, so the app's limits refuse it by its length
      (413 with the reason) like any other; one over ``limit`` is given as that length
      with no bytes, and refused the same way.
    - What the app left unread of a body (it refused it before reading: 413, a 401 before
      reading a push) is read and dropped before the answer is sent: cheroot would close
      the connection with the body unread, and a client still sending it would see a
      broken connection instead of the answer.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("wsgi.input_terminated"):
            refusal = self._read_chunked(environ)
            if refusal is not None:
                return _refuse(environ, start_response, *refusal)
        answer = self.app(environ, start_response)
        body = environ.get("wsgi.input")
        if body is not None:
            try:
                while body.read(RECV_BYTES):
                    pass
            except (OSError, ValueError, MaxSizeExceeded):
                pass  # past the server's limit, or the client went: the connection closes
        return answer

    def _read_chunked(self, environ: dict[str, Any]) -> tuple[str, str, str] | None:
        """Read a chunked body whole; the refusal (status, code, reason), if any."""
        if environ.get("CONTENT_LENGTH"):
            # Two lengths for one body: a proxy on the way may have read the other one.
            return "400 Bad Request", "bad_request", _TWO_LENGTHS
        body = environ["wsgi.input"]
        parts = []
        try:
            while chunk := body.read(RECV_BYTES):
                parts.append(chunk)
            for _ in getattr(body, "read_trailer_lines", list)():
                pass  # the trailer's lines, so that the next request starts where it should
        except (MaxSizeExceeded, OSError, ValueError) as e:
            # cheroot says "Too Large" of one chunk past the limit, as an OSError.
            if isinstance(e, MaxSizeExceeded) or "Too Large" in str(e):
                return _TOO_LARGE, "too_large", f"the body is larger than {self.limit} bytes"
            return "400 Bad Request", "bad_request", f"the chunked body cannot be read: {e}"
        data = b"".join(parts)
        environ["wsgi.input"] = io.BytesIO(data)
        environ["wsgi.input_terminated"] = False
        environ["CONTENT_LENGTH"] = str(len(data))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return None


_TWO_LENGTHS = "a body with both Transfer-Encoding and Content-Length"
_TOO_LARGE = "413 Request Entity Too Large"


def _refuse(
    environ: dict[str, Any], start_response: Any, status: str, code: str, reason: str
) -> list[bytes]:
    """Answer ``status`` with the reason as the app's own refusals do (JSON, one log line),
    and close the connection: where the next request would start cannot be told."""
    method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
    log_refusal(log, method, path, int(status[:3]), code, reason)
    body = json.dumps({"error": code, "reason": reason}).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ],
    )
    return [body]


class _Request(cheroot_server.HTTPRequest):
    """A request whose connection closes when the answer says ``Connection: close``
    (cheroot decides that from the request and a 413 only)."""

    def send_headers(self) -> None:
        if any(
            name.lower() == b"connection" and value.lower() == b"close"
            for name, value in self.outheaders
        ):
            self.close_connection = True
        super().send_headers()


class _Connection(cheroot_server.HTTPConnection):
    RequestHandlerClass = _Request


class _Server(cheroot_wsgi.Server):
    """cheroot's WSGI server, with a request thread only for a connection that has sent
    something, at most ``open_limit`` connections open, and its own errors said through
    logging, one line each."""

    ConnectionClass = _Connection
    open_limit = 4000
    """Connections open at once: a new one beyond is closed at once (waitress left it
    waiting in the kernel's queue); the process's open files stay within its limit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open = 0
        self._open_guard = threading.Lock()
        self._said: dict[str, float] = {}

    def process_conn(self, conn: Any) -> None:
        # cheroot hands a new connection to a request thread at once, which then waits
        # for its first bytes: eight connections that send nothing (an office's link
        # stalling, a hostile client) would hold every thread. A new connection waits
        # with the idle ones instead, and is handed over when it has something to read.
        if not getattr(conn, "saraban_waited", False):
            conn.saraban_waited = True
            with self._open_guard:
                full = self._open >= self.open_limit
                if not full:
                    self._open += 1
            if full:
                conn.close()
                self._say_once("connections", logging.WARNING, "too many connections open")
                return
            _count_close(conn, self)
            self.put_conn(conn)
            return
        super().process_conn(conn)

    def closed_one(self) -> None:
        with self._open_guard:
            self._open -= 1

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        # A client that went away or sent no valid HTTP is the client's matter: no traceback.
        text = msg.strip() or "connection error"
        if text.startswith("Error in HTTPServer.serve"):
            # The accept loop failed (no file left to open, say): said once a minute, and
            # the loop waits a moment instead of turning at full speed.
            self._say_once("serve", logging.ERROR, f"{text}: {sys.exc_info()[1]!r}")
            time.sleep(SERVE_ERROR_PAUSE)
            return
        log.log(level, "%s", text, exc_info=False)

    def _say_once(self, key: str, level: int, text: str) -> None:
        now = time.monotonic()
        if now - self._said.get(key, -SAY_EVERY) >= SAY_EVERY:
            self._said[key] = now
            log.log(level, "%s", text)


def _count_close(conn: Any, server: _Server) -> None:
    """Have ``server`` count ``conn`` as closed when it is."""
    close = conn.close

    def closing() -> None:
        if not getattr(conn, "saraban_closed", False):
            conn.saraban_closed = True
            server.closed_one()
        close()

    conn.close = closing


SERVE_ERROR_PAUSE = 0.1
"""Seconds the accept loop waits after it failed."""
SAY_EVERY = 60.0
"""Seconds between two log lines of the same server trouble."""


def _serve_many(
    app: Any,
    scheduler: Any,
    kind: str,
    addresses: list[tuple[str, int]],
    threads: int,
    connections: int,
    max_body: int,
) -> None:
    """Serve ``app`` on every address of ``addresses`` with cheroot until interrupted,
    then stop its ``scheduler``: one server with ``threads`` request threads an address,
    keeping up to ``connections`` connections open between requests."""
    servers = []
    for host, port in addresses:
        server = _Server(
            (host, port),
            _WholeBody(app, max_body),
            numthreads=threads,
            server_name=f"saraban-{kind}",
            # Offices reconnecting at once wait in the kernel's queue, not refused.
            request_queue_size=min(connections, 4096),
            timeout=IDLE_SECONDS,
            accepted_queue_size=-1,
        )
        server.keep_alive_conn_limit = connections
        server.open_limit = _open_limit(connections, len(addresses))
        # The app answers a body over its limit with a reason (JSON, a Thai page); the
        # server reads no body beyond twice that limit.
        server.max_request_body_size = max_body
        server.max_request_header_size = MAX_HEADER_BYTES
        servers.append(server)
    try:
        for server in servers:
            server.prepare()  # binds: a port in use fails here, before anything is served
        for server in servers[1:]:
            listen = threading.Thread(target=server.serve, name=f"saraban-{kind}", daemon=True)
            listen.start()
        servers[0].serve()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.stop()
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def _open_limit(connections: int, servers: int) -> int:
    """Connections each of ``servers`` keeps open at most: ``connections``, or its share of
    the open files this process may have, less some for its databases, logs and workers."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return connections
    return max(16, min(connections, (soft - 256) // servers))


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
    addresses = [(host, port)]
    if metrics is not None:
        addresses.append(metrics)
    bind = bind_address(portal or str(app.config["PORTAL_BIND"] or ""), "--portal-bind")
    wsgi: Any = app
    if bind is not None:
        if bind[1] == port or (metrics is not None and bind[1] == metrics[1]):
            raise BadSetting(f"the portal needs a port of its own, not {bind[1]}")
        portal_app = create_portal_app(instance_path=str(instance.resolve()))
        wsgi = ByPort(app, {bind[1]: portal_app})
        addresses.append(bind)
    _allow_open_files(connections * len(addresses) + 256)
    start_pool(wait=False)  # the workers start beside the first requests
    scheduler = start_scheduler(app)
    print(f"hub serving on http://{_bracketed(host)}:{port}/", flush=True)
    if metrics is not None:
        shown = f"{_bracketed(metrics[0])}:{metrics[1]}"
        print(f"hub serving /metrics on http://{shown}/metrics", flush=True)
    if bind is not None:
        print(f"portal serving on http://{_bracketed(bind[0])}:{bind[1]}/", flush=True)
    try:
        _serve_many(wsgi, scheduler, "hub", addresses, threads, connections, _max_body(app))
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
    connections = int(app.config["CONNECTIONS"])
    _allow_open_files(connections + 256)
    print(f"portal serving on http://{_bracketed(address[0])}:{address[1]}/", flush=True)
    _serve_many(app, None, "portal", [address], threads, connections, _max_body(app))


def _max_body(app: Flask) -> int:
    """The largest request body the server reads: twice the app's own limit, which the
    app answers with a reason."""
    return 2 * int(app.config["MAX_CONTENT_LENGTH"])


def serve_node(instance: Path, host: str, port: int, threads: int = 4) -> None:
    """Serve a node (API, status page) with its sync scheduler until interrupted."""
    from node.app import create_app
    from node.sync.enrolment import start_scheduler
    from node.sync.pull import SWITCH_INTERVAL_SECONDS

    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    app = create_app(instance_path=str(instance.resolve()))
    _serve(app, start_scheduler(app), "node", host, port, threads)
