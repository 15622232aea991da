"""Bad input at every endpoint of the hub, from an outsider and from an enrolled office or
operator: each is answered 4xx with a reason (JSON for the API, a Thai page for the
console), leaves one log line and no traceback, stores nothing, and the hub then serves a
good request.

The table is keyed by endpoint and checked against the app's url_map, so an endpoint added
without bad-input cases fails here. Most cases run in-process on one hub; a few go through
``saraban hub serve``, where the HTTP server reads the bytes (oversized and chunked bodies,
header bytes that are not ASCII) and where the log is a real file.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bad_input_support as bad_input
import pytest
from bad_input_support import ANON, JSON, Bad, Endpoint
from console_support import add_operators, console_login, csrf
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_hub_support import Hub, Office

from hub.admin.instance import init_hub
from hub.config import RATE_FAMILIES, rate_setting
from protocol.api import API_PREFIX, MAX_CHUNK
from protocol.auth import H_KEYID, H_NONCE, H_SIGNATURE, H_TIMESTAMP, sign_request
from protocol.errors import BoundsError, RemoteDataError
from protocol.limits import MAX_DEPTH, MAX_SAFE_INT
from protocol.refusal import SMALL_BODY_BYTES
from protocol.request_json import nesting_depth, parse_request_json
from scripts.fleet import Service, free_ports, start_service

OFFICE, OPERATOR = "office", "operator"
NOT_A_PAGE = ("/api/", "/metrics", "/static/", "/fonts/")
"""Paths answered in JSON; every other path is a console page, answered in Thai."""
API = API_PREFIX
SHA = "ab" * 32
PUSH_LIMIT = 8 * 1024 * 1024
STORED = (
    "offices",
    "keys",
    "hub_keys",
    "tokens",
    "feed",
    "hub_envelopes",
    "mailbox",
    "letter_routes",
    "blob_refs",
    "quarantine",
    "alerts",
    "ledger",
    "leases",
    "directory_versions",
    "lists",
    "shared_registers",
    "sync_sessions",
    "operators",
    "operator_actions",
    "numbering_reports",
    "portal_accounts",
    "portal_account_versions",
)
"""The hub's tables of things (not of bookkeeping such as nonces): a refusal adds to none."""


def json_bodies(method: str, path: str, who: str) -> dict[str, Bad]:
    """What no JSON endpoint may take: bytes that are not strict JSON, or not bounded."""
    bodies = {
        "malformed_json": b'{"token": ',
        "lone_surrogate": b'{"a": "\\ud800"}',
        "nan": b'{"a": NaN}',
        "integer_of_5000_digits": b'{"a": ' + b"7" * 5000 + b"}",
        "integer_beyond_2_63": b'{"a": 9223372036854775808}',
        "integer_beyond_2_53": b'{"a": 9007199254740992}',
        **bad_input.NOT_READABLE_JSON,
    }
    cases = bad_input.json_posts(method, path, 400, who, bodies)
    cases["wrong_content_type"] = Bad(method, path, 415, b"{}", who=who, content_type="text/plain")
    return cases


def signature_headers(method: str, path: str) -> dict[str, Bad]:
    """Signature headers no signed endpoint may take."""
    utf8_keyid = f"{CHIANG_MAI}#1".encode().decode("latin-1")  # raw UTF-8, as a server reads it
    bad = {
        "timestamp_superscript_two": {H_TIMESTAMP: "²"},
        "timestamp_5000_digits": {H_TIMESTAMP: "1" * 5000},
        "timestamp_duplicated": {H_TIMESTAMP: "1795000000, 1795000000"},
        "keyid_not_percent_encoded": {H_KEYID: utf8_keyid},
        "keyid_encoded_surrogate": {H_KEYID: "%ED%A0%80%231"},
        "keyid_of_2000_thai_characters": {H_KEYID: "%E0%B8%81" * 2000},
        "nonce_not_ascii": {H_NONCE: "\xe9" * 20},
        "signature_not_base64": {H_SIGNATURE: "!!"},
    }
    cases = {name: Bad(method, path, 401, headers=h, who=OFFICE) for name, h in bad.items()}
    cases["unsigned"] = Bad(method, path, 401)
    return cases


