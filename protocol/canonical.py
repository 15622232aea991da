"""RFC 8785 canonical JSON: the only form in which a signed body may travel.

Serialisation is delegated to the ``rfc8785`` package, except on the subset where the
standard library's ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
produces the identical bytes (ADR 0005): no floats, integers within ±(2**53 - 1), and
object keys made only of code points below U+D800 (where UTF-16 and code-point order agree).
Every message this project signs lies in that subset; anything else takes the reference
path. A property test checks the two agree. Parsing checks that the bytes are
exactly the canonical form of what they decode to, so a signature can be verified over the
received bytes and the parsed value can never differ from what was signed.

This module does not sign, verify or normalise text; see :mod:`protocol.envelope` and
:mod:`protocol.thai`.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from .errors import NotCanonical

JSONObject = dict[str, Any]


_MAX_SAFE_INT = 2**53 - 1
_UTF16_ORDER_SAFE = "\ud800"


def _fast_path_safe(value: Any) -> bool:
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and (not k or max(k) < _UTF16_ORDER_SAFE) and _fast_path_safe(v)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return all(_fast_path_safe(v) for v in value)
    return False


def canonical_bytes(value: Any) -> bytes:
    """Serialise ``value`` as RFC 8785 canonical JSON (UTF-8 bytes)."""
    if _fast_path_safe(value):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: let the reference implementation refuse it
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, UnicodeEncodeError) as e:
        raise NotCanonical(f"value cannot be canonicalised: {e}") from e


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
    try:
        text = data.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise NotCanonical(f"body is not valid UTF-8 JSON: {e}") from e
    if not isinstance(value, dict):
        raise NotCanonical("body is not a JSON object")
    if canonical_bytes(value) != data:
        raise NotCanonical("body is not in RFC 8785 canonical form")
    return value
