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

import hashlib
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import psycopg

from hub.errors import DatabaseUnavailable, StoreError
from hub.store import sqlite_pool
from hub.store.pg_dialect import know_tables
from hub.store.portal_letters_schema import FEED_PLACES, PORTAL_INDEX_SETTINGS
from hub.store.postgres import (
    PgConnection,
    is_postgres,
    redacted,
    scrubbed,
    statements,
    table_columns,
)
from hub.store.schema import MIGRATIONS, SCHEMA, TABLES, upgrade
from protocol.filemodes import create_private_file

BUSY_TIMEOUT_MS = 10_000
JOURNAL_LIMIT_BYTES = 32 * 1024 * 1024
"""The size the write-ahead log file is cut back to when it starts again from its beginning.
Under a steady load it grows past that (readers follow each other, and it is copied into
the database but not restarted); without a limit SQLite keeps the file at its largest."""
KEYS_PER_QUERY = 500
"""Keys asked for in one ``IN (...)`` list (a push's or a batch's env_ids)."""
SCHEMA_KEY = "schema_version"

Row = dict[str, Any]

DatabaseError = (sqlite3.Error, psycopg.Error)
"""What either engine raises when a statement fails."""
IntegrityError = (sqlite3.IntegrityError, psycopg.errors.IntegrityError)
"""What either engine raises when a statement breaks a key or constraint."""

_WRITERS: dict[str, threading.RLock] = {}
_WRITERS_GUARD = threading.Lock()


def _writer_of(path: str | Path) -> threading.RLock:
    """The lock this process's writers of the file at ``path`` take turns on."""
    with _WRITERS_GUARD:
        lock = _WRITERS.get(str(path))
    if lock is not None:
        return lock
    key = str(path) if is_postgres(path) else str(Path(path).resolve())
    with _WRITERS_GUARD:
        lock = _WRITERS.setdefault(key, threading.RLock())
        if os.path.isabs(path):  # found next time without resolving the path again
            _WRITERS[str(path)] = lock
        return lock


def _connect_sqlite(path: str) -> sqlite3.Connection:
    """A new connection to the SQLite file at ``path``, with the hub's settings."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_LIMIT_BYTES}")
    except sqlite3.Error:
        conn.close()
        raise
    return conn


SCHEMA_VERSION = hashlib.sha256(
    (SCHEMA + repr(MIGRATIONS) + repr(PORTAL_INDEX_SETTINGS) + repr(FEED_PLACES)).encode()
).hexdigest()[:16]
"""This version's schema (its tables, the columns added since, the portal index's settings
and the places in the feed the portal keeps), recorded in ``meta`` when a database is
brought up to date: one that records it already is left as it is."""


def _bring_up_to_date(conn: sqlite3.Connection | PgConnection) -> None:
    """:data:`SCHEMA` and :func:`upgrade` in one transaction, under the writer's lock (so
    hub processes starting at once apply them once), unless the database records this
    :data:`SCHEMA_VERSION`: a new file's statements reach the disk once instead of one by
    one, and a failure leaves the database as it was."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        if "key" in table_columns(conn, "meta"):
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (SCHEMA_KEY,)).fetchone()
            if row is not None and row[0] == SCHEMA_VERSION:
                conn.execute("COMMIT")
                return
        if isinstance(conn, PgConnection):
            conn.executescript(SCHEMA)
        else:  # one by one: sqlite3's executescript would commit the transaction first
            for statement in statements(SCHEMA):
                conn.execute(statement)
        upgrade(conn)
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (SCHEMA_KEY, SCHEMA_VERSION)
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def store_failure(e: BaseException, what: str, url: str = "") -> StoreError:
    """The error to raise for a failed statement: :class:`DatabaseUnavailable` when the
    PostgreSQL server cannot be reached (the request may be tried again), else
    :class:`StoreError`; never with the password of ``url`` (the database's URL)."""
    said = scrubbed(str(e), url) if url else str(e)
    if isinstance(e, psycopg.OperationalError):
        return DatabaseUnavailable(f"{what}: the database server is not answering ({said})")
    return StoreError(f"{what}: {said}")


def _roll_back(conn: sqlite3.Connection | PgConnection) -> None:
    """Roll the transaction back; a connection the server dropped has none to roll back
    (the pool replaces it)."""
    try:
        conn.execute("ROLLBACK")
    except DatabaseError:
        pass


