"""The facts the usage statistics count, recorded as the hub routes letters and receipts.

Does:

* records two kinds of fact inside the ingest transaction, called by
  :mod:`hub.federation.routing`: a routed letter (:func:`record_letters`: origin, time sent,
  speed class, type) and a routed receipt (:func:`record_receipts`: recipient, letter,
  status and the receipt's own time, which is the legal time on the recipient's clock);
* fills those facts once from the stored feed for a hub that ran before they existed
  (:func:`backfill`, run by :func:`hub.app.create_app`), and the delivery timings with
  them (:func:`hub.monitoring.timing_facts.backfill_timings`).

Does not: count or roll anything up (:mod:`hub.monitoring.usage`), nor know what a node has
not pushed yet: a node that works offline is counted when its envelopes reach the hub, on
the days its own clock gave them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from hub.clock import bangkok_day
from hub.monitoring.replay import replay_stored, routed_answers
from hub.monitoring.timing_facts import backfill_timings
from hub.store import HubStore
from protocol.messages import Deliveries, FeedMessage, Letter, Receipt
from protocol.thai import as_bangkok

log = logging.getLogger(__name__)

BACKFILL_META = "stats_backfilled"
"""Meta key set once the facts hold everything the feed held when the hub started."""

BACKFILL_BATCH = 500
"""Feed envelopes read and recorded per write transaction of the backfill."""


def moment_of(text: str, fallback: float) -> float:
    """Unix seconds of an ISO 8601 time from an envelope; ``fallback`` if it is not one.

    A time without an offset is Bangkok wall time (:func:`protocol.thai.as_bangkok`).
    """
    try:
        moment = as_bangkok(datetime.fromisoformat(text)).timestamp()
        bangkok_day(moment)
    except (TypeError, ValueError, OverflowError, OSError):
        return fallback
    return moment


def record_letters(store: HubStore, letters: Iterable[tuple[Letter, str, int]], now: float) -> None:
    """Remember letters the hub routed, each sent when it says it was: ``(letter, env_id,
    how many offices it was routed to)`` each."""
    rows = []
    for letter, env_id, routed in letters:
        sent_at = moment_of(letter.created_at, now)
        rows.append(
            (
                env_id,
                letter.origin,
                sent_at,
                bangkok_day(sent_at),
                letter.speed,
                letter.letter_type,
                routed,
            )
        )
    store.add_letter_facts(rows)


def record_receipts(
    store: HubStore, receipts: Iterable[tuple[Receipt, str, str]], now: float
) -> None:
    """Remember receipts the hub routed: ``(receipt, env_id, the letter's sender)`` each.

    Only the first receipt of each status per letter and recipient counts.
    """
    rows = []
    for receipt, env_id, sender in receipts:
        at = moment_of(receipt.at, now)
        rows.append(
            (env_id, receipt.letter, receipt.origin, sender, receipt.status, at, bangkok_day(at))
        )
    store.add_receipt_facts(rows)


def backfill(store: HubStore, batch: int = BACKFILL_BATCH) -> int:
    """Record the facts and the delivery timings of every stored letter and routed receipt,
    each once per hub.

    The facts are skipped once :data:`BACKFILL_META` is set, the timings once theirs is
    (:func:`hub.monitoring.timing_facts.backfill_timings`), so a hub whose facts were
    filled before the timings existed fills only the timings. Idempotent (facts are
    inserted once), so an interrupted backfill simply runs again at the next start;
    envelopes ingested meanwhile record their own facts. Returns how many envelopes were
    read.
    """
    return _backfill_facts(store, batch) + backfill_timings(store, batch)


def _backfill_facts(store: HubStore, batch: int) -> int:
    return replay_stored(store, BACKFILL_META, batch, _record_stored, "statistics")


def _record_stored(
    store: HubStore, msg: FeedMessage, row: Mapping[str, Any], received_at: float
) -> None:
    if isinstance(msg, Letter):
        record_letters(store, [(msg, row["env_id"], int(row["routes"]))], received_at)
    elif isinstance(msg, Receipt | Deliveries) and row["routed_to"] is not None:
        routed = routed_answers(store, msg)
        record_receipts(
            store, [(r, row["env_id"], str(row["routed_to"])) for r in routed], received_at
        )
