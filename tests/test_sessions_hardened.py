"""Sessions that end when they should, at a node's pages and at the hub's console: a cookie
kept after signing out, or after a new password, no longer works; the cookie is Secure when
the face is served over TLS; and a login tells an unknown name from a known one neither by
its answer nor by the work it does (one scrypt check each, counted, never timed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from console_support import PASSWORD as OPS_PASSWORD
from console_support import add_operators, console_login
from flask.testing import FlaskClient
from support import CHIANG_MAI, Clock
from test_hub_support import Hub
from test_node_support import Node, PaperHub, offline_node
from web_support import FORM_KEY_RE, PASSWORD, csrf, login

from hub.console.operators import set_password as set_operator_password
from node.staff.accounts import add_user, set_active, set_password
from protocol.sessions import MAX_FAILURES, is_revoked

NODE_COOKIE = "saraban_session"
HUB_COOKIE = "saraban_hub_session"


def clerks_node(tmp_path: Path, clock: Clock, **config: Any) -> Node:
    """A node with one clerk, ``somsri`` (:data:`web_support.PASSWORD`)."""
    node = offline_node(tmp_path, CHIANG_MAI, PaperHub(), clock, **config)
    with node.store() as store:
        add_user(node.ctx, store, "somsri", "สมศรี ธุรการ", PASSWORD, ["clerk"])
    return node


@pytest.fixture
def node(tmp_path: Path, clock: Clock) -> Node:
    return clerks_node(tmp_path, clock)


def replay(app_client: Callable[[], FlaskClient], cookie: str, value: str, path: str) -> Any:
    """GET ``path`` from a fresh client that holds only a copy of the cookie ``value``."""
    thief = app_client()
    thief.set_cookie(cookie, value)
    return thief.get(path)


def cookie_of(client: FlaskClient, name: str) -> str:
    held = client.get_cookie(name)
    assert held is not None, f"no {name} cookie"
    return held.value


# -- a node's pages -----------------------------------------------------------------------


def test_session_after_logout_is_refused(node: Node) -> None:
    client = login(node)
    copy = cookie_of(client, NODE_COOKIE)
    assert replay(node.app.test_client, NODE_COOKIE, copy, "/").status_code == 200
    out = client.post("/logout", data={"csrf_token": csrf(client, "/")})
    assert out.status_code == 302 and out.headers["Location"] == "/login"
    again = replay(node.app.test_client, NODE_COOKIE, copy, "/")
    assert again.status_code == 302 and again.headers["Location"] == "/login"
    assert login(node).get("/").status_code == 200  # signing in again works


def test_session_after_password_change_is_refused(node: Node) -> None:
    client = login(node)
    copy = cookie_of(client, NODE_COOKIE)
    with node.store() as store:
        set_password(node.ctx, store, "somsri", "รหัสผ่านใหม่-ยาวพอ-2570", actor="admin")
    for answer in (client.get("/"), replay(node.app.test_client, NODE_COOKIE, copy, "/")):
        assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    assert login(node, password="รหัสผ่านใหม่-ยาวพอ-2570").get("/").status_code == 200


def test_session_of_a_deactivated_user_stays_ended_when_they_come_back(node: Node) -> None:
    copy = cookie_of(login(node), NODE_COOKIE)
    with node.store() as store:
        set_active(node.ctx, store, "somsri", False, actor="admin")
        set_active(node.ctx, store, "somsri", True, actor="admin")
    answer = replay(node.app.test_client, NODE_COOKIE, copy, "/")
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"


@pytest.mark.parametrize("secure", [True, False])
def test_secure_cookie_when_tls_configured(tmp_path: Path, clock: Clock, secure: bool) -> None:
    node = clerks_node(tmp_path, clock, SECURE_COOKIES=secure)
    client = node.app.test_client()
    answer = client.post(
        "/login", data={"username": "somsri", "password": PASSWORD, "csrf_token": csrf(client)}
    )
    assert answer.status_code == 302
    set_cookie = answer.headers["Set-Cookie"]
    assert set_cookie.startswith(f"{NODE_COOKIE}=") and "HttpOnly" in set_cookie
    assert ("; Secure" in set_cookie) is secure


def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count every scrypt run from now on (the real one runs; only the count is added)."""
    calls: list[int] = []
    real = hashlib.scrypt

    def counted(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    return calls


def login_answers(
    client: FlaskClient, tries: list[tuple[str, str]], calls: list[int]
) -> Iterator[tuple[int, str, int]]:
    """Each login's status, page and scrypt runs; in the page the name typed is put back as
    NAME and the fresh idempotency key of its form left out."""
    token = csrf(client)
    for username, password in tries:
        before = len(calls)
        answer = client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )
        page = FORM_KEY_RE.sub("", answer.get_data(as_text=True).replace(username, "NAME"))
        yield answer.status_code, page, len(calls) - before


