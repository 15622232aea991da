"""Enrollment and new signing keys: one-time tokens issued by an operator, redeemed by a
node's first request, and an enrolled office's own request for its next key (ADR 0018).

A token is a random secret shown once to the operator; the hub stores only its SHA-256,
the office it is for and its expiry. ``POST /enroll`` redeems it: the office's signing
key and seal key are stored, older signing keys of the office are retired (re-enrolment of
an office that lost its key), the office becomes ``enrolled``, and a new directory version
announces it, all in one transaction. ``POST /rekey`` (:func:`rekey`), signed by the
office's active key, does the same for a new signing key without a token, and with it,
when the body names one, a new seal key (ADR 0022): letters sealed after the directory
shows it use it.

Either way the new key takes the office's next key number (``#n+1``; any other is refused
``bad_key_number`` naming the right one in ``next_key_no``), never a public key the office
had before, and each retired key keeps the last seq of the office's feed at that moment:
it still verifies what it signed before, never anything later (:mod:`protocol.directory`).

Every token failure (unknown, used, expired, for another office, office revoked) gives the
same answer, so a guesser learns nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from hub.directory import HubKeyring, publish_directory
from hub.errors import AdminError, BadRequest, Forbidden, HubError, Unauthorized
from hub.store import HubStore
from protocol import errors as perr
from protocol.api import BAD_KEY_NUMBER
from protocol.envelope import Envelope
from protocol.hub_messages import Directory
from protocol.keys import b64decode, public_key_from_b64, split_keyid

TOKEN_BYTES = 24
REFUSAL = "enrollment token is not valid for this office"
REKEY_INTERVAL_SECONDS = 3600.0
"""An office may ask for a new key an hour after its last new key (its first enrollment
aside): each one is a directory version every node fetches."""


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
    # Hex, not urlsafe base64: nothing in it needs quoting in a file or a variable, and it
    # never starts with "-".
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
        _check_new_key(store, office, sign_keyid, key_no, sign_public, "enroll")
        store.use_token(digest, now)
        store.add_key(sign_keyid, office, key_no, sign_public, now)
        store.set_office_enrolled(office, seal_public, now)
        store.log_action(office, "enroll", office, None, f"key {sign_keyid}", now)
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


def _check_new_key(
    store: HubStore, office: str, keyid: str, key_no: int, public: str, verb: str
) -> None:
    """Refuse a key that is not the office's next number, or a public key it had before."""
    expected = store.next_key_no(office)
    if key_no != expected:
        state = "is already used" if key_no < expected else "skips a key number"
        refused = BadRequest(
            f"key id {keyid} {state}; {verb} with key number {expected}", code=BAD_KEY_NUMBER
        )
        refused.extra["next_key_no"] = expected
        raise refused
    if any(k["public"] == public for k in store.keys_of(office)):
        raise BadRequest("this public key was this office's before: make a new key")


def rekey(
    store: HubStore,
    keyring: HubKeyring,
    office: str,
    signed_by: str,
    body: dict[str, Any],
    now: float,
) -> dict[str, Any]:
    """Make ``{"sign_keyid", "sign_public"}`` the active key of ``office``, asked for in a
    request signed by its active key ``signed_by``; retire that key at the office's last
    seq now and publish the directory that says so. A ``seal_public`` in the body (an
    X25519 key the office did not publish already) becomes its seal key in the same
    directory.

    Answers ``{"office", "keyid", "retired": {"keyid", "last_seq"}, "hub_keys",
    "directory"}``. Refused: a key that is not the next number or not new (400
    ``bad_key_number`` / ``bad_request``), a signing key no longer active (401, a rekey
    that won a race), a rekey within :data:`REKEY_INTERVAL_SECONDS` of the last new key
    (429 with Retry-After).
    """
    sign_keyid = _text(body, "sign_keyid")
    sign_public = _text(body, "sign_public")
    seal_public = _text(body, "seal_public") if body.get("seal_public") is not None else None
    try:
        key_office, key_no = split_keyid(sign_keyid)
        public_key_from_b64(sign_public)
        if seal_public is not None and len(b64decode(seal_public)) != 32:
            raise perr.BadMessage("an X25519 public key is 32 bytes")
    except perr.BadMessage as e:
        raise BadRequest(f"bad key: {e}") from e
    if key_office != office:
        raise BadRequest("sign_keyid must name the office that signs the request")
    with store.write():
        current = store.key(signed_by)
        if current is None or current["status"] != "active":
            raise Unauthorized(f"key {signed_by!r} is not an active key of its office")
        wait = float(current["added_at"]) + REKEY_INTERVAL_SECONDS - now
        if wait > 0 and len(store.keys_of(office)) > 1:  # the first key came with a token
            refused = HubError(
                f"this office's key was made {int(now - float(current['added_at']))} s ago;"
                " ask for the next one later",
                code="rate_limited",
                status=429,
            )
            refused.headers["Retry-After"] = str(int(wait) + 1)
            raise refused
        _check_new_key(store, office, sign_keyid, key_no, sign_public, "rekey")
        office_row = store.office(office)
        if seal_public is not None and office_row and office_row["seal_public"] == seal_public:
            raise BadRequest("this seal key is already the office's: make a new key")
        store.add_key(sign_keyid, office, key_no, sign_public, now)
        action = f"{signed_by} -> {sign_keyid}"
        if seal_public is not None:
            store.set_office_seal(office, seal_public)
            action += " and a new seal key"
        store.log_action(office, "rekey", office, None, action, now)
        publish_directory(store, keyring, now)
        retired = store.key(signed_by)
        head = store.directory_head()
    assert head is not None and retired is not None
    return {
        "office": office,
        "keyid": sign_keyid,
        "retired": {"keyid": signed_by, "last_seq": int(retired["retired_seq"] or 0)},
        "hub_keys": keyring.public_keys(),
        "directory": Envelope.from_bytes(bytes(head["envelope"])).to_wire(),
    }
