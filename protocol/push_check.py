"""What the hub checks of each envelope an office pushes before it reads any stored state.

For each wire envelope of a push by ``office``, in order (steps 1-3 of
:mod:`hub.federation.ingest`):

1. the DSSE shape (:meth:`Envelope.from_wire`) and an office-signed kind
   (``not_a_feed_kind`` otherwise);
2. every signature by the pushing office (``not_your_feed`` otherwise), verified against
   its active keys (:func:`protocol.envelope.verify_envelope`: ``bad_signature``,
   ``unknown_key``);
3. the canonical body and its fields (:func:`protocol.messages.parse_feed_message`), and
   an ``origin`` that is the pushing office (``not_your_feed``).

:func:`check_pushed` is a pure function of the wire values and the office's raw public
keys, and its answer (:class:`Checked`) is plain data, so a large push can be checked in
worker processes, one run each, with the same answer as in the hub process.

This module does not read or write any store, sequence a feed, or start processes.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import errors as perr
from .envelope import Envelope, verify_envelope
from .keys import split_keyid
from .messages import FEED_KINDS, FeedMessage, parse_feed_message


@dataclass
class Checked:
    """One pushed envelope after the checks that need no stored state.

    ``raw`` is what the hub stores: the canonical bytes of the envelope (of the wire value
    as received when it is not an envelope at all), ``kind`` its message kind. ``msg`` is
    set when every check passed; otherwise ``reason`` (an error code) and ``detail`` say
    why not. It holds no :class:`Envelope`: what a worker process sends back stays small.
    """

    env_id: str
    raw: bytes
    kind: str = ""
    msg: FeedMessage | None = None
    reason: str = ""
    detail: str = ""


@functools.lru_cache(maxsize=4096)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    # Decoding a key decompresses a curve point: once per key, not once per envelope.
    return Ed25519PublicKey.from_public_bytes(raw)


def _raw_of(obj: Any) -> tuple[str, bytes]:
    """What the hub keeps of a wire value that is not an envelope: its JSON, with escapes
    when it holds lone surrogates, or only its type when it cannot be written at all."""
    raw: bytes | None = None
    for ascii_only in (False, True):
        try:
            text = json.dumps(obj, ensure_ascii=ascii_only, sort_keys=True, default=str)
            raw = text.encode("utf-8")
            break
        except (TypeError, ValueError, RecursionError):
            continue
    if raw is None:
        raw = json.dumps({"unreadable": type(obj).__name__}).encode("ascii")
    return hashlib.sha256(raw).hexdigest(), raw


def check_one(obj: Any, office: str, resolve: Mapping[str, Ed25519PublicKey]) -> Checked:
    """Steps 1-3 for one wire envelope pushed by ``office`` whose active keys are
    ``resolve``."""
    try:
        env = Envelope.from_wire(obj)
    except perr.RemoteDataError as e:
        env_id, raw = _raw_of(obj)
        return Checked(env_id, raw, reason=e.code, detail=str(e))
    kind = env.kind
    checked = Checked(env.env_id, env.to_bytes(), kind)
    if kind not in FEED_KINDS:
        checked.reason, checked.detail = "not_a_feed_kind", f"{kind!r} is not pushed by offices"
        return checked
    for sig in env.signatures:
        try:
            signer_office = split_keyid(sig.keyid)[0]
        except perr.BadMessage:
            signer_office = ""
        if signer_office != office:
            checked.reason = "not_your_feed"
            checked.detail = f"signed by {sig.keyid!r}, not by {office}"
            return checked
    try:
        _, body = verify_envelope(env, resolve.get)
        msg = parse_feed_message(kind, body)
    except perr.RemoteDataError as e:
        checked.reason, checked.detail = e.code, str(e)
        return checked
    if msg.origin != office:
        checked.reason = "not_your_feed"
        checked.detail = f"origin {msg.origin!r} is not the pushing office {office}"
        return checked
    checked.msg = msg
    return checked


def check_pushed(office: str, keys: Mapping[str, bytes], wire: Iterable[Any]) -> list[Checked]:
    """Steps 1-3 for each wire envelope pushed by ``office``, in order; ``keys`` are the
    office's active keys, raw public bytes by key id (any other key id is unknown)."""
    resolve = {keyid: _public_key(raw) for keyid, raw in keys.items()}
    return [check_one(obj, office, resolve) for obj in wire]
