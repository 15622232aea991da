"""Signing keys: each office's, the hub's own, and the request nonces seen under them.

``keys`` holds every key an office has signed with (one active at a time), ``hub_keys`` the
hub's keys (one ``current``, one ``previous`` during a rotation), and ``nonces`` the nonces
of signed requests, so a replayed request is refused. Which signature to trust is decided by
:mod:`hub.federation.auth`, not here.
"""

from __future__ import annotations

from hub.store.connection import Connection, DatabaseError, IntegrityError, Row, store_failure


class KeyRecords(Connection):
    """The ``keys``, ``hub_keys`` and ``nonces`` tables."""

    # -- office signing keys ---------------------------------------------------------------

    def keys_of(self, office_id: str) -> list[Row]:
        """Every signing key an office has had, oldest first."""
        return self._all("SELECT * FROM keys WHERE office = ? ORDER BY key_no", (office_id,))

    def active_keys(self) -> dict[str, Row]:
        """Each office's newest active signing key, by office (one query for all)."""
        rows = self._all("SELECT * FROM keys WHERE status = 'active' ORDER BY office, key_no")
        return {r["office"]: r for r in rows}

    def active_key(self, office_id: str) -> Row | None:
        """An office's newest active signing key, if it has one."""
        return self._one(
            "SELECT * FROM keys WHERE office = ? AND status = 'active' ORDER BY key_no DESC",
            (office_id,),
        )

    def next_key_no(self, office_id: str) -> int:
        """The number an office's next signing key takes: one above every key it has had."""
        return int(
            self._scalar(
                "SELECT COALESCE(MAX(key_no), 0) + 1 FROM keys WHERE office = ?", (office_id,)
            )
        )

    def key(self, keyid: str) -> Row | None:
        """One office signing key."""
        return self._one("SELECT * FROM keys WHERE keyid = ?", (keyid,))

    def add_key(self, keyid: str, office_id: str, key_no: int, public: str, now: float) -> None:
        """Add an active signing key and retire the office's older ones, each with the last
        seq of the office's feed now (``retired_seq``): it signed nothing after that."""
        self._exec(
            "UPDATE keys SET status = 'retired', retired_seq = (SELECT COALESCE(MAX(seq), 0)"
            " FROM feed WHERE origin = ?) WHERE office = ? AND status = 'active'",
            (office_id, office_id),
        )
        self._exec(
            "INSERT INTO keys (keyid, office, key_no, public, status, added_at)"
            " VALUES (?, ?, ?, ?, 'active', ?)",
            (keyid, office_id, key_no, public, now),
        )

    # -- the hub's own keys ----------------------------------------------------------------

    def hub_keys(self) -> list[Row]:
        """The hub's signing keys, newest first."""
        return self._all("SELECT * FROM hub_keys ORDER BY key_no DESC")

    def add_hub_key(self, keyid: str, key_no: int, public: str, now: float) -> None:
        """Record a new current hub key; the former current one becomes ``previous``."""
        self._exec("UPDATE hub_keys SET status = 'retired' WHERE status = 'previous'")
        self._exec("UPDATE hub_keys SET status = 'previous' WHERE status = 'current'")
        self._exec(
            "INSERT INTO hub_keys (keyid, key_no, public, status, created_at)"
            " VALUES (?, ?, ?, 'current', ?)",
            (keyid, key_no, public, now),
        )

    # -- nonces of signed requests ---------------------------------------------------------

    def remember_nonce(self, keyid: str, nonce: str, ts: float, forget_before: float) -> bool:
        """Record a request nonce; False when it was already seen. Prunes old nonces."""
        with self.write():
            self._exec("DELETE FROM nonces WHERE ts < ?", (forget_before,))
            try:
                self.conn.execute(
                    "INSERT INTO nonces (keyid, nonce, ts) VALUES (?, ?, ?)", (keyid, nonce, ts)
                )
            except IntegrityError:
                return False
            except DatabaseError as e:
                raise store_failure(e, "database error") from e
        return True
