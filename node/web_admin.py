"""The clerk's pages: admin (being written)."""

from __future__ import annotations

from flask import Blueprint, render_template

from .webkit import requires

bp = Blueprint("web_admin", __name__)


@bp.get("/admin/users")
@requires()
def users() -> str:
    return render_template("error.html", status=200, message_th="ยังไม่เปิดให้บริการ")
