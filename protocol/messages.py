"""Typed message bodies carried in envelopes.

Office-signed kinds belong to the origin office's feed and share the fields ``v``,
``origin``, ``seq``, ``prev`` and ``created_at``:

* ``letter``: an official letter sent to offices;
* ``receipt``: a recipient's answer to a letter (delivered, registered with its receipt
  number, returned with a reason, invalid);
* ``deliveries``: a recipient's ``delivered`` answer to many letters of one sender at once
  (what one pulled batch stored), the same fact as a delivered receipt for each;
* ``register``: an entry in one of the office's own registers (number issued, number
  voided, paper letter registered, status changed, provisional number);
* ``withdraw``: the sender cancels a letter not yet received.

Hub-signed kinds (no feed: ``directory``, ``ack``, ``checkpoint``, ``lease``) are in
:mod:`protocol.hub_messages`.

``from_dict`` keeps fields it does not know in ``extra`` and ``to_dict`` writes them back,
so an older peer passes a newer message through unchanged. ``created_at`` is advisory:
nothing orders or deduplicates by wall clock.

Every field is bounded (:mod:`protocol.limits`): ``from_dict`` and ``validate`` (which the
sender runs before signing) raise :class:`~protocol.errors.BoundsError` for text too long,
a list too long, an integer out of its range or unknown fields nested too deep, so an
office can neither sign nor send what a peer would refuse.

This module does not sign or verify (see :mod:`protocol.envelope`) and does not decide
whether an envelope continues its feed (see :mod:`protocol.feed`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from . import limits
from .canonical import JSONObject
from .errors import BadMessage
from .fields import Spec, check_extra, check_field, check_value
from .lettertypes import SECRECY_CLASSES, SPEED_CLASSES, TOP_SECRET, check_deadline, check_type
from .thai import normalize_thai

MAX_TEXT = limits.MAX_BODY
"""Characters of a text field that names no bound of its own."""
MAX_LIST = limits.MAX_LIST

T = TypeVar("T", bound="Message")


@dataclass
class Message:
    """Base of every message body: field table driven, unknown fields kept.

    ``FIELDS`` maps each field to its type (``str``, ``int``, ``bool``, ``sha256``,
    ``strlist``, ``sha256list``, ``dict``, ``dictlist``; ``?`` when it may be null);
    ``LIMITS`` gives a field bounds other than its type's default: ``(characters,)`` for
    text, ``(low, high)`` for an integer, ``(items, characters of one item)`` for a list of
    text, ``(items,)`` for another list. Defaults: text :data:`MAX_TEXT` characters,
    integers 0 .. :data:`~protocol.limits.MAX_SAFE_INT`, lists :data:`MAX_LIST` items.
    """

    KIND: ClassVar[str] = ""
    FIELDS: ClassVar[dict[str, str]] = {}
    LIMITS: ClassVar[dict[str, tuple[int, ...]]] = {}
    TEXT_FIELDS: ClassVar[tuple[str, ...]] = ()

    extra: dict[str, Any] = field(default_factory=dict, kw_only=True)

    @classmethod
    def specs(cls) -> tuple[Spec, ...]:
        """The field table with each field's bounds, as checked."""
        found = _SPECS.get(cls)
        if found is None:
            found = _SPECS[cls] = tuple(
                (name, expected.rstrip("?"), expected.endswith("?"), cls.LIMITS.get(name, ()))
                for name, expected in cls.FIELDS.items()
            )
        return found

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
        """Build from a parsed body, validating known fields and keeping unknown ones."""
        if not isinstance(data, Mapping):
            raise BadMessage("message body must be an object")
        fields = cls.FIELDS
        kwargs = {name: data.get(name) for name in fields}
        extra = {k: v for k, v in data.items() if k not in fields}
        check_extra(extra)
        msg = cls(**kwargs, extra=extra)
        msg.validate()
        return msg

    def to_dict(self) -> JSONObject:
        """The body as a JSON object (unknown fields included), ready to canonicalise."""
        out: JSONObject = dict(self.extra)
        for name in self.FIELDS:
            out[name] = getattr(self, name)
        return out

    def normalized(self: T, **changes: Any) -> T:
        """A copy with Thai text fields normalised, as must happen before signing, and
        ``changes`` applied first (one copy instead of two)."""
        for name in self.TEXT_FIELDS:
            value = changes[name] if name in changes else getattr(self, name)
            if isinstance(value, str):
                changes[name] = normalize_thai(value)
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        """Check every field's type and bounds, then (in subclasses, after calling this)
        the relations between fields; raise :class:`BadMessage` or
        :class:`~protocol.errors.BoundsError`."""
        for name, base, optional, bounds in self.specs():
            check_value(getattr(self, name), base, optional, name, bounds)


