"""Bad input at every endpoint of a node, from a caller without the API token or a session
and from one with them: each is answered 4xx with a reason (``{"error", "reason",
"message_th"}`` JSON for ``/api``, a Thai page for the clerk's pages), leaves one log line
and no traceback, stores nothing, and the node then serves a good request.

The table is keyed by endpoint and checked against the app's url_map, so an endpoint added
without bad-input cases fails here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import bad_input_support as bad_input
import pytest
from bad_input_support import ANON, JSON, Bad, Endpoint
from flask.testing import FlaskClient
from support import CHIANG_MAI, CHIANG_RAI
from test_node_support import Node, office_knowing
from web_support import PASSWORD, form_tokens, login

from node.staff.accounts import add_user
from protocol.refusal import SMALL_BODY_BYTES

API, CLERK = "api", "clerk"
UPLOAD_LIMIT = 2 * 1024 * 1024
HUGE_ID = "99999999999999999999"
STORED = (
    "letters",
    "recipients",
    "registers",
    "register_entries",
    "leases",
    "attachments",
    "feed",
    "audit",
    "units",
    "users",
    "loans",
    "destruction_lists",
    "destruction_items",
    "idempotency",
    "letter_number_aliases",
)
"""The node's tables of things (not its sync bookkeeping): a refusal adds to none."""


def json_bodies(method: str, path: str) -> dict[str, Bad]:
    """What no JSON call may take: bytes that are not strict JSON, or not bounded."""
    bodies = {
        "malformed_json": b'{"subject": ',
        "lone_surrogate": b'{"reason": "\\ud800"}',
        "nan": b'{"number": NaN}',
        "integer_of_5000_digits": b'{"number": ' + b"7" * 5000 + b"}",
        "integer_beyond_2_63": b'{"number": 9223372036854775808}',
        **bad_input.NOT_READABLE_JSON,
    }
    cases = bad_input.json_posts(method, path, 400, API, bodies)
    cases["wrong_content_type"] = Bad(method, path, 400, b"{}", who=API, content_type="text/plain")
    cases["token_not_ascii"] = Bad(
        method, path, 401, b"{}", {"Authorization": "Bearer \xe9\xff"}, content_type=JSON
    )
    return cases


def api_get(status: int, **paths: str) -> dict[str, Bad]:
    return bad_input.requests_of("GET", status, API, **paths)


def api_post(path: str, status: int, **bodies: bytes) -> dict[str, Bad]:
    return bad_input.json_posts("POST", path, status, API, bodies)


def pages(status: int, **paths: str) -> dict[str, Bad]:
    """A signed-in clerk's requests of pages, each answered ``status``."""
    return bad_input.requests_of("GET", status, CLERK, **paths)


def forms(path: str, status: int, **posted: dict[str, str]) -> dict[str, Bad]:
    """A signed-in clerk's forms posted to ``path``, each answered ``status``."""
    return bad_input.forms_of(path, status, CLERK, **posted)


def api_json(
    path: str, method: str = "POST", limit: int = SMALL_BODY_BYTES, **bodies: bytes
) -> Endpoint:
    """A JSON call: every bad body of :func:`json_bodies`, and ``bodies`` (each a 400)."""
    cases = {**json_bodies(method, path), **api_post(path, 400, **bodies)}
    return Endpoint(method, path, API, limit, cases)


def api_page(path: str, status: int = 400, **paths: str) -> Endpoint:
    """A GET of the API, and ``paths`` of it each answered ``status``."""
    return Endpoint("GET", path, API, cases=api_get(status, **paths))


def page(path: str, status: int = 400, **paths: str) -> Endpoint:
    """A clerk's page, and ``paths`` of it each answered ``status``."""
    return Endpoint("GET", path, CLERK, cases=pages(status, **paths))


def form_page(
    path: str, status: int = 400, limit: int = SMALL_BODY_BYTES, **posted: dict[str, str]
) -> Endpoint:
    """A clerk's form, refused without its CSRF token, and ``posted`` each answered ``status``."""
    cases = {**forms(path, status, **posted), **bad_input.no_csrf(path, CLERK)}
    return Endpoint("POST", path, CLERK, limit, cases)


