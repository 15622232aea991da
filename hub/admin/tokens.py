"""Enrollment tokens as the operator sees them: issue one, list them with their state,
cancel an unused one.

A token's secret is shown once and never kept; the hub keeps its hash, and the start of
that hash (:func:`token_id`) names the token in the console and the command line.
:func:`init_command` is what the office's administrator runs with it: the token is typed
or piped in when the command asks (``--token -``), never written on the command line,
where every user of the machine could read it in the process list. A token issued for an
office that is already enrolled re-enrolls it (``--reenroll``): its next key number, the
old key retired (ADR 0018).

Does not: make or redeem a token (:mod:`hub.federation.enrollment`).
"""

from __future__ import annotations

import re
from typing import Any

from hub.admin.access import AdminRefused, Instance, action_time, open_for_action
from hub.federation.enrollment import issue_token
from hub.store import HubStore

TOKEN_ID_LENGTH = 16
"""Hex characters of a token's stored hash that name it in the console and the CLI."""
TOKEN_ID_RE = re.compile(f"[0-9a-f]{{{TOKEN_ID_LENGTH}}}")
TOKEN_STATES = {
    "unused": "ยังไม่ใช้",
    "used": "ใช้แล้ว",
    "expired": "หมดอายุ",
    "cancelled": "ยกเลิก",
}
"""States of an enrollment token and how the console names them."""


def issue_enrollment_token(
    instance: Instance,
    office: str,
    ttl_hours: float | None = None,
    now: float | None = None,
    *,
    store: HubStore | None = None,
) -> str:
    """A one-time enrollment token for ``office`` (the secret, shown once; only its hash is
    kept: :func:`token_id` names it afterwards). ``ttl_hours`` defaults to
    ENROLL_TOKEN_TTL_HOURS."""
    with open_for_action(instance, store) as (_, settings, db):
        ttl = float(settings["ENROLL_TOKEN_TTL_HOURS"] if ttl_hours is None else ttl_hours)
        return issue_token(db, office, ttl, action_time(now))


def init_command(hub_url: str, office: str, reenroll: bool = False) -> str:
    """The ``saraban node init`` line to run at ``office`` with a token (which it asks for);
    ``reenroll`` for an office that is enrolled already and lost its key."""
    again = " --reenroll" if reenroll else ""
    return f'saraban node init --hub {hub_url} --office "{office}"{again} --token -'


def token_id(stored_hash: str) -> str:
    """How the console and the CLI name a token: the start of its stored hash.

    The hash of a 192-bit random secret: its prefix tells nothing about the secret.
    """
    return stored_hash[:TOKEN_ID_LENGTH]


def _token_state(row: dict[str, Any], office_status: str | None, now: float) -> str:
    if row["used_at"] is not None:
        return "used"
    if row["cancelled_at"] is not None or office_status == "revoked":
        return "cancelled"  # a revoked office's token can never be redeemed
    if row["expires_at"] <= now:
        return "expired"
    return "unused"


def enrollment_tokens(
    instance: Instance,
    now: float | None = None,
    limit: int = 200,
    *,
    store: HubStore | None = None,
) -> list[dict[str, Any]]:
    """Issued tokens, newest first: ``id``, ``office``, ``office_name``, ``issued_at``,
    ``expires_at``, ``used_at``, ``state`` (a key of :data:`TOKEN_STATES`).

    Never the secret (it is not kept) nor the full hash.
    """
    when = action_time(now)
    with open_for_action(instance, store) as (_, _, db):
        offices = {o["id"]: o for o in db.offices()}
        out = []
        for row in db.tokens(limit):
            office = offices.get(row["office"])
            ident = token_id(row["token_hash"])
            out.append(
                {
                    "id": ident,
                    "office": row["office"],
                    "office_name": office["name"] if office else None,
                    "issued_at": row["issued_at"],
                    "expires_at": row["expires_at"],
                    "used_at": row["used_at"],
                    "state": _token_state(row, office["status"] if office else None, when),
                }
            )
        return out


def cancel_enrollment_token(
    instance: Instance, ident: str, now: float | None = None, *, store: HubStore | None = None
) -> dict[str, Any]:
    """Make the unused token named ``ident`` (:func:`token_id`) unusable; return
    ``{"id", "office"}``.
    """
    if not TOKEN_ID_RE.fullmatch(ident):
        raise AdminRefused(
            f"{ident!r} is not a token id", "ไม่พบรหัสลงทะเบียนนี้", code="unknown_token", status=404
        )
    when = action_time(now)
    with open_for_action(instance, store) as (_, _, db), db.write():
        rows = db.tokens_by_prefix(ident)
        if len(rows) != 1:  # two hashes sharing 64 bits: never in practice, refused anyway
            raise AdminRefused(
                f"no single token {ident}", "ไม่พบรหัสลงทะเบียนนี้", code="unknown_token", status=404
            )
        row = rows[0]
        if row["used_at"] is not None or row["expires_at"] <= when:
            raise AdminRefused(
                f"token {ident} is used or expired",
                "รหัสลงทะเบียนนี้ถูกใช้ไปแล้วหรือหมดอายุแล้ว ยกเลิกไม่ได้",
                code="token_not_live",
                status=409,
            )
        db.cancel_token(row["token_hash"], when)
        return {"id": ident, "office": row["office"]}
