"""The tiny type language of message fields, with the bounds of each field.

A message's field table (:attr:`protocol.messages.Message.FIELDS`) names each field's type:
``str``, ``int``, ``bool``, ``sha256``, ``strlist``, ``sha256list``, ``dict`` or
``dictlist``, with ``?`` when it may be null. Each type has default bounds
(:data:`DEFAULT_LIMITS`, from :mod:`protocol.limits`) that a message may narrow per field:
``(characters,)`` for text, ``(low, high)`` for an integer, ``(items, characters of one
item)`` for a list of text, ``(items,)`` for another list. A value of the wrong type
raises :class:`~protocol.errors.BadMessage`, one beyond a bound
:class:`~protocol.errors.BoundsError`. Fields a message does not know are kept, within
bounds of their own (:func:`check_extra`).

This module does not know any message; :mod:`protocol.messages` and
:mod:`protocol.hub_messages` hold the field tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import limits
from .errors import BadMessage

SHA256_HEX_LEN = 64
_HEX = frozenset("0123456789abcdef")

Spec = tuple[str, str, bool, tuple[int, ...]]
"""One field as checked: name, base type, optional, bounds."""

DEFAULT_LIMITS: dict[str, tuple[int, ...]] = {
    "str": (limits.MAX_BODY,),
    "int": (0, limits.MAX_SAFE_INT),
    "bool": (),
    "sha256": (),
    "strlist": (limits.MAX_LIST, limits.MAX_BODY),
    "sha256list": (limits.MAX_LIST,),
    "dict": (),
    "dictlist": (limits.MAX_LIST,),
}
"""The bounds of a field whose message names none of its own."""


def is_sha256(value: object) -> bool:
    """Whether ``value`` is a SHA-256 in lower-case hex."""
    return isinstance(value, str) and len(value) == SHA256_HEX_LEN and _HEX.issuperset(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_field(value: Any, expected: str, name: str, bounds: tuple[int, ...] = ()) -> Any:
    """``value`` when it is of type ``expected`` (``"int?"``...) within ``bounds`` (or its
    type's default bounds); raise BadMessage or BoundsError otherwise."""
    return check_value(value, expected.rstrip("?"), expected.endswith("?"), name, bounds)


def check_value(value: Any, base: str, optional: bool, name: str, bounds: tuple[int, ...]) -> Any:
    """:func:`check_field` with the type already split into ``base`` and ``optional``."""
    if value is None:
        if optional:
            return None
        raise BadMessage(f"field {name!r} is required")
    bounds = bounds or DEFAULT_LIMITS[base]
    ok: bool
    if base == "str":
        if isinstance(value, str):
            return limits.check_text(value, name, bounds[0])
        ok = False
    elif base == "int":
        if _is_int(value):
            return limits.check_int(value, name, bounds[0], bounds[1])
        ok = False
    elif base == "bool":
        ok = isinstance(value, bool)
    elif base == "sha256":
        ok = is_sha256(value)
    elif base == "strlist":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if ok:
            limits.check_count(value, name, bounds[0])
            for v in value:
                limits.check_text(v, f"{name}[]", bounds[1])
    elif base == "sha256list":
        ok = isinstance(value, list) and all(map(is_sha256, value))
        if ok:
            limits.check_count(value, name, bounds[0])
    elif base == "dict":
        ok = isinstance(value, dict)
        if ok:
            limits.check_depth(value, name, limits.MAX_DEPTH - 1)
    elif base == "dictlist":
        ok = isinstance(value, list) and all(isinstance(v, dict) for v in value)
        if ok:
            limits.check_count(value, name, bounds[0])
            limits.check_depth(value, name, limits.MAX_DEPTH - 1)
    else:  # pragma: no cover - programming error in a field table
        raise AssertionError(base)
    if not ok:
        raise BadMessage(f"field {name!r} must be {base}")
    return value


def check_extra(extra: Mapping[Any, Any]) -> None:
    """Fields a message does not know are kept, within bounds: text names, at most
    :data:`~protocol.limits.MAX_EXTRA_FIELDS` of them, nested at most
    :data:`~protocol.limits.MAX_DEPTH` deep, integers within
    ±:data:`~protocol.limits.MAX_SAFE_INT`, text of at most
    :data:`~protocol.limits.MAX_BODY` characters."""
    if not extra:
        return
    limits.check_count(list(extra), "unknown fields", limits.MAX_EXTRA_FIELDS)
    for key, value in extra.items():
        if not isinstance(key, str):
            raise BadMessage("field names must be text")
        limits.check_text(key, "a field name", limits.MAX_SHORT)
        if isinstance(value, str):
            limits.check_text(value, key, limits.MAX_BODY)
        elif isinstance(value, (dict, list)):
            limits.check_depth(value, key, limits.MAX_DEPTH - 1)
        elif _is_int(value):
            limits.check_int(value, key, -limits.MAX_SAFE_INT)
