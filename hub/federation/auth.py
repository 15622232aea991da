"""Checking that a request comes from an enrolled office, now, and only once.

The signature headers are parsed and verified with :mod:`protocol.auth` against the
office's active key as the store holds it. Order matters: the nonce is remembered only
after the signature verified, so nobody can burn another office's nonces.

Outcomes: unknown office 404 ``unknown_office``; revoked office 403 ``revoked``; unknown
or retired key, bad or missing headers, bad signature 401 ``bad_request_signature``;
timestamp outside the window 401 ``stale_request``; nonce seen before 401
``replayed_nonce``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hub.errors import Forbidden, NotFound, Unauthorized, from_protocol
from hub.store import HubStore
from protocol import errors as perr
from protocol.auth import parse_request_headers, verify_request
from protocol.keys import public_key_from_b64


@dataclass(frozen=True)
class Caller:
    """The office a verified request came from."""

    office: str
    keyid: str


def authenticate(
    store: HubStore,
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    now: float,
    window: float,
) -> Caller:
    """Verify a signed request; return who sent it or raise a :class:`HubError`."""
    try:
        claims = parse_request_headers(headers)
    except (perr.SarabanError, UnicodeDecodeError) as e:
        if isinstance(e, perr.SarabanError):
            raise from_protocol(e) from e
        raise Unauthorized("signature headers are not valid UTF-8") from e
    office = store.office(claims.office)
    if office is None:
        raise NotFound(f"office {claims.office!r} is not known to the hub", code="unknown_office")
    if office["status"] == "revoked":
        raise Forbidden(f"office {claims.office!r} is revoked", code="revoked")
    key = store.key(claims.keyid)
    if key is None or key["office"] != claims.office or key["status"] != "active":
        raise Unauthorized(f"key {claims.keyid!r} is not an active key of its office")
    try:
        verify_request(claims, method, path, body, public_key_from_b64(key["public"]), now, window)
    except perr.SarabanError as e:
        raise from_protocol(e) from e
    if not store.remember_nonce(claims.keyid, claims.nonce, now, now - 2 * window):
        raise Unauthorized("this request nonce was already used", code="replayed_nonce")
    return Caller(claims.office, claims.keyid)
