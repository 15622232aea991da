"""The clerk's pages: library (being written)."""

from __future__ import annotations

from flask import Blueprint, render_template

from .webkit import requires

bp = Blueprint("web_library", __name__)


@bp.get("/library")
@requires()
def library() -> str:
    return render_template("error.html", status=200, message_th="ยังไม่เปิดให้บริการ")
