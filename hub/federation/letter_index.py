"""The portal's letter index: a row per accepted letter a moment after ingest, read from
the feed, and the index a moment after that (ADR 0024, ADR 0030).

Does:

* :func:`follow_step`: the rows of the letters the hub accepted since the last step, read
  from the feed in the order it accepted them (a push only stores the letter): its number
  and search key, dates, kind, speed, secrecy, the subject and body of a letter that is
  not sealed (a sealed one keeps the neutral subject only and no body), the names of its
  parties, its recipients, and the ``library`` flag its sender may set on circulars,
  orders and regulations meant for every office (an optional body field,
  ``"library": true``); a letter whose provisional number the hub made final already gets
  the final number at once (:func:`record_letters`);
* :func:`catch_up`: the same for at most a given time, as a portal request does before it
  reads, so that a letter accepted a moment ago is found unless a long burst is still
  being recorded (the page then says how many letters it cannot reach yet);
* :func:`note_register_entry`: when the hub makes a provisional number final, the letter
  that carried it shows the final number and keeps the provisional one as an earlier
  number, so a search finds it by either;
* :func:`index_pending`: the queued letters into the FTS5 trigram index, newest first,
  one batch per transaction, as the node's index does (ADR 0019);
* :func:`backfill_step`: the letters of a hub database from before the index, read from
  its feed a batch at a time and resumable (``meta``), placed before every newer letter;
* :func:`keep_up`: all three, for at most a given time, as the hub's job runs them every
  second.

Each index document ends every column in a space (so a two-character word is any
trigram it begins, :mod:`protocol.search_terms`) and has a ``scope`` column: the
:func:`scope_code` of each office party to the letter and :data:`LIBRARY_SCOPE` for the
library, three private-use characters each, so that one trigram lists what an office
may see (a letter whose text held the same characters is still checked on its row).

Does not: search (:mod:`hub.portal.search`) or decide who may see a letter; never reads
a sealed letter's content (the hub holds none).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hub.clock import bangkok_day
from hub.errors import StoreError
from hub.store import HubStore
from hub.store.portal_letters import IndexDoc
from protocol.envelope import Envelope
from protocol.errors import BadLetterNumber, BadMessage, SarabanError
from protocol.hub_messages import Lease, finalised_display
from protocol.messages import Letter, RegisterEntry, parse_feed_message
from protocol.numbers import RegisterKey, parse_letter_number, search_key
from protocol.sealing import SEALED_SUBJECT
from protocol.thai import parse_thai_date

log = logging.getLogger(__name__)

LIBRARY_FIELD = "library"
"""The optional letter body field by which a sender puts a letter in the ministry's library."""

INDEX_BATCH = 500
"""Letters indexed per transaction: ~0.15 s of writing, short enough not to hold up a push."""

BACKFILL_BATCH = 500
"""Feed letters recorded per transaction when indexing an older hub's feed."""

FOLLOW_BATCH = 500
"""Accepted letters recorded per transaction as the portal follows the feed (~50 ms)."""

CATCH_UP_SECONDS = 1.0
"""How long a portal request may spend recording the letters accepted since the last
step before it reads (about 10,000 letters)."""

_SCOPE_BASE = 0xE000
_SCOPE_SPAN = 6400  # U+E000..U+F8FF, the private use area
FINALISING_ACTIONS = ("issued", "reserved")


def scope_code(office: str) -> str:
    """Three private-use characters standing for ``office`` in the index's ``scope``."""
    digest = hashlib.sha256(office.encode("utf-8")).digest()
    return "".join(
        chr(_SCOPE_BASE + int.from_bytes(digest[i : i + 2], "big") % _SCOPE_SPAN) for i in (0, 2, 4)
    )


LIBRARY_SCOPE = scope_code("\x00library")
"""The ``scope`` code of the letters in the ministry's library."""


def in_library(letter: Letter) -> bool:
    """Whether the sender marked ``letter`` for every office (never a sealed letter)."""
    return letter.extra.get(LIBRARY_FIELD) is True and not letter.secrecy


def _letter_day(letter: Letter, now: float) -> str:
    try:
        return parse_thai_date(letter.letter_date).isoformat()
    except BadMessage:
        return bangkok_day(now)


def _register_id(register: str | None) -> str | None:
    if not register:
        return None
    try:
        return RegisterKey.from_id(register).as_id()
    except BadMessage:
        return register


