"""The ``accounts`` envelope: the list of an office's accounts it publishes to the hub.

An office signs the whole list of the people who may sign in to its pages (ADR 0024),
so that the ministry's portal at the hub knows them with the same password, and an
account disabled at the office is disabled at the portal after the next sync::

    {"v": 1, "office": "ชม 0017", "version": 7, "issued_at": "2026-11-18T11:06:00Z",
     "accounts": [{"username", "display_name", "roles": [...], "password_hash",
                   "active": true, "totp_secret": "<base32>" | null}, ...]}

``version`` only grows: each change of an account at the office makes the next one, and
the hub keeps the newest it accepted, refusing any version not above it (a replay). The
password hash is the office's own scrypt string (:mod:`protocol.passwords`); its shape
and cost are checked (:func:`scrypt_hash_problem`), so no office can hand the hub a hash
that costs more than the one the node makes, or one that is no scrypt at all. The TOTP
secret (:mod:`protocol.totp`) is present once the person enrolled.

The kind is neither an office feed kind (:data:`protocol.messages.FEED_KINDS`: it has no
``seq``, no ``prev``, and is never pushed with the feed or routed to anybody) nor a hub
kind (:data:`protocol.hub_messages.HUB_KINDS`): an office signs it, and a newer version
replaces the older one. ``from_dict`` keeps unknown fields, as every message does.

Every value is bounded (:mod:`protocol.limits`: ``MAX_ACCOUNTS``, ``MAX_ACCOUNT_ROLES``).
No error names a password hash or a secret, only the field and the account's place.

This module does not sign or verify (:mod:`protocol.envelope`), keep versions (the node's
:mod:`node.staff.published`, the hub's :mod:`hub.federation.accounts`), or say what a
role may see at the portal.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import limits
from .canonical import JSONObject
from .errors import BadMessage, BoundsError
from .messages import Message
from .passwords import SCRYPT_N
from .sessions import USERNAME_RE
from .totp import BadSecret, normalise_secret

ACCOUNTS_KIND = "accounts"
"""The envelope kind of an office's published account list."""
MAX_DISPLAY_NAME = 200
"""Characters of a person's display name (as the node's account pages take it)."""
MAX_ROLE = 32
"""Characters of one role name."""
MAX_HASH_CHARS = 300
"""Characters of a stored password hash."""
MIN_SCRYPT_N = SCRYPT_N
"""The least scrypt cost accepted: what a node makes today."""
MAX_SCRYPT_MEMORY = 32 * 1024 * 1024
"""Bytes of memory one check of a published hash may need at most: what Python's
``hashlib.scrypt`` (OpenSSL) allows by default, so every hash taken can be checked."""
MAX_SCRYPT_P = 4
"""The largest scrypt parallelism accepted (each one costs a full n · r of time)."""
_ROLE_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_COST_RE = re.compile(r"[0-9]{1,8}")


def _b64_bytes(text: str) -> int | None:
    """How many bytes the standard base64 ``text`` holds, or None when it is not base64."""
    try:
        return len(base64.b64decode(text.encode("ascii"), validate=True))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None


