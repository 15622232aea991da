"""The node's client for the hub's HTTP API (:mod:`protocol.api`): the only module that
imports ``requests``.

Every request except ``enroll`` and ``health`` is signed over the method, the exact path
and query the hub sees (``/api/v1/...``) and the body bytes. A connection failure becomes
:class:`~protocol.errors.Unreachable`; an HTTP error status becomes :class:`HubHTTPError`
(a :class:`~protocol.errors.HTTPStatusError`) with the hub's ``reason`` and
``Retry-After``. No ``requests`` exception leaves this module.

This module does not verify envelopes or decide anything; :mod:`node.sync.worker` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, BinaryIO
from urllib.parse import urlencode, urlsplit

import requests

from node.context import NodeContext
from node.errors import NotInitialised
from protocol.api import API_PREFIX, BLOB_RECEIVED_HEADER, BLOB_SIZE_HEADER, WATCH_HEADER
from protocol.auth import sign_request
from protocol.canonical import parse_json
from protocol.errors import HTTPStatusError, Unreachable
from protocol.keys import Signer


class HubHTTPError(HTTPStatusError):
    """The hub answered with an error status; ``error`` is its error code."""

    def __init__(
        self,
        status: int,
        reason: str,
        retry_after: float | None = None,
        error: str = "",
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(status, reason, retry_after)
        self.error = error
        self.body = body or {}


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class HubClient:
    """Signed calls to one hub. ``clock`` gives Unix seconds for request timestamps."""

    def __init__(
        self,
        base_url: str,
        signer: Signer | None,
        clock: Callable[[], float],
        timeout: float = 20.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.base_path = urlsplit(self.base_url).path.rstrip("/")
        self.signer = signer
        self.clock = clock
        self.timeout = timeout
        self.session = session or requests.Session()

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    # -- plumbing -------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        signed: bool = True,
        ok: tuple[int, ...] = (200,),
        stream: bool = False,
    ) -> requests.Response:
        """Send one request; return the response when its status is in ``ok``."""
        full_path = self.base_path + API_PREFIX + path
        if query:
            full_path += "?" + urlencode(query)
        body = data if data is not None else b""
        hdrs = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
            content_type = content_type or "application/json"
        if content_type:
            hdrs["Content-Type"] = content_type
        if signed:
            if self.signer is None:
                raise ValueError("this request must be signed but the client has no signer")
            hdrs.update(sign_request(self.signer, method, full_path, body, self.clock()))
        url = self.base_url[: len(self.base_url) - len(self.base_path)] + full_path
        try:
            resp = self.session.request(
                method,
                url,
                data=body if body or method in ("POST", "PUT") else None,
                headers=hdrs,
                timeout=self.timeout,
                stream=stream,
            )
        except requests.RequestException as e:
            raise Unreachable(f"hub at {self.base_url} unreachable: {type(e).__name__}") from e
        if resp.status_code not in ok:
            self._raise_for(resp)
        return resp

    @staticmethod
    def _raise_for(resp: requests.Response) -> None:
        try:
            payload = resp.json() if resp.content else {}
        except (ValueError, requests.RequestException):
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        reason = str(payload.get("reason") or resp.reason or f"HTTP {resp.status_code}")
        raise HubHTTPError(
            resp.status_code,
            reason,
            _retry_after(resp.headers.get("Retry-After")),
            str(payload.get("error") or ""),
            payload,
        )

    def _json(self, resp: requests.Response) -> dict[str, Any]:
        try:
            value = parse_json(resp.content)  # json.loads's value, at orjson's speed
        except (ValueError, RecursionError, requests.RequestException) as e:
            raise HubHTTPError(resp.status_code, "hub answered with invalid JSON") from e
        if not isinstance(value, dict):
            raise HubHTTPError(resp.status_code, "hub answered with a non-object")
        return value

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self._json(self._request(method, path, **kwargs))

    # -- endpoints ----------------------------------------------------------------

    def enroll(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``POST /enroll`` (unsigned; the one-time token authenticates)."""
        return self._call("POST", "/enroll", json_body=payload, signed=False)

    def rekey(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``POST /rekey`` (signed by the key it retires) → ``{"office", "keyid", "retired",
        "hub_keys", "directory"}``."""
        return self._call("POST", "/rekey", json_body=payload)

    def health(self) -> dict[str, Any]:
        """``GET /health``."""
        return self._call("GET", "/health", signed=False)

    def directory(self) -> dict[str, Any]:
        """``GET /directory`` → ``{"directory": <envelope>}``."""
        return self._call("GET", "/directory")

    def push(self, envelopes: list[dict[str, Any]]) -> dict[str, Any]:
        """``POST /push`` → ``{"results": [...], "ack": <envelope>}``."""
        return self._call("POST", "/push", json_body={"envelopes": envelopes})

    def pull(self, cursor: str | None, limit: int) -> dict[str, Any]:
        """``POST /pull`` → ``{"envelopes", "cursor", "more", "checkpoint"}``."""
        return self._call("POST", "/pull", json_body={"cursor": cursor, "limit": limit})

    def watch(self, token: str, etag: str | None) -> str | None:
        """``GET /watch``: the new ETag when something waits at the hub, None on 304."""
        headers = {WATCH_HEADER: token}
        if etag:
            headers["If-None-Match"] = etag
        resp = self._request("GET", "/watch", headers=headers, signed=False, ok=(200, 304))
        if resp.status_code == 304:
            return None
        return str(resp.headers.get("ETag") or "*")

    def blob_status(self, sha256: str) -> tuple[bool, int]:
        """``HEAD /blobs/<sha256>`` → ``(complete, bytes held)``."""
        resp = self._request("HEAD", f"/blobs/{sha256}", ok=(200, 404))
        if resp.status_code == 200:
            return True, int(resp.headers.get(BLOB_SIZE_HEADER) or 0)
        return False, int(resp.headers.get(BLOB_RECEIVED_HEADER) or 0)

    def put_blob_chunk(self, sha256: str, offset: int, size: int, chunk: bytes) -> dict[str, Any]:
        """``PUT /blobs/<sha256>?offset=&size=`` → ``{"received", "complete"}``."""
        return self._call(
            "PUT",
            f"/blobs/{sha256}",
            query={"offset": offset, "size": size},
            data=chunk,
            content_type="application/octet-stream",
        )

    def download_blob(self, sha256: str, start: int, sink: BinaryIO) -> int:
        """``GET /blobs/<sha256>`` from byte ``start``, written to ``sink``; bytes written."""
        headers = {"Range": f"bytes={start}-"} if start else {}
        resp = self._request("GET", f"/blobs/{sha256}", headers=headers, ok=(200, 206), stream=True)
        written = 0
        try:
            if start and resp.status_code == 200:
                # The hub ignored the range: skip what we already hold.
                skip = start
                for chunk in resp.iter_content(65536):
                    if skip >= len(chunk):
                        skip -= len(chunk)
                        continue
                    sink.write(chunk[skip:])
                    written += len(chunk) - skip
                    skip = 0
            else:
                for chunk in resp.iter_content(65536):
                    sink.write(chunk)
                    written += len(chunk)
        except requests.RequestException as e:
            raise Unreachable(f"download of {sha256[:12]} was cut") from e
        finally:
            resp.close()
        return written

    def heartbeat(self, report: dict[str, Any]) -> dict[str, Any]:
        """``POST /heartbeat`` → ``{"hub_time"}``."""
        return self._call("POST", "/heartbeat", json_body=report)

    def audit_head(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``POST /audit`` ``{"head", "links"}`` → ``{"ok", "verified", "need_from", ...}``."""
        return self._call("POST", "/audit", json_body=payload)

    def publish_accounts(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """``POST /accounts`` ``{"accounts": <envelope>}`` → ``{"office", "version",
        "accounts"}``: the office's signed account list (ADR 0024)."""
        return self._call("POST", "/accounts", json_body={"accounts": envelope})

    def highwater(self) -> dict[str, Any]:
        """``GET /highwater`` → ``{"feed": {"seq", "head"}, "registers": {...}}``."""
        return self._call("GET", "/highwater")

    def feed(self, after: int, limit: int) -> dict[str, Any]:
        """``GET /feed?after=&limit=`` → ``{"envelopes", "more"}`` (own feed)."""
        return self._call("GET", "/feed", query={"after": after, "limit": limit})

    def lease(self, register: str, count: int) -> dict[str, Any]:
        """``POST /lease`` → ``{"lease": <envelope>}``."""
        return self._call("POST", "/lease", json_body={"register": register, "count": count})

    def register_digests(self) -> dict[str, Any]:
        """``GET /registers/digests`` → ``{"registers": {id: {"count", "digest"}}}``."""
        return self._call("GET", "/registers/digests")


def hub_client(ctx: NodeContext) -> HubClient:
    """A client for the hub named by the node's ``HUB_URL``, signing as its office."""
    url = str(ctx.settings.get("HUB_URL") or "")
    if not url:
        raise NotInitialised("HUB_URL is not configured; run init first")
    return HubClient(url, ctx.signer, ctx.now, timeout=float(ctx.settings["HTTP_TIMEOUT_SECONDS"]))
