"""The clerk's pages of letters: the incoming and outgoing lists and one letter's page.

Routes (blueprint ``web_letters``):

* ``GET /letters/inbox?state=waiting|registered|all``: หนังสือเข้า. A classified letter the
  user may not open stays in the list, so the office knows it exists, but without its
  subject, its sender or a link;
* ``GET /letters/sent``: หนังสือออก, with how many recipients have registered each letter;
* ``GET /letters/<id>``: one letter (:func:`render_letter`): its details, its attachments with
  the first PDF shown in the page, ลงรับ and ส่งคืน while it waits, for an outgoing letter
  each recipient's state and steps with their times (:mod:`node.web.tracking`), its
  history, and the workflow forms (``_workflow.html``);
* ``POST /letters/<id>/register`` and ``POST /letters/<id>/return``: ลงรับ and ส่งคืน (once
  per form: :func:`node.web.kit.once`), through the same functions as the local API;
* ``GET /letters/<id>/files/<sha256>`` (``?download=1`` to save it) and
  ``GET /letters/<id>/files/<sha256>/stamped``: an attachment, and a received PDF with the
  receipt stamp. Every view and download of a classified letter, and every refused attempt,
  is written to the audit chain. A received sealed letter is shown opened, its files
  served decrypted (:mod:`node.web.sealed`).

People, units and offices are shown by their Thai names (:mod:`node.web.names`): who did
each step of the history, whom a letter is with, and the sending unit under จาก only when it
says more than the office's name.

Does not: decide who may open a classified letter (:mod:`node.records.access`), register or return
a letter itself (:mod:`node.records.inbox`), or draw the receipt stamp
(:mod:`node.printing.registers`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, render_template, request, send_file, url_for
from werkzeug.wrappers import Response as BaseResponse

from node.api.kit import ctx, store
from node.errors import BadInput, Conflict, NotFound
from node.printing import registers as reports
from node.records import inbox as receiving
from node.records import letters
from node.records.workflow import STAGE_TITLES
from node.records.worklist import HIDDEN_SUBJECT_TH
from node.storage.blobs import blob_path, has_blob
from node.web.kit import (
    FILE_KINDS,
    Done,
    actor,
    done,
    field,
    human_size,
    once,
    open_letter,
    openable_row,
    record_classified,
    requires,
    sniff,
    viewer,
)
from node.web.names import Names
from node.web.sealed import is_received_sealed, opened_page
from node.web.tracking import PAPER_CHANNEL, tracking_rows
from protocol.lettertypes import DEADLINE_SPEED, LETTER_TYPE_TITLES

bp = Blueprint("web_letters", __name__)

INBOX_FILTERS: dict[str, tuple[str, frozenset[str] | None]] = {
    "waiting": ("รอลงรับ", frozenset({"delivered"})),
    "registered": ("ลงรับแล้ว", frozenset({"registered"})),
    "all": ("ทั้งหมด", None),
}
"""The tabs of หนังสือเข้า: ``?state=`` -> (Thai title, the letter states it shows)."""

LIST_LIMIT = 200
_FETCH_LIMIT = 2000  # read before filtering by state, so old waiting letters still show

OUT_STATE_TH = {
    "queued": "รอส่ง",
    "sent": "ส่งแล้ว",
    "dispatched": "ส่งแล้ว",
    "withdrawn": "ถอนแล้ว",
}

PDF = "application/pdf"
IMAGE_KINDS = frozenset({"image/jpeg", "image/png"})
INLINE_KINDS = IMAGE_KINDS | {PDF}
"""What a browser may show inside the page; everything else is only ever downloaded."""

HISTORY_NOTES = (
    ("receipt_number", "เลขรับ"),
    ("number", "เลขที่"),
    ("reason", "เหตุผล"),
    ("minute", "เกษียน"),
    ("instruction", "สั่งการ"),
    ("from", "จาก"),
    ("to", "ถึง"),
    ("note", "หมายเหตุ"),
    ("office", "หน่วยงาน"),
)
"""Details of a history step worth showing, with their Thai labels."""

HOLDER_NOTES = frozenset({"from", "to"})
"""Details that name whom a letter went to or came from (a user or a unit), shown by name."""

RECEIPT_TITLES = {
    "receipt_delivered": "หนังสือถึงผู้รับ",
    "receipt_registered": "ผู้รับลงรับแล้ว",
    "receipt_returned": "ผู้รับส่งคืนหนังสือ",
    "receipt_invalid": "ผู้รับแจ้งว่าหนังสือไม่ถูกต้อง",
}
"""Recipients' answers in an outgoing letter's history (their audit rows)."""

_SHA256 = re.compile(r"[0-9a-f]{64}")


# -- the lists ----------------------------------------------------------------------------


@bp.get("/letters/inbox")
@requires()
def inbox() -> str:
    default = "waiting" if viewer().may("receive") else "all"
    state = request.args.get("state") or default
    if state not in INBOX_FILTERS:
        raise BadInput(f"unknown state filter {state!r}", message_th="ตัวกรองสถานะไม่ถูกต้อง")
    states = INBOX_FILTERS[state][1]
    visible = letters.list_letters(store(), "inbox", limit=_FETCH_LIMIT, viewer=viewer())
    rows = [r for r in visible if states is None or r["state"] in states]
    rows += _hidden_incoming(states)
    rows.sort(key=lambda r: int(r["id"]), reverse=True)
    names = Names()
    for r in rows:
        r["origin_name"] = names(r["origin"]) if r.get("origin") else ""
    return render_template(
        "letters.html",
        box="inbox",
        rows=rows[:LIST_LIMIT],
        more=len(rows) > LIST_LIMIT,
        filters=INBOX_FILTERS,
        state=state,
    )


def _hidden_incoming(states: frozenset[str] | None) -> list[dict[str, Any]]:
    """Classified incoming letters this user may not open: that they exist, nothing more."""
    v = viewer()
    if v.sees_all_classified:
        return []
    rows = store().query(
        "SELECT id, number, speed, secrecy, received_at, state, assigned_to FROM letters "
        "WHERE direction = 'in' AND COALESCE(secrecy, '') != '' ORDER BY id DESC LIMIT ?",
        (_FETCH_LIMIT,),
    )
    return [
        {
            "id": r["id"],
            "number": r["number"],
            "speed": r["speed"],
            "secrecy": r["secrecy"],
            "received_at": r["received_at"],
            "state": r["state"],
            "stage_th": STAGE_TITLES.get(r["state"], ""),
            "subject": HIDDEN_SUBJECT_TH,
            "origin": "",
            "receipt_number": None,
            "hidden": True,
        }
        for r in rows
        if not v.may_open(r) and (states is None or r["state"] in states)
    ]


@bp.get("/letters/sent")
@requires()
def sent() -> str:
    rows = letters.list_letters(store(), "sent", limit=LIST_LIMIT, viewer=viewer())
    progress = _progress([int(r["id"]) for r in rows])
    for r in rows:
        r.update(progress.get(int(r["id"]), {"total": 0, "electronic": 0, "registered": 0}))
        r["state_th"] = OUT_STATE_TH.get(r["state"], r["stage_th"])
    return render_template(
        "letters.html", box="sent", rows=rows, drafts_url=_link("web_compose.drafts")
    )


def _progress(letter_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per letter: recipients in all, those reached through the system, and registered."""
    if not letter_ids:
        return {}
    marks = ", ".join("?" for _ in letter_ids)
    # Only placeholders are formatted into the statement.
    rows = store().query(
        "SELECT letter, COUNT(*) AS total, "  # noqa: S608
        f"SUM(COALESCE(channel, 'hub') != '{PAPER_CHANNEL}') AS electronic, "
        "SUM(state = 'registered') AS registered "
        f"FROM recipients WHERE letter IN ({marks}) GROUP BY letter",
        letter_ids,
    )
    return {
        int(r["letter"]): {
            "total": int(r["total"] or 0),
            "electronic": int(r["electronic"] or 0),
            "registered": int(r["registered"] or 0),
        }
        for r in rows
    }


