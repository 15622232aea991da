"""The clerk's pages: retention (being written)."""

from __future__ import annotations

from flask import Blueprint, render_template

from .webkit import requires

bp = Blueprint("web_retention", __name__)


@bp.get("/retention")
@requires()
def retention() -> str:
    return render_template("error.html", status=200, message_th="ยังไม่เปิดให้บริการ")
