"""What the hub's and the node's test helpers share: the moment every test starts at, a
clock the test moves by hand, the offices the tests name, Bangkok wall-clock moments, and
an app served over real HTTP on 127.0.0.1.

No test lives here; the test modules and their helpers (tests/test_hub_support.py,
tests/test_node_support.py) import it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from flask import Flask
from werkzeug.serving import make_server

from protocol.thai import BANGKOK

START = 1_795_000_000.0  # 2026-11-18 18:06 Bangkok
CHIANG_MAI = "ชม 0017"
CHIANG_RAI = "ชร 0017"
KHON_KAEN = "ขก 0017"
MINISTRY = "มท 0200"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, t: float = START):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def bangkok(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> float:
    """The Unix time of a Bangkok wall-clock moment."""
    return datetime(year, month, day, hour, minute, sec, tzinfo=BANGKOK).timestamp()


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """``app`` over real HTTP on 127.0.0.1 (a free port); yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # shutdown() waits for serve_forever to look again: every 50 ms, not its default 0.5 s
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
