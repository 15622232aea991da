"""Accounts of the clerk's pages: hashed passwords, lockout after repeated failures, the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import CHIANG_MAI, Clock
from test_node_support import Node, PaperHub, offline_node

from node.errors import BadInput, Conflict
from node.staff.accounts import LoginRefused, add_user, authenticate, set_password
from node.storage.store import Store
from protocol.sessions import LOCK_SECONDS, LOGIN_REFUSED_TH, MAX_FAILURES

PASSWORD = "ม้าลาย-กินหญ้า-2569"


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return offline_node(tmp_path, CHIANG_MAI, PaperHub(), Clock())


def test_password_is_stored_only_as_a_salted_hash(node: Node) -> None:
    with node.store() as store:
        add_user(node.ctx, store, "somchai", "สมชาย ใจดี", PASSWORD, ["clerk"])
        add_user(node.ctx, store, "somsri", "สมศรี มีสุข", PASSWORD, ["clerk"])
        hashes = [r["password_hash"] for r in store.query("SELECT password_hash FROM users")]
    assert all(h.startswith("scrypt$") and PASSWORD not in h for h in hashes)
    assert hashes[0] != hashes[1]


def test_login_gives_the_users_roles_and_divisions(node: Node) -> None:
    with node.store() as store:
        add_user(node.ctx, store, "Chief", "ผู้อำนวยการ", PASSWORD, ["executive"], ["ชม 0017.3"])
        viewer = authenticate(node.ctx, store, "chief", PASSWORD)
    assert (viewer.user, viewer.roles, viewer.divisions) == (
        "chief",
        frozenset({"executive"}),
        frozenset({"ชม 0017.3"}),
    )


def test_wrong_password_and_unknown_user_get_the_same_answer(node: Node) -> None:
    with node.store() as store:
        add_user(node.ctx, store, "somchai", "สมชาย ใจดี", PASSWORD, ["clerk"])
        answers = []
        for name, password in (("somchai", "wrong-password"), ("nobody", PASSWORD)):
            with pytest.raises(LoginRefused) as e:
                authenticate(node.ctx, store, name, password)
            answers.append((e.value.status, e.value.message_th))
    assert answers[0] == answers[1] == (401, LOGIN_REFUSED_TH)


def guess_until_locked(node: Node, store: Store) -> None:
    """Add ``somchai`` and sign in with a wrong password until his account locks."""
    add_user(node.ctx, store, "somchai", "สมชาย ใจดี", PASSWORD, ["clerk"])
    for _ in range(MAX_FAILURES):
        with pytest.raises(LoginRefused):
            authenticate(node.ctx, store, "somchai", "guess-guess-guess")


def test_guessing_locks_the_account_until_the_lock_expires(node: Node) -> None:
    with node.store() as store:
        guess_until_locked(node, store)
        with pytest.raises(LoginRefused) as locked:
            authenticate(node.ctx, store, "somchai", PASSWORD)
        assert "ระงับชั่วคราว" in locked.value.message_th
        node.clock.advance(LOCK_SECONDS + 1)
        assert authenticate(node.ctx, store, "somchai", PASSWORD).user == "somchai"


def test_new_password_lifts_the_lock(node: Node) -> None:
    with node.store() as store:
        guess_until_locked(node, store)
        set_password(node.ctx, store, "somchai", "another-long-one")
        assert authenticate(node.ctx, store, "somchai", "another-long-one").user == "somchai"


BAD_USERS = {
    "short_password": ("somchai", "สมชาย", "short", ["clerk"], BadInput),
    "bad_name": ("Som Chai!", "สมชาย", PASSWORD, ["clerk"], BadInput),
    "no_display_name": ("somchai", " ", PASSWORD, ["clerk"], BadInput),
    "unknown_role": ("somchai", "สมชาย", PASSWORD, ["superuser"], BadInput),
    "no_role": ("somchai", "สมชาย", PASSWORD, [], BadInput),
    "taken_name": ("taken", "สมชาย", PASSWORD, ["clerk"], Conflict),
}


@pytest.mark.parametrize("case", sorted(BAD_USERS))
def test_bad_user_is_refused_and_nothing_is_stored(node: Node, case: str) -> None:
    name, display, password, roles, error = BAD_USERS[case]
    with node.store() as store:
        add_user(node.ctx, store, "taken", "มีแล้ว", PASSWORD, ["clerk"])
        with pytest.raises(error) as e:
            add_user(node.ctx, store, name, display, password, roles)
        assert e.value.message_th
        assert store.scalar("SELECT COUNT(*) FROM users") == 1


def _adduser(instance: Path, *args: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "scripts.cli.main", "node", "adduser", *args),
            *("--password-stdin", "--instance", str(instance)),
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_first_admin_is_added_from_the_command_line(node: Node) -> None:
    ok = _adduser(
        node.instance, "admin", "--name", "ผู้ดูแลระบบ", "--role", "admin", password=PASSWORD
    )
    assert ok.returncode == 0 and "เพิ่มผู้ใช้ admin (admin) แล้ว" in ok.stdout
    again = _adduser(node.instance, "admin", "--name", "ผู้ดูแล", "--role", "admin", password=PASSWORD)
    assert again.returncode == 1
    assert again.stderr.splitlines() == ["saraban: มีผู้ใช้ admin อยู่แล้ว (user admin exists; conflict)"]
    with node.store() as store:
        assert authenticate(node.ctx, store, "admin", PASSWORD).roles == frozenset({"admin"})
