"""The clerk's view of a received sealed (ลับ, ลับมาก) letter, opened for those entitled.

:func:`opened_page` gives the letter page (:func:`node.web.letters.render_letter`) the
letter's sealed fields (subject, salutation, references, enclosures, body) and its
attachments, decrypted on the fly from the envelope the office received; nothing
decrypted is stored. The page is reached only by those the office lets open the letter
(:meth:`node.records.access.Viewer.may_open`), and each view is recorded there.

Routes (blueprint ``web_sealed``):

* ``GET /letters/<id>/sealed-files/<sha256>``: one attachment, decrypted and checked
  against the hash sealed with it, always as a download; recorded
  (``download_classified``), and a refused attempt too.

Does not: decide who may open a letter (:mod:`node.records.access`) or decrypt anything
itself (:mod:`node.records.sealed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, url_for
from werkzeug.wrappers import Response as BaseResponse

from node.api.kit import ctx, store
from node.records import sealed
from node.storage.blobs import has_blob
from node.web.kit import FILE_KINDS, human_size, openable_row, requires, viewer

bp = Blueprint("web_sealed", __name__)


def is_received_sealed(row: Mapping[str, Any]) -> bool:
    """Whether ``row`` is a sealed letter this office received through the hub."""
    return not row["paper"] and sealed.carries_seal(store(), dict(row))


def opened_page(row: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The letter ``row`` (as the letter page reads it) with its sealed fields, and its
    attachments as the page lists them."""
    opened = sealed.opened_content(ctx(), store(), row)
    shown = {
        **row,
        "subject": opened["subject"],
        "body": opened["body"],
        "salutation": opened["salutation"],
        "refs": opened["references"] or [],
        "enclosures": opened["enclosures"] or [],
    }
    root = ctx().blob_dir()
    files = []
    for a in opened["attachments"]:
        sha = str(a["sha256"] or "")
        present = bool(sha) and has_blob(root, sha)
        url = url_for("web_sealed.attachment", letter_id=row["id"], sha=sha) if present else ""
        files.append(
            {
                "sha256": sha,
                "name": str(a["name"] or sha[:12]),
                "kind": FILE_KINDS.get(str(a["media_type"]), str(a["media_type"] or "ไฟล์")),
                "size_th": human_size(int(a["size"] or 0)),
                "present": present,
                "inline": "",
                "url": url,
                "download_url": url,
                "is_pdf": False,
            }
        )
    return shown, files


@bp.get("/letters/<int:letter_id>/sealed-files/<sha>")
@requires()
def attachment(letter_id: int, sha: str) -> BaseResponse:
    openable_row(letter_id)
    name, _, data = sealed.open_attachment(ctx(), store(), letter_id, sha, viewer=viewer())
    resp = Response(data, mimetype="application/octet-stream")
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"letter-{letter_id}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
