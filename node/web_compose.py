"""The clerk's pages: compose (being written)."""

from __future__ import annotations

from flask import Blueprint, render_template

from .webkit import requires

bp = Blueprint("web_compose", __name__)


@bp.get("/compose")
@requires()
def compose() -> str:
    return render_template("error.html", status=200, message_th="ยังไม่เปิดให้บริการ")
