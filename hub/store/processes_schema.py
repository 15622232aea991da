"""The tables the hub's processes share (:mod:`hub.store.processes`, ADR 0025);
:data:`PROCESSES_SCHEMA` runs with :data:`hub.store.schema.SCHEMA`."""

PROCESSES_SCHEMA = """
CREATE TABLE IF NOT EXISTS hub_processes (
    id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL,
    started_at REAL NOT NULL, seen_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS job_runs (
    job TEXT PRIMARY KEY, slot INTEGER NOT NULL, process TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS rate_buckets (
    office TEXT NOT NULL, family TEXT NOT NULL, tokens REAL NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (office, family));
CREATE TABLE IF NOT EXISTS address_counts (
    kind TEXT NOT NULL, address TEXT NOT NULL, minute INTEGER NOT NULL,
    count INTEGER NOT NULL, PRIMARY KEY (kind, address));
CREATE INDEX IF NOT EXISTS address_counts_minute ON address_counts (minute);
"""
