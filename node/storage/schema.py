"""The node database's tables, in one place, and how an older file is brought up to date.

:data:`SCHEMA` creates every table a new node needs. Columns added after a table first
shipped are listed in :data:`LATER_COLUMNS` and added to an existing file when it is
opened (SQLite's ``ALTER TABLE ... ADD COLUMN``), so an office's database from an earlier
version keeps working. :data:`INDEXES` runs last because some indexes use those columns.
:func:`bring_up_to_date` does all three once per version of this module: the file's
``user_version`` holds :data:`SCHEMA_STAMP` afterwards, and a connection that finds it there
skips them (they took ~5 ms of every request's connection).

Sections are marked by concept (federation, correspondence, search, retention); each
concept's module owns the meaning of its tables.
"""

from __future__ import annotations

import hashlib
import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS directory (
    id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER, env_id TEXT,
    envelope BLOB, hub_keys TEXT, updated_at REAL);
CREATE TABLE IF NOT EXISTS feed (
    seq INTEGER PRIMARY KEY, env_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
    ref TEXT, status TEXT, envelope BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', reason TEXT, created_at REAL, acked_at REAL);
CREATE INDEX IF NOT EXISTS feed_state ON feed (state, seq);
CREATE INDEX IF NOT EXISTS feed_ref ON feed (ref, kind);
CREATE TABLE IF NOT EXISTS mailbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, env_id TEXT NOT NULL UNIQUE, origin TEXT,
    kind TEXT, envelope BLOB NOT NULL, received_at REAL, outcome TEXT);
CREATE TABLE IF NOT EXISTS letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, direction TEXT NOT NULL, env_id TEXT UNIQUE,
    origin TEXT, number TEXT, number_key TEXT, register TEXT, register_number INTEGER,
    provisional_id TEXT, number_notice TEXT,
    subject TEXT, letter_type TEXT, speed TEXT, secrecy TEXT, letter_date TEXT,
    body TEXT, salutation TEXT, sender TEXT, refs TEXT, enclosures TEXT, lists TEXT,
    recipients TEXT, attachments TEXT, deadline TEXT, state TEXT,
    paper INTEGER NOT NULL DEFAULT 0, created_at REAL, received_at REAL,
    registered_at REAL, receipt_number TEXT, receipt_register TEXT, reason TEXT);
CREATE INDEX IF NOT EXISTS letters_box ON letters (direction, id);
CREATE TABLE IF NOT EXISTS recipients (
    id INTEGER PRIMARY KEY AUTOINCREMENT, letter INTEGER NOT NULL, office TEXT NOT NULL,
    state TEXT NOT NULL, receipt_number TEXT, at TEXT, reason TEXT, updated_at REAL,
    UNIQUE (letter, office));
CREATE TABLE IF NOT EXISTS registers (
    id TEXT PRIMARY KEY, owner TEXT, series TEXT, year INTEGER, basis TEXT,
    shared INTEGER NOT NULL DEFAULT 0, display_code TEXT);
CREATE TABLE IF NOT EXISTS register_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, register TEXT NOT NULL, number INTEGER,
    display TEXT, action TEXT NOT NULL, letter INTEGER, letter_env TEXT, reason TEXT,
    provisional_id TEXT UNIQUE, final_number INTEGER, env_id TEXT, at REAL,
    UNIQUE (register, number));
-- A received letter finds the register entries that name it (node.records.inbox).
CREATE INDEX IF NOT EXISTS register_entries_letter_env ON register_entries (letter_env);
CREATE TABLE IF NOT EXISTS leases (
    id INTEGER PRIMARY KEY AUTOINCREMENT, env_id TEXT UNIQUE, register TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, next INTEGER NOT NULL,
    granted_at REAL, closed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS attachments (
    sha256 TEXT PRIMARY KEY, size INTEGER, media_type TEXT, name TEXT,
    present INTEGER NOT NULL DEFAULT 0, uploaded INTEGER NOT NULL DEFAULT 0,
    direction TEXT);
CREATE TABLE IF NOT EXISTS sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1), cursor TEXT, failures INTEGER DEFAULT 0,
    next_attempt REAL DEFAULT 0, last_ok REAL, last_attempt REAL, last_error TEXT,
    directory_wanted INTEGER DEFAULT 0, hub_ahead TEXT, last_result TEXT);
