"""The clerk's pages: the receiving workflow's forms on a letter's page.

Routes (blueprint ``web_workflow``), each a POST from the partial ``_workflow.html`` that the
letter's page (:mod:`node.web.letters`) includes:

* ``/letters/<id>/minute``: เกษียน/สั่งการ (a superior), signed with the user's name;
* ``/letters/<id>/assign`` and ``/letters/<id>/forward``: มอบหมาย / ส่งต่อ to a division of
  this office or a user;
* ``/letters/<id>/done``: ดำเนินการแล้ว, with an optional note of what was done;
* ``/letters/<id>/keep``: จัดเก็บ with a retention class and the kind of keeping.

A step that succeeds goes back to the letter's page with a Thai confirmation; one that fails
shows the letter's page again with the Thai message and what was typed. The partial learns
what to show from :func:`workflow_panel`: the current minute and assignee, and only the forms
this user may use at the letter's stage.

Does not: decide whether a step is allowed (:mod:`node.records.workflow` and
:mod:`node.keeping.kept` do;
the panel only leaves out forms they would refuse) or show the letter itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, request
from werkzeug.wrappers import Response as BaseResponse

from node.api.kit import ctx, store
from node.errors import BadInput, NodeError
from node.keeping import kept as keeping
from node.keeping.retention import NEVER, default_retention, keep_until_th, retention_th
from node.records import workflow
from node.records.units import list_units
from node.staff.accounts import list_users
from node.web.kit import Done, actor, done, field, once, requires, user, viewer

bp = Blueprint("web_workflow", __name__)

MAX_MINUTE = 2000
"""Longest minute (ข้อความเกษียน) a superior may write."""

MAX_NOTE = 1000
"""Longest instruction or note of a step."""

RETENTION_CLASSES = ("1", "5", "10", "20", NEVER)
"""The retention classes offered when keeping (:mod:`node.keeping.retention` accepts 1-99 years)."""

_OPEN_STAGES = frozenset({"registered", "minuted", "assigned"})
# A letter goes from the desk to the records store, never back (node.keeping).
_KEEP_ORDER = ("in_progress", "reference", "after_done")
_OUT_DRAFT_STATES = frozenset({"draft", "numbered"})


# -- what the partial shows ------------------------------------------------------------------


def _divisions() -> list[tuple[str, str]]:
    return [(u["code"], f"{u['code']} {u['name']}") for u in list_units(store()) if u.get("parent")]


def _people() -> list[tuple[str, str]]:
    return [(u["username"], u["display_name"]) for u in list_users(store()) if u["active"]]


def workflow_choices() -> dict[str, list[tuple[str, str]]]:
    """Whom a letter may be assigned to (divisions by code, users by name), the retention
    classes and the kinds of keeping, each as ``(value, Thai label)``."""
    return {
        "divisions": _divisions(),
        "users": _people(),
        "retention": [(r, retention_th(r)) for r in RETENTION_CLASSES],
        "keep_kinds": list(keeping.KEEP_KINDS.items()),
    }


def _holder_th(code: str | None, choices: Mapping[str, list[tuple[str, str]]]) -> str:
    if not code:
        return ""
    names = dict(choices["divisions"] + choices["users"])
    return names.get(code, code)


def _open_steps(letter: Mapping[str, Any]) -> set[str]:
    registered = letter.get("state") == "registered" and bool(letter.get("receipt_number"))
    if letter.get("direction") != "in" or not registered or letter.get("destroyed_at"):
        return set()
    if (letter.get("stage") or "registered") not in _OPEN_STAGES:
        return set()
    return {"minute", "forward" if letter.get("assigned_to") else "assign", "done"}


def _keep_kinds(letter: Mapping[str, Any]) -> list[str]:
    if letter.get("destroyed_at"):
        return []
    if letter.get("direction") == "in":
        if letter.get("state") != "registered" or not letter.get("receipt_number"):
            return []
    elif letter.get("state") in _OUT_DRAFT_STATES:
        return []
    current = letter.get("keep_kind")
    later = _KEEP_ORDER[_KEEP_ORDER.index(current) + 1 :] if current in _KEEP_ORDER else _KEEP_ORDER
    return list(later)


def workflow_panel(letter: Mapping[str, Any]) -> dict[str, Any]:
    """What ``_workflow.html`` shows for ``letter`` (a :func:`node.records.letters.get_letter` dict)
    to the signed-in user: which forms, whom to, and the current assignee's name."""
    v = viewer()
    steps = {s for s in _open_steps(letter) if v.may(s)}
    kinds = _keep_kinds(letter) if v.may("keep") else []
    if kinds:
        steps.add("keep")
    choices = workflow_choices()
    holder = letter.get("assigned_to")
    retention = letter.get("retention") or _default_retention(letter)
    retention_choices = choices["retention"]
    if retention and retention not in RETENTION_CLASSES:
        retention_choices = [*retention_choices, (retention, retention_th(retention))]
    return {
        "steps": steps,
        "max_minute": MAX_MINUTE,
        "max_note": MAX_NOTE,
        "assignee_th": _holder_th(holder, choices),
        "divisions": choices["divisions"],
        "users": choices["users"],
        "forward_divisions": [c for c in choices["divisions"] if c[0] != holder],
        "forward_users": [c for c in choices["users"] if c[0] != holder],
        "retention": retention_choices,
        "retention_default": retention,
        "keep_kinds": [(k, keeping.KEEP_KINDS[k]) for k in kinds],
        "keep_kind_default": "after_done" if "after_done" in kinds else (kinds or [""])[0],
        "keep_kind_th": keeping.KEEP_KINDS.get(letter.get("keep_kind") or "", ""),
        "retention_th": retention_th(letter.get("retention")),
        "keep_until_th": keep_until_th(letter.get("retention"), letter.get("keep_until")),
    }


