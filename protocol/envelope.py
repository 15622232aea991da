"""DSSE-shaped signed envelopes.

::

    envelope = {"payloadType": "application/vnd.saraban.<kind>+json; v=1",
                "payload": base64(body),
                "signatures": [{"keyid": "<office>#<n>", "sig": base64(Ed25519(PAE(type, body)))}]}
    PAE      = "DSSEv1" SP len(type) SP type SP len(body) SP body
    env_id   = hex(SHA-256(body))

The signature is verified over the exact bytes received, then the body is parsed and
checked to be canonical; nothing is ever re-serialised to verify. Every signature must be
by a key the verifier knows and must verify: an extra signature by an unknown key is
refused, save one case, a co-signature by another hub key next to a hub key that verified
(the hub signs with its previous key too after a rotation, for nodes that have not pinned
the new one yet). An envelope carries at most :data:`~protocol.limits.MAX_SIGNATURES`
signatures and a body of at most :data:`~protocol.limits.MAX_ENVELOPE_BYTES`.

This module does not decide who may sign what (see :mod:`protocol.messages`) nor whether
an envelope continues its feed (see :mod:`protocol.feed`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .canonical import JSONObject, canonical_bytes, parse_canonical
from .errors import BadMessage, BadSignature, BoundsError, MalformedEnvelope, UnknownKey
from .keys import HUB_OFFICE, Signer, b64decode, b64encode, verify_signature
from .limits import MAX_ENVELOPE_BYTES, MAX_OFFICE_ID, MAX_SIGNATURES

_TYPE_RE = re.compile(r"application/vnd\.saraban\.([a-z_]{1,32})\+json; v=([0-9]{1,3})")
_MAX_PAYLOAD_CHARS = 4 * ((MAX_ENVELOPE_BYTES + 2) // 3)

KeyResolver = Callable[[str], Ed25519PublicKey | None]


@lru_cache(maxsize=64)
def payload_type(kind: str, version: int = 1) -> str:
    """The DSSE payload type of a message kind."""
    return f"application/vnd.saraban.{kind}+json; v={version}"


@lru_cache(maxsize=64)  # read once per payload type; a refused one raises, and is not kept
def kind_of(ptype: str) -> str:
    """The message kind named by a payload type; raise :class:`MalformedEnvelope` if foreign."""
    m = _TYPE_RE.fullmatch(ptype)
    if not m:
        raise MalformedEnvelope(f"unknown payload type {ptype[:80]!r}")
    return m.group(1)


@lru_cache(maxsize=64)
def _pae_head(ptype: str) -> bytes:
    """``DSSEv1 <len(type)> <type> ``, built once per payload type."""
    t = ptype.encode("utf-8")
    return b"DSSEv1 %d %s " % (len(t), t)


def pae(ptype: str, body: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding of ``(type, body)``."""
    return b"%s%d %s" % (_pae_head(ptype), len(body), body)


