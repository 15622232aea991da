"""Receive an office's published accounts for the portal (ADR 0024).

An office posts its whole account list as an ``accounts`` envelope
(:mod:`protocol.accounts`) whenever it changed. :func:`receive_accounts` takes it only
when every check passes, in this order, each refusal a JSON reason and nothing stored:

1. the DSSE shape and the kind ``accounts`` (400 ``malformed_envelope``, ``not_accounts``);
2. every signature by a key of the office that signed the request (403 ``wrong_signer``),
   verified against that office's active keys as the directory lists them (400
   ``bad_signature``, ``unknown_key``);
3. the canonical body and every field (400 ``bad_message``, ``out_of_bounds``), naming the
   office that signed (403 ``wrong_office``);
4. a version above the one the hub holds (409 ``replayed``, with ``held_version``), checked
   in the write transaction that stores it, so two posts at once store one.

The accounts then replace the office's in :class:`hub.store.portal_accounts.PortalAccounts`.
One log line says which office published which version and how many accounts; no line,
answer or error names a password hash or a TOTP secret.

Does not: authenticate the request (:func:`hub.federation.auth.authenticate`, before), or
sign anybody in (:mod:`hub.portal`).
"""

from __future__ import annotations

import logging
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.errors import BadRequest, Conflict, Forbidden
from hub.store import HubStore
from hub.store.portal_accounts import PortalAccounts
from protocol.accounts import ACCOUNTS_KIND, AccountList
from protocol.api import ACCOUNTS_REPLAYED
from protocol.envelope import Envelope, verify_envelope
from protocol.errors import BadMessage, RemoteDataError
from protocol.keys import public_key_from_b64, split_keyid

log = logging.getLogger(__name__)


def _active_keys(store: HubStore, office: str) -> dict[str, Ed25519PublicKey]:
    return {
        k["keyid"]: public_key_from_b64(k["public"])
        for k in store.keys_of(office)
        if k["status"] == "active"
    }


def _signer_office(keyid: str) -> str:
    try:
        return split_keyid(keyid)[0]
    except BadMessage:
        return ""


def read_accounts(store: HubStore, office: str, wire: Any) -> tuple[Envelope, AccountList]:
    """Steps 1-3: the envelope and its account list, signed by ``office`` for itself."""
    try:
        env = Envelope.from_wire(wire)
    except RemoteDataError as e:
        raise BadRequest(str(e), code=e.code) from e
    if env.kind != ACCOUNTS_KIND:
        raise BadRequest(f"accounts must be an {ACCOUNTS_KIND} envelope", code="not_accounts")
    for sig in env.signatures:
        if _signer_office(sig.keyid) != office:
            raise Forbidden(
                f"the accounts are signed by {sig.keyid!r}, not by {office}", code="wrong_signer"
            )
    keys = _active_keys(store, office)
    try:
        _, body = verify_envelope(env, keys.get)
        accounts = AccountList.from_dict(body)
    except RemoteDataError as e:
        raise BadRequest(f"accounts refused: {e}", code=e.code) from e
    if accounts.office != office:
        raise Forbidden(
            f"the accounts name the office {accounts.office!r}, not {office}", code="wrong_office"
        )
    return env, accounts


def receive_accounts(store: HubStore, office: str, wire: Any, now: float) -> dict[str, Any]:
    """Check and store one office's accounts; answer ``{"office", "version", "accounts"}``."""
    env, accounts = read_accounts(store, office, wire)
    entries = [a.to_dict() for a in accounts.entries()]
    table = PortalAccounts(store)
    with store.write():
        held = table.held_version(office)
        if accounts.version <= held:
            error = Conflict(
                f"accounts version {accounts.version} of {office} is not above the version"
                f" {held} the hub holds",
                code=ACCOUNTS_REPLAYED,
            )
            error.extra["held_version"] = held
            raise error
        count = table.replace(office, accounts.version, env.env_id, entries, now)
    log.info("office %s published accounts version %d (%d)", office, accounts.version, count)
    return {"office": office, "version": accounts.version, "accounts": count}
