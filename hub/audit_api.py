"""``POST /api/v1/audit``: an office's signed audit chain head, checked against the last.

The view reads the signed request (:func:`hub.api.signed`) and hands the body to
:func:`hub.federation.audit_heads.receive_audit_head`; it decides nothing itself.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from hub.api import caller, json_body, require_json, signed
from hub.context import clock, get_store
from hub.federation.audit_heads import receive_audit_head
from protocol.api import API_PREFIX

bp = Blueprint("audit_api", __name__, url_prefix=API_PREFIX)


@bp.post("/audit")
def audit_head() -> Response:
    """The office's chain head and the links since the head the hub verified."""
    require_json()
    return _audit_head()


@signed
def _audit_head() -> Response:
    return jsonify(receive_audit_head(get_store(), caller().office, json_body(), clock()))