_SPECS: dict[type[Message], tuple[Spec, ...]] = {}


FEED_FIELDS = {"v": "int", "origin": "str", "seq": "int", "prev": "sha256?", "created_at": "str"}
FEED_LIMITS: dict[str, tuple[int, ...]] = {
    "v": (0, limits.MAX_MESSAGE_VERSION),
    "origin": (limits.MAX_OFFICE_ID,),
    "seq": (0, limits.MAX_SEQ),
    "created_at": (limits.MAX_SHORT,),
}


@dataclass
class FeedMessage(Message):
    """Fields common to every office-signed message in a feed."""

    v: int = 1
    origin: str = ""
    seq: int = 0
    prev: str | None = None
    created_at: str = ""

    def validate(self) -> None:
        super().validate()
        if self.seq < 1:
            raise BadMessage("seq starts at 1")
        if (self.seq == 1) != (self.prev is None):
            raise BadMessage("prev is null exactly when seq is 1")
        if not self.origin:
            raise BadMessage("origin is required")


MAX_ATTACHMENT_BYTES = limits.MAX_ATTACHMENT_BYTES


@dataclass
class Attachment:
    """An attachment named by content: the signature covers the hash."""

    sha256: str
    size: int
    media_type: str
    name: str

    @classmethod
    def from_dict(cls, data: Any) -> Attachment:
        """Validate one attachment entry."""
        if not isinstance(data, Mapping):
            raise BadMessage("attachment must be an object")
        sha = check_field(data.get("sha256"), "sha256", "attachment.sha256")
        size = check_field(data.get("size"), "int", "attachment.size", (0, MAX_ATTACHMENT_BYTES))
        media = check_field(
            data.get("media_type"), "str", "attachment.media_type", (limits.MAX_SHORT,)
        )
        name = check_field(data.get("name"), "str", "attachment.name", (limits.MAX_NAME,))
        return cls(sha, size, media, normalize_thai(name))

    def to_dict(self) -> JSONObject:
        """JSON form."""
        return dataclasses.asdict(self)


@dataclass
class Letter(FeedMessage):
    """An official letter (หนังสือราชการ) from ``origin`` to ``recipients``.

    ``recipients`` is the explicit list of office ids the sender resolved (distribution
    lists expanded from the directory at compose time); ``lists`` records the list names the
    clerk chose, for display. ``number`` is the display form (``ชม 0017.3/1234``) or null
    for a letter that carries no number.
    """

    KIND: ClassVar[str] = "letter"
    FIELDS: ClassVar[dict[str, str]] = {
        **FEED_FIELDS,
        "letter_type": "str",
        "sub_type": "str?",
        "subject": "str",
        "number": "str?",
        "register": "str?",
        "letter_date": "str",
        "speed": "str",
        "secrecy": "str",
        "sender": "str",
        "salutation": "str",
        "body": "str",
        "references": "strlist",
        "enclosures": "strlist",
        "deadline": "str?",
        "recipients": "strlist",
        "lists": "strlist",
        "attachments": "dictlist",
        "supersedes": "sha256?",
    }
    LIMITS: ClassVar[dict[str, tuple[int, ...]]] = {
        **FEED_LIMITS,
        "letter_type": (limits.MAX_SHORT,),
        "sub_type": (limits.MAX_SHORT,),
        "subject": (limits.MAX_SUBJECT,),
        "number": (limits.MAX_NUMBER_TEXT,),
        "register": (limits.MAX_SHORT,),
        "letter_date": (limits.MAX_SHORT,),
        "speed": (limits.MAX_SHORT,),
        "secrecy": (limits.MAX_SHORT,),
        "sender": (limits.MAX_NAME,),
        "salutation": (limits.MAX_NAME,),
        "body": (limits.MAX_BODY,),
        "references": (limits.MAX_LIST, limits.MAX_LINE),
        "enclosures": (limits.MAX_LIST, limits.MAX_LINE),
        "deadline": (limits.MAX_SHORT,),
        "recipients": (limits.MAX_RECIPIENTS, limits.MAX_OFFICE_ID),
        "lists": (limits.MAX_LIST, limits.MAX_NAME),
        "attachments": (limits.MAX_ATTACHMENTS,),
    }
    TEXT_FIELDS: ClassVar[tuple[str, ...]] = (
        "subject",
        "number",
        "sender",
        "salutation",
        "body",
    )

    letter_type: str = "ภายนอก"
    sub_type: str | None = None
    subject: str = ""
    number: str | None = None
    register: str | None = None
    letter_date: str = ""
    speed: str = ""
    secrecy: str = ""
    sender: str = ""
    salutation: str = ""
    body: str = ""
    references: list[str] = field(default_factory=list)
    enclosures: list[str] = field(default_factory=list)
    deadline: str | None = None
    recipients: list[str] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)
    attachments: list[JSONObject] = field(default_factory=list)
    supersedes: str | None = None

    def validate(self) -> None:
        super().validate()
        if not self.subject.strip():
            raise BadMessage("a letter needs a subject")
        if not self.recipients:
            raise BadMessage("a letter needs at least one recipient")
        if len(set(self.recipients)) != len(self.recipients):
            raise BadMessage("a recipient is listed twice")
        if self.origin in self.recipients:
            raise BadMessage("an office does not send a letter to itself")
        check_type(self.letter_type, self.sub_type)
        if self.speed not in SPEED_CLASSES:
            raise BadMessage(f"unknown speed class {self.speed!r}")
        check_deadline(self.speed, self.deadline)
        if self.secrecy not in SECRECY_CLASSES:
            raise BadMessage(f"unknown secrecy class {self.secrecy!r}")
        if self.secrecy == TOP_SECRET:
            raise BadMessage("ลับที่สุด letters are never sent electronically")
        for a in self.attachments:
            Attachment.from_dict(a)

    def attachment_list(self) -> list[Attachment]:
        """The attachments, typed."""
        return [Attachment.from_dict(a) for a in self.attachments]


