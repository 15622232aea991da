"""The clerk's pages: letters (being written)."""

from __future__ import annotations

from flask import Blueprint, render_template

from .webkit import requires

bp = Blueprint("web_letters", __name__)


@bp.get("/letters/inbox")
@requires()
def inbox() -> str:
    return render_template("error.html", status=200, message_th="ยังไม่เปิดให้บริการ")


@bp.get("/letters/sent")
@requires()
def sent() -> str:
    return render_template("error.html", status=200, message_th="ยังไม่เปิดให้บริการ")
