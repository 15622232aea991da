"""What signing in to a web face decides, the same at the hub's console and a node's pages.

The operator's console (:mod:`hub.console.session`) and the clerk's pages
(:mod:`node.web.session`) keep a session in Flask's signed cookie and their accounts in
their own databases. The decisions below are the same for both, so they live here once:

* the key that signs the cookie (:func:`session_secret`) and each session's CSRF token
  (:func:`new_csrf_token`, :func:`csrf_refusal`, compared in constant time);
* the idle timeout (:func:`idle_minutes`, :func:`has_idled_out`);
* the end of a session on the server's side (:func:`is_revoked`): every account keeps a
  session generation, each session carries the generation it began in, and signing out, a
  new password or deactivation moves the account's on, so every cookie of the account
  stops working, whoever still holds one;
* a login (:func:`judge_login`): :data:`MAX_FAILURES` wrong passwords in a row lock the
  account for :data:`LOCK_SECONDS` whatever comes next; an unknown name, an inactive or
  locked account and a wrong password all get the same words (:data:`LOGIN_REFUSED_TH`,
  which mentions the lock) after one scrypt check each, so neither the answer nor its time
  tells which names exist;
* the rules for a user name and a password, and the Thai words a refusal shows.

Whether a cookie is marked ``Secure`` is each app's ``SECURE_COOKIES`` setting.

Does not: read cookies, forms or databases, keep a clock (every decision that depends on
time takes ``now``), or hash passwords (:mod:`protocol.passwords`, which it calls).
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from protocol.passwords import password_matches, spend_check_time

CSRF_FIELD = "csrf_token"
"""The hidden field through which every form sends its session's CSRF token back."""

MIN_PASSWORD = 10
"""Fewest characters of a password."""

MAX_PASSWORD = 200
"""Most characters of a password."""

MAX_USERNAME_FIELD = 64
"""Most characters of a login form's user name that are read (a longer one cannot match)."""

USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{2,31}")
"""A user name in its stored form: 3 to 32 of a-z 0-9 . _ -, starting with a letter or digit."""

MAX_FAILURES = 5
"""Wrong passwords in a row that lock an account."""

LOCK_SECONDS = 300
"""How long a locked account stays locked, whatever password comes next."""

LOGIN_REFUSED_TH = (
    f"ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง (หากใส่รหัสผ่านผิด {MAX_FAILURES} ครั้งติดกัน"
    f" บัญชีจะถูกระงับชั่วคราว {LOCK_SECONDS // 60} นาที)"
)
"""The one answer to an unknown name, an inactive or locked account and a wrong password:
a locked account told apart would tell a guesser that the name exists."""

EXPIRED_TH = "หมดเวลาการใช้งาน กรุณาเข้าสู่ระบบอีกครั้ง"
"""Flashed on the login page when an idle session has ended."""

CSRF_REFUSED_TH = "แบบฟอร์มไม่ถูกต้องหรือหมดอายุ กรุณาเปิดหน้าใหม่แล้วลองอีกครั้ง (ยังไม่ได้บันทึกสิ่งใด)"
"""The answer to a form without its session's CSRF token: nothing was done."""


