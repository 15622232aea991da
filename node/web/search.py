"""The clerk's search page (ค้นหาหนังสือ).

Route (blueprint ``web_search``): ``GET /search``, for any signed-in user. A GET form with
the words or the letter number as typed (``q``) and the filters of the search API (kind,
sub-type, speed, secrecy, register series, status, direction, a Buddhist-era date range),
read by :meth:`node.search.query.SearchQuery.from_params` exactly as ``/api/search`` reads
them, so a bad value is the same Thai message here, with status 400; the dates first as
clerks type them (``1/11/69``: :mod:`node.web.dates`), said back next to each field.
Results are paged (``page``), each linking to the letter's page.

Also the rows every list of letters on these pages shows (:func:`listed`): ที่, เรื่อง,
จาก (the office's name where it is known), ลงวันที่ in the Buddhist era, สถานะ.

Does not: search (:mod:`node.search.engine` does) or decide who may see a classified letter: the
search lists only the letters :func:`node.web.kit.viewer` may see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from flask import Blueprint, render_template, request, url_for

from node.api.kit import ctx, store
from node.errors import NodeError
from node.printing.registers import SERIES_TITLES, office_name
from node.records.directory import load_trusted
from node.records.workflow import STAGE_TITLES
from node.search.engine import SearchHit, SearchPage, search_letters
from node.search.query import MAX_QUERY_CHARS, SearchQuery
from node.storage.store import Store
from node.web.dates import read_date_th
from node.web.kit import requires, viewer
from protocol.lettertypes import LETTER_TYPE_TITLES, SECRECY_CLASSES, SPEED_CLASSES, SUB_TYPES
from protocol.numbers import Series
from protocol.thai import format_thai_date

bp = Blueprint("web_search", __name__)

DIRECTIONS: dict[str, str] = {"in": "หนังสือรับ", "out": "หนังสือส่ง"}
STATUS_CHOICES: tuple[str, ...] = tuple(s for s in STAGE_TITLES if s != "draft")
FILTER_NAMES = ("type", "sub_type", "speed", "secrecy", "series", "status", "direction")


def day_th(row: Mapping[str, Any]) -> str:
    """ลงวันที่ in the Buddhist era: from the ISO ``letter_day``, else as written."""
    if row.get("letter_day"):
        try:
            return format_thai_date(date.fromisoformat(str(row["letter_day"])))
        except ValueError:
            pass
    return str(row.get("letter_date") or "-")


def status_th(row: Mapping[str, Any]) -> str:
    """Where the letter is: its workflow stage, else its state, in Thai."""
    for key in (row.get("stage"), row.get("state")):
        if key and key in STAGE_TITLES:
            return STAGE_TITLES[key]
    return str(row.get("stage") or row.get("state") or "-")


def listed(s: Store, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Letters as the lists of these pages show them (rows of ``letters`` or search hits)."""
    trusted = load_trusted(s)
    return [
        {
            "id": int(r["id"]),
            "number": r.get("number") or "",
            "receipt_number": r.get("receipt_number") or "",
            "subject": r.get("subject") or "",
            "origin": office_name(s, trusted, str(r["origin"])) if r.get("origin") else "-",
            "day_th": day_th(r),
            "status_th": status_th(r),
            "speed": r.get("speed") or "",
            "secrecy": r.get("secrecy") or "",
            "direction": DIRECTIONS.get(str(r.get("direction")), ""),
            "snippet": r.get("snippet"),
        }
        for r in rows
    ]


def _choices() -> dict[str, Any]:
    """What each filter's select offers."""
    return {
        "types": LETTER_TYPE_TITLES,
        "sub_types": {t: subs for t, subs in SUB_TYPES.items() if subs},
        "speeds": {s: s for s in SPEED_CLASSES if s},
        "secrecies": {s: s for s in SECRECY_CLASSES if s},
        "series": {s.value: SERIES_TITLES[s] for s in Series},
        "statuses": {s: STAGE_TITLES[s] for s in STATUS_CHOICES},
        "directions": DIRECTIONS,
        "max_query": MAX_QUERY_CHARS,
    }


def _page_url(params: Mapping[str, str], page: int) -> str:
    kept: dict[str, Any] = {k: v for k, v in params.items() if v and k != "page"}
    return url_for("web_search.search", **kept, page=page)


def _snippet(hit: SearchHit) -> str | None:
    """Where the words were found, unless that is only the subject shown anyway."""
    if not hit.snippet:
        return None
    plain = hit.snippet.replace("[", "").replace("]", "").strip("…")
    return None if plain in hit.subject else hit.snippet


def _results(found: SearchPage, params: Mapping[str, str]) -> dict[str, Any]:
    hits = [{**h.__dict__, "snippet": _snippet(h)} for h in found.items]
    query = found.query
    return {
        "rows": listed(store(), hits),
        "total": found.total,
        "total_exact": found.total_exact,
        "recent_only": found.recent_only,
        "unindexed": found.unindexed,
        "page": query.page,
        "pages": found.pages,
        "prev_url": _page_url(params, query.page - 1) if query.page > 1 else None,
        "next_url": _page_url(params, query.page + 1) if found.has_next else None,
    }


DATE_LABELS = {"from": "ลงวันที่ตั้งแต่", "to": "ถึงวันที่"}
"""The date range of the form, by parameter, with the Thai labels its messages name."""


def _typed_range(params: Mapping[str, str]) -> dict[str, str]:
    """The typed ends of the date range (``1/11/69``, ``1 พ.ย. 2569``) as ISO dates, as
    :meth:`SearchQuery.from_params` reads them; a Thai message for one that cannot be read."""
    return {
        name: read_date_th(params[name], label).isoformat()
        for name, label in DATE_LABELS.items()
        if (params.get(name) or "").strip()
    }


@bp.get("/search")
@requires()
def search() -> tuple[str, int]:
    params = request.args.to_dict(flat=True)
    shown_filters = any(params.get(k) for k in (*FILTER_NAMES, "from", "to"))
    context = {"form": params, "filters_open": shown_filters, **_choices()}
    if not params:
        return render_template("search.html", results=None, **context), 200
    try:
        query = SearchQuery.from_params({**params, **_typed_range(params)})
        found = search_letters(
            store(), viewer(), query, float(ctx().settings["SEARCH_INDEX_SECONDS"])
        )
    except NodeError as e:
        return render_template("search.html", results=None, error=e.message_th, **context), e.status
    return render_template("search.html", results=_results(found, params), **context), 200
