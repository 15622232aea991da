"""The portal's pages of letters: search, the ministry's library, one letter with its
tracking, its attachments, and a result list as an Excel workbook.

Routes (blueprint ``portal_letters``): ``GET /`` (search; with no parameters, the newest
letters the person may see), ``GET /library`` (the ministry's library: circulars, orders
and regulations their senders marked for every office), ``GET /export.xlsx`` and
``GET /library/export.xlsx`` (the same parameters as the page, up to
:data:`EXPORT_LIMIT` letters), ``GET /letters/<env_id>`` (the letter and, for its parties
and the ministry's view, every recipient's tracking) and
``GET /letters/<env_id>/files/<sha256>`` (an attachment, always as a download).

A letter the person may not see, and a file they may not download, are answered exactly
as one that does not exist. Each search, opened letter, download and export is audited
(``portal_audit``).

Does not: decide what a person sees (:mod:`hub.portal.access`), search
(:mod:`hub.portal.search`) or build the timeline (:mod:`hub.portal.tracking`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request, send_file
from markupsafe import Markup, escape
from werkzeug.wrappers import Response as BaseResponse

from hub.portal import export
from hub.portal.access import Sight, may_download, sees_tracking, sight_of
from hub.portal.kit import audit, blob_file, get_store, not_found, now
from hub.portal.query import MAX_PER_PAGE, PARAMS, PortalQuery, PortalQueryError
from hub.portal.search import PortalPage, PortalRow, Scope, search
from hub.portal.session import current_person, signed_in
from hub.portal.tracking import held_letter, timeline
from protocol.lettertypes import LETTER_TYPES, SPEED_CLASSES
from protocol.thai import format_thai_date, parse_thai_date

bp = Blueprint("portal_letters", __name__)

EXPORT_LIMIT = 2000
"""Letters one export holds at most (the first pages of the result list)."""

SHA_RE = re.compile(r"[0-9a-f]{64}")


def marked(text: str | None, spans: Sequence[tuple[int, int]]) -> Markup:
    """``text`` with the words found wrapped in ``<mark>``, everything else escaped."""
    if not text:
        return Markup("")
    out, at = [], 0
    for start, end in sorted(spans):
        if start < at or end <= start:
            continue
        out.append(escape(text[at:start]))
        out.append(Markup("<mark>{}</mark>").format(text[start:end]))
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


def _scope(library: bool) -> Scope:
    person = current_person()
    if library:
        return Scope(office=None)
    return Scope(office=person.office, ministry=person.ministry, registrar=person.registrar)


def _params() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k in PARAMS and v.strip()}


def _about(query: PortalQuery) -> list[tuple[str, str]]:
    shown = query.to_json()
    labels = {
        "q": "คำค้น",
        "number": "เลขที่หนังสือ",
        "from_th": "ตั้งแต่วันที่",
        "to_th": "ถึงวันที่",
        "sender": "หน่วยงานผู้ส่ง",
        "recipient": "หน่วยงานผู้รับ",
        "type": "ชนิด",
        "speed": "ชั้นความเร็ว",
    }
    return [(label, str(shown[k])) for k, label in labels.items() if shown.get(k)]


def _search_page(library: bool) -> Response:
    params = _params()
    error = None
    page: PortalPage | None = None
    try:
        query = PortalQuery.from_params(params)
        page = search(get_store(), _scope(library), query)
    except PortalQueryError as e:
        error = e.message_th
    if params and page is not None:
        audit(get_store(), "search", _detail(library, params, page))
    html = render_template(
        "portal_search.html",
        library=library,
        page=page,
        error=error,
        params=params,
        letter_types=LETTER_TYPES,
        speeds=[s for s in SPEED_CLASSES if s],
        marked=marked,
        page_url=_page_url,
    )
    return Response(html, status=400 if error else 200, mimetype="text/html")


def _detail(library: bool, params: dict[str, str], page: PortalPage) -> str:
    what = {"in": "library"} if library else {}
    return json.dumps({**what, **params, "found": page.total}, ensure_ascii=False)


def _page_url(params: dict[str, str], number: int) -> str:
    return "?" + urlencode({**params, "page": str(number)})


@bp.get("/", endpoint="search")
@signed_in
def search_page() -> Response:
    return _search_page(library=False)


@bp.get("/library")
@signed_in
def library() -> Response:
    return _search_page(library=True)


def _export(library: bool) -> Response:
    params = _params()
    params.pop("page", None)
    params["per_page"] = str(MAX_PER_PAGE)
    try:
        query = PortalQuery.from_params(params)
        rows: list[PortalRow] = []
        number = 1
        while len(rows) < EXPORT_LIMIT:
            found = search(get_store(), _scope(library), query)
            rows += found.rows
            if not found.has_next or not found.rows:
                break
            number += 1
            query = PortalQuery.from_params({**params, "page": str(number)})
    except PortalQueryError as e:
        e.status = 400
        raise
    rows = rows[:EXPORT_LIMIT]
    audit(get_store(), "export", _detail(library, params, found) + f" rows={len(rows)}")
    title = "หนังสือในคลังหนังสือของกระทรวง" if library else "ผลการค้นหาหนังสือ"
    data = export.workbook(rows, _about(query), title, now())
    names = export.file_names(
        "saraban-portal-library" if library else "saraban-portal-search",
        "คลังหนังสือกระทรวง" if library else "ผลการค้นหาหนังสือ",
        now(),
    )
    return Response(
        data,
        mimetype=export.XLSX,
        headers={"Content-Disposition": export.attachment(names)},
    )


@bp.get("/export.xlsx")
@signed_in
def export_search() -> Response:
    return _export(library=False)


@bp.get("/library/export.xlsx")
@signed_in
def export_library() -> Response:
    return _export(library=True)


def _letter_for_person(env_id: str) -> tuple[Any, Sight]:
    """The letter ``env_id`` and how much of it the signed-in person sees; the refusal of
    a letter that does not exist when they see nothing."""
    if not SHA_RE.fullmatch(env_id):
        raise not_found(f"{env_id[:70]!r} is not a letter id")
    held = held_letter(get_store(), env_id)
    if held is None:
        raise not_found(f"no letter {env_id}")
    person = current_person()
    sight = sight_of(person, held.origin, held.recipients, held.sealed, held.library)
    if sight is Sight.NONE:
        raise not_found(f"letter {env_id} is not {person.office}'s to see")
    return held, sight


def _letter_day(text: str) -> str:
    try:
        return format_thai_date(parse_thai_date(text))
    except (ValueError, TypeError):
        return text or "-"


@bp.get("/letters/<env_id>")
@signed_in
def letter(env_id: str) -> Response:
    held, sight = _letter_for_person(env_id)
    store = get_store()
    person = current_person()
    indexed = store.portal_letter(held.env_id)
    number = (indexed or {}).get("number") or held.letter.number
    tracks = (
        timeline(store, held)
        if sees_tracking(person, sight, held.origin, held.recipients)
        else None
    )
    names = {r.office: r.name for r in tracks or []}
    names.update(store.office_names([held.origin, *held.recipients]))
    files = []
    if sight is Sight.CONTENT:
        for entry in held.letter.attachments:
            sha = str(entry.get("sha256") or "")
            files.append(
                {
                    "sha256": sha,
                    "name": str(entry.get("name") or sha[:12]),
                    "size": int(entry.get("size") or 0),
                    "download": may_download(store, person, sight, held.origin, held.library, sha),
                }
            )
    audit(store, "open", f"{held.env_id} {number or ''} sight={sight.value}".strip())
    html = render_template(
        "portal_letter.html",
        held=held,
        m=held.letter,
        sight=sight.value,
        number=number,
        letter_day=_letter_day(held.letter.letter_date),
        names=names,
        tracks=tracks,
        files=files,
    )
    return Response(html, mimetype="text/html")


@bp.get("/letters/<env_id>/files/<sha256>")
@signed_in
def download(env_id: str, sha256: str) -> BaseResponse:
    held, sight = _letter_for_person(env_id)
    store = get_store()
    person = current_person()
    entry = next((a for a in held.letter.attachments if str(a.get("sha256") or "") == sha256), None)
    if entry is None or not may_download(store, person, sight, held.origin, held.library, sha256):
        raise not_found(f"{sha256[:16]} is not an attachment {person.office} may download")
    path = blob_file(sha256)
    if path is None:
        raise not_found(f"{sha256[:16]}: the hub does not hold this blob")
    name = str(entry.get("name") or sha256[:12])
    audit(store, "download", f"{held.env_id} {sha256} {name}")
    response = send_file(
        path,
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=name,
        conditional=False,
    )
    return response
