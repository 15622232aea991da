"""Rate limits per office on the federation API: a token bucket per office and family.

Each office has one bucket per family of requests (:data:`FAMILIES`: push, pull, blobs,
watch, other), holding up to ``rate × RATE_BURST_SECONDS`` requests and refilled at
``rate`` a second (the ``RATE_<FAMILY>_PER_SECOND`` settings; 0 turns a family's limit
off). A request beyond it is refused :class:`RateLimited`: 429 ``rate_limited`` with
``Retry-After`` (whole seconds until the bucket holds a request again) and the same figure
as ``retry_after`` in the JSON, which a node's back-off honours as its floor.

A request is charged only once its office is known for sure: after its signature verified
(:func:`hub.federation.auth.authenticate`), or for the wake-up check after its token did.
So nobody can spend another office's allowance, and the defaults are far above what a
node does (a push of up to 500 envelopes a round, a wake-up check every 3 s) or what a
node catching up after a week offline asks.

The buckets live in the process while it serves alone, and in the database
(``rate_buckets``) while several hub processes serve one database (ADR 0025,
:mod:`hub.processes`), so an office's allowance is the same whichever process answers. The
requests refused are counted per process, per office and family, for ``/metrics`` (reset
when the process starts, as a Prometheus counter may be).
Each office's first refusal after it was last admitted is logged, not every refusal.

Does not: read the request (the API names the office, the endpoint and the time), or
limit requests no office signed (:class:`hub.responses.InflightLimiter` bounds those).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.config import RATE_FAMILIES, rate_setting
from hub.errors import HubError

if TYPE_CHECKING:
    from hub.store import HubStore

log = logging.getLogger(__name__)

FAMILIES: dict[str, str] = {
    "api.push": "push",
    "api.pull": "pull",
    "api.own_feed": "pull",
    "api.blob_put": "blobs",
    "api.blob_head": "blobs",
    "api.blob_get": "blobs",
    "api.watch": "watch",
}
"""The family of each endpoint of :mod:`hub.api`; any other signed endpoint is ``other``."""
OTHER = "other"
SETTINGS: dict[str, str] = {family: rate_setting(family) for family in RATE_FAMILIES}
"""The setting of each family's rate (requests a second per office), from the table of
families in :data:`hub.config.RATE_FAMILIES`."""


class RateLimited(HubError):
    """An office asked more often than its limit allows: 429 with ``Retry-After``."""

    status = 429
    code = "rate_limited"


def family_of(endpoint: str | None) -> str:
    """The family whose limit a request to ``endpoint`` (Flask's name) counts against."""
    return FAMILIES.get(endpoint or "", OTHER)


@dataclass
class _Bucket:
    tokens: float
    at: float


def _take(bucket: _Bucket, now: float, rate: float, full: float) -> tuple[float, bool]:
    """The bucket's tokens after one request at ``now``, and whether it was admitted."""
    # A clock that went back refills nothing; it never takes tokens away either.
    tokens = min(full, bucket.tokens + max(0.0, now - bucket.at) * rate)
    if tokens >= 1.0:
        return tokens - 1.0, True
    return tokens, False


class RateLimits:
    """The token buckets of one hub process."""

    def __init__(self, rates: Mapping[str, float], burst_seconds: float):
        self.rates = {family: max(0.0, float(rate)) for family, rate in rates.items()}
        self.burst_seconds = max(0.0, float(burst_seconds))
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._refused: dict[tuple[str, str], int] = {}
        self._limited: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> RateLimits:
        """The limits the hub's settings give."""
        rates = {family: float(settings[name]) for family, name in SETTINGS.items()}
        return cls(rates, float(settings["RATE_BURST_SECONDS"]))

    def capacity(self, family: str) -> float:
        """Requests an office that has been idle may make at once."""
        return max(1.0, self.rates.get(family, 0.0) * self.burst_seconds)

    def admit(self, office: str, family: str, now: float, shared: HubStore | None = None) -> None:
        """Count one request of ``office``; :class:`RateLimited` when it is one too many.
        With ``shared`` (several hub processes serve, ADR 0025) the bucket is the one in
        the database, in a transaction of its own."""
        rate = self.rates.get(family, 0.0)
        if rate <= 0:
            return
        key = (office, family)
        full = self.capacity(family)
        if shared is None:
            with self._lock:
                bucket = self._buckets.setdefault(key, _Bucket(full, now))
                tokens, admitted = _take(bucket, now, rate, full)
                bucket.tokens, bucket.at = tokens, now
        else:
            with shared.write():
                held = shared.rate_bucket(office, family)
                tokens, admitted = _take(_Bucket(*(held or (full, now))), now, rate, full)
                shared.set_rate_bucket(office, family, tokens, now)
        with self._lock:
            if admitted:
                self._limited.discard(key)
                return
            self._refused[key] = self._refused.get(key, 0) + 1
            first = key not in self._limited
            self._limited.add(key)
        wait = max(1, math.ceil((1.0 - tokens) / rate))
        if first:
            log.warning(
                "office %s is over its %s rate limit (%g a second); refusing with 429",
                office,
                family,
                rate,
            )
        error = RateLimited(
            f"too many {family} requests from {office}: at most {rate:g} a second"
            f" (bursts of {full:g}); retry after {wait} s"
        )
        error.headers["Retry-After"] = str(wait)
        error.extra["retry_after"] = wait
        raise error

    def refused(self) -> dict[tuple[str, str], int]:
        """Requests refused since the process started, by ``(office, family)``."""
        with self._lock:
            return dict(self._refused)
