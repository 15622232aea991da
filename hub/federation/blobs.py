"""Content-addressed attachment bytes, uploaded and downloaded in resumable chunks, and who
may read them.

Files live under the blob folder: ``<sha256>`` once complete and verified, and
``<sha256>.<uploader>.part`` while an office's upload is under way (``<uploader>`` is
:func:`uploader_tag` of the office: each office uploads into its own partial file, so one
office neither sees nor disturbs another's upload). A chunk is appended only at the offset
that office's partial already holds (else 409 with ``received``); when the declared size
is reached the bytes are hashed, and a mismatch discards the partial upload (422).
Completed blobs are never rewritten.

Who may read a blob (the ``blob_readers`` of :mod:`hub.store.routes`):

* an office that uploaded every byte of it itself: the first to do so is the blob's owner;
  another office holding the same file proves it the same way, by uploading it whole;
* the recipients of a letter citing it whose sender could read it when the hub accepted
  the letter (:func:`grant_readers`, at routing): an office citing a blob it cannot read
  grants nothing, and an office that received a blob may send it on.

Ingest refuses a letter citing a blob its sender cannot read exactly as one citing a blob
the hub lacks (``blobs_incomplete``), and to an office that cannot read a blob, ``HEAD``,
``GET`` and ``PUT`` answer as for an absent one: absent and forbidden look the same. A
reader's upload of a blob the hub holds is answered "complete" without the bytes
(ADR 0020).

Does not: authenticate the office (:mod:`hub.federation.auth`), or decide which old files
to collect (:mod:`hub.federation.collection`).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hub.errors import BadRequest, Conflict, NotFound, TooLarge, Unprocessable
from hub.store import HubStore
from protocol.api import MAX_CHUNK
from protocol.filemodes import private_folder, private_opener
from protocol.messages import MAX_ATTACHMENT_BYTES

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_HASH_BLOCK = 1024 * 1024
ABSENT = "the hub does not hold this blob"
READERS_META = "blob_readers_filled"


def uploader_tag(office: str) -> str:
    """What names ``office``'s partial uploads in the blob folder (an office id is not a
    file name)."""
    return hashlib.sha256(office.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class BlobState:
    """What the hub holds of one blob: complete (``size`` its length), or ``size`` bytes of
    an upload under way."""

    complete: bool
    size: int


class BlobStore:
    """Attachment files by hash under one folder; knows nothing of who may read them."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._lock = threading.Lock()

    def _check(self, sha256: str) -> None:
        if not _SHA_RE.match(sha256):
            raise BadRequest("a blob is named by 64 lowercase hex digits of its SHA-256")

    def path(self, sha256: str) -> Path:
        """The final file of a blob."""
        self._check(sha256)
        return self.root / sha256

    def partial_path(self, sha256: str, office: str) -> Path:
        """The file of ``office``'s upload of a blob while it is under way."""
        self._check(sha256)
        return self.root / f"{sha256}.{uploader_tag(office)}.part"

    def complete_size(self, sha256: str) -> int | None:
        """The size of a complete blob, or None when the hub does not hold it whole."""
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def received(self, sha256: str, office: str) -> int:
        """How many bytes ``office``'s upload under way holds (0: none)."""
        try:
            return self.partial_path(sha256, office).stat().st_size
        except FileNotFoundError:
            return 0

    def put_chunk(
        self, sha256: str, office: str, offset: int, size: int, chunk: bytes
    ) -> BlobState:
        """Append ``chunk`` at ``offset`` of ``office``'s upload of a blob of ``size`` bytes;
        complete once the bytes hash to the name (whether or not the hub held them already)."""
        self._check(sha256)
        if len(chunk) > MAX_CHUNK:
            raise TooLarge(f"a chunk is at most {MAX_CHUNK} bytes")
        if not 0 <= size <= MAX_ATTACHMENT_BYTES:
            raise BadRequest(f"size must be from 0 to {MAX_ATTACHMENT_BYTES}")
        with self._lock:
            held = self.received(sha256, office)
            if offset != held:
                error = Conflict(
                    f"offset {offset} differs from the {held} bytes held",
                    code="offset_mismatch",
                )
                error.extra["received"] = held
                raise error
            if offset + len(chunk) > size:
                raise BadRequest("chunk goes beyond the declared size")
            if not chunk and offset != size:
                raise BadRequest("empty chunk")
            private_folder(self.root)
            part = self.partial_path(sha256, office)
            with open(part, "ab", opener=private_opener) as f:
                f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            received = offset + len(chunk)
            if received < size:
                return BlobState(False, received)
            if _file_sha256(part) != sha256:
                part.unlink()
                raise Unprocessable(
                    "the uploaded bytes do not hash to the blob's name; upload discarded",
                    code="blob_hash_mismatch",
                )
            final = self.path(sha256)
            if final.exists():
                part.unlink()  # the same bytes, uploaded whole by another office before
            else:
                os.replace(part, final)
            return BlobState(True, received)

    def remove_unchanged(self, path: Path, mtime_ns: int) -> bool:
        """Remove a file of the blob folder unless an upload changed it since it was seen at
        ``mtime_ns`` (for :mod:`hub.federation.collection`); True when removed."""
        with self._lock:
            try:
                if path.stat().st_mtime_ns != mtime_ns:
                    return False
                path.unlink()
            except FileNotFoundError:
                return False
        return True


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