def signed_json(path: str, **bodies: Any) -> dict[str, Bad]:
    """Signed POSTs to ``path`` of JSON bodies that parse but break the endpoint's rules."""
    encoded = {name: json.dumps(body).encode() for name, body in bodies.items()}
    return bad_input.json_posts("POST", path, 400, OFFICE, encoded)


def signed_get(**paths: str) -> dict[str, Bad]:
    return bad_input.requests_of("GET", 400, OFFICE, **paths)


def page(method: str, status: int, **paths: str) -> dict[str, Bad]:
    """An operator's requests of console pages, each answered ``status``."""
    return bad_input.requests_of(method, status, OPERATOR, **paths)


def form(path: str, status: int, **forms: dict[str, str]) -> dict[str, Bad]:
    """An operator's console forms posted to ``path``, each answered ``status``."""
    return bad_input.forms_of(path, status, OPERATOR, **forms)


ENDPOINTS: dict[str, Endpoint] = {
    "static": Endpoint(
        "GET",
        "/static/console.css",
        ANON,
        cases={"path_outside": Bad("GET", "/static/..%2F..%2Fapp.py", 404)},
    ),
    "api.enroll_office": Endpoint(
        "POST",
        f"{API}/enroll",
        ANON,
        cases={
            **json_bodies("POST", f"{API}/enroll", ANON),
            "token_not_text": Bad(
                "POST", f"{API}/enroll", 400, b'{"token": 5, "office": 5}', content_type=JSON
            ),
        },
    ),
    "api.health": Endpoint(
        "GET",
        f"{API}/health",
        ANON,
        cases={"query_of_5000_characters": Bad("GET", f"{API}/health?x={'9' * 5000}", 400)},
    ),
    "api.watch": Endpoint(
        "GET",
        f"{API}/watch",
        ANON,
        cases={
            "token_not_ascii": Bad("GET", f"{API}/watch", 403, headers={"X-Saraban-Watch": "\xe9"}),
            "token_5000_characters": Bad(
                "GET", f"{API}/watch", 403, headers={"X-Saraban-Watch": "a." + "b" * 5000}
            ),
        },
    ),
    "api.directory": Endpoint(
        "GET", f"{API}/directory", OFFICE, cases=signature_headers("GET", f"{API}/directory")
    ),
    "api.rekey_office": Endpoint(
        "POST",
        f"{API}/rekey",
        OFFICE,
        cases={
            **json_bodies("POST", f"{API}/rekey", OFFICE),
            **signed_json(f"{API}/rekey", keyid_not_text={"sign_keyid": 5, "sign_public": 5}),
        },
    ),
    "api.push": Endpoint(
        "POST",
        f"{API}/push",
        OFFICE,
        limit=PUSH_LIMIT,
        cases={
            **json_bodies("POST", f"{API}/push", OFFICE),
            **signed_json(
                f"{API}/push",
                envelopes_empty={"envelopes": []},
                envelopes_not_a_list={"envelopes": "x"},
            ),
        },
    ),
    "api.pull": Endpoint(
        "POST",
        f"{API}/pull",
        OFFICE,
        cases={
            **json_bodies("POST", f"{API}/pull", OFFICE),
            **signed_json(
                f"{API}/pull",
                limit_superscript_two={"cursor": None, "limit": "²"},
                limit_zero={"cursor": None, "limit": 0},
                limit_5000_digits={"cursor": None, "limit": "9" * 5000},
                cursor_5000_digits={"cursor": "m" + "9" * 5000},
                cursor_not_text={"cursor": 5},
            ),
        },
    ),
    "api.heartbeat": Endpoint(
        "POST",
        f"{API}/heartbeat",
        OFFICE,
        cases={
            **json_bodies("POST", f"{API}/heartbeat", OFFICE),
            **signed_json(
                f"{API}/heartbeat",
                outbox_not_a_number={"outbox": "many"},
                outbox_negative_beyond_range={"outbox": -(2**53)},
                clock_superscript_two={"clock": "²"},
                directory_version_negative={"directory_version": -1},
                held_count_beyond_range={"held": [{"origin": CHIANG_RAI, "count": 2**53}]},
                last_error_not_text={"last_error": 5},
            ),
        },
    ),
    "audit_api.audit_head": Endpoint(
        "POST",
        f"{API}/audit",
        OFFICE,
        cases={
            **json_bodies("POST", f"{API}/audit", OFFICE),
            **signed_json(
                f"{API}/audit",
                head_missing={"links": []},
                head_not_an_envelope={"head": "x"},
                after_negative={"after": -1, "head": {}},
                links_not_a_list={"links": 5, "head": {}},
            ),
        },
    ),
    "accounts_api.publish": Endpoint(
        "POST",
        f"{API}/accounts",
        OFFICE,
        PUSH_LIMIT,
        cases={
            **json_bodies("POST", f"{API}/accounts", OFFICE),
            **signed_json(
                f"{API}/accounts",
                accounts_missing={},
                accounts_not_an_envelope={"accounts": "x"},
                payload_type_foreign={
                    "accounts": {"payloadType": "text/plain", "payload": "", "signatures": []}
                },
            ),
        },
    ),
    "api.highwater": Endpoint(
        "GET", f"{API}/highwater", OFFICE, cases=signature_headers("GET", f"{API}/highwater")
    ),
    "api.own_feed": Endpoint(
        "GET",
        f"{API}/feed",
        OFFICE,
        cases={
            **signed_get(
                after_superscript_two=f"{API}/feed?after=%C2%B2",
                after_negative=f"{API}/feed?after=-1",
                after_5000_digits=f"{API}/feed?after={'9' * 5000}",
                after_beyond_2_63=f"{API}/feed?after=99999999999999999999",
                after_encoded_surrogate=f"{API}/feed?after=%ED%A0%80",
                after_thai_digits=f"{API}/feed?after=%E0%B9%91",
                limit_zero=f"{API}/feed?limit=0",
                limit_5000_digits=f"{API}/feed?limit={'9' * 5000}",
            ),
            **signature_headers("GET", f"{API}/feed"),
        },
    ),
    "api.lease": Endpoint(
        "POST",
        f"{API}/lease",
        OFFICE,
        cases={
            **json_bodies("POST", f"{API}/lease", OFFICE),
            **signed_json(
                f"{API}/lease",
                register_superscript_two={"register": "²", "count": 5},
                count_beyond_lease={"register": "มท 0200|ว|2569", "count": 10**15},
                count_not_a_number={"register": "มท 0200|ว|2569", "count": "5"},
            ),
        },
    ),
    "api.digests": Endpoint(
        "GET",
        f"{API}/registers/digests",
        OFFICE,
        cases=signature_headers("GET", f"{API}/registers/digests"),
    ),
    "api.blob_head": Endpoint(
        "HEAD",
        f"{API}/blobs/{SHA}",
        OFFICE,
        cases={"name_not_hex": Bad("HEAD", f"{API}/blobs/{'zz' * 32}", 400, who=OFFICE)},
    ),
    "api.blob_put": Endpoint(
        "PUT",
        f"{API}/blobs/{SHA}?offset=0&size=3",
        OFFICE,
        limit=MAX_CHUNK,
        cases={
            name: Bad(
                "PUT",
                f"{API}/blobs/{query}",
                400,
                b"abc",
                who=OFFICE,
                content_type="application/octet-stream",
            )
            for name, query in {
                "name_not_hex": f"{'zz' * 32}?offset=0&size=3",
                "name_5000_characters": f"{'a' * 5000}?offset=0&size=3",
                "offset_superscript_two": f"{SHA}?offset=%C2%B2&size=3",
                "offset_negative": f"{SHA}?offset=-1&size=3",
                "size_5000_digits": f"{SHA}?offset=0&size={'9' * 5000}",
                "size_beyond_2_63": f"{SHA}?offset=0&size=99999999999999999999",
            }.items()
        },
    ),
    "api.blob_get": Endpoint(
        "GET",
        f"{API}/blobs/{SHA}",
        OFFICE,
        cases={
            "name_not_hex": Bad("GET", f"{API}/blobs/{'zz' * 32}", 400, who=OFFICE),
            # The path the hub reads is not the one signed: the signature does not verify.
            "name_encoded_surrogate": Bad("GET", f"{API}/blobs/%ED%A0%80", 401, who=OFFICE),
            "range_garbage": Bad(
                "GET", f"{API}/blobs/{SHA}", 404, headers={"Range": "bytes=²-"}, who=OFFICE
            ),
        },
    ),
    "metrics.metrics_page": Endpoint(
        "GET",
        "/metrics",
        ANON,
        cases={
            "authorization_not_ascii": Bad(
                "GET", "/metrics", 401, headers={"Authorization": "Bearer \xff\xfe"}
            ),
        },
    ),
    "console.login": Endpoint("GET", "/login", ANON),
    "console.login_submit": Endpoint(
        "POST",
        "/login",
        ANON,
        cases={"form_without_csrf_token": Bad("POST", "/login", 400, b"username=ops")},
    ),
    "console.logout": Endpoint(
        "POST", "/logout", OPERATOR, cases=bad_input.no_csrf("/logout", OPERATOR)
    ),
    "console.font": Endpoint(
        "GET",
        "/fonts/Sarabun-Regular.ttf",
        ANON,
        cases={
            "name_encoded_surrogate": Bad("GET", "/fonts/%ED%A0%80", 404),
            "name_outside": Bad("GET", "/fonts/..%2F..%2Fhub.sqlite", 404),
        },
    ),
    "console.favicon": Endpoint("GET", "/favicon.ico", ANON),
    "console.dashboard": Endpoint("GET", "/", OPERATOR),
    "console.offices": Endpoint("GET", "/offices", OPERATOR),
    "console.office": Endpoint(
        "GET",
        f"/offices/{CHIANG_MAI}",
        OPERATOR,
        cases=page("GET", 404, unknown_encoded_surrogate="/offices/%ED%A0%80"),
    ),
    "console.actions": Endpoint("GET", "/actions", OPERATOR),
    "console_alerts.alerts": Endpoint("GET", "/alerts", OPERATOR),
    "console_alerts.close": Endpoint(
        "POST",
        "/alerts/1/close",
        OPERATOR,
        cases={
            **form("/alerts/99999999999999999999/close", 404, id_beyond_2_63={"reason": "x"}),
            **bad_input.no_csrf("/alerts/1/close", OPERATOR),
        },
    ),
    "console_alerts.quarantined": Endpoint(
        "GET",
        "/quarantine/1",
        OPERATOR,
        cases=page("GET", 404, id_beyond_2_63="/quarantine/99999999999999999999"),
    ),
    "console_alerts.release_envelope": Endpoint(
        "POST",
        "/quarantine/1/release",
        OPERATOR,
        cases=form("/quarantine/99999999999999999999/release", 404, id_beyond_2_63={"reason": "x"}),
    ),
    "console_alerts.discard_envelope": Endpoint(
        "POST",
        "/quarantine/1/discard",
        OPERATOR,
        cases=form("/quarantine/99999999999999999999/discard", 404, id_beyond_2_63={"reason": "x"}),
    ),
    "console_enrollment.enrollment": Endpoint("GET", "/enrollment", OPERATOR),
    "console_enrollment.issue": Endpoint(
        "POST",
        "/enrollment/tokens",
        OPERATOR,
        cases=form(
            "/enrollment/tokens",
            400,
            ttl_superscript_two={"office": CHIANG_MAI, "ttl_hours": "²"},
            ttl_5000_digits={"office": CHIANG_MAI, "ttl_hours": "9" * 5000},
            office_unknown={"office": "\ufffd", "ttl_hours": "1"},
        ),
    ),
    "console_enrollment.cancel": Endpoint(
        "POST",
        "/enrollment/tokens/x/cancel",
        OPERATOR,
        cases=form("/enrollment/tokens/%ED%A0%80/cancel", 404, ident_encoded_surrogate={}),
    ),
    "console_enrollment.add": Endpoint(
        "POST",
        "/enrollment/offices",
        OPERATOR,
        cases=form(
            "/enrollment/offices",
            400,
            group_superscript_two={"office_id": "ลป 0017", "name": "ลำปาง", "group_no": "²"},
            office_id_5000_characters={"office_id": "ก" * 5000, "name": "x"},
        ),
    ),
    "console_enrollment.revoke": Endpoint(
        "POST",
        f"/offices/{CHIANG_RAI}/revoke",
        OPERATOR,
        cases={
            **form("/offices/%ED%A0%80/revoke", 404, office_encoded_surrogate={"reason": "x"}),
            **form(f"/offices/{CHIANG_RAI}/revoke", 400, not_confirmed={"reason": "x"}),
        },
    ),
    "console_enrollment.rotate": Endpoint(
        "POST",
        "/enrollment/rotate-key",
        OPERATOR,
        cases=form("/enrollment/rotate-key", 400, not_confirmed={"reason": "x"}),
    ),
    "console_lists.lists": Endpoint("GET", "/lists", OPERATOR),
    "console_lists.new": Endpoint("GET", "/lists/new", OPERATOR),
    "console_lists.edit": Endpoint(
        "GET", "/lists/north", OPERATOR, cases=page("GET", 404, unknown="/lists/%ED%A0%80")
    ),
    "console_lists.create": Endpoint(
        "POST",
        "/lists",
        OPERATOR,
        cases=form(
            "/lists",
            400,
            title_5000_characters={"name": "north", "title": "ก" * 5000},
            members_unknown={"name": "north", "title": "เหนือ", "member": "\ufffd"},
        ),
    ),
    "console_lists.update": Endpoint(
        "POST", "/lists/north", OPERATOR, cases=form("/lists/%ED%A0%80", 404, unknown={})
    ),
    "console_lists.remove": Endpoint(
        "POST",
        "/lists/north/delete",
        OPERATOR,
        cases=form("/lists/%ED%A0%80/delete", 404, unknown={"confirm": "yes"}),
    ),
    "console_numbering.numbering": Endpoint("GET", "/numbering", OPERATOR),
    "console_numbering.report": Endpoint(
        "GET",
        "/numbering/reports/2026-11-18",
        OPERATOR,
        cases=page(
            "GET",
            400,
            day_encoded_surrogate="/numbering/reports/%ED%A0%80",
            day_beyond_calendar="/numbering/reports/99999-99-99",
        ),
    ),
    "console_numbering.run": Endpoint(
        "POST", "/numbering/run", OPERATOR, cases=bad_input.no_csrf("/numbering/run", OPERATOR)
    ),
    "console_stats.stats": Endpoint(
        "GET",
        "/stats",
        OPERATOR,
        cases=page(
            "GET",
            400,
            days_superscript_two="/stats?days=%C2%B2",
            group_superscript_two="/stats?group=%C2%B2",
            month_beyond_calendar="/stats?month=2569-13",
            range_one_end="/stats?from=1/12/2569",
            argument_too_long=f"/stats?month={'9' * 5000}",
        ),
    ),
    "console_stats.export_csv": Endpoint(
        "GET",
        "/stats/export.csv",
        OPERATOR,
        cases=page("GET", 400, days_superscript_two="/stats/export.csv?days=%C2%B2"),
    ),
    "console_stats.export_xlsx": Endpoint(
        "GET",
        "/stats/export.xlsx",
        OPERATOR,
        cases=page("GET", 400, days_superscript_two="/stats/export.xlsx?days=%C2%B2"),
    ),
}


