"""Signed HTTP requests from nodes to the hub.

Every node request carries these headers (percent-encoded UTF-8 where Thai may appear)::

    X-Saraban-Keyid      the signing key id, e.g. "ชม 0017#1" (percent-encoded)
    X-Saraban-Timestamp  integer Unix seconds
    X-Saraban-Nonce      16-64 URL-safe characters, fresh per request
    X-Saraban-Signature  base64 Ed25519 over the signing input below

    signing input = "SARABAN-REQUEST-v1\\n" METHOD "\\n" PATH?QUERY "\\n" KEYID "\\n"
                    TIMESTAMP "\\n" NONCE "\\n" hex(SHA-256(body))

Each header is bounded and checked for its shape (ASCII digits, a key id of at most
:data:`~protocol.limits.MAX_OFFICE_ID` characters in valid percent-encoded UTF-8, a nonce,
strict base64) before it is used; anything else raises :class:`BadRequestSignature`.

This module checks shape, time window and signature. Remembering nonces to refuse a
replay is the hub's (it holds the state): :func:`verify_request` returns the claims so the
caller can record the nonce.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .errors import BadMessage, BadRequestSignature, StaleRequest
from .keys import Signer, b64decode, b64encode, split_keyid, verify_signature
from .limits import MAX_OFFICE_ID

H_KEYID = "X-Saraban-Keyid"
H_TIMESTAMP = "X-Saraban-Timestamp"
H_NONCE = "X-Saraban-Nonce"
H_SIGNATURE = "X-Saraban-Signature"
DEFAULT_WINDOW_SECONDS = 300
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
_MAX_KEYID_HEADER = 3 * 4 * MAX_OFFICE_ID
"""Percent-encoded, each of the key id's characters takes at most 12 header characters."""
_MAX_SIGNATURE_HEADER = 128


@dataclass(frozen=True)
class RequestClaims:
    """What a request's headers claim: who, when, and a once-only nonce."""

    keyid: str
    office: str
    timestamp: int
    nonce: str
    signature: bytes


def signing_input(
    method: str, path: str, keyid: str, timestamp: int, nonce: str, body: bytes
) -> bytes:
    """The bytes a request signature covers."""
    digest = hashlib.sha256(body).hexdigest()
    # surrogatepass: a path no client could have signed still gives bytes, which then fail
    # to verify, rather than an encoding error.
    return "\n".join(
        ["SARABAN-REQUEST-v1", method.upper(), path, keyid, str(timestamp), nonce, digest]
    ).encode("utf-8", "surrogatepass")


def sign_request(
    signer: Signer, method: str, path: str, body: bytes, now: float, nonce: str | None = None
) -> dict[str, str]:
    """Headers that authenticate one request; ``path`` includes the query string."""
    ts = int(now)
    nonce = nonce or secrets.token_urlsafe(18)
    sig = signer.sign(signing_input(method, path, signer.keyid, ts, nonce, body))
    return {
        H_KEYID: quote(signer.keyid, safe=""),
        H_TIMESTAMP: str(ts),
        H_NONCE: nonce,
        H_SIGNATURE: b64encode(sig),
    }


def parse_request_headers(headers: Mapping[str, str]) -> RequestClaims:
    """Read and shape-check the signature headers; raise :class:`BadRequestSignature`."""
    missing = [h for h in (H_KEYID, H_TIMESTAMP, H_NONCE, H_SIGNATURE) if not headers.get(h)]
    if missing:
        raise BadRequestSignature(f"missing header {missing[0]}")
    quoted = headers[H_KEYID]
    if len(quoted) > _MAX_KEYID_HEADER:
        raise BadRequestSignature(f"{H_KEYID} is longer than {_MAX_KEYID_HEADER} characters")
    try:
        keyid = unquote(quoted, errors="strict")
        office, _ = split_keyid(keyid)
    except (BadMessage, UnicodeDecodeError) as e:
        raise BadRequestSignature(f"malformed {H_KEYID}") from e
    if len(keyid) > MAX_OFFICE_ID or not keyid.isprintable():
        raise BadRequestSignature(f"malformed {H_KEYID}")
    ts_text = headers[H_TIMESTAMP]
    if not _TIMESTAMP_RE.fullmatch(ts_text):
        raise BadRequestSignature(f"malformed {H_TIMESTAMP}: expected 1 to 12 ASCII digits")
    nonce = headers[H_NONCE]
    if not _NONCE_RE.fullmatch(nonce):
        raise BadRequestSignature(f"malformed {H_NONCE}")
    signature = headers[H_SIGNATURE]
    if len(signature) > _MAX_SIGNATURE_HEADER:
        raise BadRequestSignature(f"{H_SIGNATURE} is longer than {_MAX_SIGNATURE_HEADER}")
    try:
        sig = b64decode(signature)
    except BadMessage as e:
        raise BadRequestSignature(f"malformed {H_SIGNATURE}") from e
    return RequestClaims(keyid, office, int(ts_text), nonce, sig)


def verify_request(
    claims: RequestClaims,
    method: str,
    path: str,
    body: bytes,
    public_key: Ed25519PublicKey,
    now: float,
    window: float = DEFAULT_WINDOW_SECONDS,
) -> None:
    """Check the timestamp window and the signature; raise on any failure."""
    if abs(now - claims.timestamp) > window:
        raise StaleRequest(
            f"request timestamp is {int(now - claims.timestamp)} s away from hub time"
        )
    if not signature_verifies(claims, method, path, body, public_key):
        raise BadRequestSignature("request signature does not verify")


def signature_verifies(
    claims: RequestClaims, method: str, path: str, body: bytes, public_key: Ed25519PublicKey
) -> bool:
    """Whether the request's signature is the key's, whatever its timestamp says.

    The hub asks this of a request refused as stale before it counts the refusal against
    the office, so that nobody but the office itself can make its clock look wrong.
    """
    message = signing_input(method, path, claims.keyid, claims.timestamp, claims.nonce, body)
    return verify_signature(public_key, claims.signature, message)
