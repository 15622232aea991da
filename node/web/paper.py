"""The clerk's pages: ลงรับหนังสือกระดาษ, a letter that came on paper entered with its scan.

Routes (blueprint ``web_paper``):

* ``GET/POST /paper/new`` (``web_paper.paper``): the form (เลขที่หนังสือ, ลงวันที่, จาก,
  เรียน/ถึง, เรื่อง, ชนิดและประเภทย่อย, ชั้นความเร็ว, ชั้นความลับ, ไฟล์สแกน) for whoever may
  receive; registering it goes to the letter's page with its เลขรับ, once per
  form (:func:`node.web.kit.once`). A letter that looks registered already (same sender
  and number, or same sender, date and subject: :mod:`node.records.duplicates`) shows the
  form again with the earlier entry and a box to tick to register it all the same.

ลงวันที่ is read as clerks type it (``1 ธ.ค. 69``, ``1/12/2569``: :mod:`node.web.dates`) and
said back as understood next to the field and in the confirmation. เรื่อง has the limit of
:data:`protocol.limits.MAX_SUBJECT`, named next to the field; a longer one is refused, never
cut. ชั้นความลับ is offered only to the registrar of classified letters and assistants; such a
letter takes its number from the ลับ register. Scans are judged by their bytes
(:data:`node.web.kit.SCAN_KINDS`).

Does not: number or store the letter (:func:`node.records.inbox.register_paper_letter` does) or
show it
(:mod:`node.web.letters`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from node.api.kit import ctx, store
from node.errors import BadInput, NodeError
from node.records import inbox
from node.records.duplicates import PossibleDuplicate
from node.web import kit as webkit
from node.web.dates import EXAMPLES_TH, typed_date
from node.web.kit import actor, choice, field, requires, viewer
from protocol.lettertypes import (
    LETTER_TYPE_TITLES,
    LETTER_TYPES,
    SECRECY_CLASSES,
    SPEED_CLASSES,
    SUB_TYPES,
)
from protocol.limits import MAX_SUBJECT
from protocol.thai import format_thai_date
from protocol.typed_dates import MAX_TYPED_DATE

bp = Blueprint("web_paper", __name__)

MAX_NUMBER = 100
MAX_PARTY = 300
DEFAULT_TYPE = "ภายนอก"
CONFIRM_FIELD = "confirm_duplicate"
"""The box a clerk ticks to register a letter that looks registered already."""

_SCAN_NAMES = ", ".join(webkit.FILE_KINDS[k] for k in webkit.SCAN_KINDS)
_SCAN_ACCEPT = ".pdf,.jpg,.jpeg,.png,.tif,.tiff," + ",".join(webkit.SCAN_KINDS)


class SecrecyRefused(webkit.Forbidden):
    """A classified paper letter entered by someone who is not the registrar."""

    message_th = "คุณไม่มีสิทธิ์ลงรับหนังสือชั้นความลับ ให้นายทะเบียนหนังสือลับเป็นผู้ลงรับ (ยังไม่ได้บันทึกสิ่งใด)"


def _choices() -> dict[str, Any]:
    may_classify = viewer().may("receive_classified")
    return {
        **webkit.kind_choices(),
        "secrecies": [s for s in SECRECY_CLASSES if s] if may_classify else [],
        "scan_names": _SCAN_NAMES,
        "scan_accept": _SCAN_ACCEPT,
        "max_file_mb": webkit.MAX_FILE_BYTES // (1024 * 1024),
        "date_examples": EXAMPLES_TH,
        "limits": {
            "number": MAX_NUMBER,
            "date": MAX_TYPED_DATE,
            "party": MAX_PARTY,
            "subject": MAX_SUBJECT,
        },
    }


def _letter_type() -> tuple[str, str | None]:
    letter_type = choice("letter_type", "ชนิดหนังสือ", LETTER_TYPES) or DEFAULT_TYPE
    sub_type = choice("sub_type", "ประเภทย่อย", webkit.ALL_SUB_TYPES)
    allowed = SUB_TYPES[letter_type]
    title = LETTER_TYPE_TITLES.get(letter_type, letter_type)
    if allowed and sub_type not in allowed:
        raise BadInput(
            f"{letter_type} needs a sub-type",
            code="sub_type_required",
            message_th=f"กรุณาเลือกประเภทย่อยของ{title} ({' '.join(allowed)})",
        )
    if not allowed and sub_type:
        raise BadInput(
            f"{letter_type} has no sub-type",
            code="bad_sub_type",
            message_th=f"{title}ไม่มีประเภทย่อย กรุณาเลือกประเภทย่อยเป็น “ไม่มี”",
        )
    return letter_type, sub_type or None


def _register() -> tuple[dict[str, Any], date | None]:
    """Register the paper letter of the form; its result and its ลงวันที่ as understood."""
    secrecy = choice("secrecy", "ชั้นความลับ", SECRECY_CLASSES)
    if secrecy and not viewer().may("receive_classified"):
        raise SecrecyRefused(f"{actor()} may not register a {secrecy} letter")
    number = field("number", "เลขที่หนังสือ", required=False, max_len=MAX_NUMBER)
    letter_day = typed_date("letter_date", "ลงวันที่")
    origin = field("origin", "หน่วยงานผู้ส่ง", max_len=MAX_PARTY)
    addressee = field("addressee", "เรียน/ถึง", required=False, max_len=MAX_PARTY)
    subject = field("subject", "เรื่อง", max_len=MAX_SUBJECT)
    letter_type, sub_type = _letter_type()
    speed = choice("speed", "ชั้นความเร็ว", SPEED_CLASSES)
    scans = webkit.uploads(
        "scan", "ไฟล์สแกน", kinds=webkit.SCAN_KINDS, max_bytes=webkit.MAX_FILE_BYTES
    )
    result = inbox.register_paper_letter(
        ctx(),
        store(),
        subject=subject,
        origin=origin,
        number=number,
        letter_date=letter_day.isoformat() if letter_day else "",
        addressee=addressee,
        secrecy=secrecy,
        speed=speed,
        letter_type=letter_type,
        sub_type=sub_type,
        attachments=scans,
        clerk=actor(),
        confirm_duplicate=request.form.get(CONFIRM_FIELD) == "yes",
    )
    return result, letter_day


@bp.route("/paper/new", methods=["GET", "POST"])
@requires("receive")
def paper() -> BaseResponse | str | tuple[str, int]:
    if request.method == "GET":
        return render_template("paper.html", form={}, error=None, **_choices())

    def act() -> webkit.Done:
        result, letter_day = _register()
        said = f"ลงรับแล้ว เลขรับ {result['receipt_number']}"
        if letter_day is not None:
            said += f" ลงวันที่ {format_thai_date(letter_day)}"
        return webkit.done(said, "web_letters.letter", letter_id=result["id"])

    try:
        return webkit.once(act)
    except PossibleDuplicate as e:
        earlier = {**e.earlier, "url": url_for("web_letters.letter", letter_id=e.earlier["id"])}
        return webkit.form_error("paper.html", e, duplicate=earlier, **_choices())
    except NodeError as e:
        return webkit.form_error("paper.html", e, **_choices())
