"""RFC 8785 canonical JSON: the only form in which a signed body may travel.

Serialisation is delegated to the ``rfc8785`` package. Parsing checks that the bytes are
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


def canonical_bytes(value: Any) -> bytes:
    """Serialise ``value`` as RFC 8785 canonical JSON (UTF-8 bytes)."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as e:
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
