"""The clerk's pages: registers (being written)."""

from __future__ import annotations

from flask import Blueprint, render_template

from .webkit import requires

bp = Blueprint("web_registers", __name__)


@bp.get("/registers")
@requires()
def registers() -> str:
    return render_template("error.html", status=200, message_th="ยังไม่เปิดให้บริการ")
