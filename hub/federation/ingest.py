"""Push ingest: verify, sequence, store, route and number a batch of one office's feed.

For each envelope, in request order:

1. the DSSE shape (:meth:`Envelope.from_wire`), an office-signed kind;
2. the signature, by an active key of the *requesting* office only; an envelope whose
   signer or ``origin`` is another office is rejected ``not_your_feed``;
3. the body's fields (:func:`protocol.messages.parse_feed_message`);
4. the feed rule (:func:`protocol.feed.decide_append`) against the stored head:
   accepted, duplicate (same bytes already held), rejected (out_of_sequence,
   broken_chain) or equivocation (another body at a held seq: quarantined + alert);
5. a letter is taken only when the hub holds every attachment it cites, complete and
   hash-checked (:mod:`hub.federation.blobs`); otherwise it is refused ``blobs_incomplete``
   with the ``missing`` hashes: not quarantined, not alerted, the node uploads them and
   pushes again, so recipients never get a letter whose bytes they cannot fetch;
6. for an accepted envelope, routing (:mod:`hub.federation.routing`) and numbering
   (:mod:`hub.numbering.authority`) in the same transaction as storing it.

Steps 1-3 (the CPU-heavy part) run before the write transaction; steps 4-6 for the whole
batch run in one ``BEGIN IMMEDIATE`` transaction. A rejected envelope is quarantined with
its reason; later envelopes of the batch then fail ``out_of_sequence`` and are reported,
not quarantined again. A push only ever touches the pushing office's feed, so a bad
envelope never affects another office.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.clock import iso_utc
from hub.directory import HubKeyring
from hub.federation.blobs import BlobStore
from hub.federation.routing import route
from hub.numbering.authority import NumberingRejected, record_entry
from hub.store import HubStore
from protocol import errors as perr
from protocol.api import BLOBS_INCOMPLETE
from protocol.envelope import Envelope, verify_envelope
from protocol.feed import FeedHead, Verdict, decide_append
from protocol.hub_messages import Ack
from protocol.keys import public_key_from_b64, split_keyid
from protocol.messages import FEED_KINDS, FeedMessage, Letter, RegisterEntry, parse_feed_message

NUMBERING_ALERTS = ("duplicate_number", "number_not_leased", "not_your_register")


@dataclass
class Checked:
    """One pushed envelope after the checks that need no database state."""

    env_id: str
    raw: bytes
    env: Envelope | None = None
    msg: FeedMessage | None = None
    reason: str = ""
    detail: str = ""


@dataclass
class PushOutcome:
    """Results in request order and the hub-signed ack."""

    results: list[dict[str, Any]] = field(default_factory=list)
    ack: Envelope | None = None

    def counts(self) -> dict[str, int]:
        """How many envelopes ended in each status."""
        out = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for r in self.results:
            out[r["status"]] += 1
        return out


def _raw_of(obj: Any) -> tuple[str, bytes]:
    raw = json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(raw).hexdigest(), raw


def check_envelope(obj: Any, office: str, keys: dict[str, Ed25519PublicKey]) -> Checked:
    """Steps 1-3 for one wire envelope pushed by ``office`` whose active keys are ``keys``."""
    try:
        env = Envelope.from_wire(obj)
    except perr.RemoteDataError as e:
        env_id, raw = _raw_of(obj)
        return Checked(env_id, raw, reason=e.code, detail=str(e))
    checked = Checked(env.env_id, env.to_bytes(), env)
    if env.kind not in FEED_KINDS:
        checked.reason, checked.detail = "not_a_feed_kind", f"{env.kind!r} is not pushed by offices"
        return checked
    for sig in env.signatures:
        try:
            signer_office = split_keyid(sig.keyid)[0]
        except perr.BadMessage:
            signer_office = ""
        if signer_office != office:
            checked.reason = "not_your_feed"
            checked.detail = f"signed by {sig.keyid!r}, not by {office}"
            return checked
    try:
        _, body = verify_envelope(env, keys.get)
        msg = parse_feed_message(env.kind, body)
    except perr.RemoteDataError as e:
        checked.reason, checked.detail = e.code, str(e)
        return checked
    if msg.origin != office:
        checked.reason = "not_your_feed"
        checked.detail = f"origin {msg.origin!r} is not the pushing office {office}"
        return checked
    checked.msg = msg
    return checked


def active_keys(store: HubStore, office: str) -> dict[str, Ed25519PublicKey]:
    """The office's active signing keys, by key id."""
    return {
        k["keyid"]: public_key_from_b64(k["public"])
        for k in store.keys_of(office)
        if k["status"] == "active"
    }


