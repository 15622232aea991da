"""Helpers for the hub tests: a hub in a temporary instance folder on a movable clock (the
clock and the office ids are tests/support.py's), and fake-but-real offices that enroll
through ``/enroll``, sign their feeds and requests.

No test lives here; the hub test modules import these helpers.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from support import Clock, serve

from hub.admin.instance import init_hub
from hub.admin.tokens import issue_enrollment_token
from hub.app import create_app
from hub.store import HubStore
from protocol.api import API_PREFIX
from protocol.auth import sign_request
from protocol.envelope import Envelope, sign_envelope
from protocol.keys import Signer
from protocol.messages import Deliveries, Receipt, RegisterEntry, Withdraw


@dataclass
class Answer:
    """An HTTP answer, from the test client or real HTTP."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


METRICS_TOKEN = "scrape-token-of-the-tests"
"""The /metrics token of every test hub unless a test sets its own."""
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


class Hub:
    """A hub instance in ``tmp_path`` driven in-process (or over HTTP via :meth:`serve`)."""

    def __init__(self, tmp_path: Path, clock: Clock, **config: Any):
        self.instance = tmp_path / "hub"
        self.clock = clock
        init_hub(self.instance, now=clock())
        self.app: Flask = create_app(
            {"CLOCK": clock, "METRICS_TOKEN": METRICS_TOKEN, **config}, instance_path=self.instance
        )
        self.client = self.app.test_client()
        self.base_url: str | None = None

    def send(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        """One request, in-process unless the hub is served over HTTP."""
        headers = dict(headers or {})
        if self.base_url is not None:
            r = requests.request(
                method, self.base_url + path, data=body, headers=headers, timeout=10
            )
            return Answer(r.status_code, dict(r.headers), r.content)
        r2 = self.client.open(path, method=method, data=body, headers=headers)
        return Answer(r2.status_code, dict(r2.headers), r2.get_data())

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve the app on 127.0.0.1 (random port) for the duration of the block."""
        with serve(self.app) as url:
            self.base_url = url
            try:
                yield url
            finally:
                self.base_url = None

    @contextmanager
    def store(self) -> Iterator[HubStore]:
        s = HubStore.open(self.app.config["DATABASE"], create=False)
        try:
            yield s
        finally:
            s.close()

    def count(self, table: str) -> int:
        with self.store() as s:
            return s.count(table)

    def counts(self, *tables: str) -> dict[str, int]:
        return {t: self.count(t) for t in tables}

    def token(self, office: str, ttl_hours: float | None = None) -> str:
        return issue_enrollment_token(self.app, office, ttl_hours, now=self.clock())

    def office(self, office_id: str, enroll: bool = True) -> Office:
        o = Office(self, office_id)
        if enroll:
            answer = o.enroll(self.token(office_id))
            assert answer.status == 200, answer.body
        return o


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Office:
    """A node stand-in: its signing key, its feed counter, and signed requests."""

    def __init__(self, hub: Hub, office_id: str, key_no: int = 1):
        self.hub = hub
        self.id = office_id
        self.signer = Signer.generate(office_id, key_no)
        self.seq = 0
        self.head: str | None = None
        self.cursor: str | None = None

    # -- enrollment and requests ---------------------------------------------------------

    def enroll_body(self, token: str, **override: Any) -> dict[str, Any]:
        body = {
            "token": token,
            "office": self.id,
            "sign_keyid": self.signer.keyid,
            "sign_public": self.signer.public_b64(),
            "seal_public": base64.b64encode(b"\x01" * 32).decode(),
            "software": "test-node 0",
        }
        body.update(override)
        return body

    def enroll(self, token: str, **override: Any) -> Answer:
        data = json.dumps(self.enroll_body(token, **override)).encode()
        return self.hub.send(
            "POST", f"{API_PREFIX}/enroll", data, {"Content-Type": "application/json"}
        )

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str | None = None,
        now: float | None = None,
        nonce: str | None = None,
        signer: Signer | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """A request signed by this office (``raw`` bytes win over a JSON ``body``)."""
        full = API_PREFIX + path
        if raw is None:
            raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
            if body is not None and content_type is None:
                content_type = "application/json"
        when = self.hub.clock() if now is None else now
        signed = sign_request(signer or self.signer, method, full, raw, when, nonce)
        if content_type:
            signed["Content-Type"] = content_type
        signed.update(headers or {})
        return self.hub.send(method, full, raw, signed)

    # -- feed envelopes --------------------------------------------------------------------

    def _next(self) -> dict[str, Any]:
        fields = {
            "v": 1,
            "origin": self.id,
            "seq": self.seq + 1,
            "prev": self.head,
            "created_at": "2026-11-18T10:00:00+07:00",
        }
        return fields

    def seal(self, kind: str, body: dict[str, Any], advance: bool = True) -> Envelope:
        env = sign_envelope(kind, body, self.signer)
        if advance:
            self.seq = body["seq"]
            self.head = env.env_id
        return env

    def letter(
        self,
        recipients: list[str],
        subject: str = "ขอเชิญประชุมคณะทำงาน",
        attachments: list[dict[str, Any]] | None = None,
        advance: bool = True,
        **fields: Any,
    ) -> Envelope:
        body = {
            **self._next(),
            "letter_type": "ภายนอก",
            "subject": subject,
            "number": None,
            "register": None,
            "letter_date": "18 พฤศจิกายน 2569",
            "speed": "",
            "secrecy": "",
            "sender": "ผู้ว่าราชการจังหวัด",
            "salutation": "เรียน",
            "body": "ด้วยจังหวัดจะจัดประชุม",
            "references": [],
            "enclosures": [],
            "deadline": None,
            "recipients": recipients,
            "lists": [],
            "attachments": attachments or [],
            "supersedes": None,
        }
        body.update(fields)
        return self.seal("letter", body, advance)

    def receipt(self, letter: Envelope, status: str = "delivered", **fields: Any) -> Envelope:
        origin = json.loads(letter.body)["origin"]
        msg = Receipt(
            **self._next(),
            letter=letter.env_id,
            letter_origin=origin,
            status=status,
            at="2026-11-18T10:05:00+07:00",
            **fields,
        )
        return self.seal("receipt", msg.to_dict())

    def deliveries(self, *letters: Envelope, at: str = "2026-11-18T10:05:00+07:00") -> Envelope:
        """One ``deliveries`` envelope answering ``letters`` (all of one sender)."""
        origin = json.loads(letters[0].body)["origin"]
        msg = Deliveries(
            **self._next(), letter_origin=origin, letters=[x.env_id for x in letters], at=at
        )
        return self.seal("deliveries", msg.to_dict())

    def register_entry(
        self, register: str, number: int | None, action: str = "issued", **fields: Any
    ) -> Envelope:
        msg = RegisterEntry(
            **self._next(), register=register, action=action, number=number, **fields
        )
        return self.seal("register", msg.to_dict())

    def withdraw(self, letter: Envelope, reason: str = "ส่งผิด") -> Envelope:
        msg = Withdraw(**self._next(), letter=letter.env_id, reason=reason)
        return self.seal("withdraw", msg.to_dict())

    # -- sync -------------------------------------------------------------------------------

    def push(self, *envelopes: Envelope | dict[str, Any]) -> Answer:
        wire = [e.to_wire() if isinstance(e, Envelope) else e for e in envelopes]
        return self.request("POST", "/push", {"envelopes": wire})

    def push_ok(self, *envelopes: Envelope) -> list[dict[str, Any]]:
        answer = self.push(*envelopes)
        assert answer.status == 200, answer.body
        results: list[dict[str, Any]] = answer.json["results"]
        return results

    def pull(self, cursor: str | None = None, limit: int = 100) -> Answer:
        return self.request("POST", "/pull", {"cursor": cursor, "limit": limit})

    def pull_all(self, limit: int = 100) -> list[Envelope]:
        """Pull until ``more`` is false, following the cursor; return the envelopes."""
        out: list[Envelope] = []
        while True:
            answer = self.pull(self.cursor, limit)
            assert answer.status == 200, answer.body
            data = answer.json
            out.extend(Envelope.from_wire(e) for e in data["envelopes"])
            self.cursor = data["cursor"]
            if not data["more"]:
                return out


def kinds(envelopes: list[Envelope]) -> list[str]:
    return [e.kind for e in envelopes]


def body_of(env: Envelope) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(env.body)
    return data