# -- one letter ---------------------------------------------------------------------------


@bp.get("/letters/<int:letter_id>")
@requires()
def letter(letter_id: int) -> tuple[str, int]:
    return render_letter(letter_id)


def render_letter(
    letter_id: int,
    *,
    error: str | None = None,
    form: Mapping[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The letter's page, with ``error`` over it and ``form`` (what was typed) in its forms.

    A classified letter the user may not open raises
    :class:`node.web.kit.ClassifiedRefused` (403) after recording the attempt."""
    row = open_letter(letter_id)
    names = Names()
    row, files = opened_page(row) if is_received_sealed(row) else (row, _files(row))
    origin_name = names(row["origin"]) if row.get("origin") else ""
    page = render_template(
        "letter.html",
        letter=row,
        error=error,
        form=form if form is not None else {},
        type_title=LETTER_TYPE_TITLES.get(row.get("letter_type") or "", row.get("letter_type")),
        origin_name=origin_name,
        sender_line=_sender_line(row, origin_name),
        holder=names.holder(row.get("assigned_to")),
        addressees=[names(o) for o in row.get("recipients") or []],
        parties=_json_list(row.get("parties")),
        has_deadline=row.get("speed") == DEADLINE_SPEED and bool(row.get("deadline")),
        files=files,
        pdf=next((f for f in files if f["inline"] == "pdf"), None),
        may_receive=_waiting(row) and viewer().may("receive"),
        stamped=row["direction"] == "in" and bool(row.get("receipt_number")),
        may_stamp=viewer().may("receive"),
        tracking=tracking_rows(row, names) if row["direction"] == "out" else [],
        edit_url=_link("web_compose.edit", letter_id=letter_id) if _is_draft(row) else None,
        back=_back(row),
        history=[_step(h, names) for h in row["history"]],
    )
    return page, status


def _waiting(row: Mapping[str, Any]) -> bool:
    return row["direction"] == "in" and row["state"] == "delivered" and not row.get("paper")


def _is_draft(row: Mapping[str, Any]) -> bool:
    return row["direction"] == "out" and row["state"] in ("draft", "numbered")


def _back(row: Mapping[str, Any]) -> tuple[str, str]:
    if row["direction"] == "in":
        return url_for("web_letters.inbox", state="all"), "หนังสือเข้า"
    drafts = _link("web_compose.drafts")
    if _is_draft(row) and drafts:
        return drafts, "ร่างหนังสือ"
    return url_for("web_letters.sent"), "หนังสือออก"


def _files(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The letter's attachments as the page lists them; the first PDF and images inline."""
    root = ctx().blob_dir()
    out: list[dict[str, Any]] = []
    first_pdf = True
    for a in row.get("attachments") or []:
        sha = str(a.get("sha256", "")).lower()
        media = str(a.get("media_type", ""))
        present = bool(_SHA256.fullmatch(sha)) and has_blob(root, sha)
        inline = ""
        if present and media == PDF and first_pdf:
            inline, first_pdf = "pdf", False
        elif present and media in IMAGE_KINDS:
            inline = "image"
        url = url_for("web_letters.attachment", letter_id=row["id"], sha=sha) if present else ""
        out.append(
            {
                "sha256": sha,
                "name": str(a.get("name") or sha[:12]),
                "kind": FILE_KINDS.get(media, media or "ไฟล์"),
                "size_th": human_size(int(a.get("size") or 0)),
                "present": present,
                "inline": inline,
                "url": url,
                "download_url": f"{url}?download=1" if present else "",
                "is_pdf": media == PDF,
            }
        )
    return out


def _sender_line(row: Mapping[str, Any], origin_name: str) -> str:
    """The sending unit under จาก, when it says more than the office's name and id shown
    above it (a letter from the office as a whole names it once)."""
    sender = str(row.get("sender") or "").strip()
    if not sender or sender in (origin_name, row.get("origin")):
        return ""
    return sender


def _note(key: str, value: str, names: Names) -> str:
    if key in HOLDER_NOTES:
        return names.holder(value)
    return names.office(value) if key == "office" else value


def _step(h: Mapping[str, Any], names: Names) -> dict[str, Any]:
    """One step of the history timeline: who did it by name, and its details in Thai."""
    detail = h.get("detail") or {}
    notes = [
        (label, _note(key, str(detail[key]), names))
        for key, label in HISTORY_NOTES
        if isinstance(detail, dict) and detail.get(key) not in (None, "", [])
    ]
    return {
        "action_th": RECEIPT_TITLES.get(str(h.get("action")), h["action_th"]),
        "actor": names.actor(h.get("actor")),
        "at": h["at"],
        "notes": notes,
    }


def _link(endpoint: str, **values: Any) -> str | None:
    """The address of another module's page, or None while that page does not exist."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


# -- ลงรับ and ส่งคืน ------------------------------------------------------------------------


@bp.post("/letters/<int:letter_id>/register")
@requires("receive")
def register(letter_id: int) -> BaseResponse | tuple[str, int]:
    openable_row(letter_id)

    def act() -> Done:
        number = receiving.register_receipt(ctx(), store(), letter_id, actor())["receipt_number"]
        return done(f"ลงรับแล้ว เลขรับ {number}", "web_letters.letter", letter_id=letter_id)

    try:
        return once(act)
    except (BadInput, Conflict) as e:
        return render_letter(letter_id, error=e.message_th, status=e.status)


@bp.post("/letters/<int:letter_id>/return")
@requires("receive")
def return_letter(letter_id: int) -> BaseResponse | tuple[str, int]:
    openable_row(letter_id)

    def act() -> Done:
        reason = field("reason", "เหตุผลที่ส่งคืน", max_len=500)
        receiving.return_letter(ctx(), store(), letter_id, reason, actor())
        return done("ส่งคืนแล้ว", "web_letters.letter", letter_id=letter_id)

    try:
        return once(act)
    except (BadInput, Conflict) as e:
        return render_letter(letter_id, error=e.message_th, form=request.form, status=e.status)


# -- files ---------------------------------------------------------------------------------


@bp.get("/letters/<int:letter_id>/files/<sha>")
@requires()
def attachment(letter_id: int, sha: str) -> BaseResponse:
    row = openable_row(letter_id)
    entry = _listed(row, sha)
    sha = str(entry["sha256"]).lower()
    path = blob_path(ctx().blob_dir(), sha)
    if row.get("secrecy"):
        record_classified(letter_id, "download_classified", {"sha256": sha})
    claimed = str(entry.get("media_type") or "")
    media = claimed if claimed in FILE_KINDS else "application/octet-stream"
    name = str(entry.get("name") or sha[:12])
    with path.open("rb") as f:
        sniffed = sniff(name, f.read(8))
    inline = media in INLINE_KINDS and sniffed == media and request.args.get("download") != "1"
    resp = send_file(path, mimetype=media, conditional=True)
    ascii_name = f"letter-{letter_id}-{sha[:12]}{_suffix(name)}"
    resp.headers["Content-Disposition"] = _disposition(inline, ascii_name, name)
    return _private(resp)


@bp.get("/letters/<int:letter_id>/files/<sha>/stamped")
@requires("receive")
def stamped(letter_id: int, sha: str) -> BaseResponse:
    row = openable_row(letter_id)
    entry = _listed(row, sha)
    data = reports.stamped_copy(ctx(), store(), letter_id, str(entry["sha256"]), viewer())
    if row.get("secrecy"):
        record_classified(
            letter_id, "download_classified", {"sha256": entry["sha256"], "stamped": True}
        )
    name = str(entry.get("name") or "หนังสือรับ")
    stem = name[: -len(_suffix(name))] if _suffix(name) else name
    resp = Response(data, mimetype=PDF)
    resp.headers["Content-Disposition"] = _disposition(
        False, f"letter-{letter_id}-{sha[:12]}-stamped.pdf", f"{stem} (ประทับตรารับ).pdf"
    )
    return _private(resp)


def _listed(row: Mapping[str, Any], sha: str) -> dict[str, Any]:
    """The letter's own attachment ``sha`` whose bytes this node holds; NotFound otherwise."""
    wanted = sha.strip().lower()
    entry = next(
        (
            a
            for a in _json_list(row.get("attachments"))
            if isinstance(a, dict) and str(a.get("sha256", "")).lower() == wanted
        ),
        None,
    )
    if entry is None or not _SHA256.fullmatch(wanted):
        raise NotFound(
            f"letter {row['id']} has no attachment {sha}", message_th="ไม่พบไฟล์แนบนี้ในหนังสือ"
        )
    if not has_blob(ctx().blob_dir(), wanted):
        raise NotFound(
            f"attachment {wanted} is not here yet",
            message_th="ยังไม่ได้รับไฟล์แนบนี้จากศูนย์กลาง กรุณาซิงค์แล้วลองใหม่",
        )
    return entry


def _json_list(raw: Any) -> list[Any]:
    try:
        value = json.loads(raw or "[]")
    except (TypeError, ValueError):
        return []
    return value if isinstance(value, list) else []


def _suffix(name: str) -> str:
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    return f".{ext}" if ext.isascii() and ext.isalnum() and len(ext) <= 5 else ""


def _disposition(inline: bool, ascii_name: str, name: str) -> str:
    """``inline`` or ``attachment`` with an ASCII name and the Thai one (RFC 5987)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in ascii_name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{safe}\"; filename*=UTF-8''{quote(name, safe='')}"


def _private(resp: BaseResponse) -> BaseResponse:
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
