"""Enrollment tokens: the hashes of the one-time secrets an office enrolls with.

Only the hash of a token is stored; the secret is shown once to the operator and never
kept. Whether a token may still be used is decided by :mod:`hub.federation.enrollment`.
"""

from __future__ import annotations

from hub.store.connection import Connection, DatabaseError, Row, store_failure


class TokenRecords(Connection):
    """The ``tokens`` table."""

    def add_token(self, token_hash: str, office_id: str, now: float, expires_at: float) -> None:
        """Store the hash of a new enrollment token."""
        self._exec(
            "INSERT INTO tokens (token_hash, office, issued_at, expires_at) VALUES (?, ?, ?, ?)",
            (token_hash, office_id, now, expires_at),
        )

    def token(self, token_hash: str) -> Row | None:
        """The token row with this hash."""
        return self._one("SELECT * FROM tokens WHERE token_hash = ?", (token_hash,))

    def use_token(self, token_hash: str, now: float) -> None:
        """Mark a token used."""
        self._exec("UPDATE tokens SET used_at = ? WHERE token_hash = ?", (now, token_hash))

    def tokens(self, limit: int = 200) -> list[Row]:
        """Enrollment tokens issued, newest first (hashes only; the secrets are never kept)."""
        return self._all("SELECT * FROM tokens ORDER BY issued_at DESC LIMIT ?", (limit,))

    def tokens_by_prefix(self, prefix: str) -> list[Row]:
        """Tokens whose stored hash starts with ``prefix`` (the console's token id)."""
        return self._all(
            "SELECT * FROM tokens WHERE substr(token_hash, 1, ?) = ?", (len(prefix), prefix)
        )

    def cancel_token(self, token_hash: str, now: float) -> bool:
        """Make an unused token unusable; False when it was used or unknown."""
        try:
            cur = self.conn.execute(
                "UPDATE tokens SET expires_at = min(expires_at, ?), cancelled_at = ?"
                " WHERE token_hash = ? AND used_at IS NULL",
                (now, now, token_hash),
            )
        except DatabaseError as e:
            raise store_failure(e, "database error") from e
        return cur.rowcount == 1
