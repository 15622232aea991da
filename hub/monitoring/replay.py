"""Replaying the stored feed once per hub, for facts recorded after the envelopes were.

:func:`replay_stored` reads every stored envelope in order, in batches of one transaction
each, parses it and hands letters and routed receipts to ``record``; a meta key marks the
replay done. Used by the usage facts and the delivery timings when a hub first runs code
that records them.

Does not: decide what is recorded (the callers' ``record`` does).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from hub.store import HubStore
from protocol.envelope import Envelope
from protocol.errors import SarabanError
from protocol.messages import Deliveries, FeedMessage, Receipt, parse_feed_message

log = logging.getLogger(__name__)

Record = Callable[[HubStore, FeedMessage, Mapping[str, Any], float], None]
"""``record(store, message, stored row, time the hub received it)``."""


def replay_stored(store: HubStore, meta_key: str, batch: int, record: Record, what: str) -> int:
    """Hand every stored envelope to ``record`` unless ``meta_key`` is set; then set it.

    ``record`` must be idempotent: an interrupted replay runs again at the next start.
    Returns how many envelopes were read."""
    if store.meta(meta_key):
        return 0
    after, seen = 0, 0
    while True:
        rows = store.feed_for_facts(after, batch)
        if not rows:
            break
        with store.write():
            for row in rows:
                _replay_one(store, row, record, what)
        after = int(rows[-1]["position"])
        seen += len(rows)
    with store.write():
        store.set_meta(meta_key, "1")
    if seen:
        log.info("%s: recorded from %d stored envelopes", what, seen)
    return seen


def _replay_one(store: HubStore, row: Mapping[str, Any], record: Record, what: str) -> None:
    try:
        env = Envelope.from_bytes(bytes(row["envelope"]))
        msg = parse_feed_message(row["kind"], json.loads(env.body))
    except (SarabanError, ValueError):
        log.warning("%s: stored envelope %s does not parse; skipped", what, row["env_id"])
        return
    record(store, msg, row, float(row["received_at"]))


def routed_answers(store: HubStore, msg: Receipt | Deliveries) -> list[Receipt]:
    """The receipts a routed envelope gave: itself, or the ``delivered`` receipt of each
    letter a ``deliveries`` names that the hub routed as such."""
    if isinstance(msg, Receipt):
        return [msg]
    letters = store.letters_routed(msg.letters)
    return [
        r
        for r in msg.receipts()
        if letters.get(r.letter, ("", []))[0] == msg.letter_origin
        and msg.origin in letters[r.letter][1]
    ]
