"""The clerk's pages for writing and sending letters: compose, drafts, ออกเลข and ส่ง.

Routes (blueprint ``web_compose``):

* ``GET/POST /compose`` (``web_compose.compose``): a new letter (ชนิด, ประเภทย่อย, ชั้นความเร็ว
  with the deadline of ด่วนภายใน, ชั้นความลับ for the registrar only, the owning unit, เรื่อง,
  เรียน, อ้างถึง, สิ่งที่ส่งมาด้วย, ข้อความ, the offices and distribution lists of the
  hub-signed directory, outside parties reached on paper with the dispatch method, and
  attachments). "บันทึกร่าง" keeps it as a draft; "ออกเลขและส่ง" numbers and dispatches it in
  one step and goes to the letter's page.
* ``GET/POST /compose/<id>`` (``web_compose.edit``): a kept draft; "บันทึกร่าง" saves the
  changes, "ออกเลข" numbers it (its kind, unit, secrecy and lists are fixed from then on and
  shown read-only), "ส่ง" dispatches it. The changes typed with ออกเลข or ส่ง are saved in the
  same transaction, so a refused step stores nothing.
* ``GET /drafts`` (``web_compose.drafts``): the drafts and the numbered letters not yet sent.

Writing drafts needs the ``compose`` permission; numbering and dispatch need ``send``.
Each form is acted on once (:func:`node.web.kit.once`): a double click on ส่ง or Back and
ส่ง again shows the one letter sent, with its one number. The commit of a send starts a
sync at once (:mod:`node.sync.live`); the page never waits for the hub, and its
confirmation says whether the letter has left or waits in the outbox.

Does not: check a draft, number or dispatch it (:mod:`node.records.drafts`,
:mod:`node.records.outgoing`),
show a sent letter and its tracking (:mod:`node.web.letters`), or add files to a kept draft.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from node.api.kit import ctx, store
from node.errors import BadInput, NodeError
from node.records import drafts as drafting
from node.records import letters, outgoing, units
from node.records.directory import load_trusted
from node.records.drafts import DRAFT_STATES, Draft
from node.storage.feed import ACCEPTED
from node.sync.health import node_status
from node.web import kit as webkit
from node.web.kit import actor, choice, field, requires, viewer
from protocol.lettertypes import DEADLINE_SPEED, LETTER_TYPES, SECRECY_CLASSES, SPEED_CLASSES
from protocol.limits import MAX_SUBJECT
from protocol.messages import MAX_TEXT
from protocol.thai import BANGKOK, normalize_thai

bp = Blueprint("web_compose", __name__)

MAX_SALUTATION = 300
MAX_LINES = 5000
"""อ้างถึง, สิ่งที่ส่งมาด้วย and ผู้รับภายนอก: one item a line, this many characters in all."""
MAX_DEADLINE = 40
MAX_CHOSEN = 1000
"""Most offices or lists one letter may name."""

FIXED_WHEN_NUMBERED = ("letter_type", "sub_type", "unit", "secrecy", "lists")
"""What :func:`node.records.drafts.update_draft` refuses to change once the number is issued."""

EDIT_ACTIONS = ("save", "number", "send")
"""บันทึกร่าง, ออกเลข and ส่ง on a kept draft (a new letter: บันทึกร่าง and ออกเลขและส่ง)."""

_PENDING_TH = "รอส่ง จะส่งเมื่อเชื่อมต่อศูนย์กลางได้"
_LEAVING_TH = "กำลังส่งไปยังศูนย์กลาง"


class SendRefused(webkit.Forbidden):
    """Numbering or dispatch asked for by someone who may only write drafts."""

    message_th = (
        "คุณไม่มีสิทธิ์ออกเลขและส่งหนังสือ กรุณาบันทึกร่างไว้ให้เจ้าหน้าที่สารบรรณเป็นผู้ออกเลขและส่ง (ยังไม่ได้บันทึกสิ่งใด)"
    )


class SecrecyRefused(webkit.Forbidden):
    """A classified letter written by someone who is not the registrar."""

    message_th = "คุณไม่มีสิทธิ์กำหนดชั้นความลับ ให้นายทะเบียนหนังสือลับเป็นผู้จัดทำ (ยังไม่ได้บันทึกสิ่งใด)"


# -- what the form offers ------------------------------------------------------------------


def _office_label(code: str, entry: dict[str, Any], seeds: dict[str, dict[str, str]]) -> str:
    name = str(entry.get("name") or "")
    if not name or name == code:
        name = seeds.get(code, {}).get("name", "")
    return f"{code} {name}" if name else code


def _directory() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The offices a letter may go to (``(code, label)``) and the distribution lists
    (``(name, title)``) of the hub-signed directory this node holds."""
    trusted = load_trusted(store())
    if trusted is None:
        return [], []
    seeds = units.seed_offices()
    office = ctx().office
    offices = [
        (code, _office_label(code, trusted.office(code) or {}, seeds))
        for code in sorted(trusted.office_ids())
        if code != office
    ]
    lists = [
        (name, str(entry.get("title") or name) if isinstance(entry, dict) else name)
        for name, entry in sorted(trusted.directory.lists.items())
    ]
    return offices, lists