def _number_keys(number: str | None) -> tuple[str | None, str | None]:
    """A letter number's search key, and the same again when the number is provisional."""
    if not number:
        return None, None
    try:
        parsed = parse_letter_number(number)
    except BadLetterNumber:
        return search_key(number), None
    key = parsed.search_key()
    return key, key if parsed.provisional else None


def _provisional_key(number: str | None) -> str | None:
    return _number_keys(number)[1]


def letter_row(
    letter: Letter, env_id: str, names: Mapping[str, str], number_key: str | None, now: float
) -> dict[str, Any]:
    """The ``portal_letters`` values of an accepted letter (``names``: office names;
    ``number_key``: its number's search key)."""
    sealed = bool(letter.secrecy)
    offices = [letter.origin, *letter.recipients]
    parties = " ".join(
        part
        for office in offices
        for part in (
            office,
            names.get(office, ""),
            letter.sender if office == letter.origin else "",
        )
        if part
    )
    return {
        "env_id": env_id,
        "origin": letter.origin,
        "register": _register_id(letter.register),
        "number": letter.number,
        "number_key": number_key,
        "letter_date": letter.letter_date,
        "letter_day": _letter_day(letter, now),
        "letter_type": letter.letter_type,
        "sub_type": letter.sub_type,
        "speed": letter.speed,
        "secrecy": letter.secrecy,
        "sealed": int(sealed),
        "subject": SEALED_SUBJECT if sealed else letter.subject,
        "body": "" if sealed else letter.body,
        "sender": letter.sender,
        "parties": parties,
        "library": int(in_library(letter)),
        "accepted_at": now,
    }


AcceptedLetter = tuple[Letter, str, float, int | None]
"""A letter to record: the letter, its env_id, when the hub accepted it, and the id to
place it at (None: the next one; :func:`backfill_step` places an older hub's letters)."""


def record_letters(store: HubStore, letters: Sequence[AcceptedLetter]) -> list[int | None]:
    """Record accepted letters for the portal and queue them for the index, in order
    (inside the caller's transaction); each one's row id, or None when it was recorded
    already (so a letter a hub of before recorded as it accepted it is not doubled)."""
    names = store.office_names(
        office for letter, *_ in letters for office in (letter.origin, *letter.recipients)
    )
    rows, provisional = [], []
    for letter, env_id, now, letter_id in letters:
        number_key, key = _number_keys(letter.number)
        row = letter_row(letter, env_id, names, number_key, now)
        rows.append((row, letter.recipients, letter_id))
        provisional.append(key)
    new_ids = store.add_portal_letters(rows)
    for (letter, env_id, *_), (row, *_), key, new_id in zip(
        letters, rows, provisional, new_ids, strict=True
    ):
        register = row["register"]
        if new_id is not None and key is not None and register is not None:
            raw = store.finalisation_envelope(letter.origin, env_id, register, key)
            final = _final_display(raw, letter.number or "") if raw is not None else None
            recorded = store.portal_letter(env_id) if final else None
            if final and recorded is not None:
                _renumber(store, recorded, final)
    return new_ids


def _final_display(raw: bytes, provisional: str) -> str | None:
    try:
        lease = Lease.from_dict(json.loads(Envelope.from_bytes(raw).body))
    except (SarabanError, ValueError):
        log.warning("a stored finalisation does not parse; the letter keeps its number")
        return None
    if lease.display:
        return lease.display
    return finalised_display(provisional, lease.number) if lease.number else None


def note_register_entry(store: HubStore, office: str, entry: RegisterEntry) -> None:
    """After the numbering authority recorded ``entry``: when it made a provisional number
    final, the letter that carried it shows the final number (inside the transaction)."""
    if not (entry.provisional and entry.action in FINALISING_ACTIONS and entry.provisional_id):
        return
    key = _provisional_key(entry.display)
    register = _register_id(entry.register)
    if key is None or register is None or not entry.display:
        return
    ledger = store.provisional_entry(register, office, entry.provisional_id)
    if ledger is None or ledger["number"] is None:
        return
    final = finalised_display(entry.display, int(ledger["number"]))
    if final is None:
        return
    carriers = store.portal_letters_numbered(office, register, key)
    if entry.letter is not None:
        named = store.portal_letter(entry.letter)
        if named is not None and named["origin"] == office and named["provisional_key"] is None:
            carriers = [named]
    for row in carriers:
        _renumber(store, row, final)


def _renumber(store: HubStore, row: dict[str, Any], final: str) -> None:
    if row["number"] == final:
        return
    if not store.portal_queued(int(row["id"])):
        store.unindex_portal_doc(index_doc(row))
    store.renumber_portal_letter(
        int(row["id"]), final, search_key(final), row["number"], row["number_key"]
    )


