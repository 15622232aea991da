"""Local user accounts of a node: who may log in to the clerk's pages, with which roles.

Passwords are stored only as scrypt hashes with a random salt (``scrypt$n$r$p$salt$hash``)
and compared in constant time. A login is judged as at the hub's console
(:func:`protocol.sessions.judge_login`): a user who fails ``MAX_FAILURES`` times in a row is
locked for ``LOCK_SECONDS``, whatever password comes next, so guessing is slow even from
many machines. The first administrator is created at the command line
(`saraban node adduser`); later users by an administrator.

Every change the ministry's portal must know (a user added, a new password, roles,
deactivation or activation) moves the office's accounts version on in its own transaction
(:func:`node.staff.published.note_change`), so the next sync publishes the accounts to the
hub (ADR 0024).

Each user has a session generation (``session_gen``) that their sessions must carry
(:func:`protocol.sessions.is_revoked`): signing out (:func:`end_sessions`), a new password
and deactivation move it on, so every session the user had ends, whoever holds its cookie.

Does not: keep sessions or check CSRF tokens (the web layer does), or decide what a role
may see (:mod:`node.records.access`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from node.context import NodeContext
from node.errors import BadInput, Conflict, NodeError, NotFound
from node.records.access import ROLES, Viewer
from node.staff.published import note_change
from node.storage import audit
from node.storage.store import Store
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


class LoginRefused(NodeError):
    """Wrong user name or password, or the account is locked or inactive."""

    status = 401
    code = "login_refused"
    message_th = LOGIN_REFUSED_TH


def _check_password(password: str) -> None:
    if not (MIN_PASSWORD <= len(password) <= MAX_PASSWORD):
        raise BadInput(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters",
            code="weak_password",
            message_th=f"รหัสผ่านต้องมีความยาว {MIN_PASSWORD} ถึง {MAX_PASSWORD} ตัวอักษร",
        )


def _check_roles(roles: Sequence[str]) -> list[str]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise BadInput(
            f"roles must be some of {', '.join(ROLES)}",
            code="bad_roles",
            message_th="บทบาทไม่ถูกต้อง: " + ", ".join(f"{k} ({v})" for k, v in ROLES.items()),
        )
    return sorted(set(roles))


def add_user(
    ctx: NodeContext,
    store: Store,
    username: str,
    display_name: str,
    password: str,
    roles: Sequence[str],
    divisions: Sequence[str] = (),
    actor: str = "admin",
) -> dict[str, Any]:
    """Create a user; :class:`BadInput` for a bad name, weak password or unknown role."""
    username = (username or "").strip().lower()
    if not USERNAME_RE.fullmatch(username):
        raise BadInput(
            f"{username!r} is not a user name (3-32 of a-z 0-9 . _ -)",
            code="bad_username",
            message_th="ชื่อผู้ใช้ต้องเป็นอักษรอังกฤษตัวเล็ก ตัวเลข . _ - ยาว 3-32 ตัว",
        )
    display_name = normalize_thai(display_name or "").strip()
    if not display_name or len(display_name) > 200:
        raise BadInput(
            "a user needs a display name", code="name_required", message_th="กรุณาระบุชื่อ-สกุล"
        )
    _check_password(password)
    role_list = _check_roles(roles)
    now = ctx.now()
    with store.transaction():
        if store.scalar("SELECT 1 FROM users WHERE username = ?", (username,)):
            raise Conflict(f"user {username} exists", message_th=f"มีผู้ใช้ {username} อยู่แล้ว")
        store.insert(
            "users",
            {
                "username": username,
                "display_name": display_name,
                "password_hash": hash_password(password),
                "roles": json.dumps(role_list),
                "divisions": json.dumps(sorted(set(divisions)), ensure_ascii=False),
                "active": 1,
                "failures": 0,
                "locked_until": 0,
                "created_at": now,
                "updated_at": now,
            },
        )
        audit.record(store, now, actor, "add_user", f"user:{username}", {"roles": role_list})
        note_change(store)
    return {"username": username, "display_name": display_name, "roles": role_list}


def set_password(
    ctx: NodeContext, store: Store, username: str, password: str, actor: str = "admin"
) -> None:
    """Replace a user's password and lift any lock; every session the user had ends."""
    _check_password(password)
    now = ctx.now()
    with store.transaction():
        if not store.scalar("SELECT 1 FROM users WHERE username = ?", (username,)):
            raise NotFound(f"no user {username}", message_th="ไม่พบผู้ใช้")
        store.execute(
            "UPDATE users SET password_hash = ?, failures = 0, locked_until = 0, "
            "session_gen = session_gen + 1, updated_at = ? WHERE username = ?",
            (hash_password(password), now, username),
        )
        audit.record(store, now, actor, "set_password", f"user:{username}", {})
        note_change(store)


def viewer_of(row: dict[str, Any]) -> Viewer:
    """The :class:`Viewer` a user row stands for."""
    return Viewer(
        str(row["username"]),
        frozenset(json.loads(row["roles"] or "[]")),
        frozenset(json.loads(row["divisions"] or "[]")),
    )