def _table_name(table: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", table):
        raise ValueError(f"not a table name: {table!r}")
    return table


def _row(cursor_row: sqlite3.Row | None) -> Row | None:
    return None if cursor_row is None else dict(cursor_row)


class Connection:
    """One open hub database, its transactions, and the helpers every mixin queries with."""

    def __init__(
        self, conn: sqlite3.Connection | PgConnection, writer: threading.RLock | None = None
    ):
        self.conn = conn
        self.writer = writer or threading.RLock()
        self._kept_as: tuple[str, sqlite_pool.FileIdentity] | None = None
        self._given_back = False

    @classmethod
    def open(cls, path: str | Path, create: bool = True) -> Self:
        """Open the database at ``path`` (a SQLite file, or a ``postgresql://`` URL,
        :mod:`hub.store.postgres`); ``create`` also creates the file (0600, in a folder
        made 0700) and brings the schema up to date."""
        if is_postgres(path):
            return cls._open_postgres(str(path), create)
        if not create:
            return cls._open_existing(str(path))
        try:
            # 0600 before SQLite opens it: the -wal and -shm files take its mode.
            create_private_file(Path(path))
            conn = _connect_sqlite(str(path))
            _bring_up_to_date(conn)
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cannot open the hub database: {e}") from e
        return cls(conn, _writer_of(path))

    @classmethod
    def _open_existing(cls, path: str) -> Self:
        """A connection to the database at ``path``, one this process kept open if it has
        one (:mod:`hub.store.sqlite_pool`); given back when closed."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise StoreError(f"no hub database at {path}: run `saraban hub init`") from None
        except OSError as e:
            raise StoreError(f"cannot open the hub database: {e}") from e
        identity = (st.st_dev, st.st_ino)
        conn = sqlite_pool.take(path, identity)
        if conn is None:
            try:
                conn = _connect_sqlite(path)
            except sqlite3.Error as e:
                raise StoreError(f"cannot open the hub database: {e}") from e
        store = cls(conn, _writer_of(path))
        store._kept_as = (path, identity)
        return store

    @classmethod
    def _open_postgres(cls, url: str, create: bool) -> Self:
        know_tables(SCHEMA)
        try:
            conn = PgConnection.connect(url)
        except psycopg.Error as e:
            raise store_failure(e, f"cannot open the hub database at {redacted(url)}", url) from e
        try:
            if create:
                _bring_up_to_date(conn)
        except BaseException as e:
            conn.close()
            if not isinstance(e, psycopg.Error):
                raise
            raise store_failure(e, f"cannot open the hub database at {redacted(url)}", url) from e
        return cls(conn, _writer_of(url))

    @property
    def on_postgres(self) -> bool:
        """Whether the database is PostgreSQL (for the few statements each engine spells
        its own way: the portal's full-text index)."""
        return isinstance(self.conn, PgConnection)

    def close(self) -> None:
        """Close the connection: one to an existing SQLite file is kept for the next
        request of this process (:mod:`hub.store.sqlite_pool`)."""
        conn = self.conn
        if self._kept_as is not None and isinstance(conn, sqlite3.Connection):
            kept_as, self._kept_as = self._kept_as, None
            self._given_back = True
            sqlite_pool.give_back(*kept_as, conn)
            return
        if not self._given_back:  # closed twice: the connection is another request's now
            conn.close()

    @contextmanager
    def write(self) -> Iterator[Self]:
        """A ``BEGIN IMMEDIATE`` transaction; nested calls join the outer one."""
        if self.conn.in_transaction:
            yield self
            return
        with self.writer:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except DatabaseError as e:
                raise store_failure(e, "database busy") from e
            try:
                yield self
            except BaseException:
                _roll_back(self.conn)
                raise
        # The turn ends before COMMIT: the checkpoint a commit may run (and its fsync)
        # happens after SQLite's own write lock is released, and need not hold up the next.
        try:
            self.conn.execute("COMMIT")
        except DatabaseError as e:
            _roll_back(self.conn)
            raise store_failure(e, "commit failed") from e

    def _one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        try:
            return _row(self.conn.execute(sql, tuple(params)).fetchone())
        except DatabaseError as e:
            raise store_failure(e, "database error") from e

    def _all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        try:
            return [dict(r) for r in self.conn.execute(sql, tuple(params)).fetchall()]
        except DatabaseError as e:
            raise store_failure(e, "database error") from e

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; return the last row id (or 0)."""
        try:
            cur = self.conn.execute(sql, tuple(params))
        except DatabaseError as e:
            raise store_failure(e, "database error") from e
        return cur.lastrowid or 0

    def _changed(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; return how many rows it changed."""
        try:
            cur = self.conn.execute(sql, tuple(params))
        except DatabaseError as e:
            raise store_failure(e, "database error") from e
        return cur.rowcount

    @staticmethod
    def _in_chunks(keys: Iterable[str]) -> Iterator[tuple[list[str], str]]:
        """``keys`` without repeats, :data:`KEYS_PER_QUERY` at a time, each with the marks
        of its ``IN (...)`` list."""
        wanted = list(dict.fromkeys(keys))
        for start in range(0, len(wanted), KEYS_PER_QUERY):
            chunk = wanted[start : start + KEYS_PER_QUERY]
            yield chunk, ", ".join("?" for _ in chunk)

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each of ``rows``: one call for a whole batch."""
        try:
            self.conn.executemany(sql, rows)
        except DatabaseError as e:
            raise store_failure(e, "database error") from e

    def _scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        try:
            row = self.conn.execute(sql, tuple(params)).fetchone()
        except DatabaseError as e:
            raise store_failure(e, "database error") from e
        return None if row is None else row[0]

    def count(self, table: str) -> int:
        """Rows in ``table`` (for tests and the console)."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        return int(self._scalar(f"SELECT count(*) FROM {table}"))  # noqa: S608

    def create_all(self, script: str) -> None:
        """Create the tables and indexes of ``script`` that are missing, in one write
        transaction (on PostgreSQL as its types, :mod:`hub.store.pg_dialect`)."""
        with self.write():
            if isinstance(self.conn, PgConnection):
                self.conn.executescript(script)
            else:
                for statement in statements(script):
                    self.conn.execute(statement)

    def rows_in(self, table: str) -> int:
        """Rows in any table of the database (a migration checks its copy with it)."""
        return int(self._scalar(f"SELECT count(*) FROM {_table_name(table)}"))  # noqa: S608

    def clear_table(self, table: str) -> None:
        """Delete every row of ``table`` (inside the caller's transaction)."""
        self._exec(f"DELETE FROM {_table_name(table)}")  # noqa: S608

    def restart_identities(self) -> None:
        """After rows were copied in with their ids: the next id of every table follows the
        highest (PostgreSQL's counters; SQLite follows its rows by itself)."""
        if isinstance(self.conn, PgConnection):
            self.conn.restart_identities()

    # -- meta ------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A value of the hub's own metadata."""
        value = self._scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        """Set a metadata value."""
        self._exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
