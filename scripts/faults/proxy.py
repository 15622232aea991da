"""A fault-injecting TCP proxy between a node and the hub, on 127.0.0.1.

Each accepted connection gets a thread and its own connection to the hub. The proxy reads
the HTTP/1.1 requests on it one at a time (request line, headers, ``Content-Length`` body)
and decides, for each, whether it passes or meets a fault (:data:`FAULT_KINDS`):

``drop``          the connection is closed before the request reaches the hub;
``lose_answer``   the hub gets the request and answers, the node never hears the answer;
``truncate``      the hub answers, the node gets only the first part of the answer;
``reset``         the connection is reset (RST) before the request reaches the hub;
``delay``         the request waits a while, then passes;
``http_5xx``      the proxy answers 502, 503 or 504 itself; the hub never sees it;
``http_429``      the proxy answers 429 with ``Retry-After``; the hub never sees it;
``partition``     everything on this link is refused for a while.

The decision comes first from one-shot rules (:meth:`FaultProxy.fail_next`: "the next pull
is truncated"), then from a :class:`FaultPlan` drawn with a :class:`random.Random` seeded
from the run's seed and the link's name. Every request draws the same number of values,
so the n-th request of a link meets the same fault whenever the seed is replayed. Every
fault is logged as a :class:`FaultEvent`; :meth:`FaultProxy.counts` gives them by kind.

Does not: understand anything above HTTP framing, decrypt TLS (there is none on
127.0.0.1), or listen on any address but 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import BinaryIO

FAULT_KINDS = (
    "drop",
    "lose_answer",
    "truncate",
    "reset",
    "delay",
    "http_5xx",
    "http_429",
    "partition",
)
"""Every fault the proxy can inject."""

UPSTREAM_TIMEOUT = 60.0
MAX_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class FaultEvent:
    """One injected fault: the link's request number, when, what, and on which request."""

    link: str
    request_no: int
    kind: str
    method: str
    path: str
    at: float
    detail: str = ""

    def to_json(self) -> dict[str, object]:
        """The event as a JSON object (for logs and soak-result.json)."""
        return asdict(self)


@dataclass(frozen=True)
class FaultPlan:
    """How often each fault meets a request, and how long delays and partitions last.

    ``rates`` maps a kind to its probability per request (their sum at most 1). Only
    requests whose path contains one of ``paths`` can meet a fault; empty means all.
    """

    rates: dict[str, float] = field(default_factory=dict)
    paths: tuple[str, ...] = ()
    delay_seconds: tuple[float, float] = (0.05, 0.5)
    partition_seconds: tuple[float, float] = (1.0, 3.0)

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        if sum(self.rates.values()) > 1.0 + 1e-9 or min(self.rates.values(), default=0) < 0:
            raise ValueError("fault rates must be from 0 and add up to at most 1")

    @classmethod
    def flaky(cls, share: float, kinds: Iterable[str] = FAULT_KINDS) -> FaultPlan:
        """``share`` of the requests meet one of ``kinds``, each kind equally often."""
        chosen = tuple(kinds)
        return cls(rates={k: share / len(chosen) for k in chosen})

    def draw(self, rng: random.Random, path: str) -> tuple[str | None, float]:
        """The fault for one request (or None) and its duration; always three draws."""
        roll, span_roll, status_roll = rng.random(), rng.random(), rng.random()
        if self.paths and not any(p in path for p in self.paths):
            return None, 0.0
        cumulative = 0.0
        for kind in FAULT_KINDS:
            cumulative += self.rates.get(kind, 0.0)
            if roll < cumulative:
                low, high = self.partition_seconds if kind == "partition" else self.delay_seconds
                span = low + (high - low) * span_roll
                return kind, status_roll if kind == "http_5xx" else span
        return None, 0.0


PASS = FaultPlan()
"""A plan that injects nothing."""


@dataclass
class _Message:
    head: bytes
    body: bytes
    first_line: str
    keep_alive: bool

    @property
    def raw(self) -> bytes:
        return self.head + self.body


class _Closed(Exception):
    """The other side closed the connection between messages."""


def _read_head(stream: BinaryIO) -> tuple[bytes, list[str]]:
    lines: list[bytes] = []
    size = 0
    while True:
        line = stream.readline(MAX_HEAD_BYTES)
        if not line:
            if lines:
                raise ConnectionError("connection closed inside an HTTP head")
            raise _Closed
        lines.append(line)
        size += len(line)
        if size > MAX_HEAD_BYTES:
            raise ConnectionError("HTTP head too large")
        if line in (b"\r\n", b"\n"):
            break
    text = [raw.decode("latin-1").rstrip("\r\n") for raw in lines]
    return b"".join(lines), text


def _header(lines: list[str], name: str) -> str | None:
    wanted = name.lower()
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == wanted:
            return value.strip()
    return None


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) < size:
        raise ConnectionError("connection closed inside an HTTP body")
    return data


