"""What the portal's tests share: people enrolled with a TOTP secret at their office, the
portal app on a federation's hub database, and signing in through the real forms.

The portal is the hub's second app (``hub.portal.app.create_portal_app``) on the same
instance folder as the federation's hub, on the same movable clock, driven with Flask's
test client (or served on 127.0.0.1). No test lives here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from support import Clock
from test_node_support import Federation, Node
from web_support import PASSWORD

from hub.portal.app import create_portal_app
from node.staff.accounts import add_user
from node.staff.second_factor import confirm_enrolment, start_enrolment
from protocol.totp import STEP_SECONDS, code_at

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
ENV_RE = re.compile(r"/letters/([0-9a-f]{64})")
PORTAL_URL = "https://portal.test"
"""The base URL of in-process requests: the portal sits behind TLS."""


@dataclass
class Person:
    """Someone with an account at an office, and the TOTP secret they enrolled (None:
    not enrolled)."""

    office: str
    username: str
    secret: str | None
    password: str = PASSWORD
    last_code_at: float | None = field(default=None)


def enrol(
    node: Node, username: str, roles: list[str], totp: bool = True, name: str | None = None
) -> Person:
    """Add ``username`` with ``roles`` at ``node`` and, with ``totp``, enrol a secret as the
    office's TOTP page does (a pending secret confirmed by its code)."""
    secret = None
    with node.store() as s:
        add_user(node.ctx, s, username, name or f"ผู้ใช้ {username}", PASSWORD, roles)
        if totp:
            secret = start_enrolment(node.ctx, s, username)
            confirm_enrolment(node.ctx, s, username, code_at(secret, node.clock()))
    return Person(node.office, username, secret)


@dataclass
class Portal:
    """The portal on a federation's hub database."""

    app: Flask
    clock: Clock

    @classmethod
    def on(cls, fed: Federation, **config: Any) -> Portal:
        app = create_portal_app({"CLOCK": fed.clock, **config}, instance_path=fed.hub_dir)
        return cls(app, fed.clock)

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def get(self, client: FlaskClient, path: str) -> Any:
        return client.get(path, base_url=PORTAL_URL)

    def post(self, client: FlaskClient, path: str, data: dict[str, str], page: str) -> Any:
        """POST ``data`` with the CSRF token of the form on ``page``, as a browser does."""
        html = self.get(client, page).get_data(as_text=True)
        match = CSRF_RE.search(html)
        assert match, f"no form on {page}: {html[:300]}"
        return client.post(path, data={**data, "csrf_token": match.group(1)}, base_url=PORTAL_URL)

    def password_step(self, client: FlaskClient, person: Person, password: str | None = None,
                      office: str | None = None) -> Any:  # fmt: skip
        return self.post(
            client,
            "/login",
            {
                "office": office or person.office,
                "username": person.username,
                "password": password or person.password,
            },
            "/login",
        )

    def code_of(self, person: Person) -> str:
        """The person's code now; a step after the last code they used (the clock moves
        on one step when it has to, as a person waits for the next code)."""
        assert person.secret is not None
        if person.last_code_at is not None and self.clock() - person.last_code_at < STEP_SECONDS:
            self.clock.advance(STEP_SECONDS)
        person.last_code_at = self.clock()
        return code_at(person.secret, self.clock())

    def code_step(self, client: FlaskClient, code: str) -> Any:
        return self.post(client, "/login/code", {"code": code}, "/login/code")

    def sign_in(self, person: Person) -> FlaskClient:
        """A client signed in as ``person`` through both forms."""
        client = self.client()
        answer = self.password_step(client, person)
        assert answer.status_code == 302, answer.get_data(as_text=True)
        assert answer.headers["Location"].endswith("/login/code")
        answer = self.code_step(client, self.code_of(person))
        assert answer.status_code == 302, answer.get_data(as_text=True)
        return client

    def page(self, client: FlaskClient, path: str, status: int = 200) -> str:
        answer = self.get(client, path)
        text = str(answer.get_data(as_text=True))
        assert answer.status_code == status, (answer.status_code, text[:500])
        assert "Traceback" not in text
        return text


def visible_text(html: str) -> str:
    """A page's text without tags, spaces folded, as a person reads it."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
