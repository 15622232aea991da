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
* ``deliveries``: the letters' sender, once, recorded for each letter it names as that
  letter's ``delivered`` receipt would be; a letter the hub lacks, not sent by the sender
  it names or not addressed to the envelope's origin is not counted, with one alert for
  the envelope (ADR 0028);
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
from protocol.messages import Deliveries, Letter, Receipt, Withdraw


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


def route_answers(
    store: HubStore, answers: Sequence[tuple[Receipt | Deliveries, str]], now: float
) -> list[list[str]]:
    """Put receipts and ``deliveries`` (each already stored under its env_id) in the
    mailboxes of their letters' senders, in order, and record each letter they answer;
    return each envelope's notes."""
    letters = store.letters_routed(x for msg, _ in answers for x in _letters_of(msg))
    notes_of: list[list[str]] = []
    routed: list[tuple[Receipt, str, str]] = []
    mailbox: list[tuple[str, str, str]] = []
    for msg, env_id in answers:
        if isinstance(msg, Deliveries):
            answered, notes = _route_deliveries(store, msg, env_id, letters, now)
            if answered:
                routed.extend(answered)
                mailbox.append((msg.letter_origin, env_id, Deliveries.KIND))
            notes_of.append(notes)
            continue
        sender, recipients = letters.get(msg.letter, (None, []))
        if sender is not None and msg.origin in recipients:
            routed.append((msg, env_id, sender))
            mailbox.append((sender, env_id, Receipt.KIND))
            notes_of.append([])
            continue
        if sender is None:
            detail = f"receipt {_short(env_id)} names letter {_short(msg.letter)} the hub lacks"
        else:
            detail = (
                f"receipt {_short(env_id)} from {msg.origin} for letter"
                f" {_short(msg.letter)} which was not addressed to it"
            )
        store.raise_alert("misrouted_receipt", msg.origin, detail, now)
        notes_of.append([f"not routed: {detail}"])
    store.deliver_all(mailbox)
    record_receipts(store, routed, now)
    record_answers(store, (receipt for receipt, _, _ in routed), now)
    return notes_of


def _letters_of(msg: Receipt | Deliveries) -> list[str]:
    return msg.letters if isinstance(msg, Deliveries) else [msg.letter]


def _route_deliveries(
    store: HubStore,
    msg: Deliveries,
    env_id: str,
    letters: dict[str, tuple[str, list[str]]],
    now: float,
) -> tuple[list[tuple[Receipt, str, str]], list[str]]:
    """The ``delivered`` receipt of each letter ``msg`` names that its sender sent to the
    envelope's origin, as routed, and the notes on the others."""
    routed, lacking = [], []
    for receipt in msg.receipts():
        sender, recipients = letters.get(receipt.letter, (None, []))
        if sender == msg.letter_origin and msg.origin in recipients:
            routed.append((receipt, env_id, msg.letter_origin))
        else:
            lacking.append(receipt.letter)
    if not lacking:
        return routed, []
    detail = (
        f"deliveries {_short(env_id)} from {msg.origin} name {len(lacking)} letter(s) the"
        f" hub lacks, not sent by {msg.letter_origin} or not addressed to {msg.origin}: "
        + ", ".join(_short(x) for x in lacking[:5])
        + (", ..." if len(lacking) > 5 else "")
    )
    store.raise_alert("misrouted_receipt", msg.origin, detail, now)
    return routed, [f"not routed: {detail}"]


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
