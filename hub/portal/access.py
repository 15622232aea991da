"""Who is signed in to the portal, and what of a letter they may see (ADR 0024).

A :class:`Person` is an account an office published (:mod:`hub.store.portal_accounts`),
read again on every request, so a role taken away at the office is gone at the portal at
that office's next sync.

**The ministry's view** is given to the accounts of one office, ``PORTAL_MINISTRY_OFFICE``
(the Office of the Permanent Secretary, สป.มท., ``มท 0200`` by default), that hold the role
``executive`` or ``admin`` there: the ministry's executives and the operators its office
names. No marker is added to the accounts: the office decides who has those roles, and
publishes them like any other account.

What a person sees of one letter (:func:`sight_of`):

* :attr:`Sight.CONTENT`: their office sent it or is one of its recipients, or it is in
  the ministry's library (a circular, order or regulation its sender marked
  ``"library": true``): its subject, body and attachments; its tracking across all its
  recipients only when their office is a party, or they have the ministry's view;
* :attr:`Sight.TRACKING`: the ministry's view of a letter it is not a party to: number,
  date, parties, type and speed, and every recipient's tracking; never its subject, body
  or attachments;
* :attr:`Sight.EXISTENCE`: a sealed (classified) letter, seen by a registrar
  (``registrar`` or ``registrar_assistant``) of a party office, or by one who also has the
  ministry's view: that it exists, its number and parties and its tracking; the hub never
  holds its content (as :class:`hub.portal.search.Scope` lists them);
* :attr:`Sight.NONE`: anything else, including a sealed letter seen by anyone else:
  answered as a letter that does not exist.

Attachments (:func:`may_download`): the hub's blob readers rule (ADR 0020): the person's
office may read the blob; or the letter is in the library and its sender may read it (the
sender marked it for every office).

Does not: read requests or render anything, or search (:mod:`hub.portal.search`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hub.store import HubStore

MINISTRY_ROLES = frozenset({"executive", "admin"})
"""Roles of the ministry's office that give the ministry's view."""

REGISTRAR_ROLES = frozenset({"registrar", "registrar_assistant"})
"""Roles that see that a sealed letter of their office exists."""

ROLE_TITLES = {
    "clerk": "เจ้าหน้าที่สารบรรณ",
    "officer": "ผู้ปฏิบัติงาน",
    "executive": "ผู้บังคับบัญชา",
    "registrar": "นายทะเบียนหนังสือลับ",
    "registrar_assistant": "ผู้ช่วยนายทะเบียนหนังสือลับ",
    "admin": "ผู้ดูแลระบบ",
}
"""The Thai titles of the roles an office gives (the node's own words)."""


@dataclass(frozen=True)
class Person:
    """A signed-in person: their office, user name, name and roles, and whether they have
    the ministry's view."""

    office: str
    username: str
    display_name: str
    roles: tuple[str, ...]
    ministry: bool

    @property
    def registrar(self) -> bool:
        """Whether they see that their office's sealed letters exist."""
        return bool(REGISTRAR_ROLES.intersection(self.roles))

    @property
    def role_titles(self) -> str:
        """Their roles in Thai."""
        return ", ".join(ROLE_TITLES.get(r, r) for r in self.roles)


def person_of(account: Mapping[str, Any], ministry_office: str) -> Person:
    """The person of a published account (never its hash or secret)."""
    roles = tuple(str(r) for r in account.get("roles") or ())
    office = str(account["office"])
    return Person(
        office=office,
        username=str(account["username"]),
        display_name=str(account.get("display_name") or account["username"]),
        roles=roles,
        ministry=office == ministry_office and bool(MINISTRY_ROLES.intersection(roles)),
    )


class Sight(StrEnum):
    """How much of one letter a person sees."""

    CONTENT = "content"
    TRACKING = "tracking"
    EXISTENCE = "existence"
    NONE = "none"


def sight_of(
    person: Person, origin: str, recipients: Iterable[str], sealed: bool, library: bool
) -> Sight:
    """What ``person`` sees of a letter from ``origin`` to ``recipients``."""
    party = person.office == origin or person.office in set(recipients)
    if sealed:
        return Sight.EXISTENCE if person.registrar and (party or person.ministry) else Sight.NONE
    if party or library:
        return Sight.CONTENT
    return Sight.TRACKING if person.ministry else Sight.NONE


def sees_tracking(person: Person, sight: Sight, origin: str, recipients: Iterable[str]) -> bool:
    """Whether the letter's tracking across its recipients is shown: to its parties and to
    the ministry's view (a library letter's readers see its content only)."""
    if sight is Sight.NONE:
        return False
    return person.ministry or person.office == origin or person.office in set(recipients)


def may_download(
    store: HubStore, person: Person, sight: Sight, origin: str, library: bool, sha256: str
) -> bool:
    """Whether ``person`` may download the attachment ``sha256`` of a letter they see as
    ``sight``: only with its content, and only as the hub's blob readers rule allows."""
    if sight is not Sight.CONTENT:
        return False
    if store.may_read_blob(person.office, sha256):
        return True
    return library and store.may_read_blob(origin, sha256)
