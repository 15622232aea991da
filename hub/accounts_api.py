"""``POST /api/v1/accounts``: an office's signed account list for the portal (ADR 0024).

The view reads the signed request (:func:`hub.api.signed`: the office's request signature,
then its rate limit) and hands the body's ``accounts`` envelope to
:func:`hub.federation.accounts.receive_accounts`; it decides nothing itself. The body may
be as large as a push (:func:`hub.responses.body_limit`).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from hub.api import caller, json_body, require_json, signed
from hub.context import clock, get_store
from hub.federation.accounts import receive_accounts
from protocol.api import API_PREFIX

bp = Blueprint("accounts_api", __name__, url_prefix=API_PREFIX)

ENDPOINT = "accounts_api.publish"
"""The endpoint's Flask name (its body limit is a push's)."""


@bp.post("/accounts")
def publish() -> Response:
    """The office's accounts at a new version."""
    require_json()
    return _publish()


@signed
def _publish() -> Response:
    body = json_body()
    return jsonify(receive_accounts(get_store(), caller().office, body.get("accounts"), clock()))
