"""Verifying what the hub hands the node: office envelopes against the directory, hub
envelopes against the pinned hub keys.

An office envelope must be signed by a key of a non-revoked office in the trusted
directory, and that office must be the body's ``origin`` (a valid signature by another
office does not make a letter from ``origin``). The key is the office's active one, or one
it retired (re-enrolment) as long as the envelope's seq is no later than the office's last
seq when that key was retired: a rotation does not lose what was signed before it. A hub
envelope must be signed by a pinned hub key. Anything else raises a
:class:`~protocol.errors.RemoteDataError`.

:func:`verify_pulled` gives the verdict on each envelope of a pulled batch. The batches a
pull fetches ahead while the one before is stored are judged in a worker process
(:data:`PULL_POOL`, ADR 0027), whose checks then hold no interpreter lock the writer
needs: the same function, with the trust handed over as plain data.

This module stores nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.records.letter_columns import letter_columns
from protocol.directory import TrustedDirectory
from protocol.envelope import Envelope, verify_envelope
from protocol.errors import BadMessage, SarabanError, UnknownKey
from protocol.hub_messages import HUB_KINDS, Directory, parse_hub_message
from protocol.keys import HUB_OFFICE, public_key_from_b64, split_keyid
from protocol.messages import FEED_KINDS, FeedMessage, Letter, Message, parse_feed_message
from protocol.workers import WorkerPool, available_cores

log = logging.getLogger(__name__)

Verdict = tuple[Envelope | None, Message | None, str | None]
"""One pulled envelope judged: ``(envelope, message, None)``, or ``(None, None, why)``."""
PulledVerdict = tuple[Envelope | None, Message | None, str | None, dict[str, Any] | None]
"""A :data:`Verdict` with a letter's row columns worked out, None for anything else."""


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


def verify_each(
    wires: Sequence[Any], trusted: TrustedDirectory, hub_keys: dict[str, Ed25519PublicKey]
) -> list[Verdict]:
    """:func:`verify_any` of each wire envelope, a refusal given as ``"<code>: <reason>"``."""
    verdicts: list[Verdict] = []
    for wire in wires:
        try:
            env, msg = verify_any(wire, trusted, hub_keys)
        except SarabanError as e:
            verdicts.append((None, None, f"{e.code}: {e}"))
        else:
            verdicts.append((env, msg, None))
    return verdicts


_trusted_here: dict[str, TrustedDirectory] = {}
"""The directory last judged against in this process, by env_id: its keys decoded once."""


def verify_pulled(
    directory: Directory,
    directory_env_id: str,
    hub_entries: list[dict[str, Any]],
    wires: Sequence[Any],
) -> list[PulledVerdict]:
    """:func:`verify_each` with the trust as plain data (it pickles): the verified
    directory with its env_id, and the pinned hub keys ``[{"keyid", "public"}]``. Each
    verdict comes with what the writer would otherwise work out itself: the envelope's
    id, and a letter's row columns (:func:`~node.records.letter_columns.letter_columns`)."""
    trusted = _trusted_here.get(directory_env_id)
    if trusted is None:
        trusted = TrustedDirectory(directory, directory_env_id)
        _trusted_here.clear()
        _trusted_here[directory_env_id] = trusted
    # node.records.directory.keys_from_list, without importing the node's records here.
    hub_keys = {e["keyid"]: public_key_from_b64(e["public"]) for e in hub_entries}
    prepared: list[PulledVerdict] = []
    for env, msg, error in verify_each(wires, trusted, hub_keys):
        columns = None
        if env is not None:
            env.env_id  # noqa: B018  computed here, it is pickled along: not in the writer
            if isinstance(msg, Letter):
                columns = letter_columns(msg)
        prepared.append((env, msg, error, columns))
    return prepared


PULL_POOL_IDLE_SECONDS = 60.0
"""The pull's worker ends this long after its last batch: an idle node keeps no second
process."""


PULL_POOL_MIN_BATCH = 64
"""A batch fetched ahead with fewer envelopes is verified on the pull's thread: handing it
over would cost more than it saves."""
PULL_POOL_RUN = 100
"""Envelopes handed to the worker at a time: the node and the worker hold two fifths of
a pull of 250 at once, and the first run comes back while the worker checks the next."""


def _pull_workers() -> int:
    # One worker beside the writer (more would not be fed faster than the writer stores,
    # and each is ~37 MB); a single core checks everything on the pull thread.
    return 1 if available_cores() >= 2 else 0


PULL_POOL = WorkerPool(
    _pull_workers,
    log,
    broke=(
        "the pull's verifying worker stopped (%s); its batch is verified in the node "
        "process and the next one starts a new worker"
    ),
    gave_up=(
        "the pull's verifying worker stopped %d times; the node verifies everything it "
        "pulls in its own process from now on"
    ),
    idle_seconds=PULL_POOL_IDLE_SECONDS,
    run_size=PULL_POOL_RUN,
)