def scrypt_hash_problem(stored: str) -> str | None:
    """What is wrong with the shape of a stored ``scrypt$n$r$p$salt$hash``, or None.

    ``n`` is a power of two from :data:`MIN_SCRYPT_N`, ``r`` from 1 and ``p`` from 1 to
    :data:`MAX_SCRYPT_P`, within what OpenSSL computes (``n`` below ``2 ** (16 · r)``, at
    most :data:`MAX_SCRYPT_MEMORY` bytes as it counts them: ``128 · r · (n + 2 + p)``); salt and
    digest are standard base64 of 16 to 64 bytes. The answer never quotes the hash."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return "is not of the form scrypt$n$r$p$salt$hash"
    if not all(_COST_RE.fullmatch(x) for x in parts[1:4]):
        return "has costs n, r and p that are not whole numbers"
    n, r, p = (int(x) for x in parts[1:4])
    if n < MIN_SCRYPT_N or n & (n - 1):
        return f"has a cost n that is not a power of two from {MIN_SCRYPT_N}"
    if not 1 <= p <= MAX_SCRYPT_P:
        return f"has a parallelism p outside 1 to {MAX_SCRYPT_P}"
    if r < 1 or n >= 2 ** (16 * r) or 128 * r * (n + 2 + p) > MAX_SCRYPT_MEMORY:
        return f"needs more than {MAX_SCRYPT_MEMORY} bytes of memory to check"
    for name, text in (("salt", parts[4]), ("digest", parts[5])):
        size = _b64_bytes(text)
        if size is None or not 16 <= size <= 64:
            return f"has a {name} that is not base64 of 16 to 64 bytes"
    return None


@dataclass
class PublishedAccount(Message):
    """One person as the office publishes them: the roles are the office's role names."""

    FIELDS: ClassVar[dict[str, str]] = {
        "username": "str",
        "display_name": "str",
        "roles": "strlist",
        "password_hash": "str",
        "active": "bool",
        "totp_secret": "str?",
    }
    LIMITS: ClassVar[dict[str, tuple[int, ...]]] = {
        "username": (limits.MAX_SHORT,),
        "display_name": (MAX_DISPLAY_NAME,),
        "roles": (limits.MAX_ACCOUNT_ROLES, MAX_ROLE),
        "password_hash": (MAX_HASH_CHARS,),
        "totp_secret": (limits.MAX_SHORT,),
    }
    TEXT_FIELDS: ClassVar[tuple[str, ...]] = ("display_name",)

    username: str = ""
    display_name: str = ""
    roles: list[str] = field(default_factory=list)
    password_hash: str = ""
    active: bool = True
    totp_secret: str | None = None

    def validate(self) -> None:
        super().validate()
        if not USERNAME_RE.fullmatch(self.username):
            raise BadMessage("username is not a user name (3-32 of a-z 0-9 . _ -)")
        if not self.display_name.strip():
            raise BadMessage(f"{self.username}: display_name is empty")
        if not all(_ROLE_RE.fullmatch(r) for r in self.roles):
            raise BadMessage(f"{self.username}: a role is not a role name (a-z 0-9 _)")
        if len(set(self.roles)) != len(self.roles):
            raise BadMessage(f"{self.username}: a role is listed twice")
        problem = scrypt_hash_problem(self.password_hash)
        if problem is not None:
            raise BadMessage(f"{self.username}: password_hash {problem}")
        if self.totp_secret is not None:
            try:
                canonical = normalise_secret(self.totp_secret)
            except BadSecret as e:
                raise BadMessage(f"{self.username}: totp_secret {e}") from e
            if canonical != self.totp_secret:
                raise BadMessage(f"{self.username}: totp_secret is not in capitals, unpadded")


@dataclass
class AccountList(Message):
    """An office's accounts at one version: what an ``accounts`` envelope carries."""

    KIND: ClassVar[str] = ACCOUNTS_KIND
    FIELDS: ClassVar[dict[str, str]] = {
        "v": "int",
        "office": "str",
        "version": "int",
        "issued_at": "str",
        "accounts": "dictlist",
    }
    LIMITS: ClassVar[dict[str, tuple[int, ...]]] = {
        "v": (0, limits.MAX_MESSAGE_VERSION),
        "office": (limits.MAX_OFFICE_ID,),
        "version": (1, limits.MAX_SAFE_INT),
        "issued_at": (limits.MAX_SHORT,),
        "accounts": (limits.MAX_ACCOUNTS,),
    }

    v: int = 1
    office: str = ""
    version: int = 1
    issued_at: str = ""
    accounts: list[JSONObject] = field(default_factory=list)

    def validate(self) -> None:
        super().validate()
        if not self.office.strip():
            raise BadMessage("office is required")
        self.entries()

    def entries(self) -> list[PublishedAccount]:
        """The accounts, each checked; :class:`BadMessage` for a bad one or a user name
        listed twice."""
        seen: set[str] = set()
        out = []
        for place, item in enumerate(self.accounts):
            try:
                account = PublishedAccount.from_dict(item)
            except BadMessage as e:
                raise _at(e, place) from e
            if account.username in seen:
                raise BadMessage(f"accounts[{place}]: user {account.username} is listed twice")
            seen.add(account.username)
            out.append(account)
        return out


def _at(error: BadMessage, place: int) -> BadMessage:
    """``error`` said of the account at ``place`` in the list (a bound keeps its field)."""
    if isinstance(error, BoundsError):
        return BoundsError(
            f"accounts[{place}].{error.field}", error.bound, f"accounts[{place}]: {error}"
        )
    return BadMessage(f"accounts[{place}]: {error}")


def account_list(
    office: str, version: int, issued_at: str, accounts: list[dict[str, Any]]
) -> AccountList:
    """The list an office signs, its display names Thai-normalised and every field
    checked as the hub will check it (:class:`BadMessage` otherwise)."""
    entries = [PublishedAccount.from_dict(a).normalized().to_dict() for a in accounts]
    msg = AccountList(office=office, version=version, issued_at=issued_at, accounts=entries)
    msg.validate()
    return msg
