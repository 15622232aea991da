"""The sync API of :mod:`protocol.api`, under ``/api/v1``.

Each view reads and checks its request, calls one function of the hub's concept modules
(:mod:`hub.federation.enrollment`, :mod:`hub.federation.ingest`, :mod:`hub.numbering.authority`,
:mod:`hub.federation.blobs`) and
answers JSON. Every request but ``enroll`` and ``health`` is signed by an office key and
checked by :func:`hub.federation.auth.authenticate` before anything else reads its body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import orjson
from flask import Blueprint, Response, current_app, g, jsonify, request, send_file

from hub import __version__
from hub.clock import iso_utc, parse_clock
from hub.context import clock, get_blobs, get_exchanges, get_keyring, get_store
from hub.directory import current_directory
from hub.errors import (
    BadCursor,
    BadJSON,
    BadRequest,
    HubError,
    NotFound,
    WrongContentType,
)
from hub.federation.auth import Caller, authenticate, remember_nonce
from hub.federation.blobs import readable_path, receive_chunk, state_for
from hub.federation.enrollment import enroll, rekey
from hub.federation.ingest import ingest_push
from hub.federation.ratelimit import RateLimits, family_of
from hub.federation.watch import current_etag, issue_token, office_of, watch_secret
from hub.monitoring.alerts import report_directory, report_held
from hub.monitoring.metrics import timed
from hub.numbering.authority import grant_lease, register_digests
from hub.processes import HubProcesses
from protocol import errors as perr
from protocol.api import (
    API_PREFIX,
    BLOB_RECEIVED_HEADER,
    BLOB_SIZE_HEADER,
    CHECKPOINT_TTL_SECONDS,
    MAX_HELD_REPORT,
    MAX_PULL_BATCH,
    MAX_PUSH_BATCH,
    WATCH_HEADER,
    watch_etag,
)
from protocol.auth import H_KEYID, H_NONCE, H_SIGNATURE, H_TIMESTAMP
from protocol.crashpoints import crash_point
from protocol.envelope import Envelope
from protocol.hub_messages import Checkpoint
from protocol.request_json import parse_request_json

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)

F = TypeVar("F", bound=Callable[..., Any])
SIGNATURE_HEADERS = (H_KEYID, H_TIMESTAMP, H_NONCE, H_SIGNATURE)
_CURSOR_RE = re.compile(r"^m([0-9]{1,15})$")


def _signed_path() -> str:
    query = request.query_string.decode("latin-1")
    path = request.script_root + request.path
    return f"{path}?{query}" if query else path


def _authenticate(remember: bool) -> None:
    g.caller = authenticate(
        get_store(),
        {h: request.headers.get(h, "") for h in SIGNATURE_HEADERS},
        request.method,
        _signed_path(),
        request.get_data(cache=True),
        clock(),
        _window(),
        remember=remember,
    )
    _admit(g.caller.office)


def _admit(office: str) -> None:
    """Count the request against its office's rate limit (429 with Retry-After beyond)."""
    limits: RateLimits = current_app.extensions["saraban_rate_limits"]
    processes: HubProcesses = current_app.extensions["saraban_processes"]
    store = get_store()
    shared = store if processes.several(store) else None
    limits.admit(office, family_of(request.endpoint), clock(), shared)


def _window() -> float:
    return float(current_app.config["CLOCK_WINDOW_SECONDS"])


