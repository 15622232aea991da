"""The times of every letter, from the moment its clerk sent it, recorded as the hub routes.

Does:

* records, inside the ingest transaction (called by :mod:`hub.federation.routing`), one
  row per letter and routed recipient (:func:`record_sent`): the moment the letter was
  sent, which is the ``created_at`` its sender signed, and the moment the hub accepted it;
* adds to that row each recipient's answer (:func:`record_answers`): the time its
  ``delivered``, ``registered`` (ลงรับ, with the เลขรับ) or ``returned`` receipt says (the
  receipt's ``at``, on the recipient's clock) and when the hub received that receipt;
* fills those rows once from the stored feed for a hub that ran before they existed
  (:func:`backfill_timings`).

A time that is no time, or that lies more than :data:`CLOCK_ALLOWANCE` after the hub
received the envelope (a clock set ahead), is replaced by the hub's time of receiving
it; for a letter the replacement is remembered (``sent_replaced``) and counted. A time
before the hub received the envelope is kept however early: a node that worked offline
sent its letters when its clerks pressed ส่ง, and the wait is what these figures measure.

Does not: compute percentiles or decide what is shown (:mod:`hub.monitoring.timings`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from hub.clock import bangkok_day
from hub.config import SETTINGS
from hub.monitoring.replay import replay_stored, routed_answers
from hub.store import HubStore
from hub.store.delivery_times import Answer
from protocol.messages import Deliveries, FeedMessage, Letter, Receipt
from protocol.thai import as_bangkok

log = logging.getLogger(__name__)

CLOCK_ALLOWANCE: float = float(
    next(s.default for s in SETTINGS if s.name == "CLOCK_WINDOW_SECONDS")
)
"""Seconds a signed time may lie after the hub's receipt of it and still be believed: the
window of a signed request (the default of ``CLOCK_WINDOW_SECONDS``)."""

BACKFILL_META = "timings_backfilled"
"""Meta key set once the timings hold everything the feed held when the hub started."""


def believed_moment(text: str, received_at: float) -> tuple[float, bool]:
    """The Unix time of a signed ISO 8601 time, and whether the hub's ``received_at``
    replaced it (not a time, or more than :data:`CLOCK_ALLOWANCE` after ``received_at``).

    A time without an offset is Bangkok wall time (:func:`protocol.thai.as_bangkok`).
    """
    try:
        moment = as_bangkok(datetime.fromisoformat(text)).timestamp()
        bangkok_day(moment)
    except (TypeError, ValueError, OverflowError, OSError):
        return received_at, True
    if moment > received_at + CLOCK_ALLOWANCE:
        return received_at, True
    return moment, False


def record_sent(
    store: HubStore, letters: Iterable[tuple[Letter, str, Iterable[str]]], hub_at: float
) -> None:
    """Remember letters the hub accepted at ``hub_at``: ``(letter, env_id, the offices it
    was routed to)`` each."""
    rows: list[tuple[str, str, str, str, float, int, float]] = []
    for letter, env_id, recipients in letters:
        sent_at, replaced = believed_moment(letter.created_at, hub_at)
        rows.extend(
            (env_id, r, letter.origin, letter.speed, sent_at, int(replaced), hub_at)
            for r in recipients
        )
    store.add_sent_letters(rows)


def record_answers(store: HubStore, receipts: Iterable[Receipt], hub_at: float) -> None:
    """Remember routed receipts, received by the hub at ``hub_at``, each on its letter's
    row for the receipt's origin (a recipient of the letter)."""
    answers = []
    for receipt in receipts:
        at, _ = believed_moment(receipt.at or receipt.created_at, hub_at)
        answers.append(
            Answer(
                receipt.letter, receipt.origin, receipt.status, at, hub_at, receipt.receipt_number
            )
        )
    store.add_answer_times(answers)


def backfill_timings(store: HubStore, batch: int) -> int:
    """Record the times of every stored letter and routed receipt, once per hub.

    Does nothing once :data:`BACKFILL_META` is set. Idempotent (a letter's rows are
    inserted once, and the first receipt of each status keeps its times), so an interrupted
    backfill simply runs again at the next start. Returns how many envelopes were read.
    """
    return replay_stored(store, BACKFILL_META, batch, _record_stored, "timings")


def _record_stored(
    store: HubStore, msg: FeedMessage, row: Mapping[str, Any], received_at: float
) -> None:
    if isinstance(msg, Letter):
        record_sent(
            store, [(msg, row["env_id"], store.letter_recipients(row["env_id"]))], received_at
        )
    elif isinstance(msg, Receipt | Deliveries) and row["routed_to"] is not None:
        record_answers(store, routed_answers(store, msg), received_at)
