"""A hub's identity: creating an instance (its key, seed offices, lists and first
directory) and rotating its signing key.

Does not: add or revoke offices (:mod:`hub.admin.offices`) or edit lists
(:mod:`hub.admin.lists`), though creating an instance derives the first lists.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from hub.admin.access import Instance, action_time, open_for_action, open_hub
from hub.admin.lists import rebuild_derived_lists
from hub.directory import HubKeyring, current_directory, publish_directory
from hub.store import HubStore, shown
from protocol.filemodes import private_folder
from protocol.keys import fingerprint


def seed_data() -> dict[str, Any]:
    """The pilot offices and list titles shipped in ``hub/data/offices.json``."""
    text = resources.files("hub").joinpath("data/offices.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def init_hub(instance_path: str | Path, now: float | None = None) -> dict[str, Any]:
    """Create a hub instance: folder (0700), hub key and database (0600), pilot offices,
    lists, and directory version 1. Running it again on an initialised instance changes nothing.

    Returns ``{"instance", "database", "hub_keyid", "fingerprint", "directory_version",
    "offices", "created"}``.
    """
    when = action_time(now)
    path = private_folder(Path(instance_path))
    with open_hub(path, create=True) as (_, settings, store):
        created = not store.hub_keys()
        if created:
            data = seed_data()
            with store.write():
                HubKeyring.create(path, store, 1, when)
                for o in data["offices"]:
                    store.add_office(
                        o["id"], o["name"], o["province"], o["group_no"], o["group_name"], when
                    )
                pilot = data["pilot_list"]
                store.set_list(
                    pilot["name"],
                    pilot["title"],
                    [o["id"] for o in data["offices"] if o["group_no"] is not None],
                )
                rebuild_derived_lists(store)
                publish_directory(store, HubKeyring.load(path, store), when)
        keyring = HubKeyring.load(path, store)
        head = current_directory(store)
        return {
            "instance": str(path),
            "database": shown(settings["DATABASE"]),
            "hub_keyid": keyring.current.keyid,
            "fingerprint": fingerprint(keyring.current.public_b64()),
            "directory_version": head[0] if head else 0,
            "offices": len(store.offices()),
            "created": created,
        }


def rotate_hub_key(
    instance: Instance, now: float | None = None, *, store: HubStore | None = None
) -> str:
    """Make a new hub signing key current; return its key id.

    The directory that announces it is signed by the new and the old key, so nodes that
    pinned the old key accept it; hub envelopes stay co-signed by the old key until the
    next rotation.
    """
    when = action_time(now)
    with open_for_action(instance, store) as (path, _, db), db.write():
        top = max((r["key_no"] for r in db.hub_keys()), default=0)
        signer = HubKeyring.create(path, db, top + 1, when)
        publish_directory(db, HubKeyring.load(path, db), when)
        return signer.keyid
