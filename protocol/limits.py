"""The bounds of everything the protocol carries, in one place for the hub and every node.

Every value another party sends is bounded before it is used, so that no input can make a
peer allocate, loop or store without limit; a value out of bounds raises
:class:`~protocol.errors.BoundsError` naming the field and the bound.

Numbers

* ``MAX_SAFE_INT`` (2**53 - 1): the largest integer any message field may hold (the JSON
  interoperable range; canonical JSON refuses larger ones anyway), far below SQLite's 2**63.
* ``MAX_RUNNING_NUMBER`` (999,999): the largest running number of a register in one year,
  in a ``register`` entry, a ``lease`` and a letter number as typed.
* ``MAX_SEQ``: the largest feed seq; ``MAX_MESSAGE_VERSION``: the largest body ``v``.
* ``MAX_ATTACHMENT_BYTES`` (200 MiB): the largest attachment a letter may cite.

Text (characters, after Thai normalisation)

* ``MAX_SUBJECT`` 500 (as the clerk's compose page), ``MAX_BODY`` 20,000, ``MAX_NAME`` 300
  (sender, salutation, attachment and list names), ``MAX_REASON`` 2,000, ``MAX_LINE``
  5,000 (one อ้างถึง or สิ่งที่ส่งมาด้วย item), ``MAX_NUMBER_TEXT`` 200 (a letter number),
  ``MAX_OFFICE_ID`` 64 (an office id or key id), ``MAX_SHORT`` 200 (a class, status,
  date, time or id).

Counts

* ``MAX_RECIPIENTS`` 5,000 offices per letter, ``MAX_ATTACHMENTS`` 100 per letter,
  ``MAX_DELIVERIES`` 1,000 letters one ``deliveries`` envelope names,
  ``MAX_LIST`` 5,000 items in any other list, ``MAX_SIGNATURES`` 4 per envelope,
  ``MAX_EXTRA_FIELDS`` 100 fields a receiver does not know in one body,
  ``MAX_ACCOUNTS`` 3,000 accounts in one office's ``accounts`` envelope, each with at
  most ``MAX_ACCOUNT_ROLES`` 16 roles.

Shapes

* ``MAX_DEPTH`` 16: nesting of arrays and objects inside a message body (fields the
  receiver does not know included); ``MAX_ENVELOPE_BYTES`` 4 MiB: one envelope's body.

The HTTP limits (batch sizes, request body size, chunk size) are in :mod:`protocol.api`.

This module holds constants and the checks that apply them; it does not decide which field
gets which bound (each message's field table does, in :mod:`protocol.messages` and
:mod:`protocol.hub_messages`).
"""

from __future__ import annotations

from typing import Any

from .errors import BoundsError

MAX_SAFE_INT = 2**53 - 1
"""Largest integer in any message field."""
MAX_RUNNING_NUMBER = 999_999
"""Largest running number of a register; anything bigger is a typing error, not a busy unit."""
MAX_SEQ = MAX_SAFE_INT
"""Largest seq of an office's feed."""
MAX_MESSAGE_VERSION = 999
"""Largest ``v`` of a message body (the payload type's version has three digits)."""
MAX_ATTACHMENT_BYTES = 200 * 1024 * 1024
"""Largest attachment a letter may cite."""

MAX_SUBJECT = 500
"""Characters of a letter's subject (เรื่อง)."""
MAX_BODY = 20_000
"""Characters of a letter's text."""
MAX_NAME = 300
"""Characters of a sender, salutation, attachment name or list name."""
MAX_REASON = 2_000
"""Characters of a reason (returned, voided, withdrawn)."""
MAX_LINE = 5_000
"""Characters of one reference or enclosure line."""
MAX_NUMBER_TEXT = 200
"""Characters of a letter number as written or typed."""
MAX_OFFICE_ID = 64
"""Characters of an office id or key id."""
MAX_SHORT = 200
"""Characters of a class, status, action, date, time, media type or id."""

MAX_RECIPIENTS = 5_000
"""Offices one letter is addressed to."""
MAX_ATTACHMENTS = 100
"""Attachments one letter cites."""
MAX_DELIVERIES = 1_000
"""Letters one ``deliveries`` envelope names (a node signs one per pulled batch and sender)."""
MAX_LIST = 5_000
"""Items of any other list in a message."""
MAX_SIGNATURES = 4
"""Signatures on one envelope."""
MAX_EXTRA_FIELDS = 100
"""Fields of a message body that its receiver does not know (kept and passed on)."""
MAX_ACCOUNTS = 3_000
"""Accounts one office publishes in one ``accounts`` envelope (:mod:`protocol.accounts`)."""
MAX_ACCOUNT_ROLES = 16
"""Roles of one published account."""

MAX_DEPTH = 16
"""Nesting of arrays and objects in a message body."""
MAX_ENVELOPE_BYTES = 4 * 1024 * 1024
"""Bytes of one envelope's body."""


def shown_int(value: int) -> str:
    """An integer for an error message: its digits, or its size when it has too many to
    print (Python refuses to print more than 4,300 digits)."""
    if value.bit_length() <= 64:
        return str(value)
    return f"a {value.bit_length()}-bit {'negative ' if value < 0 else ''}number"


def check_int(value: int, name: str, low: int = 0, high: int = MAX_SAFE_INT) -> int:
    """``value`` when ``low <= value <= high``; :class:`BoundsError` otherwise."""
    if value < low:
        raise BoundsError(
            name, f"at least {low}", f"field {name!r} is {shown_int(value)}, below {low}"
        )
    if value > high:
        raise BoundsError(
            name, f"at most {high}", f"field {name!r} is {shown_int(value)}, above {high}"
        )
    return value


def check_text(value: str, name: str, limit: int) -> str:
    """``value`` when it has at most ``limit`` characters; :class:`BoundsError` otherwise."""
    if len(value) > limit:
        raise BoundsError(
            name,
            f"at most {limit} characters",
            f"field {name!r} has {len(value)} characters, more than {limit}",
        )
    return value


def check_count(items: list[Any], name: str, limit: int) -> list[Any]:
    """``items`` when there are at most ``limit``; :class:`BoundsError` otherwise."""
    if len(items) > limit:
        raise BoundsError(
            name,
            f"at most {limit} items",
            f"field {name!r} has {len(items)} items, more than {limit}",
        )
    return items


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep arrays and objects nest in ``value`` (a scalar is 0), counted without
    recursion and no further than ``limit + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if depth > limit:
            return depth
        stack.extend((c, depth) for c in children if isinstance(c, (dict, list)))
    return deepest


def check_depth(value: Any, name: str, limit: int = MAX_DEPTH) -> Any:
    """``value`` when arrays and objects nest at most ``limit`` deep in it; else
    :class:`BoundsError`."""
    if depth_of(value, limit) > limit:
        raise BoundsError(
            name, f"nesting at most {limit} deep", f"field {name!r} nests deeper than {limit}"
        )
    return value
