"""The live path: a sync as soon as there is something to send, and within seconds of
something arriving at the hub (ADR 0016).

One :class:`LiveSync` thread per node process does two things:

- **Push on change.** Every transaction that appends to the own feed (a letter sent, a
  ลงรับ, a return, any receipt) calls :meth:`LiveSync.kick` once it commits
  (``NodeContext.on_feed_change``). Kicks are coalesced: however many arrive while a round
  runs, one more round follows it. Rounds never overlap (:func:`node.sync.worker.sync_once`
  holds the process's sync lock, which the scheduler's safety-net job shares).
- **Wake-up on arrival.** Every ``WATCH_SECONDS`` it asks the hub's ``GET /watch`` with the
  token and ETag of the last pull: a 304 costs the hub two indexed reads, a 200 starts a
  round. The same check tells the link's state: when the hub answers again after the link
  was down, the round waiting for it starts at once instead of at the end of its back-off.

A round that fails records its back-off as before (:mod:`node.sync.worker`); a kick during
a back-off for an unreachable hub waits only for the next successful check, so an urgent
letter waits for the link and for nothing else. Crash safety is the round's own: this
module keeps nothing that a restart would need.

Does not: decide what a round does (:mod:`node.sync.worker`), or run the nightly job
(:mod:`node.sync.jobs`).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from node.context import NodeContext
from node.errors import NodeError
from node.sync.hubclient import HubClient, HubHTTPError, hub_client
from node.sync.state import WATCH_SETTING, sync_state, watch_credentials
from node.sync.worker import sync_once
from protocol.errors import SarabanError, TransportError

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 10.0
LINK_STATES = ("unknown", "up", "down")


class LiveSync:
    """The node's live sync thread (start it once per process; see the module)."""

    def __init__(self, ctx: NodeContext, watch_seconds: float | None = None) -> None:
        self.ctx = ctx
        seconds = ctx.settings["WATCH_SECONDS"] if watch_seconds is None else watch_seconds
        self.watch_seconds = float(seconds)
        self.link = "unknown"
        self.last_check: float | None = None
        self.rounds = 0
        self.checks = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: HubClient | None = None

    # -- control ----------------------------------------------------------------------------

    def start(self) -> LiveSync:
        """Start the thread (its first round catches up at once) and hook the feed."""
        self.ctx.on_feed_change = self.kick
        self._wake.set()
        self._thread = threading.Thread(target=self._run, name="saraban-live", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the round running now, if any."""
        if self.ctx.on_feed_change == self.kick:
            self.ctx.on_feed_change = None
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def kick(self) -> None:
        """Something was committed for the hub: sync now, or right after the running round."""
        self._wake.set()

    def state(self) -> dict[str, Any]:
        """The link and the round in progress, for the clerk's sync badge."""
        return {
            "live": self.running,
            "link": self.link,
            "phase": self.ctx.sync_phase,
            "last_check": self.last_check,
            "rounds": self.rounds,
            "checks": self.checks,
        }

    # -- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                kicked = self._wake.wait(self.watch_seconds if self.watch_seconds > 0 else None)
                if self._stop.is_set():
                    break
                self._wake.clear()
                try:
                    self._step(kicked)
                except (SarabanError, NodeError) as e:
                    log.warning("live sync step did not run: %s", e)
        finally:
            if self._client is not None:
                self._client.close()

    def _step(self, kicked: bool) -> None:
        if (kicked and self._may_sync()) or self._check():
            self._sync()

    def _may_sync(self) -> bool:
        """Whether a round may start now: not inside the back-off of a failed one."""
        with self.ctx.open_store() as store:
            due = float(sync_state(store)["next_attempt"] or 0)
        return due <= self.ctx.now()

    def _check(self) -> bool:
        """Ask the hub whether anything waits; True when a round should run now."""
        with self.ctx.open_store() as store:
            token, etag = watch_credentials(store)
            state = sync_state(store)
        if token is None:
            # Never pulled (or the token was refused): only a full round gets a token.
            return self._may_sync()
        if self._client is None:
            self._client = hub_client(self.ctx)
            self._client.timeout = min(self._client.timeout, PROBE_TIMEOUT_SECONDS)
        self.last_check = self.ctx.now()
        self.checks += 1
        try:
            changed = self._client.watch(token, etag)
        except HubHTTPError as e:
            # An answer, even a refusal, means the link is up; the back-off stands.
            self.link = "up" if e.status < 500 else "down"
            if e.status == 403:
                self._forget_token()
                return self._may_sync()
            return False
        except TransportError:
            self.link = "down"
            return False
        self.link = "up"
        # The hub answers again: a round that failed only because it was unreachable need
        # not wait out its back-off; one the hub refused or asked to wait (429 with its
        # Retry-After) does, even when mail waits.
        back_again = _last_error_code(state) == "unreachable"
        if changed is not None:
            return self._may_sync() or back_again
        return int(state["failures"] or 0) > 0 and (self._may_sync() or back_again)

    def _forget_token(self) -> None:
        with self.ctx.open_store() as store, store.transaction():
            store.set_setting(WATCH_SETTING, None)

    def _sync(self) -> None:
        result = sync_once(self.ctx)
        self.rounds += 1
        self.link = "up" if result.online else "down"


def _last_error_code(state: dict[str, Any]) -> str | None:
    try:
        last = json.loads(state["last_result"] or "{}")
    except ValueError:
        return None
    code = last.get("error_code") if isinstance(last, dict) else None
    return code if isinstance(code, str) else None
