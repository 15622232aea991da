"""Typed bodies of the envelopes the hub signs: ``directory``, ``ack``, ``checkpoint``,
``lease``.

They belong to no office's feed: the hub issues them, and nodes verify them against the
hub keys they pinned at enrollment. Like the office kinds of :mod:`protocol.messages`,
``from_dict`` keeps unknown fields so an older node passes a newer message through.
:func:`finalised_display` says how a provisional letter number reads once a ``lease``
finalisation has made it final, the same at the hub and at every node.

This module does not sign or verify (see :mod:`protocol.envelope`) and does not decide
whether a directory may replace the one a node holds (see :mod:`protocol.directory`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from . import limits
from .canonical import JSONObject
from .errors import BadLetterNumber, BadMessage
from .keys import b64decode
from .messages import Message
from .numbers import parse_letter_number

MAX_KEYS_PER_OFFICE = 100
"""Keys one office may list in the directory (every key it ever had, retired included)."""
_PUBLIC_KEY_BYTES = 32


def _text(value: Any, name: str, limit: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise BadMessage(f"{name} must be text")
    limits.check_text(value, name, limit)


def _text_list(value: Any, name: str, item_limit: int) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadMessage(f"{name} must be a list of text")
    limits.check_count(value, name, limits.MAX_LIST)
    for item in value:
        limits.check_text(item, f"{name}[]", item_limit)


def _key_entry(entry: Any, name: str) -> None:
    """A key as the directory lists it: ``keyid``, base64 ``public`` (32 bytes), and
    optionally ``status`` and ``last_seq``."""
    if not isinstance(entry, dict):
        raise BadMessage(f"{name} entries must be objects")
    _text(entry.get("keyid"), f"{name}.keyid", limits.MAX_OFFICE_ID)
    public = entry.get("public")
    _text(public, f"{name}.public", limits.MAX_SHORT)
    if len(b64decode(str(public))) != _PUBLIC_KEY_BYTES:
        raise BadMessage(f"{name}.public must be a {_PUBLIC_KEY_BYTES}-byte key")
    _text(entry.get("status"), f"{name}.status", limits.MAX_SHORT, optional=True)
    last_seq = entry.get("last_seq")
    if last_seq is not None:
        if not isinstance(last_seq, int) or isinstance(last_seq, bool):
            raise BadMessage(f"{name}.last_seq must be an integer")
        limits.check_int(last_seq, f"{name}.last_seq", 0, limits.MAX_SEQ)


@dataclass
class Directory(Message):
    """The hub-signed, versioned directory of offices, their keys and distribution lists.

    ``offices`` entries: ``{"id", "name", "group", "status", "keys": [{"keyid", "public",
    "status"}], "seal_public"}`` with status ``enrolled`` / ``pending`` / ``revoked``; a
    key's status is ``active``, ``retired`` (rotated away, with ``last_seq``: the office's
    last seq when it was retired, the most it may have signed) or ``revoked``.
    ``lists``: ``{name: {"title", "members": [office id, ...]}}``. ``shared_registers``:
    ``[{"owner", "series", "basis", "members": [office id, ...]}]``, the registers numbered
    by the hub through leases. ``hub_keys`` lists the hub
    signing keys the next directory may be signed with (key rotation).
    """

    KIND: ClassVar[str] = "directory"
    FIELDS: ClassVar[dict[str, str]] = {
        "v": "int",
        "version": "int",
        "issued_at": "str",
        "hub_keys": "dictlist",
        "offices": "dictlist",
        "lists": "dict",
        "shared_registers": "dictlist",
    }
    LIMITS: ClassVar[dict[str, tuple[int, ...]]] = {
        "v": (0, limits.MAX_MESSAGE_VERSION),
        "issued_at": (limits.MAX_SHORT,),
        "hub_keys": (limits.MAX_SIGNATURES,),
    }

    v: int = 1
    version: int = 0
    issued_at: str = ""
    hub_keys: list[JSONObject] = field(default_factory=list)
    offices: list[JSONObject] = field(default_factory=list)
    lists: JSONObject = field(default_factory=dict)
    shared_registers: list[JSONObject] = field(default_factory=list)

    def validate(self) -> None:
        super().validate()
        if self.version < 1:
            raise BadMessage("directory version starts at 1")
        for key in self.hub_keys:
            _key_entry(key, "hub_keys")
        for o in self.offices:
            if not isinstance(o.get("id"), str) or not isinstance(o.get("keys", []), list):
                raise BadMessage("directory office entries need an id and keys")
            limits.check_text(o["id"], "offices.id", limits.MAX_OFFICE_ID)
            _text(o.get("status"), "offices.status", limits.MAX_SHORT, optional=True)
            keys = o.get("keys", [])
            limits.check_count(keys, "offices.keys", MAX_KEYS_PER_OFFICE)
            for key in keys:
                _key_entry(key, "offices.keys")
        limits.check_count(list(self.lists), "lists", limits.MAX_LIST)
        for name, entry in self.lists.items():
            limits.check_text(name, "lists name", limits.MAX_NAME)
            if not isinstance(entry, dict):
                raise BadMessage(f"list {name!r} must be an object")
            _text_list(entry.get("members", []), "lists.members", limits.MAX_OFFICE_ID)
        for register in self.shared_registers:
            _text(register.get("owner"), "shared_registers.owner", limits.MAX_OFFICE_ID)
            _text(register.get("series"), "shared_registers.series", limits.MAX_SHORT)
            _text_list(
                register.get("members", []), "shared_registers.members", limits.MAX_OFFICE_ID
            )


@dataclass
class Ack(Message):
    """The hub's signed statement of the last accepted envelope of an office's feed."""

    KIND: ClassVar[str] = "ack"
    FIELDS: ClassVar[dict[str, str]] = {
        "v": "int",
        "office": "str",
        "last_seq": "int",
        "head": "sha256?",
        "at": "str",
    }
    LIMITS: ClassVar[dict[str, tuple[int, ...]]] = {
        "v": (0, limits.MAX_MESSAGE_VERSION),
        "office": (limits.MAX_OFFICE_ID,),
        "last_seq": (0, limits.MAX_SEQ),
        "at": (limits.MAX_SHORT,),
    }

    v: int = 1
    office: str = ""
    last_seq: int = 0
    head: str | None = None
    at: str = ""


@dataclass
class Checkpoint(Message):
    """Signed with every pull: hub time, expiry and the office's last accepted seq."""

    KIND: ClassVar[str] = "checkpoint"
    FIELDS: ClassVar[dict[str, str]] = {
        "v": "int",
        "office": "str",
        "hub_time": "str",
        "expires_at": "str",
        "last_seq": "int",
        "cursor": "str",
        "directory_version": "int",
    }
    LIMITS: ClassVar[dict[str, tuple[int, ...]]] = {
        "v": (0, limits.MAX_MESSAGE_VERSION),
        "office": (limits.MAX_OFFICE_ID,),
        "hub_time": (limits.MAX_SHORT,),
        "expires_at": (limits.MAX_SHORT,),
        "last_seq": (0, limits.MAX_SEQ),
        "cursor": (limits.MAX_SHORT,),
    }

    v: int = 1
    office: str = ""
    hub_time: str = ""
    expires_at: str = ""
    last_seq: int = 0
    cursor: str = ""
    directory_version: int = 0


