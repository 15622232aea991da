"""RFC 8785 canonical JSON: the only form in which a signed body may travel.

Serialisation takes a fast path on the subset where ``orjson.dumps`` with sorted keys
produces the RFC 8785 bytes (ADR 0005, ADR 0017): no floats, integers within
±(2**53 - 1), object keys made only of code points below U+D800 (where UTF-16 and
code-point order agree), and only plain ``dict``, ``list``, ``str``, ``int``, ``bool`` and
``None``. Everything else goes to the ``rfc8785`` package, which stays the reference; a
property test checks the two agree. Every message this project signs lies in the subset.

Parsing checks that the bytes are exactly the canonical form of what they decode to, so a
signature can be verified over the received bytes and the parsed value can never differ
from what was signed. It parses once and compares the bytes with one serialisation of the
parsed value; any difference, and anything outside the subset, is decided again by the
reference path, which also names what is wrong (duplicate key, not UTF-8, not an object).

This module does not sign, verify or normalise text; see :mod:`protocol.envelope` and
:mod:`protocol.thai`.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import rfc8785

from .errors import NotCanonical

JSONObject = dict[str, Any]

_FAST_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
"""Sorted keys (code-point order), and integers beyond ±(2**53 - 1) refused."""
_UTF16_ORDER_SAFE = "\ud800"
_SCALARS = frozenset({str, int, bool, type(None)})
"""Exact types whose fast serialisation is RFC 8785's (int's range is orjson's check)."""


def _object_in_subset(obj: dict[Any, Any]) -> bool:
    try:
        keys = "".join(obj)  # one check of every key's code points
    except TypeError:
        return False
    if not keys.isascii() and max(keys) >= _UTF16_ORDER_SAFE:
        return False
    for value in obj.values():
        kind = type(value)
        if kind in _SCALARS:
            continue
        if kind is list:
            for item in value:  # most lists hold only strings: no call for them
                if type(item) not in _SCALARS:
                    break
            else:
                continue
            if not _array_in_subset(value):
                return False
        elif kind is dict:
            if not _object_in_subset(value):
                return False
        else:
            return False
    return True


def _array_in_subset(items: list[Any]) -> bool:
    for value in items:
        kind = type(value)
        if kind in _SCALARS:
            continue
        if kind is list:
            if not _array_in_subset(value):
                return False
        elif kind is dict:
            if not _object_in_subset(value):
                return False
        else:
            return False
    return True


def _in_subset(value: Any) -> bool:
    kind = type(value)
    try:
        if kind is dict:
            return _object_in_subset(value)
        if kind is list:
            return _array_in_subset(value)
    except RecursionError:
        return False
    return kind in _SCALARS


def _fast_bytes(value: Any) -> bytes | None:
    """The canonical bytes of a value in the subset, or None to take the reference path
    (an integer out of range, a lone surrogate, nesting deeper than orjson goes)."""
    try:
        return orjson.dumps(value, option=_FAST_OPTIONS)
    except orjson.JSONEncodeError:
        return None


def canonical_bytes(value: Any) -> bytes:
    """Serialise ``value`` as RFC 8785 canonical JSON (UTF-8 bytes)."""
    if _in_subset(value):
        try:
            return orjson.dumps(value, option=_FAST_OPTIONS)
        except orjson.JSONEncodeError:
            pass  # an integer out of range, a lone surrogate, nesting deeper than orjson's
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as e:
        raise NotCanonical(f"value cannot be canonicalised: {e}") from e


def parse_json(data: bytes) -> Any:
    """``json.loads(data)``, faster: the same value, or the same error, for every input.

    orjson parses first; its value is taken when it lies in the canonical subset (above),
    where the two parsers agree. Anything else (a float, an integer orjson would read as
    one, NaN, invalid input) is parsed again by ``json.loads``, which raises as it always
    did.
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
    if _in_subset(value):
        return value
    return json.loads(data)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> JSONObject:
    obj: JSONObject = {}
    for key, value in pairs:
        if key in obj:
            raise NotCanonical(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def parse_canonical(data: bytes) -> JSONObject:
    """Parse ``data`` as a JSON object, insisting that it is in canonical form.

    Raises :class:`NotCanonical` for invalid UTF-8, invalid JSON, duplicate keys, a top
    level that is not an object, or any byte that differs from the canonical serialisation.
    """
    # A duplicate key loses a member, and NaN, whitespace or an escape that need not be
    # there change the bytes, so an exact match of a subset value is canonical as it stands.
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        value = None
    if type(value) is dict and _in_subset(value) and _fast_bytes(value) == data:
        return value
    return _parse_reference(data)


def _parse_reference(data: bytes) -> JSONObject:
    """:func:`parse_canonical` without the fast path: slower, and says what is wrong."""
    try:
        text = data.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError) as e:  # bad UTF-8 or JSON, an int of 4,300 digits
        raise NotCanonical(f"body is not valid UTF-8 JSON: {e}") from e
    if not isinstance(value, dict):
        raise NotCanonical("body is not a JSON object")
    if canonical_bytes(value) != data:
        raise NotCanonical("body is not in RFC 8785 canonical form")
    return value