def letter_call(action: str) -> Endpoint:
    """``POST /api/letters/<id>/<action>``: bad JSON, and an id past what SQLite holds."""
    endpoint = api_json(f"/api/letters/1/{action}")
    huge = api_post(f"/api/letters/{HUGE_ID}/{action}", 404, id_beyond_2_63=b"{}")
    keys = {
        f"idempotency_key_{name}": Bad(
            "POST", endpoint.path, 400, b"{}", {"Idempotency-Key": key}, API, JSON
        )
        for name, key in (("not_ascii", "\xe9" * 20), ("of_5000_characters", "k" * 5000))
    }
    return Endpoint(endpoint.method, endpoint.path, API, cases={**endpoint.cases, **huge, **keys})


def letter_form(action: str, **posted: dict[str, str]) -> Endpoint:
    """``POST /letters/<id>/<action>`` from the letter's page."""
    endpoint = form_page(f"/letters/1/{action}", **posted)
    huge = forms(f"/letters/{HUGE_ID}/{action}", 404, id_beyond_2_63={})
    return Endpoint("POST", endpoint.path, CLERK, cases={**endpoint.cases, **huge})


def huge_id(path: str, who: str = CLERK, method: str = "GET", **posted: str) -> Endpoint:
    """An endpoint whose id in the path may be past what SQLite holds (404)."""
    bad_path = path.replace("/1", f"/{HUGE_ID}", 1)
    body: bytes | dict[str, str] = dict(posted) if who == CLERK else b"{}"
    bad = Bad(method, bad_path, 404, body if method != "GET" else b"", who=who)
    return Endpoint(method, path, who, cases={"id_beyond_2_63": bad})


