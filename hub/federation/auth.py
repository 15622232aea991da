"""Checking that a request comes from an enrolled office, now, and only once.

The signature headers are parsed and verified with :mod:`protocol.auth` against the
office's active key as the store holds it. Order matters: the nonce is remembered only
after the signature verified, so nobody can burn another office's nonces. A push
remembers its nonce in its own ingest transaction (:func:`remember_nonce`), not here, so
that checking a push never waits for another push's write.

Outcomes: unknown office 404 ``unknown_office``; revoked office 403 ``revoked``; unknown
or retired key, bad or missing headers, bad signature 401 ``bad_request_signature``;
timestamp outside the window 401 ``stale_request``, with the hub's time (``hub_time``)
and the window (``window_seconds``) so the node can say how far off its clock is; nonce
seen before 401 ``replayed_nonce``.

A stale request whose signature verifies is counted against its office and raises one
``clock_refused`` alert (:func:`hub.monitoring.alerts.report_clock_refused`); the office's
next accepted request resolves it. A stale request with a bad signature counts nothing, so
no one else can make an office's clock look wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.clock import iso_utc
from hub.errors import Forbidden, NotFound, Unauthorized, from_protocol
from hub.monitoring.alerts import report_clock_accepted, report_clock_refused
from hub.store import HubStore
from protocol import errors as perr
from protocol.auth import RequestClaims, parse_request_headers, signature_verifies, verify_request
from protocol.keys import public_key_from_b64


@dataclass(frozen=True)
class Caller:
    """The office a verified request came from, and the request's nonce."""

    office: str
    keyid: str
    nonce: str = ""


def authenticate(
    store: HubStore,
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    now: float,
    window: float,
    remember: bool = True,
) -> Caller:
    """Verify a signed request; return who sent it or raise a :class:`HubError`.

    With ``remember`` False the caller remembers the nonce itself, with
    :func:`remember_nonce` inside the transaction that acts on the request (a push), so
    that checking a request never waits for another request's write.
    """
    if not all(value.isascii() for value in headers.values()):
        raise Unauthorized("signature headers must be ASCII (a Thai key id is percent-encoded)")
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
    public_key = public_key_from_b64(key["public"])
    try:
        verify_request(claims, method, path, body, public_key, now, window)
    except perr.StaleRequest as e:
        _refuse_clock(store, claims, method, path, body, public_key, now, window, e)
    except perr.SarabanError as e:
        raise from_protocol(e) from e
    if remember:
        remember_nonce(store, claims.keyid, claims.nonce, now, window)
    if office.get("clock_refused_at") is not None:
        with store.write():
            report_clock_accepted(store, claims.office, now)
    return Caller(claims.office, claims.keyid, claims.nonce)


def remember_nonce(store: HubStore, keyid: str, nonce: str, now: float, window: float) -> None:
    """Record a verified request's nonce; 401 ``replayed_nonce`` when it was seen before.
    Inside a transaction it joins it, so a refusal undoes what the request wrote."""
    if not store.remember_nonce(keyid, nonce, now, now - 2 * window):
        raise Unauthorized("this request nonce was already used", code="replayed_nonce")


def _refuse_clock(
    store: HubStore,
    claims: RequestClaims,
    method: str,
    path: str,
    body: bytes,
    public_key: Ed25519PublicKey,
    now: float,
    window: float,
    error: perr.StaleRequest,
) -> NoReturn:
    """Answer a stale request with the hub's time, so the node can tell its clerks how far
    off its clock is; count it against the office only when the office signed it."""
    refused = from_protocol(error)
    refused.extra.update({"hub_time": iso_utc(now), "window_seconds": int(window)})
    if signature_verifies(claims, method, path, body, public_key):
        with store.write():
            report_clock_refused(store, claims.office, claims.timestamp - now, window, now)
    raise refused from error
