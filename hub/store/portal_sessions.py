"""The portal's sign-ins at the hub: sessions, each account's failures and last code, and
the audit of what people did there.

Three tables of the hub's database, created by :meth:`PortalSessions.create_tables` when
the portal starts (``IF NOT EXISTS``, so on any hub database, old or new):

* ``portal_sessions``: one row per session, keyed by the SHA-256 of its random token (the
  cookie holds the token, the database never does), with its office, user name, the
  account version and the digest of the credentials it began with, its stage (``code``:
  the password was right and the TOTP code is awaited; ``in``: signed in), when it began
  and was last seen, its CSRF token and the address it came from;
* ``portal_logins``: per account, wrong passwords and codes in a row, until when the
  account is locked, and the last TOTP time step accepted (a code is good once);
* ``portal_audit``: append-only, one row per sign-in, refused sign-in, sign-out, search,
  opened letter, download and export: when, who, what, a short detail and the address.

Does not: decide whether a password, a code or a session is good, or who may see what
(:mod:`hub.portal`); it never stores a password, a password hash or a TOTP secret.
"""

from __future__ import annotations

from typing import Any

from hub.store.connection import Connection, Row

SCHEMA = """
CREATE TABLE IF NOT EXISTS portal_sessions (
    token_hash TEXT PRIMARY KEY,
    office TEXT NOT NULL,
    username TEXT NOT NULL,
    account_version INTEGER NOT NULL,
    credential TEXT NOT NULL,
    stage TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    csrf TEXT NOT NULL,
    address TEXT
);
CREATE INDEX IF NOT EXISTS portal_sessions_account ON portal_sessions (office, username);
CREATE INDEX IF NOT EXISTS portal_sessions_seen ON portal_sessions (last_seen);
CREATE TABLE IF NOT EXISTS portal_logins (
    office TEXT NOT NULL,
    username TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until REAL,
    last_step INTEGER,
    last_sign_in REAL,
    PRIMARY KEY (office, username)
);
CREATE TABLE IF NOT EXISTS portal_audit (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    office TEXT,
    username TEXT,
    action TEXT NOT NULL,
    detail TEXT,
    address TEXT
);
CREATE INDEX IF NOT EXISTS portal_audit_at ON portal_audit (at);
CREATE INDEX IF NOT EXISTS portal_audit_account ON portal_audit (office, username, at);
"""

STAGES = ("code", "in")
"""A session's stages: the password was right and the code is awaited; signed in."""

AUDIT_ACTIONS = frozenset(
    {"sign_in", "sign_in_failed", "sign_out", "search", "open", "download", "export"}
)
"""What the portal's audit records."""


class PortalSessions(Connection):
    """The ``portal_sessions``, ``portal_logins`` and ``portal_audit`` tables, on the
    connection of a :class:`hub.store.HubStore` (its transactions are this one's)."""

    def __init__(self, store: Connection):
        super().__init__(store.conn, store.writer)

    def create_tables(self) -> None:
        """Create the tables when they are missing (under the writer's lock, so that hub
        processes starting at once do not race)."""
        self.create_all(SCHEMA)

    # -- sessions ------------------------------------------------------------------------

    def add_session(
        self,
        token_hash: str,
        account: Row,
        credential: str,
        stage: str,
        csrf: str,
        now: float,
        address: str | None,
    ) -> None:
        """Start a session of ``account`` (its ``office``, ``username``, ``version``)."""
        if stage not in STAGES:
            raise ValueError(f"unknown session stage {stage!r}")
        self._exec(
            "INSERT INTO portal_sessions (token_hash, office, username, account_version,"
            " credential, stage, created_at, last_seen, csrf, address)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                token_hash,
                account["office"],
                account["username"],
                int(account["version"]),
                credential,
                stage,
                now,
                now,
                csrf,
                address,
            ),
        )

    def session(self, token_hash: str) -> Row | None:
        """The session whose token hashes to ``token_hash``."""
        return self._one("SELECT * FROM portal_sessions WHERE token_hash = ?", (token_hash,))

    def touch_session(self, token_hash: str, now: float, version: int) -> None:
        """The session was used at ``now``, under account version ``version``."""
        self._exec(
            "UPDATE portal_sessions SET last_seen = ?, account_version = ? WHERE token_hash = ?",
            (now, version, token_hash),
        )

    def end_session(self, token_hash: str) -> None:
        """End one session."""
        self._exec("DELETE FROM portal_sessions WHERE token_hash = ?", (token_hash,))

    def end_sessions_of(self, office: str, username: str) -> int:
        """End every session of an account; return how many ended."""
        return self._changed(
            "DELETE FROM portal_sessions WHERE office = ? AND username = ?", (office, username)
        )

    def end_idle_sessions(self, before: float) -> None:
        """End every session last seen before ``before``."""
        self._exec("DELETE FROM portal_sessions WHERE last_seen < ?", (before,))

    def session_count(self) -> int:
        """Sessions held (for tests and the operator)."""
        return int(self._scalar("SELECT count(*) FROM portal_sessions"))

    # -- failures and codes -------------------------------------------------------------

    def login_state(self, office: str, username: str) -> Row:
        """An account's failures in a row, lock and last accepted TOTP step (zeros when the
        portal never saw it)."""
        row = self._one(
            "SELECT failures, locked_until, last_step, last_sign_in FROM portal_logins"
            " WHERE office = ? AND username = ?",
            (office, username),
        )
        if row is None:
            return {"failures": 0, "locked_until": None, "last_step": None, "last_sign_in": None}
        return row

    def set_lockout(
        self, office: str, username: str, failures: int, locked_until: float | None
    ) -> None:
        """Store an account's failures in a row and its lock."""
        self._exec(
            "INSERT INTO portal_logins (office, username, failures, locked_until)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (office, username) DO UPDATE SET"
            " failures = excluded.failures, locked_until = excluded.locked_until",
            (office, username, failures, locked_until),
        )

    def set_signed_in(self, office: str, username: str, step: int, now: float) -> None:
        """A full sign-in with the code of TOTP time ``step``: failures cleared, the step
        remembered so that its code is refused from now on."""
        self._exec(
            "INSERT INTO portal_logins (office, username, failures, locked_until, last_step,"
            " last_sign_in) VALUES (?, ?, 0, NULL, ?, ?) ON CONFLICT (office, username)"
            " DO UPDATE SET failures = 0, locked_until = NULL, last_step = excluded.last_step,"
            " last_sign_in = excluded.last_sign_in",
            (office, username, step, now),
        )

    # -- audit ---------------------------------------------------------------------------

    def audit(
        self,
        at: float,
        office: str | None,
        username: str | None,
        action: str,
        detail: str | None,
        address: str | None,
    ) -> None:
        """Append one row to the portal's audit."""
        if action not in AUDIT_ACTIONS:
            raise ValueError(f"unknown portal audit action {action!r}")
        self._exec(
            "INSERT INTO portal_audit (at, office, username, action, detail, address)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (at, office, username, action, detail, address),
        )

    def audit_rows(
        self, office: str | None = None, username: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The newest audit rows first, of one account or of everybody."""
        where = ""
        params: tuple[str, ...] = ()
        if office is not None and username is not None:
            where = " WHERE office = ? AND username = ?"
            params = (office, username)
        return self._all(
            f"SELECT * FROM portal_audit{where} ORDER BY id DESC LIMIT ?",  # noqa: S608
            (*params, limit),
        )
