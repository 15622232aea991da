"""Operator accounts of the hub's console: who may sign in at the ministry, and as what.

Separate from every node's users. Two roles: ``operator`` (watches and acts: enrollment,
revocation, key rotation, quarantine, distribution lists) and ``viewer`` (watches only).
Passwords are kept as scrypt hashes (:mod:`protocol.passwords`). A login is judged as at a
node (:func:`protocol.sessions.judge_login`): ``MAX_FAILURES`` wrong passwords in a row lock
the account for ``LOCK_SECONDS``, whatever comes next. The first operator is made on the
hub machine with ``saraban hub adduser``. A new password (``saraban hub passwd``) and
signing out (:func:`end_sessions`) end every console session of the account.

Does not: keep sessions or check CSRF tokens (:mod:`hub.console.session`).
"""

from __future__ import annotations

from typing import Any

from hub.errors import ConsoleError
from hub.store import HubStore
from protocol.passwords import hash_password
from protocol.sessions import (
    LOGIN_REFUSED_TH,
    MAX_PASSWORD,
    MIN_PASSWORD,
    USERNAME_RE,
    LoginOutcome,
    judge_login,
)
from protocol.thai import normalize_thai

ROLES = {"operator": "เจ้าหน้าที่ดูแลระบบศูนย์กลาง", "viewer": "ผู้ติดตามสถานะ (ดูอย่างเดียว)"}


class LoginRefused(ConsoleError):
    """Wrong name or password, or a locked or inactive account: the same answer for all."""

    def __init__(self, reason: str, message_th: str = LOGIN_REFUSED_TH):
        super().__init__(reason, message_th, code="login_refused", status=401)


def check_username(username: str) -> str:
    """The user name in its stored form, or a :class:`ConsoleError`."""
    name = (username or "").strip().lower()
    if not USERNAME_RE.fullmatch(name):
        raise ConsoleError(
            f"{username!r} is not a user name (3-32 of a-z 0-9 . _ -)",
            "ชื่อผู้ใช้ต้องเป็นอักษรอังกฤษตัวเล็ก ตัวเลข . _ - ยาว 3-32 ตัว",
            code="bad_username",
        )
    return name


def check_password(password: str) -> None:
    """Refuse a password too short or too long."""
    if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
        raise ConsoleError(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters",
            f"รหัสผ่านต้องมีความยาว {MIN_PASSWORD} ถึง {MAX_PASSWORD} ตัวอักษร",
            code="weak_password",
        )


def add_operator(
    store: HubStore, username: str, display_name: str, password: str, role: str, now: float
) -> dict[str, Any]:
    """Create an operator account; return it without the hash."""
    name = check_username(username)
    display = normalize_thai(display_name or "").strip()
    if not display or len(display) > 200:
        raise ConsoleError("an operator needs a display name", "กรุณาระบุชื่อ-สกุล")
    if role not in ROLES:
        raise ConsoleError(
            f"role must be one of {', '.join(ROLES)}",
            "บทบาทไม่ถูกต้อง: " + ", ".join(ROLES),
            code="bad_role",
        )
    check_password(password)
    with store.write():
        if store.operator(name) is not None:
            raise ConsoleError(
                f"operator {name} already exists", "มีชื่อผู้ใช้นี้แล้ว", code="operator_exists"
            )
        store.add_operator(name, display, role, hash_password(password), now)
        store.log_action("cli", "add_operator", name, None, role, now)
    return {"username": name, "display_name": display, "role": role}


def set_password(store: HubStore, username: str, password: str, now: float) -> None:
    """Replace an operator's password, reactivate the account and lift a lock; every
    session the operator had ends."""
    name = check_username(username)
    check_password(password)
    with store.write():
        if store.operator(name) is None:
            raise ConsoleError(
                f"no operator {name}", "ไม่พบผู้ใช้", code="unknown_operator", status=404
            )
        store.set_operator_password(name, hash_password(password))
        store.log_action("cli", "set_password", name, None, None, now)


def authenticate(store: HubStore, username: str, password: str, now: float) -> dict[str, Any]:
    """Check a login; return the operator row without its hash.

    The failure count is committed although the login is refused, so the refusal is raised
    after the transaction, never inside it.
    """
    name = (username or "").strip().lower()
    with store.write():
        row = store.operator(name)
        verdict = judge_login(password, row, now)
        after = verdict.lockout
        if verdict.outcome is LoginOutcome.WRONG_PASSWORD:
            store.set_login_state(name, after.failures, after.locked_until, None)
            store.log_action(name, "login_failed", name, None, None, now)
        elif verdict.accepted:
            store.set_login_state(name, after.failures, after.locked_until, now)
    if not verdict.accepted:
        raise LoginRefused(verdict.reason(name), verdict.message_th)
    assert row is not None  # only a found, active operator is accepted
    return {k: v for k, v in row.items() if k != "password_hash"}


def end_sessions(store: HubStore, username: str) -> None:
    """End every console session of ``username`` (signing out): their cookies, kept or
    copied anywhere, stop working."""
    with store.write():
        store.end_operator_sessions(username)


def active_operator(store: HubStore, username: str) -> dict[str, Any] | None:
    """An active operator's row without the hash, or None."""
    row = store.operator(username)
    if row is None or not row["active"]:
        return None
    return {k: v for k, v in row.items() if k != "password_hash"}
