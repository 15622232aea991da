"""Time-based one-time passwords (RFC 6238), the second factor of the portal (ADR 0024).

HMAC-SHA-1 over the number of 30-second steps since the Unix epoch, truncated to six
digits as RFC 4226 says: what every authenticator application reads from an
``otpauth://totp/`` URI. A secret is 160 random bits written in base32 without padding
(:func:`new_secret`); :func:`code_at` gives the code of a moment, :func:`check_code` says
which time step a typed code matched within a window of steps either side, so the caller
can refuse a code used twice (a step at or before the last one accepted).

Every function takes the time as an argument; none reads a clock.

This module does not store secrets, count failures or remember used steps: the node
(:mod:`node.staff.second_factor`) and the portal do that.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
"""Seconds one code is current for."""
DIGITS = 6
"""Digits of a code."""
SECRET_BYTES = 20
"""Random bytes of a new secret (160 bits, the length RFC 4226 recommends)."""
MAX_SECRET_CHARS = 128
"""Characters of a base32 secret this module reads at most (640 bits)."""
DEFAULT_WINDOW = 1
"""Time steps either side of now that :func:`check_code` accepts by default, for a clock
off by up to 30 seconds and a code typed as it changes."""

_BASE32 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


class BadSecret(ValueError):
    """A TOTP secret that is not base32 of at least 80 bits."""


def new_secret() -> str:
    """A fresh secret: 160 random bits, base32 without padding (32 characters)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def normalise_secret(secret: str) -> str:
    """``secret`` in capitals without spaces, hyphens or padding; :class:`BadSecret` when
    it is not base32 of 80 to 640 bits."""
    text = "".join(secret.split()).replace("-", "").rstrip("=").upper()
    if not 16 <= len(text) <= MAX_SECRET_CHARS or not _BASE32.issuperset(text):
        raise BadSecret("a TOTP secret is 16 to 128 base32 characters")
    return text


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a base32 ``secret`` (spaces, hyphens and case ignored)."""
    text = normalise_secret(secret)
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError) as e:
        raise BadSecret("a TOTP secret is base32") from e


def time_step(t: float) -> int:
    """The RFC 6238 time step of Unix time ``t``."""
    return int(t // STEP_SECONDS)


def code_for_step(key: bytes, step: int) -> str:
    """The RFC 4226 code of counter ``step`` under ``key``, six digits with leading zeros;
    :class:`ValueError` for a step outside the 64-bit counter (a time before 1970)."""
    if not 0 <= step < 2**64:
        raise ValueError("a TOTP time step is a 64-bit counter from 0")
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def code_at(secret: str, t: float) -> str:
    """The code of ``secret`` at Unix time ``t``."""
    return code_for_step(secret_bytes(secret), time_step(t))


def read_code(typed: str) -> str | None:
    """A typed code as six ASCII digits (spaces dropped, Thai digits read), or None when it
    is not six digits."""
    text = "".join(typed.split())[: DIGITS * 4]
    text = text.translate(str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789"))
    if len(text) != DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return text


def check_code(secret: str, code: str, t: float, window: int = DEFAULT_WINDOW) -> int | None:
    """The time step within ``window`` steps of ``t`` whose code is ``code``, or None.

    Every step of the window is compared in constant time, so the answer's timing does
    not say how close a guess came. The caller refuses a step at or before the last one
    it accepted for this secret: a code is good once."""
    typed = read_code(code)
    key = secret_bytes(secret)
    now = time_step(t)
    matched: int | None = None
    first = max(0, now - max(0, window))
    for step in range(first, min(2**64, now + max(0, window) + 1)):
        expected = code_for_step(key, step)
        if hmac.compare_digest(expected, typed or "-" * DIGITS) and matched is None:
            matched = step
    return matched


def otpauth_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://totp/`` URI an authenticator application reads from a QR code:
    the label ``issuer:account``, and the secret, issuer, algorithm, digits and period."""
    label = quote(f"{issuer}:{account}", safe=":@")
    query = urlencode(
        {
            "secret": normalise_secret(secret),
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def grouped(secret: str) -> str:
    """The secret in groups of four characters, for typing it by hand."""
    text = normalise_secret(secret)
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))
