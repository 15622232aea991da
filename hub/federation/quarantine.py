"""What an operator does with a quarantined envelope after review: release or discard.

*Release* ingests the stored envelope again, exactly as its office pushed it (the same
checks: signature, sequence, numbering), for a cause the operator has since removed: a gap
in the feed that has been filled, an office added to a shared register. It succeeds only
when the envelope is now accepted (or already held); otherwise nothing at all is stored and
the operator is told the reason it is still refused. *Discard* closes it for good. Both
need a reason, and both are recorded with the operator's name in the same transaction;
the office's ``quarantined`` alert is resolved with the last of its envelopes, and what
they held no longer counts against its quota (:mod:`hub.federation.refusals`).

Does not: render pages (:mod:`hub.console.alerts`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hub.directory import HubKeyring
from hub.errors import ConsoleError
from hub.federation.blobs import BlobStore
from hub.federation.ingest import ingest_push
from hub.monitoring.alerts import settle_quarantine
from hub.store import HubStore

MAX_REASON = 500


@dataclass(frozen=True)
class Released:
    """How a release ended: ``accepted`` or ``duplicate``, with the push result's detail."""

    status: str
    detail: str | None


def _open_row(store: HubStore, quarantine_id: int) -> dict[str, Any]:
    row = store.quarantined_one(quarantine_id)
    if row is None:
        raise ConsoleError(
            f"no quarantined envelope {quarantine_id}",
            "ไม่พบซองที่ถูกกักไว้",
            code="not_found",
            status=404,
        )
    if row["status"] != "open":
        raise ConsoleError(
            f"quarantined envelope {quarantine_id} is already {row['status']}",
            "ซองนี้ได้รับการจัดการไปแล้ว",
            code="already_resolved",
            status=409,
        )
    return row


def _check_reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ConsoleError("a reason is required", "กรุณาระบุเหตุผล", code="reason_required")
    if len(text) > MAX_REASON:
        raise ConsoleError("reason too long", f"เหตุผลยาวเกิน {MAX_REASON} ตัวอักษร", code="too_long")
    return text


def release(
    store: HubStore,
    keyring: HubKeyring,
    quarantine_id: int,
    operator: str,
    reason: str,
    now: float,
    blobs: BlobStore | None = None,
) -> Released:
    """Ingest a quarantined envelope again; :class:`ConsoleError` (409) when still refused
    (a letter also while ``blobs`` lack one of its attachments)."""
    why = _check_reason(reason)
    with store.write():
        row = _open_row(store, quarantine_id)
        if row["origin"] is None or row["envelope"] is None:
            raise ConsoleError("nothing to release", "ซองนี้ไม่มีข้อมูลให้รับเข้า ทิ้งได้อย่างเดียว", status=409)
        try:
            wire = json.loads(bytes(row["envelope"]))
        except ValueError as e:
            raise ConsoleError(
                "the stored bytes are not JSON", "ซองนี้เสียหาย ทิ้งได้อย่างเดียว", status=409
            ) from e
        outcome = ingest_push(
            store, keyring, row["origin"], [wire], now, source="release", blobs=blobs
        )
        result = outcome.results[0]
        if result["status"] not in ("accepted", "duplicate"):
            # Raised inside the transaction: the attempt leaves nothing behind.
            raise ConsoleError(
                f"still refused: {result['reason']}",
                f"ยังรับซองนี้ไม่ได้: {result['reason']} {result['detail'] or ''}".strip(),
                code="still_refused",
                status=409,
            )
        store.resolve_quarantine(quarantine_id, "released", operator, why, now)
        settle_quarantine(store, row["origin"], operator, why, now)
        store.log_action(
            operator,
            "release_quarantine",
            row["origin"],
            why,
            f"ลำดับที่ {row['seq']} {row['env_id'][:12]}: {result['status']}",
            now,
        )
    return Released(result["status"], result["detail"])


def discard(store: HubStore, quarantine_id: int, operator: str, reason: str, now: float) -> None:
    """Close a quarantined envelope for good, with the reason."""
    why = _check_reason(reason)
    with store.write():
        row = _open_row(store, quarantine_id)
        store.resolve_quarantine(quarantine_id, "discarded", operator, why, now)
        if row["origin"] is not None:
            settle_quarantine(store, row["origin"], operator, why, now)
        store.log_action(
            operator,
            "discard_quarantine",
            row["origin"],
            why,
            f"ลำดับที่ {row['seq']} {row['env_id'][:12]}: {row['reason']}",
            now,
        )


def envelope_summary(raw: bytes | None) -> dict[str, Any]:
    """What the review page shows of a stored envelope: its type, signers and decoded body."""
    if raw is None:
        return {"payload_type": None, "keyids": [], "body": None}
    from protocol.envelope import Envelope
    from protocol.errors import SarabanError

    try:
        env = Envelope.from_bytes(bytes(raw))
    except SarabanError:
        return {
            "payload_type": None,
            "keyids": [],
            "body": bytes(raw)[:4000].decode("utf-8", "replace"),
        }
    try:
        body = json.dumps(json.loads(env.body), ensure_ascii=False, indent=1)
    except ValueError:
        body = env.body[:4000].decode("utf-8", "replace")
    return {
        "payload_type": env.payload_type,
        "keyids": [s.keyid for s in env.signatures],
        "body": body[:8000],
    }