CASES = bad_input.every_case(ENDPOINTS)


@dataclass
class Served:
    """The module's hub, an enrolled office and a signed-in operator."""

    hub: Hub
    office: Office
    operator: FlaskClient
    csrf: str

    def send(self, bad: Bad) -> Any:
        """Send ``bad`` as its sender would: an office signs the request as sent (its
        ``headers`` then replace what they name, so a bad header reaches the hub under a
        good signature's others), an operator's form carries the session's CSRF token."""
        headers = dict(bad.headers)
        if bad.content_type:
            headers["Content-Type"] = bad.content_type
        if bad.who == OPERATOR:
            data: Any = bad.body
            if isinstance(data, Mapping):
                data = {**data, "csrf_token": self.csrf}
            return self.operator.open(
                bad.path, method=bad.method, data=data, headers=headers, buffered=True
            )
        assert isinstance(bad.body, bytes)
        if bad.who == OFFICE:
            signed = sign_request(
                self.office.signer, bad.method, bad.path, bad.body, self.hub.clock()
            )
            headers = {**signed, **headers}
        return self.hub.client.open(
            bad.path, method=bad.method, data=bad.body, headers=headers, buffered=True
        )

    def stored(self) -> tuple[dict[str, int], list[str]]:
        """The rows of every table of :data:`STORED`, and the files of the blob folder."""
        with self.hub.store() as s:
            counts = {table: s.count(table) for table in STORED}
        return counts, self.blob_files()

    def blob_files(self) -> list[str]:
        folder = Path(self.hub.app.config["BLOB_DIR"])
        return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    # The office sends hundreds of requests in one second of the hub's clock.
    no_rate_limits = {rate_setting(family): 0 for family in RATE_FAMILIES}
    hub = Hub(tmp_path_factory.mktemp("bad_input_hub"), Clock(), **no_rate_limits)
    add_operators(hub)
    office = hub.office(CHIANG_MAI)
    hub.office(CHIANG_RAI)
    operator = console_login(hub)
    return Served(hub, office, operator, csrf(operator, "/enrollment"))


