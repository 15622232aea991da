"""The node's SQLite database: schema, connection and the one writer path.

One SQLite file in WAL mode, opened through sqlite-utils. Every state change goes through
:meth:`Store.transaction`, which runs ``BEGIN IMMEDIATE`` so that writers serialise across
processes (the CLI and the running server may write the same file) and a clerk's action,
its feed envelope and its audit row commit together or not at all.

After each commit the store writes the high-water sidecar (``highwater.json``: the last
feed seq, the highest number of each register and the audit head), which lets a node that
was restored from an old copy of this file notice it (see :mod:`node.storage.highwater`).

The file and the sidecar are their owner's only: created 0600, in a folder created 0700,
before SQLite opens the file, whose ``-wal`` and ``-shm`` files then take its mode
(:mod:`protocol.filemodes`).

A disk that cannot be written (full, remounted read-only, permissions taken away) does not
stop the reading: the file is then opened for reading only, every write is refused with
:class:`node.errors.DiskFull` or :class:`node.errors.DiskReadOnly` before anything is
half-written, the condition is logged once (:mod:`node.storage.disk`), and the next
connection or write that works again ends it, without a restart.

This module does not know letters or registers; it only holds their tables.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.request import pathname2url

import sqlite_utils

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from node.errors import CannotWrite, DiskReadOnly, NodeError
from node.storage import disk
from node.storage.schema import bring_up_to_date
from protocol.filemodes import create_private_file, private_opener

SIDECAR_NAME = "highwater.json"


class StoreBusy(NodeError):
    """The database stayed locked by another writer longer than the busy timeout."""

    status = 503
    code = "store_busy"
    message_th = "ฐานข้อมูลกำลังถูกใช้งาน กรุณาลองใหม่อีกครั้ง"


class Store:
    """One connection to the node database; open one per thread or request."""

    def __init__(
        self, path: str | Path, sidecar: Path | None = None, busy_timeout_ms: int = 15000
    ) -> None:
        self.path = Path(path)
        self.sidecar = sidecar
        self._depth = 0
        self._after_commit: list[Callable[[], object]] = []
        self.on_feed_change: Callable[[], object] | None = None
        """Run after a commit that appended to the own feed (:func:`node.storage.feed.append`)."""
        self.deliveries: Any = None
        """The ``delivered`` answers of the open transaction, signed together at its end
        (:func:`node.records.deliveries.answering_together`); None outside one."""
        self.audit_head: tuple[int, str] | None = None
        """The id and hash of the last audit entry the open transaction wrote
        (:func:`node.storage.audit.record`), so the next one does not read them back;
        None outside one."""
        self._timeout_ms = int(busy_timeout_ms)
        self.place = disk.database_place(self.path)
        self.refusal: CannotWrite | None = None
        """Set when the file could only be opened for reading: what every write answers."""
        with contextlib.suppress(OSError):  # a read-only disk: opening below tells
            # Created 0600 before SQLite opens it: the -wal and -shm files take its mode.
            create_private_file(self.path)
        try:
            conn = self._open_writable()
        except sqlite3.Error as e:
            self.refusal = disk.refusal_for(e, self.place) if self.path.exists() else None
            if self.refusal is None:
                raise StoreBusy(f"cannot open {self.path.name}: {e}") from e
            conn = self._open_read_only(e)
        else:
            disk.clear(self.place, DiskReadOnly)
        self.db = sqlite_utils.Database(conn)
        self.conn = conn

    def _connect(self, target: str, uri: bool = False) -> sqlite3.Connection:
        # isolation_level=None: the driver opens no implicit transactions, so every write
        # happens inside transaction() (or a sqlite-utils atomic block) and nowhere else.
        conn = sqlite3.connect(
            target,
            timeout=self._timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
            uri=uri,
        )
        conn.execute(f"PRAGMA busy_timeout = {self._timeout_ms}")
        # A statement that may have to be undone alone (an insert into letters, whose
        # triggers write too) keeps the pages it changes in a statement journal; SQLite
        # writes that journal to a file in /var/tmp once it passes 64 KB, which a letter's
        # row and indexes do: 18 writes a letter while pulling. Held in memory instead
        # (as are the small temporary tables of DISTINCT and GROUP BY).
        conn.execute("PRAGMA temp_store = MEMORY")
        return conn

    def _open_writable(self) -> sqlite3.Connection:
        conn = self._connect(str(self.path))
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            bring_up_to_date(conn)
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def _open_read_only(self, cause: sqlite3.Error) -> sqlite3.Connection:
        """The file opened for reading only, when writing it is impossible: as a reader
        beside other connections, then with the WAL's shared-memory file read-only (a full
        or read-only disk cannot make it grow), and, only when no WAL holds committed pages
        the main file lacks, as an immutable file (nobody can change it there)."""
        uri = "file:" + pathname2url(os.path.abspath(self.path))
        options = ["?mode=ro", "?mode=ro&readonly_shm=1"]
        wal = self.path.with_name(self.path.name + "-wal")
        if not wal.exists() or wal.stat().st_size == 0:
            options.append("?mode=ro&immutable=1")
        for option in options:
            try:
                conn = self._connect(uri + option, uri=True)
            except sqlite3.Error:
                continue
            try:
                conn.execute("SELECT count(*) FROM sync_state").fetchone()
            except sqlite3.Error:
                conn.close()
                continue
            return conn
        raise StoreBusy(f"cannot open {self.path.name} even to read: {cause}") from cause

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """A write transaction that holds the database's write lock from its first line.

        Nested calls join the outer transaction, so a function that writes can be called on
        its own or as part of a larger action.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        if self.refusal is not None:
            raise type(self.refusal)(self.refusal.reason)
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise disk.refusal_for(e, self.place) or StoreBusy(f"database is locked: {e}") from e
        self._depth = 1
        marks: dict[str, Any] | None = None
        try:
            yield self
            if self.sidecar is not None:
                marks = self.high_marks()
            self.conn.execute("COMMIT")
        except sqlite3.Error as e:
            # A full disk fails a statement or the COMMIT; SQLite may have rolled back already.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            refusal = disk.refusal_for(e, self.place)
            if refusal is None:
                raise
            raise refusal from e
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0
            self.audit_head = None
            pending, self._after_commit = self._after_commit, []
        disk.clear(self.place)
        if marks is not None and self.sidecar is not None:
            self._write_sidecar(self.sidecar, marks)
        for work in pending:
            work()

    @property
    def in_transaction(self) -> bool:
        """Whether a :meth:`transaction` is open on this store."""
        return self._depth > 0

    @contextmanager
    def page_cache(self, kib: int) -> Iterator[None]:
        """SQLite's page cache at ``kib`` KiB for the work inside, then as it was: writing
        thousands of rows touches more index pages than the default 2 MB keeps."""
        before = int(self.scalar("PRAGMA cache_size"))
        self.conn.execute(f"PRAGMA cache_size = -{int(kib)}")
        try:
            yield
        finally:
            self.conn.execute(f"PRAGMA cache_size = {before}")

    def after_commit(self, work: Callable[[], object]) -> None:
        """Do ``work`` once the outermost transaction has committed (at once outside one);
        dropped if it rolls back. For what must not happen before the commit, such as
        removing files, when the caller's transaction is part of a larger one."""
        if self._depth:
            if work not in self._after_commit:  # the same callable twice runs once
                self._after_commit.append(work)
        else:
            work()

    @staticmethod
    def _write_sidecar(sidecar: Path, marks: dict[str, Any]) -> None:
        # The transaction has committed: failing it now would make the clerk do it twice.
        # A sidecar that cannot be written is said once; the next one written merges all.
        place = disk.files_place(sidecar.parent)
        try:
            write_sidecar(sidecar, marks)
        except OSError as e:
            if disk.refusal_for(e, place) is None:
                raise
        else:
            disk.clear(place)

    def query(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[dict[str, Any]]:
        """All rows of a query, as dicts."""
        cur = self.conn.execute(sql, params)
        cols = [c[0] for c in cur.description or ()]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def one(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> dict[str, Any] | None:
        """The first row of a query, or None."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def rows_in(self, select: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows of ``select`` (ending in a column) ``IN (values)``, as tuples, asked 500
        values at a time (SQLite's bound on the parameters of one statement)."""
        rows: list[tuple[Any, ...]] = []
        for i in range(0, len(values), 500):
            part = values[i : i + 500]
            marks = ", ".join("?" for _ in part)
            rows.extend(self.conn.execute(f"{select} IN ({marks})", part))
        return rows

    def scalar(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Run one write statement inside the current transaction; return lastrowid."""
        if not self._depth:
            raise RuntimeError("writes happen inside Store.transaction()")
        return self.conn.execute(sql, params).lastrowid or 0

    def insert(self, table: str, row: Mapping[str, Any]) -> int:
        """Insert one row inside the current transaction; return its rowid."""
        return self.execute(_insert_sql(table, tuple(row)), list(row.values()))

    def get_setting(self, key: str, default: Any = None) -> Any:
        """A stored setting (JSON value)."""
        raw = self.scalar("SELECT value FROM settings WHERE key = ?", (key,))
        return default if raw is None else json.loads(raw)

    def set_setting(self, key: str, value: Any) -> None:
        """Store a setting (JSON value) inside the current transaction."""
        self.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value, ensure_ascii=False)),
        )

    def log(self, at: float, event: str, detail: Any = None) -> None:
        """Append a line to the sync log inside the current transaction."""
        self.insert(
            "sync_log",
            {"at": at, "event": event, "detail": json.dumps(detail, ensure_ascii=False)},
        )

    def high_marks(self) -> dict[str, Any]:
        """What this database has issued: last feed seq, register highs, audit head.

        Read at the end of every write transaction, so each part is an index look-up, not a
        scan growing with the years of letters: the registers are walked one at a time
        through the ``(register, number)`` index, and the audit's count is its last id
        (:func:`node.storage.audit.record` numbers rows 1, 2, 3… and none is ever deleted).
        """
        seq = self.scalar("SELECT COALESCE(MAX(seq), 0) FROM feed")
        registers = {r["register"]: r["high"] for r in self.query(_REGISTER_HIGHS)}
        last = self.conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        return {
            "feed_seq": int(seq),
            "registers": registers,
            "audit": {"count": last[0] if last else 0, "head": last[1] if last else None},
        }


_REGISTER_HIGHS = """
WITH RECURSIVE regs(register) AS (
    SELECT MIN(register) FROM register_entries
    UNION ALL
    SELECT (SELECT MIN(e.register) FROM register_entries e WHERE e.register > regs.register)
    FROM regs WHERE regs.register IS NOT NULL
)
SELECT register, high FROM (
    SELECT register,
        (SELECT MAX(e.number) FROM register_entries e WHERE e.register = regs.register) AS high
    FROM regs WHERE register IS NOT NULL
) WHERE high IS NOT NULL
"""
"""The highest number of each register that has one, one index look-up per register."""


@functools.lru_cache(maxsize=256)
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    """The INSERT statement of ``columns``, built once per shape (rows are inserted by the
    thousand when a node catches up)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    # Table and column names come from this package's code, never from input.
    return f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608


def read_sidecar(path: Path) -> dict[str, Any]:
    """The high-water marks last written beside the database (empty if none)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


_SIDECAR_LOCK = threading.Lock()


@contextmanager
def _sidecar_lock(path: Path) -> Iterator[None]:
    """Hold the sidecar's lock: threads of this process, and other processes (the CLI beside
    the running server), so that two read-merge-write cycles never interleave and a slower
    writer never lowers a mark a faster one has just written."""
    with _SIDECAR_LOCK:
        if fcntl is None:  # Windows: one node process writes its folder
            yield
            return
        fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _replace_sidecar(path: Path, marks: dict[str, Any]) -> None:
    # A name of its own per writer: a temporary file shared by two threads was renamed
    # away under the other one, which then failed after its transaction had committed.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", opener=private_opener) as f:
            f.write(json.dumps(marks, ensure_ascii=False))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):  # a full disk: leave no half of a file behind
            tmp.unlink(missing_ok=True)
        raise


def write_sidecar(path: Path, marks: dict[str, Any]) -> None:
    """Merge ``marks`` into the sidecar, never lowering a mark, and replace it atomically."""
    with _sidecar_lock(path):
        old = read_sidecar(path)
        merged_regs = dict(old.get("registers") or {})
        for reg, high in marks["registers"].items():
            merged_regs[reg] = max(int(high), int(merged_regs.get(reg, 0)))
        old_audit = old.get("audit") or {}
        audit = marks["audit"]
        if int(old_audit.get("count", 0)) > int(audit["count"]):
            audit = old_audit
        merged = {
            "feed_seq": max(int(marks["feed_seq"]), int(old.get("feed_seq", 0))),
            "registers": merged_regs,
            "audit": audit,
        }
        if merged == old:
            return
        _replace_sidecar(path, merged)


def lower_sidecar_feed_seq(path: Path, seq: int) -> None:
    """Bring the sidecar's feed seq down to ``seq``: the seqs above it were signed by a copy
    of the database that is gone, and the hub never saw them, so they are free again.

    Register marks are never lowered: a number once given out stays given out.
    """
    with _sidecar_lock(path):
        marks = read_sidecar(path)
        if int(marks.get("feed_seq") or 0) <= seq:
            return
        marks["feed_seq"] = seq
        _replace_sidecar(path, marks)