CREATE TABLE IF NOT EXISTS sync_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL, event TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL, actor TEXT, action TEXT,
    subject TEXT, detail TEXT, prev_hash TEXT, hash TEXT);
INSERT OR IGNORE INTO sync_state (id) VALUES (1);
-- Envelopes pulled from the hub that did not verify, kept until they do (node.sync.held):
-- the bytes, what they claim to be, why they failed, and what they wait for.
CREATE TABLE IF NOT EXISTS held_envelopes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, env_id TEXT NOT NULL UNIQUE, origin TEXT,
    kind TEXT, envelope BLOB NOT NULL, reason TEXT NOT NULL, waits_for TEXT,
    tries INTEGER NOT NULL DEFAULT 1, first_try REAL NOT NULL, last_try REAL NOT NULL);
-- Received letters whose delivered receipt waits for their attachments (node.records.inbox).
CREATE TABLE IF NOT EXISTS awaiting_attachments (
    letter_env TEXT PRIMARY KEY, since REAL NOT NULL);
-- The letters this office's own ``deliveries`` envelopes name (node.storage.feed keeps it
-- with the feed): a letter's delivered answer is looked up here, or among the feed's
-- receipts for what an earlier version signed one letter at a time.
CREATE TABLE IF NOT EXISTS delivered_letters (
    letter_env TEXT PRIMARY KEY, env_id TEXT NOT NULL) WITHOUT ROWID;

-- correspondence: units (letter codes an administrator edits) ------------------------
CREATE TABLE IF NOT EXISTS units (
    code TEXT PRIMARY KEY, name TEXT NOT NULL, issuer TEXT, parent TEXT,
    active INTEGER NOT NULL DEFAULT 1, created_at REAL, updated_at REAL);

-- accounts: users of the clerk's pages (node.accounts) ----------------------------------
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, display_name TEXT NOT NULL, password_hash TEXT NOT NULL,
    roles TEXT NOT NULL, divisions TEXT NOT NULL DEFAULT '[]',
    active INTEGER NOT NULL DEFAULT 1, failures INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0, last_login REAL, created_at REAL, updated_at REAL);

-- search ------------------------------------------------------------------------------
-- What node.search indexes: one FTS5 trigram row per letter, built by the view
-- letter_search_docs from the letter's row and the text extracted from the attachments it
-- lists. Its rowid is -letters.id: FTS5 walks fastest in ascending rowid order, which is
-- then newest first. Triggers queue every change whoever writes letters (node.search.index).
CREATE INDEX IF NOT EXISTS letters_number_key ON letters (number_key);
CREATE INDEX IF NOT EXISTS letters_receipt_number ON letters (receipt_number);
CREATE TABLE IF NOT EXISTS attachment_text (
    sha256 TEXT PRIMARY KEY, text TEXT NOT NULL DEFAULT '', pages INTEGER,
    note TEXT, extracted_at REAL);
