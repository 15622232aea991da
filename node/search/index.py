"""The letter search index: built once for an old database, rebuilt in full on demand.

Does: rebuild the FTS5 index and the attachment links from the letters and the text
extracted from their PDFs (:func:`reindex`), and build it once for a database made before
search existed or with an older index (:func:`ensure_index`). Triggers in
:mod:`node.storage.schema` keep it right as letters change, so nothing here runs per letter.

Does not: extract attachment text (:mod:`node.records.attachment_text`) or search
(:mod:`node.search.engine`).
"""

from __future__ import annotations

import logging

from node.storage.store import Store

log = logging.getLogger(__name__)

INDEX_VERSION = 1
"""Version of what the index holds; the schema marks an empty database with it."""


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