def signed(view: F) -> F:
    """Authenticate the request's office signature first; the caller is ``g.caller``."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _authenticate(remember=True)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def caller() -> Caller:
    """The office that signed this request."""
    who: Caller = g.caller
    return who


def require_json() -> None:
    """A JSON body must say so (415 otherwise)."""
    if request.mimetype != "application/json":
        raise WrongContentType("send the body as application/json")


def json_body() -> dict[str, Any]:
    """The request body as a JSON object (400 bad_json / bad_request otherwise)."""
    require_json()
    try:
        value = parse_request_json(request.get_data(cache=True))
    except perr.RemoteDataError as e:
        raise BadJSON(str(e), code=e.code) from e
    if not isinstance(value, dict):
        raise BadRequest("body must be a JSON object")
    return value


def _int_arg(value: Any, name: str, default: int, low: int = 0) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()) or len(value) > 15:
            raise BadRequest(f"{name} must be a whole number")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise BadRequest(f"{name} must be a whole number from {low}")
    return value


def _with_envelopes(answer: dict[str, Any], envelopes: list[bytes]) -> Response:
    """``answer`` with its ``envelopes``: each one's stored bytes, canonical JSON already,
    written as they are rather than parsed and written again (a pull of 500: 10 ms → 0.3)."""
    listed = orjson.Fragment(b"[" + b",".join(bytes(e) for e in envelopes) + b"]")
    return Response(orjson.dumps({**answer, "envelopes": listed}), mimetype="application/json")


# -- unsigned ---------------------------------------------------------------------------


@bp.post("/enroll")
def enroll_office() -> Response:
    """Redeem an enrollment token."""
    body = json_body()
    store = get_store()
    return jsonify(enroll(store, get_keyring(), body, clock()))


@bp.get("/health")
def health() -> Response:
    """Liveness and the directory version."""
    head = current_directory(get_store())
    return jsonify(
        {"ok": True, "version": __version__, "directory_version": head[0] if head else 0}
    )


@bp.get("/watch")
def watch() -> Response:
    """The wake-up check (ADR 0016): 304 while nothing new waits for the token's office."""
    store = get_store()
    token = request.headers.get(WATCH_HEADER, "")
    if not token.isascii():  # a token is base64 and hex; anything else is no token
        token = ""
    office = office_of(store, watch_secret(get_keyring()), token)
    _admit(office)
    etag = current_etag(store, office)
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        resp = Response(status=304)
    else:
        resp = jsonify({"etag": etag})
    resp.headers["ETag"] = etag
    resp.headers["Cache-Control"] = "no-store"
    return resp


# -- signed -------------------------------------------------------------------------------


@bp.get("/directory")
@signed
def directory() -> Response:
    """The newest signed directory."""
    head = current_directory(get_store())
    if head is None:
        raise NotFound("the hub has no directory yet")
    return jsonify({"directory": json.loads(head[1])})


@bp.post("/rekey")
@signed
def rekey_office() -> Response:
    """Make the caller's next signing key active and retire the one that signed this."""
    who = caller()
    return jsonify(rekey(get_store(), get_keyring(), who.office, who.keyid, json_body(), clock()))


@bp.post("/push")
def push() -> Response:
    """Ingest the next envelopes of the caller's feed."""
    with timed("push"):
        require_json()
        return _push()


def _push() -> Response:
    # The nonce is remembered by the ingest's own transaction: waiting here for another
    # push's transaction would keep this one's checks from running beside it.
    _authenticate(remember=False)
    who = caller()
    try:
        body = json_body()
        envelopes = body.get("envelopes")
        if not isinstance(envelopes, list) or not envelopes:
            raise BadRequest("envelopes must be a non-empty list")
        if len(envelopes) > MAX_PUSH_BATCH:
            raise BadRequest(f"at most {MAX_PUSH_BATCH} envelopes per push")
    except HubError:
        remember_nonce(get_store(), who.keyid, who.nonce, clock(), _window())
        raise
    with get_exchanges().serving():
        outcome = ingest_push(
            get_store(),
            get_keyring(),
            who.office,
            envelopes,
            clock(),
            blobs=get_blobs(),
            nonce=(who.keyid, who.nonce, _window()),
            quarantine_quota=int(current_app.config["QUARANTINE_BYTES_PER_OFFICE"]),
        )
    crash_point("hub_push_committed")
    assert outcome.ack is not None
    return jsonify({"results": outcome.results, "ack": outcome.ack.to_wire()})


