"""What the tests of the hub's console share: operator accounts, signing in through the
real login form, CSRF tokens read from the page, and posting forms as an operator.

No test lives here.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from flask.testing import FlaskClient
from test_hub_support import Hub

from protocol.passwords import hash_password

PASSWORD = "รหัสผ่านศูนย์กลาง-2569"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
OPERATORS = {
    "ops": ("สมชาย ดูแลระบบ", "operator"),
    "watcher": ("สมหญิง เฝ้าระวัง", "viewer"),
}
"""One account of each role, all with :data:`PASSWORD`: user name -> (name, role)."""


@functools.cache
def password_hash() -> str:
    """:data:`PASSWORD` hashed once per test process (scrypt takes 50 ms a time)."""
    return hash_password(PASSWORD)


def add_operators(hub: Hub) -> None:
    """Create :data:`OPERATORS` at ``hub`` as ``saraban hub operator add`` leaves them (the
    account and its logged action), with :data:`PASSWORD`'s hash made once per process:
    every test of the ``hub`` fixture starts with them. The command itself, its checks and
    its hash, is tested in tests/test_console.py."""
    now = hub.clock()
    with hub.store() as s, s.write():
        for username, (name, role) in OPERATORS.items():
            s.add_operator(username, name, role, password_hash(), now)
            s.log_action("cli", "add_operator", username, None, role, now)


def csrf(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the form on ``path``."""
    match = CSRF_RE.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def console_login(hub: Hub, username: str = "ops", password: str = PASSWORD) -> FlaskClient:
    """A test client signed in to the console through the login form."""
    client = hub.app.test_client()
    answer = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf(client)}
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def post_form(client: FlaskClient, path: str, data: dict[str, Any], page: str = "/") -> Any:
    """POST ``data`` to ``path`` with the session's CSRF token (read from ``page``)."""
    return client.post(path, data={**data, "csrf_token": csrf(client, page)})


def text_of(answer: Any) -> str:
    """The page of an answer as text."""
    return str(answer.get_data(as_text=True))
