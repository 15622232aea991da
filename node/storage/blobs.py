"""Attachment bytes, stored once by SHA-256 under ``<instance>/blobs/``.

A complete blob lives at ``blobs/<aa>/<sha256>``; a download in progress at
``blobs/partial/<sha256>`` so it can resume from its length. The ``attachments`` table
records what each blob is and whether it is present and uploaded
(:func:`node.records.letters.record_attachment`). Blobs are their owner's only: files 0600
in folders 0700 (:mod:`protocol.filemodes`); :func:`open_partial` opens a download so.

This module does not talk to the hub; :mod:`node.sync.attachments` moves the bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from pathlib import Path
from typing import BinaryIO

from node.storage import disk
from protocol.filemodes import private_folder, private_opener


def blob_path(root: Path, sha256: str) -> Path:
    """Where a complete blob is kept."""
    return root / sha256[:2] / sha256


def partial_path(root: Path, sha256: str) -> Path:
    """Where a blob being downloaded is kept until its hash checks out."""
    return root / "partial" / sha256


def open_partial(root: Path, sha256: str) -> BinaryIO:
    """The download in progress of a blob, opened to append (created 0600 if new)."""
    part = partial_path(root, sha256)
    private_folder(part.parent)
    return open(part, "ab", opener=private_opener)


def has_blob(root: Path, sha256: str) -> bool:
    """Whether the complete blob is on disk."""
    return blob_path(root, sha256).exists()


def save_blob(root: Path, content: bytes) -> str:
    """Store bytes by their hash (no-op if already held); return the hex SHA-256.

    A disk that is full or read-only raises :class:`node.errors.CannotWrite` and leaves
    no piece of the file behind."""
    digest = hashlib.sha256(content).hexdigest()
    path = blob_path(root, digest)
    if not path.exists():
        place = disk.files_place(root.parent)
        # A name of its own per writer: two clerks attaching the same file at once would
        # otherwise rename one temporary file away under the other (or mix their writes).
        tmp = path.with_name(f".{digest}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            private_folder(path.parent)
            with open(tmp, "wb", opener=private_opener) as f:
                f.write(content)
            os.replace(tmp, path)
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            refusal = disk.refusal_for(e, place)
            if refusal is None:
                raise
            raise refusal from e
        disk.clear(place)
    return digest


def read_range(root: Path, sha256: str, offset: int, length: int) -> bytes:
    """``length`` bytes of a blob from ``offset``."""
    with blob_path(root, sha256).open("rb") as f:
        f.seek(offset)
        return f.read(length)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def complete_partial(root: Path, sha256: str) -> bool:
    """Move a finished download into place if its hash matches; discard it otherwise."""
    part = partial_path(root, sha256)
    if file_sha256(part) != sha256:
        part.unlink(missing_ok=True)
        return False
    final = blob_path(root, sha256)
    private_folder(final.parent)
    os.replace(part, final)
    return True
