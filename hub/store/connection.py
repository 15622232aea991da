"""The connection under every part of the hub's store: opening, transactions, query helpers.

One SQLite file in WAL mode with a busy timeout; writes run inside ``BEGIN IMMEDIATE``
transactions (:meth:`Connection.write`), so one writer at a time and no lost updates. The
writers of one process take turns on a lock of the file's own before they begin: SQLite's
busy handler sleeps between tries (up to 100 ms), so concurrent pushes left to it would
wait out sleeps after every commit.
:class:`Connection` is the base class of every record mixin of :mod:`hub.store`: they run
their SQL through ``_one``, ``_all``, ``_exec`` and ``_scalar``, which turn an ``sqlite3``
error into :class:`hub.errors.StoreError`. It also keeps the hub's own metadata (``meta``).

It holds no SQL about offices, envelopes or numbers: each mixin holds that of its tables.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from hub.errors import StoreError
from hub.store.schema import SCHEMA, TABLES, upgrade
from protocol.filemodes import create_private_file

BUSY_TIMEOUT_MS = 10_000

Row = dict[str, Any]

_WRITERS: dict[str, threading.RLock] = {}
_WRITERS_GUARD = threading.Lock()


def _writer_of(path: str | Path) -> threading.RLock:
    """The lock this process's writers of the file at ``path`` take turns on."""
    key = str(Path(path).resolve())
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(key, threading.RLock())


def _bring_up_to_date(conn: sqlite3.Connection) -> None:
    """:data:`SCHEMA` and :func:`upgrade` in one transaction: a new file's statements reach
    the disk once instead of one by one, and a failure leaves the file as it was."""
    try:
        conn.executescript("BEGIN IMMEDIATE;\n" + SCHEMA)
        upgrade(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _row(cursor_row: sqlite3.Row | None) -> Row | None:
    return None if cursor_row is None else dict(cursor_row)


class Connection:
    """One open hub database, its transactions, and the helpers every mixin queries with."""

    def __init__(self, conn: sqlite3.Connection, writer: threading.RLock | None = None):
        self.conn = conn
        self.writer = writer or threading.RLock()

    @classmethod
    def open(cls, path: str | Path, create: bool = True) -> Self:
        """Open the database at ``path``; ``create`` also creates the file (0600, in a folder
        made 0700) and the schema."""
        try:
            if create:
                # 0600 before SQLite opens it: the -wal and -shm files take its mode.
                create_private_file(Path(path))
            elif not Path(path).exists():
                raise StoreError(f"no hub database at {path}: run `saraban hub init`")
            conn = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=10
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            if create:
                _bring_up_to_date(conn)
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cannot open the hub database: {e}") from e
        return cls(conn, _writer_of(path))

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    @contextmanager
    def write(self) -> Iterator[Self]:
        """A ``BEGIN IMMEDIATE`` transaction; nested calls join the outer one."""
        if self.conn.in_transaction:
            yield self
            return
        with self.writer:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise StoreError(f"database busy: {e}") from e
            try:
                yield self
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        # The turn ends before COMMIT: the checkpoint a commit may run (and its fsync)
        # happens after SQLite's own write lock is released, and need not hold up the next.
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as e:
            self.conn.execute("ROLLBACK")
            raise StoreError(f"commit failed: {e}") from e

    def _one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        try:
            return _row(self.conn.execute(sql, tuple(params)).fetchone())
        except sqlite3.Error as e:
            raise StoreError(f"database error: {e}") from e

    def _all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        try:
            return [dict(r) for r in self.conn.execute(sql, tuple(params)).fetchall()]
        except sqlite3.Error as e:
            raise StoreError(f"database error: {e}") from e

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; return the last row id (or 0)."""
        try:
            cur = self.conn.execute(sql, tuple(params))
        except sqlite3.Error as e:
            raise StoreError(f"database error: {e}") from e
        return cur.lastrowid or 0

    def _changed(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; return how many rows it changed."""
        try:
            cur = self.conn.execute(sql, tuple(params))
        except sqlite3.Error as e:
            raise StoreError(f"database error: {e}") from e
        return cur.rowcount

    def _scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        try:
            row = self.conn.execute(sql, tuple(params)).fetchone()
        except sqlite3.Error as e:
            raise StoreError(f"database error: {e}") from e
        return None if row is None else row[0]

    def count(self, table: str) -> int:
        """Rows in ``table`` (for tests and the console)."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        return int(self._scalar(f"SELECT count(*) FROM {table}"))  # noqa: S608

    # -- meta ------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A value of the hub's own metadata."""
        value = self._scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        """Set a metadata value."""
        self._exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
