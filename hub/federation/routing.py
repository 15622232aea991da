"""Routing: which mailboxes an accepted envelope goes into.

* ``letter``: one mailbox row per recipient the hub knows and has not revoked (a pending
  office's letters wait until it enrolls and pulls); an unknown or revoked recipient gets
  an ``unroutable`` alert and a note in the push result, and the letter is still accepted.
  The recipients may then read the attachments the sender could
  (:func:`hub.federation.blobs.grant_readers`).
  A letter carrying a provisional number the hub has already made final is followed in
  those mailboxes by the finalisation (:func:`hub.numbering.authority.finalisations_to_deliver`).
  The letters of a push are routed together (:func:`route_letters`), one statement per
  table for all of them;
* ``receipt``: the letter's sender, when the receipt's origin is a recipient of that letter
  (otherwise accepted, not routed, and an alert raised);
* ``withdraw``: the letter's recipients, when the withdrawal comes from its sender;
* ``register``: no routing (numbering only).

Exactly once: a mailbox row is unique per ``(office, env_id)``. Runs inside the ingest
transaction, so an envelope is stored, routed and numbered together or not at all; a routed
letter or receipt is also recorded there for the usage statistics
(:mod:`hub.monitoring.usage_facts`) and for the times from sending to ลงรับ
(:mod:`hub.monitoring.timing_facts`).
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.federation.blobs import grant_readers
from hub.monitoring.timing_facts import record_answers, record_sent
from hub.monitoring.usage_facts import record_letters, record_receipts
from hub.numbering.authority import finalisations_to_deliver
from hub.store import HubStore
from protocol.messages import Letter, Receipt, Withdraw


def _short(env_id: str) -> str:
    return env_id[:12]


def route_letters(
    store: HubStore, letters: Sequence[tuple[Letter, str]], now: float
) -> list[list[str]]:
    """Put letters (each already stored under its env_id) in their mailboxes, in order, a
    finalisation that follows a letter right after it; return each letter's notes."""
    known = store.offices_by_id(r for letter, _ in letters for r in letter.recipients)
    notes_of: list[list[str]] = []
    mailbox: list[tuple[str, str, str]] = []
    routes: list[tuple[str, str, str]] = []
    routed_of: list[tuple[Letter, str, list[str]]] = []
    for letter, env_id in letters:
        notes: list[str] = []
        routed: list[str] = []
        for recipient in letter.recipients:
            office = known.get(recipient)
            if office is None or office["status"] == "revoked":
                state = "unknown" if office is None else "revoked"
                notes.append(f"unroutable: {recipient} ({state})")
                store.raise_alert(
                    "unroutable",
                    letter.origin,
                    f"letter {_short(env_id)} from {letter.origin} names {state} office"
                    f" {recipient}",
                    now,
                )
                continue
            routed.append(recipient)
        mailbox.extend((recipient, env_id, Letter.KIND) for recipient in routed)
        mailbox.extend(finalisations_to_deliver(store, letter, env_id, routed))
        routes.extend((env_id, recipient, letter.origin) for recipient in routed)
        if letter.attachments:
            hashes = [a["sha256"] for a in letter.attachments]
            store.add_blob_refs(env_id, hashes)
            grant_readers(store, env_id, letter.origin, hashes, routed, now)
        notes_of.append(notes)
        routed_of.append((letter, env_id, routed))
    store.deliver_all(mailbox)
    store.add_routes(routes)
    record_letters(
        store, ((letter, env_id, len(routed)) for letter, env_id, routed in routed_of), now
    )
    record_sent(store, routed_of, now)
    return notes_of


def route_receipts(
    store: HubStore, receipts: Sequence[tuple[Receipt, str]], now: float
) -> list[list[str]]:
    """Put receipts (each already stored under its env_id) in the mailboxes of their
    letters' senders, in order; return each receipt's notes."""
    letters = store.letters_routed(receipt.letter for receipt, _ in receipts)
    notes_of: list[list[str]] = []
    routed: list[tuple[Receipt, str, str]] = []
    for receipt, env_id in receipts:
        sender, recipients = letters.get(receipt.letter, (None, []))
        if sender is not None and receipt.origin in recipients:
            routed.append((receipt, env_id, sender))
            notes_of.append([])
            continue
        if sender is None:
            detail = f"receipt {_short(env_id)} names letter {_short(receipt.letter)} the hub lacks"
        else:
            detail = (
                f"receipt {_short(env_id)} from {receipt.origin} for letter"
                f" {_short(receipt.letter)} which was not addressed to it"
            )
        store.raise_alert("misrouted_receipt", receipt.origin, detail, now)
        notes_of.append([f"not routed: {detail}"])
    store.deliver_all((sender, env_id, Receipt.KIND) for _, env_id, sender in routed)
    record_receipts(store, routed, now)
    record_answers(store, (receipt for receipt, _, _ in routed), now)
    return notes_of


def route_withdraw(store: HubStore, withdraw: Withdraw, env_id: str, now: float) -> list[str]:
    """Put a withdrawal (already stored under ``env_id``) in the mailboxes of its letter's
    recipients, when its sender sent it; return notes."""
    sender = store.letter_sender(withdraw.letter)
    if sender != withdraw.origin:
        detail = (
            f"withdrawal {_short(env_id)} from {withdraw.origin} for letter"
            f" {_short(withdraw.letter)} it did not send"
        )
        store.raise_alert("misrouted_withdraw", withdraw.origin, detail, now)
        return [f"not routed: {detail}"]
    recipients = store.letter_recipients(withdraw.letter)
    if withdraw.recipients:
        recipients = [r for r in recipients if r in withdraw.recipients]
    for recipient in recipients:
        store.deliver(recipient, env_id, Withdraw.KIND)
    return []
