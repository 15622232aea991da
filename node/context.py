"""Everything one node action needs: instance folder, settings, clock, key and database.

A :class:`NodeContext` is built once per app (or per CLI run) and hands out a fresh
:class:`~node.storage.store.Store` per thread or request and the office's signer;
:func:`node.sync.hubclient.hub_client` makes its client for the hub.
Time comes only from ``clock`` (Unix seconds), so tests inject it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.config import load_settings
from node.errors import NotInitialised
from node.storage.store import SIDECAR_NAME, Store
from protocol.keys import Signer, load_signer

SIGN_KEY_FILE = "keys/sign.key"
SEAL_KEY_FILE = "keys/seal.key"
API_TOKEN_FILE = "api_token"  # noqa: S105 - a file name, not a secret
SOFTWARE = "saraban-node/0.1"


@dataclass
class NodeContext:
    """One office node: its instance folder, settings and injected clock."""

    instance: Path
    settings: dict[str, Any]
    clock: Callable[[], float] = time.time
    _signer: Signer | None = field(default=None, repr=False)
    _signer_file: tuple[int, int] | None = field(default=None, repr=False)
    _pinned: threading.local = field(default_factory=threading.local, repr=False)
    startup_checked: bool = False
    sync_phase: str | None = None
    """The step of the sync round running now (``push``, ``pull`` …), None between rounds."""
    on_feed_change: Callable[[], None] | None = field(default=None, repr=False)
    """Called after a transaction that appended to the own feed commits (the live sync)."""

    @classmethod
    def load(
        cls,
        instance: str | Path,
        test_config: dict[str, Any] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> NodeContext:
        """Read the settings of the node in ``instance``."""
        path = Path(instance)
        settings = load_settings(path, test_config)
        return cls(path, settings, clock or settings.get("CLOCK") or time.time)

    def now(self) -> float:
        """The current time, from the injected clock."""
        return float(self.clock())

    @property
    def office(self) -> str:
        """This office's id."""
        office = str(self.settings.get("OFFICE") or "")
        if not office:
            raise NotInitialised("OFFICE is not configured; run init first")
        return office

    @property
    def signer(self) -> Signer:
        """The office's signing key, read again when its file was replaced (a new key made
        by ``saraban node rekey`` or ``init --reenroll`` in another process, ADR 0018),
        or the one :meth:`signer_pinned` holds for this thread."""
        pinned: Signer | None = getattr(self._pinned, "signer", None)
        if pinned is not None:
            return pinned
        path = self.instance / SIGN_KEY_FILE
        try:
            stat = path.stat()
        except FileNotFoundError:
            if self._signer is None:
                raise NotInitialised(f"{path} is missing; run init first") from None
            return self._signer
        stamp = (stat.st_ino, stat.st_mtime_ns)
        if self._signer is None or stamp != self._signer_file:
            self._signer, self._signer_file = load_signer(path), stamp
        return self._signer

    @contextmanager
    def signer_pinned(self) -> Iterator[Signer]:
        """Within the block, this thread signs with the key of its start without looking
        at the key file again: a write transaction of the pull signs receipts for hundreds
        of letters. A key replaced meanwhile signs the next one; what the old one signed is
        signed again at push
        (:func:`node.storage.feed.outgoing_wire`)."""
        signer = self.signer
        self._pinned.signer = signer
        try:
            yield signer
        finally:
            self._pinned.signer = None

    def open_store(self) -> Store:
        """A new connection to the node database (close it, or use it as a context)."""
        store = Store(self.settings["DATABASE"], sidecar=self.instance / SIDECAR_NAME)
        store.on_feed_change = self.on_feed_change
        return store

    def blob_dir(self) -> Path:
        """Where attachment bytes live, by SHA-256."""
        return self.instance / "blobs"
