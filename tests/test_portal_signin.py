"""Signing in to the portal at the hub (ADR 0024): a real hub on 127.0.0.1 and real nodes
enrolled through it publish their accounts at sync; the portal reads them from the hub's
database, on the hub's movable clock.

A person signs in with office, user name and password, then a TOTP code that is good
once; wrong passwords and codes lock the account; one address is held to its rate; the
session is a row at the hub behind a random token in a Secure, HttpOnly, SameSite=Strict
cookie, ends when idle, and ends when the office disables the account or changes its
password (at the office's next sync). Every attempt is audited; a forged form changes
nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from portal_support import PORTAL_URL, Person, Portal, enrol, visible_text
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_node_support import Federation, Node, federation

from hub.store import open_store
from hub.store.portal_sessions import PortalSessions
from node.staff.accounts import set_active, set_password
from protocol.sessions import LOCK_SECONDS, LOGIN_REFUSED_TH, MAX_FAILURES


class World:
    def __init__(self, fed: Federation) -> None:
        self.fed = fed
        self.cm: Node = fed.node(CHIANG_MAI)
        self.somsri = enrol(self.cm, "somsri", ["clerk"])
        self.newbie = enrol(self.cm, "newbie", ["clerk"], totp=False)
        assert self.cm.sync().ok
        self.portal = Portal.on(fed)

    def audit(self) -> list[dict[str, object]]:
        store = open_store(self.fed.hub_app.config["DATABASE"], create=False)
        try:
            return list(reversed(PortalSessions(store).audit_rows(limit=1000)))
        finally:
            store.close()

    def sessions(self) -> list[dict[str, object]]:
        store = open_store(self.fed.hub_app.config["DATABASE"], create=False)
        try:
            return store._all("SELECT * FROM portal_sessions")
        finally:
            store.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with federation(tmp_path, Clock()) as fed:
        yield World(fed)


def test_a_person_signs_in_with_their_office_password_and_a_code(world: World) -> None:
    portal, somsri = world.portal, world.somsri
    client = portal.client()
    answer = portal.password_step(client, somsri, office="ชม๐๐๑๗")  # typed as clerks type it
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login/code")
    cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Expires" not in cookie and "Max-Age" not in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    # Until the code, the session opens nothing but the code form.
    assert portal.get(client, "/").status_code == 302
    assert portal.code_step(client, portal.code_of(somsri)).headers["Location"] == "/"
    page = visible_text(portal.page(client, "/"))
    assert "ค้นหาและติดตามหนังสือ" in page and "ผู้ใช้ somsri" in page
    [row] = world.sessions()
    # The cookie changed when the code was accepted; the hub keeps a hash, never the token.
    assert row["stage"] == "in" and row["token_hash"] != hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in str(v) for v in row.values())
    actions = [(a["office"], a["username"], a["action"]) for a in world.audit()]
    assert actions == [(CHIANG_MAI, "somsri", "sign_in")]


def test_a_code_is_good_once(world: World) -> None:
    portal, somsri = world.portal, world.somsri
    client = portal.client()
    portal.password_step(client, somsri)
    code = portal.code_of(somsri)
    assert portal.code_step(client, code).status_code == 302
    portal.post(client, "/logout", {}, "/")
    replay = portal.client()
    portal.password_step(replay, somsri)
    refused = portal.code_step(replay, code)
    assert refused.status_code == 401
    assert "ถูกใช้ไปแล้ว" in refused.get_data(as_text=True)
    assert portal.code_step(replay, portal.code_of(somsri)).status_code == 302
    failed = [a["detail"] for a in world.audit() if a["action"] == "sign_in_failed"]
    assert failed == ["code used before"]


def test_wrong_passwords_lock_the_account_whatever_comes_next(world: World) -> None:
    portal, somsri = world.portal, world.somsri
    for _ in range(MAX_FAILURES):
        answer = portal.password_step(portal.client(), somsri, password="ผิดแน่นอน-12345")
        assert answer.status_code == 401
        assert LOGIN_REFUSED_TH in answer.get_data(as_text=True)
    locked = portal.password_step(portal.client(), somsri)
    assert locked.status_code == 401 and LOGIN_REFUSED_TH in locked.get_data(as_text=True)
    world.fed.clock.advance(LOCK_SECONDS + 1)
    portal.sign_in(somsri)


def test_wrong_codes_count_toward_the_lock_and_a_right_password_does_not_clear_them(
    world: World,
) -> None:
    portal, somsri = world.portal, world.somsri
    client = portal.client()
    for attempt in range(MAX_FAILURES):
        if attempt == 2:  # starting again with the right password clears nothing
            client = portal.client()
            assert portal.password_step(client, somsri).status_code == 302
        elif attempt == 0:
            portal.password_step(client, somsri)
        answer = portal.code_step(client, "000000")
        assert answer.status_code == 401
    page = answer.get_data(as_text=True)
    assert "ระงับชั่วคราว" in page and 'name="password"' in page  # back at the first form
    again = portal.client()
    assert portal.password_step(again, somsri).status_code == 401
    world.fed.clock.advance(LOCK_SECONDS + 1)
    portal.sign_in(somsri)


def test_unknown_office_or_name_gets_the_words_of_a_wrong_password(world: World) -> None:
    portal = world.portal
    for person in (
        Person(CHIANG_MAI, "nobody", None),
        Person(CHIANG_RAI, "somsri", None),
        Person(CHIANG_MAI, "somsri", None, password="ผิดแน่นอน-12345"),
    ):
        answer = portal.password_step(portal.client(), person)
        assert answer.status_code == 401
        assert LOGIN_REFUSED_TH in answer.get_data(as_text=True)
    bad_office = portal.password_step(portal.client(), world.somsri, office="เชียงใหม่")
    assert bad_office.status_code == 400
    assert "รหัสหน่วยงานไม่ถูกต้อง" in bad_office.get_data(as_text=True)


def test_an_account_without_a_second_factor_is_told_to_enrol_at_its_office(
    world: World,
) -> None:
    answer = world.portal.password_step(world.portal.client(), world.newbie)
    assert answer.status_code == 403
    text = visible_text(answer.get_data(as_text=True))
    assert "ยังไม่ได้ตั้งรหัสยืนยันตัวตนสองชั้น" in text and "หน้าเว็บระบบสารบรรณของหน่วยงาน" in text
    assert world.sessions() == []


def test_sign_ins_from_one_address_are_held_to_the_rate(world: World) -> None:
    portal = Portal.on(world.fed, PORTAL_SIGN_INS_PER_MINUTE=3)
    for _ in range(3):
        assert portal.password_step(portal.client(), world.newbie).status_code == 403
    answer = portal.password_step(portal.client(), world.somsri)
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) >= 1
    assert "บ่อยเกินกำหนด" in answer.get_data(as_text=True)
    world.fed.clock.advance(60)
    portal.sign_in(world.somsri)


def test_a_disabled_account_is_refused_after_its_offices_next_sync(world: World) -> None:
    portal, cm = world.portal, world.cm
    client = portal.sign_in(world.somsri)
    with cm.store() as s:
        set_active(cm.ctx, s, "somsri", False, "admin")
    portal.page(client, "/")  # until the office syncs, the hub knows nothing of it
    assert cm.sync().ok
    answer = portal.get(client, "/")
    assert answer.status_code == 302 and "ended=revoked" in answer.headers["Location"]
    assert "saraban_portal=;" in answer.headers["Set-Cookie"]
    page = visible_text(portal.page(client, answer.headers["Location"]))
    assert "หน่วยงานปิดบัญชีหรือเปลี่ยนรหัสผ่าน" in page
    refused = portal.password_step(portal.client(), world.somsri)
    assert refused.status_code == 401
    assert world.sessions() == []


def test_a_new_password_at_the_office_ends_the_session_another_change_does_not(
    world: World,
) -> None:
    portal, cm = world.portal, world.cm
    client = portal.sign_in(world.somsri)
    enrol(cm, "another", ["officer"])  # the accounts version moves on
    assert cm.sync().ok
    portal.page(client, "/")
    with cm.store() as s:
        set_password(cm.ctx, s, "somsri", "รหัสผ่านใหม่ยาวพอ-2570")
    assert cm.sync().ok
    assert portal.get(client, "/").status_code == 302
    world.somsri.password = "รหัสผ่านใหม่ยาวพอ-2570"
    portal.sign_in(world.somsri)


def test_an_idle_session_ends_by_the_hubs_clock(world: World) -> None:
    portal = world.portal
    client = portal.sign_in(world.somsri)
    world.fed.clock.advance(29 * 60)
    portal.page(client, "/")
    world.fed.clock.advance(31 * 60)
    answer = portal.get(client, "/?q=ประชุม")
    assert answer.status_code == 302 and "ended=expired" in answer.headers["Location"]
    assert "next=" in answer.headers["Location"]
    assert world.sessions() == []


def test_sign_out_ends_the_session_at_the_hub(world: World) -> None:
    portal = world.portal
    client = portal.sign_in(world.somsri)
    kept = client.get_cookie("saraban_portal", domain="portal.test")
    assert kept is not None
    answer = portal.post(client, "/logout", {}, "/")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login")
    assert world.sessions() == []
    copy = portal.client()
    copy.set_cookie("saraban_portal", kept.value, domain="portal.test")
    assert portal.get(copy, "/").status_code == 302
    assert [a["action"] for a in world.audit()] == ["sign_in", "sign_out"]


@pytest.mark.parametrize(
    ("path", "token"),
    [("/logout", ""), ("/logout", "not-the-token"), ("/login", ""), ("/login/code", "x")],
)
def test_a_forged_form_is_refused_before_anything_is_done(
    world: World, path: str, token: str
) -> None:
    portal = world.portal
    client = portal.sign_in(world.somsri)
    before = world.audit()
    answer = client.post(
        path,
        data={"csrf_token": token, "office": CHIANG_MAI, "username": "somsri", "code": "1"},
        base_url=PORTAL_URL,
    )
    assert answer.status_code == 403
    assert "แบบฟอร์มไม่ถูกต้องหรือหมดอายุ" in answer.get_data(as_text=True)
    assert len(world.sessions()) == 1 and world.audit() == before
    portal.page(client, "/")


def test_every_answer_carries_the_pages_headers(world: World) -> None:
    answer = world.portal.get(world.portal.client(), "/login")
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert "saraban_portal_form=" in answer.headers["Set-Cookie"]
    assert "Secure" in answer.headers["Set-Cookie"]


def test_a_body_over_the_limit_is_refused_in_thai_before_it_is_read(world: World) -> None:
    answer = world.portal.client().post(
        "/login", data={"office": "x" * (300 * 1024)}, base_url=PORTAL_URL
    )
    assert answer.status_code == 413
    assert "ส่งได้ไม่เกิน 256 KB" in answer.get_data(as_text=True)
    assert world.audit() == [] and world.sessions() == []
