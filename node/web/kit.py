"""What every page module of the clerk's web pages uses.

* the signed-in user (:func:`user`, :func:`viewer`, :func:`actor`) and :func:`requires`,
  which sends a stranger to the login page and refuses a role without the permission
  (:data:`node.records.access.PERMISSIONS`) with a Thai 403 page;
* form fields read with a Thai message for each mistake (:func:`field`, :func:`choice`,
  :func:`uploads`); uploaded files are judged by their bytes, not by the name or the type
  the browser claims (:func:`sniff`);
* :func:`open_letter`: a letter as this user may see it. A classified letter the user may
  not open answers 403 without its subject (others may know it exists, never what it
  says); every view and every download of a classified letter is written to the audit
  chain, and so is every refused attempt.
* :func:`form_error` re-renders a form with the Thai message and what was typed;
* :func:`once` runs a form's action once for the idempotency key of its page and answers
  with a redirect (post/redirect/get) to what the action's :func:`done` names, with its Thai
  confirmation; the same key again (a double click, Back and submit again) gets that
  answer and nothing is done again (:mod:`node.storage.idempotency`).

Does not: define routes (each ``node/web_*.py`` does) or check passwords.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as BaseResponse

from node.api.kit import ctx, store
from node.errors import BadInput, NodeError, NotFound
from node.records import letters
from node.records.access import Viewer
from node.records.letters import NewAttachment
from node.storage import audit
from node.storage.idempotency import Claim, Outcome, run_once
from node.web.session import form_key, login_required
from protocol.lettertypes import LETTER_TYPE_TITLES, LETTER_TYPES, SPEED_CLASSES, SUB_TYPES
from protocol.thai import normalize_thai

F = TypeVar("F", bound=Callable[..., Any])

FILE_KINDS: dict[str, str] = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/tiff": "TIFF",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.oasis.opendocument.text": "ODT",
}
"""Media types a clerk may attach, with the names shown to them."""

SCAN_KINDS = ("application/pdf", "image/jpeg", "image/png", "image/tiff")
"""What a scanned paper letter may be."""

MAX_FILE_BYTES = 20 * 1024 * 1024
"""Largest single file from a web form (the request as a whole: ``MAX_UPLOAD_BYTES``)."""

MAX_FILES = 20

_ZIP_KINDS = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text",
}


ALL_SUB_TYPES = tuple(s for subs in SUB_TYPES.values() for s in subs)
"""Every sub-type of every letter type, for checking a form's choice."""


def kind_choices() -> dict[str, Any]:
    """What the form fields of a letter's kind offer (``_kind_fields.html``): the types with
    their Thai titles, the sub-types grouped by type, and the speed classes."""
    return {
        "letter_types": [(t, LETTER_TYPE_TITLES.get(t, t)) for t in LETTER_TYPES],
        "sub_types": [
            (LETTER_TYPE_TITLES.get(t, t), subs) for t, subs in SUB_TYPES.items() if subs
        ],
        "speeds": [s for s in SPEED_CLASSES if s],
    }


class Forbidden(NodeError):
    """The user's roles do not allow this page or action."""

    status = 403
    code = "forbidden"
    message_th = "คุณไม่มีสิทธิ์ใช้งานส่วนนี้"


class ClassifiedRefused(NodeError):
    """A classified letter the user is not entitled to open."""

    status = 403
    code = "classified"
    message_th = "หนังสือนี้เป็นหนังสือชั้นความลับ เปิดได้เฉพาะผู้มีสิทธิ์เท่านั้น"


# -- who is signed in --------------------------------------------------------------------


def user() -> dict[str, Any]:
    """The signed-in user's row (only inside a view behind :func:`requires`)."""
    row: dict[str, Any] = g.user
    return row


def viewer() -> Viewer:
    """The signed-in user as :class:`node.records.access.Viewer`."""
    v: Viewer = g.viewer
    return v


def actor() -> str:
    """The name written to the audit chain for what this user does."""
    return str(g.user["username"])


