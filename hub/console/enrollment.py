"""The console's enrollment section: tokens, offices waiting to enroll, revocation and the
hub's own key.

Routes (blueprint ``console_enrollment``): ``GET /enrollment`` (offices waiting to enroll
and whether a token is live for them, every token issued, enrolled and revoked offices, the
hub's keys and the form to add an office); ``POST /enrollment/tokens`` (issue a token and
show it once, with the command to run at the office); ``POST
/enrollment/tokens/<id>/cancel``; ``POST /enrollment/offices`` (add an office);
``POST /offices/<id>/revoke`` (reason and confirmation required); ``POST
/enrollment/rotate-key`` (confirmation required).

A token's secret appears only in the answer to the POST that issued it: never stored (only
its hash), never logged, never in a redirect or a flashed message, and that page is not
cached. Elsewhere a token is named by the first characters of its hash
(:func:`hub.admin.tokens.token_id`).

Every action runs the same :mod:`hub.admin` function as the command line, on this
request's connection, inside one transaction with the operator's action record and the
directory version it publishes. Acting needs the ``operator`` role.

Does not: redeem tokens (:mod:`hub.federation.enrollment`, ``POST /api/v1/enroll``).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    make_response,
    render_template,
    request,
)
from werkzeug.wrappers import Response as BaseResponse

from hub.admin.instance import rotate_hub_key
from hub.admin.offices import GROUP_COUNT, MAX_OFFICE_NAME, MAX_PROVINCE, add_office, revoke_office
from hub.admin.tokens import (
    TOKEN_STATES,
    cancel_enrollment_token,
    enrollment_tokens,
    init_command,
    issue_enrollment_token,
    token_id,
)
from hub.console.kit import done, form_choice, form_confirmed, form_int, form_text, now, record
from hub.console.session import login_required, operator_required
from hub.context import get_store
from hub.directory import directory_version
from hub.errors import ConsoleError
from hub.federation.enrollment import token_hash
from hub.store import HubStore
from protocol.keys import fingerprint
from protocol.numbers import parse_unit_code

bp = Blueprint("console_enrollment", __name__)

MAX_TTL_HOURS = 720
"""The longest a token may live when issued from the console: 30 days."""
MAX_REASON = 500
KEY_STATUS_TH = {
    "current": "ใช้อยู่",
    "previous": "กุญแจก่อนหน้า (ยังลงนามร่วม)",
    "retired": "เลิกใช้แล้ว",
}
OFFICE_STATUS_TH = {"pending": "รอลงทะเบียน", "enrolled": "ลงทะเบียนแล้ว", "revoked": "เพิกถอนแล้ว"}


def _app() -> Flask:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def _default_ttl() -> int:
    return max(1, min(MAX_TTL_HOURS, int(current_app.config["ENROLL_TOKEN_TTL_HOURS"])))


def _page(store: HubStore) -> dict[str, Any]:
    moment = now()
    offices = store.offices()
    tokens = enrollment_tokens(_app(), moment, limit=10_000, store=store)
    return {
        "pending": [o for o in offices if o["status"] == "pending"],
        "registered": [o for o in offices if o["status"] != "pending"],
        "issuable": [o for o in offices if o["status"] != "revoked"],
        "live": {t["office"]: t for t in reversed(tokens) if t["state"] == "unused"},
        "tokens": tokens[:200],
        "token_states": TOKEN_STATES,
        "hub_keys": store.hub_keys(),
        "key_status": KEY_STATUS_TH,
        "office_status": OFFICE_STATUS_TH,
        "directory_version": directory_version(store),
        "default_ttl": _default_ttl(),
        "max_ttl": MAX_TTL_HOURS,
        "group_count": GROUP_COUNT,
        "max_office_name": MAX_OFFICE_NAME,
        "max_province": MAX_PROVINCE,
        "max_reason": MAX_REASON,
    }


@bp.get("/enrollment")
@login_required
def enrollment() -> str:
    return render_template("enrollment.html", **_page(get_store()))


@bp.post("/enrollment/tokens")
@operator_required
def issue() -> Response:
    store = get_store()
    offices = {o["id"]: o for o in store.offices() if o["status"] != "revoked"}
    office = form_choice("office", "หน่วยงานที่จะออกรหัสลงทะเบียน", offices)
    ttl = form_int("ttl_hours", "อายุของรหัส (ชั่วโมง) ", 1, MAX_TTL_HOURS, _default_ttl())
    moment = now()
    with store.write():
        secret = issue_enrollment_token(_app(), office, ttl, moment, store=store)
        ident = token_id(token_hash(secret))
        record("issue_token", office, None, f"รหัสอ้างอิง {ident} อายุ {ttl} ชั่วโมง")
    hub_url = request.host_url.rstrip("/")
    # Rendered here, not redirected and flashed: the secret must not travel in a cookie or
    # land in a URL, and this answer is not cached.
    page = render_template(
        "enrollment_token.html",
        office=offices[office],
        token=secret,
        ident=ident,
        ttl=ttl,
        expires_at=moment + ttl * 3600,
        command=init_command(hub_url, office, offices[office]["status"] == "enrolled"),
    )
    answer = make_response(page)
    answer.headers["Cache-Control"] = "no-store"
    return answer


@bp.post("/enrollment/tokens/<ident>/cancel")
@operator_required
def cancel(ident: str) -> BaseResponse:
    reason = form_text("reason", "เหตุผล", MAX_REASON, required=False) or None
    store = get_store()
    with store.write():
        info = cancel_enrollment_token(_app(), ident, now(), store=store)
        record("cancel_token", info["office"], reason, info["id"])
    return done(
        f"ยกเลิกรหัสลงทะเบียน {info['id'][:8]} ของ {info['office']} แล้ว ใช้ลงทะเบียนไม่ได้อีก",
        "console_enrollment.enrollment",
    )


@bp.post("/enrollment/offices")
@operator_required
def add() -> BaseResponse:
    typed_id = form_text("office_id", "รหัสหน่วยงาน", 40)
    name = form_text("name", "ชื่อหน่วยงาน", MAX_OFFICE_NAME)
    province = form_text("province", "จังหวัด", MAX_PROVINCE, required=False) or None
    group_no = None
    if request.form.get("group_no", "").strip():
        group_no = form_int("group_no", "กลุ่มจังหวัด", 1, GROUP_COUNT)
    store = get_store()
    with store.write():
        version = add_office(_app(), typed_id, name, province, group_no, None, now(), store=store)
        office_id = parse_unit_code(typed_id)  # add_office accepted it: it parses
        group = "-" if group_no is None else str(group_no)
        record(
            "add_office",
            office_id,
            None,
            f"{name}; กลุ่มจังหวัด {group}; ทะเบียนหน่วยงานฉบับที่ {version}",
        )
    return done(
        f"เพิ่มหน่วยงาน {office_id} {name} แล้ว (ทะเบียนหน่วยงานฉบับที่ {version})"
        " ออกรหัสลงทะเบียนให้หน่วยงานได้ในตาราง “รอลงทะเบียน”",
        "console_enrollment.enrollment",
    )


@bp.post("/offices/<office_id>/revoke")
@operator_required
def revoke(office_id: str) -> BaseResponse:
    store = get_store()
    if store.office(office_id) is None:
        raise ConsoleError(
            f"unknown office {office_id!r}",
            f"ไม่พบหน่วยงาน {office_id}",
            code="unknown_office",
            status=404,
        )
    reason = form_text("reason", "เหตุผลการเพิกถอน", MAX_REASON)
    form_confirmed("ยืนยันการเพิกถอน")
    with store.write():
        version = revoke_office(_app(), office_id, reason, now(), store=store)
        record("revoke_office", office_id, reason, f"ทะเบียนหน่วยงานฉบับที่ {version}")
    return done(
        f"เพิกถอนหน่วยงาน {office_id} แล้ว ทุกหน่วยงานจะได้รับทะเบียนหน่วยงานฉบับที่ {version} เมื่อซิงค์ครั้งถัดไป",
        "console_enrollment.enrollment",
    )


@bp.post("/enrollment/rotate-key")
@operator_required
def rotate() -> BaseResponse:
    form_confirmed("ยืนยันการเปลี่ยนกุญแจ")
    reason = form_text("reason", "เหตุผล", MAX_REASON, required=False) or None
    store = get_store()
    with store.write():
        keyid = rotate_hub_key(_app(), now(), store=store)
        public = next(r["public"] for r in store.hub_keys() if r["keyid"] == keyid)
        new_fingerprint = fingerprint(public)
        version = directory_version(store)
        record(
            "rotate_hub_key",
            keyid,
            reason,
            f"ลายนิ้วมือ {new_fingerprint}; ทะเบียนหน่วยงานฉบับที่ {version}",
        )
    return done(
        f"เปลี่ยนกุญแจศูนย์กลางแล้ว กุญแจใหม่ {keyid} ลายนิ้วมือ {new_fingerprint}"
        f" (ทะเบียนหน่วยงานฉบับที่ {version} ลงนามด้วยกุญแจใหม่และกุญแจเดิม)",
        "console_enrollment.enrollment",
    )
