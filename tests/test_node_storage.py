"""The node's storage under concurrent writers: the high-water sidecar never fails a committed
transaction and never goes backwards. A database file from an earlier version gets today's
columns when it is opened."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from node.storage.schema import SCHEMA_STAMP
from node.storage.store import Store, read_sidecar, write_sidecar


def marks(seq: int) -> dict[str, object]:
    return {"feed_seq": seq, "registers": {"ชม 0017|ส่ง|2569": seq}, "audit": {"count": seq}}


def test_concurrent_sidecar_writers_never_fail_and_keep_the_highest_mark(tmp_path: Path) -> None:
    sidecar = tmp_path / "highwater.json"
    start = threading.Barrier(16)
    failures: list[BaseException] = []

    def writer(first: int) -> None:
        start.wait()
        try:
            for seq in range(first, 800, 16):
                write_sidecar(sidecar, marks(seq))
        except BaseException as e:  # the assertion below names it
            failures.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    written = read_sidecar(sidecar)
    assert written["feed_seq"] == 799
    assert written["registers"] == {"ชม 0017|ส่ง|2569": 799}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".highwater.json.lock", "highwater.json"]


def test_concurrent_transactions_each_leave_their_mark(tmp_path: Path) -> None:
    db, sidecar = tmp_path / "node.sqlite", tmp_path / "highwater.json"
    Store(db, sidecar=sidecar).close()
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def clerk() -> None:
        with Store(db, sidecar=sidecar) as store:
            start.wait()
            try:
                for _ in range(25):
                    with store.transaction():
                        store.log(0.0, "clerk action")
            except BaseException as e:
                failures.append(e)

    threads = [threading.Thread(target=clerk) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    with Store(db, sidecar=sidecar) as store:
        assert store.scalar("SELECT COUNT(*) FROM sync_log") == 200


def columns(db: Path, table: str) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def test_a_file_from_an_earlier_version_gets_todays_columns_when_opened(tmp_path: Path) -> None:
    db, sidecar = tmp_path / "node.sqlite", tmp_path / "highwater.json"
    Store(db, sidecar=sidecar).close()
    # As an office's file of the version before the portal: no TOTP columns, no
    # letters_day index, and the stamp of that version.
    conn = sqlite3.connect(db)
    conn.execute("DROP INDEX letters_day")
    for name in ("totp_secret", "totp_pending", "totp_step", "totp_enrolled_at"):
        conn.execute(f"ALTER TABLE users DROP COLUMN {name}")
    conn.execute("PRAGMA user_version = 12345")
    conn.commit()
    conn.close()
    assert "totp_secret" not in columns(db, "users")

    with Store(db, sidecar=sidecar) as store:
        with store.transaction():
            store.log(0.0, "opened after the upgrade")
        indexes = store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        assert "letters_day" in {row[0] for row in indexes}
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_STAMP

    assert {"totp_secret", "totp_pending", "totp_step", "totp_enrolled_at"} <= columns(db, "users")
