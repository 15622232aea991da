"""The hub's database: every SQL statement of the hub lives in this module.

One SQLite file in WAL mode with a busy timeout; writes run inside ``BEGIN IMMEDIATE``
transactions (:meth:`HubStore.write`), so one writer at a time and no lost updates. The
rest of the hub talks to :class:`HubStore` methods, never to SQL, so that a PostgreSQL store
offering the same methods could stand beside this one.

This module makes no decisions: what to store, route or reject is decided by the callers
(:mod:`hub.federation.ingest`, :mod:`hub.federation.routing`, :mod:`hub.numbering.authority`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.errors import StoreError

BUSY_TIMEOUT_MS = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS offices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    province TEXT,
    group_no INTEGER,
    group_name TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    seal_public TEXT,
    created_at REAL,
    enrolled_at REAL,
    revoked_at REAL,
    last_push REAL,
    last_pull REAL,
    last_heartbeat REAL,
    outbox_backlog INTEGER,
    clock_skew REAL,
    software TEXT,
    provisional_pending INTEGER,
    last_sync_ok INTEGER,
    last_error TEXT,
    pulled_upto INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS keys (
    keyid TEXT PRIMARY KEY,
    office TEXT NOT NULL,
    key_no INTEGER NOT NULL,
    public TEXT NOT NULL,
    status TEXT NOT NULL,
    added_at REAL
);
CREATE INDEX IF NOT EXISTS keys_office ON keys (office);
CREATE TABLE IF NOT EXISTS hub_keys (
    keyid TEXT PRIMARY KEY,
    key_no INTEGER NOT NULL,
    public TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    office TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
);
CREATE TABLE IF NOT EXISTS nonces (
    keyid TEXT NOT NULL,
    nonce TEXT NOT NULL,
    ts REAL NOT NULL,
    PRIMARY KEY (keyid, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_ts ON nonces (ts);
CREATE TABLE IF NOT EXISTS feed (
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL,
    env_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    envelope BLOB NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (origin, seq)
);
CREATE TABLE IF NOT EXISTS hub_envelopes (
    env_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    office TEXT,
    register TEXT,
    envelope BLOB NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS mailbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    office TEXT NOT NULL,
    env_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    UNIQUE (office, env_id)
);
CREATE INDEX IF NOT EXISTS mailbox_office_id ON mailbox (office, id);
CREATE TABLE IF NOT EXISTS letter_routes (
    letter TEXT NOT NULL,
    recipient TEXT NOT NULL,
    sender TEXT NOT NULL,
    PRIMARY KEY (letter, recipient)
);
CREATE TABLE IF NOT EXISTS blob_refs (
    sha256 TEXT NOT NULL,
    letter TEXT NOT NULL,
    PRIMARY KEY (sha256, letter)
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,
    env_id TEXT NOT NULL UNIQUE,
    origin TEXT,
    seq INTEGER,
    reason TEXT NOT NULL,
    detail TEXT,
    envelope BLOB,
    at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'open'
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    office TEXT,
    detail TEXT,
    at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'open'
);
CREATE TABLE IF NOT EXISTS ledger (
    id INTEGER PRIMARY KEY,
    register TEXT NOT NULL,
    owner TEXT NOT NULL,
    series TEXT NOT NULL,
    year INTEGER NOT NULL,
    number INTEGER,
    action TEXT NOT NULL,
    office TEXT NOT NULL,
    env_id TEXT NOT NULL UNIQUE,
    provisional_id TEXT,
    reason TEXT,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_register_number ON ledger (register, number);
CREATE INDEX IF NOT EXISTS ledger_office ON ledger (office, register);
CREATE TABLE IF NOT EXISTS leases (
    id INTEGER PRIMARY KEY,
    register TEXT NOT NULL,
    office TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    env_id TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS leases_register ON leases (register);
CREATE TABLE IF NOT EXISTS numbering_rejections (
    id INTEGER PRIMARY KEY,
    register TEXT NOT NULL,
    number INTEGER,
    office TEXT NOT NULL,
    env_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL,
    UNIQUE (env_id, reason)
);
CREATE TABLE IF NOT EXISTS directory_versions (
    version INTEGER PRIMARY KEY,
    env_id TEXT NOT NULL,
    envelope BLOB NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lists (
    name TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    members TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS shared_registers (
    owner TEXT NOT NULL,
    series TEXT NOT NULL,
    basis TEXT NOT NULL,
    members TEXT NOT NULL,
    PRIMARY KEY (owner, series)
);
CREATE TABLE IF NOT EXISTS sync_sessions (
    id INTEGER PRIMARY KEY,
    office TEXT NOT NULL,
    kind TEXT NOT NULL,
    at REAL NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0,
    duplicate INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    errors TEXT
);
CREATE INDEX IF NOT EXISTS sync_sessions_office ON sync_sessions (office, at);
CREATE TABLE IF NOT EXISTS operators (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until REAL,
    created_at REAL NOT NULL,
    last_login REAL
);
CREATE TABLE IF NOT EXISTS operator_actions (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    operator TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    reason TEXT,
    detail TEXT
);
-- usage statistics: one row per routed letter and per receipt routed to its sender
CREATE TABLE IF NOT EXISTS letter_facts (
    env_id TEXT PRIMARY KEY,
    origin TEXT NOT NULL,
    sent_at REAL NOT NULL,
    day TEXT NOT NULL,
    speed TEXT NOT NULL,
    letter_type TEXT NOT NULL,
    recipients INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS letter_facts_day ON letter_facts (day, origin);
CREATE INDEX IF NOT EXISTS letter_facts_origin ON letter_facts (origin, sent_at);
CREATE TABLE IF NOT EXISTS receipt_facts (
    letter TEXT NOT NULL,
    office TEXT NOT NULL,
    status TEXT NOT NULL,
    env_id TEXT NOT NULL UNIQUE,
    sender TEXT NOT NULL,
    at REAL NOT NULL,
    day TEXT NOT NULL,
    PRIMARY KEY (letter, office, status)
);
CREATE INDEX IF NOT EXISTS receipt_facts_day ON receipt_facts (status, day, office);
CREATE INDEX IF NOT EXISTS receipt_facts_office ON receipt_facts (office, status, at);
CREATE TABLE IF NOT EXISTS numbering_reports (
    day TEXT PRIMARY KEY,
    at REAL NOT NULL,
    report TEXT NOT NULL,
    worse TEXT NOT NULL
);
"""

