"""The portal's letters and their index: writing rows, keeping the index a moment behind.

A letter's row, its recipients and its place in the queue (``portal_pending``) are written
a moment after the hub accepted it, read from the feed in order
(:meth:`PortalLetterRecords.add_portal_letters`, from the feed row
:meth:`PortalLetterRecords.portal_followed` on); the trigram index (``portal_fts``,
contentless) is filled from the queue a batch at a time
(:meth:`PortalLetterRecords.portal_pending_batch`,
:meth:`PortalLetterRecords.index_portal_docs`).
A row is in the index exactly when it is not queued, so a letter whose number changes
leaves the index first with the text it was indexed with
(:meth:`PortalLetterRecords.unindex_portal_doc`). The tables are in
:mod:`hub.store.portal_letters_schema`.

Does not: decide what a row or an index document holds
(:mod:`hub.federation.letter_index`), or search (:mod:`hub.store.portal_search`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hub.store.connection import Connection, DatabaseError, Row, store_failure
from hub.store.portal_letters_schema import BACKFILL_DONE, BACKFILL_UPTO, FOLLOWED

LETTER_COLUMNS = (
    "env_id",
    "origin",
    "register",
    "number",
    "number_key",
    "letter_date",
    "letter_day",
    "letter_type",
    "sub_type",
    "speed",
    "secrecy",
    "sealed",
    "subject",
    "body",
    "sender",
    "parties",
    "library",
    "accepted_at",
)
"""The columns :meth:`PortalLetterRecords.add_portal_letters` writes (``id`` aside)."""

DOC_COLUMNS = ("subject", "numbers", "parties", "body", "scope")
"""The index's columns, in the order of a document's texts."""

NewPortalLetter = tuple[Mapping[str, Any], Sequence[str], int | None]
"""A letter to record: its values of :data:`LETTER_COLUMNS`, its recipients, and the id to
place it at (None: the next one)."""

IndexDoc = tuple[int, str, str, str, str, str]
"""One index document: the row's id and the texts of :data:`DOC_COLUMNS`."""

_DOC_SOURCE = (
    "l.id, l.origin, l.subject, l.body, l.parties, l.number_key, l.provisional_key,"
    " l.library, (SELECT json_group_array(r.office) FROM portal_recipients r"
    " WHERE r.letter = l.id) AS recipients"
)


def _doc_row(row: Row) -> Row:
    row["recipients"] = json.loads(row["recipients"] or "[]")
    return row


