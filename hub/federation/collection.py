"""Collecting attachment bytes nothing needs: orphan blobs and abandoned partial uploads.

Two kinds of file in the blob folder (:mod:`hub.federation.blobs`) are removed once their
grace period has passed since they last changed:

* an **orphan blob**, ``<sha256>``, complete but cited by no letter the hub holds
  (``blob_refs``), ``ORPHAN_BLOB_GRACE_DAYS`` (7) after its upload finished: a node uploads
  a letter's attachments before it pushes the letter, so a blob is an orphan for a moment
  in every send, and for good only when its letter never came (or was refused for good);
* a **stale partial upload**, ``<sha256>.<uploader>.part``, ``PARTIAL_UPLOAD_GRACE_HOURS``
  (24) after its last chunk: an upload that still goes on changes its file.

An orphan is checked and removed inside a write transaction, the one the ingest checks a
letter's attachments in, so a letter is either accepted citing a blob the collection then
keeps, or finds it gone and is refused ``blobs_incomplete`` (its node uploads it again).
Each file is removed only if no upload touched it since it was listed
(:meth:`BlobStore.remove_unchanged`). What was removed is counted in the database
(``collected``, for ``/metrics``) and logged: one line per run and the first files by name.

Runs as a job of ``saraban hub serve`` (:mod:`hub.jobs`). Does not: decide who may read a
blob (:mod:`hub.federation.blobs`), or touch the ``blob_readers`` of a removed blob (an
uploader's right to read it stays, and it uploads the bytes again to use them).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from hub.federation.blobs import BlobStore
from hub.store import COLLECTED_KINDS, ORPHAN_BLOB, PARTIAL_UPLOAD, HubStore

log = logging.getLogger(__name__)

BATCH = 200
"""Orphans checked and removed per write transaction, so pushes wait little for it."""
LOGGED_FILES = 20
"""Removed files named in the log per run; the rest are counted."""

_COMPLETE_RE = re.compile(r"[0-9a-f]{64}")
_PARTIAL_RE = re.compile(r"[0-9a-f]{64}\.[0-9a-f]+\.part")


@dataclass(frozen=True)
class _Seen:
    path: Path
    size: int
    mtime_ns: int


@dataclass
class Collected:
    """What one run removed: ``(file name, bytes)`` of each kind."""

    orphans: list[tuple[str, int]] = field(default_factory=list)
    partials: list[tuple[str, int]] = field(default_factory=list)

    def total(self, what: str) -> tuple[int, int]:
        """``(files, bytes)`` removed of one kind (``orphan_blob`` or ``partial_upload``)."""
        removed = self.orphans if what == ORPHAN_BLOB else self.partials
        return len(removed), sum(size for _, size in removed)


def _older_than(blobs: BlobStore, before: float) -> tuple[list[_Seen], list[_Seen]]:
    """Complete blobs and partial uploads that last changed before ``before``."""
    complete: list[_Seen] = []
    partial: list[_Seen] = []
    try:
        entries = list(os.scandir(blobs.root))
    except FileNotFoundError:
        return complete, partial
    for entry in entries:
        if _COMPLETE_RE.fullmatch(entry.name):
            kind = complete
        elif _PARTIAL_RE.fullmatch(entry.name):
            kind = partial
        else:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if info.st_mtime < before:
            kind.append(_Seen(Path(entry.path), info.st_size, info.st_mtime_ns))
    return complete, partial


def collect_unused(
    store: HubStore,
    blobs: BlobStore,
    now: float,
    orphan_grace_seconds: float,
    partial_grace_seconds: float,
) -> Collected:
    """Remove the orphan blobs and stale partial uploads of ``blobs`` as of ``now``."""
    done = Collected()
    _, partials = _older_than(blobs, now - partial_grace_seconds)
    for seen in partials:
        if blobs.remove_unchanged(seen.path, seen.mtime_ns):
            done.partials.append((seen.path.name, seen.size))
    complete, _ = _older_than(blobs, now - orphan_grace_seconds)
    for start in range(0, len(complete), BATCH):
        batch = complete[start : start + BATCH]
        with store.write():
            cited = store.blobs_cited(seen.path.name for seen in batch)
            for seen in batch:
                if seen.path.name not in cited and blobs.remove_unchanged(seen.path, seen.mtime_ns):
                    done.orphans.append((seen.path.name, seen.size))
    with store.write():
        for what in COLLECTED_KINDS:
            files, size = done.total(what)
            if files:
                store.count_collected(what, files, size, now)
    _log(done)
    return done


def _log(done: Collected) -> None:
    orphans, orphan_bytes = done.total(ORPHAN_BLOB)
    partials, partial_bytes = done.total(PARTIAL_UPLOAD)
    log.info(
        "collected %d orphan blob(s), %d bytes, and %d stale partial upload(s), %d bytes",
        orphans,
        orphan_bytes,
        partials,
        partial_bytes,
    )
    named = [(ORPHAN_BLOB, *f) for f in done.orphans]
    named += [(PARTIAL_UPLOAD, *f) for f in done.partials]
    for what, name, size in named[:LOGGED_FILES]:
        log.info("removed %s %s (%d bytes)", what, name, size)
    if len(named) > LOGGED_FILES:
        log.info("and %d more file(s) not named here", len(named) - LOGGED_FILES)
