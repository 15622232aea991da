"""What one request of the hub works with: its clock, database, signing keys and blobs.

Each accessor reads the running app (``current_app``) and keeps per-context objects in
``g``, so the API and the console share one connection per application context. This
module does not render anything; :mod:`hub.responses` does.
"""

from __future__ import annotations

from flask import current_app, g

from hub.directory import HubKeyring
from hub.federation.blobs import BlobStore
from hub.federation.exchanges import Exchanges
from hub.store import HubStore


def clock() -> float:
    """The current time of the running app, Unix seconds."""
    return float(current_app.config["CLOCK"]())


def get_store() -> HubStore:
    """The database connection of this application context."""
    if "hub_store" not in g:
        g.hub_store = HubStore.open(current_app.config["DATABASE"], create=False)
    store: HubStore = g.hub_store
    return store


def close_store(_exc: BaseException | None = None) -> None:
    """Close this context's database connection."""
    store = g.pop("hub_store", None)
    if store is not None:
        store.close()


def get_keyring() -> HubKeyring:
    """The hub's signing keys, reloaded when an operator rotated them."""
    store = get_store()
    rows = store.hub_keys()
    current = next((r["keyid"] for r in rows if r["status"] == "current"), None)
    cache: dict[str, HubKeyring] = current_app.extensions["saraban_keyring"]
    keyring = cache.get("keyring")
    if keyring is None or keyring.current.keyid != current:
        keyring = HubKeyring.load(current_app.instance_path, store)
        cache["keyring"] = keyring
    return keyring


def get_exchanges() -> Exchanges:
    """The pushes and pulls this process is serving (the index job gives way to them)."""
    activity: Exchanges = current_app.extensions["saraban_exchanges"]
    return activity


def get_blobs() -> BlobStore:
    """The attachment store of this app."""
    blobs: BlobStore = current_app.extensions["saraban_blobs"]
    return blobs