def _choices() -> dict[str, Any]:
    offices, lists = _directory()
    return {
        **webkit.kind_choices(),
        "deadline_speed": DEADLINE_SPEED,
        "secrecies": [s for s in SECRECY_CLASSES if s] if viewer().sees_all_classified else [],
        "units": [(u["code"], f"{u['code']} {u['name']}") for u in units.list_units(store())],
        "offices": offices,
        "lists": lists,
        "methods": _methods(),
        "may_send": viewer().may("send"),
        "file_names": ", ".join(webkit.FILE_KINDS.values()),
        "file_accept": ".pdf,.jpg,.jpeg,.png,.tif,.tiff,.docx,.xlsx,.odt",
        "max_file_bytes": webkit.MAX_FILE_BYTES,
        "max_file_mb": webkit.MAX_FILE_BYTES // (1024 * 1024),
        "limits": {
            "subject": MAX_SUBJECT,
            "salutation": MAX_SALUTATION,
            "lines": MAX_LINES,
            "body": MAX_TEXT,
        },
    }


def _methods() -> list[str]:
    return [str(m) for m in ctx().settings.get("DISPATCH_METHODS") or ()]


# -- reading the form ------------------------------------------------------------------------


def _lines(name: str, label_th: str) -> list[str]:
    text = field(name, label_th, required=False, max_len=MAX_LINES)
    return [line.strip() for line in text.splitlines() if line.strip()]


def _chosen(name: str, label_th: str) -> list[str]:
    values = [normalize_thai(v).strip() for v in request.form.getlist(name)]
    if len(values) > MAX_CHOSEN:
        raise BadInput(
            f"more than {MAX_CHOSEN} {name}",
            code="too_many",
            message_th=f"เลือก{label_th}ได้ไม่เกิน {MAX_CHOSEN:,} รายการ",
        )
    if any("\x00" in v for v in values):
        raise BadInput(f"{name} holds a NUL", code="bad_field", message_th=f"{label_th}ไม่ถูกต้อง")
    return [v for v in values if v]


def _deadline(speed: str) -> str | None:
    """The deadline of a ด่วนภายใน letter as ISO 8601 with its zone (Bangkok when none was
    given, as a browser's date-and-time field sends it); ignored for any other speed."""
    text = field("deadline", "กำหนดเวลา", required=False, max_len=MAX_DEADLINE)
    if speed != DEADLINE_SPEED or not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as e:
        raise BadInput(
            f"deadline {text!r} is not a date and time",
            code="bad_deadline",
            message_th="กำหนดเวลาไม่ถูกต้อง กรุณาระบุวันและเวลา เช่น 2026-11-25 16:00",
        ) from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BANGKOK)
    return moment.isoformat(timespec="minutes")


