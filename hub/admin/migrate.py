"""Moving a hub from its SQLite file to PostgreSQL: `saraban hub migrate --to URL` (issue 18,
docs/operations.md).

:func:`migrate_to_postgres` copies every table of the hub's SQLite file into an empty
PostgreSQL database whose tables it creates (:mod:`hub.store.postgres`), in one
transaction, rows with the ids and feed positions they had, then moves each id counter
past the highest copied id, checks that every table holds as many rows as the file, and
records the database in the instance's ``config.json`` (``DATABASE_URL``), so the next
`saraban hub serve` opens it. The SQLite file is left as it was: it is the way back.

It refuses, saying why and changing nothing: while a hub process serves the file (seen
alive in the last 35 s; stop the service first), when the hub is on PostgreSQL already,
and when the database holds a hub already.

Does not: copy the portal's full-text index (SQLite's FTS5): every letter is queued for the
index again, which the hub's job builds a batch a second (a search reads the queue
meanwhile); nor the list of serving processes; move attachment bytes (they stay in the
instance's ``blobs`` folder, which every hub process reads).
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from hub.config import load_settings
from hub.errors import AdminError
from hub.processes import STALE_SECONDS
from hub.store import HubStore
from hub.store.pg_dialect import ROWID_TABLES
from hub.store.portal_sessions import PortalSessions
from hub.store.portal_tracking import PortalTracking
from hub.store.postgres import is_postgres, redacted
from protocol.settings import CONFIG_FILE

SKIPPED = ("portal_fts", "hub_processes")
"""Tables not copied: the full-text index (SQLite's own) and the processes serving now."""
BATCH = 2_000
"""Rows copied a statement."""


@contextmanager
def _snapshot(path: Path) -> Iterator[sqlite3.Connection]:
    """A consistent copy of the live SQLite file (SQLite's backup API), read-only."""
    with tempfile.TemporaryDirectory(prefix="saraban-migrate-") as folder:
        copy = Path(folder) / "hub.sqlite"
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as src:
            with closing(sqlite3.connect(copy)) as dst:
                src.backup(dst)
        with closing(sqlite3.connect(f"file:{copy}?mode=ro", uri=True)) as conn:
            yield conn


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " ORDER BY name"
    ).fetchall()
    return [str(r[0]) for r in rows if not str(r[0]).startswith(SKIPPED)]


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    names = [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")]
    return ["rowid", *names] if table in ROWID_TABLES else names


def _serving(conn: sqlite3.Connection, now: float) -> list[str]:
    if "hub_processes" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}:
        return []
    rows = conn.execute(
        "SELECT host, pid FROM hub_processes WHERE seen_at >= ?", (now - STALE_SECONDS,)
    ).fetchall()
    return [f"{host} pid {pid}" for host, pid in rows]


def migrate_to_postgres(instance: Path, url: str, now: float | None = None) -> dict[str, Any]:
    """Copy the hub of ``instance`` from its SQLite file into the PostgreSQL database at
    ``url`` and point the instance at it; ``{"database", "tables": {name: rows}, "rows"}``.

    Raises :class:`AdminError` (nothing changed) when the copy cannot be made."""
    if not is_postgres(url):
        raise AdminError("--to must be a postgresql://USER@HOST:PORT/NAME URL")
    settings = load_settings(instance)
    source = settings["DATABASE"]
    if is_postgres(source):
        raise AdminError(f"this hub is on PostgreSQL already ({redacted(str(source))})")
    path = Path(source)
    if not path.is_file():
        raise AdminError(f"no hub database at {path}: nothing to move")
    moment = time.time() if now is None else now
    with _snapshot(path) as lite:
        serving = _serving(lite, moment)
        if serving:
            raise AdminError(
                "the hub is serving from this file (" + ", ".join(serving) + "): stop it first"
            )
        target = HubStore.open(url, create=True)
        try:
            # The tables the portal makes when it starts (its sessions and sign-ins).
            PortalSessions(target).create_tables()
            PortalTracking(target).create_indexes()
            counts = _copy(lite, target)
        finally:
            target.close()
    _point_config_at(instance, url)
    return {"database": redacted(url), "tables": counts, "rows": sum(counts.values())}


def _copy(lite: sqlite3.Connection, target: HubStore) -> dict[str, int]:
    """Every table of ``lite`` into ``target`` (empty of any hub) in one transaction; the
    rows copied by table."""
    counts: dict[str, int] = {}
    with target.write():
        if target.count("feed") or target.count("offices") or target.hub_keys():
            raise AdminError("the PostgreSQL database holds a hub already: give an empty one")
        for table in _tables(lite):
            columns = _columns(lite, table)
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
            cursor = lite.execute(f"SELECT {names} FROM {table}")  # noqa: S608
            target.clear_table(table)  # the rows the schema put there (meta's marks)
            copied = 0
            while rows := cursor.fetchmany(BATCH):
                target.conn.executemany(sql, rows)
                copied += len(rows)
            counts[table] = copied
        target.restart_identities()
        target.requeue_portal_index()  # FTS5's index stays behind: built again, a batch a second
        for table, copied in counts.items():
            if target.rows_in(table) != copied:
                raise AdminError(
                    f"{table}: {target.rows_in(table)} rows after the copy, not {copied}"
                )
    return counts


def _point_config_at(instance: Path, url: str) -> None:
    """Record ``DATABASE_URL`` in the instance's ``config.json`` (kept 0600)."""
    path = instance / CONFIG_FILE
    values: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    values["DATABASE_URL"] = url
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(values, out, ensure_ascii=False, indent=2)
    os.replace(path.with_suffix(".tmp"), path)
