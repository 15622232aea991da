"""Local API for letter search: ``GET /api/search``.

Parameters (all optional): ``q`` (words or a letter number as typed), ``type``,
``sub_type``, ``speed``, ``secrecy``, ``series`` (``ส่ง``, ``ว``, ``รับ``, ``ลับ``... or a
register id ``ชม 0017|ส่ง|2569``), ``status`` (a state or workflow stage), ``direction``
(``in``/``out``), ``from`` and ``to`` (Buddhist-era dates: ``1/11/2569``,
``1 พฤศจิกายน 2569``, or ISO), ``page`` and ``per_page`` (at most 100). The viewer comes
from ``X-Saraban-User``/``-Roles``/``-Divisions``: classified letters are listed only to
those entitled. An unknown parameter or value is a 400 with a Thai message.

This module only reads the request and renders the page; :mod:`node.search.engine` searches.
"""

from __future__ import annotations

from flask import Response, jsonify, request

from node.api.kit import ctx, protected_blueprint, store, viewer
from node.search import engine as search
from node.search import query as searchquery

bp = protected_blueprint("search", __name__)


@bp.get("/search")
def search_letters() -> Response:
    """One page of letters matching the query and filters, best first."""
    query = searchquery.SearchQuery.from_params(request.args.to_dict(flat=True))
    seconds = float(ctx().settings["SEARCH_INDEX_SECONDS"])
    return jsonify(search.search_letters(store(), viewer(), query, seconds).to_json())