def requires(action: str | None = None) -> Callable[[F], F]:
    """Sign-in required (:func:`node.web.session.login_required`); with ``action``, also
    that permission (else a Thai 403 page)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if action is not None and not viewer().may(action):
                raise Forbidden(f"{actor()} may not {action}")
            return view(*args, **kwargs)

        return login_required(cast(F, wrapper))

    return decorate


# -- form fields ---------------------------------------------------------------------------


def field(name: str, label_th: str, *, required: bool = True, max_len: int = 500) -> str:
    """A text field, stripped and Thai-normalised; a Thai message when missing or too long."""
    raw = request.form.get(name, "")
    if "\x00" in raw:
        raise BadInput(f"{name} holds a NUL", code="bad_field", message_th=f"{label_th}ไม่ถูกต้อง")
    value = normalize_thai(raw).strip()
    if required and not value:
        raise BadInput(f"{name} is required", code="required", message_th=f"กรุณากรอก{label_th}")
    if len(value) > max_len:
        raise BadInput(
            f"{name} is longer than {max_len}",
            code="too_long",
            message_th=(
                f"{label_th}ยาวเกิน {max_len:,} ตัวอักษร (พิมพ์มา {len(value):,} ตัวอักษร)"
                " กรุณาย่อให้สั้นลง ระบบยังไม่ได้บันทึก"
            ),
        )
    return value


def choice(name: str, label_th: str, allowed: Iterable[str], *, required: bool = False) -> str:
    """One of ``allowed`` (or empty when not required); a Thai message otherwise."""
    value = request.form.get(name, "").strip()
    if not value:
        if required:
            raise BadInput(f"{name} is required", code="required", message_th=f"กรุณาเลือก{label_th}")
        return ""
    if value not in set(allowed):
        raise BadInput(f"{name}={value!r}", code="bad_choice", message_th=f"{label_th}ไม่ถูกต้อง")
    return value


def sniff(filename: str, head: bytes) -> str | None:
    """The media type of a file judged by its first bytes (and, for zip-based office
    files, its extension), or None when it is none of :data:`FILE_KINDS`."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"PK\x03\x04"):
        suffix = "." + filename.rpartition(".")[2].lower() if "." in filename else ""
        return _ZIP_KINDS.get(suffix)
    return None


def _kinds_th(kinds: Iterable[str]) -> str:
    return ", ".join(FILE_KINDS[k] for k in kinds)


def _one_upload(f: FileStorage, kinds: tuple[str, ...], max_bytes: int) -> NewAttachment:
    name = normalize_thai((f.filename or "").replace("\\", "/").rpartition("/")[2]).strip()
    if not name or len(name) > 200:
        raise BadInput("bad file name", code="bad_file", message_th="ชื่อไฟล์ไม่ถูกต้อง")
    content = f.stream.read(max_bytes + 1)
    if not content:
        raise BadInput(f"{name} is empty", code="empty_file", message_th=f"ไฟล์ {name} ว่างเปล่า")
    if len(content) > max_bytes:
        raise BadInput(
            f"{name} is over {max_bytes} bytes",
            code="file_too_large",
            message_th=f"ไฟล์ {name} มีขนาดเกิน {max_bytes // (1024 * 1024)} MB",
        )
    media = sniff(name, content[:8])
    if media not in kinds:
        raise BadInput(
            f"{name} is not one of {kinds}",
            code="bad_file_type",
            message_th=f"ไฟล์ {name} ไม่ใช่ชนิดที่รับได้ (รับ {_kinds_th(kinds)})",
        )
    return NewAttachment(name, media, content)