def env_id_of(body: bytes) -> str:
    """Content id of an envelope: hex SHA-256 of its body bytes."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Signature:
    """One signature in an envelope."""

    keyid: str
    sig: bytes


_RECEIVED_PAYLOAD = "_received_payload"


def _is_canonical_base64(text: str, data: bytes) -> bool:
    """Whether ``text``, which decodes strictly to ``data``, is what encoding ``data``
    gives: the right length, and no stray bits in the last group (every full group
    decodes one way only)."""
    if len(text) != 4 * ((len(data) + 2) // 3):
        return False
    tail = len(data) % 3 or 3
    return not data or text[-4:] == b64encode(data[-tail:])


@dataclass(frozen=True)
class Envelope:
    """A signed envelope as it travels; ``body`` is the exact signed bytes."""

    payload_type: str
    body: bytes
    signatures: tuple[Signature, ...]

    @cached_property
    def env_id(self) -> str:
        """hex SHA-256 of the body, computed once (and sent along when pickled)."""
        return env_id_of(self.body)

    @property
    def kind(self) -> str:
        """The message kind (``letter``, ``receipt``, ``directory`` ...)."""
        return kind_of(self.payload_type)

    def to_wire(self) -> JSONObject:
        """The JSON object sent over HTTP and stored."""
        payload = getattr(self, _RECEIVED_PAYLOAD, None)
        return {
            "payloadType": self.payload_type,
            "payload": b64encode(self.body) if payload is None else payload,
            "signatures": [{"keyid": s.keyid, "sig": b64encode(s.sig)} for s in self.signatures],
        }

    def __getstate__(self) -> dict[str, Any]:
        # The text received stays behind when an envelope is pickled to another process:
        # it is as long as the body again, and the receiver holds the wire value already
        # (:meth:`decoded_from` puts it back).
        state = dict(self.__dict__)
        state.pop(_RECEIVED_PAYLOAD, None)
        return state

    def decoded_from(self, wire: Any) -> Envelope:
        """This envelope, answering ``to_wire()`` with the payload text of ``wire`` when
        that text is canonical. ``wire`` must be the value this envelope was decoded from
        (in another process): its length and first and last groups are checked, not every
        character."""
        payload = wire.get("payload") if isinstance(wire, Mapping) else None
        if (
            isinstance(payload, str)
            and _is_canonical_base64(payload, self.body)
            and payload[:4] == b64encode(self.body[:3])
        ):
            object.__setattr__(self, _RECEIVED_PAYLOAD, payload)
        return self

    def to_bytes(self) -> bytes:
        """Canonical bytes of :meth:`to_wire`, for storage."""
        return canonical_bytes(self.to_wire())

    @classmethod
    def from_wire(cls, obj: Any) -> Envelope:
        """Check the DSSE shape of a decoded JSON value; the body is not verified here."""
        if not isinstance(obj, Mapping):
            raise MalformedEnvelope("an envelope must be a JSON object")
        ptype, payload, sigs = obj.get("payloadType"), obj.get("payload"), obj.get("signatures")
        if not isinstance(ptype, str) or not isinstance(payload, str):
            raise MalformedEnvelope("payloadType and payload must be strings")
        kind_of(ptype)
        if not isinstance(sigs, list) or not 1 <= len(sigs) <= MAX_SIGNATURES:
            raise MalformedEnvelope(f"an envelope needs 1 to {MAX_SIGNATURES} signatures")
        if len(payload) > _MAX_PAYLOAD_CHARS:
            raise MalformedEnvelope(f"the body is larger than {MAX_ENVELOPE_BYTES} bytes")
        signatures = []
        for s in sigs:
            if not isinstance(s, Mapping):
                raise MalformedEnvelope("a signature must be an object")
            keyid, sig = s.get("keyid"), s.get("sig")
            if not isinstance(keyid, str) or not isinstance(sig, str):
                raise MalformedEnvelope("a signature needs string keyid and sig")
            if len(keyid) > MAX_OFFICE_ID or not keyid.isprintable() or len(sig) > 128:
                raise MalformedEnvelope(
                    f"a signature's keyid is printable text of at most {MAX_OFFICE_ID}"
                    " characters, its sig at most 128"
                )
            try:
                signatures.append(Signature(keyid, b64decode(sig)))
            except BadMessage as e:
                raise MalformedEnvelope("signature is not base64") from e
        try:
            body = b64decode(payload)
        except BadMessage as e:
            raise MalformedEnvelope("payload is not base64") from e
        env = cls(ptype, body, tuple(signatures))
        if _is_canonical_base64(payload, body):
            # to_wire() answers the text received instead of encoding the body again.
            object.__setattr__(env, _RECEIVED_PAYLOAD, payload)
        return env

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        """Decode stored or received envelope JSON bytes."""
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError) as e:  # not UTF-8 or JSON, an int of 4,300 digits
            raise MalformedEnvelope("envelope is not JSON") from e
        return cls.from_wire(obj)


def _signed(ptype: str, data: bytes, keyid: str, sig: bytes) -> Envelope:
    """``Envelope(ptype, data, (Signature(keyid, sig),))``, built without the frozen
    dataclasses' ``__init__``, which sets each field through ``object.__setattr__``: half
    a microsecond of the few an envelope costs above its signature (``sign_ratio``)."""
    signature = object.__new__(Signature)
    signature.__dict__.update(keyid=keyid, sig=sig)
    env = object.__new__(Envelope)
    env.__dict__.update(payload_type=ptype, body=data, signatures=(signature,))
    return env


def sign_envelope(kind: str, body: Mapping[str, Any], signer: Signer) -> Envelope:
    """Canonicalise ``body`` and sign it as an envelope of ``kind``."""
    ptype = payload_type(kind)
    data = canonical_bytes(body if type(body) is dict else dict(body))
    if len(data) > MAX_ENVELOPE_BYTES:
        raise BoundsError(
            "body",
            f"at most {MAX_ENVELOPE_BYTES} bytes",
            f"the {kind} body is {len(data)} bytes, more than {MAX_ENVELOPE_BYTES}",
        )
    return _signed(ptype, data, signer.keyid, signer.sign(pae(ptype, data)))


def _is_hub_key(keyid: str) -> bool:
    return keyid.rpartition("#")[0] == HUB_OFFICE


def verify_envelope(env: Envelope, resolve_key: KeyResolver) -> tuple[str, JSONObject]:
    """Verify every signature, then parse the body; return ``(keyid, body)`` with the
    first key that verified.

    Every signature must be by a known key and verify: a single bad signature rejects the
    envelope, so a tampered copy cannot ride along with a good one, and a signature by a
    key the directory does not hold is refused (:class:`UnknownKey`), as nobody can say
    what it vouches for. The one exception is a hub envelope's co-signature by a hub key
    the verifier has not pinned, next to a pinned hub key that verified: after a key
    rotation the hub signs with both keys.
    """
    message = pae(env.payload_type, env.body)
    verified: str | None = None
    unknown: list[str] = []
    for s in env.signatures:
        key = resolve_key(s.keyid)
        if key is None:
            unknown.append(s.keyid)
            continue
        if not verify_signature(key, s.sig, message):
            raise BadSignature(f"signature by {s.keyid} does not verify")
        verified = verified or s.keyid
    if verified is None:
        names = ", ".join(s.keyid for s in env.signatures)
        raise UnknownKey(f"no signature by a known key (signed by {names})")
    if unknown and not (_is_hub_key(verified) and all(map(_is_hub_key, unknown))):
        raise UnknownKey(f"a signature by the unknown key {unknown[0]} rides along")
    return verified, parse_canonical(env.body)