def _read_draft() -> Draft:
    """The letter as typed; the domain checks it again (:func:`node.records.drafts.check_draft`)."""
    secrecy = choice("secrecy", "ชั้นความลับ", SECRECY_CLASSES)
    if secrecy and not viewer().sees_all_classified:
        raise SecrecyRefused(f"{actor()} may not write a {secrecy} letter")
    speed = choice("speed", "ชั้นความเร็ว", SPEED_CLASSES)
    unit = field("unit", "ส่วนราชการเจ้าของเรื่อง", required=False, max_len=40)
    return Draft(
        subject=field("subject", "เรื่อง", max_len=MAX_SUBJECT),
        letter_type=choice("letter_type", "ชนิดหนังสือ", LETTER_TYPES, required=True),
        sub_type=choice("sub_type", "ประเภทย่อย", webkit.ALL_SUB_TYPES) or None,
        speed=speed,
        secrecy=secrecy,
        deadline=_deadline(speed),
        salutation=field("salutation", "เรียน", required=False, max_len=MAX_SALUTATION),
        sender=units.unit_name(store(), unit) if unit else "",
        body=field("body", "ข้อความ", required=False, max_len=MAX_TEXT),
        references=_lines("references", "อ้างถึง"),
        enclosures=_lines("enclosures", "สิ่งที่ส่งมาด้วย"),
        recipients=_chosen("recipients", "ผู้รับ"),
        lists=_chosen("lists", "บัญชีส่ง"),
        parties=_lines("parties", "ผู้รับภายนอก"),
        unit=unit or None,
        library=request.form.get("library") == "yes",
    )


def _method() -> str:
    return choice("method", "วิธีส่ง", _methods())


def _action(allowed: tuple[str, ...]) -> str:
    action = request.form.get("action", "save")
    if action not in allowed:
        raise BadInput(f"unknown action {action!r}", message_th="คำสั่งไม่ถูกต้อง")
    if action != "save" and not viewer().may("send"):
        raise SendRefused(f"{actor()} may not {action}")
    return action


# -- after a send ----------------------------------------------------------------------------


def _sent_message(sent: dict[str, Any], leaving: bool) -> str:
    """Whether the letter has left: no envelope (paper only) or accepted by the hub; leaving
    now (an online node syncing at once); or waiting in the outbox."""
    number = sent.get("number")
    env_id = sent.get("env_id")
    state = store().scalar("SELECT state FROM feed WHERE env_id = ?", (env_id,)) if env_id else None
    if env_id is None or state == ACCEPTED:
        return f"ส่งหนังสือที่ {number} แล้ว" if number else "ส่งหนังสือแล้ว"
    done_th = f"ออกเลขที่ {number} แล้ว" if number else "บันทึกการส่งแล้ว"
    return f"{done_th} — {_LEAVING_TH if leaving else _PENDING_TH}"


def _leaving_now() -> bool:
    """Whether a letter this form numbers or sends will leave at once: the live sync runs
    (:mod:`node.sync.live`, kicked by the commit) and the node is online. Asked before the
    action's transaction, which node_status (a connection of its own) would wait for."""
    live = current_app.extensions.get("saraban_live")
    if request.form.get("action", "save") == "save" or not getattr(live, "running", False):
        return False
    try:
        return bool(node_status(ctx())["online"])
    except NodeError:
        return False


def _after_send(sent: dict[str, Any], leaving: bool) -> webkit.Done:
    message = _sent_message(sent, leaving)
    return webkit.done(message, "web_letters.letter", letter_id=sent["id"])


# -- pages -----------------------------------------------------------------------------------


@bp.route("/compose", methods=["GET", "POST"])
@requires("compose")
def compose() -> BaseResponse | str | tuple[str, int]:
    if request.method == "GET":
        return render_template("compose.html", form=MultiDict(), error=None, **_new_letter())
    leaving = _leaving_now()

    def act() -> webkit.Done:
        action = _action(("save", "send"))
        draft = _read_draft()
        method = _method()
        files = webkit.uploads("attachments", "ไฟล์แนบ", max_bytes=webkit.MAX_FILE_BYTES)
        if action == "save":
            kept = drafting.create_draft(ctx(), store(), draft, files, actor())
            return webkit.done("บันทึกร่างแล้ว", "web_compose.edit", letter_id=kept["id"])
        sent = outgoing.send_letter(ctx(), store(), draft, files, method=method, actor=actor())
        return _after_send(sent, leaving)

    try:
        return webkit.once(act)
    except NodeError as e:
        return webkit.form_error("compose.html", e, **_new_letter())


def _new_letter() -> dict[str, Any]:
    return {"letter": None, "numbered": False, "takes_number": True, "files": [], **_choices()}


