"""Signing in to either face: forged forms, guessed passwords and idle sessions."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from protocol.passwords import hash_password
from protocol.sessions import (
    LOCK_SECONDS,
    LOGIN_REFUSED_TH,
    MAX_FAILURES,
    MAX_PASSWORD,
    Lockout,
    LoginOutcome,
    csrf_refusal,
    has_idled_out,
    idle_minutes,
    judge_login,
    login_form,
    new_csrf_token,
    session_secret,
)

NOW = 1_795_000_000.0
PASSWORD = "ม้าลาย-กินหญ้า-2569"
STORED = hash_password(PASSWORD)


def account(lockout: Lockout | None = None, active: bool = True) -> dict[str, object]:
    """A stored account as both faces keep it (a hub operator's or a node user's row)."""
    lockout = lockout or Lockout()
    return {
        "active": int(active),
        "password_hash": STORED,
        "failures": lockout.failures,
        "locked_until": lockout.locked_until,
    }


def test_the_sessions_own_csrf_token_is_accepted() -> None:
    token = new_csrf_token()
    assert csrf_refusal(token, token) is None


FORGED_FORMS = {
    "wrong_token": ("x" * 43, "wrong CSRF token"),
    "token_of_another_session": (new_csrf_token(), "wrong CSRF token"),
    "no_token_sent": ("", "missing CSRF token"),
}


@pytest.mark.parametrize("case", sorted(FORGED_FORMS))
def test_a_forged_form_is_refused(case: str) -> None:
    given, reason = FORGED_FORMS[case]
    assert csrf_refusal(given, new_csrf_token()) == reason


@pytest.mark.parametrize("held", [None, "", 42])
def test_a_form_is_refused_when_the_session_never_showed_one(held: object) -> None:
    assert csrf_refusal(new_csrf_token(), held) == "missing CSRF token"


def test_every_session_gets_its_own_token() -> None:
    assert len({new_csrf_token() for _ in range(50)}) == 50


def test_the_right_password_signs_in_and_clears_earlier_failures() -> None:
    verdict = judge_login(PASSWORD, account(Lockout(failures=3)), NOW)
    assert verdict.accepted
    assert verdict.lockout == Lockout()


def test_unknown_name_inactive_account_and_wrong_password_read_alike() -> None:
    unknown = judge_login(PASSWORD, None, NOW)
    inactive = judge_login(PASSWORD, account(active=False), NOW)
    wrong = judge_login("not-the-password", account(), NOW)
    assert unknown.outcome is inactive.outcome is LoginOutcome.NO_SUCH_ACCOUNT
    assert wrong.outcome is LoginOutcome.WRONG_PASSWORD
    assert unknown.message_th == inactive.message_th == wrong.message_th == LOGIN_REFUSED_TH
    assert unknown.reason("nobody") == "login refused for 'nobody'"
    assert wrong.reason("somchai") == "login refused for 'somchai'"


def test_the_fifth_wrong_password_locks_for_five_minutes() -> None:
    lockout = Lockout()
    for attempt in range(1, MAX_FAILURES):
        lockout = judge_login("guess-guess-guess", account(lockout), NOW).lockout
        assert lockout == Lockout(failures=attempt)
    fifth = judge_login("guess-guess-guess", account(lockout), NOW)
    assert fifth.lockout == Lockout(failures=0, locked_until=NOW + LOCK_SECONDS)
    assert LOCK_SECONDS == 300 and MAX_FAILURES == 5


def test_a_locked_account_refuses_even_the_right_password_until_the_lock_ends() -> None:
    locked = Lockout(failures=0, locked_until=NOW + LOCK_SECONDS)
    refused = judge_login(PASSWORD, account(locked), NOW + LOCK_SECONDS - 1)
    assert refused.outcome is LoginOutcome.LOCKED
    assert refused.message_th == LOGIN_REFUSED_TH  # a lock would tell that the name exists
    assert refused.lockout == locked  # waiting out the lock is not another failure
    assert judge_login(PASSWORD, account(locked), NOW + LOCK_SECONDS + 1).accepted


def test_a_stored_zero_or_null_means_not_locked() -> None:
    for stored in (0, None):
        row = {**account(), "failures": 2, "locked_until": stored}
        assert judge_login(PASSWORD, row, NOW).accepted


def test_a_session_idles_out_only_after_its_minutes() -> None:
    minutes = idle_minutes(30)
    assert not has_idled_out(NOW, NOW + 29 * 60, minutes)
    assert not has_idled_out(NOW, NOW + 30 * 60, minutes)
    assert has_idled_out(NOW, NOW + 31 * 60, minutes)


@pytest.mark.parametrize(("setting", "minutes"), [(60, 60.0), (0.2, 1.0), (0, 1.0)])
def test_a_session_lasts_at_least_a_minute(setting: float, minutes: float) -> None:
    assert idle_minutes(setting) == minutes


def test_the_login_form_reads_no_more_than_could_match() -> None:
    username, password = login_form({"username": "u" * 500, "password": "p" * 10_000})
    assert len(username) == 64
    assert len(password) == MAX_PASSWORD + 1
    assert login_form({}) == ("", "")


def test_the_session_secret_is_made_once_readable_only_by_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    first = session_secret(path)
    assert len(first) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert session_secret(path) == first
