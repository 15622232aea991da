"""Where letters went: the recipients of each letter and the attachments it lists.

``letter_routes`` remembers who each letter was routed to and ``blob_refs`` which
attachment hashes it lists, so that the hub hands an attachment only to an office that
sent or received a letter listing it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from hub.errors import StoreError
from hub.store.connection import Connection


class RouteRecords(Connection):
    """The ``letter_routes`` and ``blob_refs`` tables."""

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
