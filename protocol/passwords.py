"""Password hashing for the people who log in to a node's or the hub's pages.

Passwords are kept only as salted scrypt hashes in a self-describing form
(``scrypt$n$r$p$salt$hash``) and compared in constant time, so the cost parameters can be
raised later without breaking stored hashes. :func:`spend_check_time` runs one check that
cannot succeed, so a login for a name with no account costs what a real check costs.

Does not: store accounts, count failed logins or keep sessions; the node
(:mod:`node.staff.accounts`) and the hub (:mod:`hub.console.operators`) do that.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1

_NO_ACCOUNT_HASH = (
    f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$"
    f"{base64.b64encode(bytes(16)).decode()}${base64.b64encode(bytes(32)).decode()}"
)
"""A stored hash of the current cost that no password matches (its digest is all zeros)."""


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` in the self-describing stored form."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def password_matches(password: str, stored: str) -> bool:
    """Whether ``password`` hashes to ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def spend_check_time(password: str) -> None:
    """Check ``password`` against a hash nothing matches: one scrypt of the current cost,
    the time :func:`password_matches` takes, for a login whose answer is known already."""
    password_matches(password, _NO_ACCOUNT_HASH)
