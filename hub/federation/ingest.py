"""Push ingest: verify, sequence, store, route and number a batch of one office's feed.

For each envelope, in request order:

1. the DSSE shape (:meth:`Envelope.from_wire`), an office-signed kind;
2. the signature, by an active key of the *requesting* office only; an envelope whose
   signer or ``origin`` is another office is rejected ``not_your_feed``; when the office's
   keys changed while the push was checked (a rekey, ADR 0018) nothing is stored and the
   push is refused 409 ``key_changed``;
3. the body's fields (:func:`protocol.messages.parse_feed_message`);
4. the feed rule (:func:`protocol.feed.decide_append`) against the stored head:
   accepted, duplicate (same bytes already held), rejected (out_of_sequence,
   broken_chain) or equivocation (another body at a held seq: quarantined + alert);
   a classified letter that is not sealed is refused ``unsealed_classified``
   (:mod:`hub.federation.secrecy`) and quarantined without its bytes;
5. a letter is taken only when the hub holds every attachment it cites, complete and
   hash-checked, and readable by the sender (:mod:`hub.federation.blobs`); otherwise it is
   refused ``blobs_incomplete`` with the ``missing`` hashes: not quarantined, not alerted,
   the node uploads them and pushes again, so recipients never get a letter whose bytes
   they cannot fetch, and citing a blob grants nothing to an office that cannot read it;
6. for an accepted envelope, routing (:mod:`hub.federation.routing`) and numbering
   (:mod:`hub.numbering.authority`), in the same transaction as storing it; the portal
   records the letter from the feed a moment later (:mod:`hub.federation.letter_index`,
   ADR 0030), and a register entry that makes a number final renames a letter it
   recorded already. Accepted
   letters and receipts are written together, the letters first, one statement per table
   for each kind (:class:`PendingEnvelopes`), before anything else of the push is written
   that could read them, and at its end.

Steps 1-3 (the CPU-heavy part, :mod:`protocol.push_check`) run before the write
transaction, a large batch's on every core (:mod:`hub.federation.verifier_pool`, ADR 0017)
with the same outcome as in this process; steps 4-6 for the whole batch run in one
``BEGIN IMMEDIATE`` transaction in the one writer. A rejected envelope is quarantined with
its reason; later envelopes of the batch then fail ``out_of_sequence`` and are reported,
not quarantined again. A push only ever touches the pushing office's feed, so a bad
envelope never affects another office.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.clock import iso_utc
from hub.directory import HubKeyring
from hub.errors import Conflict
from hub.federation.auth import remember_nonce
from hub.federation.blobs import BlobStore, missing_for
from hub.federation.letter_index import note_register_entry
from hub.federation.refusals import DEFAULT_QUOTA, keep_refused
from hub.federation.routing import route_answers, route_letters, route_withdraw
from hub.federation.secrecy import UNSEALED_CLASSIFIED, unsealed_detail
from hub.federation.verifier_pool import check_on_every_core
from hub.numbering.authority import NumberingRejected, record_entry
from hub.store import HubStore
from protocol.api import BLOBS_INCOMPLETE
from protocol.envelope import Envelope
from protocol.feed import FeedHead, Verdict, decide_append
from protocol.hub_messages import Ack
from protocol.keys import b64decode, public_key_from_b64
from protocol.messages import Deliveries, FeedMessage, Letter, Receipt, RegisterEntry, Withdraw
from protocol.push_check import Checked

NUMBERING_ALERTS = ("duplicate_number", "number_not_leased", "not_your_register")


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


HeldLetter = tuple[Checked, Letter, dict[str, Any]]
"""An accepted letter not written yet: its checks, the letter, its result."""
Answer = Receipt | Deliveries
HeldAnswer = tuple[Checked, Answer, dict[str, Any]]
"""An accepted receipt or ``deliveries`` not written yet: its checks, the message, its
result."""


@dataclass
class PendingEnvelopes:
    """The accepted letters and receipts of one office's push not written yet, with their
    results: written together, the letters first, one statement per table for each kind."""

    office: str
    now: float
    letters: list[HeldLetter] = field(default_factory=list)
    answers: list[HeldAnswer] = field(default_factory=list)
    seqs: dict[int, str] = field(default_factory=dict)
    env_ids: set[str] = field(default_factory=set)

    def add(self, item: Checked, msg: Letter | Answer, result: dict[str, Any]) -> None:
        """Hold ``msg``, accepted at its seq; ``result`` gets its notes when written."""
        if isinstance(msg, Letter):
            self.letters.append((item, msg, result))
        else:
            self.answers.append((item, msg, result))
        self.seqs[msg.seq] = item.env_id
        self.env_ids.add(item.env_id)

    def read_by(self, msg: FeedMessage) -> bool:
        """Whether accepting ``msg`` may read what the held envelopes write: a withdrawal
        of a held letter (its routes), a register entry (the numbering and the feed
        rows), a letter citing attachments (who may read them). A receipt is held too, and
        written after the letters, so it reads their routes."""
        if not self.seqs:
            return False
        if isinstance(msg, Receipt | Deliveries):
            return False
        if isinstance(msg, Withdraw):
            return msg.letter in self.env_ids
        if isinstance(msg, Letter):
            return bool(msg.attachments)
        return True

    def env_id_at(self, store: HubStore, seq: int) -> str | None:
        """The env_id the office's feed holds at ``seq``, held here or stored."""
        return self.seqs.get(seq) or store.feed_env_id_at(self.office, seq)

    def write(self, store: HubStore) -> None:
        """Store, route and record every held envelope, the letters first, each kind in
        order (inside the push's transaction)."""
        if not self.seqs:
            return
        store.append_feed(
            (self.office, msg.seq, item.env_id, item.kind, item.raw, self.now)
            for item, msg, _ in (*self.letters, *self.answers)
        )
        letters = [(letter, item.env_id) for item, letter, _ in self.letters]
        _note(self.letters, route_letters(store, letters, self.now))
        answers = [(msg, item.env_id) for item, msg, _ in self.answers]
        _note(self.answers, route_answers(store, answers, self.now))
        self.letters.clear()
        self.answers.clear()
        self.seqs.clear()
        self.env_ids.clear()


