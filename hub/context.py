"""What one request of the hub works with: its clock, database, signing keys and blobs.

Each accessor reads the running app (``current_app``) and keeps per-context objects in
``g``, so the API and the console share one connection per application context. That
connection is the serving thread's own and stays open between its requests (ADR 0021):
opening one costs ~0.5 ms, and closing the last connection to the file checkpoints the
whole WAL and syncs it to disk (~20 ms), which a node pulling batch after batch paid on
every request. This module does not render anything; :mod:`hub.responses` does.
"""

from __future__ import annotations

import threading

from flask import current_app, g

from hub.directory import HubKeyring
from hub.federation.blobs import BlobStore
from hub.store import HubStore


def clock() -> float:
    """The current time of the running app, Unix seconds."""
    return float(current_app.config["CLOCK"]())


CONNECTIONS = "saraban_connections"
"""``app.extensions`` key of the per-thread connections (a ``threading.local``)."""


def get_store() -> HubStore:
    """The database connection of this application context (its thread's, kept open)."""
    if "hub_store" not in g:
        kept = current_app.extensions.setdefault(CONNECTIONS, threading.local())
        store = getattr(kept, "store", None)
        if store is None:
            store = kept.store = HubStore.open(current_app.config["DATABASE"], create=False)
        g.hub_store = store
    current: HubStore = g.hub_store
    return current


def close_store(_exc: BaseException | None = None) -> None:
    """End this context's use of its connection; the thread keeps it for its next request.

    A transaction some failure left open is rolled back here, so the next request starts
    clean (every write is a ``with store.write()`` block, which already does that)."""
    store = g.pop("hub_store", None)
    if store is not None and store.conn.in_transaction:
        store.conn.execute("ROLLBACK")


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


def get_blobs() -> BlobStore:
    """The attachment store of this app."""
    blobs: BlobStore = current_app.extensions["saraban_blobs"]
    return blobs
