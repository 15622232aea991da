"""Verifying what the hub hands the node: office envelopes against the directory, hub
envelopes against the pinned hub keys.

An office envelope must be signed by a key of a non-revoked office in the trusted
directory, and that office must be the body's ``origin`` (a valid signature by another
office does not make a letter from ``origin``). The key is the office's active one, or one
it retired (re-enrolment) as long as the envelope's seq is no later than the office's last
seq when that key was retired: a rotation does not lose what was signed before it. A hub
envelope must be signed by a pinned hub key. Anything else raises a
:class:`~protocol.errors.RemoteDataError`.

This module stores nothing.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from protocol.directory import TrustedDirectory
from protocol.envelope import Envelope, verify_envelope
from protocol.errors import BadMessage, UnknownKey
from protocol.hub_messages import HUB_KINDS, parse_hub_message
from protocol.keys import HUB_OFFICE, split_keyid
from protocol.messages import FEED_KINDS, FeedMessage, Message, parse_feed_message


def verify_office_envelope(env: Envelope, trusted: TrustedDirectory) -> FeedMessage:
    """The typed body of an office envelope whose signer is its origin."""
    keyid, body = verify_envelope(env, trusted.signing_key)
    message = parse_feed_message(env.kind, body)
    if split_keyid(keyid)[0] != message.origin:
        raise BadMessage(f"envelope from {message.origin!r} is signed by {keyid!r}")
    if not trusted.signed_in_time(keyid, message.seq):
        raise UnknownKey(f"{keyid} was retired before its office's seq {message.seq}")
    return message


def verify_hub_envelope(env: Envelope, hub_keys: dict[str, Ed25519PublicKey]) -> Message:
    """The typed body of a hub-signed envelope."""
    keyid, body = verify_envelope(env, hub_keys.get)
    if split_keyid(keyid)[0] != HUB_OFFICE:
        raise BadMessage(f"a {env.kind} must be signed by the hub, not {keyid!r}")
    return parse_hub_message(env.kind, body)


def verify_any(
    wire: Any, trusted: TrustedDirectory, hub_keys: dict[str, Ed25519PublicKey]
) -> tuple[Envelope, Message]:
    """Decode and verify one envelope from the wire, whatever its kind."""
    env = Envelope.from_wire(wire)
    kind = env.kind
    if kind in FEED_KINDS:
        return env, verify_office_envelope(env, trusted)
    if kind in HUB_KINDS:
        return env, verify_hub_envelope(env, hub_keys)
    raise BadMessage(f"unknown envelope kind {kind!r}")


def verify_own_envelope(
    env: Envelope,
    own_keyid: str,
    own_key: Ed25519PublicKey,
    trusted: TrustedDirectory | None = None,
) -> FeedMessage:
    """An envelope of this office's own feed, fetched back from the hub: signed by the
    office's key now, or by a key it retired (rekey, re-enrolment: ADR 0018) up to the seq
    ``trusted`` says it signed before its retirement."""
    office = split_keyid(own_keyid)[0]

    def resolve(keyid: str) -> Ed25519PublicKey | None:
        if keyid == own_keyid:
            return own_key
        if trusted is None or split_keyid(keyid)[0] != office:
            return None
        return trusted.signing_key(keyid)

    keyid, body = verify_envelope(env, resolve)
    message = parse_feed_message(env.kind, body)
    if split_keyid(keyid)[0] != message.origin:
        raise BadMessage(f"own envelope {env.env_id[:12]} names origin {message.origin!r}")
    if (
        keyid != own_keyid
        and trusted is not None
        and not trusted.signed_in_time(keyid, message.seq)
    ):
        raise UnknownKey(f"{keyid} was retired before its office's seq {message.seq}")
    return message
