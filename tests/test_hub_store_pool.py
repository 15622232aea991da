"""The SQLite connections a hub process keeps between requests (hub.store.sqlite_pool):
kept only when they are safe to hand out again, and never to a file no longer at the path."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from hub.store import HubStore

pytestmark = pytest.mark.sqlite_only("the SQLite store's own connections")


def _hub_with(path: Path, note: str) -> None:
    store = HubStore.open(path, create=True)
    with store.write():
        store.set_meta("note", note)
    store.close()


def _hub_at(tmp_path: Path) -> Path:
    """A hub database in ``tmp_path`` whose note is ``first``."""
    path = tmp_path / "hub.sqlite"
    _hub_with(path, "first")
    return path


def _committed_note(path: Path) -> str | None:
    with sqlite3.connect(path) as raw:
        row = raw.execute("SELECT value FROM meta WHERE key = 'note'").fetchone()
    return None if row is None else str(row[0])


def test_a_database_put_back_at_its_path_is_read_afresh(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite"
    _hub_with(path, "before the restore")
    served = HubStore.open(path, create=False)
    assert served.meta("note") == "before the restore"
    served.close()  # kept for the next request

    # The operator moves the database aside and puts a copy from another day in its place.
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{path}{suffix}").exists():
            os.replace(f"{path}{suffix}", tmp_path / f"aside{suffix}")
    _hub_with(tmp_path / "restored.sqlite", "the restored copy")
    os.replace(tmp_path / "restored.sqlite", path)

    after = HubStore.open(path, create=False)
    assert after.meta("note") == "the restored copy"
    after.close()


def test_a_connection_closed_inside_a_transaction_is_not_handed_out_again(
    tmp_path: Path,
) -> None:
    path = _hub_at(tmp_path)
    broken = HubStore.open(path, create=False)
    broken.conn.execute("BEGIN")
    broken.set_meta("note", "never committed")
    broken.close()

    store = HubStore.open(path, create=False)
    with store.write():
        store.set_meta("note", "second")
    store.close()

    assert _committed_note(path) == "second"


def test_the_next_request_takes_the_connection_the_last_one_gave_back(tmp_path: Path) -> None:
    path = _hub_at(tmp_path)
    first = HubStore.open(path, create=False)
    conn = first.conn
    first.close()

    second = HubStore.open(path, create=False)
    assert second.conn is conn
    assert second.meta("note") == "first"
    second.close()


def test_a_missing_database_is_said_without_opening_one(tmp_path: Path) -> None:
    from hub.errors import StoreError

    with pytest.raises(StoreError, match="no hub database"):
        HubStore.open(tmp_path / "nowhere" / "hub.sqlite", create=False)
    assert not (tmp_path / "nowhere").exists()


def test_a_store_closed_twice_leaves_the_next_request_a_working_connection(
    tmp_path: Path,
) -> None:
    path = _hub_at(tmp_path)
    store = HubStore.open(path, create=False)
    store.close()
    store.close()

    after = HubStore.open(path, create=False)
    assert after.meta("note") == "first"
    after.close()


def test_the_log_a_burst_grew_is_cut_back_once_it_starts_again(tmp_path: Path) -> None:
    from hub.store.connection import JOURNAL_LIMIT_BYTES

    path = _hub_at(tmp_path)
    store = HubStore.open(path, create=False)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM meta").fetchone()  # a request reading all along
    for i in range(JOURNAL_LIMIT_BYTES // 6_000):
        with store.write():
            store.set_meta(f"burst-{i}", "x" * 8_000)
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > JOURNAL_LIMIT_BYTES

    reader.execute("COMMIT")
    reader.close()
    store.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    with store.write():
        store.set_meta("after", "the burst")
    store.close()

    assert wal.stat().st_size <= JOURNAL_LIMIT_BYTES