# -- the index ---------------------------------------------------------------------------


def index_doc(row: Mapping[str, Any]) -> IndexDoc:
    """The index document of a ``portal_letters`` row read with its recipients."""
    numbers = " ".join(k for k in (row["number_key"], row["provisional_key"]) if k)
    scope = [scope_code(o) for o in (row["origin"], *row["recipients"])]
    if row["library"]:
        scope.append(LIBRARY_SCOPE)
    return (
        int(row["id"]),
        f"{row['subject']} ",
        f"{numbers} ",
        f"{row['parties']} ",
        f"{row['body']} ",
        " ".join(scope) + " ",
    )


def index_pending(store: HubStore, batch: int = INDEX_BATCH) -> int:
    """Index up to ``batch`` of the newest queued letters in one transaction; how many."""
    with store.write():
        rows = store.portal_pending_batch(batch)
        return store.index_portal_docs(index_doc(r) for r in rows)


def backfill_step(store: HubStore, batch: int = BACKFILL_BATCH) -> int:
    """Record the next ``batch`` letters the feed held before the index existed, in one
    transaction; how many feed letters were read (0 once every one is recorded).

    Each takes the id ``feed row - last row - 1`` (below 1), so the letters of an older hub
    come before every letter accepted since, in the order the hub accepted them.
    """
    with store.write():
        done, upto = store.portal_backfill_span()
        if done >= upto:
            return 0
        rows = store.feed_letters_between(done, upto, batch)
        letters = [
            (letter, row["env_id"], float(row["received_at"]), int(row["position"]) - upto - 1)
            for row in rows
            if (letter := _stored_letter(row)) is not None
        ]
        record_letters(store, letters)
        store.set_portal_backfill_done(int(rows[-1]["position"]) if len(rows) == batch else upto)
    if rows and len(rows) < batch:
        log.info("portal index: the letters of the feed before it are recorded")
    return len(rows)


def follow_step(store: HubStore, batch: int = FOLLOW_BATCH) -> int:
    """Record the next ``batch`` letters the hub accepted after the last step, from its
    feed, in one transaction; how many (0 when the portal holds every one).

    Each takes the next id, so the ids keep the order the hub accepted the letters in.
    Several hub processes write one at a time (``store.write``), so no feed row can be
    committed below the end this step has read.
    """
    with store.write():
        after, end = store.portal_followed(), store.feed_end()
        if after >= end:
            return 0
        rows = store.feed_letters_between(after, end, batch)
        letters = [
            (letter, row["env_id"], float(row["received_at"]), None)
            for row in rows
            if (letter := _stored_letter(row)) is not None
        ]
        record_letters(store, letters)
        store.set_portal_followed(int(rows[-1]["position"]) if len(rows) == batch else end)
    return len(rows)


def catch_up(
    store: HubStore, seconds: float = CATCH_UP_SECONDS, clock: Callable[[], float] = time.monotonic
) -> int:
    """Record the letters accepted since the last step for about ``seconds`` (one batch
    at least), as a portal request does before it reads; how many. A database that cannot
    be written now (busy, full) leaves the portal reading what it recorded."""
    deadline = clock() + seconds
    recorded = 0
    try:
        while step := follow_step(store):
            recorded += step
            if clock() >= deadline:
                break
    except StoreError as e:
        log.warning("portal: the letters accepted since are not recorded now: %s", e)
    return recorded


def _stored_letter(row: Mapping[str, Any]) -> Letter | None:
    try:
        msg = parse_feed_message(
            "letter", json.loads(Envelope.from_bytes(bytes(row["envelope"])).body)
        )
    except (SarabanError, ValueError):
        log.warning("portal index: stored letter %s does not parse; skipped", row["env_id"])
        return None
    return msg if isinstance(msg, Letter) else None


def keep_up(
    store: HubStore,
    seconds: float,
    clock: Callable[[], float] = time.monotonic,
    batch: int = INDEX_BATCH,
) -> tuple[int, int]:
    """Record an older feed's letters, then the letters accepted since, then index the
    queue, for about ``seconds`` (one batch of ``batch`` letters of each at least);
    ``(letters recorded, letters indexed)``."""
    deadline = clock() + seconds
    recorded = indexed = 0
    for step_of in (backfill_step, follow_step):
        while step := step_of(store, batch):
            recorded += step
            if clock() >= deadline:
                break
    while clock() < deadline or not indexed:
        done = index_pending(store, batch)
        indexed += done
        if not done:
            break
    return recorded, indexed
