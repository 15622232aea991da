"""The letter search index: kept a moment behind the letters, rebuilt in full on demand.

Triggers in :mod:`node.storage.schema` queue every letter that is written or changed (and
every letter whose attachments' extracted text changed) in ``search_pending``, inside the
transaction that writes it; that costs one small row, where indexing the letter's ~1,000
trigrams costs 0.3–1.1 ms of the one writer, by machine (ADR 0019, docs/performance.md).
The queue is indexed here:

- :func:`index_pending` indexes the oldest queued letters, one batch per transaction;
- :class:`node.search.indexer.SearchIndexer` runs it in the background between sync
  rounds, and a search indexes a short queue itself first (:func:`catch_up`), so a clerk
  finds a letter the moment it is stored; only a long queue (a week's catch-up) is left to
  the background, and the search says how many letters it does not see yet.

Does: the above, rebuild the FTS5 index and the attachment links from the letters and the
text extracted from their PDFs (:func:`reindex`), and build it once for a database made
before search existed or with an older index (:func:`ensure_index`).

Does not: extract attachment text (:mod:`node.records.attachment_text`) or search
(:mod:`node.search.engine`).
"""

from __future__ import annotations

import logging
import time

from node.errors import NodeError
from node.storage.store import Store

log = logging.getLogger(__name__)

INDEX_VERSION = 1
"""Version of what the index holds; the schema marks an empty database with it."""

INDEX_BATCH = 500
"""Letters indexed per transaction: 0.15 s of writing on the faster machine of
docs/performance.md, 0.55 s on the slower one; what a clerk's action or a sync round
waits for the writer at most while the index catches up."""

SEARCH_CATCH_UP_SECONDS = 1.0
"""How long a search may spend indexing the queue before it answers (about 3,000 letters);
a longer queue is left to the background and the search says what it does not see yet."""


_FTS_COLUMNS = "subject, numbers, parties, body, files"


def reindex(store: Store) -> int:
    """Rebuild the whole index from the letters and the extracted text; return letters."""
    with store.transaction():
        store.execute("DELETE FROM letter_attachments")
        store.execute(
            "INSERT OR IGNORE INTO letter_attachments (sha256, letter) "
            "SELECT sha256, letter FROM letter_attachment_refs"
        )
        store.execute("DELETE FROM letter_fts")
        store.execute("DELETE FROM search_pending")
        store.execute(
            f"INSERT INTO letter_fts (rowid, {_FTS_COLUMNS}) "  # noqa: S608
            f"SELECT -id, {_FTS_COLUMNS} FROM letter_search_docs"
        )
        # One segment answers queries fastest; merging is cheap right after a rebuild.
        store.execute("INSERT INTO letter_fts (letter_fts) VALUES ('optimize')")
        store.set_setting("search_index", INDEX_VERSION)
        count = int(store.scalar("SELECT COUNT(*) FROM letters") or 0)
    return count


def ensure_index(store: Store) -> None:
    """Index every letter once if this database predates search (or an older index)."""
    if store.get_setting("search_index") == INDEX_VERSION:
        return
    with store.transaction():
        # Another process may have rebuilt it while this one waited for the lock.
        if store.get_setting("search_index") == INDEX_VERSION:
            return
        log.info("building the search index of %s", store.path.name)
        reindex(store)


def pending_count(store: Store) -> int:
    """Letters written or changed that the index does not show yet."""
    return int(store.scalar("SELECT COUNT(*) FROM search_pending") or 0)


def index_pending(store: Store, batch: int = INDEX_BATCH) -> int:
    """Index up to ``batch`` of the newest queued letters in one transaction; return how many.

    Newest first: during a long catch-up the letters a clerk looks for first are found first.
    A queued letter's old row (if it had one) is replaced by its row as it is now; a letter
    deleted meanwhile has left the queue with it (the delete trigger).
    """
    with store.transaction():
        ids = [
            int(r[0])
            for r in store.conn.execute(
                "SELECT letter FROM search_pending ORDER BY letter DESC LIMIT ?", (batch,)
            )
        ]
        if not ids:
            return 0
        marks = ", ".join("?" for _ in ids)
        # Placeholders only; the values are parameters.
        store.execute(
            f"DELETE FROM letter_fts WHERE rowid IN ({marks})",  # noqa: S608
            [-i for i in ids],
        )
        store.execute(
            f"INSERT INTO letter_fts (rowid, {_FTS_COLUMNS}) "  # noqa: S608
            f"SELECT -id, {_FTS_COLUMNS} FROM letter_search_docs WHERE id IN ({marks})",
            ids,
        )
        store.execute(f"DELETE FROM search_pending WHERE letter IN ({marks})", ids)  # noqa: S608
    return len(ids)


def catch_up(store: Store, seconds: float = SEARCH_CATCH_UP_SECONDS) -> int:
    """Index the queue for at most ``seconds`` (one batch at least); return what is left.

    A database that cannot be written now (a full or read-only disk, a writer holding the
    lock) is searched as it is: the queue stays for the background.
    """
    deadline = time.monotonic() + seconds
    try:
        while pending_count(store):
            index_pending(store)
            if time.monotonic() >= deadline:
                break
    except NodeError as e:
        log.info("search index not caught up before a search: %s", e)
    return pending_count(store)