def ingest_push(
    store: HubStore,
    keyring: HubKeyring,
    office: str,
    wire_envelopes: list[Any],
    now: float,
    source: str = "push",
    blobs: BlobStore | None = None,
) -> PushOutcome:
    """Ingest one push request of ``office``; return per-envelope results and the ack.

    ``source`` is ``push`` for a node's request, or ``release`` when an operator releases a
    quarantined envelope: a release is recorded as a sync session of its own and does not
    count as contact from the office. With ``blobs``, a letter citing an attachment they do
    not hold complete is refused ``blobs_incomplete`` (step 5).
    """
    keys = active_keys(store, office)
    checked = [check_envelope(obj, office, keys) for obj in wire_envelopes]
    outcome = PushOutcome()
    with store.write():
        stored = store.feed_head(office)
        head = None if stored is None else FeedHead(*stored)
        rejected_before = False
        for item in checked:
            seq = item.msg.seq if item.msg is not None else None
            result: dict[str, Any] = {
                "env_id": item.env_id,
                "seq": seq,
                "status": "rejected",
                "reason": item.reason or None,
                "detail": item.detail or None,
            }
            outcome.results.append(result)
            if item.msg is None:
                _quarantine(store, item, office, None, now)
                rejected_before = True
                continue
            msg = item.msg
            decision = decide_append(
                head, msg.seq, msg.prev, item.env_id, store.feed_env_id_at(office, msg.seq)
            )
            if decision.verdict is Verdict.DUPLICATE:
                result.update(status="duplicate", reason=None, detail=None)
                continue
            if decision.verdict is not Verdict.ACCEPT:
                result.update(reason=decision.reason, detail=decision.detail)
                item.reason, item.detail = decision.reason, decision.detail
                if decision.verdict is Verdict.EQUIVOCATION:
                    _quarantine(store, item, office, msg.seq, now)
                    store.raise_alert(
                        "equivocation",
                        office,
                        f"{office} signed two envelopes at seq {msg.seq}: {decision.detail}",
                        now,
                    )
                elif not (rejected_before and decision.reason == "out_of_sequence"):
                    _quarantine(store, item, office, msg.seq, now)
                rejected_before = True
                continue
            missing = _missing_blobs(blobs, msg)
            if missing:
                result.update(
                    reason=BLOBS_INCOMPLETE,
                    detail=f"{len(missing)} attachment(s) not uploaded yet: "
                    + ", ".join(m[:12] for m in missing),
                    missing=missing,
                )
                rejected_before = True
                continue
            try:
                notes = _accept(store, keyring, office, item, msg, now)
            except NumberingRejected as e:
                result.update(reason=e.reason, detail=e.detail)
                item.reason, item.detail = e.reason, e.detail
                _quarantine(store, item, office, msg.seq, now)
                if e.reason in NUMBERING_ALERTS:
                    store.raise_alert(e.reason, office, e.detail, now)
                rejected_before = True
                continue
            head = FeedHead(msg.seq, item.env_id)
            result.update(status="accepted", reason=None, detail="; ".join(notes) or None)
        counts = outcome.counts()
        if source == "push":
            store.record_contact(office, "push", now)
        store.add_sync_session(
            office,
            source,
            now,
            len(checked),
            counts["accepted"],
            counts["duplicate"],
            counts["rejected"],
            _first_error(outcome.results),
        )
    ack = Ack(
        office=office,
        last_seq=0 if head is None else head.seq,
        head=None if head is None else head.env_id,
        at=iso_utc(now),
    )
    outcome.ack = keyring.sign(Ack.KIND, ack.to_dict())
    return outcome


def _accept(
    store: HubStore,
    keyring: HubKeyring,
    office: str,
    item: Checked,
    msg: FeedMessage,
    now: float,
) -> list[str]:
    # Numbering first: a refused number must leave nothing stored (the transaction goes on
    # for the rest of the batch, so nothing may be written before the refusal).
    notes: list[str] = []
    assert item.env is not None
    if isinstance(msg, RegisterEntry):
        detail = record_entry(store, keyring, office, msg, item.env_id, now)
        if detail:
            notes.append(detail)
    store.append_feed(office, msg.seq, item.env_id, item.env.kind, item.raw, now)
    notes.extend(route(store, msg, item.env_id, now))
    return notes


def _missing_blobs(blobs: BlobStore | None, msg: FeedMessage) -> list[str]:
    """The attachments of a letter the hub does not hold complete, in the letter's order."""
    if blobs is None or not isinstance(msg, Letter):
        return []
    cited = dict.fromkeys(str(a.get("sha256")) for a in msg.attachments)
    return [sha for sha in cited if not blobs.state(sha).complete]


def _quarantine(store: HubStore, item: Checked, office: str, seq: int | None, now: float) -> None:
    store.quarantine(item.env_id, office, seq, item.reason, item.detail, item.raw, now)


def _first_error(results: list[dict[str, Any]]) -> str | None:
    for r in results:
        if r["status"] == "rejected":
            return f"{r['reason']}: {r['detail']}"
    return None
