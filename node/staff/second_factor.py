"""A person's second factor for the ministry's portal: TOTP enrolment at the office.

Enrolment has two steps, so that nobody is left with a secret their phone never took:
:func:`start_enrolment` makes a fresh secret and keeps it *pending* (the page shows it as
a QR code and in groups of four); :func:`confirm_enrolment` takes a code the person's
authenticator shows now and, when it matches the pending secret (:mod:`protocol.totp`),
makes it the person's secret, remembers the time step it matched (a code is good once)
and moves the accounts version on (:func:`node.staff.published.note_change`), so the next
sync gives the portal the new secret. A secret already confirmed stays in force while a
new one is pending. An administrator may reset a person's second factor
(:func:`reset_totp`): the secret and any pending one are dropped, and the portal refuses
the person until they enrol again. Each step is written to the audit chain, never the
secret or a code.

Does not: check codes at sign-in (the portal at the hub does), or render anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.context import NodeContext
from node.errors import BadInput, NotFound
from node.staff.published import note_change
from node.storage import audit
from node.storage.store import Store
from protocol.totp import check_code, new_secret, read_code

ISSUER = "สารบรรณ มท."
"""The name an authenticator application shows above the person's codes."""

CODE_FORMAT_TH = "กรุณาพิมพ์รหัสตัวเลข 6 หลักจากแอปยืนยันตัวตน"
CODE_REFUSED_TH = "รหัสไม่ถูกต้องหรือหมดเวลาแล้ว กรุณาพิมพ์รหัส 6 หลักที่แอปแสดงอยู่ขณะนี้ (ยังไม่ได้บันทึก)"
NOTHING_PENDING_TH = "ยังไม่ได้สร้างคิวอาร์โค้ด กรุณากดสร้างคิวอาร์โค้ดก่อน"


@dataclass(frozen=True)
class TotpState:
    """Where a person stands: enrolled (since when) and the secret pending, if any."""

    enrolled: bool
    enrolled_at: float | None
    pending: str | None


def _row(store: Store, username: str) -> dict[str, Any]:
    row = store.one(
        "SELECT username, totp_secret, totp_pending, totp_step, totp_enrolled_at "
        "FROM users WHERE username = ? AND active = 1",
        (username,),
    )
    if row is None:
        raise NotFound(f"no active user {username}", message_th="ไม่พบผู้ใช้")
    return row


def totp_state(store: Store, username: str) -> TotpState:
    """The second factor of an active user."""
    row = _row(store, username)
    at = row["totp_enrolled_at"]
    pending = row["totp_pending"]
    return TotpState(
        row["totp_secret"] is not None,
        float(at) if isinstance(at, int | float) else None,
        pending if isinstance(pending, str) else None,
    )


def start_enrolment(ctx: NodeContext, store: Store, username: str) -> str:
    """Make a fresh secret pending for ``username`` (replacing one pending before); the
    secret, for the page to show."""
    secret = new_secret()
    now = ctx.now()
    with store.transaction():
        _row(store, username)
        store.execute("UPDATE users SET totp_pending = ? WHERE username = ?", (secret, username))
        audit.record(store, now, username, "totp_started", f"user:{username}", {})
    return secret


def confirm_enrolment(ctx: NodeContext, store: Store, username: str, typed: str) -> None:
    """Make the pending secret the person's when ``typed`` is its current code;
    :class:`BadInput` with a Thai message otherwise (nothing is changed)."""
    code = read_code(typed or "")
    if code is None:
        raise BadInput("a code is six digits", code="bad_code", message_th=CODE_FORMAT_TH)
    now = ctx.now()
    with store.transaction():
        row = _row(store, username)
        pending = row["totp_pending"]
        if not isinstance(pending, str):
            raise BadInput(
                "no secret is pending", code="nothing_pending", message_th=NOTHING_PENDING_TH
            )
        step = check_code(pending, code, now)
        if step is None:
            raise BadInput(
                "the code does not match the pending secret now",
                code="code_refused",
                message_th=CODE_REFUSED_TH,
            )
        store.execute(
            "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, "
            "totp_step = ?, totp_enrolled_at = ?, updated_at = ? WHERE username = ?",
            (step, now, now, username),
        )
        audit.record(store, now, username, "totp_enrolled", f"user:{username}", {})
        note_change(store)


def reset_totp(ctx: NodeContext, store: Store, username: str, actor: str) -> None:
    """Drop ``username``'s second factor (and any pending secret); the portal refuses them
    until they enrol again."""
    now = ctx.now()
    with store.transaction():
        if not store.scalar("SELECT 1 FROM users WHERE username = ?", (username,)):
            raise NotFound(f"no user {username}", message_th="ไม่พบผู้ใช้")
        store.execute(
            "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_step = NULL, "
            "totp_enrolled_at = NULL, updated_at = ? WHERE username = ?",
            (now, username),
        )
        audit.record(store, now, actor, "totp_reset", f"user:{username}", {})
        note_change(store)
