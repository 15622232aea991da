"""Reading the JSON body of a request, strictly, with its limits checked before parsing.

The hub's API and a node's local API read every JSON body with :func:`parse_request_json`:

* nesting is measured on the bytes first (:func:`nesting_depth`: strings dropped with
  bytes methods, then a running sum over the brackets), so a body nested deeper than
  ``max_depth`` is refused before any parser recurses into it;
* the body is then parsed by orjson, which refuses what :func:`json.loads` lets through:
  invalid UTF-8, a byte order mark, NaN and Infinity, a number that overflows a double,
  and a lone surrogate (``"\\ud800"``);
* every number must lie within ±:data:`~protocol.limits.MAX_SAFE_INT`, the range all
  messages keep to and far inside SQLite's, so no integer beyond it reaches a database.

Malformed input raises :class:`~protocol.errors.BadJSON`; a body out of bounds
:class:`~protocol.errors.BoundsError`, naming the bound. The size of the body is bounded
by whoever reads it from the network (the hub's and the node's per-route limits). A key
given twice keeps its last value, as in any JSON reader: a request body is not signed
content, and a signed body inside it refuses duplicates when it is verified
(:func:`protocol.canonical.parse_canonical`).

This module does not check what a body means (each endpoint does), nor parse signed
message bodies, which must be canonical (:func:`protocol.canonical.parse_canonical`).
"""

from __future__ import annotations

import re
from array import array
from itertools import accumulate
from typing import Any

import orjson

from .errors import BadJSON, BoundsError
from .limits import MAX_DEPTH, MAX_SAFE_INT

_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
"""Openers to +1 and closers to -1 (as signed bytes)."""
_MAYBE_BEYOND = re.compile(rb"\d{16}|\d[.eE]")
"""Outside strings, the only way to a number beyond 15 digits or a non-integer."""


def nesting_depth(data: bytes) -> int:
    """How deep arrays and objects nest in the JSON text ``data``, read from its bytes
    without parsing (brackets inside strings do not count). Exact for valid JSON; for
    invalid JSON an estimate the parser refuses anyway."""
    return _depth(_skeleton(data))


def _skeleton(data: bytes) -> bytes:
    """``data`` without its strings: what is left is brackets, numbers and words.

    Outside strings valid JSON has no backslash, so escaped backslashes, then escaped
    quotes, can be dropped first; every quote left opens or closes a string. Only bytes
    methods run, so a body of long strings (base64) costs a few copies, not a scan in
    Python."""
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(data.split(b'"')[::2])


def _depth(skeleton: bytes) -> int:
    brackets = skeleton.translate(_BRACKET_STEP, _NOT_BRACKET)
    if len(brackets) < 2:
        return len(brackets)
    deepest = max(accumulate(array("b", brackets)))
    return max(deepest, 0)


def parse_request_json(data: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The value of the JSON request body ``data``, read strictly (see the module)."""
    skeleton = _skeleton(data)
    if _depth(skeleton) > max_depth:
        raise BoundsError(
            "body",
            f"nesting at most {max_depth} deep",
            f"the JSON body nests deeper than {max_depth}",
        )
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise BadJSON(f"body is not valid JSON: {e}") from e
    if _MAYBE_BEYOND.search(skeleton) is not None:
        _check_numbers(value)
    return value


def _check_numbers(value: Any) -> None:
    """Refuse any number in ``value`` beyond ±MAX_SAFE_INT (nesting is already bounded)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            if not -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
                raise BoundsError(
                    "body",
                    f"numbers within ±{MAX_SAFE_INT}",
                    f"a number in the JSON body is beyond ±{MAX_SAFE_INT} (2**53 - 1)",
                )
