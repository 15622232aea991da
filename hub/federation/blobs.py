"""Content-addressed attachment bytes, uploaded and downloaded in resumable chunks.

Files live under the blob folder: ``<sha256>`` once complete and verified, ``<sha256>.part``
while an upload is under way. A chunk is appended only at the offset the hub already holds
(else 409 with ``received``); when the declared size is reached the bytes are hashed, and a
mismatch discards the partial upload (422). Completed blobs are never rewritten, so a
second upload of the same bytes is answered "complete" without sending them again.

Who may read is decided by the store (:meth:`HubStore.may_read_blob`): the sender and the
recipients of a letter that lists the hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from hub.errors import BadRequest, Conflict, NotFound, TooLarge, Unprocessable
from protocol.api import MAX_CHUNK
from protocol.messages import MAX_ATTACHMENT_BYTES

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_HASH_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class BlobState:
    """What the hub holds of one blob."""

    complete: bool
    size: int


class BlobStore:
    """Attachment files by hash under one folder."""

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

    def _part(self, sha256: str) -> Path:
        return self.root / f"{sha256}.part"

    def state(self, sha256: str) -> BlobState:
        """Complete (with its size) or the number of bytes received so far."""
        final = self.path(sha256)
        if final.exists():
            return BlobState(True, final.stat().st_size)
        part = self._part(sha256)
        return BlobState(False, part.stat().st_size if part.exists() else 0)

    def put_chunk(self, sha256: str, offset: int, size: int, chunk: bytes) -> BlobState:
        """Append ``chunk`` at ``offset`` of a blob of total ``size`` bytes."""
        self._check(sha256)
        if len(chunk) > MAX_CHUNK:
            raise TooLarge(f"a chunk is at most {MAX_CHUNK} bytes")
        if not 0 <= size <= MAX_ATTACHMENT_BYTES:
            raise BadRequest(f"size must be from 0 to {MAX_ATTACHMENT_BYTES}")
        with self._lock:
            state = self.state(sha256)
            if state.complete:
                return state
            if offset != state.size:
                error = Conflict(
                    f"offset {offset} differs from the {state.size} bytes held",
                    code="offset_mismatch",
                )
                error.extra["received"] = state.size
                raise error
            if offset + len(chunk) > size:
                raise BadRequest("chunk goes beyond the declared size")
            if not chunk and offset != size:
                raise BadRequest("empty chunk")
            self.root.mkdir(parents=True, exist_ok=True)
            part = self._part(sha256)
            with open(part, "ab") as f:
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
            os.replace(part, self.path(sha256))
            return BlobState(True, received)

    def open_path(self, sha256: str) -> Path:
        """The complete file of a blob, or :class:`NotFound`."""
        final = self.path(sha256)
        if not final.exists():
            raise NotFound("the hub does not hold this blob")
        return final


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()
