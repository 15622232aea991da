"""Changes to an older hub database that adding a column cannot make.

:func:`hub.store.schema.upgrade` runs them after adding the missing columns, in the
transaction that brings the database up to date; each does nothing to a database that
has it already.
"""

from __future__ import annotations

import sqlite3

from hub.store.postgres import PgConnection, statements


def per_letter_receipt_facts(conn: sqlite3.Connection | PgConnection, schema: str) -> None:
    """Drop the uniqueness of ``receipt_facts.env_id`` from an older database: a
    ``deliveries`` envelope answers many letters, one fact each (ADR 0028). ``schema`` is
    :data:`hub.store.schema.SCHEMA`, whose table and indexes replace the old ones."""
    if isinstance(conn, PgConnection):
        conn.execute("ALTER TABLE receipt_facts DROP CONSTRAINT IF EXISTS receipt_facts_env_id_key")
        return
    row = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'receipt_facts'"
    ).fetchone()
    if row is None or "env_id TEXT NOT NULL UNIQUE" not in row[0]:
        return
    conn.execute("ALTER TABLE receipt_facts RENAME TO receipt_facts_unique")
    table = schema.index("CREATE TABLE IF NOT EXISTS receipt_facts (")
    for statement in statements(schema[table : schema.index("-- delivery timings")]):
        conn.execute(statement)  # the table, then its indexes once the old ones are gone
        if statement.lstrip().startswith("CREATE TABLE"):
            conn.execute(
                "INSERT INTO receipt_facts (letter, office, status, env_id, sender, at, day)"
                " SELECT letter, office, status, env_id, sender, at, day FROM receipt_facts_unique"
            )
            conn.execute("DROP TABLE receipt_facts_unique")
