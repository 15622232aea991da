"""The tables of the hub's database, and the upgrade that brings an older file up to date.

:data:`SCHEMA` creates every table and index and may run again on an existing file (``IF NOT
EXISTS``), so a table that came later (``delivery_times``) is created empty in an older file
and filled once from its feed (:mod:`hub.monitoring.usage_facts`); :func:`upgrade` then adds
the columns that came after the first release, so a database written by an older hub opens
with today's tables. :data:`TABLES` names the tables whose rows
:meth:`hub.store.HubStore.count` counts. The tables of the portal's letter index are in
:mod:`hub.store.portal_letters_schema`, whose upgrade marks an older feed for indexing.

This module opens no connection: :meth:`hub.store.connection.Connection.open` runs
:data:`SCHEMA` and :func:`upgrade` when it opens a file with ``create``.
"""

from __future__ import annotations

import sqlite3

from hub.store.portal_accounts_schema import PORTAL_ACCOUNTS_SCHEMA, PORTAL_ACCOUNTS_TABLES
from hub.store.portal_letters_schema import (
    PORTAL_LETTERS_SCHEMA,
    PORTAL_LETTERS_TABLES,
    upgrade_portal_letters,
)
from hub.store.postgres import PgConnection, table_columns
from hub.store.processes_schema import PROCESSES_SCHEMA
from hub.store.schema_changes import per_letter_receipt_facts

SCHEMA = (
    """
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
CREATE TABLE IF NOT EXISTS blob_readers (
    sha256 TEXT NOT NULL,
    office TEXT NOT NULL,
    letter TEXT,
    at REAL NOT NULL,
    PRIMARY KEY (sha256, office)
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
CREATE TABLE IF NOT EXISTS quarantine_usage (
    office TEXT PRIMARY KEY,
    held_bytes INTEGER NOT NULL DEFAULT 0,
    refused INTEGER NOT NULL DEFAULT 0,
    refused_bytes INTEGER NOT NULL DEFAULT 0,
    refused_at REAL
);
CREATE TABLE IF NOT EXISTS collected (
    what TEXT PRIMARY KEY,
    files INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    last_at REAL
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
    env_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    at REAL NOT NULL,
    day TEXT NOT NULL,
    PRIMARY KEY (letter, office, status)
);
CREATE INDEX IF NOT EXISTS receipt_facts_day ON receipt_facts (status, day, office);
CREATE INDEX IF NOT EXISTS receipt_facts_office ON receipt_facts (office, status, at);
-- delivery timings: one row per routed letter and recipient, every time from the sender's send
CREATE TABLE IF NOT EXISTS delivery_times (
    letter TEXT NOT NULL,
    recipient TEXT NOT NULL,
    origin TEXT NOT NULL,
    speed TEXT NOT NULL,
    sent_at REAL NOT NULL,
    sent_replaced INTEGER NOT NULL DEFAULT 0,
    hub_at REAL NOT NULL,
    delivered_at REAL,
    delivered_hub_at REAL,
    registered_at REAL,
    registered_hub_at REAL,
    receipt_number TEXT,
    returned_at REAL,
    returned_hub_at REAL,
    PRIMARY KEY (letter, recipient)
);
CREATE INDEX IF NOT EXISTS delivery_times_sent ON delivery_times (sent_at);
-- signed audit chain heads offices sent, append-only (hub.federation.audit_heads)
CREATE TABLE IF NOT EXISTS audit_heads (
    id INTEGER PRIMARY KEY, office TEXT NOT NULL, at REAL NOT NULL, last_id INTEGER NOT NULL,
    head TEXT NOT NULL, count INTEGER NOT NULL, status TEXT NOT NULL, problem TEXT,
    envelope BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS audit_heads_office ON audit_heads (office, status, id);
CREATE TABLE IF NOT EXISTS numbering_reports (
    day TEXT PRIMARY KEY,
    at REAL NOT NULL,
    report TEXT NOT NULL,
    worse TEXT NOT NULL
);
"""
    + PORTAL_LETTERS_SCHEMA
    + PORTAL_ACCOUNTS_SCHEMA
    + PROCESSES_SCHEMA
)

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
    ("keys", "retired_seq", "INTEGER"),
    ("offices", "clock_refusals", "INTEGER NOT NULL DEFAULT 0"),
    ("offices", "clock_refused_at", "REAL"),
    ("offices", "clock_refused_skew", "REAL"),
    ("ledger", "replaces", "TEXT"),
    ("hub_envelopes", "letter", "TEXT"),
    ("hub_envelopes", "provisional_key", "TEXT"),
    ("operators", "session_gen", "INTEGER NOT NULL DEFAULT 0"),
    ("alerts", "repeats", "INTEGER NOT NULL DEFAULT 0"),
    ("alerts", "last_at", "REAL"),
    ("quarantine", "size", "INTEGER"),
    ("offices", "audit_checked_at", "REAL"),
    ("operator_actions", "prev_hash", "TEXT"),
    ("operator_actions", "hash", "TEXT"),
)
"""Columns added after the first release: ``(table, column, type)``, added when missing."""

TABLES = frozenset(
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
        "blob_readers",
        "quarantine",
        "quarantine_usage",
        "collected",
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
        "audit_heads",
        "numbering_reports",
        "letter_facts",
        "receipt_facts",
        "delivery_times",
        *PORTAL_LETTERS_TABLES,
        *PORTAL_ACCOUNTS_TABLES,
    }
)
"""The tables :meth:`hub.store.HubStore.count` counts (``meta`` is not one of them)."""


def upgrade(conn: sqlite3.Connection | PgConnection) -> None:
    """Add the columns of :data:`MIGRATIONS` that ``conn``'s file lacks, and the indexes on
    them (alert keys; the finalisations by the office whose number they made final)."""
    for table, column, kind in MIGRATIONS:
        have = table_columns(conn, table)
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    conn.execute("CREATE INDEX IF NOT EXISTS alerts_key ON alerts (key, status)")
    conn.execute("CREATE INDEX IF NOT EXISTS quarantine_origin ON quarantine (origin, status)")
    # Envelopes quarantined before quotas: charged as hub.store.quarantine.stored_size does.
    conn.execute(
        "UPDATE quarantine SET size = COALESCE(length(envelope), 0)"
        " + COALESCE(length(CAST(detail AS BLOB)), 0) + 200 WHERE size IS NULL"
    )
    conn.execute(
        "INSERT OR IGNORE INTO quarantine_usage (office, held_bytes) SELECT origin, sum(size)"
        " FROM quarantine WHERE status = 'open' AND origin IS NOT NULL GROUP BY origin"
    )
    conn.execute(
        "CREATE INDEX IF NOT EXISTS hub_envelopes_finalised ON hub_envelopes (office)"
        " WHERE kind = 'lease_finalise'"
    )
    # Keys retired before retired_seq existed: bound them by the feed as it is now, which
    # covers everything they signed (the hub accepts only active keys).
    conn.execute(
        "UPDATE keys SET retired_seq = (SELECT COALESCE(MAX(seq), 0) FROM feed"
        " WHERE feed.origin = keys.office) WHERE status = 'retired' AND retired_seq IS NULL"
    )
    per_letter_receipt_facts(conn, SCHEMA)
    upgrade_portal_letters(conn)