def _default_retention(letter: Mapping[str, Any]) -> str:
    try:
        return default_retention(ctx().settings, letter.get("letter_type"), letter.get("sub_type"))
    except BadInput:
        return ""


@bp.app_context_processor
def workflow_globals() -> dict[str, Any]:
    return {"workflow_panel": workflow_panel, "workflow_choices": workflow_choices}


# -- the steps -----------------------------------------------------------------------------------


def _holder(name: str) -> str:
    """The division or user chosen in the select ``name``; a Thai message otherwise."""
    value = request.form.get(name, "").strip()
    if not value:
        raise BadInput(f"{name} is required", code="required", message_th="กรุณาเลือกผู้รับมอบหมาย")
    choices = workflow_choices()
    if value not in {code for code, _ in choices["divisions"] + choices["users"]}:
        raise BadInput(
            f"{name}={value!r} is no division or user",
            code="unknown_holder",
            message_th=f"ไม่พบหน่วยงานหรือผู้ใช้ “{value}” ในระบบ กรุณาเลือกจากรายการ",
        )
    return value


def _step(
    letter_id: int, confirm_th: str, run: Callable[[], object]
) -> BaseResponse | tuple[str, int]:
    """Run one step once (:func:`node.web.kit.once`); back to the letter's page with
    ``confirm_th``, or with the Thai error."""

    def act() -> Done:
        run()
        return done(confirm_th, "web_letters.letter", letter_id=letter_id)

    try:
        return once(act)
    except NodeError as e:
        from node.web.letters import render_letter

        return render_letter(letter_id, error=e.message_th, form=request.form, status=e.status)


@bp.post("/letters/<int:letter_id>/minute")
@requires("minute")
def minute(letter_id: int) -> BaseResponse | tuple[str, int]:
    def run() -> object:
        return workflow.minute(
            ctx(),
            store(),
            letter_id,
            text=field("minute_text", "ข้อความเกษียน", max_len=MAX_MINUTE),
            instruction=field("instruction", "คำสั่งการ", required=False, max_len=MAX_NOTE),
            by=str(user()["display_name"] or actor()),
            actor=actor(),
            viewer=viewer(),
        )

    return _step(letter_id, "บันทึกเกษียนแล้ว", run)


@bp.post("/letters/<int:letter_id>/assign")
@requires("assign")
def assign(letter_id: int) -> BaseResponse | tuple[str, int]:
    def run() -> object:
        return workflow.assign(
            ctx(),
            store(),
            letter_id,
            to=_holder("assign_to"),
            note=field("assign_note", "หมายเหตุ", required=False, max_len=MAX_NOTE),
            actor=actor(),
            viewer=viewer(),
        )

    return _step(letter_id, "มอบหมายแล้ว", run)


@bp.post("/letters/<int:letter_id>/forward")
@requires("forward")
def forward(letter_id: int) -> BaseResponse | tuple[str, int]:
    def run() -> object:
        return workflow.forward(
            ctx(),
            store(),
            letter_id,
            to=_holder("forward_to"),
            note=field("forward_note", "หมายเหตุการส่งต่อ", required=False, max_len=MAX_NOTE),
            actor=actor(),
            viewer=viewer(),
        )

    return _step(letter_id, "ส่งต่อแล้ว", run)


@bp.post("/letters/<int:letter_id>/done", endpoint="done")
@requires("done")
def complete(letter_id: int) -> BaseResponse | tuple[str, int]:
    def run() -> object:
        return workflow.complete(
            ctx(),
            store(),
            letter_id,
            note=field("done_note", "บันทึกผลการดำเนินการ", required=False, max_len=MAX_NOTE),
            actor=actor(),
            viewer=viewer(),
        )

    return _step(letter_id, "บันทึกว่าดำเนินการแล้ว", run)


@bp.post("/letters/<int:letter_id>/keep")
@requires("keep")
def keep(letter_id: int) -> BaseResponse | tuple[str, int]:
    def run() -> object:
        return keeping.keep_letter(
            ctx(),
            store(),
            letter_id,
            retention=request.form.get("retention", "").strip() or None,
            kind=request.form.get("keep_kind", "").strip() or "after_done",
            actor=actor(),
            viewer=viewer(),
        )

    return _step(letter_id, "จัดเก็บแล้ว", run)
