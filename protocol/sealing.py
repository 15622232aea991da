"""Sealing a classified letter (ลับ, ลับมาก) for its recipient offices only (design §4).

A letter is sealed with a fresh 256-bit content key, from which two AES-256-GCM keys are
derived (HKDF-SHA256), one for the content and one for the attachments:

* **Content** (the subject, the body and whatever else the sender treats as content, as
  one JSON object) is one AES-256-GCM box: a 12-byte random nonce, then the ciphertext.
  Its SHA-256 is ``sealed.content`` in the signed body; the box travels, base64, as
  ``sealed.box``.
* **Attachments** are encrypted in chunks of :data:`CHUNK_SIZE` plaintext bytes. A blob
  starts with a 24-byte header (``SRBSEAL1``, an 8-byte random file id, the chunk count
  and the chunk size, big-endian); chunk *i* is AES-256-GCM with the nonce ``file id ||
  i`` and the header and *i* as associated data. A changed, dropped, added, truncated or
  reordered chunk, or a chunk taken from another blob, fails to open.
* **The content key** is wrapped for each recipient office with HPKE (RFC 9180, base
  mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM) to the X25519 key the office
  publishes in the directory. The HPKE ``info`` binds the sender, the recipient, the
  recipient's key id and the content hash, so a wrapped key moved to another recipient or
  another letter does not open. A wrapped key is the text ``<key id>.<base64>``, the key
  id being the first 16 hex digits of the SHA-256 of the raw public key
  (:func:`seal_key_id`), so an office keeps its older keys and opens a letter sealed to
  any of them.

The sealed part of a letter body is ``{"suite", "content", "box", "keys": {office:
wrapped}}``. Whoever holds neither the content key nor a recipient's private key (the
hub, an office not on the list) learns only sizes and hashes of ciphertext.

Every failure to open raises :class:`protocol.errors.SealRefused` with a reason code and
the reason in words, never a key or plaintext. :func:`check_sealing_support` says, at
start, whether the installed ``cryptography`` can do all of this.

Does not: choose what is content (the node does), store or fetch keys, blobs or letters,
decide who at an office may read a letter (:mod:`node.records.access`), or check the shape
of a sealed body at the hub (:mod:`hub.federation.secrecy`).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .canonical import canonical_bytes, parse_json
from .errors import BadMessage, SealingUnavailable, SealRefused
from .keys import b64decode, b64encode

JSONObject = dict[str, Any]

SUITE = "hpke-x25519-sha256-aes256gcm/aes256gcm-chunk64k"
"""The name of this sealing scheme in ``sealed.suite``; another name is refused."""

CHUNK_SIZE = 64 * 1024
"""Plaintext bytes per attachment chunk."""

MAX_CHUNK_SIZE = 4 * 1024 * 1024
"""The largest chunk size a blob may declare; a larger one is refused before any work."""

KEY_BYTES = 32
_NONCE = 12
_TAG = 16
_MAGIC = b"SRBSEAL1"
_HEADER = struct.Struct(">8s8sII")
_LABEL = b"saraban-seal-1"
_HPKE_ENC = 32  # an X25519 encapsulated key
_KID_RE = re.compile(r"^[0-9a-f]{16}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


@cache
def _hpke() -> Any:
    """The HPKE suite, or :class:`SealingUnavailable` when ``cryptography`` lacks it."""
    try:
        hpke = importlib.import_module("cryptography.hazmat.primitives.hpke")
        return hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    except (ImportError, AttributeError, TypeError, UnsupportedAlgorithm) as e:
        raise SealingUnavailable(_unavailable(f"HPKE is missing ({type(e).__name__})")) from e


def _unavailable(what: str) -> str:
    try:
        version = importlib.import_module("cryptography").__version__
    except (ImportError, AttributeError):
        version = "unknown"
    return (
        f"the installed cryptography {version} cannot seal classified letters: {what}; "
        "sealing needs HPKE (RFC 9180) with X25519, HKDF-SHA256 and AES-256-GCM "
        "(cryptography.hazmat.primitives.hpke, cryptography 51 or later)"
    )


def check_sealing_support() -> None:
    """Seal and open a test letter with fresh keys; raise :class:`SealingUnavailable` with
    what is missing when the installed ``cryptography`` cannot."""
    try:
        private = X25519PrivateKey.generate()
        public = b64encode(private.public_key().public_bytes_raw())
        key = ContentKey.fresh()
        blob = key.seal_attachment(b"x" * 3, chunk_size=2)
        sealed = seal_letter(key, {"subject": "ทดสอบ"}, sender="a", recipients={"b": public})
        opened, again = open_letter(
            sealed, sender="a", office="b", private_keys={seal_key_id(public): private}
        )
        if opened != {"subject": "ทดสอบ"} or again.open_attachment(blob) != b"xxx":
            raise SealingUnavailable(_unavailable("a test letter did not open to what was sealed"))
    except SealingUnavailable:
        raise
    except (UnsupportedAlgorithm, SealRefused, ValueError, TypeError, AttributeError) as e:
        raise SealingUnavailable(_unavailable(f"{type(e).__name__}: {e}")) from e


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def seal_key_id(public_b64: str) -> str:
    """The key id of an office's X25519 sealing key: 16 hex digits of its SHA-256."""
    raw = b64decode(public_b64)
    if len(raw) != 32:
        raise BadMessage("an X25519 public key is 32 bytes")
    return _sha256(raw)[:16]