def _note(held: list[HeldLetter] | list[HeldAnswer], notes_of: list[list[str]]) -> None:
    for (_, _, result), notes in zip(held, notes_of, strict=True):
        result["detail"] = "; ".join(notes) or None


def active_keys(store: HubStore, office: str) -> dict[str, bytes]:
    """The office's active signing keys, raw public bytes by key id."""
    keys = {}
    for k in store.keys_of(office):
        if k["status"] == "active":
            public_key_from_b64(k["public"])  # a stored key that is not one fails here
            keys[k["keyid"]] = b64decode(k["public"])
    return keys


def ingest_push(
    store: HubStore,
    keyring: HubKeyring,
    office: str,
    wire_envelopes: list[Any],
    now: float,
    source: str = "push",
    blobs: BlobStore | None = None,
    nonce: tuple[str, str, float] | None = None,
    quarantine_quota: int = DEFAULT_QUOTA,
) -> PushOutcome:
    """Ingest one push request of ``office``; return per-envelope results and the ack.

    ``source`` is ``push`` for a node's request, or ``release`` when an operator releases a
    quarantined envelope: a release is recorded as a sync session of its own and does not
    count as contact from the office. With ``blobs``, a letter citing an attachment they do
    not hold complete is refused ``blobs_incomplete`` (step 5). ``nonce`` (key id, nonce,
    clock window) is the request's, remembered first in the transaction: a replayed push
    is refused 401 ``replayed_nonce`` with nothing written. A refused envelope is kept in
    quarantine while its office's kept bytes stay within ``quarantine_quota``
    (:func:`hub.federation.refusals.keep_refused`).
    """
    keys = active_keys(store, office)
    checked = check_on_every_core(office, keys, wire_envelopes)
    outcome = PushOutcome()
    with store.write():
        if active_keys(store, office) != keys:
            # A new key (ADR 0018) committed after the checks: what the retired key signed
            # must not be stored beyond the seq its retirement names.
            raise Conflict("this office's signing key changed during the push", code="key_changed")
        if nonce is not None:
            remember_nonce(store, nonce[0], nonce[1], now, nonce[2])
        stored = store.feed_head(office)
        head = None if stored is None else FeedHead(*stored)
        held = PendingEnvelopes(office, now)
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
                _quarantine(store, item, office, None, now, quarantine_quota)
                rejected_before = True
                continue
            msg = item.msg
            # The feed holds nothing beyond its head.
            beyond = head is None or msg.seq > head.seq
            at_seq = None if beyond else held.env_id_at(store, msg.seq)
            decision = decide_append(head, msg.seq, msg.prev, item.env_id, at_seq)
            if decision.verdict is Verdict.DUPLICATE:
                result.update(status="duplicate", reason=None, detail=None)
                continue
            unsealed = unsealed_detail(msg)
            if unsealed is not None:
                result.update(reason=UNSEALED_CLASSIFIED, detail=unsealed)
                # Kept without its bytes: the hub holds no plaintext of a classified letter.
                keep_refused(
                    store,
                    office,
                    item.env_id,
                    msg.seq,
                    UNSEALED_CLASSIFIED,
                    unsealed,
                    None,
                    now,
                    quarantine_quota,
                )
                rejected_before = True
                continue
            if decision.verdict is not Verdict.ACCEPT:
                result.update(reason=decision.reason, detail=decision.detail)
                item.reason, item.detail = decision.reason, decision.detail
                if decision.verdict is Verdict.EQUIVOCATION:
                    _quarantine(store, item, office, msg.seq, now, quarantine_quota)
                    store.raise_alert(
                        "equivocation",
                        office,
                        f"{office} signed two envelopes at seq {msg.seq}: {decision.detail}",
                        now,
                    )
                elif not (rejected_before and decision.reason == "out_of_sequence"):
                    _quarantine(store, item, office, msg.seq, now, quarantine_quota)
                rejected_before = True
                continue
            if held.read_by(msg):
                held.write(store)
            missing = _missing_blobs(store, blobs, office, msg)
            if missing:
                result.update(
                    reason=BLOBS_INCOMPLETE,
                    detail=f"{len(missing)} attachment(s) not uploaded yet: "
                    + ", ".join(m[:12] for m in missing),
                    missing=missing,
                )
                rejected_before = True
                continue
            if isinstance(msg, Letter | Receipt | Deliveries):
                held.add(item, msg, result)
                head = FeedHead(msg.seq, item.env_id)
                result.update(status="accepted", reason=None)
                continue
            try:
                notes = _accept(store, keyring, office, item, msg, now)
            except NumberingRejected as e:
                result.update(reason=e.reason, detail=e.detail)
                item.reason, item.detail = e.reason, e.detail
                _quarantine(store, item, office, msg.seq, now, quarantine_quota)
                if e.reason in NUMBERING_ALERTS:
                    store.raise_alert(e.reason, office, e.detail, now)
                rejected_before = True
                continue
            head = FeedHead(msg.seq, item.env_id)
            result.update(status="accepted", reason=None, detail="; ".join(notes) or None)
        held.write(store)
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
    if isinstance(msg, RegisterEntry):
        detail = record_entry(store, keyring, office, msg, item.env_id, now)
        if detail:
            notes.append(detail)
    store.append_feed([(office, msg.seq, item.env_id, item.kind, item.raw, now)])
    if isinstance(msg, Withdraw):
        notes.extend(route_withdraw(store, msg, item.env_id, now))
    elif isinstance(msg, RegisterEntry):
        note_register_entry(store, office, msg)
    return notes


def _missing_blobs(
    store: HubStore, blobs: BlobStore | None, office: str, msg: FeedMessage
) -> list[str]:
    """The attachments of a letter the sender cannot make readable, in the letter's order."""
    if blobs is None or not isinstance(msg, Letter) or not msg.attachments:
        return []
    return missing_for(store, blobs, office, (str(a.get("sha256")) for a in msg.attachments))


def _quarantine(
    store: HubStore, item: Checked, office: str, seq: int | None, now: float, quota: int
) -> None:
    keep_refused(store, office, item.env_id, seq, item.reason, item.detail, item.raw, now, quota)


def _first_error(results: list[dict[str, Any]]) -> str | None:
    for r in results:
        if r["status"] == "rejected":
            return f"{r['reason']}: {r['detail']}"
    return None