def test_every_endpoint_has_bad_input_cases(served: Served) -> None:
    assert bad_input.unlisted_endpoints(served.hub.app, ENDPOINTS) == set()


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_in_one_line_stores_nothing_and_the_hub_serves_on(
    served: Served, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    bad = CASES[name]
    before = served.stored()
    bad_input.refused(served.send, bad, caplog, api=bad.path.startswith(NOT_A_PAGE))
    assert served.stored() == before
    assert served.send(Bad("GET", f"{API}/highwater", 200, who=OFFICE)).status_code == 200
    assert served.operator.get("/", buffered=True).status_code == 200


def test_an_oversized_page_form_gets_a_thai_page_naming_the_limit(served: Served) -> None:
    answer = served.operator.post(
        "/lists", data={"title": "ก" * SMALL_BODY_BYTES, "csrf_token": served.csrf}
    )
    assert answer.status_code == 413 and bad_input.is_thai_page(answer)
    assert "256 KB" in answer.get_data(as_text=True)


def test_a_push_over_the_limit_names_it(served: Served) -> None:
    answer = served.send(Bad("POST", f"{API}/push", 413, b"x" * (PUSH_LIMIT + 1), who=OFFICE))
    assert answer.get_json()["limit_bytes"] == PUSH_LIMIT
    assert "8 MB" in answer.get_json()["reason"]


# -- the request body reader ----------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INT, MAX_SAFE_INT)
    | st.text(alphabet=st.sampled_from('[]{}"\\/,:ab ก\u0e33\U0001f600\n'), max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=30,
)


def depth(value: Any) -> int:
    if isinstance(value, dict | list):
        items = value.values() if isinstance(value, dict) else value
        return 1 + max((depth(v) for v in items), default=0)
    return 0


@given(json_values, st.integers(0, MAX_DEPTH + 2), st.booleans())
def test_the_body_reader_measures_nesting_exactly_and_reads_what_json_reads(
    value: Any, wrappers: int, ascii_only: bool
) -> None:
    for _ in range(wrappers):
        value = {"a": [value]} if wrappers % 2 else [value]
    data = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert nesting_depth(data) == depth(value)
    if depth(value) <= MAX_DEPTH:
        assert parse_request_json(data) == value
    else:
        with pytest.raises(BoundsError):
            parse_request_json(data)


@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()[:-1]))
def test_the_body_reader_refuses_any_other_bytes_with_its_typed_error(data: bytes) -> None:
    try:
        parse_request_json(data)
    except RemoteDataError:
        pass