def _read_chunked(stream: BinaryIO) -> bytes:
    parts: list[bytes] = []
    while True:
        line = stream.readline(MAX_HEAD_BYTES)
        if not line:
            raise ConnectionError("connection closed inside a chunked body")
        parts.append(line)
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailers, then the empty line
                trailer = stream.readline(MAX_HEAD_BYTES)
                parts.append(trailer)
                if trailer in (b"\r\n", b"\n", b""):
                    return b"".join(parts)
        parts.append(_read_exact(stream, size + 2))


def _keep_alive(lines: list[str]) -> bool:
    connection = (_header(lines, "Connection") or "").lower()
    if "close" in connection:
        return False
    return not lines[0].upper().startswith("HTTP/1.0") and " HTTP/1.0" not in lines[0].upper()


def read_request(stream: BinaryIO) -> _Message:
    """One HTTP request (nodes always send ``Content-Length``)."""
    head, lines = _read_head(stream)
    length = int(_header(lines, "Content-Length") or 0)
    body = _read_exact(stream, length) if length else b""
    return _Message(head, body, lines[0], _keep_alive(lines))


def read_response(stream: BinaryIO, method: str) -> _Message:
    """One HTTP response to a request of ``method``, whatever its framing."""
    head, lines = _read_head(stream)
    status = int(lines[0].split(" ", 2)[1])
    keep = _keep_alive(lines)
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return _Message(head, b"", lines[0], keep)
    if "chunked" in (_header(lines, "Transfer-Encoding") or "").lower():
        return _Message(head, _read_chunked(stream), lines[0], keep)
    length = _header(lines, "Content-Length")
    if length is not None:
        return _Message(head, _read_exact(stream, int(length)), lines[0], keep)
    return _Message(head, stream.read() or b"", lines[0], False)


