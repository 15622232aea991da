"""Real processes for a hub and its nodes on 127.0.0.1, and a link that can be cut.

Used by the demo and by the process-level tests: each hub and node is a separate
`python -m scripts.cli ... serve` process with its own instance folder and log file.
"""

from __future__ import annotations

import contextlib
import os
import random
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

STARTUP_TIMEOUT = 60.0


LISTEN_PORTS = (10000, 65535)
"""Where :func:`free_ports` looks, less the kernel's range for outgoing connections."""


def _outgoing_range() -> tuple[int, int]:
    """The kernel's range of ports for outgoing connections (Linux's default if unknown)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that were free a moment ago on 127.0.0.1.

    They are picked at random outside the range the kernel gives outgoing connections: a
    port from that range (what binding port 0 gives) can be taken by any connection another
    process opens before the server started on it binds it ("Address already in use")."""
    low, high = _outgoing_range()
    choices = [p for p in range(*LISTEN_PORTS) if not low <= p <= high]
    rng = random.SystemRandom()
    socks: list[socket.socket] = []
    ports: list[int] = []
    try:
        for _ in range(count * 20):
            if len(ports) == count:
                break
            s = socket.socket()
            port = rng.choice(choices) if choices else 0
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            socks.append(s)
            ports.append(s.getsockname()[1])
        while len(ports) < count:  # nothing free out there: the kernel's choice
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


@dataclass
class Service:
    """One served process."""

    name: str
    url: str
    health_path: str
    proc: subprocess.Popen[bytes]
    log: Path

    def wait_ready(self, deadline: float) -> None:
        """Poll the health URL until it answers 200, the process dies, or time runs out."""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log.read_text(encoding="utf-8", errors="replace")[-800:]
                raise RuntimeError(f"{self.name} exited early; log tail:\n{tail}")
            try:
                if requests.get(self.url + self.health_path, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)  # polling a real process's readiness, not standing in for sync
        raise RuntimeError(f"{self.name} did not become ready at {self.url}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL at once: a crash."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def start_service(
    name: str,
    argv: list[str],
    url: str,
    health_path: str,
    log: Path,
    env: dict[str, str] | None = None,
) -> Service:
    """Start ``python -m scripts.cli <argv>`` with its output in ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scripts.cli.main", *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            start_new_session=True,
        )
    return Service(name, url, health_path, proc, log)


def start_hub_process(instance: Path, log: Path) -> Service:
    """`saraban hub serve` for the hub in ``instance`` on a free port of 127.0.0.1, not
    waited for (:meth:`Service.wait_ready`)."""
    port = free_ports(1)[0]
    argv = ["hub", "serve", "--instance", str(instance), "--port", str(port)]
    return start_service("hub", argv, f"http://127.0.0.1:{port}", "/api/v1/health", log)


@dataclass
class Link:
    """A TCP forwarder standing for an office's network link; ``cut()`` takes it down.

    While cut, nothing listens on its port, so the node meets a real refused connection.
    """

    listen_port: int
    target_port: int
    _server: socket.socket | None = None
    _conns: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def up(self) -> bool:
        """True while the link carries traffic."""
        return self._server is not None

    def restore(self) -> None:
        """Bring the link up (again)."""
        if self._server is not None:
            return
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.listen_port))
        srv.listen(64)
        self._server = srv
        threading.Thread(target=self._accept, args=(srv,), daemon=True).start()

    def cut(self) -> None:
        """Take the link down: stop listening and drop open connections."""
        srv, self._server = self._server, None
        if srv is not None:
            with contextlib.suppress(OSError):
                srv.shutdown(socket.SHUT_RDWR)
            srv.close()
        with self._lock:
            for c in self._conns:
                with contextlib.suppress(OSError):
                    c.close()
            self._conns.clear()

    def _accept(self, srv: socket.socket) -> None:
        while True:
            try:
                client, _ = srv.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(a, selectors.EVENT_READ, b)
        sel.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in sel.select(timeout=30):
                    src = key.fileobj
                    assert isinstance(src, socket.socket)
                    data = src.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            sel.close()
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()