RECEIPT_STATUSES = ("delivered", "registered", "returned", "invalid")


@dataclass
class Receipt(FeedMessage):
    """A recipient's answer to a letter, naming the exact bytes it received.

    ``status``: ``delivered`` (stored at the recipient: the legal time of receipt),
    ``registered`` (ลงรับ, with ``receipt_number`` and ``registered_at``), ``returned``
    (ส่งคืน, with ``reason``), ``invalid`` (the letter failed checks at the recipient).
    """

    KIND: ClassVar[str] = "receipt"
    FIELDS: ClassVar[dict[str, str]] = {
        **FEED_FIELDS,
        "letter": "sha256",
        "letter_origin": "str",
        "status": "str",
        "at": "str",
        "receipt_number": "str?",
        "reason": "str?",
        "attachments": "sha256list",
    }
    LIMITS: ClassVar[dict[str, tuple[int, ...]]] = {
        **FEED_LIMITS,
        "letter_origin": (limits.MAX_OFFICE_ID,),
        "status": (limits.MAX_SHORT,),
        "at": (limits.MAX_SHORT,),
        "receipt_number": (limits.MAX_NUMBER_TEXT,),
        "reason": (limits.MAX_REASON,),
        "attachments": (limits.MAX_ATTACHMENTS,),
    }
    TEXT_FIELDS: ClassVar[tuple[str, ...]] = ("reason", "receipt_number")

    letter: str = ""
    letter_origin: str = ""
    status: str = "delivered"
    at: str = ""
    receipt_number: str | None = None
    reason: str | None = None
    attachments: list[str] = field(default_factory=list)

    def validate(self) -> None:
        super().validate()
        if self.status not in RECEIPT_STATUSES:
            raise BadMessage(f"unknown receipt status {self.status!r}")
        if self.status == "registered" and not self.receipt_number:
            raise BadMessage("a registered receipt carries the receipt number")
        if self.status in ("returned", "invalid") and not (self.reason or "").strip():
            raise BadMessage("a returned or invalid receipt carries a reason")


@dataclass
class Deliveries(FeedMessage):
    """A recipient's ``delivered`` answer to many letters of one sender, stored here at one
    time: for each letter named, the same fact as a :class:`Receipt` with status
    ``delivered`` (ADR 0028). A letter's env_id pins its bytes and the hashes of its
    attachments, which are all held here before it is named.

    A node signs one per pulled batch, sender and time of receipt instead of one receipt
    per letter; :meth:`receipts` gives the receipt each letter would have had, which is how
    the hub routes and counts them and how the sender tracks its letters.
    """

    KIND: ClassVar[str] = "deliveries"
    FIELDS: ClassVar[dict[str, str]] = {
        **FEED_FIELDS,
        "letter_origin": "str",
        "letters": "sha256list",
        "at": "str",
    }
    LIMITS: ClassVar[dict[str, tuple[int, ...]]] = {
        **FEED_LIMITS,
        "letter_origin": (limits.MAX_OFFICE_ID,),
        "letters": (limits.MAX_DELIVERIES,),
        "at": (limits.MAX_SHORT,),
    }

    letter_origin: str = ""
    letters: list[str] = field(default_factory=list)
    at: str = ""

    def validate(self) -> None:
        super().validate()
        if not self.letters:
            raise BadMessage("deliveries name at least one letter")
        if len(set(self.letters)) != len(self.letters):
            raise BadMessage("deliveries name each letter once")
        if not self.letter_origin:
            raise BadMessage("deliveries name the letters' sender")

    def receipts(self) -> list[Receipt]:
        """The ``delivered`` receipt of each letter named, as this office would have
        signed it alone (same origin, seq and times; no attachments list)."""
        return [
            Receipt(
                v=self.v,
                origin=self.origin,
                seq=self.seq,
                prev=self.prev,
                created_at=self.created_at,
                letter=letter,
                letter_origin=self.letter_origin,
                status="delivered",
                at=self.at,
            )
            for letter in self.letters
        ]


