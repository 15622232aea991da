"""The clerk's web pages, driven in-process: login, sessions, CSRF, งานของฉัน and the assets
the node serves itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_node_offline import deliver
from test_node_support import Node, PaperHub, offline_node, publish
from web_support import PASSWORD, csrf, login

from node.records.worklist import HIDDEN_SUBJECT_TH
from node.staff.accounts import add_user


@pytest.fixture
def pair(tmp_path: Path, clock: Clock) -> tuple[Node, Node]:
    paper = PaperHub()
    cm = offline_node(tmp_path, CHIANG_MAI, paper, clock, SESSION_MINUTES=30)
    cr = offline_node(tmp_path, CHIANG_RAI, paper, clock, SESSION_MINUTES=30)
    publish(paper, cm, cr)
    with cr.store() as s:
        add_user(cr.ctx, s, "somsri", "สมศรี ธุรการ", PASSWORD, ["clerk"], ["ชร 0017.1"])
        add_user(cr.ctx, s, "registrar", "วิชัย ทะเบียนลับ", PASSWORD, ["registrar"])
    return cm, cr


@pytest.fixture
def node(pair: tuple[Node, Node]) -> Node:
    return pair[1]


def signed_in(client: FlaskClient) -> bool:
    with client.session_transaction() as s:
        return "user" in s


def test_home_needs_a_login(node: Node) -> None:
    resp = node.client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    page = node.client.get("/login").get_data(as_text=True)
    assert '<html lang="th">' in page and 'for="username"' in page and 'for="password"' in page


def test_wrong_password_shows_the_thai_message_and_starts_no_session(node: Node) -> None:
    client = node.app.test_client()
    data = {"username": "somsri", "password": "ผิดแน่นอน-123", "csrf_token": csrf(client)}
    resp = client.post("/login", data=data)
    assert resp.status_code == 401
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in resp.get_data(as_text=True)
    assert not signed_in(client)
    assert client.get("/").status_code == 302


def test_login_shows_my_work_and_the_sync_badge(node: Node) -> None:
    client = login(node)
    page = client.get("/").get_data(as_text=True)
    assert "งานของฉัน" in page and "สมศรี ธุรการ" in page
    assert "ขาดการเชื่อมต่อ" in page and "ส่ง-รับสำเร็จล่าสุด" in page and "รอส่ง" in page


@pytest.mark.parametrize(
    "token",
    [pytest.param(None, id="missing"), pytest.param("forged-token", id="forged")],
)
def test_login_with_a_bad_csrf_token_is_refused_and_nothing_counted(
    node: Node, token: str | None
) -> None:
    client = node.app.test_client()
    csrf(client)
    data = {"username": "somsri", "password": PASSWORD}
    if token:
        data["csrf_token"] = token
    resp = client.post("/login", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and resp.mimetype == "text/html"
    assert "แบบฟอร์มไม่ถูกต้อง" in page and "Traceback" not in page
    assert not signed_in(client)
    assert node.rows("SELECT COUNT(*) AS n FROM audit WHERE action LIKE 'login%'")[0]["n"] == 0


@pytest.mark.parametrize(
    "token",
    [pytest.param(None, id="missing"), pytest.param("forged-token", id="forged")],
)
def test_logout_with_a_bad_csrf_token_keeps_the_session(node: Node, token: str | None) -> None:
    client = login(node)
    resp = client.post("/logout", data={"csrf_token": token} if token else {})
    assert resp.status_code == 400 and "แบบฟอร์มไม่ถูกต้อง" in resp.get_data(as_text=True)
    assert signed_in(client)
    assert client.post("/logout", data={"csrf_token": csrf(client, "/")}).status_code == 302
    assert not signed_in(client)
    assert client.get("/").status_code == 302


def test_session_expires_after_idle_minutes_on_the_node_clock(node: Node, clock: Clock) -> None:
    client = login(node)
    clock.advance(29 * 60)
    assert client.get("/").status_code == 200  # activity keeps the session alive
    clock.advance(29 * 60)
    assert client.get("/").status_code == 200
    clock.advance(31 * 60)
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert "หมดเวลาการใช้งาน" in client.get("/login").get_data(as_text=True)


def test_script_in_a_subject_is_shown_escaped(node: Node) -> None:
    subject = '<script>alert("x")</script><b>ประชุม</b>'
    letter = node.call(
        "POST",
        "/api/paper-letters",
        {"subject": subject, "origin": "อำเภอเมือง", "speed": "ด่วนที่สุด"},
        ok=201,
    )
    node.call("POST", f"/api/letters/{letter['id']}/assign", {"to": "somsri"})
    page = login(node).get("/").get_data(as_text=True)
    assert str(escape(subject)) in page
    assert "<script>alert" not in page and "<b>ประชุม</b>" not in page


def test_waiting_letters_are_sorted_by_speed_then_arrival(
    pair: tuple[Node, Node], clock: Clock
) -> None:
    cm, cr = pair
    order = [("", "ไม่มีชั้น"), ("ด่วน", "ด่วนธรรมดา"), ("ด่วนที่สุด", "ด่วนที่สุดก่อน")]
    for speed, subject in order:
        sent = cm.send(recipients=[CHIANG_RAI], subject=subject, speed=speed)
        deliver(cm, cr, PaperHub(), sent["id"])
        clock.advance(60)
    page = login(cr).get("/").get_data(as_text=True)
    positions = [page.index(s) for s in ("ด่วนที่สุดก่อน", "ด่วนธรรมดา", "ไม่มีชั้น")]
    assert positions == sorted(positions)
    assert '<span class="speed">ด่วนที่สุด</span>' in page


def test_classified_subject_is_hidden_from_a_clerk_and_shown_to_the_registrar(
    pair: tuple[Node, Node],
) -> None:
    cm, cr = pair
    secret = cr.call(
        "POST",
        "/api/paper-letters",
        {"subject": "แผนรักษาความปลอดภัย", "origin": "จังหวัด", "secrecy": "ลับ"},
        ok=201,
    )
    cr.call("POST", f"/api/letters/{secret['id']}/assign", {"to": "registrar"})
    # Sealed e-letters cannot be sent yet; one that has arrived is stood in for by marking a
    # delivered letter ลับ, so the clerk's list holds a classified letter she may not open.
    sent = cm.send(recipients=[CHIANG_RAI], subject="คำสั่งลับเฉพาะ", speed="ด่วนมาก")
    arrived = deliver(cm, cr, PaperHub(), sent["id"])
    with cr.store() as s, s.transaction():
        s.execute("UPDATE letters SET secrecy = 'ลับ' WHERE id = ?", (arrived,))

    clerk_page = login(cr).get("/").get_data(as_text=True)
    assert "แผนรักษาความปลอดภัย" not in clerk_page and "คำสั่งลับเฉพาะ" not in clerk_page
    assert HIDDEN_SUBJECT_TH in clerk_page  # she sees that it exists, and that it is urgent
    assert '<span class="speed">ด่วนมาก</span>' in clerk_page
    registrar_page = login(cr, "registrar").get("/").get_data(as_text=True)
    assert "แผนรักษาความปลอดภัย" in registrar_page and "คำสั่งลับเฉพาะ" in registrar_page


def test_font_and_stylesheet_are_served_by_the_node(node: Node) -> None:
    css = node.client.get("/static/saraban.css")
    assert css.status_code == 200 and "@font-face" in css.get_data(as_text=True)
    for name in ("Sarabun-Regular.ttf", "Sarabun-Bold.ttf"):
        font = node.client.get(f"/fonts/{name}")
        assert font.status_code == 200 and font.mimetype == "font/ttf"
        assert font.get_data()[:4] == b"\x00\x01\x00\x00"
        assert f"/fonts/{name}" in css.get_data(as_text=True)
    assert node.client.get("/fonts/..%2Fsecret_key").status_code == 404


def test_web_errors_are_thai_pages_and_api_errors_stay_json(node: Node) -> None:
    page = node.client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "ไม่พบหน้าที่ต้องการ" in page.get_data(as_text=True)
    api = node.client.get("/api/no-such-thing", headers=node.headers)
    assert api.status_code == 404 and api.get_json()["message_th"] == "ไม่พบหน้าที่ต้องการ"
    assert node.client.get("/status").status_code == 200


def test_secret_key_is_made_once_and_private(node: Node) -> None:
    path = node.instance / "secret_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(path.read_text(encoding="utf-8").strip()) == 64
    assert node.app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert node.app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_pages_refuse_framing_by_other_sites(node: Node) -> None:
    client = login(node)
    for path in ("/login", "/", "/letters/inbox"):
        headers = client.get(path).headers
        assert headers["X-Frame-Options"] == "SAMEORIGIN", path
        assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
