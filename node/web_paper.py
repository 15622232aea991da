"""The clerk's pages: ลงรับหนังสือกระดาษ (being written)."""

from __future__ import annotations

from flask import Blueprint, render_template

from .webkit import requires

bp = Blueprint("web_paper", __name__)


@bp.get("/paper/new")
@requires("receive")
def paper() -> str:
    return render_template("error.html", status=200, message_th="ยังไม่เปิดให้บริการ")
