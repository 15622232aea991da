"""Where letters went: the recipients of each letter, the attachments it lists, and who
may read each attachment.

``letter_routes`` remembers who each letter was routed to, ``blob_refs`` which attachment
hashes it lists, and ``blob_readers`` which offices may read each blob: those that uploaded
it whole (``letter`` null) and those a letter granted it to. Who is granted what is decided
by :mod:`hub.federation.blobs`, not here.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.store.connection import Connection, DatabaseError, Row, store_failure


class RouteRecords(Connection):
    """The ``letter_routes``, ``blob_refs`` and ``blob_readers`` tables."""

    def add_routes(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Remember who letters were routed to: ``(letter, recipient, sender)`` each."""
        self._many(
            "INSERT OR IGNORE INTO letter_routes (letter, recipient, sender) VALUES (?, ?, ?)",
            rows,
        )

    def letter_sender(self, letter: str) -> str | None:
        """The origin of a letter the hub holds."""
        value = self._scalar(
            "SELECT origin FROM feed WHERE env_id = ? AND kind = 'letter'", (letter,)
        )
        return None if value is None else str(value)

    def letters_routed(self, letters: Iterable[str]) -> dict[str, tuple[str, list[str]]]:
        """Of these letters, those the hub holds: their sender and the offices each was
        routed to, by env_id."""
        found: dict[str, tuple[str, list[str]]] = {}
        for chunk, marks in self._in_chunks(letters):
            for r in self._all(
                f"SELECT env_id, origin FROM feed WHERE kind = 'letter' AND env_id IN ({marks})",  # noqa: S608
                chunk,
            ):
                found[r["env_id"]] = (r["origin"], [])
            for r in self._all(
                f"SELECT letter, recipient FROM letter_routes WHERE letter IN ({marks})"  # noqa: S608
                " ORDER BY rowid",
                chunk,
            ):
                if r["letter"] in found:
                    found[r["letter"]][1].append(r["recipient"])
        return found

    def letter_recipients(self, letter: str) -> list[str]:
        """The offices a letter was routed to."""
        rows = self._all(
            "SELECT recipient FROM letter_routes WHERE letter = ? ORDER BY rowid", (letter,)
        )
        return [r["recipient"] for r in rows]

    def add_blob_refs(self, letter: str, hashes: Iterable[str]) -> None:
        """Record that a letter lists these attachment hashes."""
        self._many(
            "INSERT OR IGNORE INTO blob_refs (sha256, letter) VALUES (?, ?)",
            [(h, letter) for h in hashes],
        )

    def may_read_blob(self, office_id: str, sha256: str) -> bool:
        """True when the office may read this blob (``blob_readers``)."""
        value = self._scalar(
            "SELECT 1 FROM blob_readers WHERE sha256 = ? AND office = ?", (sha256, office_id)
        )
        return value is not None

    def blob_has_readers(self, sha256: str) -> bool:
        """True when some office may read this blob."""
        return (
            self._scalar("SELECT 1 FROM blob_readers WHERE sha256 = ? LIMIT 1", (sha256,))
            is not None
        )

    def add_blob_reader(self, sha256: str, office_id: str, letter: str | None, now: float) -> None:
        """Let an office read a blob: it uploaded it whole (``letter`` None), or ``letter``
        granted it. The first way an office came to read a blob is the one kept."""
        self._exec(
            "INSERT OR IGNORE INTO blob_readers (sha256, office, letter, at) VALUES (?, ?, ?, ?)",
            (sha256, office_id, letter, now),
        )

    def add_blob_readers(
        self, letter: str, hashes: Iterable[str], offices: Iterable[str], now: float
    ) -> None:
        """Let ``offices`` read each blob of ``hashes``, granted by ``letter``."""
        who = list(offices)
        try:
            self.conn.executemany(
                "INSERT OR IGNORE INTO blob_readers (sha256, office, letter, at)"
                " VALUES (?, ?, ?, ?)",
                [(h, o, letter, now) for h in hashes for o in who],
            )
        except DatabaseError as e:
            raise store_failure(e, "database error") from e

    def blob_citations(self) -> list[Row]:
        """Every stored letter's citation of a blob, in the order the hub received the
        letters: ``sha256``, ``letter``, ``origin`` and ``at``."""
        return self._all(
            "SELECT b.sha256, b.letter, f.origin, f.received_at AS at FROM blob_refs b"
            " JOIN feed f ON f.env_id = b.letter ORDER BY f.received_at, f.rowid, b.sha256"
        )
