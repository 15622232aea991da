"""What every page of the portal shares: its refusals, the headers of every answer, the
rate limit per address, the audit of what people do, and the template helpers (Bangkok
times in the Buddhist era, Thai names of offices).

* :class:`PortalError` carries a Thai message; the app renders it as a Thai page
  (:mod:`hub.portal.app`), never a traceback.
* :class:`AddressLimits` counts the requests of each address in a minute: sign-in attempts
  (``PORTAL_SIGN_INS_PER_MINUTE``) and every request (``PORTAL_PAGES_PER_MINUTE``); beyond,
  429 with ``Retry-After``. Counted in the process, as the hub's other limits are.
* :func:`get_store` is this request's connection to the hub's database (closed when the
  request ends, :func:`close_store`); :func:`blob_file` the file of an attachment the hub
  holds whole.
* :func:`audit` writes one row of ``portal_audit`` for the signed-in person.

Does not: keep sessions (:mod:`hub.portal.session`) or decide who sees what
(:mod:`hub.portal.access`).
"""

from __future__ import annotations

import logging
import math
import re
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, request
from markupsafe import Markup, escape

from hub.errors import HubError
from hub.processes import HubProcesses
from hub.store import HubStore
from hub.store.portal_sessions import PortalSessions
from protocol import refusal
from protocol.thai import BANGKOK, format_thai_date, format_thai_datetime, format_thai_time

log = logging.getLogger("hub.portal")

PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
        " frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Strict-Transport-Security": "max-age=31536000",
}
"""Sent with every answer of the portal: no framing, nothing from elsewhere, no caching of
what a person saw, and HTTPS from then on (a browser ignores it over plain HTTP)."""

MAX_AUDIT_DETAIL = 300
"""Characters of an audit row's detail kept."""


class PortalError(HubError):
    """A refusal a person reads: an English reason for the log, ``message_th`` on the page."""

    def __init__(
        self, reason: str, message_th: str, *, code: str = "bad_request", status: int = 400
    ):
        super().__init__(reason, code=code, status=status)
        self.message_th = message_th


NOT_FOUND_TH = "ไม่พบหนังสือหรือหน้าที่ต้องการ หรือท่านไม่มีสิทธิ์เปิด"
"""One answer for a letter that does not exist and one the person may not open."""


def not_found(reason: str) -> PortalError:
    """The refusal of a letter or file that is absent or not the person's to see: the same
    page for both, so a guess learns nothing."""
    return PortalError(reason, NOT_FOUND_TH, code="not_found", status=404)


SHA256_RE = re.compile(r"[0-9a-f]{64}")


def get_store() -> HubStore:
    """The hub database connection of this request."""
    if "portal_store" not in g:
        g.portal_store = HubStore.open(current_app.config["DATABASE"], create=False)
    store: HubStore = g.portal_store
    return store


def close_store(_exc: BaseException | None = None) -> None:
    """Close this request's database connection."""
    store = g.pop("portal_store", None)
    if store is not None:
        store.close()


def blob_file(sha256: str) -> Path | None:
    """The file of a blob the hub holds whole (complete blobs are named by their hash in
    ``BLOB_DIR``: :class:`hub.federation.blobs.BlobStore`), or None."""
    if not SHA256_RE.fullmatch(sha256):
        return None
    path = Path(current_app.config["BLOB_DIR"]) / sha256
    return path if path.is_file() else None


def log_refusal(status: int, code: str, reason: str) -> None:
    """One log line for a refused request: method, path, status, code, reason (never a
    form, a cookie or a query string)."""
    refusal.log_refusal(log, request.method, request.path, status, code, reason)


def now() -> float:
    """The hub's time, Unix seconds (``CLOCK``, so tests move it)."""
    return float(current_app.config["CLOCK"]())


def client_address() -> str:
    """The address the request came from (the proxy's ``X-Forwarded-For`` when
    ``PORTAL_PROXY_HOPS`` says to believe it; the app applies that)."""
    return str(request.remote_addr or "-")[:64]


