"""The wake-up check: a node learns within seconds that the hub holds something for it.

A node asks ``GET /watch`` every few seconds with the token the hub gave it in its last
pull and the ETag it last saw (``If-None-Match``); the hub answers 304 when neither the
office's mailbox nor the directory moved, and 200 with the new ETag when either did, and
the node then runs a full sync (ADR 0016). The check is built to cost the hub almost
nothing for 1,000 idle offices: no signature to verify, no nonce to store, no write, two
indexed reads.

The token is an HMAC of the office and its current signing key id, keyed by a secret
derived from the hub's signing key: it needs no table, every hub process computes the
same one, and a re-enrolled office or a rotated hub key makes old tokens fail (403), after
which the node's next full sync fetches a new one. The token tells its holder only when
the office's mailbox changes: it is not a credential for anything else.

Does not: authenticate signed requests (:mod:`hub.federation.auth`) or pull anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from hub.directory import HubKeyring
from hub.errors import Forbidden
from hub.store import HubStore
from protocol.api import watch_etag

_TOKEN_INFO = b"saraban watch token v1"
_MAC_CHARS = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def watch_secret(keyring: HubKeyring) -> bytes:
    """The token key, derived from the hub's current signing key."""
    key = keyring.current.private_key.private_bytes_raw()
    return hmac.new(key, _TOKEN_INFO, hashlib.sha256).digest()


def _mac(secret: bytes, office: str, keyid: str) -> str:
    data = f"{office}\n{keyid}".encode()
    return _b64(hmac.new(secret, data, hashlib.sha256).digest())[:_MAC_CHARS]


def issue_token(secret: bytes, office: str, keyid: str) -> str:
    """The watch token of ``office`` while ``keyid`` is its signing key."""
    return f"{_b64(office.encode())}.{_mac(secret, office, keyid)}"


def office_of(store: HubStore, secret: bytes, token: str) -> str:
    """The office a watch token was issued to; :class:`Forbidden` (``bad_watch_token``)
    when it is malformed, forged, or issued for a key the office no longer signs with."""
    name, _, mac = token.partition(".")
    try:
        office = _unb64(name).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        office = ""
    active = store.active_key(office) if office and len(mac) == _MAC_CHARS else None
    if active is None or not hmac.compare_digest(mac, _mac(secret, office, active["keyid"])):
        raise Forbidden(
            "this watch token is not valid; sync to get a new one", code="bad_watch_token"
        )
    return office


def current_etag(store: HubStore, office: str) -> str:
    """What the office's next pull would start from: its mailbox head and the directory."""
    return watch_etag(store.mailbox_last(office), store.directory_version_number())
