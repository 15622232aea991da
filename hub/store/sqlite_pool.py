"""The SQLite connections a hub process keeps open between requests.

A connection opened for each request and closed at its end cost the hub more than the
request's own work when the request was small (a push of one letter, a wake-up check, a
portal page): SQLite read the schema again, opened the ``-wal`` and ``-shm`` files again,
and whenever that connection was the last one open, closing it checkpointed the whole
write-ahead log into the database and synced both to disk. So a connection opened to an
existing database (``HubStore.open(path, create=False)``) is given back here when it is
closed, and the next one opened to the same file takes it (ADR 0031).

Kept: at most :data:`IDLE_PER_FILE` idle connections a file, with no transaction open;
any more are closed. A connection is handed out again only while the path still names
the file it was opened on (device and inode), so an idle one to a database moved aside
is not used for another at the same path; a database is still put back only with the
hub stopped (docs/operations.md): SQLite removes a ``-wal`` file by its name.

Does not: open connections (:meth:`hub.store.connection.Connection.open` does, with its
settings), or pool PostgreSQL connections (:mod:`hub.store.postgres` has its own pool).
"""

from __future__ import annotations

import atexit
import sqlite3
import threading

IDLE_PER_FILE = 16
"""Idle connections kept a file: the request threads (``THREADS``, 8 by default), the
scheduler's jobs and the portal's threads of one process each hold one at a time."""

FileIdentity = tuple[int, int]
"""The device and inode of a database file when its connection was opened."""

_IDLE: dict[str, list[tuple[sqlite3.Connection, FileIdentity]]] = {}
_GUARD = threading.Lock()


def take(path: str, identity: FileIdentity) -> sqlite3.Connection | None:
    """An idle connection to the file at ``path`` that is ``identity`` now, or None; idle
    connections to a file no longer at ``path`` are closed."""
    stale: list[sqlite3.Connection] = []
    found = None
    with _GUARD:
        idle = _IDLE.get(path, [])
        while idle:
            conn, opened_on = idle.pop()
            if opened_on == identity:
                found = conn
                break
            stale.append(conn)
    for conn in stale:
        conn.close()
    return found


def give_back(path: str, identity: FileIdentity, conn: sqlite3.Connection) -> None:
    """Keep ``conn`` (opened on ``identity`` at ``path``) for the next request, or close
    it: when a transaction is still open on it, or enough are kept already."""
    if not conn.in_transaction:
        with _GUARD:
            idle = _IDLE.setdefault(path, [])
            if len(idle) < IDLE_PER_FILE:
                idle.append((conn, identity))
                return
    conn.close()


def close_idle() -> None:
    """Close every idle connection of this process (at exit, and when a test removes a
    database it served)."""
    with _GUARD:
        idle = [conn for kept in _IDLE.values() for conn, _ in kept]
        _IDLE.clear()
    for conn in idle:
        conn.close()


atexit.register(close_idle)