CREATE TABLE IF NOT EXISTS letter_attachments (
    sha256 TEXT NOT NULL, letter INTEGER NOT NULL, PRIMARY KEY (sha256, letter)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS letter_fts USING fts5(
    subject, numbers, parties, body, files, tokenize = 'trigram');
CREATE VIEW IF NOT EXISTS letter_attachment_refs AS
    SELECT DISTINCT json_extract(a.value, '$.sha256') AS sha256, letters.id AS letter
    FROM letters, json_each(CASE WHEN json_valid(letters.attachments)
                                 THEN letters.attachments END) AS a
    WHERE a.type = 'object' AND json_extract(a.value, '$.sha256') IS NOT NULL;
CREATE VIEW IF NOT EXISTS letter_search_docs AS SELECT
    letters.id AS id,
    COALESCE(letters.subject, '') || ' ' AS subject,
    trim(COALESCE(NULLIF(letters.number_key, ''),
                  replace(replace(letters.number, ' ', ''), '/', ''), '')
         || ' ' || COALESCE(replace(replace(letters.receipt_number, ' ', ''), '/', ''), ''))
         || ' ' AS numbers,
    trim(COALESCE(letters.origin, '') || ' ' || COALESCE(letters.sender, '') || ' '
         || COALESCE(letters.salutation, '') || ' '
         || COALESCE(CASE WHEN json_valid(letters.recipients)
                          THEN (SELECT group_concat(value, ' ') FROM json_each(letters.recipients))
                          ELSE letters.recipients END, '') || ' '
         || COALESCE(CASE WHEN json_valid(letters.parties)
                          THEN (SELECT group_concat(value, ' ') FROM json_each(letters.parties))
                          ELSE letters.parties END, '')) || ' ' AS parties,
    COALESCE(letters.body, '') || ' ' AS body,
    COALESCE((SELECT group_concat(COALESCE(json_extract(a.value, '$.name'), '') || ' '
                                  || COALESCE(t.text, ''), ' ')
              FROM json_each(CASE WHEN json_valid(letters.attachments)
                                  THEN letters.attachments END) AS a
              LEFT JOIN attachment_text AS t ON t.sha256 = json_extract(a.value, '$.sha256')
              WHERE a.type = 'object'), '') || ' ' AS files
    FROM letters;
-- The index follows the letters a moment later (ADR 0019): a letter written or changed, or
-- whose attachments' text changed, is queued in search_pending, and node.search.index
-- indexes the queue in batches outside the transactions that store letters (a search
-- first indexes a short queue itself). The triggers of the first schema, which indexed
-- inside those transactions, are dropped from older files. The queue's rows are added
-- only when absent, not with OR IGNORE: an outer upsert overrides a trigger's conflict
-- clause.
CREATE TABLE IF NOT EXISTS search_pending (letter INTEGER PRIMARY KEY);
DROP TRIGGER IF EXISTS letters_search_insert;
DROP TRIGGER IF EXISTS letters_search_update;
DROP TRIGGER IF EXISTS letters_search_delete;
DROP TRIGGER IF EXISTS attachment_text_insert;
DROP TRIGGER IF EXISTS attachment_text_update;
DROP TRIGGER IF EXISTS attachment_text_delete;
CREATE TRIGGER IF NOT EXISTS letters_search_queue_insert AFTER INSERT ON letters BEGIN
    INSERT OR IGNORE INTO letter_attachments (sha256, letter)
        SELECT sha256, letter FROM letter_attachment_refs WHERE letter = new.id;
    INSERT INTO search_pending (letter) SELECT new.id
        WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE letter = new.id);
END;
CREATE TRIGGER IF NOT EXISTS letters_search_attachments AFTER UPDATE OF attachments ON letters
BEGIN
    DELETE FROM letter_attachments WHERE letter = old.id;
    INSERT OR IGNORE INTO letter_attachments (sha256, letter)
        SELECT sha256, letter FROM letter_attachment_refs WHERE letter = new.id;
END;
CREATE TRIGGER IF NOT EXISTS letters_search_queue_update AFTER UPDATE OF
    subject, number, number_key, receipt_number, origin, sender, salutation, recipients,
    parties, body, attachments ON letters
BEGIN
    INSERT INTO search_pending (letter) SELECT new.id
        WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE letter = new.id);
END;
CREATE TRIGGER IF NOT EXISTS letters_search_queue_delete AFTER DELETE ON letters BEGIN
    DELETE FROM letter_attachments WHERE letter = old.id;
    DELETE FROM letter_fts WHERE rowid = -old.id;
    DELETE FROM search_pending WHERE letter = old.id;
END;
CREATE TRIGGER IF NOT EXISTS attachment_text_queue_insert AFTER INSERT ON attachment_text BEGIN
    INSERT INTO search_pending (letter)
        SELECT DISTINCT letter FROM letter_attachments WHERE sha256 = new.sha256
        AND letter NOT IN (SELECT letter FROM search_pending);
