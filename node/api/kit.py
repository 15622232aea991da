"""What every local-API module shares: the node, this request's store, the viewer, input.

API modules create their blueprint with :func:`protected_blueprint`, which refuses any call
without the node's bearer token (``/api/health`` excepted) and, before the first call that
writes, makes sure the hub is not ahead of this node (:func:`node.sync.worker.startup_check`).
Input helpers raise :class:`~node.errors.BadInput`, so bad input is a 400 that stores
nothing; the JSON body of a state-changing call is read strictly (:func:`body`) before its
view runs, whether or not the view needs it.

Every state-changing route of such a blueprint (POST, PUT, PATCH, DELETE) is answered once
per ``Idempotency-Key`` header (:func:`answered_once`, :mod:`node.storage.idempotency`): the
same key again gets the first answer, same status and body, with ``Idempotent-Replayed:
true``, and nothing is done again; a key sent with another route or body is a 422. A call
without the header acts each time it is sent. A route that is harmless to repeat and must
not run inside one transaction says so with :func:`acts_every_time` (``POST /api/sync``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Response, current_app, g, request

from node.context import NodeContext
from node.errors import BadInput, Unauthorised
from node.records.access import Viewer, viewer_from_headers
from node.storage.idempotency import Claim, Outcome, check_key, run_once
from node.storage.store import Store
from node.sync.worker import startup_check
from protocol.errors import BoundsError, RemoteDataError
from protocol.request_json import parse_request_json

UNCHECKED_ENDPOINTS = frozenset({"api.health", "api.sync_now"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

NOT_JSON_TH = "รูปแบบข้อมูลไม่ถูกต้อง (ต้องเป็น JSON)"
OUT_OF_BOUNDS_TH = "ข้อมูลเกินขอบเขตที่รับได้ (ซ้อนกันลึกเกินไป หรือมีตัวเลขใหญ่เกินกำหนด)"

F = TypeVar("F", bound=Callable[..., Any])


def ctx() -> NodeContext:
    """The node this app serves."""
    node: NodeContext = current_app.extensions["saraban_node"]
    return node


def store() -> Store:
    """This request's database connection."""
    if "store" not in g:
        g.store = ctx().open_store()
    s: Store = g.store
    return s


def actor() -> str:
    """Who is acting, as the caller names them (the clerk UI sets it after login)."""
    return (request.headers.get("X-Saraban-User") or "clerk")[:100]


def body() -> dict[str, Any]:
    """The JSON object sent (``{}`` for no body), read strictly
    (:func:`protocol.request_json.parse_request_json`) once per request, or
    :class:`BadInput`."""
    if "json_body" not in g:
        g.json_body = _read_body()
    data: dict[str, Any] = g.json_body
    return data


def check_body() -> None:
    """Refuse a state-changing call whose body is not a JSON object, before its view runs
    (and whether or not the view reads it)."""
    if request.method in STATE_CHANGING:
        body()


def _read_body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    if not request.is_json:
        raise BadInput("send the body as application/json", code="bad_json", message_th=NOT_JSON_TH)
    try:
        data = parse_request_json(raw)
    except BoundsError as e:
        raise BadInput(str(e), code=e.code, message_th=OUT_OF_BOUNDS_TH) from e
    except RemoteDataError as e:
        raise BadInput(str(e), code=e.code, message_th=NOT_JSON_TH) from e
    if not isinstance(data, dict):
        raise BadInput(
            "the request body must be a JSON object", code="bad_json", message_th=NOT_JSON_TH
        )
    return data


def text_field(data: dict[str, Any], name: str, default: str = "") -> str:
    value = data.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadInput(
            f"{name} must be text", code="bad_field", message_th=f"ช่อง {name} ต้องเป็นข้อความ"
        )
    return value


def strings_field(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput(
            f"{name} must be a list of text",
            code="bad_field",
            message_th=f"ช่อง {name} ต้องเป็นรายการข้อความ",
        )
    return value


def int_field(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(
            f"{name} must be a whole number", code="bad_field", message_th=f"ช่อง {name} ต้องเป็นตัวเลข"
        )
    return value


def viewer() -> Viewer:
    """Who is looking: from ``X-Saraban-User``/``-Roles``/``-Divisions`` (see node.access)."""
    return viewer_from_headers(
        request.headers.get("X-Saraban-User"),
        request.headers.get("X-Saraban-Roles"),
        request.headers.get("X-Saraban-Divisions"),
    )


def require_token() -> None:
    """Refuse any call without the right bearer token."""
    if request.endpoint == "api.health":
        return
    expected = current_app.config.get("API_TOKEN") or ""
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header.startswith("Bearer ") else ""
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorised("missing or wrong bearer token")


def check_hub_highwater_once() -> None:
    """Before the first action that issues anything, make sure the hub is not ahead."""
    if request.method == "POST" and request.endpoint not in UNCHECKED_ENDPOINTS:
        startup_check(ctx())


def acts_every_time(view: F) -> F:
    """Mark a state-changing route that :func:`answered_once` leaves alone: one harmless to
    repeat that does its own transactions (below ``@bp.post``)."""
    view.acts_every_time = True  # type: ignore[attr-defined]
    return view


def answered_once(view: F) -> F:
    """``view`` run once per ``Idempotency-Key``: its answer is recorded in the transaction
    of what it does, and the same key again gets that answer without running it."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return view(*args, **kwargs)
        sent = hashlib.sha256(request.query_string + b"?" + request.get_data())
        route = f"{request.method} {request.path}"
        claim = Claim(check_key(key.strip()), actor(), route, sent.hexdigest())

        def answered() -> Outcome:
            first = current_app.make_response(view(*args, **kwargs))
            return Outcome(first.status_code, first.headers.get("Location"), first.get_data(True))

        outcome = run_once(store(), claim, ctx().now(), answered)
        answer = Response(outcome.body, status=outcome.status, mimetype="application/json")
        if outcome.location:
            answer.headers["Location"] = outcome.location
        if outcome.replayed:
            answer.headers[REPLAYED_HEADER] = "true"
        return answer

    return cast(F, wrapper)


class ApiBlueprint(Blueprint):
    """A blueprint whose state-changing routes are :func:`answered_once`."""

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        methods = {m.upper() for m in options.get("methods") or ()}
        if (
            view_func is not None
            and methods & STATE_CHANGING
            and not getattr(view_func, "acts_every_time", False)
        ):
            view_func = answered_once(view_func)
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)


def protected_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under ``/api`` behind the bearer token and the high-water check, its
    state-changing routes answered once per idempotency key."""
    bp = ApiBlueprint(name, import_name, url_prefix="/api")
    bp.before_request(require_token)
    bp.before_request(check_body)
    bp.before_request(check_hub_highwater_once)
    return bp