def _cursor_position(cursor: Any, office: str) -> int:
    if cursor is None:
        return 0
    match = _CURSOR_RE.match(cursor) if isinstance(cursor, str) else None
    if match is None:
        raise BadCursor("this cursor was not issued by the hub; pull again from null")
    position = int(match.group(1))
    if position > get_store().mailbox_last(office):
        raise BadCursor("this cursor is beyond the mailbox; pull again from null")
    return position


@bp.post("/pull")
def pull() -> Response:
    """Mailbox envelopes after the caller's cursor, with a signed checkpoint."""
    with timed("pull"), get_exchanges().serving():
        require_json()
        return _pull()


@signed
def _pull() -> Response:
    body = json_body()
    office = caller().office
    now = clock()
    limit_max = min(int(current_app.config["PULL_LIMIT_MAX"]), MAX_PULL_BATCH)
    limit = min(_int_arg(body.get("limit"), "limit", limit_max, low=1), limit_max)
    store = get_store()
    after = _cursor_position(body.get("cursor"), office)
    rows = store.mailbox_after(office, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    position = rows[-1][0] if rows else after
    cursor = f"m{position}"
    with store.write():
        store.set_pulled_upto(office, after)
        store.record_contact(office, "pull", now)
        store.add_sync_session(office, "pull", now, len(rows))
    head = store.feed_head(office)
    directory = current_directory(store)
    checkpoint = Checkpoint(
        office=office,
        hub_time=iso_utc(now),
        expires_at=iso_utc(now + CHECKPOINT_TTL_SECONDS),
        last_seq=0 if head is None else head[0],
        cursor=cursor,
        directory_version=0 if directory is None else directory[0],
    )
    signed_checkpoint = get_keyring().sign(Checkpoint.KIND, checkpoint.to_dict())
    return _with_envelopes(
        {
            "cursor": cursor,
            "more": more,
            "checkpoint": signed_checkpoint.to_wire(),
            "watch": {
                "token": issue_token(watch_secret(get_keyring()), office, caller().keyid),
                "etag": watch_etag(position, checkpoint.directory_version),
            },
        },
        [data for _, data in rows],
    )


def _optional(body: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) and kind is not bool:
        raise BadRequest(f"{name} has the wrong type")
    if not isinstance(value, kind):
        raise BadRequest(f"{name} has the wrong type")
    return value


def _held_report(value: Any) -> list[dict[str, Any]] | None:
    """The heartbeat's ``held``: per sender, the envelopes the node holds unverified."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_HELD_REPORT:
        raise BadRequest(f"held must be a list of at most {MAX_HELD_REPORT} senders")
    out = []
    for item in value:
        origin = item.get("origin") if isinstance(item, dict) else None
        count = item.get("count") if isinstance(item, dict) else None
        reason = item.get("reason") if isinstance(item, dict) else None
        if not isinstance(origin, str) or not 0 < len(origin) <= 64:
            raise BadRequest("each held entry needs the sender's office id as origin")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise BadRequest("each held entry needs a count from 1")
        if reason is not None and not isinstance(reason, str):
            raise BadRequest("a held entry's reason must be a string")
        out.append({"origin": origin, "count": count, "reason": (reason or "")[:200]})
    return out


@bp.post("/heartbeat")
def heartbeat() -> Response:
    """A node's report on itself."""
    require_json()
    return _heartbeat()


@signed
def _heartbeat() -> Response:
    body = json_body()
    now = clock()
    outbox = _optional(body, "outbox", int)
    pending = _optional(body, "provisional_pending", int)
    ok = _optional(body, "last_sync_ok", bool)
    error = _optional(body, "last_error", str)
    software = _optional(body, "software", str)
    error_code = _optional(body, "last_error_code", str)
    held = _optional(body, "directory_version", int)
    if held is not None and held < 0:
        raise BadRequest("directory_version must be a whole number from 0")
    held_envelopes = _held_report(body.get("held"))
    node_clock = parse_clock(body.get("clock")) if body.get("clock") is not None else None
    if body.get("clock") is not None and node_clock is None:
        raise BadRequest("clock must be Unix seconds or an ISO 8601 time")
    store = get_store()
    with store.write():
        store.record_heartbeat(
            caller().office,
            now,
            outbox,
            None if node_clock is None else node_clock - now,
            None if software is None else software[:200],
            pending,
            ok,
            None if error is None else error[:500],
        )
        report_directory(store, caller().office, held, error_code == "stale_directory", now)
        if held_envelopes is not None:
            report_held(store, caller().office, held_envelopes, now)
    return jsonify({"hub_time": iso_utc(now)})


@bp.get("/highwater")
@signed
def highwater() -> Response:
    """The caller's feed head and the highest number it recorded in each register."""
    store = get_store()
    office = caller().office
    head = store.feed_head(office)
    return jsonify(
        {
            "feed": {"seq": 0, "head": None} if head is None else {"seq": head[0], "head": head[1]},
            "registers": store.office_register_maxima(office),
        }
    )


@bp.get("/feed")
@signed
def own_feed() -> Response:
    """The caller's own feed after a seq (for restoring a node)."""
    after = _int_arg(request.args.get("after"), "after", 0)
    limit_max = min(int(current_app.config["PULL_LIMIT_MAX"]), MAX_PULL_BATCH)
    limit = min(_int_arg(request.args.get("limit"), "limit", limit_max, low=1), limit_max)
    rows = get_store().feed_after(caller().office, after, limit + 1)
    return _with_envelopes({"more": len(rows) > limit}, [r.envelope for r in rows[:limit]])


@bp.post("/lease")
def lease() -> Response:
    """Lease the next block of a shared register to the caller."""
    require_json()
    return _lease()


@signed
def _lease() -> Response:
    body = json_body()
    register = body.get("register")
    if not isinstance(register, str):
        raise BadRequest("register must be a register id like 'มท 0200|ว|2569'")
    env: Envelope = grant_lease(
        get_store(),
        get_keyring(),
        caller().office,
        register,
        body.get("count"),  # type: ignore[arg-type]
        int(current_app.config["LEASE_MAX"]),
        clock(),
    )
    return jsonify({"lease": env.to_wire()})


@bp.get("/registers/digests")
@signed
def digests() -> Response:
    """Anti-entropy digests of the caller's registers."""
    return jsonify({"registers": register_digests(get_store(), caller().office)})


# -- blobs --------------------------------------------------------------------------------


@bp.route("/blobs/<sha256>", methods=["HEAD"])
@signed
def blob_head(sha256: str) -> Response:
    """What the caller may learn of a blob: complete when it may read it, else how far its
    own upload has got."""
    state = state_for(get_store(), get_blobs(), caller().office, sha256)
    if state.complete:
        return Response(status=200, headers={BLOB_SIZE_HEADER: str(state.size)})
    return Response(status=404, headers={BLOB_RECEIVED_HEADER: str(state.size)})


@bp.put("/blobs/<sha256>")
def blob_put(sha256: str) -> Response:
    """Append one chunk of a blob."""
    if request.mimetype != "application/octet-stream":
        raise WrongContentType("send blob chunks as application/octet-stream")
    return _blob_put(sha256)


@signed
def _blob_put(sha256: str) -> Response:
    offset = _int_arg(request.args.get("offset"), "offset", -1)
    size = _int_arg(request.args.get("size"), "size", -1)
    if offset < 0 or size < 0:
        raise BadRequest("offset and size are required")
    state = receive_chunk(
        get_store(),
        get_blobs(),
        caller().office,
        sha256,
        offset,
        size,
        request.get_data(cache=True),
        clock(),
    )
    return jsonify({"received": state.size, "complete": state.complete})


@bp.get("/blobs/<sha256>")
@signed
def blob_get(sha256: str) -> Response:
    """The bytes of a blob, for an office that may read it (404 to others, as if absent)."""
    path = readable_path(get_store(), get_blobs(), caller().office, sha256)
    return send_file(
        path, mimetype="application/octet-stream", conditional=True, etag=False, max_age=0
    )
