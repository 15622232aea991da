"""The tables of the accounts the offices publish for the portal (ADR 0024).

:data:`PORTAL_ACCOUNTS_SCHEMA` runs with :data:`hub.store.schema.SCHEMA` (``IF NOT
EXISTS``, so a hub database from before them gains them empty):

* ``portal_accounts``: one row per ``(office, username)`` of the newest ``accounts``
  envelope the office published: display name, roles (JSON), the office's scrypt hash,
  active or not, the TOTP secret or NULL, the version that wrote the row, and when its
  content last changed (``updated_at``);
* ``portal_account_versions``: per office, the version the hub holds, the env_id of its
  envelope, how many accounts it listed and when it arrived.

The rows hold password hashes and TOTP secrets: they live in the hub's database only
(mode 0600), never in a log, a page or ``/metrics``.

Holds no SQL beyond the tables: :mod:`hub.store.portal_accounts` does.
"""

from __future__ import annotations

PORTAL_ACCOUNTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS portal_accounts (
    office TEXT NOT NULL,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    roles TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL,
    totp_secret TEXT,
    version INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (office, username)
);
CREATE TABLE IF NOT EXISTS portal_account_versions (
    office TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    env_id TEXT NOT NULL,
    accounts INTEGER NOT NULL,
    received_at REAL NOT NULL
);
"""

PORTAL_ACCOUNTS_TABLES = frozenset({"portal_accounts", "portal_account_versions"})
"""The tables :meth:`hub.store.HubStore.count` counts, of this module."""