MIGRATIONS: tuple[tuple[str, str, str], ...] = (
    ("alerts", "key", "TEXT"),
    ("alerts", "resolved_at", "REAL"),
    ("alerts", "resolved_by", "TEXT"),
    ("alerts", "note", "TEXT"),
    ("quarantine", "resolved_at", "REAL"),
    ("quarantine", "resolved_by", "TEXT"),
    ("quarantine", "resolution", "TEXT"),
    ("offices", "directory_version", "INTEGER"),
    ("tokens", "cancelled_at", "REAL"),
)
"""Columns added after the first release: ``(table, column, type)``, added when missing."""

Row = dict[str, Any]


@dataclass(frozen=True)
class FeedRow:
    """One stored envelope of an office's feed."""

    origin: str
    seq: int
    env_id: str
    kind: str
    envelope: bytes


def _migrate(conn: sqlite3.Connection) -> None:
    for table, column, kind in MIGRATIONS:
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    conn.execute("CREATE INDEX IF NOT EXISTS alerts_key ON alerts (key, status)")


def _row(cursor_row: sqlite3.Row | None) -> Row | None:
    return None if cursor_row is None else dict(cursor_row)


class HubStore:
    """The hub's SQLite database behind a narrow, SQL-free interface."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    # -- connection and transactions -------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, create: bool = True) -> HubStore:
        """Open the database at ``path``; ``create`` also creates the file and the schema."""
        try:
            if create:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
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
                conn.executescript(SCHEMA)
                _migrate(conn)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the hub database: {e}") from e
        return cls(conn)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    @contextmanager
    def write(self) -> Iterator[HubStore]:
        """A ``BEGIN IMMEDIATE`` transaction; nested calls join the outer one."""
        if self.conn.in_transaction:
            yield self
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise StoreError(f"database busy: {e}") from e
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
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

    def _scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        try:
            row = self.conn.execute(sql, tuple(params)).fetchone()
        except sqlite3.Error as e:
            raise StoreError(f"database error: {e}") from e
        return None if row is None else row[0]

    def count(self, table: str) -> int:
        """Rows in ``table`` (for tests and the console)."""
        if table not in _TABLES:
            raise ValueError(f"unknown table {table!r}")
        return int(self._scalar(f"SELECT count(*) FROM {table}"))  # noqa: S608

    # -- meta ---------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A value of the hub's own metadata."""
        value = self._scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        """Set a metadata value."""
        self._exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- offices and keys ---------------------------------------------------------------

    def office(self, office_id: str) -> Row | None:
        """One office row."""
        return self._one("SELECT * FROM offices WHERE id = ?", (office_id,))

    def offices(self) -> list[Row]:
        """Every office, ordered by group then id."""
        return self._all("SELECT * FROM offices ORDER BY coalesce(group_no, 0), id")

    def add_office(
        self,
        office_id: str,
        name: str,
        province: str | None,
        group_no: int | None,
        group_name: str | None,
        now: float,
    ) -> None:
        """Create an office in ``pending`` state (no-op if it exists)."""
        self._exec(
            "INSERT OR IGNORE INTO offices (id, name, province, group_no, group_name, status,"
            " created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
            (office_id, name, province, group_no, group_name, now),
        )

    def set_office_enrolled(self, office_id: str, seal_public: str, now: float) -> None:
        """Mark an office enrolled with its seal key."""
        self._exec(
            "UPDATE offices SET status = 'enrolled', seal_public = ?, enrolled_at = ? WHERE id = ?",
            (seal_public, now, office_id),
        )

    def set_office_revoked(self, office_id: str, now: float) -> None:
        """Mark an office revoked and retire its keys."""
        self._exec(
            "UPDATE offices SET status = 'revoked', revoked_at = ? WHERE id = ?", (now, office_id)
        )
        self._exec("UPDATE keys SET status = 'revoked' WHERE office = ?", (office_id,))

    def record_contact(self, office_id: str, kind: str, now: float) -> None:
        """Remember the time of an office's last push or pull."""
        column = {"push": "last_push", "pull": "last_pull"}[kind]
        self._exec(f"UPDATE offices SET {column} = ? WHERE id = ?", (now, office_id))  # noqa: S608

    def record_heartbeat(
        self,
        office_id: str,
        now: float,
        outbox: int | None,
        clock_skew: float | None,
        software: str | None,
        provisional_pending: int | None,
        last_sync_ok: bool | None,
        last_error: str | None,
    ) -> None:
        """Store what a node reported about itself."""
        self._exec(
            "UPDATE offices SET last_heartbeat = ?, outbox_backlog = ?, clock_skew = ?,"
            " software = ?, provisional_pending = ?, last_sync_ok = ?, last_error = ?"
            " WHERE id = ?",
            (
                now,
                outbox,
                clock_skew,
                software,
                provisional_pending,
                None if last_sync_ok is None else int(last_sync_ok),
                last_error,
                office_id,
            ),
        )

    def set_pulled_upto(self, office_id: str, position: int) -> None:
        """The mailbox position up to which the office has confirmed what it pulled."""
        self._exec(
            "UPDATE offices SET pulled_upto = max(pulled_upto, ?) WHERE id = ?",
            (position, office_id),
        )

    def keys_of(self, office_id: str) -> list[Row]:
        """Every signing key an office has had, oldest first."""
        return self._all("SELECT * FROM keys WHERE office = ? ORDER BY key_no", (office_id,))

    def active_keys(self) -> dict[str, Row]:
        """Each office's newest active signing key, by office (one query for all)."""
        rows = self._all("SELECT * FROM keys WHERE status = 'active' ORDER BY office, key_no")
        return {r["office"]: r for r in rows}

    def key(self, keyid: str) -> Row | None:
        """One office signing key."""
        return self._one("SELECT * FROM keys WHERE keyid = ?", (keyid,))

    def add_key(self, keyid: str, office_id: str, key_no: int, public: str, now: float) -> None:
        """Add an active signing key and retire the office's older ones."""
        self._exec(
            "UPDATE keys SET status = 'retired' WHERE office = ? AND status = 'active'",
            (office_id,),
        )
        self._exec(
            "INSERT INTO keys (keyid, office, key_no, public, status, added_at)"
            " VALUES (?, ?, ?, ?, 'active', ?)",
            (keyid, office_id, key_no, public, now),
        )

    # -- hub keys ---------------------------------------------------------------------

    def hub_keys(self) -> list[Row]:
        """The hub's signing keys, newest first."""
        return self._all("SELECT * FROM hub_keys ORDER BY key_no DESC")

    def add_hub_key(self, keyid: str, key_no: int, public: str, now: float) -> None:
        """Record a new current hub key; the former current one becomes ``previous``."""
        self._exec("UPDATE hub_keys SET status = 'retired' WHERE status = 'previous'")
        self._exec("UPDATE hub_keys SET status = 'previous' WHERE status = 'current'")
        self._exec(
            "INSERT INTO hub_keys (keyid, key_no, public, status, created_at)"
            " VALUES (?, ?, ?, 'current', ?)",
            (keyid, key_no, public, now),
        )

    # -- enrollment tokens ----------------------------------------------------------------

    def add_token(self, token_hash: str, office_id: str, now: float, expires_at: float) -> None:
        """Store the hash of a new enrollment token."""
        self._exec(
            "INSERT INTO tokens (token_hash, office, issued_at, expires_at) VALUES (?, ?, ?, ?)",
            (token_hash, office_id, now, expires_at),
        )

    def token(self, token_hash: str) -> Row | None:
        """The token row with this hash."""
        return self._one("SELECT * FROM tokens WHERE token_hash = ?", (token_hash,))

    def use_token(self, token_hash: str, now: float) -> None:
        """Mark a token used."""
        self._exec("UPDATE tokens SET used_at = ? WHERE token_hash = ?", (now, token_hash))

    # -- nonces -----------------------------------------------------------------------------

    def remember_nonce(self, keyid: str, nonce: str, ts: float, forget_before: float) -> bool:
        """Record a request nonce; False when it was already seen. Prunes old nonces."""
        with self.write():
            self._exec("DELETE FROM nonces WHERE ts < ?", (forget_before,))
            try:
                self.conn.execute(
                    "INSERT INTO nonces (keyid, nonce, ts) VALUES (?, ?, ?)", (keyid, nonce, ts)
                )
            except sqlite3.IntegrityError:
                return False
            except sqlite3.Error as e:
                raise StoreError(f"database error: {e}") from e
        return True

    # -- feeds -----------------------------------------------------------------------------

    def feed_head(self, origin: str) -> tuple[int, str] | None:
        """``(seq, env_id)`` of the last stored envelope of ``origin``'s feed."""
        row = self._one(
            "SELECT seq, env_id FROM feed WHERE origin = ? ORDER BY seq DESC LIMIT 1", (origin,)
        )
        return None if row is None else (int(row["seq"]), str(row["env_id"]))

    def feed_env_id_at(self, origin: str, seq: int) -> str | None:
        """env_id stored at ``(origin, seq)``."""
        value = self._scalar("SELECT env_id FROM feed WHERE origin = ? AND seq = ?", (origin, seq))
        return None if value is None else str(value)

    def append_feed(
        self, origin: str, seq: int, env_id: str, kind: str, envelope: bytes, now: float
    ) -> None:
        """Store an accepted envelope of a feed."""
        self._exec(
            "INSERT INTO feed (origin, seq, env_id, kind, envelope, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (origin, seq, env_id, kind, envelope, now),
        )

    def feed_after(self, origin: str, after: int, limit: int) -> list[FeedRow]:
        """Envelopes of ``origin``'s feed with seq above ``after``, in order."""
        rows = self._all(
            "SELECT origin, seq, env_id, kind, envelope FROM feed"
            " WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?",
            (origin, after, limit),
        )
        return [FeedRow(r["origin"], r["seq"], r["env_id"], r["kind"], r["envelope"]) for r in rows]

    def feed_envelope(self, env_id: str) -> FeedRow | None:
        """A feed envelope by env_id."""
        r = self._one(
            "SELECT origin, seq, env_id, kind, envelope FROM feed WHERE env_id = ?", (env_id,)
        )
        if r is None:
            return None
        return FeedRow(r["origin"], r["seq"], r["env_id"], r["kind"], r["envelope"])

    # -- hub-signed envelopes and mailboxes -----------------------------------------------

    def add_hub_envelope(
        self,
        env_id: str,
        kind: str,
        office: str | None,
        register: str | None,
        envelope: bytes,
        now: float,
    ) -> None:
        """Store an envelope the hub signed; ``kind`` is ``lease_grant`` or ``lease_finalise``."""
        self._exec(
            "INSERT OR IGNORE INTO hub_envelopes (env_id, kind, office, register, envelope, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (env_id, kind, office, register, envelope, now),
        )

    def deliver(self, office_id: str, env_id: str, kind: str) -> bool:
        """Put an envelope in an office's mailbox once; False when it was already there."""
        try:
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO mailbox (office, env_id, kind) VALUES (?, ?, ?)",
                (office_id, env_id, kind),
            )
        except sqlite3.Error as e:
            raise StoreError(f"database error: {e}") from e
        return cur.rowcount == 1

    def mailbox_after(self, office_id: str, after: int, limit: int) -> list[tuple[int, bytes]]:
        """``(position, envelope bytes)`` of an office's mailbox after ``after``, in order."""
        rows = self._all(
            "SELECT m.id AS id, coalesce(f.envelope, h.envelope) AS envelope FROM mailbox m"
            " LEFT JOIN feed f ON f.env_id = m.env_id"
            " LEFT JOIN hub_envelopes h ON h.env_id = m.env_id"
            " WHERE m.office = ? AND m.id > ? ORDER BY m.id LIMIT ?",
            (office_id, after, limit),
        )
        return [(int(r["id"]), bytes(r["envelope"])) for r in rows]

    def mailbox_last(self, office_id: str) -> int:
        """The last mailbox position of an office (0 when empty)."""
        return int(
            self._scalar("SELECT coalesce(max(id), 0) FROM mailbox WHERE office = ?", (office_id,))
        )

    def mailbox_rows(self, office_id: str) -> list[Row]:
        """Every mailbox row of an office (for tests and the console)."""
        return self._all("SELECT * FROM mailbox WHERE office = ? ORDER BY id", (office_id,))

    def pending_finalisations(self, office_id: str) -> int:
        """Finalisation leases in an office's mailbox beyond what it confirmed pulling."""
        return int(
            self._scalar(
                "SELECT count(*) FROM mailbox m JOIN hub_envelopes h ON h.env_id = m.env_id"
                " JOIN offices o ON o.id = m.office"
                " WHERE m.office = ? AND h.kind = 'lease_finalise' AND m.id > o.pulled_upto",
                (office_id,),
            )
        )

    # -- letters, routes and blobs ----------------------------------------------------------

    def add_routes(self, letter: str, sender: str, recipients: Iterable[str]) -> None:
        """Remember who a letter was routed to."""
        try:
            self.conn.executemany(
                "INSERT OR IGNORE INTO letter_routes (letter, recipient, sender) VALUES (?, ?, ?)",
                [(letter, r, sender) for r in recipients],
            )
        except sqlite3.Error as e:
            raise StoreError(f"database error: {e}") from e

    def letter_sender(self, letter: str) -> str | None:
        """The origin of a letter the hub holds."""
        value = self._scalar(
            "SELECT origin FROM feed WHERE env_id = ? AND kind = 'letter'", (letter,)
        )
        return None if value is None else str(value)

    def letter_recipients(self, letter: str) -> list[str]:
        """The offices a letter was routed to."""
        rows = self._all(
            "SELECT recipient FROM letter_routes WHERE letter = ? ORDER BY rowid", (letter,)
        )
        return [r["recipient"] for r in rows]

    def add_blob_refs(self, letter: str, hashes: Iterable[str]) -> None:
        """Record that a letter lists these attachment hashes."""
        try:
            self.conn.executemany(
                "INSERT OR IGNORE INTO blob_refs (sha256, letter) VALUES (?, ?)",
                [(h, letter) for h in hashes],
            )
        except sqlite3.Error as e:
            raise StoreError(f"database error: {e}") from e

    def may_read_blob(self, office_id: str, sha256: str) -> bool:
        """True when the office sent, or is a recipient of, a letter listing this blob."""
        value = self._scalar(
            "SELECT 1 FROM blob_refs b JOIN feed f ON f.env_id = b.letter"
            " WHERE b.sha256 = ? AND (f.origin = ? OR EXISTS (SELECT 1 FROM letter_routes r"
            " WHERE r.letter = b.letter AND r.recipient = ?)) LIMIT 1",
            (sha256, office_id, office_id),
        )
        return value is not None

    # -- quarantine and alerts ------------------------------------------------------------

    def quarantine(
        self,
        env_id: str,
        origin: str | None,
        seq: int | None,
        reason: str,
        detail: str,
        envelope: bytes | None,
        now: float,
    ) -> None:
        """Keep a rejected envelope aside with the reason (once per env_id)."""
        self._exec(
            "INSERT OR IGNORE INTO quarantine (env_id, origin, seq, reason, detail, envelope, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (env_id, origin, seq, reason, detail, envelope, now),
        )

    def quarantined(self, status: str | None = "open") -> list[Row]:
        """Quarantined envelopes, newest first."""
        if status is None:
            return self._all("SELECT * FROM quarantine ORDER BY id DESC")
        return self._all("SELECT * FROM quarantine WHERE status = ? ORDER BY id DESC", (status,))

    def quarantined_one(self, quarantine_id: int) -> Row | None:
        """One quarantined envelope, with its bytes."""
        return self._one("SELECT * FROM quarantine WHERE id = ?", (quarantine_id,))

    def resolve_quarantine(
        self, quarantine_id: int, status: str, operator: str, resolution: str, now: float
    ) -> None:
        """Close a quarantined envelope as ``released`` or ``discarded``, saying why."""
        self._exec(
            "UPDATE quarantine SET status = ?, resolved_by = ?, resolution = ?, resolved_at = ?"
            " WHERE id = ? AND status = 'open'",
            (status, operator, resolution, now, quarantine_id),
        )

    def raise_alert(
        self, kind: str, office: str | None, detail: str, now: float, key: str | None = None
    ) -> int:
        """Record an alert for the operator; return its id.

        With a ``key``, at most one alert with that key is open at a time: raising it again
        while open changes nothing and returns the open alert's id.
        """
        if key is not None:
            open_id = self._scalar(
                "SELECT id FROM alerts WHERE key = ? AND status = 'open'", (key,)
            )
            if open_id is not None:
                return int(open_id)
        return self._exec(
            "INSERT INTO alerts (kind, office, detail, at, key) VALUES (?, ?, ?, ?, ?)",
            (kind, office, detail, now, key),
        )

    def alerts(self, status: str | None = "open", office: str | None = None) -> list[Row]:
        """Alerts, newest first; of one ``status`` (None: all) and one ``office`` (None: all)."""
        where, params = [], []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if office is not None:
            where.append("office = ?")
            params.append(office)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return self._all(f"SELECT * FROM alerts{clause} ORDER BY id DESC", params)  # noqa: S608

    def alert(self, alert_id: int) -> Row | None:
        """One alert."""
        return self._one("SELECT * FROM alerts WHERE id = ?", (alert_id,))

    def open_alert_keys(self, prefix: str) -> dict[str, int]:
        """Open alerts whose key starts with ``prefix``: key -> id."""
        rows = self._all(
            "SELECT key, id FROM alerts WHERE status = 'open' AND key LIKE ? ESCAPE '\\'",
            (prefix.replace("%", "\\%").replace("_", "\\_") + "%",),
        )
        return {r["key"]: int(r["id"]) for r in rows}

    def close_alert(
        self,
        alert_id: int,
        by: str = "",
        note: str | None = None,
        now: float | None = None,
        status: str = "closed",
    ) -> None:
        """Mark an alert dealt with (``closed`` by an operator, ``resolved`` by the hub)."""
        self._exec(
            "UPDATE alerts SET status = ?, resolved_by = ?, note = ?, resolved_at = ?"
            " WHERE id = ? AND status = 'open'",
            (status, by or None, note, now, alert_id),
        )

    # -- numbering ledger -----------------------------------------------------------------

    def ledger_numbers(self, register: str, number: int) -> list[Row]:
        """Ledger entries holding ``number`` in ``register``."""
        return self._all(
            "SELECT * FROM ledger WHERE register = ? AND number = ?", (register, number)
        )

    def add_ledger_entry(
        self,
        register: str,
        owner: str,
        series: str,
        year: int,
        number: int | None,
        action: str,
        office: str,
        env_id: str,
        provisional_id: str | None,
        reason: str | None,
        now: float,
    ) -> None:
        """Record one register envelope in the ledger."""
        self._exec(
            "INSERT INTO ledger (register, owner, series, year, number, action, office, env_id,"
            " provisional_id, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (register, owner, series, year, number, action, office, env_id, provisional_id,
             reason, now),
        )  # fmt: skip

    def ledger_max(self, register: str) -> int:
        """The highest number recorded in a register (0 when none)."""
        return int(
            self._scalar(
                "SELECT coalesce(max(number), 0) FROM ledger WHERE register = ?", (register,)
            )
        )

    def ledger(self, register: str | None = None) -> list[Row]:
        """Ledger entries, of one register or all, in order."""
        if register is None:
            return self._all("SELECT * FROM ledger ORDER BY register, number, id")
        return self._all("SELECT * FROM ledger WHERE register = ? ORDER BY number, id", (register,))

    def register_ids(self) -> list[str]:
        """Every register id with ledger entries or leases, sorted."""
        rows = self._all(
            "SELECT register FROM ledger UNION SELECT register FROM leases ORDER BY register"
        )
        return [r["register"] for r in rows]

    def provisional_entry(self, register: str, office: str, provisional_id: str) -> Row | None:
        """The ledger entry that finalised a provisional number, if any."""
        return self._one(
            "SELECT * FROM ledger WHERE register = ? AND office = ? AND provisional_id = ?"
            " ORDER BY id LIMIT 1",
            (register, office, provisional_id),
        )

    def office_register_maxima(self, office_id: str) -> dict[str, int]:
        """Highest number an office recorded in each register it wrote to."""
        rows = self._all(
            "SELECT register, coalesce(max(number), 0) AS top FROM ledger WHERE office = ?"
            " GROUP BY register",
            (office_id,),
        )
        return {r["register"]: int(r["top"]) for r in rows}

    def office_register_env_ids(self, office_id: str) -> dict[str, list[str]]:
        """env_ids of an office's register envelopes, by register."""
        out: dict[str, list[str]] = {}
        for r in self._all(
            "SELECT register, env_id FROM ledger WHERE office = ? ORDER BY id", (office_id,)
        ):
            out.setdefault(r["register"], []).append(r["env_id"])
        return out

    def add_lease(
        self, register: str, office: str, start: int, end: int, env_id: str, now: float
    ) -> None:
        """Record a lease granted."""
        self._exec(
            'INSERT INTO leases (register, office, start, "end", env_id, at)'
            " VALUES (?, ?, ?, ?, ?, ?)",
            (register, office, start, end, env_id, now),
        )

    def leases(self, register: str) -> list[Row]:
        """Leases of a register, oldest first."""
        return self._all("SELECT * FROM leases WHERE register = ? ORDER BY id", (register,))

    def lease_max_end(self, register: str) -> int:
        """The highest leased number of a register (0 when none)."""
        return int(
            self._scalar(
                'SELECT coalesce(max("end"), 0) FROM leases WHERE register = ?', (register,)
            )
        )

    def add_numbering_rejection(
        self, register: str, number: int | None, office: str, env_id: str, reason: str, now: float
    ) -> None:
        """Count a rejected numbering attempt (once per envelope and reason)."""
        self._exec(
            "INSERT OR IGNORE INTO numbering_rejections (register, number, office, env_id,"
            " reason, at) VALUES (?, ?, ?, ?, ?, ?)",
            (register, number, office, env_id, reason, now),
        )

    def numbering_rejections(self, register: str, reason: str) -> int:
        """How many attempts on a register were rejected for ``reason``."""
        return int(
            self._scalar(
                "SELECT count(*) FROM numbering_rejections WHERE register = ? AND reason = ?",
                (register, reason),
            )
        )

    def pending_finalisations_in(self, register: str) -> int:
        """Finalisations of a register not yet confirmed pulled by their office."""
        return int(
            self._scalar(
                "SELECT count(*) FROM hub_envelopes h JOIN offices o ON o.id = h.office"
                " JOIN mailbox m ON m.env_id = h.env_id AND m.office = h.office"
                " WHERE h.register = ? AND h.kind = 'lease_finalise' AND m.id > o.pulled_upto",
                (register,),
            )
        )

    # -- directory, lists, shared registers ----------------------------------------------

    def directory_head(self) -> Row | None:
        """The newest directory version: ``version, env_id, envelope``."""
        return self._one("SELECT * FROM directory_versions ORDER BY version DESC LIMIT 1")

    def add_directory(self, version: int, env_id: str, envelope: bytes, now: float) -> None:
        """Store a signed directory version."""
        self._exec(
            "INSERT INTO directory_versions (version, env_id, envelope, at) VALUES (?, ?, ?, ?)",
            (version, env_id, envelope, now),
        )

    def set_list(self, name: str, title: str, members: list[str]) -> None:
        """Create or replace a distribution list."""
        self._exec(
            "INSERT OR REPLACE INTO lists (name, title, members) VALUES (?, ?, ?)",
            (name, title, json.dumps(members, ensure_ascii=False)),
        )

    def lists(self) -> dict[str, Row]:
        """Distribution lists by name: ``{"title", "members"}``."""
        return {
            r["name"]: {"title": r["title"], "members": json.loads(r["members"])}
            for r in self._all("SELECT * FROM lists ORDER BY name")
        }

    def set_shared_register(self, owner: str, series: str, basis: str, members: list[str]) -> None:
        """Create or replace a shared register."""
        self._exec(
            "INSERT OR REPLACE INTO shared_registers (owner, series, basis, members)"
            " VALUES (?, ?, ?, ?)",
            (owner, series, basis, json.dumps(members, ensure_ascii=False)),
        )

    def shared_registers(self) -> list[Row]:
        """Shared registers: ``{"owner", "series", "basis", "members"}``."""
        return [
            {**r, "members": json.loads(r["members"])}
            for r in self._all("SELECT * FROM shared_registers ORDER BY owner, series")
        ]

    def shared_register(self, owner: str, series: str) -> Row | None:
        """One shared register, or None when ``(owner, series)`` is owned."""
        r = self._one(
            "SELECT * FROM shared_registers WHERE owner = ? AND series = ?", (owner, series)
        )
        return None if r is None else {**r, "members": json.loads(r["members"])}

    # -- sync sessions ------------------------------------------------------------------

    def add_sync_session(
        self,
        office_id: str,
        kind: str,
        now: float,
        count: int,
        accepted: int = 0,
        duplicate: int = 0,
        rejected: int = 0,
        errors: str | None = None,
    ) -> None:
        """Record one push or pull for the console."""
        self._exec(
            "INSERT INTO sync_sessions (office, kind, at, count, accepted, duplicate, rejected,"
            " errors) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (office_id, kind, now, count, accepted, duplicate, rejected, errors),
        )

    def sync_sessions(self, office_id: str, limit: int = 100) -> list[Row]:
        """An office's latest sync sessions."""
        return self._all(
            "SELECT * FROM sync_sessions WHERE office = ? ORDER BY id DESC LIMIT ?",
            (office_id, limit),
        )

    # -- the operator console --------------------------------------------------------------

    def tokens(self, limit: int = 200) -> list[Row]:
        """Enrollment tokens issued, newest first (hashes only; the secrets are never kept)."""
        return self._all("SELECT * FROM tokens ORDER BY issued_at DESC LIMIT ?", (limit,))

    def cancel_token(self, token_hash: str, now: float) -> bool:
        """Make an unused token unusable; False when it was used or unknown."""
        try:
            cur = self.conn.execute(
                "UPDATE tokens SET expires_at = min(expires_at, ?), cancelled_at = ?"
                " WHERE token_hash = ? AND used_at IS NULL",
                (now, now, token_hash),
            )
        except sqlite3.Error as e:
            raise StoreError(f"database error: {e}") from e
        return cur.rowcount == 1

    def mailbox_backlogs(self) -> dict[str, int]:
        """Per office: mailbox envelopes beyond the position it confirmed pulling."""
        rows = self._all(
            "SELECT o.id AS office, count(m.id) AS backlog FROM offices o"
            " LEFT JOIN mailbox m ON m.office = o.id AND m.id > o.pulled_upto GROUP BY o.id"
        )
        return {r["office"]: int(r["backlog"]) for r in rows}

    def set_office_directory_version(self, office_id: str, version: int | None) -> None:
        """The directory version a node reported holding."""
        self._exec("UPDATE offices SET directory_version = ? WHERE id = ?", (version, office_id))

    def operator(self, username: str) -> Row | None:
        """One operator account (with its password hash: never render it)."""
        return self._one("SELECT * FROM operators WHERE username = ?", (username,))

    def operators(self) -> list[Row]:
        """Every operator account, without password hashes."""
        return [
            {k: v for k, v in r.items() if k != "password_hash"}
            for r in self._all("SELECT * FROM operators ORDER BY username")
        ]

    def add_operator(
        self, username: str, display_name: str, role: str, password_hash: str, now: float
    ) -> None:
        """Create an operator account."""
        self._exec(
            "INSERT INTO operators (username, display_name, role, password_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (username, display_name, role, password_hash, now),
        )

    def set_operator_password(self, username: str, password_hash: str) -> None:
        """Replace an operator's password and lift any lock."""
        self._exec(
            "UPDATE operators SET password_hash = ?, failures = 0, locked_until = NULL,"
            " active = 1 WHERE username = ?",
            (password_hash, username),
        )

    def set_login_state(
        self, username: str, failures: int, locked_until: float | None, last_login: float | None
    ) -> None:
        """Store an operator's failed-login count and lock (and the time of a good login)."""
        self._exec(
            "UPDATE operators SET failures = ?, locked_until = ?,"
            " last_login = coalesce(?, last_login) WHERE username = ?",
            (failures, locked_until, last_login, username),
        )

    def set_operator_active(self, username: str, active: bool) -> None:
        """Allow or stop an operator's logins."""
        self._exec("UPDATE operators SET active = ? WHERE username = ?", (int(active), username))

    def log_action(
        self,
        operator: str,
        action: str,
        target: str | None,
        reason: str | None,
        detail: str | None,
        now: float,
    ) -> None:
        """Record what an operator did (append-only)."""
        self._exec(
            "INSERT INTO operator_actions (at, operator, action, target, reason, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (now, operator, action, target, reason, detail),
        )

    def actions(self, limit: int = 200, target: str | None = None) -> list[Row]:
        """Operator actions, newest first (of one target, when given)."""
        if target is None:
            return self._all("SELECT * FROM operator_actions ORDER BY id DESC LIMIT ?", (limit,))
        return self._all(
            "SELECT * FROM operator_actions WHERE target = ? ORDER BY id DESC LIMIT ?",
            (target, limit),
        )

    def add_numbering_report(self, day: str, report: str, worse: str, now: float) -> None:
        """Keep the numbering report of ``day`` (ISO date, Bangkok); one per day."""
        self._exec(
            "INSERT OR REPLACE INTO numbering_reports (day, at, report, worse) VALUES (?, ?, ?, ?)",
            (day, now, report, worse),
        )

    def numbering_reports(self, limit: int = 60) -> list[Row]:
        """Stored numbering reports, newest first."""
        return self._all("SELECT * FROM numbering_reports ORDER BY day DESC LIMIT ?", (limit,))

    def numbering_report_before(self, day: str) -> Row | None:
        """The newest stored report of a day before ``day``."""
        return self._one(
            "SELECT * FROM numbering_reports WHERE day < ? ORDER BY day DESC LIMIT 1", (day,)
        )

    # -- usage statistics -------------------------------------------------------------------

    @staticmethod
    def _stats_period(bucket: str) -> str:
        # A fixed SQL expression per granularity, never text from a request.
        return {"day": "day", "month": "substr(day, 1, 7)"}[bucket]

    @staticmethod
    def _stats_group(column: str, group: int | None) -> tuple[str, tuple[Any, ...]]:
        # ``column`` is a constant of this module; group 0 means offices without a group.
        if group is None:
            return "", ()
        return (
            f" AND {column} IN (SELECT id FROM offices WHERE coalesce(group_no, 0) = ?)",  # noqa: S608
            (group,),
        )

    def add_letter_fact(
        self,
        env_id: str,
        origin: str,
        sent_at: float,
        day: str,
        speed: str,
        letter_type: str,
        recipients: int,
    ) -> None:
        """Remember one routed letter for the statistics (once per env_id)."""
        self._exec(
            "INSERT OR IGNORE INTO letter_facts (env_id, origin, sent_at, day, speed,"
            " letter_type, recipients) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (env_id, origin, sent_at, day, speed, letter_type, recipients),
        )

    def add_receipt_fact(
        self,
        env_id: str,
        letter: str,
        office: str,
        sender: str,
        status: str,
        at: float,
        day: str,
    ) -> None:
        """Remember one routed receipt; the first of each ``(letter, office, status)`` wins."""
        self._exec(
            "INSERT OR IGNORE INTO receipt_facts (env_id, letter, office, sender, status, at,"
            " day) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (env_id, letter, office, sender, status, at, day),
        )

    def feed_for_facts(self, after: int, limit: int) -> list[Row]:
        """Stored letters and receipts after feed position ``after``, for the backfill.

        Each row: ``position, kind, env_id, envelope, received_at``, ``routes`` (how many
        offices a letter was routed to) and ``routed_to`` (the office a receipt was routed
        to, or None when it was not routed).
        """
        return self._all(
            "SELECT f.rowid AS position, f.kind, f.env_id, f.envelope, f.received_at,"
            " (SELECT count(*) FROM letter_routes r WHERE r.letter = f.env_id) AS routes,"
            " (SELECT m.office FROM mailbox m WHERE m.env_id = f.env_id AND m.kind = 'receipt'"
            " LIMIT 1) AS routed_to"
            " FROM feed f WHERE f.kind IN ('letter', 'receipt') AND f.rowid > ?"
            " ORDER BY f.rowid LIMIT ?",
            (after, limit),
        )

    def letters_sent_by(self, first_day: str, last_day: str, bucket: str) -> list[Row]:
        """Letters sent per ``(office, period)`` between two ISO days (inclusive).

        ``bucket`` is ``day`` (period = ISO day) or ``month`` (period = ``YYYY-MM``).
        """
        period = self._stats_period(bucket)
        return self._all(
            f"SELECT origin AS office, {period} AS period, count(*) AS n FROM letter_facts"  # noqa: S608
            " WHERE day BETWEEN ? AND ? GROUP BY origin, period",
            (first_day, last_day),
        )

    def receipts_by(self, status: str, first_day: str, last_day: str, bucket: str) -> list[Row]:
        """Receipts of ``status`` per ``(recipient office, period)`` between two ISO days."""
        period = self._stats_period(bucket)
        return self._all(
            f"SELECT office, {period} AS period, count(*) AS n FROM receipt_facts"  # noqa: S608
            " WHERE status = ? AND day BETWEEN ? AND ? GROUP BY office, period",
            (status, first_day, last_day),
        )

    def registration_percentiles(
        self, first_day: str, last_day: str, group: int | None, percents: tuple[int, int]
    ) -> list[Row]:
        """Time from delivery to registration per speed class, nearest-rank percentiles.

        Pairs are (letter, recipient) with both a delivered and a registered receipt,
        registered between the two ISO days; ``group`` (0: offices without a group) limits
        the recipients. Each row: ``speed, count, p_low, p_high`` in seconds, where
        ``p_low`` is the ``percents[0]``-th percentile: the smallest duration whose rank
        ``r`` (1-based, ascending) has ``r * 100 >= count * percent``.
        """
        where, params = self._stats_group("r.office", group)
        return self._all(
            "WITH pairs AS (SELECT coalesce(l.speed, '') AS speed, max(r.at - d.at, 0) AS dur"  # noqa: S608
            " FROM receipt_facts r JOIN receipt_facts d ON d.letter = r.letter"
            " AND d.office = r.office AND d.status = 'delivered'"
            " LEFT JOIN letter_facts l ON l.env_id = r.letter"
            f" WHERE r.status = 'registered' AND r.day BETWEEN ? AND ?{where}),"
            " ranked AS (SELECT speed, dur,"
            " row_number() OVER (PARTITION BY speed ORDER BY dur) AS rn,"
            " count(*) OVER (PARTITION BY speed) AS n FROM pairs)"
            " SELECT speed, n AS count,"
            " min(CASE WHEN rn * 100 >= n * ? THEN dur END) AS p_low,"
            " min(CASE WHEN rn * 100 >= n * ? THEN dur END) AS p_high"
            " FROM ranked GROUP BY speed",
            (first_day, last_day, *params, percents[0], percents[1]),
        )

    def deliveries_of_speed(
        self, speed: str, first_day: str, last_day: str, group: int | None
    ) -> list[Row]:
        """Deliveries of letters of one speed class between two ISO days (delivery day).

        Each row: ``letter, office, delivered_at``, ``registered_at`` (None when not
        registered) and ``declined`` (1 when the recipient returned it or found it invalid).
        """
        where, params = self._stats_group("d.office", group)
        return self._all(
            "SELECT d.letter, d.office, d.at AS delivered_at, r.at AS registered_at,"  # noqa: S608
            " EXISTS (SELECT 1 FROM receipt_facts x WHERE x.letter = d.letter"
            " AND x.office = d.office AND x.status IN ('returned', 'invalid')) AS declined"
            " FROM receipt_facts d JOIN letter_facts l ON l.env_id = d.letter AND l.speed = ?"
            " LEFT JOIN receipt_facts r ON r.letter = d.letter AND r.office = d.office"
            " AND r.status = 'registered'"
            f" WHERE d.status = 'delivered' AND d.day BETWEEN ? AND ?{where}"
            " ORDER BY d.at",
            (speed, first_day, last_day, *params),
        )

    def last_use(self) -> dict[str, float]:
        """Per office: the last time it sent a letter or registered a received one."""
        rows = self._all(
            "SELECT office, max(at) AS at FROM ("
            " SELECT origin AS office, max(sent_at) AS at FROM letter_facts GROUP BY origin"
            " UNION ALL SELECT office, max(at) AS at FROM receipt_facts"
            " WHERE status = 'registered' GROUP BY office) GROUP BY office"
        )
        return {r["office"]: float(r["at"]) for r in rows}

    # -- enrollment and distribution lists (console) ---------------------------------------

    def tokens_by_prefix(self, prefix: str) -> list[Row]:
        """Tokens whose stored hash starts with ``prefix`` (the console's token id)."""
        return self._all(
            "SELECT * FROM tokens WHERE substr(token_hash, 1, ?) = ?", (len(prefix), prefix)
        )

    def delete_list(self, name: str) -> bool:
        """Remove a distribution list; False when there was none."""
        try:
            cur = self.conn.execute("DELETE FROM lists WHERE name = ?", (name,))
        except sqlite3.Error as e:
            raise StoreError(f"database error: {e}") from e
        return cur.rowcount == 1

    # -- metrics and numbering reconciliation -----------------------------------------------

    def numbering_report_of(self, day: str) -> Row | None:
        """The stored numbering report of ``day`` (ISO date, Bangkok), if any."""
        return self._one("SELECT * FROM numbering_reports WHERE day = ?", (day,))

    def feed_counts_by_kind(self) -> dict[str, int]:
        """Envelopes accepted into the offices' feeds, by kind."""
        rows = self._all("SELECT kind, count(*) AS n FROM feed GROUP BY kind ORDER BY kind")
        return {r["kind"]: int(r["n"]) for r in rows}

    def quarantine_counts_by_reason(self) -> dict[str, int]:
        """Envelopes ever quarantined (whatever became of them since), by reason."""
        rows = self._all(
            "SELECT reason, count(*) AS n FROM quarantine GROUP BY reason ORDER BY reason"
        )
        return {r["reason"]: int(r["n"]) for r in rows}

    def open_alert_counts_by_kind(self) -> dict[str, int]:
        """Open alerts, by kind."""
        rows = self._all(
            "SELECT kind, count(*) AS n FROM alerts WHERE status = 'open' GROUP BY kind"
            " ORDER BY kind"
        )
        return {r["kind"]: int(r["n"]) for r in rows}

    def duplicate_envelopes_total(self) -> int:
        """Envelopes pushed again that the hub already held, over every sync session."""
        return int(self._scalar("SELECT coalesce(sum(duplicate), 0) FROM sync_sessions"))


_TABLES = frozenset(
    {
        "offices",
        "keys",
        "hub_keys",
        "tokens",
        "nonces",
        "feed",
        "hub_envelopes",
        "mailbox",
        "letter_routes",
        "blob_refs",
        "quarantine",
        "alerts",
        "ledger",
        "leases",
        "numbering_rejections",
        "directory_versions",
        "lists",
        "shared_registers",
        "sync_sessions",
        "operators",
        "operator_actions",
        "numbering_reports",
        "letter_facts",
        "receipt_facts",
    }
)


def open_store(path: str | Path, create: bool = True) -> HubStore:
    """Open the hub database at ``path``."""
    return HubStore.open(path, create)
