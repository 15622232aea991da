"""Trusting the hub's directory of offices, and resolving keys and recipients from it.

A node pins the hub's signing key(s) at enrollment. A new directory is accepted only when
it is signed by a pinned hub key and its version is higher than the one held (the same
version is accepted only as the identical envelope); it then pins the hub keys it lists,
which is how the hub rotates its key.

An office signs with its ``active`` key. A key the office rotated away from (re-enrolment
of a rebuilt node) is listed as ``retired`` with ``last_seq``, the last seq of the office's
feed when it was retired: it still verifies what it signed before, never a later seq. A
``revoked`` key, or any key of a revoked office, verifies nothing.

This module does not fetch or store directories.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .canonical import JSONObject
from .envelope import Envelope, verify_envelope
from .errors import BadMessage, StaleDirectory
from .hub_messages import Directory
from .keys import HUB_OFFICE, public_key_from_b64, split_keyid

ENROLLED = "enrolled"
PENDING = "pending"
REVOKED = "revoked"
ACTIVE = "active"
RETIRED = "retired"


@dataclass
class TrustedDirectory:
    """A verified directory with lookups for keys, offices and lists."""

    directory: Directory
    env_id: str
    _keys: dict[str, Ed25519PublicKey] = field(default_factory=dict, repr=False)
    _retired: dict[str, tuple[Ed25519PublicKey, int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for office in self.directory.offices:
            if office.get("status") == REVOKED:
                continue
            for key in office.get("keys", []):
                status = key.get("status", ACTIVE)
                if status == ACTIVE:
                    self._keys[key["keyid"]] = public_key_from_b64(key["public"])
                elif status == RETIRED and _is_seq(key.get("last_seq")):
                    public = public_key_from_b64(key["public"])
                    self._retired[key["keyid"]] = (public, key["last_seq"])

    @property
    def version(self) -> int:
        """The directory version."""
        return self.directory.version

    def office_key(self, keyid: str) -> Ed25519PublicKey | None:
        """The active public key with this id of a non-revoked office, else None."""
        return self._keys.get(keyid)

    def signing_key(self, keyid: str) -> Ed25519PublicKey | None:
        """The public key with this id that may have signed an envelope a node receives:
        active, or retired (then :meth:`signed_in_time` says which seqs it covers)."""
        active = self._keys.get(keyid)
        if active is not None:
            return active
        retired = self._retired.get(keyid)
        return None if retired is None else retired[0]

    def signed_in_time(self, keyid: str, seq: int) -> bool:
        """Whether ``keyid`` may have signed seq ``seq`` of its office's feed: an active key
        any seq, a retired one only up to the last seq its office had when it was retired."""
        if keyid in self._keys:
            return True
        retired = self._retired.get(keyid)
        return retired is not None and seq <= retired[1]

    def hub_keys(self) -> dict[str, Ed25519PublicKey]:
        """The hub keys this directory names (the ones to pin)."""
        return {k["keyid"]: public_key_from_b64(k["public"]) for k in self.directory.hub_keys}

    def office(self, office_id: str) -> JSONObject | None:
        """The directory entry of an office."""
        for o in self.directory.offices:
            if o["id"] == office_id:
                return o
        return None

    def office_ids(self) -> list[str]:
        """Every non-revoked office."""
        return [o["id"] for o in self.directory.offices if o.get("status") != REVOKED]

    def expand(self, recipients: Iterable[str], lists: Iterable[str]) -> list[str]:
        """Recipients plus list members, in order, without duplicates; unknown names raise."""
        out: list[str] = []
        known = set(self.office_ids())
        for name in lists:
            entry = self.directory.lists.get(name)
            if not isinstance(entry, dict):
                raise BadMessage(f"unknown distribution list {name!r}")
            out.extend(m for m in entry.get("members", []) if m in known)
        for r in recipients:
            if r not in known:
                raise BadMessage(f"unknown or revoked office {r!r}")
            out.append(r)
        seen: set[str] = set()
        return [r for r in out if not (r in seen or seen.add(r))]  # type: ignore[func-returns-value]


def _is_seq(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def accept_directory(
    env: Envelope,
    pinned_hub_keys: dict[str, Ed25519PublicKey],
    held: TrustedDirectory | None,
) -> TrustedDirectory:
    """Verify a directory envelope against the pinned hub keys and refuse a rollback."""
    if env.kind != Directory.KIND:
        raise BadMessage(f"expected a directory, got {env.kind}")
    keyid, body = verify_envelope(env, pinned_hub_keys.get)
    if split_keyid(keyid)[0] != HUB_OFFICE:
        raise BadMessage("a directory must be signed by the hub")
    directory = Directory.from_dict(body)
    if held is not None:
        if directory.version < held.version:
            raise StaleDirectory(
                f"directory version {directory.version} is older than held {held.version}"
            )
        if directory.version == held.version and env.env_id != held.env_id:
            raise StaleDirectory(f"a different directory claims version {held.version}")
    return TrustedDirectory(directory, env.env_id)
