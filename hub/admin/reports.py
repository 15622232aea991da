"""Read-outs for the command line: the numbering report of every register, the alerts,
and the quarantined envelopes.

Does not: compute the numbering report (:mod:`hub.numbering.authority`), raise or close
alerts (:mod:`hub.monitoring.alerts`), or release quarantined envelopes
(:mod:`hub.federation.quarantine`).
"""

from __future__ import annotations

from typing import Any

from hub.admin.access import Instance, open_hub
from hub.numbering.authority import numbering_report as _numbering_report
from hub.store import HubStore


def numbering_report(instance_or_store: Instance | HubStore) -> list[dict[str, Any]]:
    """Per-register numbering report (see :func:`hub.numbering.authority.numbering_report`)."""
    if isinstance(instance_or_store, HubStore):
        return _numbering_report(instance_or_store)
    with open_hub(instance_or_store) as (_, _, store):
        return _numbering_report(store)


def list_alerts(instance: Instance, status: str | None = "open") -> list[dict[str, Any]]:
    """Alerts (equivocation, unroutable, numbering conflicts...), newest first."""
    with open_hub(instance) as (_, _, store):
        return store.alerts(status)


def list_quarantine(instance: Instance, status: str | None = "open") -> list[dict[str, Any]]:
    """Quarantined envelopes with their reasons, newest first (envelope bytes omitted)."""
    with open_hub(instance) as (_, _, store):
        return [{k: v for k, v in r.items() if k != "envelope"} for r in store.quarantined(status)]
