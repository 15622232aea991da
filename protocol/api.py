"""The hub's HTTP API: paths, limits and message shapes shared by hub and node.

All paths are under ``/api/v1``. Every request except ``enroll`` and ``health`` is signed
by the node's office key (:mod:`protocol.auth`). Bodies are JSON (``application/json``)
except blob chunks (``application/octet-stream``), read strictly
(:func:`protocol.request_json.parse_request_json`: nested at most
:data:`~protocol.limits.MAX_DEPTH` deep, numbers within ±(2**53 - 1), no NaN or lone
surrogate). A push body may be up to the hub's ``MAX_CONTENT_LENGTH``
(:data:`DEFAULT_MAX_BODY`), a chunk up to :data:`MAX_CHUNK`, any other body up to 256 KB;
a larger one is 413 ``too_large`` with its ``limit_bytes``. Every error is JSON::

    {"error": "<code>", "reason": "<one line of English for the operator>"}

with a 4xx status for the caller's mistake (400 bad_json / out_of_bounds / bad_request /
query_too_long / bad_cursor / bad_key_number,
401 bad_request_signature / stale_request (which adds the hub's ``hub_time`` and its
``window_seconds``, so the node can say how far off its clock is) / replayed_nonce,
403 bad_token / forbidden /
revoked, 404 not_found / unknown_office, 409 offset_mismatch / key_changed, 413 too_large,
415 wrong_content_type, 422 blob_hash_mismatch, 429 rate_limited with Retry-After) and
5xx only for the hub's own failure.

Endpoints (request → response):

``POST /enroll`` (unsigned; the one-time token authenticates)
    ``{"token", "office", "sign_keyid", "sign_public", "seal_public", "software"}``
    → ``{"office", "hub_keys": [{"keyid", "public"}], "directory": <envelope>}``
    ``sign_keyid`` must be the office's next key number (``#1`` at first, ``#n+1`` to
    re-enroll an office that lost its key, whose key ``#n`` is then retired); another is
    400 ``bad_key_number`` with ``next_key_no``.
``POST /rekey`` ``{"sign_keyid", "sign_public", "seal_public"?}``, signed by the office's
    active key
    → ``{"office", "keyid", "retired": {"keyid", "last_seq"}, "hub_keys", "directory"}``
    The new key (next number, a public key the office never had) becomes active; the key
    that signed the request is retired at ``last_seq``, the office's last seq at the hub:
    it verifies what it signed up to there, nothing later. A ``seal_public`` (a new X25519
    key) becomes the office's seal key in the same directory. At most one an hour (429).
``GET /health`` → ``{"ok": true, "version", "directory_version"}``
``GET /directory`` → ``{"directory": <envelope>}``
``POST /push`` ``{"envelopes": [<envelope>, ...]}`` (at most :data:`MAX_PUSH_BATCH`)
    → ``{"results": [{"env_id", "seq", "status", "reason", "detail"}], "ack": <envelope>}``
    status is ``accepted`` / ``duplicate`` / ``rejected``; results are in request order.
    A letter citing an attachment the hub does not hold complete, or one the office may not
    read, is ``rejected`` with reason ``blobs_incomplete`` and ``missing`` (the hashes):
    not quarantined, the node uploads them and pushes again. A ลับ or ลับมาก letter that is
    not sealed is ``rejected`` ``unsealed_classified`` (ADR 0020). The ack is signed by
    the hub: the office's ``last_seq`` and ``head`` (env_id) after the push; the node marks
    nothing pushed that it does not cover.
``POST /pull`` ``{"cursor": str | null, "limit": int}``
    → ``{"envelopes": [...], "cursor": str, "more": bool, "checkpoint": <envelope>,
    "watch": {"token", "etag"}}``
    Mailbox entries after the opaque cursor: letters addressed to the office, receipts and
    withdrawals about letters it sent or received, and hub-signed ``lease`` envelopes.
    The checkpoint carries ``directory_version``; a node holding an older directory GETs
    ``/directory`` (ADR 0003). A cursor the hub does not recognise is 400 ``bad_cursor``: the
    node then pulls again from null (everything it applies is idempotent by env_id).
``HEAD /blobs/<sha256>`` → 200 when complete and the office may read it (header
    ``X-Saraban-Blob-Size``), 404 with header ``X-Saraban-Blob-Received: <bytes of the
    office's own upload so far>`` otherwise. An office may read a blob it uploaded whole,
    or one cited by a letter it received whose sender could read it; to any other office
    the hub answers as if it lacked the blob (ADR 0020).
``PUT /blobs/<sha256>?offset=<n>&size=<total>`` body: the chunk (≤ :data:`MAX_CHUNK`)
    → ``{"received": n, "complete": bool}``; 409 ``offset_mismatch`` (with
    ``received``) when offset differs from what the office's upload holds; 422 when the
    completed bytes do not hash to the name (the partial upload is discarded).
``GET /blobs/<sha256>`` (optional ``Range: bytes=<start>-``) → 200 / 206 bytes to an
    office that may read it; 404 ``not_found`` otherwise.
``POST /heartbeat`` ``{"outbox", "last_sync_ok", "last_error", "clock", "software",
    "provisional_pending", "held"}`` → ``{"hub_time"}``; ``held`` (at most
    :data:`MAX_HELD_REPORT` entries) lists ``{"origin", "count", "reason"}`` per sender whose
    envelopes the node has held unverified past its tries, ``[]`` when none.
``POST /audit`` ``{"head": <audit_head envelope>, "after": n, "links": [[id, prev, hash]...]}``
    → ``{"ok", "verified": {"id", "hash", "at"}, "need_from", "problems"}``: the office's
    signed audit chain head and the links since the head the hub verified
    (:mod:`protocol.audit_chain`, ADR 0023).
``POST /accounts`` ``{"accounts": <accounts envelope>}`` (:mod:`protocol.accounts`; the
    body may be as large as a push) → ``{"office", "version", "accounts": <count>}``: the
    office's signed account list for the portal (ADR 0024), which replaces the one the hub
    held. Refused: 400 ``malformed_envelope`` / ``not_accounts`` / ``bad_signature`` /
    ``unknown_key`` / ``bad_message`` / ``out_of_bounds``, 403 ``wrong_signer`` (signed by
    another office's key) / ``wrong_office`` (the body names another office), 409
    ``replayed`` with ``held_version`` when the version is not above the one the hub holds.
    Nothing is stored when it is refused.
``GET /highwater`` → ``{"feed": {"seq", "head"}, "registers": {"<register id>": max}}``
``GET /feed?after=<seq>&limit=<n>`` → ``{"envelopes": [...own feed...], "more": bool}``
``POST /lease`` ``{"register": "<register id>", "count": n}`` → ``{"lease": <envelope>}``
    (the same grant is also put in the office's mailbox, so a lost answer loses nothing)
``GET /watch`` (unsigned; header ``X-Saraban-Watch: <token>``, optional ``If-None-Match``)
    → 304 when the office's mailbox and the directory are where the ETag says, else 200
    ``{"etag"}`` with the ``ETag`` header (:func:`watch_etag`); 403 ``bad_watch_token``.
    Every pull answer carries ``"watch": {"token", "etag"}``, the ETag being where that
    pull ended; a node that pulled to the end checks with it and syncs on a 200.
``GET /registers/digests`` → ``{"registers": {"<register id>": {"count", "digest"}}}``

This module holds no I/O; it only names things both sides must agree on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

API_PREFIX = "/api/v1"
MAX_PUSH_BATCH = 500
MAX_PULL_BATCH = 500
MAX_HELD_REPORT = 100
BLOBS_INCOMPLETE = "blobs_incomplete"
"""The push result's reason for a letter whose attachments the hub lacks: upload, retry."""
BAD_KEY_NUMBER = "bad_key_number"
"""The error of ``/enroll`` and ``/rekey`` for a key number that is not the office's next;
the answer's ``next_key_no`` names the right one."""
MAX_CHUNK = 1024 * 1024
DEFAULT_MAX_BODY = 8 * 1024 * 1024
BLOB_SIZE_HEADER = "X-Saraban-Blob-Size"
BLOB_RECEIVED_HEADER = "X-Saraban-Blob-Received"
CHECKPOINT_TTL_SECONDS = 15 * 60
WATCH_HEADER = "X-Saraban-Watch"
ACCOUNTS_REPLAYED = "replayed"
"""The error of ``/accounts`` for a version not above the one the hub holds; the answer's
``held_version`` names it."""


def watch_etag(mailbox_position: int, directory_version: int) -> str:
    """The wake-up check's ETag: the office's mailbox position and the directory version.

    A node that has pulled to the end of its mailbox (``more`` false) knows the ETag from
    the pull's cursor and checkpoint, so its next check answers 304 until something new
    arrives."""
    return f'"{int(mailbox_position)}.{int(directory_version)}"'


def register_digest(envelope_ids: Iterable[str]) -> str:
    """Anti-entropy digest of one register: SHA-256 over its sorted register env_ids.

    Hub and node each compute it from the ``register`` envelopes they hold for that
    register; equal digests mean both hold exactly the same entries.
    """
    joined = "\n".join(sorted(envelope_ids))
    return hashlib.sha256(joined.encode("ascii")).hexdigest()
