"""The tables of the portal's letter index, and how a hub database from before them is
marked for indexing from its feed.

:data:`PORTAL_LETTERS_SCHEMA` runs with :data:`hub.store.schema.SCHEMA` (``IF NOT EXISTS``):

* ``portal_letters``: one row per letter the hub accepted, recorded from the feed a moment
  after (:mod:`hub.federation.letter_index`, the feed row reached in ``meta``
  ``portal_followed``): its number and that number's search
  key, the provisional number it carried and its key once the hub made it final, the
  dates, kind, speed and secrecy, the subject and body of a letter that is not sealed (a
  sealed one has the neutral subject only), the names of its parties as indexed, and
  whether its sender put it in the ministry's library. Its ``id`` orders letters newest
  last; letters indexed from an older hub's feed take ids below 1, in the feed's order;
* ``portal_recipients``: the offices each letter was addressed to, for who may see it and
  for filtering;
* ``portal_pending``: the letters not in the index yet (or changed since);
* ``portal_fts``: the FTS5 trigram index, contentless (the text is in ``portal_letters``),
  rowid ``-portal_letters.id`` so that ascending is newest first; its columns ``subject``,
  ``numbers``, ``parties``, ``body`` and ``scope`` (codes of the offices party to the
  letter and of the library, which narrow a walk to what one office may see).

:func:`upgrade_portal_letters`, run whenever the hub's schema is brought up to date,
records the first time a hub opens its file with these tables up to which feed row the
letters were accepted before them (``meta`` ``portal_backfill_upto``;
:func:`hub.federation.letter_index.backfill_step` indexes those), and gives the SQLite
index its :data:`PORTAL_INDEX_SETTINGS`.

Holds no SQL beyond the tables: :mod:`hub.store.portal_letters` and
:mod:`hub.store.portal_search` do.
"""

from __future__ import annotations

import sqlite3

from hub.store.postgres import PgConnection

BACKFILL_UPTO = "portal_backfill_upto"
"""Meta key: the last feed row accepted before the portal's letter index existed."""
BACKFILL_DONE = "portal_backfill_done"
"""Meta key: the last feed row whose letter the backfill has recorded."""
FOLLOWED = "portal_followed"
"""Meta key: the feed row up to which every letter the hub accepted is recorded for the
portal (:func:`hub.federation.letter_index.follow_step`)."""
FEED_PLACES = (BACKFILL_UPTO, FOLLOWED)
"""The meta keys :func:`upgrade_portal_letters` sets, once, to the feed's last row (part of
the schema's version, so that a database of before gets the one it lacks)."""

PORTAL_LETTERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS portal_letters (
    id INTEGER PRIMARY KEY,
    env_id TEXT NOT NULL UNIQUE,
    origin TEXT NOT NULL,
    register TEXT,
    number TEXT,
    number_key TEXT,
    provisional_number TEXT,
    provisional_key TEXT,
    letter_date TEXT,
    letter_day TEXT,
    letter_type TEXT,
    sub_type TEXT,
    speed TEXT NOT NULL DEFAULT '',
    secrecy TEXT NOT NULL DEFAULT '',
    sealed INTEGER NOT NULL DEFAULT 0,
    subject TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    sender TEXT NOT NULL DEFAULT '',
    parties TEXT NOT NULL DEFAULT '',
    library INTEGER NOT NULL DEFAULT 0,
    accepted_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS portal_letters_number_key ON portal_letters (number_key);
CREATE INDEX IF NOT EXISTS portal_letters_provisional_key ON portal_letters (provisional_key)
    WHERE provisional_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS portal_letters_day ON portal_letters (letter_day);
CREATE INDEX IF NOT EXISTS portal_letters_origin ON portal_letters (origin, id);
CREATE TABLE IF NOT EXISTS portal_recipients (
    office TEXT NOT NULL,
    letter INTEGER NOT NULL,
    PRIMARY KEY (office, letter)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS portal_recipients_letter ON portal_recipients (letter);
CREATE TABLE IF NOT EXISTS portal_pending (letter INTEGER PRIMARY KEY);
CREATE VIRTUAL TABLE IF NOT EXISTS portal_fts USING fts5(
    subject, numbers, parties, body, scope,
    tokenize = 'trigram', content = '', columnsize = 0);
"""

PORTAL_LETTERS_TABLES = frozenset({"portal_letters", "portal_recipients", "portal_pending"})
"""The tables :meth:`hub.store.HubStore.count` counts."""


PORTAL_INDEX_SETTINGS = (("hashsize", 4 * 1024 * 1024),)
"""FTS5's settings of ``portal_fts`` (kept in its own ``portal_fts_config``). ``hashsize``:
the terms an indexing transaction gathers in memory before FTS5 writes them out as a new
segment of the index. At its 1 MB default a batch of 500 letters (~1,100 characters of
trigrams each) was written as several segments that FTS5 then merged again: indexing the
20,000 letters of the ingest benchmark in batches of 500, in one process, four rounds in
turn, took 432–502 µs of CPU a letter at 1 MB, 334–426 µs at 4 MB, 375–451 µs at 16 MB.
What the index holds, and how it is searched, is the same."""


def upgrade_portal_letters(conn: sqlite3.Connection | PgConnection) -> None:
    """Remember, once, the last feed row stored before the portal's letter index existed
    (0 for a new hub): the letters up to it are indexed from the feed in the background.
    Remember, once, the last feed row stored before the portal followed the feed
    (:data:`FOLLOWED`): a hub of before recorded its letters as it accepted them.
    Give the SQLite index :data:`PORTAL_INDEX_SETTINGS` (PostgreSQL's index is a table
    with a trigram index, which has none of them)."""
    for key in FEED_PLACES:
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value)"
            " SELECT ?, CAST(COALESCE(MAX(rowid), 0) AS TEXT) FROM feed",
            (key,),
        )
    if isinstance(conn, PgConnection):
        return
    for name, value in PORTAL_INDEX_SETTINGS:
        conn.execute("INSERT INTO portal_fts (portal_fts, rank) VALUES (?, ?)", (name, value))
