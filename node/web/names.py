"""People's and offices' names for the clerk's pages, where the records hold ids.

The records keep who did something by login name (``somsri``), to whom a letter is
assigned by login name or unit code, and offices by id (``ชร 0017``). A page shows people
by their names (``สมศรี ธุรการ``), units and offices by their Thai names, and the node's own
doings as ``ระบบ``. :class:`Names` looks each up once per page.

Does not: decide who may see a letter or change any record.
"""

from __future__ import annotations

from node.api.kit import store
from node.printing import registers as reports
from node.records.directory import load_trusted
from protocol.directory import TrustedDirectory

SYSTEM_ACTORS = frozenset({"system"})
"""Actors that are the node itself, shown as :data:`SYSTEM_TH`."""

SYSTEM_TH = "ระบบ"


class Names:
    """Thai names of users, units and offices, each looked up once per page. Calling it
    with an office id gives :meth:`office` (what :func:`node.web.tracking.tracking_rows`
    takes)."""

    def __init__(self) -> None:
        self._people: dict[str, str] | None = None
        self._trusted: TrustedDirectory | None = None
        self._trusted_loaded = False
        self._offices: dict[str, str] = {}

    def _users(self) -> dict[str, str]:
        if self._people is None:
            self._people = {
                str(r["username"]): str(r["display_name"] or r["username"])
                for r in store().query("SELECT username, display_name FROM users")
            }
        return self._people

    def office(self, office: str) -> str:
        """A unit's or office's Thai name (this node's units, then the directory), else the id."""
        if office not in self._offices:
            if not self._trusted_loaded:
                self._trusted, self._trusted_loaded = load_trusted(store()), True
            self._offices[office] = reports.office_name(store(), self._trusted, office)
        return self._offices[office]

    __call__ = office

    def person(self, username: str) -> str | None:
        """The name of the user ``username``, or None when there is no such user."""
        return self._users().get(username)

    def holder(self, code: str | None) -> str:
        """Who holds a letter (``assigned_to``): a user's name, else a unit's code and name."""
        if not code:
            return ""
        person = self.person(code)
        if person is not None:
            return person
        name = self.office(code)
        return f"{code} {name}" if name != code else code

    def actor(self, who: str | None) -> str:
        """Who did a step of a letter's history: :data:`SYSTEM_TH`, a user's name, or an
        office's name (a recipient's answer); anything else as recorded."""
        who = str(who or "")
        if not who or who in SYSTEM_ACTORS:
            return SYSTEM_TH
        person = self.person(who)
        return person if person is not None else self.office(who)