REGISTER_ACTIONS = ("issued", "voided", "paper_registered", "status_changed", "reserved")


@dataclass
class RegisterEntry(FeedMessage):
    """An entry in one of the origin's registers, for the hub's numbering ledger.

    ``register`` is a register id (``ชม 0017|ส่ง|2569``). ``provisional`` marks a number
    issued offline after a shared register's lease ran out; its ``provisional_id`` is how
    the hub's finalisation finds it again.
    """

    KIND: ClassVar[str] = "register"
    FIELDS: ClassVar[dict[str, str]] = {
        **FEED_FIELDS,
        "register": "str",
        "action": "str",
        "number": "int?",
        "display": "str?",
        "letter": "sha256?",
        "reason": "str?",
        "status": "str?",
        "subject": "str?",
        "provisional": "bool",
        "provisional_id": "str?",
    }
    LIMITS: ClassVar[dict[str, tuple[int, ...]]] = {
        **FEED_LIMITS,
        "register": (limits.MAX_SHORT,),
        "action": (limits.MAX_SHORT,),
        "number": (0, limits.MAX_RUNNING_NUMBER),
        "display": (limits.MAX_NUMBER_TEXT,),
        "reason": (limits.MAX_REASON,),
        "status": (limits.MAX_SHORT,),
        "subject": (limits.MAX_SUBJECT,),
        "provisional_id": (limits.MAX_SHORT,),
    }
    TEXT_FIELDS: ClassVar[tuple[str, ...]] = ("display", "reason", "status", "subject")

    register: str = ""
    action: str = "issued"
    number: int | None = None
    display: str | None = None
    letter: str | None = None
    reason: str | None = None
    status: str | None = None
    subject: str | None = None
    provisional: bool = False
    provisional_id: str | None = None

    def validate(self) -> None:
        super().validate()
        if self.action not in REGISTER_ACTIONS:
            raise BadMessage(f"unknown register action {self.action!r}")
        if self.action in ("issued", "voided", "reserved", "paper_registered"):
            if self.provisional:
                if not self.provisional_id:
                    raise BadMessage("a provisional number needs a provisional_id")
            elif self.number is None or self.number < 1:
                raise BadMessage("a register entry needs a number from 1")
        if self.action == "voided" and not (self.reason or "").strip():
            raise BadMessage("a voided number needs a reason")


@dataclass
class Withdraw(FeedMessage):
    """The sender cancels a letter that recipients have not yet registered."""

    KIND: ClassVar[str] = "withdraw"
    FIELDS: ClassVar[dict[str, str]] = {
        **FEED_FIELDS,
        "letter": "sha256",
        "reason": "str",
        "recipients": "strlist",
    }
    LIMITS: ClassVar[dict[str, tuple[int, ...]]] = {
        **FEED_LIMITS,
        "reason": (limits.MAX_REASON,),
        "recipients": (limits.MAX_RECIPIENTS, limits.MAX_OFFICE_ID),
    }
    TEXT_FIELDS: ClassVar[tuple[str, ...]] = ("reason",)

    letter: str = ""
    reason: str = ""
    recipients: list[str] = field(default_factory=list)

    def validate(self) -> None:
        super().validate()
        if not self.reason.strip():
            raise BadMessage("a withdrawal needs a reason")


FEED_KINDS: dict[str, type[FeedMessage]] = {
    cls.KIND: cls for cls in (Letter, Receipt, Deliveries, RegisterEntry, Withdraw)
}


def parse_feed_message(kind: str, body: Mapping[str, Any]) -> FeedMessage:
    """Typed office-signed message of ``kind``; raise BadMessage for a hub or unknown kind."""
    cls = FEED_KINDS.get(kind)
    if cls is None:
        raise BadMessage(f"{kind!r} is not an office message kind")
    return cls.from_dict(body)
