"""The portal's way in and out: sign-in (office, user name and password, then the TOTP
code), sign-out, and the fonts every page uses.

Routes (blueprint ``portal``): ``GET/POST /login``, ``GET/POST /login/code``,
``POST /logout``, ``GET /fonts/<name>`` (Sarabun, served by the hub: nothing from
elsewhere). Sign-in attempts count against the address's limit
(``PORTAL_SIGN_INS_PER_MINUTE``) before anything is checked.

Does not: judge passwords or codes (:mod:`hub.portal.signin`) or keep sessions
(:mod:`hub.portal.session`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from fontpkg_sarabun import ROOT as SARABUN_ROOT
from werkzeug.exceptions import NotFound as HTTPNotFound
from werkzeug.wrappers import Response as BaseResponse

from hub.portal.kit import admit_address, audit, client_address, get_store, log_refusal, now
from hub.portal.session import end_session, start_session
from hub.portal.signin import LOCKED_TH, Attempt, SignInRefused, check_code, check_password
from hub.store.portal_tracking import PortalTracking
from protocol.sessions import EXPIRED_TH, MAX_PASSWORD

bp = Blueprint("portal", __name__)

FONT_FILES = frozenset({"Sarabun-Regular.ttf", "Sarabun-Bold.ttf"})

ENDED_TH = {
    "expired": EXPIRED_TH,
    "revoked": (
        "การเข้าใช้งานสิ้นสุดแล้ว เพราะหน่วยงานปิดบัญชีหรือเปลี่ยนรหัสผ่านของบัญชีนี้ หากยังใช้งานได้ กรุณาเข้าสู่ระบบอีกครั้ง"
    ),
}
"""Why the person is back at the sign-in page, by the ``ended`` argument."""


def _safe_next(target: str | None) -> str:
    """A path of this site to go to after signing in; the search page otherwise."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("portal_letters.search")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return url_for("portal_letters.search")
    return target


def _offices() -> list[dict[str, str]]:
    rows = PortalTracking(get_store()).all_offices()
    return [{"id": r["id"], "name": r["name"]} for r in rows if r["status"] == "active"]


def _login_page(
    status: int = 200, error: str | None = None, office: str = "", username: str = ""
) -> Response:
    notice = ENDED_TH.get(request.args.get("ended", ""))
    page = render_template(
        "portal_login.html",
        error=error,
        notice=notice,
        office=office,
        username=username,
        offices=_offices(),
        next_url=(request.values.get("next") or "")[:300],
    )
    return make_response(page, status)


@bp.get("/login")
def login() -> BaseResponse:
    if g.get("person") is not None:
        return redirect(_safe_next(request.args.get("next")))
    return _login_page()


@bp.post("/login")
def login_submit() -> BaseResponse:
    admit_address("sign_in")
    office = request.form.get("office", "")[:40]
    username = request.form.get("username", "")[:64]
    password = request.form.get("password", "")[: MAX_PASSWORD + 1]
    attempt = Attempt(client_address(), now())
    try:
        account = check_password(get_store(), office, username, password, attempt)
    except SignInRefused as e:
        log_refusal(e.status, e.code, e.reason)
        return _login_page(e.status, e.message_th, office, username)
    next_url = request.form.get("next", "")[:300]
    response = redirect(url_for("portal.code", next=next_url or None))
    start_session(response, account, "code", replaces=_current_hash())
    return response


def _current_hash() -> str | None:
    row = g.get("session") or g.get("pending")
    return None if row is None else str(row["token_hash"])


def _code_page(status: int = 200, error: str | None = None) -> Response:
    pending = g.pending
    page = render_template(
        "portal_code.html",
        error=error,
        office=pending["office"],
        username=pending["username"],
        next_url=(request.values.get("next") or "")[:300],
    )
    return make_response(page, status)


@bp.get("/login/code")
def code() -> BaseResponse:
    if g.get("pending") is None:
        return redirect(url_for("portal.login", ended=g.get("ended")))
    return _code_page()


@bp.post("/login/code")
def code_submit() -> BaseResponse:
    admit_address("sign_in")
    pending = g.get("pending")
    if pending is None:
        return redirect(url_for("portal.login", ended=g.get("ended") or "expired"))
    attempt = Attempt(client_address(), now())
    try:
        account = check_code(get_store(), pending, request.form.get("code", "")[:40], attempt)
    except SignInRefused as e:
        log_refusal(e.status, e.code, e.reason)
        if e.message_th == LOCKED_TH:
            refused = _login_page(e.status, e.message_th, pending["office"], pending["username"])
            end_session(refused)
            return refused
        return _code_page(e.status, e.message_th)
    response = redirect(_safe_next(request.form.get("next")))
    start_session(response, account, "in", replaces=str(pending["token_hash"]))
    return response


@bp.post("/logout")
def logout() -> BaseResponse:
    response = redirect(url_for("portal.login"))
    if g.get("person") is not None:
        audit(get_store(), "sign_out")
    end_session(response)
    return response


@bp.get("/fonts/<name>")
def font(name: str) -> Response:
    if name not in FONT_FILES:
        raise HTTPNotFound()
    return send_file(SARABUN_ROOT / "files" / name, mimetype="font/ttf", max_age=7 * 24 * 3600)
