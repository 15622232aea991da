"""The hub's store on PostgreSQL (issue 18): the same tables and the same SQL as on SQLite,
spoken to PostgreSQL through psycopg 3.

The record mixins of :mod:`hub.store` write their SQL once, in the dialect SQLite and
PostgreSQL share, with a few SQLite spellings that :mod:`hub.store.pg_dialect` rewrites (once
per statement, cached): ``?`` placeholders, ``INSERT OR IGNORE`` / ``OR REPLACE``, the
two-argument ``max``/``min``, ``IS NOT`` between values, ``json_group_array``, ``instr``. The
tables are :data:`hub.store.schema.SCHEMA` with PostgreSQL's types; the two tables whose
insertion order the hub reads (``feed``, ``letter_routes``) get the ``rowid`` SQLite has of
itself, and the portal's FTS5 index is a table with a trigram index (``pg_trgm``).

:class:`PgConnection` offers the part of :class:`sqlite3.Connection` the mixins use
(``execute``, ``executemany``, ``executescript``, ``in_transaction``, rows readable by name
and by position, ``lastrowid`` of an ``INSERT`` into a table that assigns its ``id``), so each
mixin's SQL and error handling (:data:`hub.store.connection.DatabaseError`) serve both
engines. ``BEGIN IMMEDIATE`` is ``BEGIN`` and a transaction-wide advisory lock
(:data:`WRITER_LOCK`): as on SQLite, one writer at a time across every hub process on the
database, so the numbering authority, the feeds' sequences and every check-then-write stay
exact under concurrency with no lock in a process's memory; readers never wait.

Each process keeps a pool of connections per database (``psycopg_pool``, :data:`POOL_SIZE`);
a store's ``close`` gives its connection back, and a connection the server dropped (a
restart, a failover to a standby) is replaced before it is handed out.

Does not: rewrite arbitrary SQLite; a statement outside the shared dialect and these
spellings fails on PostgreSQL, and the hub's tests run on both engines to find it.
"""

from __future__ import annotations

import atexit
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import psycopg
from psycopg import pq
from psycopg.adapt import Dumper
from psycopg_pool import ConnectionPool

from hub.store.pg_dialect import know_tables, pg_types, schema_for_postgres, to_postgres

WRITER_LOCK = 0x5A52_4142_414E  # "SARABAN": every write transaction holds it
"""The advisory lock every write transaction takes first (one writer at a time)."""


def redacted(url: str) -> str:
    """A database URL without its password, fit for a log or an error message."""
    url = re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url)


def scrubbed(text: str, url: str) -> str:
    """``text`` (a driver's error message about ``url``) without the URL's password, in
    any spelling of it the message may quote."""
    found = re.search(r"://[^:/@]*:([^@]*)@", url)
    secrets = [found.group(1)] if found else []
    secrets += re.findall(r"[?&]password=([^&]*)", url)
    for secret in filter(None, secrets):
        for spelling in {secret, unquote(secret)}:
            text = text.replace(spelling, "***")
    return text


def is_postgres(target: object) -> bool:
    """Whether a hub's database setting names a PostgreSQL database (a URL)."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


# -- the connection ----------------------------------------------------------------------


class _IntFromBool(Dumper):
    """``True``/``False`` as 1/0: the hub keeps flags in integer columns, as on SQLite."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class Row(tuple[Any, ...]):
    """A row readable by position and by column name (as ``sqlite3.Row``)."""

    _names: tuple[str, ...] = ()

    def keys(self) -> tuple[str, ...]:
        return self._names

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))
        return tuple.__getitem__(self, key)


@lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"_names": names, "__slots__": ()})


def _row_factory(cursor: psycopg.Cursor[Any]) -> Any:
    return _row_class(tuple(c.name for c in cursor.description or ()))


class PgCursor:
    """What a statement gave: its rows, how many rows it changed, the id it assigned."""

    def __init__(self, cursor: psycopg.Cursor[Any], returns_id: bool):
        self._cursor = cursor
        self.rowcount = cursor.rowcount
        self.lastrowid: int | None = None
        if returns_id:
            row = cursor.fetchone()
            self.lastrowid = None if row is None else int(row[0])

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


