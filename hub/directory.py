"""The hub's signing keys and the signed, versioned directory of offices.

:class:`HubKeyring` holds the hub's Ed25519 keys (files ``<instance>/keys/hub-<n>.key``,
mode 0600). Hub envelopes are signed by the current key and, after a rotation, co-signed by
the previous one, so that a node which has not yet fetched the rotation directory still
verifies them (:func:`protocol.envelope.verify_envelope` skips unknown keys but needs one
known key to verify).

:func:`publish_directory` signs the next directory version from the store's offices, keys,
lists and shared registers. It must run inside the caller's write transaction, so that a
state change and the directory that announces it are committed together.
:func:`reissue_stale_directory` signs it again when nothing changed for
:data:`DIRECTORY_REISSUE_SECONDS` (the scheduler's hourly job), so the directory a node
holds is never older than a day while the hub works: a node that holds an older one
although the hub answers warns of a frozen directory (``DIRECTORY_MAX_AGE_DAYS``).

This module does not decide when to publish; :mod:`hub.federation.enrollment` and :mod:`hub.admin`
do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.clock import iso_utc
from hub.errors import StoreError
from hub.store import HubStore
from protocol.canonical import canonical_bytes
from protocol.envelope import Envelope, Signature, pae, payload_type
from protocol.hub_messages import Directory
from protocol.keys import HUB_OFFICE, Signer, load_signer, save_signer

DIRECTORY_REISSUE_SECONDS = 24 * 3600.0
"""The newest directory is signed again once it is this old, changed or not."""


def hub_key_path(instance_path: str | Path, key_no: int) -> Path:
    """Where hub key number ``key_no`` is kept."""
    return Path(instance_path) / "keys" / f"hub-{key_no}.key"


@dataclass
class HubKeyring:
    """The hub's current signing key and, after a rotation, the previous one."""

    current: Signer
    previous: Signer | None = None

    @classmethod
    def load(cls, instance_path: str | Path, store: HubStore) -> HubKeyring:
        """Load the current (and previous) hub keys named by the store."""
        current: Signer | None = None
        previous: Signer | None = None
        for row in store.hub_keys():
            if row["status"] == "current":
                current = load_signer(hub_key_path(instance_path, row["key_no"]))
            elif row["status"] == "previous":
                previous = load_signer(hub_key_path(instance_path, row["key_no"]))
        if current is None:
            raise StoreError("the hub has no signing key: run `saraban hub init`")
        return cls(current, previous)

    @staticmethod
    def create(instance_path: str | Path, store: HubStore, key_no: int, now: float) -> Signer:
        """Generate hub key ``key_no``, save it (0600) and make it current in the store."""
        signer = Signer.generate(HUB_OFFICE, key_no)
        save_signer(signer, hub_key_path(instance_path, key_no))
        store.add_hub_key(signer.keyid, key_no, signer.public_b64(), now)
        return signer

    def signers(self) -> list[Signer]:
        """The keys every hub envelope is signed with, current first."""
        return [self.current] if self.previous is None else [self.current, self.previous]

    def sign(self, kind: str, body: Mapping[str, Any]) -> Envelope:
        """A hub envelope of ``kind`` signed by :meth:`signers`."""
        ptype = payload_type(kind)
        data = canonical_bytes(dict(body))
        message = pae(ptype, data)
        sigs = tuple(Signature(s.keyid, s.sign(message)) for s in self.signers())
        return Envelope(ptype, data, sigs)

    def public_keys(self) -> list[dict[str, str]]:
        """The hub keys a node should pin now: ``[{"keyid", "public"}]``."""
        return [{"keyid": self.current.keyid, "public": self.current.public_b64()}]


def directory_body(
    store: HubStore, version: int, now: float, hub_keys: list[dict[str, str]]
) -> Directory:
    """The directory the store describes, as version ``version``."""
    offices = []
    for row in store.offices():
        keys: list[dict[str, Any]] = []
        for k in store.keys_of(row["id"]):
            key: dict[str, Any] = {
                "keyid": k["keyid"],
                "public": k["public"],
                "status": k["status"],
            }
            if k["status"] == "retired" and k["retired_seq"] is not None:
                key["last_seq"] = int(k["retired_seq"])  # what it signed stays verifiable
            keys.append(key)
        entry: dict[str, Any] = {
            "id": row["id"],
            "name": row["name"],
            "province": row["province"],
            "group": row["group_no"],
            "group_name": row["group_name"],
            "status": row["status"],
            "keys": keys,
            "seal_public": row["seal_public"],
        }
        offices.append(entry)
    shared = [
        {"owner": r["owner"], "series": r["series"], "basis": r["basis"], "members": r["members"]}
        for r in store.shared_registers()
    ]
    return Directory(
        version=version,
        issued_at=iso_utc(now),
        hub_keys=list(hub_keys),
        offices=offices,
        lists=dict(store.lists()),
        shared_registers=shared,
    )


def publish_directory(
    store: HubStore,
    keyring: HubKeyring,
    now: float,
    hub_keys: list[dict[str, str]] | None = None,
) -> int:
    """Sign and store the next directory version; return its number.

    Call inside a write transaction. ``hub_keys`` overrides the keys announced (used by a
    key rotation, whose directory announces the new key but is signed by the old one).
    """
    head = store.directory_head()
    version = 1 if head is None else int(head["version"]) + 1
    body = directory_body(store, version, now, hub_keys or keyring.public_keys())
    env = keyring.sign(Directory.KIND, body.to_dict())
    store.add_directory(version, env.env_id, env.to_bytes(), now)
    return version


def reissue_stale_directory(
    store: HubStore, keyring: HubKeyring, now: float, max_age: float = DIRECTORY_REISSUE_SECONDS
) -> int | None:
    """Sign the directory again as a new version when the newest is ``max_age`` old or
    more; return the new version, None when the newest is younger."""
    with store.write():
        head = store.directory_head()
        if head is not None and now - float(head["at"]) < max_age:
            return None
        return publish_directory(store, keyring, now)


def current_directory(store: HubStore) -> tuple[int, bytes] | None:
    """``(version, envelope bytes)`` of the newest directory."""
    head = store.directory_head()
    if head is None:
        return None
    return int(head["version"]), bytes(head["envelope"])


def directory_version(store: HubStore) -> int:
    """The newest directory version (0 before the first)."""
    head = store.directory_head()
    return 0 if head is None else int(head["version"])