# -- through `saraban hub serve` ------------------------------------------------------------


@pytest.fixture(scope="module")
def hub_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("bad_input_hub_served")
    init_hub(folder / "hub")
    port = free_ports(1)[0]
    argv = ["hub", "serve", "--instance", str(folder / "hub"), "--port", str(port)]
    service = start_service(
        "hub", argv, f"http://127.0.0.1:{port}", f"{API}/health", folder / "hub.log"
    )
    try:
        service.wait_ready(time.monotonic() + 60)
        yield service
    finally:
        service.stop()


def raw_request(
    service: Service,
    method: str,
    path: str,
    headers: list[tuple[str, bytes]],
    body: bytes | Iterator[bytes] = b"",
) -> tuple[int, dict[str, Any]]:
    """One request with header bytes as given (http.client sends them unchecked)."""
    port = int(service.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if isinstance(body, bytes):
            conn.putheader("Content-Length", str(len(body)).encode())
            conn.endheaders(body)
        else:
            conn.putheader("Transfer-Encoding", b"chunked")
            conn.endheaders()
            for chunk in body:
                conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            conn.send(b"0\r\n\r\n")
        answer = conn.getresponse()
        data = answer.read()
        assert answer.getheader("Content-Type", "").startswith(JSON), data[:200]
        return answer.status, json.loads(data)
    finally:
        conn.close()


SIGNED_SHAPE = [
    (H_KEYID, b"%E0%B8%8A%E0%B8%A1%200017%231"),
    (H_NONCE, b"n" * 24),
    (H_SIGNATURE, b"AAAA"),
]
SERVED_CASES: dict[str, tuple[str, str, list[tuple[str, bytes]], Any, int]] = {
    "enroll_body_over_its_limit": (
        "POST",
        f"{API}/enroll",
        [("Content-Type", JSON.encode())],
        b"{" + b" " * SMALL_BODY_BYTES + b"}",
        413,
    ),
    "enroll_body_over_the_push_limit": (
        "POST",
        f"{API}/enroll",
        [("Content-Type", JSON.encode())],
        b"x" * (PUSH_LIMIT + 1),
        413,
    ),
    "enroll_chunked_body_over_its_limit": (
        "POST",
        f"{API}/enroll",
        [("Content-Type", JSON.encode())],
        iter([b"[" + b" " * 65536] * 5),
        413,
    ),
    "enroll_nested_100000_deep": (
        "POST",
        f"{API}/enroll",
        [("Content-Type", JSON.encode())],
        b"[" * 100_000 + b"]" * 100_000,
        400,
    ),
    "timestamp_superscript_two_as_utf8": (
        "GET",
        f"{API}/highwater",
        [(H_TIMESTAMP, "²".encode()), *SIGNED_SHAPE],
        b"",
        401,
    ),
    "timestamp_superscript_two_as_latin1": (
        "GET",
        f"{API}/highwater",
        [(H_TIMESTAMP, b"\xb2"), *SIGNED_SHAPE],
        b"",
        401,
    ),
    "timestamp_duplicated": (
        "GET",
        f"{API}/highwater",
        [(H_TIMESTAMP, b"1795000000"), (H_TIMESTAMP, b"1795000000"), *SIGNED_SHAPE],
        b"",
        401,
    ),
    "keyid_raw_utf8": (
        "GET",
        f"{API}/highwater",
        [(H_KEYID, "ชม 0017#1".encode()), (H_TIMESTAMP, b"1"), *SIGNED_SHAPE[1:]],
        b"",
        401,
    ),
    "after_superscript_two_unsigned": ("GET", f"{API}/feed?after=%C2%B2", [], b"", 401),
    "path_invalid_utf8": ("GET", f"{API}/%FF%FE", [], b"", 404),
}


def test_bad_bytes_at_the_served_hub_are_4xx_json_in_one_log_line_each(
    hub_process: Service,
) -> None:
    for name, (method, path, headers, body, status) in SERVED_CASES.items():
        answer = raw_request(hub_process, method, path, headers, body)
        assert answer[0] == status, (name, answer)
        assert answer[1]["error"] and answer[1]["reason"], name
        health = raw_request(hub_process, "GET", f"{API}/health", [])
        assert health[0] == 200, name
    log = hub_process.log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log
    refused = [line for line in log.splitlines() if "refused " in line]
    assert len(refused) == len(SERVED_CASES), refused