class PortalLetterRecords(Connection):
    """The ``portal_letters``, ``portal_recipients`` and ``portal_pending`` tables and the
    ``portal_fts`` index."""

    def add_portal_letters(self, letters: Sequence[NewPortalLetter]) -> list[int | None]:
        """Record letters (the values of :data:`LETTER_COLUMNS`) and their recipients, and
        queue them for the index, in order; the id of each, or None for one whose env_id is
        recorded already (or earlier in ``letters``). A letter's ``letter_id`` places a
        letter indexed from an older hub's feed (below 1); None lets the database assign
        the next id."""
        seen = set(self._portal_ids(row["env_id"] for row, _, _ in letters))
        fresh: list[NewPortalLetter] = []
        is_new: list[bool] = []
        for entry in letters:
            is_new.append(entry[0]["env_id"] not in seen)
            if is_new[-1]:
                seen.add(entry[0]["env_id"])
                fresh.append(entry)
        # The id is named only when given: otherwise the database assigns the next one.
        for named in (True, False):
            columns = (*(("id",) if named else ()), *LETTER_COLUMNS)
            self._many(
                f"INSERT INTO portal_letters ({', '.join(columns)})"  # noqa: S608
                f" VALUES ({', '.join('?' for _ in columns)})",
                [
                    (*((letter_id,) if named else ()), *(row[c] for c in LETTER_COLUMNS))
                    for row, _, letter_id in fresh
                    if (letter_id is not None) is named
                ],
            )
        ids = self._portal_ids(row["env_id"] for row, _, _ in fresh)
        self._many(
            "INSERT OR IGNORE INTO portal_recipients (office, letter) VALUES (?, ?)",
            [(office, ids[row["env_id"]]) for row, recipients, _ in fresh for office in recipients],
        )
        self._many(
            "INSERT INTO portal_pending (letter) VALUES (?)",
            [(ids[row["env_id"]],) for row, _, _ in fresh],
        )
        return [
            ids[row["env_id"]] if new else None
            for (row, _, _), new in zip(letters, is_new, strict=True)
        ]

    def _portal_ids(self, env_ids: Iterable[str]) -> dict[str, int]:
        """The ids of the recorded letters among ``env_ids``, by env_id."""
        found: dict[str, int] = {}
        for chunk, marks in self._in_chunks(env_ids):
            rows = self._all(
                f"SELECT id, env_id FROM portal_letters WHERE env_id IN ({marks})",  # noqa: S608
                chunk,
            )
            found.update((r["env_id"], int(r["id"])) for r in rows)
        return found

    def portal_letter(self, env_id: str) -> Row | None:
        """A letter's row with its recipients (a list), by env_id."""
        row = self._one(
            f"SELECT {_DOC_SOURCE}, l.number, l.register FROM portal_letters l"  # noqa: S608
            " WHERE l.env_id = ?",
            (env_id,),
        )
        return None if row is None else _doc_row(row)

    def portal_letters_numbered(self, origin: str, register: str, number_key: str) -> list[Row]:
        """``origin``'s letters of ``register`` whose number has ``number_key`` and that
        show no earlier number (the carriers of a provisional number), with recipients."""
        rows = self._all(
            f"SELECT {_DOC_SOURCE}, l.number, l.register FROM portal_letters l"  # noqa: S608
            " WHERE l.number_key = ? AND l.origin = ? AND l.register = ?"
            " AND l.provisional_key IS NULL ORDER BY l.id",
            (number_key, origin, register),
        )
        return [_doc_row(r) for r in rows]

    def portal_queued(self, letter_id: int) -> bool:
        """Whether a letter waits for the index (so is not in it)."""
        return (
            self._scalar("SELECT 1 FROM portal_pending WHERE letter = ?", (letter_id,)) is not None
        )

    def unindex_portal_doc(self, doc: IndexDoc) -> None:
        """Take a letter out of the index: ``doc`` must be exactly what it was indexed with
        (a contentless index removes the words it is given), and the letter is queued."""
        cols = ", ".join(DOC_COLUMNS)
        if self.on_postgres:  # a table of the documents (hub.store.postgres)
            self._exec("DELETE FROM portal_fts WHERE rowid = ?", (-doc[0],))
        else:
            self._exec(
                f"INSERT INTO portal_fts (portal_fts, rowid, {cols})"  # noqa: S608
                " VALUES ('delete', ?, ?, ?, ?, ?, ?)",
                (-doc[0], *doc[1:]),
            )
        self._exec("INSERT OR IGNORE INTO portal_pending (letter) VALUES (?)", (doc[0],))

    def renumber_portal_letter(
        self, letter_id: int, number: str, number_key: str, earlier: str, earlier_key: str
    ) -> None:
        """Give a letter its final number, keeping the provisional one as ``earlier``."""
        self._exec(
            "UPDATE portal_letters SET number = ?, number_key = ?, provisional_number = ?,"
            " provisional_key = ? WHERE id = ?",
            (number, number_key, earlier, earlier_key, letter_id),
        )

    def portal_pending_batch(self, batch: int) -> list[Row]:
        """Up to ``batch`` of the newest queued letters, with what their documents hold."""
        rows = self._all(
            f"SELECT {_DOC_SOURCE} FROM portal_pending p"  # noqa: S608
            " JOIN portal_letters l ON l.id = p.letter ORDER BY p.letter DESC LIMIT ?",
            (batch,),
        )
        return [_doc_row(r) for r in rows]

    def index_portal_docs(self, docs: Iterable[IndexDoc]) -> int:
        """Put queued letters' documents in the index and take them off the queue (inside
        the caller's transaction, which read them); return how many."""
        rows = [(-d[0], *d[1:]) for d in docs]
        cols = ", ".join(DOC_COLUMNS)
        try:
            self.conn.executemany(
                f"INSERT INTO portal_fts (rowid, {cols}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
                rows,
            )
            self.conn.executemany(
                "DELETE FROM portal_pending WHERE letter = ?", [(-r[0],) for r in rows]
            )
        except DatabaseError as e:
            raise store_failure(e, "database error") from e
        return len(rows)

    def requeue_portal_index(self) -> int:
        """Queue every recorded letter for the index again (a database whose index was not
        carried over); how many letters wait."""
        self._exec("INSERT OR IGNORE INTO portal_pending (letter) SELECT id FROM portal_letters")
        return self.portal_pending_count()

    def portal_pending_count(self) -> int:
        """Letters the index does not hold yet."""
        return int(self._scalar("SELECT count(*) FROM portal_pending") or 0)

    def finalisation_envelope(
        self, office: str, letter: str, register: str, key: str
    ) -> bytes | None:
        """The first finalisation the hub signed for ``office`` about ``letter``, or for the
        provisional number with search key ``key`` in ``register``: its bytes."""
        value = self._scalar(
            "SELECT envelope FROM hub_envelopes WHERE kind = 'lease_finalise' AND office = ?"
            " AND (letter = ? OR (register = ? AND provisional_key = ?)) ORDER BY at, env_id"
            " LIMIT 1",
            (office, letter, register, key),
        )
        return None if value is None else bytes(value)

    def office_named(self, name: str) -> str | None:
        """The id of the office the directory gives this name."""
        value = self._scalar("SELECT id FROM offices WHERE name = ? ORDER BY id LIMIT 1", (name,))
        return None if value is None else str(value)

    # -- letters accepted before the index existed ------------------------------------------

    def portal_backfill_span(self) -> tuple[int, int]:
        """``(done, upto)``: the feed rows before the index whose letters are recorded, of
        all there are to record."""
        return int(self.meta(BACKFILL_DONE) or 0), int(self.meta(BACKFILL_UPTO) or 0)

    def set_portal_backfill_done(self, position: int) -> None:
        """Record that the letters up to feed row ``position`` are recorded."""
        self.set_meta(BACKFILL_DONE, str(position))

    # -- letters accepted since: the portal follows the feed ---------------------------------

    def portal_followed(self) -> int:
        """The feed row up to which every accepted letter is recorded for the portal."""
        return int(self.meta(FOLLOWED) or 0)

    def set_portal_followed(self, position: int) -> None:
        """Record that every letter up to feed row ``position`` is recorded."""
        self.set_meta(FOLLOWED, str(position))

    def feed_end(self) -> int:
        """The last feed row stored (0 for an empty feed)."""
        return int(self._scalar("SELECT COALESCE(MAX(rowid), 0) FROM feed") or 0)

    def portal_unrecorded(self) -> int:
        """Letters the hub accepted that the portal has not recorded yet."""
        return int(
            self._scalar(
                "SELECT count(*) FROM feed WHERE rowid > ? AND kind = 'letter'",
                (self.portal_followed(),),
            )
            or 0
        )

    def feed_letters_between(self, after: int, upto: int, limit: int) -> list[Row]:
        """Stored letters at feed rows ``after`` < row ≤ ``upto``, in order: ``position``,
        ``env_id``, ``envelope``, ``received_at``."""
        return self._all(
            "SELECT rowid AS position, env_id, envelope, received_at FROM feed"
            " WHERE rowid > ? AND rowid <= ? AND kind = 'letter' ORDER BY rowid LIMIT ?",
            (after, upto, limit),
        )
