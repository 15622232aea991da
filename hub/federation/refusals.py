"""Keeping a refused envelope for the operator's review, within its office's quota.

Every office may have up to ``QUARANTINE_BYTES_PER_OFFICE`` bytes of refused envelopes
waiting in quarantine (:func:`hub.store.quarantine.stored_size`: the bytes, the reason and
the row). Beyond it, a newly refused envelope is **not kept**: the push result still says
``rejected`` with its reason, the refusal is counted against the office (``/metrics`` and
one ``quarantine_full`` alert counting repeats), and what is already kept stays.

Why refuse the new rather than drop the oldest: the oldest are the evidence of the first
problem (an equivocation, the gap that stops the feed) and the ones an operator releases
first, since an office's later envelopes wait behind them; dropping them would let an
office erase that evidence by pushing garbage. A refused envelope is never lost either:
its node still holds it unacknowledged and pushes it again, so it is kept once the
operator has released or discarded enough to make room.

Each envelope kept raises or repeats its office's one ``quarantined`` alert
(:func:`hub.monitoring.alerts.report_quarantined`).

Does not: decide why an envelope is refused (:mod:`hub.federation.ingest`) or what
releasing it does (:mod:`hub.federation.quarantine`).
"""

from __future__ import annotations

from hub.monitoring.alerts import report_quarantine_full, report_quarantined
from hub.store import HubStore, stored_size

DEFAULT_QUOTA = 64 * 1024 * 1024
"""Bytes of refused envelopes kept per office unless the settings say otherwise."""


def keep_refused(
    store: HubStore,
    office: str,
    env_id: str,
    seq: int | None,
    reason: str,
    detail: str,
    raw: bytes | None,
    now: float,
    quota: int = DEFAULT_QUOTA,
) -> bool:
    """Quarantine a refused envelope of ``office`` unless that takes the office's kept
    bytes over ``quota``; True when kept now. Runs in the ingest's transaction."""
    if store.quarantine_held(env_id):
        return False  # kept before: pushed again, nothing new to keep or count
    size = stored_size(raw, detail)
    held = store.quarantine_held_bytes(office)
    if held + size > quota:
        store.count_quarantine_refusal(office, size, now)
        report_quarantine_full(store, office, held, quota, now)
        return False
    kept = store.quarantine(env_id, office, seq, reason, detail, raw, now, size=size)
    if kept:
        report_quarantined(store, office, seq, reason, detail, now)
    return kept