class PgConnection:
    """One connection to the hub's PostgreSQL database, as the mixins use SQLite's."""

    def __init__(self, conn: psycopg.Connection[Any], url: str):
        self._conn = conn
        self._url = url

    @classmethod
    def connect(cls, url: str) -> PgConnection:
        """A connection of this process's pool for ``url`` (autocommit: transactions are
        begun by the statements)."""
        return cls(_pool(url).getconn(), url)

    @property
    def in_transaction(self) -> bool:
        return self._conn.info.transaction_status != pq.TransactionStatus.IDLE

    def columns(self, table: str) -> set[str]:
        """The names of a table's columns."""
        rows = self._conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        ).fetchall()
        return {str(r[0]) for r in rows}

    def restart_identities(self) -> None:
        """Move every id counter past the highest id its table holds (after rows were
        copied in with their ids)."""
        rows = self._conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'"
        ).fetchall()
        for table, column in rows:
            self._conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"  # noqa: S608
                f' COALESCE((SELECT max("{column}") FROM {table}), 0) + 1, false)'
            )

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        """Run one statement of the mixins."""
        if sql.strip().upper() == "BEGIN IMMEDIATE":
            self._conn.execute("BEGIN")
            # A writer that cannot have the lock in LOCK_WAIT gives up (503, retried)
            # rather than queueing behind a holder that may be gone.
            self._conn.execute(
                "SELECT set_config('lock_timeout', %s, true), pg_advisory_xact_lock(%s)",
                (LOCK_WAIT, WRITER_LOCK),
            )
            return PgCursor(self._conn.cursor(), False)
        if sql.lstrip().upper().startswith("ALTER TABLE"):
            sql = pg_types(sql)
        text = to_postgres(sql)
        cursor = self._conn.execute(text, tuple(params))
        returns_id = text.endswith(" RETURNING id") and not sql.rstrip().upper().endswith(
            "RETURNING ID"
        )
        return PgCursor(cursor, returns_id)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each of ``rows``."""
        text = to_postgres(sql).removesuffix(" RETURNING id")
        batch = [tuple(r) for r in rows]
        if len(batch) == 1:  # one round trip, not a pipeline's two
            self._conn.execute(text, batch[0])
            return
        with self._conn.cursor() as cursor:
            cursor.executemany(text, batch)

    def executescript(self, script: str) -> None:
        """Run statements without parameters: SQLite's tables and indexes as PostgreSQL's,
        learning the tables' keys."""
        know_tables(script)
        for statement in statements(schema_for_postgres(script)):
            self._conn.execute(statement.replace("%", "%%"), ())

    def close(self) -> None:
        """Give the connection back to the pool (rolled back if a transaction was left)."""
        _pool(self._url).putconn(self._conn)


POOL_SIZE = 32
"""Connections a hub process keeps at most to its database (its request threads, jobs and
verification hand-offs each hold one at a time)."""
LOCK_WAIT = "30s"
"""How long a write transaction waits for the writer's lock."""
SESSION: dict[str, Any] = {
    # A hub process that vanished (power, network) is noticed in about a minute, and its
    # transaction, with the writer's lock, rolled back: the other processes go on.
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "options": "-c idle_in_transaction_session_timeout=60s",
}
"""Settings of every connection a hub process opens to its database."""
WAIT_SECONDS = 5.0
"""How long a request waits for a connection of the pool before the hub answers 503 (all
in use, or the server not answering)."""
OPEN_SECONDS = 10.0
"""How long opening the pool waits for its first connection before the hub says it cannot
reach its database."""
_POOLS: dict[str, ConnectionPool[Any]] = {}
_POOLS_GUARD = threading.Lock()


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.autocommit = True
    conn.row_factory = _row_factory
    conn.adapters.register_dumper(bool, _IntFromBool)


def _pool(url: str) -> ConnectionPool[Any]:
    """This process's pool of connections to ``url``, opened at the first use."""
    with _POOLS_GUARD:
        pool = _POOLS.get(url)
        if pool is None:
            # One plain connection first: a server that refuses, or a database that is not
            # there, is said at once and in its own words, not after the pool's wait.
            psycopg.connect(url, connect_timeout=int(OPEN_SECONDS), **SESSION).close()
            pool = ConnectionPool(
                url,
                kwargs=SESSION,
                min_size=1,
                max_size=POOL_SIZE,
                configure=_configure,
                timeout=WAIT_SECONDS,
                # A connection the server dropped (a restart, a failover to the standby)
                # is replaced before it is handed out, not found broken by a request.
                check=ConnectionPool.check_connection,
                name="saraban-hub",
                open=False,
            )
            try:
                pool.open(wait=True, timeout=OPEN_SECONDS)
            except BaseException:
                pool.close()
                raise
            _POOLS[url] = pool
        return pool


def close_pools() -> None:
    """Close every pool of this process (at exit, and between tests of a database)."""
    with _POOLS_GUARD:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


atexit.register(close_pools)


def table_columns(conn: sqlite3.Connection | PgConnection, table: str) -> set[str]:
    """The names of a table's columns, on either engine."""
    if isinstance(conn, PgConnection):
        return conn.columns(table)
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def statements(script: str) -> list[str]:
    """The statements of a script of tables and indexes (no ``;`` inside a statement)."""
    text = re.sub(r"--[^\n]*", "", script)
    return [s.strip() for s in text.split(";") if s.strip()]