def canned_answer(status: int, reason: str, retry_after: float | None = None) -> bytes:
    """A complete HTTP answer the proxy gives itself, in the hub's JSON error shape."""
    code = "busy" if status == 429 else "unavailable"
    body = json.dumps({"error": code, "reason": f"{reason} (fault proxy)"}).encode()
    head = [
        f"HTTP/1.1 {status} {reason}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if retry_after is not None:
        head.append(f"Retry-After: {max(1, round(retry_after))}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


def _close(sock: socket.socket | None) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def _truncated_length(answer: _Message) -> int:
    # Half the body when there is one, else half the head: never the whole answer.
    if answer.body:
        return len(answer.head) + len(answer.body) // 2
    return len(answer.head) // 2


STATUS_5XX = ((502, "Bad Gateway"), (503, "Service Unavailable"), (504, "Gateway Timeout"))


class FaultProxy:
    """A proxy from ``listen_port`` (0: any free port) to ``target_port`` on 127.0.0.1.

    Given several target ports (several hub processes) it is also a load balancer: the
    requests go to them in turn, whichever connection they come on, and a request whose
    turn falls on a target that refuses connections goes to the next one."""

    def __init__(
        self,
        name: str,
        target_port: int | Sequence[int],
        seed: int = 0,
        plan: FaultPlan = PASS,
        listen_port: int = 0,
    ) -> None:
        self.name = name
        self.targets = (target_port,) if isinstance(target_port, int) else tuple(target_port)
        self._turn = 0
        self.answered_by: Counter[int] = Counter()
        """Requests each target answered, by port."""
        self.seed = seed
        self.plan = plan
        self._rng = random.Random(f"{seed}:{name}")
        self._lock = threading.Lock()
        self._rules: list[tuple[str, str, str]] = []  # (kind, method, path part)
        self._conns: set[socket.socket] = set()
        self._partitioned_until = 0.0
        self._requests = 0
        self._started = time.monotonic()
        self.events: list[FaultEvent] = []
        self.requests: Counter[str] = Counter()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", listen_port))
        self._server.listen(128)
        self.port: int = self._server.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, name=f"proxy-{name}", daemon=True).start()

    @property
    def url(self) -> str:
        """Where a node is told the hub is."""
        return f"http://127.0.0.1:{self.port}"

    # ---- controlling the faults -------------------------------------------------------

    def set_plan(self, plan: FaultPlan) -> None:
        """From now on, requests meet faults as ``plan`` says."""
        with self._lock:
            self.plan = plan

    def heal(self) -> None:
        """No more random faults, one-shot rules or partition: everything passes."""
        with self._lock:
            self.plan = PASS
            self._rules.clear()
            self._partitioned_until = 0.0

    def fail_next(self, kind: str, path: str = "", method: str = "", count: int = 1) -> None:
        """The next ``count`` requests whose path contains ``path`` (and of ``method``,
        when given) meet ``kind``, whatever the plan says."""
        if kind not in FAULT_KINDS or kind == "partition":
            raise ValueError(f"not a per-request fault: {kind!r}")
        with self._lock:
            self._rules.extend([(kind, method.upper(), path)] * count)

    def partition(self, seconds: float | None = None) -> None:
        """Refuse everything on this link for ``seconds`` (until :meth:`heal` if None)."""
        with self._lock:
            self._partitioned_until = (
                float("inf") if seconds is None else (time.monotonic() + seconds)
            )
            self._log("partition", "", "", f"{'until healed' if seconds is None else seconds}")
            conns = list(self._conns)
        for conn in conns:
            _reset(conn)

    @property
    def partitioned(self) -> bool:
        """Whether the link refuses everything right now."""
        return time.monotonic() < self._partitioned_until

    def counts(self) -> Counter[str]:
        """Faults injected so far, by kind."""
        with self._lock:
            return Counter(e.kind for e in self.events)

    def requests_to(self, method: str = "", path: str = "") -> int:
        """Requests seen so far, of ``method`` (any if empty) whose path (without query)
        contains ``path``."""
        with self._lock:
            return sum(
                n
                for key, n in self.requests.items()
                if key.startswith(f"{method} " if method else "") and path in key
            )

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self._closed = True
        _close(self._server)
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            _close(conn)

    # ---- serving ----------------------------------------------------------------------

    def _log(self, kind: str, method: str, path: str, detail: str = "") -> None:
        # caller holds the lock
        at = round(time.monotonic() - self._started, 3)
        self.events.append(FaultEvent(self.name, self._requests, kind, method, path, at, detail))

    def _decide(self, method: str, path: str) -> tuple[str | None, float]:
        with self._lock:
            self._requests += 1
            self.requests[f"{method} {path.partition('?')[0]}"] += 1
            kind, span = self.plan.draw(self._rng, path)  # always drawn: keeps replay aligned
            if self.partitioned:
                return "refused", 0.0
            for i, (rule_kind, rule_method, rule_path) in enumerate(self._rules):
                if rule_path in path and (not rule_method or rule_method == method):
                    del self._rules[i]
                    kind, span = rule_kind, 0.0 if rule_kind != "delay" else 0.2
                    break
            if kind == "partition":
                self._partitioned_until = time.monotonic() + span
                self._log(kind, method, path, f"{span:.2f}s")
            elif kind is not None:
                self._log(kind, method, path, f"{span:.2f}" if kind == "delay" else "")
            return kind, span

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.partitioned:
                _reset(client)
                continue
            with self._lock:
                self._conns.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _next_targets(self) -> list[int]:
        """The targets in the order this request tries them: the one whose turn it is first."""
        with self._lock:
            first = self._turn % len(self.targets)
            self._turn += 1
        return [*self.targets[first:], *self.targets[:first]]

    def _connect(
        self, upstreams: dict[int, tuple[socket.socket, BinaryIO]]
    ) -> tuple[int, socket.socket, BinaryIO] | None:
        """A connection to the target whose turn it is (kept for the client's connection),
        or None when no target accepts one."""
        for port in self._next_targets():
            if port in upstreams:
                kept, kept_in = upstreams[port]
                return port, kept, kept_in
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=UPSTREAM_TIMEOUT)
            except OSError:
                continue
            with self._lock:
                self._conns.add(sock)
            stream = sock.makefile("rb")
            upstreams[port] = (sock, stream)
            return port, sock, stream
        return None

    def _serve(self, client: socket.socket) -> None:
        upstreams: dict[int, tuple[socket.socket, BinaryIO]] = {}
        try:
            client_in = client.makefile("rb")
            while True:
                try:
                    request = read_request(client_in)
                except (_Closed, ConnectionError, OSError, ValueError):
                    return
                parts = request.first_line.split(" ")
                method, path = parts[0].upper(), parts[1] if len(parts) > 1 else ""
                kind, span = self._decide(method, path)
                if kind in ("refused", "partition", "reset"):
                    _reset(client)
                    return
                if kind == "drop":
                    return
                if kind == "http_429":
                    client.sendall(canned_answer(429, "Too Many Requests", retry_after=1))
                    return
                if kind == "http_5xx":
                    status, reason = STATUS_5XX[int(span * len(STATUS_5XX)) % len(STATUS_5XX)]
                    client.sendall(canned_answer(status, reason))
                    return
                if kind == "delay":
                    time.sleep(span)  # the fault itself: this request is late
                connected = self._connect(upstreams)
                if connected is None:
                    _reset(client)  # the hub is down: the node meets a refused link
                    return
                port, upstream, upstream_in = connected
                upstream.sendall(request.raw)
                try:
                    answer = read_response(upstream_in, method)
                except (_Closed, ConnectionError, OSError, ValueError):
                    return
                with self._lock:
                    self.answered_by[port] += 1
                if kind == "lose_answer":
                    return
                if kind == "truncate":
                    client.sendall(answer.raw[: _truncated_length(answer)])
                    return
                client.sendall(answer.raw)
                if not (request.keep_alive and answer.keep_alive):
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.discard(client)
                for sock, _ in upstreams.values():
                    self._conns.discard(sock)
            _close(client)
            for sock, _ in upstreams.values():
                _close(sock)