def private_key_id(private: X25519PrivateKey) -> str:
    """The key id of the public half of ``private``."""
    return seal_key_id(b64encode(private.public_key().public_bytes_raw()))


def load_seal_private(pem: bytes) -> X25519PrivateKey:
    """Read an office's X25519 private key from PKCS#8 PEM (as :func:`keys.generate_seal_key`
    writes it)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise BadMessage("not a PEM private key") from e
    if not isinstance(key, X25519PrivateKey):
        raise BadMessage("not an X25519 key")
    return key


def _subkey(key: bytes, purpose: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=_LABEL + purpose)
    return AESGCM(hkdf.derive(key))


@dataclass(frozen=True, repr=False)
class ContentKey:
    """A letter's content key. It never leaves the sender unwrapped and is never logged."""

    secret: bytes

    def __repr__(self) -> str:
        return "ContentKey(<secret>)"

    @classmethod
    def fresh(cls) -> ContentKey:
        """A new random key, for one letter."""
        return cls(os.urandom(KEY_BYTES))

    def seal_content(self, content: Mapping[str, Any]) -> bytes:
        """Encrypt ``content`` (a JSON object) as one box: nonce then ciphertext."""
        nonce = os.urandom(_NONCE)
        plain = canonical_bytes(dict(content))
        return nonce + _subkey(self.secret, b" content").encrypt(nonce, plain, _LABEL)

    def open_content(self, box: bytes) -> JSONObject:
        """Decrypt a box of :meth:`seal_content`; :class:`SealRefused` if it was altered."""
        if len(box) < _NONCE + _TAG:
            raise SealRefused("content_altered", "the sealed content is truncated")
        try:
            plain = _subkey(self.secret, b" content").decrypt(box[:_NONCE], box[_NONCE:], _LABEL)
        except InvalidTag as e:
            raise SealRefused(
                "content_altered", "the sealed content does not open with this letter's key"
            ) from e
        try:
            content = parse_json(plain)
        except ValueError as e:
            raise SealRefused("content_altered", "the sealed content is not a JSON object") from e
        if not isinstance(content, dict):
            raise SealRefused("content_altered", "the sealed content is not a JSON object")
        return content

    def seal_attachment(self, data: bytes, *, chunk_size: int = CHUNK_SIZE) -> bytes:
        """Encrypt an attachment in authenticated chunks; return the blob."""
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk size must be 1 to {MAX_CHUNK_SIZE} bytes")
        count = max(1, -(-len(data) // chunk_size))
        header = _HEADER.pack(_MAGIC, os.urandom(8), count, chunk_size)
        aead = _subkey(self.secret, b" attachment")
        parts = [header]
        for i in range(count):
            chunk = data[i * chunk_size : (i + 1) * chunk_size]
            parts.append(aead.encrypt(_chunk_nonce(header, i), chunk, _chunk_aad(header, i)))
        return b"".join(parts)

    def open_attachment(self, blob: bytes) -> bytes:
        """Decrypt a blob of :meth:`seal_attachment`; :class:`SealRefused` naming the first
        chunk that is altered, out of place, missing or extra."""
        if len(blob) < _HEADER.size:
            raise SealRefused("attachment_altered", "the sealed attachment has no header")
        magic, _, count, chunk_size = _HEADER.unpack_from(blob)
        header = blob[: _HEADER.size]
        if magic != _MAGIC:
            raise SealRefused("attachment_altered", "the sealed attachment has no SRBSEAL1 header")
        if not 0 < chunk_size <= MAX_CHUNK_SIZE or count == 0:
            raise SealRefused("attachment_altered", "the sealed attachment's header is invalid")
        body = len(blob) - _HEADER.size
        full = chunk_size + _TAG
        last = body - (count - 1) * full
        if not (_TAG + (count > 1) <= last <= full):
            raise SealRefused(
                "attachment_altered",
                f"the sealed attachment's length does not hold its {count} chunks: "
                "a chunk was dropped, added or truncated",
            )
        aead = _subkey(self.secret, b" attachment")
        out = []
        for i in range(count):
            start = _HEADER.size + i * full
            piece = blob[start : start + full]
            try:
                out.append(aead.decrypt(_chunk_nonce(header, i), piece, _chunk_aad(header, i)))
            except InvalidTag as e:
                raise SealRefused(
                    "attachment_altered",
                    f"chunk {i + 1} of {count} of the sealed attachment is altered or out of place",
                ) from e
        return b"".join(out)


def _chunk_nonce(header: bytes, index: int) -> bytes:
    return header[8:16] + struct.pack(">I", index)


def _chunk_aad(header: bytes, index: int) -> bytes:
    return _LABEL + header + struct.pack(">I", index)


def _wrap_info(sender: str, recipient: str, kid: str, content_sha256: str) -> bytes:
    binding = {"sender": sender, "recipient": recipient, "kid": kid, "content": content_sha256}
    return _LABEL + b" key\x00" + canonical_bytes(binding)


def wrap_key(
    key: ContentKey, *, sender: str, recipient: str, public_b64: str, content_sha256: str
) -> str:
    """Wrap ``key`` for ``recipient``'s X25519 key ``public_b64``: ``<key id>.<base64>``."""
    kid = seal_key_id(public_b64)
    public = X25519PublicKey.from_public_bytes(b64decode(public_b64))
    info = _wrap_info(sender, recipient, kid, content_sha256)
    return f"{kid}.{b64encode(_hpke().encrypt(key.secret, public, info=info))}"


def unwrap_key(
    wrapped: object,
    *,
    sender: str,
    recipient: str,
    content_sha256: str,
    private_keys: Mapping[str, X25519PrivateKey],
) -> ContentKey:
    """Open a wrapped key with the recipient's private key of the key id it names."""
    kid, dot, text = wrapped.partition(".") if isinstance(wrapped, str) else ("", "", "")
    if not dot or not _KID_RE.match(kid):
        raise SealRefused("key_altered", "the wrapped key is not '<key id>.<base64>'")
    private = private_keys.get(kid)
    if private is None:
        raise SealRefused(
            "key_not_held",
            f"the letter is sealed to key {kid}, which this office does not hold; "
            "if the key was lost, the sender must send the letter again",
        )
    try:
        raw = b64decode(text)
    except BadMessage as e:
        raise SealRefused("key_altered", "the wrapped key is not valid base64") from e
    if len(raw) != _HPKE_ENC + KEY_BYTES + _TAG:
        raise SealRefused("key_altered", "the wrapped key has the wrong length")
    info = _wrap_info(sender, recipient, kid, content_sha256)
    try:
        secret = _hpke().decrypt(raw, private, info=info)
    except (InvalidTag, ValueError) as e:
        raise SealRefused(
            "key_mismatch",
            "the wrapped key does not open for this office and letter: "
            "it was altered or moved from another recipient or letter",
        ) from e
    return ContentKey(secret)


def seal_letter(
    key: ContentKey, content: Mapping[str, Any], *, sender: str, recipients: Mapping[str, str]
) -> JSONObject:
    """The ``sealed`` part of a letter body: ``content`` encrypted with ``key`` and ``key``
    wrapped for each office of ``recipients`` (office → its X25519 public key, base64)."""
    box = key.seal_content(content)
    content_sha = _sha256(box)
    keys = {
        office: wrap_key(
            key, sender=sender, recipient=office, public_b64=public, content_sha256=content_sha
        )
        for office, public in recipients.items()
    }
    return {"suite": SUITE, "content": content_sha, "box": b64encode(box), "keys": keys}


def sealed_box(sealed: Any) -> tuple[str, bytes]:
    """The content hash and box of a ``sealed`` value, checked to match;
    :class:`SealRefused` if the value is not the shape :func:`seal_letter` gives."""
    if not isinstance(sealed, Mapping):
        raise SealRefused("not_sealed", "the letter carries no sealed content")
    if sealed.get("suite") != SUITE:
        raise SealRefused("unknown_suite", f"the letter is not sealed with {SUITE}")
    content, box_text = sealed.get("content"), sealed.get("box")
    if not isinstance(content, str) or not _SHA_RE.match(content):
        raise SealRefused("content_altered", "sealed.content is not a SHA-256")
    if not isinstance(box_text, str):
        raise SealRefused("content_altered", "sealed.box is missing")
    try:
        box = b64decode(box_text)
    except BadMessage as e:
        raise SealRefused("content_altered", "sealed.box is not valid base64") from e
    if _sha256(box) != content:
        raise SealRefused("content_altered", "sealed.box does not hash to sealed.content")
    return content, box


def open_letter(
    sealed: Any, *, sender: str, office: str, private_keys: Mapping[str, X25519PrivateKey]
) -> tuple[JSONObject, ContentKey]:
    """Open the ``sealed`` part of a letter from ``sender`` as ``office``, holding
    ``private_keys`` (key id → X25519 private key, older keys included). Return the content
    and the content key (to open the attachments). :class:`SealRefused` says why not."""
    content_sha, box = sealed_box(sealed)
    keys = sealed.get("keys")
    wrapped = keys.get(office) if isinstance(keys, Mapping) else None
    if wrapped is None:
        raise SealRefused("not_a_recipient", "the letter is not sealed to this office")
    key = unwrap_key(
        wrapped,
        sender=sender,
        recipient=office,
        content_sha256=content_sha,
        private_keys=private_keys,
    )
    return key.open_content(box), key


SEALED_SUBJECT = "หนังสือลับ"
"""The subject a sealed letter shows on the wire; its real subject is in the sealed content."""

SEALED_MEDIA_TYPE = "application/octet-stream"
"""The media type a sealed attachment shows on the wire; its real one is in the content."""

PLAIN_TEXT_FIELDS = ("subject", "body", "salutation", "references", "enclosures")
"""A letter's fields the regulation treats as content: sealed, never on the wire."""


def sealed_attachment_name(index: int) -> str:
    """The name sealed attachment ``index`` (from 1) shows on the wire."""
    return f"ไฟล์แนบลับ-{index}"


def wire_attachment(index: int, blob: bytes) -> JSONObject:
    """The ``attachments`` entry of a sealed blob: its ciphertext hash and size, and neutral
    names; the real name, type, size and hash are in the sealed content."""
    return {
        "sha256": _sha256(blob),
        "size": len(blob),
        "media_type": SEALED_MEDIA_TYPE,
        "name": sealed_attachment_name(index),
    }


def plaintext_on_wire(fields: Mapping[str, Any]) -> str | None:
    """The first field of a sealed letter's signed body (as a mapping) that could carry
    plaintext content, or None: a subject other than :data:`SEALED_SUBJECT`, a body,
    salutation, reference or enclosure, an attachment not named as :func:`wire_attachment`
    names it."""
    if fields.get("subject") != SEALED_SUBJECT:
        return "subject"
    for name in PLAIN_TEXT_FIELDS[1:]:
        if fields.get(name):
            return name
    for i, entry in enumerate(fields.get("attachments") or (), start=1):
        if not isinstance(entry, Mapping) or (
            entry.get("name") != sealed_attachment_name(i)
            or entry.get("media_type") != SEALED_MEDIA_TYPE
        ):
            return "attachments"
    return None
