"""Office and hub keys: Ed25519 for signing, X25519 for sealed (classified) letters.

Keys are ``cryptography``'s objects: generated, stored and loaded by it. The signatures
themselves are made and checked by libsodium (PyNaCl, ADR 0029), the same Ed25519 with the
same signatures, 1.2 times as fast to sign and 1.6 times as fast to verify as
``cryptography``'s OpenSSL for a letter of a few kilobytes.

Key ids are ``"<office id>#<key number>"`` (``"ชม 0017#1"``, ``"hub#2"``). Public keys
travel as standard base64 of their raw bytes. Private keys are stored as unencrypted PKCS#8
PEM in files created with mode 0600 inside an instance folder; they are never logged,
never put in an error message and never sent anywhere.

This module does not decide which keys to trust; the directory does (:mod:`protocol.directory`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import nacl.bindings
import nacl.exceptions
import pybase64
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from .errors import BadMessage
from .filemodes import private_folder

HUB_OFFICE = "hub"
_KEY_NO_RE = re.compile(r"[0-9]{1,6}")


def make_keyid(office: str, key_no: int) -> str:
    """Return the key id naming key number ``key_no`` of ``office``."""
    return f"{office}#{key_no}"


def split_keyid(keyid: str) -> tuple[str, int]:
    """Split a key id into ``(office, key number)``; raise :class:`BadMessage` if malformed."""
    office, sep, number = keyid.rpartition("#")
    if not sep or not office or not _KEY_NO_RE.fullmatch(number):
        raise BadMessage(f"malformed key id {keyid[:80]!r}")
    return office, int(number)


def b64encode(data: bytes) -> str:
    """Standard base64 with padding, as text (pybase64's SIMD encoder: 0.5 µs for a
    4.6 KB body against the standard library's 5 µs)."""
    return pybase64.b64encode_as_string(data)


def b64decode(text: str) -> bytes:
    """Strict standard base64; raise :class:`BadMessage` on any stray character.

    pybase64 decodes what is plain base64 (1 µs for an envelope's 6 KB payload against the
    standard library's 11 µs); whatever it refuses is decided by the standard library, as
    before, which also takes padding pybase64 does not (``QUJD====``)."""
    try:
        return pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        pass
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as e:
        raise BadMessage("invalid base64") from e


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """Decode a base64 raw Ed25519 public key."""
    raw = b64decode(text)
    if len(raw) != 32:
        raise BadMessage("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_b64(key: Ed25519PublicKey) -> str:
    """Encode an Ed25519 public key as base64 of its raw bytes."""
    return b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def fingerprint(public_b64: str) -> str:
    """A short, human-comparable fingerprint of a public key (SHA-256, 4-hex groups)."""
    digest = hashlib.sha256(b64decode(public_b64)).hexdigest()[:24]
    return ":".join(digest[i : i + 4] for i in range(0, len(digest), 4))


SIGNATURE_BYTES = 64
"""An Ed25519 signature's length."""


def verify_signature(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message``.

    libsodium reads a signature and its message as one run of bytes, the signature first,
    so a signature of any other length than 64 bytes is refused before they are joined."""
    if len(signature) != SIGNATURE_BYTES:
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + message, public.public_bytes_raw())
    except nacl.exceptions.BadSignatureError:
        return False
    return True


@dataclass(frozen=True)
class Signer:
    """Signs on behalf of one key id. Holders pass a signer around, never a key file."""

    keyid: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, office: str, key_no: int = 1) -> Signer:
        """A new random key for ``office``."""
        return cls(make_keyid(office, key_no), Ed25519PrivateKey.generate())

    @property
    def office(self) -> str:
        """The office this key belongs to."""
        return split_keyid(self.keyid)[0]

    @cached_property
    def _secret(self) -> bytes:
        """libsodium's form of the private key: its 32-byte seed, then the public key."""
        public = self.private_key.public_key().public_bytes_raw()
        return self.private_key.private_bytes_raw() + public

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of ``message`` (what ``private_key.sign`` gives, sooner)."""
        return nacl.bindings.crypto_sign(message, self._secret)[:SIGNATURE_BYTES]

    def public_b64(self) -> str:
        """This key's public half, base64."""
        return public_key_b64(self.private_key.public_key())


def _write_private(path: Path, pem: bytes) -> None:
    private_folder(path.parent)
    # Create with 0600 from the start so the key is never readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(path, 0o600)


def save_signer(signer: Signer, path: Path) -> None:
    """Write the signer's private key to ``path`` (PKCS#8 PEM, mode 0600) with its key id."""
    pem = signer.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(path, f"# keyid: {signer.keyid}\n".encode() + pem)


def load_signer(path: Path) -> Signer:
    """Read a signer written by :func:`save_signer`."""
    data = path.read_bytes()
    first, _, pem = data.partition(b"\n")
    if not first.startswith(b"# keyid: "):
        raise BadMessage(f"{path.name} is not a Saraban key file")
    keyid = first[len(b"# keyid: ") :].decode("utf-8")
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise BadMessage(f"{path.name} does not hold an Ed25519 key")
    return Signer(keyid, key)


def generate_seal_key(path: Path) -> str:
    """Create an X25519 key for sealed letters at ``path`` (0600); return its public base64."""
    key = X25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(path, pem)
    return b64encode(
        key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