NINES = "9" * 5000
SEND = b'{"subject": "x", "recipients": ["\\u0e0a\\u0e23 0017"], "attachments": [%s]}'
ENDPOINTS: dict[str, Endpoint] = {
    "static": Endpoint(
        "GET",
        "/static/app.css",
        ANON,
        cases={
            "path_outside": Bad("GET", "/static/..%2F..%2Fnode.sqlite", 404),
        },
    ),
    "status_page": Endpoint("GET", "/status", ANON),
    "web.login": Endpoint("GET", "/login", ANON),
    "web.login_submit": Endpoint(
        "POST",
        "/login",
        ANON,
        cases={
            "form_without_csrf_token": Bad("POST", "/login", 400, b"username=somsri"),
        },
    ),
    "web.logout": Endpoint("POST", "/logout", CLERK, cases=bad_input.no_csrf("/logout", CLERK)),
    "web.home": Endpoint("GET", "/", CLERK),
    "web.favicon": Endpoint("GET", "/favicon.ico", ANON),
    "web.font": Endpoint(
        "GET",
        "/fonts/Sarabun-Regular.ttf",
        ANON,
        cases={
            "name_encoded_surrogate": Bad("GET", "/fonts/%ED%A0%80", 404),
            "name_outside": Bad("GET", "/fonts/..%2F..%2Fnode.sqlite", 404),
        },
    ),
    # -- the local API --------------------------------------------------------------------
    "api.health": Endpoint("GET", "/api/health", ANON),
    "api.status": Endpoint(
        "GET",
        "/api/status",
        API,
        cases={
            "no_token": Bad("GET", "/api/status", 401),
        },
    ),
    "api.register": letter_call("register"),
    "api.return_letter": letter_call("return"),
    "api.withdraw": letter_call("withdraw"),
    "api.reserve": api_json("/api/registers/ส่ง/reserve"),
    "api.void": api_json(
        "/api/registers/ส่ง/void",
        number_beyond_2_53=b'{"number": 9007199254740992, "reason": "x"}',
        number_superscript_two='{"number": "²", "reason": "x"}'.encode(),
    ),
    "api.list_registers": Endpoint("GET", "/api/registers", API),
    "api.sync_now": api_json("/api/sync"),
    "api.stats": Endpoint("GET", "/api/stats", API),
    "letters.send": api_json(
        "/api/letters",
        limit=UPLOAD_LIMIT,
        subject_of_5000_characters=b'{"subject": "%s", "recipients": ["x"]}' % (b"x" * 5000),
        attachment_not_base64=SEND % b'{"name": "a.pdf", "content_base64": "##"}',
    ),
    "letters.create_draft": api_json("/api/drafts", limit=UPLOAD_LIMIT),
    "letters.update_draft": api_json("/api/letters/1", "PATCH"),
    "letters.issue_number": letter_call("number"),
    "letters.dispatch": letter_call("dispatch"),
    "letters.list_letters": api_page("/api/letters", box_unknown="/api/letters?box=%ED%A0%80"),
    "letters.get_letter": api_page(
        "/api/letters/1",
        404,
        id_beyond_2_63=f"/api/letters/{HUGE_ID}",
        id_negative="/api/letters/-1",
    ),
    "letters.open_sealed": api_page(
        "/api/letters/1/sealed", 404, id_beyond_2_63=f"/api/letters/{HUGE_ID}/sealed"
    ),
    "letters.sealed_attachment": api_page(
        f"/api/letters/1/sealed/{'ab' * 32}",
        400,  # letter 1 is no sealed letter
        name_encoded_surrogate="/api/letters/1/sealed/%ED%A0%80",
    ),
    "letters.history": api_page(
        "/api/letters/1/history", 404, id_beyond_2_63=f"/api/letters/{HUGE_ID}/history"
    ),
    "letters.paper_letter": api_json(
        "/api/paper-letters", limit=UPLOAD_LIMIT, subject_missing=b'{"sender": "x"}'
    ),
    "letters.workflow_step": letter_call("minute"),
    "letters.list_units": Endpoint("GET", "/api/units", API),
    "letters.save_unit": api_json("/api/units"),
    "retention.keep": letter_call("keep"),
    "retention.set_retention": letter_call("retention"),
    "retention.borrow": letter_call("borrow"),
    "retention.return_loan": letter_call("return-loan"),
    "retention.list_loans": Endpoint("GET", "/api/retention/loans", API),
    "retention.due": api_page(
        "/api/retention/due",
        year_superscript_two="/api/retention/due?year=%C2%B2",
        year_5000_digits=f"/api/retention/due?year={NINES}",
        year_beyond_2_63=f"/api/retention/due?year={HUGE_ID}",
    ),
    "retention.list_archives": api_page(
        "/api/retention/archives", year_5000_digits=f"/api/retention/archives?year={NINES}"
    ),
    "retention.print_archives": api_page(
        "/api/retention/archives/print",
        year_5000_digits=f"/api/retention/archives/print?year={NINES}",
    ),
    "retention.propose": api_json("/api/retention/lists"),
    "retention.lists": Endpoint("GET", "/api/retention/lists", API),
    "retention.get_list": huge_id("/api/retention/lists/1", API),
    "retention.print_list": huge_id("/api/retention/lists/1/print", API),
    "retention.approve": api_json("/api/retention/lists/1/approve"),
    "retention.destroy": api_json("/api/retention/lists/1/destroy"),
    "reports.print_register": api_page(
        "/api/registers/ส่ง/print",
        series_encoded_surrogate="/api/registers/%ED%A0%80/print",
        year_superscript_two="/api/registers/ส่ง/print?year=%C2%B2",
        year_5000_digits=f"/api/registers/ส่ง/print?year={NINES}",
        month_beyond_calendar="/api/registers/ส่ง/print?year=2569&month=13",
    ),
    "reports.stamped_attachment": api_page(
        f"/api/letters/1/attachments/{'ab' * 32}/stamped",
        404,
        name_encoded_surrogate="/api/letters/1/attachments/%ED%A0%80/stamped",
    ),
    "search.search_letters": api_page(
        "/api/search",
        page_superscript_two="/api/search?q=x&page=%C2%B2",
        page_5000_digits=f"/api/search?q=x&page={NINES}",
        unknown_parameter="/api/search?after=1",
    ),
    # -- the clerk's pages ------------------------------------------------------------------
    "web_letters.inbox": page("/letters/inbox"),
    "web_letters.sent": page("/letters/sent"),
    "web_letters.letter": huge_id("/letters/1"),
    "web_letters.register": letter_form("register"),
    "web_letters.return_letter": letter_form(
        "return", reason_of_5000_characters={"reason": "x" * 5000}
    ),
    "web_letters.attachment": page(
        f"/letters/1/files/{'ab' * 32}", 404, name_encoded_surrogate="/letters/1/files/%ED%A0%80"
    ),
    "web_sealed.attachment": page(
        f"/letters/1/sealed-files/{'ab' * 32}",
        400,  # letter 1 is no sealed letter
        name_encoded_surrogate="/letters/1/sealed-files/%ED%A0%80",
    ),
    "web_letters.stamped": page(
        f"/letters/1/files/{'ab' * 32}/stamped",
        404,
        name_encoded_surrogate="/letters/1/files/%ED%A0%80/stamped",
    ),
    "web_workflow.minute": letter_form(
        "minute", text_of_5000_characters={"minute_text": "x" * 5000}
    ),
    "web_workflow.assign": letter_form("assign"),
    "web_workflow.forward": letter_form("forward"),
    "web_workflow.done": letter_form("done", note_of_5000_characters={"done_note": "x" * 5000}),
    "web_workflow.keep": letter_form("keep"),
    "web_paper.paper": form_page(
        "/paper/new",
        limit=UPLOAD_LIMIT,
        subject_of_5000_characters={"origin": "x", "subject": "x" * 5000},
    ),
    "web_compose.compose": form_page(
        "/compose", limit=UPLOAD_LIMIT, letter_type_unknown={"subject": "x", "letter_type": "²"}
    ),
    "web_compose.edit": Endpoint(
        "GET", "/compose/1", CLERK, UPLOAD_LIMIT, huge_id("/compose/1").cases
    ),
    "web_compose.drafts": page("/drafts"),
    "web_search.search": page(
        "/search",
        page_superscript_two="/search?q=x&page=%C2%B2",
        page_5000_digits=f"/search?q=x&page={NINES}",
        unknown_parameter="/search?after=1",
    ),
    "web_registers.registers": page(
        "/registers",
        year_superscript_two="/registers?year=%C2%B2",
        year_5000_digits=f"/registers?year={NINES}",
    ),
    "web_registers.download": page(
        "/registers/file", year_5000_digits=f"/registers/file?year={NINES}"
    ),
    "web_library.library": page("/library"),
    "web_retention.retention": page("/retention"),
    "web_retention.due": page(
        "/retention/due",
        year_superscript_two="/retention/due?year=%C2%B2",
        year_5000_digits=f"/retention/due?year={NINES}",
    ),
    "web_retention.loans": page("/retention/loans"),
    "web_retention.borrow": form_page("/retention/loans", borrower_missing={"letter": "1"}),
    "web_retention.return_loan": huge_id("/retention/loans/1/return", method="POST"),
    "web_retention.lists": page("/retention/lists"),
    "web_retention.propose": form_page("/retention/lists", year_superscript_two={"year": "²"}),
    "web_retention.destruction_list": huge_id("/retention/lists/1"),
    "web_retention.approve": huge_id("/retention/lists/1/approve", method="POST"),
    "web_retention.destroy": huge_id("/retention/lists/1/destroy", method="POST", confirm="yes"),
    "web_retention.print_list": huge_id("/retention/lists/1/print"),
    "web_retention.archives": page(
        "/retention/archives", year_superscript_two="/retention/archives?year=%C2%B2"
    ),
    "web_retention.print_archives": page(
        "/retention/archives/print", year_5000_digits=f"/retention/archives/print?year={NINES}"
    ),
    "web_admin.users": page("/admin/users"),
    "web_admin.add_user": form_page(
        "/admin/users",
        username_of_5000_characters={
            "username": "x" * 5000,
            "display_name": "x",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    ),
    "web_admin.user_page": page(
        "/admin/users/somsri", 404, unknown_encoded_surrogate="/admin/users/%ED%A0%80"
    ),
    "web_admin.save_roles": form_page(
        "/admin/users/somsri/roles", role_unknown={"roles_form": "1", "roles": "²"}
    ),
    "web_admin.reset_password": form_page(
        "/admin/users/somsri/password", passwords_differ={"password": PASSWORD, "password2": "x"}
    ),
    "web_admin.set_active": form_page(
        "/admin/users/somsri/active", active_superscript_two={"active": "²"}
    ),
    "web_admin.units": page("/admin/units"),
    "web_admin.save_unit": form_page(
        "/admin/units", code_of_5000_characters={"code": "x" * 5000, "name": "x"}
    ),
    "web_admin.registers": page("/admin/registers"),
    "web_admin.reserve": form_page("/admin/registers/reserve", series_unknown={"series": "²"}),
    "web_admin.void": form_page(
        "/admin/registers/void",
        number_superscript_two={"register": "x", "number": "²", "reason": "x"},
    ),
    "web_admin.sync": page("/admin/sync"),
    "web_sync.progress": page("/sync/progress"),
    "web_totp.totp_page": page("/account/totp"),
    "web_totp.start": form_page("/account/totp/start"),
    "web_totp.confirm": form_page(
        "/account/totp/confirm",
        code_of_5000_digits={"code": NINES},
        code_superscript_digits={"code": "²" * 6},
        code_right_length_nothing_pending={"code": "123456"},
    ),
    "web_totp.reset": form_page("/admin/users/nobody/totp/reset", 404, user_unknown={}),
    "web_dates.read": page("/dates/read?text=1/12/69"),
    "web_sync.sync_now": Endpoint(
        "POST", "/sync/now", CLERK, cases=bad_input.no_csrf("/sync/now", CLERK)
    ),
}


CASES = bad_input.every_case(ENDPOINTS)


@dataclass
class Office:
    """The module's node, with a letter of each kind, and a clerk holding every role."""

    node: Node
    clerk: FlaskClient

    def send(self, bad: Bad) -> Any:
        """Send ``bad`` as its caller would: with the API token, or from the signed-in
        clerk, a form with the page's CSRF token and form key."""
        headers = dict(bad.headers)
        if bad.content_type:
            headers["Content-Type"] = bad.content_type
        if bad.who == API:
            headers = {**self.node.headers, **headers}
        if bad.who != CLERK:
            return self.node.client.open(
                bad.path, method=bad.method, data=bad.body, headers=headers, buffered=True
            )
        data: Any = bad.body
        if isinstance(data, Mapping):
            data = {**data, **form_tokens(self.clerk, "/retention/loans")}
        return self.clerk.open(
            bad.path, method=bad.method, data=data, headers=headers, buffered=True
        )

    def stored(self) -> dict[str, int]:
        with self.node.store() as s:
            return {t: s.query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in STORED}


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Office:
    node = office_knowing(
        tmp_path_factory.mktemp("bad_input_node"),
        CHIANG_MAI,
        CHIANG_RAI,
        MAX_UPLOAD_BYTES=UPLOAD_LIMIT,
    )
    with node.store() as s:
        add_user(node.ctx, s, "somsri", "สมศรี ธุรการ", PASSWORD, ["clerk"], [])
        roles = ["clerk", "executive", "officer", "registrar", "admin"]
        add_user(node.ctx, s, "all", "ทุกบทบาท", PASSWORD, roles, [])
    node.send(recipients=[CHIANG_RAI])
    return Office(node, login(node, "all"))


def test_every_endpoint_has_bad_input_cases(office: Office) -> None:
    assert bad_input.unlisted_endpoints(office.node.app, ENDPOINTS) == set()


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_in_one_line_stores_nothing_and_the_node_serves_on(
    office: Office, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    bad = CASES[name]
    before = office.stored()
    api = bad.path.startswith("/api/")
    answer = bad_input.refused(office.send, bad, caplog, api)
    if api:
        assert any("\u0e00" <= c <= "\u0e7f" for c in answer.get_json()["message_th"])
    assert office.stored() == before
    assert office.send(Bad("GET", "/api/stats", 200, who=API)).status_code == 200
    assert office.clerk.get("/", buffered=True).status_code == 200


def test_an_oversized_upload_gets_a_thai_page_naming_the_limit_in_mb(office: Office) -> None:
    answer = office.send(Bad("POST", "/compose", 413, {"subject": "x" * UPLOAD_LIMIT}, who=CLERK))
    assert answer.status_code == 413 and bad_input.is_thai_page(answer)
    assert "2 MB" in answer.get_data(as_text=True)


def test_an_oversized_api_call_names_the_limit(office: Office) -> None:
    answer = office.send(
        Bad("POST", "/api/letters", 413, b"x" * (UPLOAD_LIMIT + 1), who=API, content_type=JSON)
    )
    assert answer.status_code == 413
    assert answer.get_json()["error"] == "too_large"
    assert "2 MB" in answer.get_json()["reason"] and "2 MB" in answer.get_json()["message_th"]


def test_a_search_for_digits_that_are_not_decimal_is_answered(office: Office) -> None:
    for q in ("%C2%B2", "%C2%B9%C2%B2", "%E2%91%A0"):  # ², ¹², ①: int() refuses them
        answer = office.send(Bad("GET", f"/api/search?q={q}", 200, who=API))
        assert answer.status_code == 200, answer.get_data()[:300]
        assert office.clerk.get(f"/search?q={q}", buffered=True).status_code == 200
