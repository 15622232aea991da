"""Enrollment: one-time tokens issued by an operator, redeemed by a node's first request.

A token is a random secret shown once to the operator; the hub stores only its SHA-256,
the office it is for and its expiry. ``POST /enroll`` redeems it: the office's signing
key (key number from its key id) and seal key are stored, older signing keys of the
office are retired (re-enrolment of a rebuilt node), the office becomes ``enrolled``, and a
new directory version announces it, all in one transaction.

Every token failure (unknown, used, expired, for another office, office revoked) gives the
same answer, so a guesser learns nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from hub.directory import HubKeyring, publish_directory
from hub.errors import AdminError, BadRequest, Forbidden
from hub.store import HubStore
from protocol import errors as perr
from protocol.envelope import Envelope
from protocol.hub_messages import Directory
from protocol.keys import b64decode, public_key_from_b64, split_keyid

TOKEN_BYTES = 24
REFUSAL = "enrollment token is not valid for this office"


def token_hash(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(store: HubStore, office: str, ttl_hours: float, now: float) -> str:
    """Create a one-time enrollment token for ``office``; return the secret (shown once)."""
    row = store.office(office)
    if row is None:
        raise AdminError(f"unknown office {office!r}: add it first", code="unknown_office")
    if row["status"] == "revoked":
        raise AdminError(f"office {office!r} is revoked", code="revoked")
    # Hex, not urlsafe base64: a token starting with "-" would read as an option when the
    # operator types `saraban node init --token T`.
    token = secrets.token_hex(TOKEN_BYTES)
    with store.write():
        store.add_token(token_hash(token), office, now, now + ttl_hours * 3600)
    return token


def _text(body: dict[str, Any], name: str, limit: int = 200) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise BadRequest(f"field {name!r} must be a non-empty string")
    return value


def enroll(
    store: HubStore, keyring: HubKeyring, body: dict[str, Any], now: float
) -> dict[str, Any]:
    """Redeem a token; return the contract's answer ``{"office", "hub_keys", "directory"}``."""
    token = _text(body, "token")
    office = _text(body, "office")
    sign_keyid = _text(body, "sign_keyid")
    sign_public = _text(body, "sign_public")
    seal_public = _text(body, "seal_public")
    software = body.get("software")
    if software is not None and not isinstance(software, str):
        raise BadRequest("field 'software' must be a string")
    try:
        key_office, key_no = split_keyid(sign_keyid)
        public_key_from_b64(sign_public)
        if len(b64decode(seal_public)) != 32:
            raise perr.BadMessage("an X25519 public key is 32 bytes")
    except perr.BadMessage as e:
        raise BadRequest(f"bad key: {e}") from e
    if key_office != office:
        raise BadRequest("sign_keyid must name the enrolling office")
    digest = token_hash(token)
    with store.write():
        row = store.token(digest)
        office_row = store.office(office)
        if (
            row is None
            or row["office"] != office
            or row["used_at"] is not None
            or row["expires_at"] <= now
            or office_row is None
            or office_row["status"] == "revoked"
        ):
            raise Forbidden(REFUSAL, code="bad_token")
        existing = store.key(sign_keyid)
        if existing is not None:
            top = max(k["key_no"] for k in store.keys_of(office))
            raise BadRequest(
                f"key id {sign_keyid} is already used; enroll with key number {top + 1}"
            )
        store.use_token(digest, now)
        store.add_key(sign_keyid, office, key_no, sign_public, now)
        store.set_office_enrolled(office, seal_public, now)
        publish_directory(store, keyring, now)
        head = store.directory_head()
    assert head is not None
    directory = Envelope.from_bytes(bytes(head["envelope"]))
    assert directory.kind == Directory.KIND
    return {
        "office": office,
        "hub_keys": keyring.public_keys(),
        "directory": directory.to_wire(),
    }
