"""Signing in to the portal: office, user name and password, then a TOTP code.

The password is checked against the scrypt hash the office published
(:mod:`hub.store.portal_accounts`), judged as at the office and the console
(:func:`protocol.sessions.judge_login`): :data:`~protocol.sessions.MAX_FAILURES` wrong
passwords or codes in a row lock the account at the portal for
:data:`~protocol.sessions.LOCK_SECONDS`, whatever comes next; an unknown office or name,
a disabled or locked account and a wrong password get the same words after one scrypt
check each. A right password does not clear the count: only a full sign-in does, so the
code cannot be guessed five at a time between right passwords.

The code (:func:`protocol.totp.check_code`, one step either side of now) is good once: its
time step must come after the last one accepted for the account, so a code seen over a
shoulder or replayed is refused. An account with no TOTP secret is told, in Thai, to enrol
at its office's pages.

Every attempt leaves a row in ``portal_audit`` (``sign_in`` or ``sign_in_failed`` with
why), never the password, the hash or the code.

Does not: keep the session or its cookie (:mod:`hub.portal.session`), or count attempts
per address (:class:`hub.portal.kit.AddressLimits`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.portal.kit import PortalError
from hub.store import HubStore
from hub.store.portal_accounts import PortalAccounts
from hub.store.portal_sessions import PortalSessions
from protocol import totp
from protocol.errors import BadLetterNumber
from protocol.numbers import parse_unit_code
from protocol.sessions import (
    LOCK_SECONDS,
    LOGIN_REFUSED_TH,
    MAX_FAILURES,
    MAX_USERNAME_FIELD,
    Lockout,
    LoginOutcome,
    judge_login,
)

NO_SECOND_FACTOR_TH = (
    "บัญชีนี้ยังไม่ได้ตั้งรหัสยืนยันตัวตนสองชั้น (แอปยืนยันตัวตน) จึงยังเข้าใช้งานจากภายนอกไม่ได้"
    " กรุณาเข้าหน้าเว็บระบบสารบรรณของหน่วยงาน เลือกชื่อของท่านมุมขวาบน แล้วลงทะเบียนรหัสยืนยันตัวตน"
    " เมื่อหน่วยงานส่งข้อมูลถึงศูนย์กลางรอบถัดไปแล้วจึงเข้าสู่ระบบที่นี่ได้"
)
"""The answer to a right password of an account without TOTP."""

CODE_REFUSED_TH = (
    f"รหัสยืนยันตัวตนไม่ถูกต้อง หมดอายุ หรือถูกใช้ไปแล้ว กรุณาใช้รหัสใหม่จากแอปยืนยันตัวตน"
    f" (หากใส่ผิด {MAX_FAILURES} ครั้งติดกัน บัญชีจะถูกระงับชั่วคราว {LOCK_SECONDS // 60} นาที)"
)
"""The answer to a wrong, old or used code."""

LOCKED_TH = (
    f"บัญชีถูกระงับชั่วคราว {LOCK_SECONDS // 60} นาที เพราะใส่รหัสผิดหลายครั้งติดกัน กรุณาเข้าสู่ระบบใหม่ภายหลัง"
)
"""The answer at the code step to an account that is locked (its password was right)."""

BAD_OFFICE_TH = "รหัสหน่วยงานไม่ถูกต้อง: พิมพ์อักษรย่อ 2 ตัวตามด้วยเลข 4 หลัก เช่น ชม 0017"


class SignInRefused(PortalError):
    """A refused sign-in (401): the same words for every refusal of one step."""

    def __init__(self, reason: str, message_th: str = LOGIN_REFUSED_TH, status: int = 401):
        super().__init__(reason, message_th, code="sign_in_refused", status=status)


@dataclass(frozen=True)
class Attempt:
    """Where a sign-in attempt comes from and when."""

    address: str
    now: float


def office_of(text: str) -> str:
    """The office code as typed (``ชม0017``, ``ชม ๐๐๑๗``) in its canonical form."""
    try:
        return parse_unit_code(text.strip()[:40])
    except BadLetterNumber as e:
        raise PortalError(f"not an office code: {text[:40]!r}", BAD_OFFICE_TH) from e


def _record(
    store: HubStore, attempt: Attempt, office: str, username: str, action: str, detail: str
) -> None:
    PortalSessions(store).audit(attempt.now, office, username, action, detail, attempt.address)


def check_password(
    store: HubStore, office_text: str, username_text: str, password: str, attempt: Attempt
) -> dict[str, Any]:
    """The account whose password is right and which may go on to its code; otherwise
    :class:`SignInRefused` (or a Thai :class:`PortalError` for no TOTP enrolled)."""
    office = office_of(office_text)
    username = username_text.strip().lower()[:MAX_USERNAME_FIELD]
    sessions = PortalSessions(store)
    account = PortalAccounts(store).get(office, username)
    state = sessions.login_state(office, username)
    judged = None
    if account is not None:
        judged = {
            "active": account["active"],
            "password_hash": account["password_hash"],
            "failures": state["failures"],
            "locked_until": state["locked_until"],
        }
    verdict = judge_login(password, judged, attempt.now)
    with store.write():
        if verdict.outcome is LoginOutcome.WRONG_PASSWORD:
            after = verdict.lockout
            sessions.set_lockout(office, username, after.failures, after.locked_until)
            _record(store, attempt, office, username, "sign_in_failed", "wrong password")
        elif verdict.outcome is LoginOutcome.LOCKED:
            _record(store, attempt, office, username, "sign_in_failed", "account locked")
        elif verdict.outcome is LoginOutcome.NO_SUCH_ACCOUNT:
            _record(store, attempt, office, username, "sign_in_failed", "no such active account")
        elif account is not None and not account.get("totp_secret"):
            _record(store, attempt, office, username, "sign_in_failed", "no second factor")
    if not verdict.accepted:
        raise SignInRefused(verdict.reason(f"{username}@{office}"), verdict.message_th)
    assert account is not None  # only a found, active account is accepted
    if not account.get("totp_secret"):
        raise PortalError(
            f"{username}@{office} has no TOTP secret", NO_SECOND_FACTOR_TH, status=403
        )
    return dict(account)


def check_code(
    store: HubStore, pending: Mapping[str, Any], code: str, attempt: Attempt
) -> dict[str, Any]:
    """The account of a session that passed its password, once ``code`` is its TOTP code
    of now, newer than the last one accepted; :class:`SignInRefused` otherwise (the
    failure counted, and at the last one allowed the account locked)."""
    office, username = str(pending["office"]), str(pending["username"])
    sessions = PortalSessions(store)
    account = PortalAccounts(store).get(office, username)
    if account is None or not account["active"] or not account.get("totp_secret"):
        with store.write():
            _record(store, attempt, office, username, "sign_in_failed", "account gone")
        raise SignInRefused(f"{username}@{office} is no longer active")
    state = sessions.login_state(office, username)
    lockout = Lockout(int(state["failures"] or 0), state["locked_until"])
    if lockout.is_locked(attempt.now):
        with store.write():
            _record(store, attempt, office, username, "sign_in_failed", "account locked")
        raise SignInRefused(f"{username}@{office} is locked", LOCKED_TH, status=401)
    step = totp.check_code(str(account["totp_secret"]), code, attempt.now)
    last = state["last_step"]
    if step is not None and (last is None or step > int(last)):
        with store.write():
            sessions.set_signed_in(office, username, step, attempt.now)
            _record(store, attempt, office, username, "sign_in", "password and code")
        return dict(account)
    why = "wrong code" if step is None else "code used before"
    after = lockout.after_wrong_password(attempt.now)
    with store.write():
        sessions.set_lockout(office, username, after.failures, after.locked_until)
        _record(store, attempt, office, username, "sign_in_failed", why)
    if after.is_locked(attempt.now):
        raise SignInRefused(f"{username}@{office} locked after a {why}", LOCKED_TH)
    raise SignInRefused(f"{why} for {username}@{office}", CODE_REFUSED_TH)