def authenticate(ctx: NodeContext, store: Store, username: str, password: str) -> Viewer:
    """Check a login; count failures and lock after ``MAX_FAILURES``.

    The answer to a wrong name, a wrong password and an inactive account is the same, so the
    page does not tell a guesser which user names exist.
    """
    username = (username or "").strip().lower()
    now = ctx.now()
    # The failure count must be committed although the login is refused, so the refusal is
    # raised after the transaction, never inside it (that would roll the count back).
    with store.transaction():
        row = store.one("SELECT * FROM users WHERE username = ?", (username,))
        verdict = judge_login(password, row, now)
        after = verdict.lockout
        if verdict.outcome is LoginOutcome.WRONG_PASSWORD:
            store.execute(
                "UPDATE users SET failures = ?, locked_until = ? WHERE username = ?",
                (after.failures, after.locked_until or 0, username),
            )
            audit.record(store, now, username, "login_failed", f"user:{username}", {})
        elif verdict.accepted:
            store.execute(
                "UPDATE users SET failures = ?, locked_until = ?, last_login = ? "
                "WHERE username = ?",
                (after.failures, after.locked_until or 0, now, username),
            )
            audit.record(store, now, username, "login", f"user:{username}", {})
    if not verdict.accepted:
        raise LoginRefused(verdict.reason(username), message_th=verdict.message_th)
    assert row is not None  # only a found, active user is accepted
    return viewer_of(row)


def get_user(store: Store, username: str) -> dict[str, Any] | None:
    """An active user's row without the password hash, or None."""
    row = store.one(
        "SELECT username, display_name, roles, divisions, active, last_login, session_gen "
        "FROM users WHERE username = ? AND active = 1",
        (username,),
    )
    return row


def end_sessions(ctx: NodeContext, store: Store, username: str) -> None:
    """Sign ``username`` out everywhere: every session they had ends, its cookie with it."""
    now = ctx.now()
    with store.transaction():
        store.execute(
            "UPDATE users SET session_gen = session_gen + 1 WHERE username = ?", (username,)
        )
        audit.record(store, now, username, "logout", f"user:{username}", {})


def list_users(store: Store) -> list[dict[str, Any]]:
    """Every user, without password hashes or TOTP secrets (``totp_enrolled`` says whether
    the person has one)."""
    rows = store.query(
        "SELECT username, display_name, roles, divisions, active, last_login, "
        "totp_secret IS NOT NULL AS totp_enrolled, totp_enrolled_at FROM users "
        "ORDER BY username"
    )
    for r in rows:
        r["roles"] = json.loads(r["roles"] or "[]")
        r["divisions"] = json.loads(r["divisions"] or "[]")
        r["active"] = bool(r["active"])
        r["totp_enrolled"] = bool(r["totp_enrolled"])
    return rows


def _active_admins(store: Store) -> set[str]:
    return {
        str(r["username"])
        for r in store.query("SELECT username, roles FROM users WHERE active = 1")
        if "admin" in json.loads(r["roles"] or "[]")
    }


def _require_user(store: Store, username: str) -> dict[str, Any]:
    row = store.one("SELECT username, roles, active FROM users WHERE username = ?", (username,))
    if row is None:
        raise NotFound(f"no user {username}", message_th="ไม่พบผู้ใช้")
    return row


def _keep_an_admin(store: Store, username: str) -> None:
    """Refuse a change that leaves no active administrator besides ``username``."""
    if not _active_admins(store) - {username}:
        raise Conflict(
            f"{username} is the last active administrator",
            code="last_admin",
            message_th="ต้องมีผู้ดูแลระบบที่ใช้งานได้อย่างน้อยหนึ่งคน",
        )


def set_active(
    ctx: NodeContext, store: Store, username: str, active: bool, actor: str = "admin"
) -> None:
    """Deactivate a user (they can no longer log in; their session ends) or activate one.

    An administrator cannot deactivate themself, and the last active administrator stays.
    """
    now = ctx.now()
    with store.transaction():
        row = _require_user(store, username)
        if not active:
            if username == actor:
                raise Conflict(
                    f"{actor} may not deactivate themself",
                    code="self_deactivate",
                    message_th="ไม่สามารถปิดการใช้งานบัญชีของตนเองได้",
                )
            if "admin" in json.loads(row["roles"] or "[]"):
                _keep_an_admin(store, username)
        store.execute(
            "UPDATE users SET active = ?, failures = 0, locked_until = 0, "
            "session_gen = session_gen + 1, updated_at = ? WHERE username = ?",
            (int(active), now, username),
        )
        action = "activate_user" if active else "deactivate_user"
        audit.record(store, now, actor, action, f"user:{username}", {})
        note_change(store)


def set_roles(
    ctx: NodeContext,
    store: Store,
    username: str,
    roles: Sequence[str],
    divisions: Sequence[str] = (),
    actor: str = "admin",
) -> dict[str, Any]:
    """Replace a user's roles and divisions; an administrator keeps their own admin role."""
    role_list = _check_roles(roles)
    division_list = sorted({normalize_thai(d).strip() for d in divisions if d.strip()})
    now = ctx.now()
    with store.transaction():
        row = _require_user(store, username)
        if "admin" not in role_list and "admin" in json.loads(row["roles"] or "[]"):
            if username == actor:
                raise Conflict(
                    f"{actor} may not drop their own admin role",
                    code="self_demote",
                    message_th="ไม่สามารถถอดบทบาทผู้ดูแลระบบของตนเองได้",
                )
            if row["active"]:
                _keep_an_admin(store, username)
        store.execute(
            "UPDATE users SET roles = ?, divisions = ?, updated_at = ? WHERE username = ?",
            (json.dumps(role_list), json.dumps(division_list, ensure_ascii=False), now, username),
        )
        audit.record(
            store,
            now,
            actor,
            "set_roles",
            f"user:{username}",
            {"roles": role_list, "divisions": division_list},
        )
        note_change(store)
    return {"username": username, "roles": role_list, "divisions": division_list}
