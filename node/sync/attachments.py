"""Attachment bytes between the node and the hub, in both directions, resumable.

Before the push, :func:`upload_attachments` uploads every outgoing attachment the hub does
not hold yet: ``HEAD`` says how much the hub has, then ``PUT`` chunks from that offset, so
a broken connection costs only the chunk in flight. After the pull,
:func:`download_attachments` fetches received attachments into a partial file, resuming
from its size, and keeps the file only when its SHA-256 matches; the text of a received
PDF is then indexed for search.

Does not: store or hash blobs itself (:mod:`node.storage.blobs`), or push the letters that
name them (:mod:`node.sync.push`).
"""

from __future__ import annotations

from node.context import NodeContext
from node.records import attachment_text
from node.storage import blobs
from node.storage.store import Store
from node.sync.hubclient import HubClient, HubHTTPError
from node.sync.state import SyncResult
from protocol.errors import TransportError


def upload_blob(ctx: NodeContext, client: HubClient, sha256: str, size: int) -> None:
    """Upload one blob from where the hub's copy stops."""
    complete, offset = client.blob_status(sha256)
    chunk_size = max(1, int(ctx.settings["CHUNK_BYTES"]))
    while not complete:
        chunk = blobs.read_range(ctx.blob_dir(), sha256, offset, chunk_size)
        try:
            answer = client.put_blob_chunk(sha256, offset, size, chunk)
        except HubHTTPError as e:
            if e.status == 409 and isinstance(e.body.get("received"), int):
                offset = int(e.body["received"])
                continue
            raise
        offset = int(answer.get("received", offset + len(chunk)))
        complete = bool(answer.get("complete"))
        if not complete and not chunk:
            raise TransportError(f"hub did not complete blob {sha256[:12]} at {offset}/{size}")


def upload_attachments(
    ctx: NodeContext, store: Store, client: HubClient, result: SyncResult
) -> None:
    """Upload every outgoing attachment the hub does not hold yet."""
    for att in store.query(
        "SELECT sha256, size FROM attachments WHERE direction = 'out' AND uploaded = 0 "
        "AND present = 1"
    ):
        upload_blob(ctx, client, att["sha256"], int(att["size"]))
        with store.transaction():
            store.execute("UPDATE attachments SET uploaded = 1 WHERE sha256 = ?", (att["sha256"],))
        result.uploaded.append(att["sha256"])


def download_attachments(
    ctx: NodeContext, store: Store, client: HubClient, result: SyncResult
) -> None:
    """Download received attachments not on disk yet, resuming partial downloads."""
    root = ctx.blob_dir()
    for att in store.query(
        "SELECT sha256, size FROM attachments WHERE direction = 'in' AND present = 0"
    ):
        sha = att["sha256"]
        if blobs.has_blob(root, sha):
            ok = True
        else:
            part = blobs.partial_path(root, sha)
            part.parent.mkdir(parents=True, exist_ok=True)
            start = part.stat().st_size if part.exists() else 0
            if start < int(att["size"]):
                try:
                    with part.open("ab") as sink:
                        client.download_blob(sha, start, sink)
                except HubHTTPError as e:
                    with store.transaction():
                        store.log(ctx.now(), "download_failed", {"sha256": sha, "reason": e.reason})
                    continue
            ok = blobs.complete_partial(root, sha)
        with store.transaction():
            if ok:
                store.execute("UPDATE attachments SET present = 1 WHERE sha256 = ?", (sha,))
            else:
                store.log(ctx.now(), "blob_hash_mismatch", {"sha256": sha})
        if ok:
            result.downloaded.append(sha)
            attachment_text.index_blob(ctx, store, sha)  # search: text of a received PDF
