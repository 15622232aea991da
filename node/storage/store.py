"""The node's SQLite database: schema, connection and the one writer path.

One SQLite file in WAL mode, opened through sqlite-utils. Every state change goes through
:meth:`Store.transaction`, which runs ``BEGIN IMMEDIATE`` so that writers serialise across
processes (the CLI and the running server may write the same file) and a clerk's action,
its feed envelope and its audit row commit together or not at all.

After each commit the store writes the high-water sidecar (``highwater.json``: the last
feed seq, the highest number of each register and the audit head), which lets a node that
was restored from an old copy of this file notice it (see :mod:`node.storage.highwater`).

This module does not know letters or registers; it only holds their tables.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from node.errors import NodeError
from node.storage.schema import SCHEMA, add_missing_columns

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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: the driver opens no implicit transactions, so every write
        # happens inside transaction() (or a sqlite-utils atomic block) and nowhere else.
        conn = sqlite3.connect(
            str(self.path),
            timeout=busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        self._depth = 0
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
            add_missing_columns(conn)
        except sqlite3.OperationalError as e:
            conn.close()
            raise StoreBusy(f"cannot open {self.path.name}: {e}") from e

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
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise StoreBusy(f"database is locked: {e}") from e
        self._depth = 1
        marks: dict[str, Any] | None = None
        try:
            yield self
            if self.sidecar is not None:
                marks = self.high_marks()
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0
        if marks is not None and self.sidecar is not None:
            write_sidecar(self.sidecar, marks)

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
        cols = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        # Table and column names come from this package's code, never from input.
        sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608
        return self.execute(sql, list(row.values()))

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
        """What this database has issued: last feed seq, register highs, audit head."""
        seq = self.scalar("SELECT COALESCE(MAX(seq), 0) FROM feed")
        registers = {
            r["register"]: r["high"]
            for r in self.query(
                "SELECT register, MAX(number) AS high FROM register_entries "
                "WHERE number IS NOT NULL GROUP BY register"
            )
        }
        audit = self.one("SELECT COUNT(*) AS count, MAX(id) AS last FROM audit")
        head = self.scalar("SELECT hash FROM audit ORDER BY id DESC LIMIT 1")
        return {
            "feed_seq": int(seq),
            "registers": registers,
            "audit": {"count": audit["count"] if audit else 0, "head": head},
        }


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
        # A name of its own per writer: a temporary file shared by two threads was renamed
        # away under the other one, which then failed after its transaction had committed.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with tmp.open("w", encoding="utf-8") as f:
            f.write(json.dumps(merged, ensure_ascii=False))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
