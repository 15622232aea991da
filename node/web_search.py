"""The clerk's pages: search (being written)."""

from __future__ import annotations

from flask import Blueprint, render_template

from .webkit import requires

bp = Blueprint("web_search", __name__)


@bp.get("/search")
@requires()
def search() -> str:
    return render_template("error.html", status=200, message_th="ยังไม่เปิดให้บริการ")
