"""What the collection of unused attachment bytes asks the database, and what it counts.

``collected`` keeps, by what was removed (``orphan_blob``, ``partial_upload``), how many
files and bytes the hub has collected and when it last did, for ``/metrics``. Which files
are collected, and when, is decided by :mod:`hub.federation.collection`, not here.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.store.connection import Connection, Row

ORPHAN_BLOB = "orphan_blob"
PARTIAL_UPLOAD = "partial_upload"
COLLECTED_KINDS = (ORPHAN_BLOB, PARTIAL_UPLOAD)
"""What the collection removes, as ``collected`` counts it (and ``/metrics`` labels it)."""


class CollectionRecords(Connection):
    """Reads of ``blob_refs`` for the collection, and the ``collected`` table."""

    def blobs_cited(self, hashes: Iterable[str]) -> set[str]:
        """Those of ``hashes`` that some letter the hub holds lists as an attachment."""
        wanted = list(dict.fromkeys(hashes))
        cited: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self._all(
                f"SELECT DISTINCT sha256 FROM blob_refs WHERE sha256 IN ({marks})",  # noqa: S608
                chunk,
            )
            cited.update(r["sha256"] for r in rows)
        return cited

    def count_collected(self, what: str, files: int, size: int, now: float) -> None:
        """Add ``files`` removed files of ``size`` bytes in all to the ``what`` count."""
        self._exec(
            "INSERT INTO collected (what, files, bytes, last_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (what) DO UPDATE SET files = collected.files + excluded.files,"
            " bytes = collected.bytes + excluded.bytes, last_at = excluded.last_at",
            (what, files, size, now),
        )

    def collected(self) -> dict[str, Row]:
        """What the hub has collected so far: ``files``, ``bytes``, ``last_at`` by ``what``."""
        return {r["what"]: r for r in self._all("SELECT * FROM collected ORDER BY what")}
