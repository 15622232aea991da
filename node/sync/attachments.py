"""Attachment bytes between the node and the hub, in both directions, resumable.

Before the push, :func:`upload_attachments` uploads every outgoing attachment the hub does
not hold yet: ``HEAD`` says how much the hub has, then ``PUT`` chunks from that offset, so
a broken connection costs only the chunk in flight. Each batch then passes
:func:`upload_cited`, which makes sure the hub holds every attachment its letters cite (a
letter written while the round ran, a received file sent on) before the letter goes.

After the pull, :func:`download_attachments` fetches every attachment this node lacks
whose letter the hub holds, received or its own (after ``saraban node restore``), into a
partial file, resuming from its size, and keeps the file only when its SHA-256 matches; in
the same transaction, received letters whose last attachment this was send their
``delivered`` receipt (:func:`node.records.deliveries.emit_due_deliveries`). The text of a
received PDF is then indexed for search.

Does not: store or hash blobs itself (:mod:`node.storage.blobs`), or push the letters that
name them (:mod:`node.sync.push`).
"""

from __future__ import annotations

from typing import Any

from node.context import NodeContext
from node.records import attachment_text
from node.records.deliveries import emit_due_deliveries
from node.storage import blobs, feed
from node.storage.store import Store
from node.sync.hubclient import HubClient, HubHTTPError
from node.sync.state import SyncResult
from protocol.canonical import parse_canonical
from protocol.crashpoints import crash_point
from protocol.envelope import Envelope
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
        crash_point("node_blob_mid_upload")
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


def _cited(envelope: bytes) -> list[dict[str, Any]]:
    """The attachments an own letter envelope cites (our own bytes: no need to verify)."""
    body = parse_canonical(Envelope.from_bytes(envelope).body)
    return [a for a in body.get("attachments") or [] if isinstance(a, dict)]


def upload_cited(
    ctx: NodeContext,
    store: Store,
    client: HubClient,
    rows: list[dict[str, Any]],
    result: SyncResult,
) -> list[dict[str, Any]]:
    """Make the hub hold every attachment the letters among ``rows`` (the feed rows about
    to be pushed) cite; return the rows before the first letter whose bytes neither this
    node nor the hub holds, which is marked with the reason and not pushed."""
    root = ctx.blob_dir()
    for i, row in enumerate(rows):
        if row["kind"] != "letter":
            continue
        for att in _cited(row["envelope"]):
            sha = str(att.get("sha256"))
            if store.scalar("SELECT uploaded FROM attachments WHERE sha256 = ?", (sha,)):
                continue
            if blobs.has_blob(root, sha):
                upload_blob(ctx, client, sha, int(att.get("size") or 0))
                result.uploaded.append(sha)
            elif not client.blob_status(sha)[0]:
                reason = (
                    f"attachments_missing: neither this node nor the hub holds"
                    f" {att.get('name')} ({sha[:12]})"
                )
                with store.transaction():
                    feed.mark(store, row["env_id"], feed.REJECTED, reason, ctx.now())
                result.rejected.append(
                    {"seq": row["seq"], "env_id": row["env_id"], "kind": "letter", "reason": reason}
                )
                return rows[:i]
            with store.transaction():
                store.execute("UPDATE attachments SET uploaded = 1 WHERE sha256 = ?", (sha,))
    return rows


def forget_uploaded(store: Store, hashes: Any) -> None:
    """The hub says it lacks these blobs: upload them again before the next push."""
    for sha in hashes if isinstance(hashes, list) else []:
        if isinstance(sha, str):
            store.execute("UPDATE attachments SET uploaded = 0 WHERE sha256 = ?", (sha,))


# Received attachments, and our own whose letter the hub accepted (a restored node's).
ABSENT = (
    "SELECT sha256, size FROM attachments WHERE present = 0 AND (direction = 'in' OR EXISTS ("
    "SELECT 1 FROM letter_attachments AS la JOIN letters AS l ON l.id = la.letter"
    " JOIN feed AS f ON f.env_id = l.env_id"
    " WHERE la.sha256 = attachments.sha256 AND f.state = 'accepted'))"
)


def download_attachments(
    ctx: NodeContext, store: Store, client: HubClient, result: SyncResult
) -> None:
    """Download the attachments this node lacks, resuming partial downloads, and send the
    ``delivered`` receipts of letters now held whole."""
    root = ctx.blob_dir()
    for att in store.query(ABSENT):
        sha = att["sha256"]
        if blobs.has_blob(root, sha):
            ok = True
        else:
            part = blobs.partial_path(root, sha)
            start = part.stat().st_size if part.exists() else 0
            if start < int(att["size"]):
                try:
                    with blobs.open_partial(root, sha) as sink:
                        client.download_blob(sha, start, sink)
                except HubHTTPError as e:
                    with store.transaction():
                        store.log(ctx.now(), "download_failed", {"sha256": sha, "reason": e.reason})
                    continue
            ok = blobs.complete_partial(root, sha)
        with store.transaction():
            if ok:
                store.execute("UPDATE attachments SET present = 1 WHERE sha256 = ?", (sha,))
                emit_due_deliveries(ctx, store, ctx.now())
            else:
                store.log(ctx.now(), "blob_hash_mismatch", {"sha256": sha})
        if ok:
            result.downloaded.append(sha)
            attachment_text.index_blob(ctx, store, sha)  # search: text of a received PDF
    # Bytes that came another way (the same file attached to a letter written here).
    if store.scalar("SELECT 1 FROM awaiting_attachments LIMIT 1"):
        with store.transaction():
            emit_due_deliveries(ctx, store, ctx.now())