END;
CREATE TRIGGER IF NOT EXISTS attachment_text_queue_update AFTER UPDATE ON attachment_text BEGIN
    INSERT INTO search_pending (letter)
        SELECT DISTINCT letter FROM letter_attachments WHERE sha256 IN (old.sha256, new.sha256)
        AND letter NOT IN (SELECT letter FROM search_pending);
END;
CREATE TRIGGER IF NOT EXISTS attachment_text_queue_delete AFTER DELETE ON attachment_text BEGIN
    INSERT INTO search_pending (letter)
        SELECT DISTINCT letter FROM letter_attachments WHERE sha256 = old.sha256
        AND letter NOT IN (SELECT letter FROM search_pending);
END;
-- A letter's earlier numbers, found by search as well as its number: the provisional
-- number a shared register's finalisation replaced (node.records.leases writes them,
-- node.search reads them).
CREATE TABLE IF NOT EXISTS letter_number_aliases (
    letter INTEGER NOT NULL, number TEXT NOT NULL, number_key TEXT NOT NULL,
    PRIMARY KEY (letter, number_key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS letter_number_aliases_key ON letter_number_aliases (number_key);
CREATE TRIGGER IF NOT EXISTS letters_aliases_delete AFTER DELETE ON letters BEGIN
    DELETE FROM letter_number_aliases WHERE letter = old.id;
END;
-- Bytes that are gone (a destroyed letter's scan) take their extracted text with them.
CREATE TRIGGER IF NOT EXISTS attachments_search_delete AFTER DELETE ON attachments BEGIN
    DELETE FROM attachment_text WHERE sha256 = old.sha256;
END;
-- A database that holds no letter yet is trivially indexed; an older one is indexed in
-- full by node.search.index.ensure_index on its first search.
INSERT OR IGNORE INTO settings (key, value)
    SELECT 'search_index', '1' WHERE NOT EXISTS (SELECT 1 FROM letters);

-- retention ---------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS loans (
    id INTEGER PRIMARY KEY AUTOINCREMENT, letter INTEGER NOT NULL, borrower TEXT NOT NULL,
    note TEXT, borrowed_at REAL NOT NULL, due_day TEXT NOT NULL, lent_by TEXT,
    returned_at REAL, received_by TEXT);
CREATE INDEX IF NOT EXISTS loans_letter ON loans (letter, returned_at);
CREATE TABLE IF NOT EXISTS destruction_lists (
    id INTEGER PRIMARY KEY AUTOINCREMENT, year INTEGER NOT NULL, state TEXT NOT NULL,
    created_at REAL, created_by TEXT, chair TEXT, members TEXT, archives_ref TEXT,
    decided_day TEXT, extend_years INTEGER, approved_at REAL, approved_by TEXT,
    destroyed_at REAL, destroyed_by TEXT);
CREATE TABLE IF NOT EXISTS destruction_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT, list INTEGER NOT NULL, letter INTEGER NOT NULL,
    position INTEGER NOT NULL, decision TEXT NOT NULL DEFAULT 'destroy',
    keep_until INTEGER, new_keep_until INTEGER, UNIQUE (list, letter));
CREATE INDEX IF NOT EXISTS destruction_items_letter ON destruction_items (letter);

-- idempotency (node.storage.idempotency) ----------------------------------------------
-- The first answer to each idempotency key (a form token of the clerk's pages, or the
-- local API's Idempotency-Key header): who sent it, to which route, and what was answered,
-- written in the transaction of the action it guards. Forgotten after a day.
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, who TEXT NOT NULL, route TEXT NOT NULL,
    fingerprint TEXT NOT NULL DEFAULT '', status INTEGER NOT NULL, location TEXT,
    body TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS idempotency_age ON idempotency (created_at);
-- A paper letter registered twice is found by its sender's number (node.records.duplicates).
CREATE INDEX IF NOT EXISTS letters_number_key ON letters (number_key);
"""

LATER_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "letters": (
        # correspondence: kind, owning unit, paper dispatch and the receiving workflow
        ("sub_type", "TEXT"),
        ("library", "INTEGER NOT NULL DEFAULT 0"),  # for the ministry's library (ADR 0024)
        ("letter_day", "TEXT"),  # ISO date of letter_date (Gregorian), for ranges and sorting
        ("unit", "TEXT"),
        ("parties", "TEXT"),
        ("dispatch_method", "TEXT"),
        ("dispatch_note", "TEXT"),
        ("dispatched_at", "REAL"),
        ("stage", "TEXT"),
        ("minute", "TEXT"),
        ("instruction", "TEXT"),
        ("minuted_by", "TEXT"),
        ("minuted_at", "REAL"),
        ("assigned_to", "TEXT"),
        ("assigned_at", "REAL"),
        ("done_at", "REAL"),
        ("updated_at", "REAL"),
        # retention
        ("retention", "TEXT"),
        ("keep_until", "INTEGER"),
        ("kept_at", "REAL"),
        ("keep_kind", "TEXT"),
        ("destroyed_at", "REAL"),
        ("destruction_list", "INTEGER"),  # the destruction list that destroyed it
        ("destruction_ref", "TEXT"),  # the National Archives' agreement of that list
    ),
    "sync_state": (
        # how far this machine's clock is from the hub's (node.sync.clock)
        ("clock_skew", "REAL"),  # seconds, this node's time minus the hub's; NULL: unknown
        ("clock_refused", "INTEGER NOT NULL DEFAULT 0"),  # 1 while the hub refuses our time
        ("clock_window", "REAL"),  # the hub's window, as its last refusal said
    ),
    "recipients": (
        ("channel", "TEXT NOT NULL DEFAULT 'hub'"),
        ("method", "TEXT"),
        ("tracking_no", "TEXT"),
    ),
    "audit": (
        # the client address of the web or API request that wrote the entry
        ("address", "TEXT"),
    ),
    "users": (
        # moved on by sign-out, a new password or deactivation: older sessions end
        ("session_gen", "INTEGER NOT NULL DEFAULT 0"),
        # the second factor for the portal (node.staff.second_factor, ADR 0024): the
        # secret confirmed with a code, one shown but not confirmed yet, the last time
        # step accepted, and when the person enrolled
        ("totp_secret", "TEXT"),
        ("totp_pending", "TEXT"),
        ("totp_step", "INTEGER"),
        ("totp_enrolled_at", "REAL"),
    ),
}
"""Columns added after their table first shipped: ``table -> ((column, type), ...)``."""

INDEXES = """
CREATE INDEX IF NOT EXISTS letters_stage ON letters (direction, stage);
CREATE INDEX IF NOT EXISTS letters_day ON letters (letter_day);
"""


def add_missing_columns(conn: sqlite3.Connection) -> None:
    """Add every column of :data:`LATER_COLUMNS` the file lacks, then the indexes (inside
    the caller's transaction: no ``executescript``, which would commit it)."""
    for table, columns in LATER_COLUMNS.items():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, decl in columns:
            if name not in have:
                # Names and types come from the table above, never from input.
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
    for statement in INDEXES.split(";"):
        if statement.strip():
            conn.execute(statement)


def _stamp() -> int:
    digest = hashlib.sha256(repr((SCHEMA, LATER_COLUMNS, INDEXES)).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


SCHEMA_STAMP = _stamp()
"""This module's tables, columns and indexes in one positive 31-bit number: SQLite's
``user_version`` of a file brought up to date by it. Any change to them changes it."""


def bring_up_to_date(conn: sqlite3.Connection) -> None:
    """Create what :data:`SCHEMA` lacks, add :data:`LATER_COLUMNS` and :data:`INDEXES`,
    unless the file's ``user_version`` says this version did so already.

    A folder restored from an older copy, or written by another version, has another stamp
    and is brought up to date again; every statement is idempotent, so two connections
    doing it at once do no harm.
    """
    if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_STAMP:
        return
    # One transaction: a new file's ~50 statements commit (and reach the disk) once, not
    # one by one (55 → a few ms), and a failure half-way leaves the file as it was.
    try:
        conn.executescript("BEGIN IMMEDIATE;\n" + SCHEMA)
        add_missing_columns(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_STAMP}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
