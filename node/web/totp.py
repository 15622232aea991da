"""The signed-in person's second factor for the ministry's portal (ADR 0024).

Routes (blueprint ``web_totp``):

* ``GET /account/totp``: whether the person has enrolled (and since when); while a secret
  is pending, its QR code (an ``otpauth://totp/`` URI drawn by segno as inline SVG: the
  page loads nothing from elsewhere) and the secret in groups of four for typing by hand,
  with a field for the code the authenticator shows now. The page is never cached.
* ``POST /account/totp/start``: a fresh pending secret (enrolling for the first time, or
  again on a new phone: the old secret stays in force until the new one is confirmed);
* ``POST /account/totp/confirm``: the code; a wrong or late one shows the page again with
  a Thai message, a right one makes the secret the person's;
* ``POST /admin/users/<username>/totp/reset`` (administrators): drop a person's second
  factor, for a lost phone.

Every form runs once for its key (:func:`node.web.kit.once`). The domain is
:mod:`node.staff.second_factor`; the portal gets the secret at the office's next sync.

Does not: show a confirmed secret again (only a new pending one), or check codes at
sign-in (the portal does).
"""

from __future__ import annotations

import segno
from flask import Blueprint, make_response, render_template, request
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from node.api.kit import ctx, store
from node.errors import NodeError
from node.staff.second_factor import (
    ISSUER,
    confirm_enrolment,
    reset_totp,
    start_enrolment,
    totp_state,
)
from node.web.kit import Done, actor, done, once, requires
from protocol.totp import DIGITS, grouped, otpauth_uri

bp = Blueprint("web_totp", __name__)

QR_TITLE_TH = "คิวอาร์โค้ดสำหรับแอปยืนยันตัวตน"


def qr_svg(uri: str) -> Markup:
    """``uri`` as a QR code in inline SVG, dark on light, with a Thai title."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, border=4, dark="#000", light="#fff", title=QR_TITLE_TH, svgclass="qr"
    )
    return Markup(svg)  # noqa: S704 - segno writes the SVG; the title is ours


def _page(error: str | None = None, status: int = 200) -> BaseResponse:
    username = actor()
    state = totp_state(store(), username)
    qr = secret = None
    if state.pending is not None:
        qr = qr_svg(otpauth_uri(state.pending, f"{username} ({ctx().office})", ISSUER))
        secret = grouped(state.pending)
    page = render_template(
        "totp.html", state=state, qr=qr, secret=secret, digits=DIGITS, error=error
    )
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/account/totp")
@requires()
def totp_page() -> BaseResponse:
    return _page()


@bp.post("/account/totp/start")
@requires()
def start() -> BaseResponse:
    def act() -> Done:
        start_enrolment(ctx(), store(), actor())
        return done(
            "สร้างคิวอาร์โค้ดแล้ว สแกนด้วยแอปยืนยันตัวตน แล้วพิมพ์รหัส 6 หลักเพื่อยืนยัน",
            "web_totp.totp_page",
        )

    return once(act)


@bp.post("/account/totp/confirm")
@requires()
def confirm() -> BaseResponse:
    def act() -> Done:
        confirm_enrolment(ctx(), store(), actor(), request.form.get("code", "")[:40])
        return done(
            "ตั้งรหัสยืนยันตัวตนสองชั้นแล้ว ใช้เข้าพอร์ทัลของกระทรวงได้ เมื่อหน่วยงานส่งข้อมูลถึงศูนย์กลางรอบถัดไป",
            "web_totp.totp_page",
        )

    try:
        return once(act)
    except NodeError as e:
        return _page(e.message_th, e.status)


@bp.post("/admin/users/<username>/totp/reset")
@requires("admin")
def reset(username: str) -> BaseResponse:
    def act() -> Done:
        reset_totp(ctx(), store(), username, actor())
        return done(
            f"ยกเลิกรหัสยืนยันตัวตนสองชั้นของ {username} แล้ว ผู้ใช้ต้องตั้งใหม่ก่อนเข้าพอร์ทัลของกระทรวง",
            "web_admin.user_page",
            username=username,
        )

    return once(act)