def session_secret(path: Path) -> str:
    """The key that signs session cookies, kept in ``path``.

    Made on first use with mode 0600; the ``O_EXCL`` open means two processes starting at
    once still agree on one key. Never printed or logged.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip()


def new_csrf_token() -> str:
    """A fresh CSRF token for a session."""
    return secrets.token_urlsafe(32)


def csrf_refusal(given: str, expected: object) -> str | None:
    """Why a form's CSRF token ``given`` is refused, or None when it is the session's own.

    ``expected`` is whatever the session holds (nothing, for a session that never showed a
    form). The comparison takes the same time wherever the tokens differ.
    """
    if not isinstance(expected, str) or not expected or not given:
        return "missing CSRF token"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return "wrong CSRF token"
    return None


def idle_minutes(setting: float) -> float:
    """How long a session may sit idle: the ``SESSION_MINUTES`` setting, at least a minute."""
    return max(1.0, float(setting))


def has_idled_out(last_seen: float, now: float, minutes: float) -> bool:
    """Whether a session last seen at ``last_seen`` has sat idle longer than ``minutes``."""
    return now - last_seen > minutes * 60


def is_revoked(session_generation: object, account_generation: object) -> bool:
    """Whether a session that began in ``session_generation`` (what its cookie holds) has
    been ended on the server's side: the account's generation has moved on since (signing
    out, a new password, deactivation), or the cookie holds none."""
    if not isinstance(session_generation, int) or isinstance(session_generation, bool):
        return True
    return session_generation != account_generation


def login_form(form: Mapping[str, str]) -> tuple[str, str]:
    """The user name and password a login form sent, cut to what could ever match.

    A password longer than any allowed one cannot match, so scrypt need not read it all.
    """
    username = form.get("username", "")[:MAX_USERNAME_FIELD]
    return username, form.get("password", "")[: MAX_PASSWORD + 1]


@dataclass(frozen=True)
class Lockout:
    """An account's wrong passwords in a row, and until when (Unix seconds) they lock it."""

    failures: int = 0
    locked_until: float | None = None

    def is_locked(self, now: float) -> bool:
        """Whether the account refuses every password at ``now``."""
        return self.locked_until is not None and self.locked_until > now

    def after_wrong_password(self, now: float) -> Lockout:
        """The lockout after one more wrong password: the last one allowed locks the
        account and starts the count again, so the lock ends by itself."""
        failures = self.failures + 1
        if failures >= MAX_FAILURES:
            return Lockout(0, now + LOCK_SECONDS)
        return Lockout(failures, None)


class LoginOutcome(StrEnum):
    """What one login attempt came to."""

    ACCEPTED = "accepted"
    NO_SUCH_ACCOUNT = "no_such_account"
    LOCKED = "locked"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - an outcome, not a password


@dataclass(frozen=True)
class LoginVerdict:
    """The outcome of a login and the account's lockout to store after it.

    Only a wrong password and an accepted one change the lockout; the caller stores
    nothing for an unknown name or a locked account.
    """

    outcome: LoginOutcome
    lockout: Lockout

    @property
    def accepted(self) -> bool:
        """Whether the user is signed in."""
        return self.outcome is LoginOutcome.ACCEPTED

    @property
    def message_th(self) -> str:
        """The Thai refusal: the same for every refusal (:data:`LOGIN_REFUSED_TH`)."""
        return LOGIN_REFUSED_TH

    def reason(self, username: str) -> str:
        """Why the login was refused, for the operator's log (never shown to the user)."""
        if self.outcome is LoginOutcome.LOCKED:
            return f"{username} is locked after repeated failures"
        return f"login refused for {username!r}"


def judge_login(password: str, account: Mapping[str, Any] | None, now: float) -> LoginVerdict:
    """Judge ``password`` for ``account`` at ``now``.

    ``account`` is the stored row, with the columns both the hub's operators and a node's
    users have (``active``, ``password_hash``, ``failures``, ``locked_until``), or None when
    no account has the name given. Every path runs exactly one scrypt check: for no account
    or an inactive one against a hash nothing matches, for a locked account against its own
    hash with the result set aside, so timing tells no more than the answer does.
    """
    if account is None or not account["active"]:
        spend_check_time(password)
        return LoginVerdict(LoginOutcome.NO_SUCH_ACCOUNT, Lockout())
    lockout = Lockout(int(account["failures"] or 0), account["locked_until"])
    if lockout.is_locked(now):
        password_matches(password, str(account["password_hash"]))  # the time, not the answer
        return LoginVerdict(LoginOutcome.LOCKED, lockout)
    if not password_matches(password, str(account["password_hash"])):
        return LoginVerdict(LoginOutcome.WRONG_PASSWORD, lockout.after_wrong_password(now))
    return LoginVerdict(LoginOutcome.ACCEPTED, Lockout())