class AddressLimits:
    """Requests per address and minute: ``admit`` refuses one too many. Counted in the
    process while it serves alone, in the database while several hub processes serve
    (``shared``, ADR 0025)."""

    MAX_ADDRESSES = 20_000
    """Addresses remembered at once; the oldest windows are forgotten beyond."""

    def __init__(self, per_minute: dict[str, int]):
        self.per_minute = {kind: max(0, int(n)) for kind, n in per_minute.items()}
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}
        self._lock = threading.Lock()

    def admit(self, kind: str, address: str, moment: float, shared: HubStore | None = None) -> None:
        """Count one request of ``kind`` from ``address``; 429 when over the limit."""
        limit = self.per_minute.get(kind, 0)
        if limit <= 0:
            return
        minute = int(moment // 60)
        if shared is not None:
            self._refuse_beyond(
                limit, kind, address, moment, shared.count_address(kind, address, minute)
            )
            return
        key = (kind, address)
        with self._lock:
            start, count = self._windows.get(key, (minute, 0))
            if start != minute:
                start, count = minute, 0
            count += 1
            self._windows[key] = (start, count)
            if len(self._windows) > self.MAX_ADDRESSES:
                self._forget(minute)
        self._refuse_beyond(limit, kind, address, moment, count)

    @staticmethod
    def _refuse_beyond(limit: int, kind: str, address: str, moment: float, count: int) -> None:
        if count > limit:
            minute = int(moment // 60)
            wait = max(1, math.ceil((minute + 1) * 60 - moment))
            error = PortalError(
                f"{kind}: more than {limit} requests a minute from {address}",
                f"มีการเรียกใช้จากเครื่องนี้บ่อยเกินกำหนด กรุณารอ {wait} วินาทีแล้วลองอีกครั้ง",
                code="rate_limited",
                status=429,
            )
            error.headers["Retry-After"] = str(wait)
            raise error

    def _forget(self, minute: int) -> None:
        stale = [k for k, (start, _) in self._windows.items() if start != minute]
        for key in stale:
            del self._windows[key]


def admit_address(kind: str) -> None:
    """Count this request of ``kind`` against its address's limit (429 beyond): in the
    database while several hub processes serve it (ADR 0025), else in this process."""
    limits: AddressLimits = current_app.extensions["portal_limits"]
    processes: HubProcesses = current_app.extensions["portal_processes"]
    store = get_store()
    shared = store if processes.several(store) else None
    limits.admit(kind, client_address(), now(), shared)


def audit(store: HubStore, action: str, detail: str | None = None) -> None:
    """Record what the signed-in person (``g.person``) did, with the request's address."""
    person = g.get("person")
    office = None if person is None else person.office
    username = None if person is None else person.username
    text = None if detail is None else detail[:MAX_AUDIT_DETAIL]
    with store.write():
        PortalSessions(store).audit(now(), office, username, action, text, client_address())


# -- template helpers ---------------------------------------------------------------------


def thai_moment(value: Any) -> Markup:
    """Unix seconds as ``4 ธ.ค. 2569 16.54 น.`` (Bangkok), the full form as its tooltip;
    ``-`` for none."""
    if value is None or value == "":
        return Markup("-")
    try:
        moment = datetime.fromtimestamp(float(value), tz=BANGKOK)
    except (TypeError, ValueError, OverflowError):
        return escape(str(value))
    return Markup(
        '<time datetime="{}" title="{}"><span class="nowrap">{}</span>'
        ' <span class="nowrap">{}</span></time>'
    ).format(
        moment.isoformat(),
        format_thai_datetime(moment),
        format_thai_date(moment, abbreviated=True),
        format_thai_time(moment),
    )


def thai_date(value: Any) -> str:
    """An ISO date (``2026-12-04``) as ``4 ธันวาคม 2569``; ``-`` for none; text that is no
    date as it is."""
    if not value:
        return "-"
    try:
        return format_thai_date(datetime.fromisoformat(str(value)).date())
    except ValueError:
        return str(value)


def configure_pages(app: Flask) -> None:
    """The headers of every answer and the template filters."""
    app.after_request(_headers)
    app.add_template_filter(thai_moment, "thai_moment")
    app.add_template_filter(thai_date, "thai_date")


def _headers(response: Any) -> Any:
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