def test_unknown_user_and_wrong_password_answer_alike(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = scrypt_calls(monkeypatch)
    guesses = MAX_FAILURES + 2  # the known account is locked for the last of them
    tries = [("nobody.here", PASSWORD)] * guesses + [("somsri", "ไม่ใช่รหัสผ่าน-1234")] * guesses
    tries.append(("somsri", PASSWORD))  # locked: the right password gets the same answer
    answers = list(login_answers(node.app.test_client(), tries, calls))
    assert {(status, page) for status, page, _ in answers} == {answers[0][:2]}
    assert answers[0][0] == 401 and "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in answers[0][1]
    assert [runs for _, _, runs in answers] == [1] * len(tries)  # the same work every time


# -- the hub's console --------------------------------------------------------------------


def test_console_session_after_logout_is_refused(hub: Hub) -> None:
    client = console_login(hub)
    copy = cookie_of(client, HUB_COOKIE)
    assert replay(hub.app.test_client, HUB_COOKIE, copy, "/").status_code == 200
    out = client.post("/logout", data={"csrf_token": csrf(client, "/")})
    assert out.status_code == 302
    again = replay(hub.app.test_client, HUB_COOKIE, copy, "/")
    assert again.status_code == 302 and again.headers["Location"].startswith("/login")
    assert console_login(hub).get("/").status_code == 200


def test_console_session_after_password_change_is_refused(hub: Hub) -> None:
    copy = cookie_of(console_login(hub), HUB_COOKIE)
    with hub.store() as store:
        set_operator_password(store, "ops", "รหัสใหม่ของศูนย์-2570", hub.clock())
    again = replay(hub.app.test_client, HUB_COOKIE, copy, "/")
    assert again.status_code == 302 and again.headers["Location"].startswith("/login")


@pytest.mark.parametrize("secure", [True, False])
def test_console_secure_cookie_when_tls_configured(
    tmp_path: Path, clock: Clock, secure: bool
) -> None:
    hub = Hub(tmp_path, clock, SECURE_COOKIES=secure)
    add_operators(hub)
    client = hub.app.test_client()
    answer = client.post(
        "/login", data={"username": "ops", "password": OPS_PASSWORD, "csrf_token": csrf(client)}
    )
    assert answer.status_code == 302
    assert ("; Secure" in answer.headers["Set-Cookie"]) is secure


def test_console_unknown_user_and_wrong_password_answer_alike(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = scrypt_calls(monkeypatch)
    guesses = MAX_FAILURES + 2
    tries = [("nobody.here", OPS_PASSWORD)] * guesses + [("ops", "ไม่ใช่รหัสผ่าน-1234")] * guesses
    tries.append(("ops", OPS_PASSWORD))
    answers = list(login_answers(hub.app.test_client(), tries, calls))
    assert {(status, page) for status, page, _ in answers} == {answers[0][:2]}
    assert answers[0][0] == 401
    assert [runs for _, _, runs in answers] == [1] * len(tries)


# -- the decision both share ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "account", "revoked"),
    [(3, 3, False), (2, 3, True), (None, 0, True), ("0", 0, True), (False, 0, True)],
)
def test_a_session_is_revoked_unless_it_holds_the_accounts_generation(
    held: object, account: int, revoked: bool
) -> None:
    assert is_revoked(held, account) is revoked