LEASE_ACTIONS = ("grant", "finalise")


@dataclass
class Lease(Message):
    """Hub-signed numbering decision for a shared register.

    ``grant``: the numbers ``start`` .. ``end`` of ``register`` are the office's to issue
    offline. ``finalise``: the provisional number ``provisional_id`` of ``office`` becomes
    ``number``. A finalisation also names, when the hub knows them, the provisional number
    as written (``provisional_display``, ``มท 0200/ว (ชั่วคราว 1)``), the final one as
    written (``display``, ``มท 0200/ว 183``) and the env_id of the ``letter`` that carried
    it; the hub delivers it to the office and to every recipient of that letter, which
    finds the letter by ``letter`` or by ``office``, ``register`` and
    ``provisional_display``. These three fields are optional: finalisations signed before
    them carry none.
    """

    KIND: ClassVar[str] = "lease"
    FIELDS: ClassVar[dict[str, str]] = {
        "v": "int",
        "office": "str",
        "register": "str",
        "action": "str",
        "start": "int?",
        "end": "int?",
        "provisional_id": "str?",
        "number": "int?",
        "at": "str",
        "letter": "sha256?",
        "provisional_display": "str?",
        "display": "str?",
    }
    LIMITS: ClassVar[dict[str, tuple[int, ...]]] = {
        "v": (0, limits.MAX_MESSAGE_VERSION),
        "office": (limits.MAX_OFFICE_ID,),
        "register": (limits.MAX_SHORT,),
        "action": (limits.MAX_SHORT,),
        "start": (0, limits.MAX_RUNNING_NUMBER),
        "end": (0, limits.MAX_RUNNING_NUMBER),
        "provisional_id": (limits.MAX_SHORT,),
        "number": (0, limits.MAX_RUNNING_NUMBER),
        "at": (limits.MAX_SHORT,),
        "provisional_display": (limits.MAX_NUMBER_TEXT,),
        "display": (limits.MAX_NUMBER_TEXT,),
    }

    v: int = 1
    office: str = ""
    register: str = ""
    action: str = "grant"
    start: int | None = None
    end: int | None = None
    provisional_id: str | None = None
    number: int | None = None
    at: str = ""
    letter: str | None = None
    provisional_display: str | None = None
    display: str | None = None

    def validate(self) -> None:
        super().validate()
        if self.action not in LEASE_ACTIONS:
            raise BadMessage(f"unknown lease action {self.action!r}")
        if self.action == "grant" and not (
            self.start is not None and self.end is not None and 1 <= self.start <= self.end
        ):
            raise BadMessage("a grant needs 1 <= start <= end")
        if self.action == "finalise" and not (self.provisional_id and self.number):
            raise BadMessage("a finalisation needs provisional_id and number")
        if self.action != "finalise" and (self.letter or self.provisional_display or self.display):
            raise BadMessage("only a finalisation names a letter and its numbers")


def finalised_display(provisional: str, number: int) -> str | None:
    """The provisional letter number ``provisional`` as written once it is ``number``.

    ``มท 0200/ว (ชั่วคราว 1)`` finalised as 183 is ``มท 0200/ว 183``; an instrument keeps
    its issuer and year. None when ``provisional`` is not a provisional letter number (a
    receipt register's bare ``(ชั่วคราว 3)``, or a number that is already final).
    """
    try:
        parsed = parse_letter_number(provisional)
        if not parsed.provisional:
            return None
        return replace(parsed, number=number, provisional=False).format()
    except BadLetterNumber:
        return None


HUB_KINDS: dict[str, type[Message]] = {cls.KIND: cls for cls in (Directory, Ack, Checkpoint, Lease)}


def parse_hub_message(kind: str, body: Mapping[str, Any]) -> Message:
    """Typed hub-signed message of ``kind``; raise BadMessage for an office or unknown kind."""
    cls = HUB_KINDS.get(kind)
    if cls is None:
        raise BadMessage(f"{kind!r} is not a hub message kind")
    return cls.from_dict(body)