def _draft_form(row: dict[str, Any]) -> MultiDict[str, str]:
    """A kept draft as the form shows it."""
    d = drafting.draft_of(row)
    form: MultiDict[str, str] = MultiDict(
        {
            "subject": d.subject,
            "letter_type": d.letter_type,
            "sub_type": d.sub_type or "",
            "speed": d.speed,
            "secrecy": d.secrecy,
            "deadline": _local_deadline(d.deadline),
            "salutation": d.salutation,
            "body": d.body,
            "references": "\n".join(d.references),
            "enclosures": "\n".join(d.enclosures),
            "parties": "\n".join(d.parties),
            "unit": d.unit or "",
            "method": row.get("dispatch_method") or "",
        }
    )
    for code in d.recipients:
        form.add("recipients", code)
    for name in d.lists:
        form.add("lists", name)
    if d.library:
        form["library"] = "yes"
    return form


def _local_deadline(deadline: str | None) -> str:
    """A stored deadline as a browser's date-and-time field shows it, Bangkok time."""
    if not deadline:
        return ""
    try:
        moment = datetime.fromisoformat(deadline)
    except ValueError:
        return deadline
    if moment.tzinfo is not None:
        moment = moment.astimezone(BANGKOK)
    return moment.strftime("%Y-%m-%dT%H:%M")


def _files(letter: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": a.get("name") or "",
            "size_th": webkit.human_size(int(a.get("size") or 0)),
            "url": url_for("web_letters.attachment", letter_id=letter["id"], sha=a.get("sha256")),
        }
        for a in letter.get("attachments") or []
    ]


def _edit_page(
    letter: dict[str, Any],
    row: dict[str, Any],
    form: MultiDict[str, str],
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    page = render_template(
        "compose.html",
        letter=letter,
        numbered=row["state"] == "numbered",
        takes_number=drafting.series_of(drafting.draft_of(row)) is not None,
        files=_files(letter),
        form=form,
        error=error,
        **_choices(),
    )
    return page, status


def _changes(state: str) -> dict[str, Any]:
    """The typed fields as :func:`node.records.drafts.update_draft` takes them; once numbered, the
    fixed fields are left as they are (the form shows them read-only)."""
    changes = asdict(_read_draft())
    changes.pop("series")
    if state == "numbered":
        for name in FIXED_WHEN_NUMBERED:
            changes.pop(name)
    return changes


def _apply(letter_id: int, state: str, action: str) -> dict[str, Any]:
    """Save the typed changes and, for ออกเลข or ส่ง, take that step: one transaction."""
    changes = _changes(state)
    method = _method()
    s = store()
    with s.transaction():
        drafting.update_draft(ctx(), s, letter_id, changes, actor())
        if action == "number":
            return outgoing.issue_number(ctx(), s, letter_id, actor=actor())
        if action == "send":
            return outgoing.dispatch(ctx(), s, letter_id, method=method, actor=actor())
    return {"id": letter_id}


@bp.route("/compose/<int:letter_id>", methods=["GET", "POST"])
@requires("compose")
def edit(letter_id: int) -> BaseResponse | str | tuple[str, int]:
    letter = webkit.open_letter(letter_id)
    sent = letter["direction"] == "out" and letter["state"] not in DRAFT_STATES
    if sent and request.method == "GET":
        return redirect(url_for("web_letters.letter", letter_id=letter_id))
    if request.method == "GET":
        row = drafting.own_draft(store(), letter_id)
        return _edit_page(letter, row, _draft_form(row))
    leaving = _leaving_now()

    def act() -> webkit.Done:
        # Inside the action, not before it: a second ส่ง of the same form must reach
        # webkit.once, which answers with the first send, not be refused as already sent.
        state = drafting.own_draft(store(), letter_id)["state"]
        action = _action(EDIT_ACTIONS)
        result = _apply(letter_id, state, action)
        if action == "send":
            return _after_send(result, leaving)
        message = "บันทึกร่างแล้ว"
        if action == "number":
            message = f"ออกเลขที่ {result['number']} แล้ว"
        return webkit.done(message, "web_compose.edit", letter_id=letter_id)

    try:
        return webkit.once(act)
    except NodeError as e:
        row = drafting.own_draft(store(), letter_id)
        return _edit_page(letter, row, request.form.copy(), e.message_th, e.status)


@bp.get("/drafts")
@requires("compose")
def drafts() -> str:
    rows = letters.list_letters(store(), "drafts", viewer=viewer())
    return render_template("drafts.html", rows=rows)