# -- who may read ---------------------------------------------------------------------------


def _readable_size(store: HubStore, blobs: BlobStore, office: str, sha256: str) -> int | None:
    if not store.may_read_blob(office, sha256):
        return None
    return blobs.complete_size(sha256)


def state_for(store: HubStore, blobs: BlobStore, office: str, sha256: str) -> BlobState:
    """What ``office`` may learn of a blob (``HEAD``): complete only when it may read it,
    otherwise how far its own upload has got, as for a blob the hub lacks."""
    blobs.path(sha256)  # 400 for a malformed name, whoever asks
    size = _readable_size(store, blobs, office, sha256)
    if size is not None:
        return BlobState(True, size)
    return BlobState(False, blobs.received(sha256, office))


def receive_chunk(
    store: HubStore,
    blobs: BlobStore,
    office: str,
    sha256: str,
    offset: int,
    size: int,
    chunk: bytes,
    now: float,
) -> BlobState:
    """One chunk of ``office``'s upload (``PUT``); an office that uploads a blob whole may
    read it from then on. A reader is answered "complete" without sending the bytes."""
    blobs.path(sha256)
    held = _readable_size(store, blobs, office, sha256)
    if held is not None:
        return BlobState(True, held)
    state = blobs.put_chunk(sha256, office, offset, size, chunk)
    if state.complete:
        with store.write():
            store.add_blob_reader(sha256, office, None, now)
    return state


def readable_path(store: HubStore, blobs: BlobStore, office: str, sha256: str) -> Path:
    """The file of a blob ``office`` may read (``GET``); :class:`NotFound` when the hub
    lacks it or the office may not read it, alike."""
    path = blobs.path(sha256)
    if _readable_size(store, blobs, office, sha256) is None:
        raise NotFound(ABSENT)
    return path


def missing_for(store: HubStore, blobs: BlobStore, office: str, hashes: Iterable[str]) -> list[str]:
    """Of the blobs a letter by ``office`` cites, those it cannot make readable to its
    recipients: absent, incomplete or not readable by ``office``, in order, once each."""
    return [
        sha for sha in dict.fromkeys(hashes) if _readable_size(store, blobs, office, sha) is None
    ]


def grant_readers(
    store: HubStore,
    letter: str,
    sender: str,
    hashes: Iterable[str],
    recipients: Iterable[str],
    now: float,
) -> None:
    """Let the recipients of an accepted letter read the blobs it cites that its sender
    may read; a cited blob the sender may not read grants nothing."""
    readable = [sha for sha in dict.fromkeys(hashes) if store.may_read_blob(sender, sha)]
    if readable:
        store.add_blob_readers(letter, readable, recipients, now)


def backfill_readers(store: HubStore) -> int:
    """Once per hub, the readers of blobs cited before the hub recorded readers: the
    letters are replayed in the order the hub received them, the sender of the first letter
    citing a blob taken as its owner (the upload that preceded it was not recorded), then
    :func:`grant_readers` for each. Returns how many citations were replayed."""
    if store.meta(READERS_META):
        return 0
    replayed = 0
    with store.write():
        if store.meta(READERS_META):
            return 0
        for row in store.blob_citations():
            sha, letter, origin, at = row["sha256"], row["letter"], row["origin"], row["at"]
            if not store.blob_has_readers(sha):
                store.add_blob_reader(sha, origin, None, at)
            grant_readers(store, letter, origin, [sha], store.letter_recipients(letter), at)
            replayed += 1
        store.set_meta(READERS_META, "1")
    return replayed
