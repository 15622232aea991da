"""The directory the hub publishes: its signed versions, distribution lists, shared registers.

``directory_versions`` keeps each signed directory; ``lists`` and ``shared_registers`` hold
what the next one will say (members stored as JSON lists). Building and signing a directory
is :mod:`hub.directory`'s work, not this module's.
"""

from __future__ import annotations

import json

from hub.store.connection import Connection, DatabaseError, Row, store_failure


class DirectoryRecords(Connection):
    """The ``directory_versions``, ``lists`` and ``shared_registers`` tables."""

    # -- signed versions -------------------------------------------------------------------

    def directory_head(self) -> Row | None:
        """The newest directory version: ``version, env_id, envelope``."""
        return self._one("SELECT * FROM directory_versions ORDER BY version DESC LIMIT 1")

    def directory_version_number(self) -> int:
        """The newest directory version, without its envelope (0 before the first)."""
        return int(self._scalar("SELECT coalesce(max(version), 0) FROM directory_versions"))

    def add_directory(self, version: int, env_id: str, envelope: bytes, now: float) -> None:
        """Store a signed directory version."""
        self._exec(
            "INSERT INTO directory_versions (version, env_id, envelope, at) VALUES (?, ?, ?, ?)",
            (version, env_id, envelope, now),
        )

    # -- distribution lists ----------------------------------------------------------------

    def set_list(self, name: str, title: str, members: list[str]) -> None:
        """Create or replace a distribution list."""
        self._exec(
            "INSERT OR REPLACE INTO lists (name, title, members) VALUES (?, ?, ?)",
            (name, title, json.dumps(members, ensure_ascii=False)),
        )

    def lists(self) -> dict[str, Row]:
        """Distribution lists by name: ``{"title", "members"}``."""
        return {
            r["name"]: {"title": r["title"], "members": json.loads(r["members"])}
            for r in self._all("SELECT * FROM lists ORDER BY name")
        }

    def delete_list(self, name: str) -> bool:
        """Remove a distribution list; False when there was none."""
        try:
            cur = self.conn.execute("DELETE FROM lists WHERE name = ?", (name,))
        except DatabaseError as e:
            raise store_failure(e, "database error") from e
        return cur.rowcount == 1

    # -- shared registers ------------------------------------------------------------------

    def set_shared_register(self, owner: str, series: str, basis: str, members: list[str]) -> None:
        """Create or replace a shared register."""
        self._exec(
            "INSERT OR REPLACE INTO shared_registers (owner, series, basis, members)"
            " VALUES (?, ?, ?, ?)",
            (owner, series, basis, json.dumps(members, ensure_ascii=False)),
        )

    def shared_registers(self) -> list[Row]:
        """Shared registers: ``{"owner", "series", "basis", "members"}``."""
        return [
            {**r, "members": json.loads(r["members"])}
            for r in self._all("SELECT * FROM shared_registers ORDER BY owner, series")
        ]

    def shared_register(self, owner: str, series: str) -> Row | None:
        """One shared register, or None when ``(owner, series)`` is owned."""
        r = self._one(
            "SELECT * FROM shared_registers WHERE owner = ? AND series = ?", (owner, series)
        )
        return None if r is None else {**r, "members": json.loads(r["members"])}
