"""Talk to an office node's local JSON API, over HTTP or in-process.

The CLI runs the node's own Flask app in-process on the node's instance folder (so
`saraban letter ...` works whether or not the node is serving); the demo talks to node
processes over real HTTP. Both go through the same API routes and the same error shape.

Every state-changing call carries an ``Idempotency-Key``: one run of a client (one
`saraban` command) draws a fresh prefix and numbers its calls, and a call retried after a
lost answer or a busy database (:data:`RETRIES`) sends its key again, so the node acts on
it once and answers the retry with the first answer.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

IDEMPOTENCY_HEADER = "Idempotency-Key"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRIES = (0.5, 2.0)
"""Seconds to wait before each retry of a call the node could not answer (503, or no
answer at all over HTTP)."""
BUSY = 503


class NodeAPIError(Exception):
    """The node refused a request: its Thai message first, then the English reason and code."""

    def __init__(self, status: int, code: str, reason: str, message_th: str = "") -> None:
        where = f"{reason}; {code}, HTTP {status}" if message_th else f"{code}, HTTP {status}"
        super().__init__(f"{message_th or reason} ({where})")
        self.status = status
        self.code = code
        self.reason = reason
        self.message_th = message_th


def read_token(instance: Path) -> str:
    """The node's local API token, written at init with mode 0600."""
    path = instance / "api_token"
    if not path.exists():
        raise NodeAPIError(0, "not_initialised", f"{instance} is not an initialised node")
    return path.read_text(encoding="utf-8").strip()


def _raise_for(status: int, data: Any) -> None:
    if status >= 400:
        if isinstance(data, dict):
            raise NodeAPIError(
                status,
                str(data.get("error")),
                str(data.get("reason")),
                str(data.get("message_th") or ""),
            )
        raise NodeAPIError(status, "http_error", f"HTTP {status}")


class IdempotencyKeys:
    """The keys of one client run: a fresh prefix, then one number per call."""

    def __init__(self) -> None:
        self.prefix = uuid.uuid4().hex
        self.calls = 0

    def headers(self, method: str) -> dict[str, str]:
        """The header of the next call, if it changes state."""
        if method.upper() not in STATE_CHANGING:
            return {}
        self.calls += 1
        return {IDEMPOTENCY_HEADER: f"{self.prefix}-{self.calls}"}


def with_retries(send: Callable[[], Any], busy: Callable[[Any], bool]) -> Any:
    """``send()`` again, after :data:`RETRIES`, while it raises :class:`NodeAPIError` with
    status 0 (no answer) or its answer is ``busy``."""
    for wait in (*RETRIES, None):
        try:
            answer = send()
        except NodeAPIError as e:
            if e.status != 0 or wait is None:
                raise
        else:
            if wait is None or not busy(answer):
                return answer
        time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


class NodeHTTP:
    """A node served by `saraban node serve`, reached at ``url``."""

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout
        self.keys = IdempotencyKeys()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One API call (retried with its key); raise :class:`NodeAPIError` on a 4xx/5xx."""
        headers = self.keys.headers(method)

        def send() -> requests.Response:
            try:
                return self.session.request(
                    method, self.url + path, json=body, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as e:
                raise NodeAPIError(0, "unreachable", f"node at {self.url} is not answering") from e

        resp = with_retries(send, lambda r: r.status_code == BUSY)
        try:
            data = resp.json()
        except ValueError:
            data = None
        _raise_for(resp.status_code, data)
        return data

    def download(self, path: str) -> bytes:
        """GET a file (PDF, xlsx); raise :class:`NodeAPIError` on a 4xx/5xx answer."""
        try:
            resp = self.session.get(self.url + path, timeout=self.timeout)
        except requests.RequestException as e:
            raise NodeAPIError(0, "unreachable", f"node at {self.url} is not answering") from e
        if resp.status_code >= 400:
            try:
                data = resp.json()
            except ValueError:
                data = None
            _raise_for(resp.status_code, data)
        return resp.content


class NodeInProcess:
    """The node app run in this process on its instance folder."""

    def __init__(self, instance: Path) -> None:
        from node.app import create_app

        token = read_token(instance)
        # The command says every refusal itself in one line; the app's own log line of it
        # (node.responses.log_refusal) would say it twice. Not by the app logger's level:
        # that logger ("node.app") is every node app's in this process.
        self.app = create_app(
            instance_path=str(instance.resolve()),
            test_config={"SCHEDULER": False, "LOG_REFUSALS": False},
        )
        self.client = self.app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}
        self.keys = IdempotencyKeys()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One API call (retried with its key while the database is busy); raise
        :class:`NodeAPIError` on a 4xx/5xx answer."""
        headers = {**self.headers, **self.keys.headers(method)}
        resp = with_retries(
            lambda: self.client.open(
                path,
                method=method,
                data=None if body is None else json.dumps(body),
                content_type="application/json" if body is not None else None,
                headers=headers,
            ),
            lambda r: r.status_code == BUSY,
        )
        data = resp.get_json(silent=True)
        _raise_for(resp.status_code, data)
        return data

    def download(self, path: str) -> bytes:
        """GET a file (PDF, xlsx); raise :class:`NodeAPIError` on a 4xx/5xx answer."""
        resp = self.client.get(path, headers=self.headers)
        if resp.status_code >= 400:
            _raise_for(resp.status_code, resp.get_json(silent=True))
        return resp.get_data()
