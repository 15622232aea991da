"""What the tests of the hub's console share: operator accounts, signing in through the
real login form, CSRF tokens read from the page, and posting forms as an operator.

No test lives here.
"""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from test_hub_support import Hub

from hub.console.operators import add_operator

PASSWORD = "รหัสผ่านศูนย์กลาง-2569"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
OPERATORS = {
    "ops": ("สมชาย ดูแลระบบ", "operator"),
    "watcher": ("สมหญิง เฝ้าระวัง", "viewer"),
}
"""One account of each role, all with :data:`PASSWORD`: user name -> (name, role)."""


def add_operators(hub: Hub) -> None:
    """Create :data:`OPERATORS` at ``hub``."""
    with hub.store() as s:
        for username, (name, role) in OPERATORS.items():
            add_operator(s, username, name, PASSWORD, role, hub.clock())


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