def uploads(
    name: str,
    label_th: str,
    *,
    kinds: tuple[str, ...] = tuple(FILE_KINDS),
    required: bool = False,
    max_bytes: int = MAX_FILE_BYTES,
    max_files: int = MAX_FILES,
) -> list[NewAttachment]:
    """The files of one ``<input type=file>`` field, each checked by its content."""
    files = [f for f in request.files.getlist(name) if f and f.filename]
    if required and not files:
        raise BadInput(f"{name} is required", code="required", message_th=f"กรุณาแนบ{label_th}")
    if len(files) > max_files:
        raise BadInput(
            f"more than {max_files} files",
            code="too_many_files",
            message_th=f"แนบได้ไม่เกิน {max_files} ไฟล์",
        )
    return [_one_upload(f, kinds, max_bytes) for f in files]


# -- letters as this user may see them -----------------------------------------------------


def record_classified(letter_id: int, action: str, detail: dict[str, Any] | None = None) -> None:
    """Write one view, download or refusal of a classified letter to the audit chain."""
    s = store()
    with s.transaction():
        audit.record(s, ctx().now(), actor(), action, f"letter:{letter_id}", detail or {})


def openable_row(letter_id: int) -> dict[str, Any]:
    """The letter's row if this user may open it; a refused classified letter is recorded
    (``classified_refused``) and raises :class:`ClassifiedRefused`."""
    row = store().one("SELECT * FROM letters WHERE id = ?", (letter_id,))
    if row is None:
        raise NotFound(f"no letter {letter_id}", message_th="ไม่พบหนังสือ")
    if not viewer().may_open(row):
        record_classified(letter_id, "classified_refused")
        raise ClassifiedRefused(f"{actor()} may not open letter {letter_id}")
    return row


def open_letter(letter_id: int) -> dict[str, Any]:
    """The letter with tracking and history, as :func:`node.records.letters.get_letter` gives it.

    A classified letter is recorded as viewed (``view_classified``); one this user may not
    open raises :class:`ClassifiedRefused` after recording the attempt."""
    openable_row(letter_id)
    letter = letters.get_letter(store(), letter_id, viewer=viewer())
    if letter.get("secrecy"):
        record_classified(letter_id, "view_classified")
    return letter


def human_size(size: int) -> str:
    """``850 ไบต์``, ``12.5 KB``, ``3.2 MB``."""
    if size < 1024:
        return f"{size:,} ไบต์"
    if size < 1024 * 1024:
        return f"{size / 1024:,.1f} KB"
    return f"{size / (1024 * 1024):,.1f} MB"


# -- answers ---------------------------------------------------------------------------------


def form_error(template: str, error: NodeError, **context: Any) -> tuple[str, int]:
    """The form again, with the Thai message and what was typed (``form``)."""
    page = render_template(template, error=error.message_th, form=request.form, **context)
    return page, error.status


REPEATED_TH = "(คำขอนี้ดำเนินการไปแล้ว ระบบไม่ได้ดำเนินการซ้ำ)"
"""Added to the confirmation when a form's key came again and its first answer is shown."""


@dataclass(frozen=True)
class Done:
    """What a form's action leads to: a Thai confirmation and the page to show it on."""

    message_th: str
    location: str


def done(message_th: str, endpoint: str, **values: Any) -> Done:
    """The answer of a form's action (given by :func:`once`): ``message_th`` on ``endpoint``."""
    return Done(message_th, url_for(endpoint, **values))


def once(act: Callable[[], Done]) -> BaseResponse:
    """Run ``act`` once for this form's idempotency key, in one transaction with the record
    of its answer; flash the Thai confirmation and redirect (post/redirect/get).

    The same key again waits for the first request and gets its answer, marked
    :data:`REPEATED_TH`; a key of another form or user raises
    :class:`node.storage.idempotency.KeyReused`. A refused action raises its error and
    records nothing, so the form can be sent again."""
    action = request.form.get("action")
    route = f"{request.method} {request.path}" + (f" {action}" if action else "")
    claim = Claim(form_key(), who=actor(), route=route)

    def answered() -> Outcome:
        result = act()
        return Outcome(302, result.location, result.message_th)

    outcome = run_once(store(), claim, ctx().now(), answered)
    flash(f"{outcome.body} {REPEATED_TH}" if outcome.replayed else outcome.body)
    return redirect(outcome.location or url_for("web.home"))
