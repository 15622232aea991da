"""Named crash points: a process SIGKILLs itself at a chosen place, to prove recovery.

The fault tests (``tests/faults/``) and ``make soak`` show that a crash at the worst moment
loses nothing and duplicates nothing. Each such moment in the code is one line,
``crash_point("<name>")``. It does nothing unless the environment variable
:data:`CRASH_ENV` (``SARABAN_CRASH_AT``) names that point: then the process writes one line
to stderr and SIGKILLs itself, as a power cut or the kernel's OOM killer would, with no
``finally`` block, ``atexit`` hook or SQLite rollback run on the way out.
``SARABAN_CRASH_AT=<name>:<n>`` lets the point pass ``n - 1`` times and kills on pass ``n``.

Every point is listed in :data:`CRASH_POINTS` with where it is and what it leaves behind;
docs/reliability.md has the same table.

Does not: read any setting but the one environment variable, clean anything up (that is
the point), or work where there is no SIGKILL.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping
from types import MappingProxyType

CRASH_ENV = "SARABAN_CRASH_AT"
"""The environment variable naming the crash point (``name`` or ``name:n``)."""

CRASH_POINTS: Mapping[str, str] = MappingProxyType(
    {
        "hub_push_committed": (
            "hub.api push: the hub has committed the pushed envelopes (stored, routed, "
            "numbered) and has not answered the node yet"
        ),
        "node_pull_mid_batch": (
            "node.sync.pull: inside the transaction applying a pulled batch, after one more "
            "envelope is applied, before the cursor advances"
        ),
        "node_blob_mid_upload": (
            "node.sync.attachments: the hub acknowledged a chunk of an attachment; the next "
            "chunk (or recording the finished upload) has not happened"
        ),
        "node_number_before_envelope": (
            "node.records.registers.allocate: inside the transaction, a number is taken from "
            "its register and its register envelope is not written yet"
        ),
        "node_nightly": (
            "node.sync.jobs.nightly: the nightly sync is done; the digest comparison, the "
            "search texts and the backup are not"
        ),
    }
)
"""Every crash point: its name and where it is."""

CRASH_LINE = "saraban: crash point {name} reached on pass {count}: SIGKILL"
"""The line written to stderr just before the kill, so a log shows where the process died."""

_passes: dict[str, int] = {}
_passes_lock = threading.Lock()


def parse_crash_spec(text: str) -> tuple[str, int]:
    """``name`` or ``name:n`` as ``(name, n)``.

    Raises :class:`ValueError` for a name not in :data:`CRASH_POINTS` or a count that is
    not a whole number from 1, so a harness never waits for a crash that cannot come.
    """
    name, sep, count = text.strip().partition(":")
    if name not in CRASH_POINTS:
        known = ", ".join(sorted(CRASH_POINTS))
        raise ValueError(f"unknown crash point {name!r} (one of {known})")
    if not sep:
        return name, 1
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"crash point count must be a whole number from 1, not {count!r}")
    return name, int(count)


def crash_point(name: str) -> None:
    """SIGKILL this process here when :data:`CRASH_ENV` names ``name``; else do nothing."""
    spec = os.environ.get(CRASH_ENV)
    if spec:
        _reached(name, spec)


def _reached(name: str, spec: str) -> None:
    try:
        target, wanted = parse_crash_spec(spec)
    except ValueError:
        return  # a harness checks the spec before it starts the process
    if target != name:
        return
    with _passes_lock:
        count = _passes.get(name, 0) + 1
        _passes[name] = count
    if count < wanted:
        return
    sys.stderr.write(CRASH_LINE.format(name=name, count=count) + "\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)
