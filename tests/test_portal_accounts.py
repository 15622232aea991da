"""Offices publish their accounts to the hub (ADR 0024): a real hub on 127.0.0.1 and real
nodes enrolled through it, each with its own SQLite files.

An account added, deactivated or enrolled with TOTP at an office is at the hub after the
office's next sync; every change moves the accounts version on, a sign-in does not. An
``accounts`` envelope with a bad signature, signed by another office, naming another
office, signed by a key the directory does not hold, or an older version replayed is
refused with its JSON reason and nothing is stored. A node restored from an old copy
catches up with the version the hub holds; a refusal makes the round not ``ok``, with a
Thai warning and a log line that holds no hash.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from support import CHIANG_MAI, CHIANG_RAI
from test_node_support import Federation, Node
from web_support import PASSWORD

from hub.store import open_store
from hub.store.portal_accounts import PortalAccounts
from node.staff.accounts import add_user, authenticate, set_active, set_password, set_roles
from node.staff.published import accounts_version, published_version
from node.staff.second_factor import confirm_enrolment, reset_totp, start_enrolment
from node.sync.hubclient import HubClient, HubHTTPError
from protocol.accounts import ACCOUNTS_KIND, account_list
from protocol.canonical import canonical_bytes
from protocol.envelope import sign_envelope
from protocol.keys import Signer
from protocol.passwords import hash_password
from protocol.totp import code_at

ISSUED = "2026-11-18T11:06:40Z"


def hub_state(fed: Federation, office: str) -> tuple[int, list[dict[str, Any]]]:
    """The version of ``office``'s accounts the hub holds, and every row it keeps."""
    store = open_store(fed.hub_app.config["DATABASE"], create=False)
    try:
        table = PortalAccounts(store)
        rows = [table.get(office, r["username"]) for r in table.for_office(office)]
        return table.held_version(office), [r for r in rows if r is not None]
    finally:
        store.close()


def hub_account(fed: Federation, office: str, username: str) -> dict[str, Any] | None:
    store = open_store(fed.hub_app.config["DATABASE"], create=False)
    try:
        return PortalAccounts(store).get(office, username)
    finally:
        store.close()


def office_with_clerk(fed: Federation, office: str = CHIANG_MAI) -> Node:
    node = fed.node(office)
    with node.store() as s:
        add_user(node.ctx, s, "admin", "อำนาจ ผู้ดูแล", PASSWORD, ["admin"])
        add_user(node.ctx, s, "somsri", "สมศรี ธุรการ", PASSWORD, ["clerk"])
    return node


def test_an_account_added_at_the_office_is_at_the_hub_after_a_sync(fed: Federation) -> None:
    cm = office_with_clerk(fed)
    assert hub_account(fed, CHIANG_MAI, "somsri") is None
    result = cm.sync()
    assert result.ok, result
    account = hub_account(fed, CHIANG_MAI, "somsri")
    assert account is not None
    with cm.store() as s:
        row = s.one("SELECT password_hash FROM users WHERE username = 'somsri'")
        version = accounts_version(s)
        assert published_version(s) == version == result.accounts_published
    assert account == {
        "office": CHIANG_MAI,
        "username": "somsri",
        "display_name": "สมศรี ธุรการ",
        "roles": ["clerk"],
        "password_hash": row["password_hash"] if row else None,
        "active": True,
        "totp_secret": None,
        "version": version,
        "updated_at": fed.clock(),
    }
    store = open_store(fed.hub_app.config["DATABASE"], create=False)
    try:
        listed = PortalAccounts(store).for_office(CHIANG_MAI)
    finally:
        store.close()
    assert [a["username"] for a in listed] == ["admin", "somsri"]
    assert all("password_hash" not in a and "totp_secret" not in a for a in listed)

    again = cm.sync()  # nothing changed: nothing is sent, the hub keeps the same version
    assert again.ok and again.accounts_published is None
    assert hub_state(fed, CHIANG_MAI)[0] == version


def test_deactivated_at_the_office_is_inactive_at_the_hub_after_the_next_sync(
    fed: Federation,
) -> None:
    cm = office_with_clerk(fed)
    assert cm.sync().ok
    fed.clock.advance(60)
    with cm.store() as s:
        set_active(cm.ctx, s, "somsri", False, actor="admin")
    assert hub_account(fed, CHIANG_MAI, "somsri")["active"] is True  # type: ignore[index]
    assert cm.sync().ok
    account = hub_account(fed, CHIANG_MAI, "somsri")
    assert account is not None and account["active"] is False
    assert account["updated_at"] == fed.clock()
    assert hub_account(fed, CHIANG_MAI, "admin")["updated_at"] == fed.clock() - 60  # type: ignore[index]


def test_a_new_password_roles_and_totp_reach_the_hub(fed: Federation) -> None:
    cm = office_with_clerk(fed)
    with cm.store() as s:
        secret = start_enrolment(cm.ctx, s, "somsri")
        confirm_enrolment(cm.ctx, s, "somsri", code_at(secret, cm.clock()))
        set_password(cm.ctx, s, "somsri", "รหัสผ่านใหม่ยาวพอ-2570", actor="admin")
        set_roles(cm.ctx, s, "somsri", ["clerk", "registrar"], actor="admin")
    assert cm.sync().ok
    account = hub_account(fed, CHIANG_MAI, "somsri")
    assert account is not None
    assert account["totp_secret"] == secret and account["roles"] == ["clerk", "registrar"]
    with cm.store() as s:
        assert account["password_hash"] == s.scalar(
            "SELECT password_hash FROM users WHERE username = 'somsri'"
        )
        reset_totp(cm.ctx, s, "somsri", actor="admin")
    assert cm.sync().ok
    assert hub_account(fed, CHIANG_MAI, "somsri")["totp_secret"] is None  # type: ignore[index]


CHANGES: dict[str, Callable[[Node, Any], object]] = {
    "add": lambda n, s: add_user(n.ctx, s, "manee", "มานี มีนา", PASSWORD, ["officer"]),
    "password": lambda n, s: set_password(n.ctx, s, "somsri", PASSWORD + "!", actor="admin"),
    "roles": lambda n, s: set_roles(n.ctx, s, "somsri", ["officer"], actor="admin"),
    "deactivate": lambda n, s: set_active(n.ctx, s, "somsri", False, actor="admin"),
    "totp_reset": lambda n, s: reset_totp(n.ctx, s, "somsri", actor="admin"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_every_change_of_an_account_moves_the_version_on_once(fed: Federation, change: str) -> None:
    cm = office_with_clerk(fed)
    with cm.store() as s:
        before = accounts_version(s)
        CHANGES[change](cm, s)
        assert accounts_version(s) == before + 1


def test_a_sign_in_or_a_refused_change_leaves_the_version_alone(fed: Federation) -> None:
    cm = office_with_clerk(fed)
    with cm.store() as s:
        before = accounts_version(s)
        authenticate(cm.ctx, s, "somsri", PASSWORD)
        with pytest.raises(Exception, match="exists"):
            add_user(cm.ctx, s, "somsri", "ซ้ำ", PASSWORD, ["clerk"])
        secret = start_enrolment(cm.ctx, s, "somsri")  # pending: nothing for the portal yet
        with pytest.raises(Exception, match="does not match"):
            wrong = f"{(int(code_at(secret, cm.clock())) + 1) % 1_000_000:06d}"
            confirm_enrolment(cm.ctx, s, "somsri", wrong)
        assert accounts_version(s) == before


# -- attacks on POST /accounts --------------------------------------------------------------


def _client(fed: Federation, node: Node) -> HubClient:
    return HubClient(fed.url, node.ctx.signer, fed.clock)


def _accounts(office: str, version: int, **changes: Any) -> dict[str, Any]:
    account = {
        "username": "intruder",
        "display_name": "ผู้บุกรุก",
        "roles": ["admin"],
        "password_hash": hash_password("รหัสของผู้บุกรุก-2569"),
        "active": True,
        "totp_secret": None,
        **changes,
    }
    return account_list(office, version, ISSUED, [account]).to_dict()


def tampered(fed: Federation, cm: Node, cr: Node) -> dict[str, Any]:
    """A good envelope of the office whose body was changed after it was signed."""
    wire = sign_envelope(ACCOUNTS_KIND, _accounts(CHIANG_MAI, 50), cm.ctx.signer).to_wire()
    body = _accounts(CHIANG_MAI, 50, roles=["admin", "executive"])
    wire["payload"] = base64.b64encode(canonical_bytes(body)).decode()
    return wire


def signed_by_another_office(fed: Federation, cm: Node, cr: Node) -> dict[str, Any]:
    return sign_envelope(ACCOUNTS_KIND, _accounts(CHIANG_MAI, 50), cr.ctx.signer).to_wire()


def naming_another_office(fed: Federation, cm: Node, cr: Node) -> dict[str, Any]:
    return sign_envelope(ACCOUNTS_KIND, _accounts(CHIANG_RAI, 50), cm.ctx.signer).to_wire()


def signed_by_an_unknown_key(fed: Federation, cm: Node, cr: Node) -> dict[str, Any]:
    stranger = Signer.generate(CHIANG_MAI, 9)
    return sign_envelope(ACCOUNTS_KIND, _accounts(CHIANG_MAI, 50), stranger).to_wire()


def older_version_replayed(fed: Federation, cm: Node, cr: Node) -> dict[str, Any]:
    old = sign_envelope(ACCOUNTS_KIND, _accounts(CHIANG_MAI, 40), cm.ctx.signer).to_wire()
    _client(fed, cm).publish_accounts(old)
    newer = sign_envelope(ACCOUNTS_KIND, _accounts(CHIANG_MAI, 41), cm.ctx.signer).to_wire()
    _client(fed, cm).publish_accounts(newer)
    return old


def same_version_again(fed: Federation, cm: Node, cr: Node) -> dict[str, Any]:
    wire = sign_envelope(ACCOUNTS_KIND, _accounts(CHIANG_MAI, 40), cm.ctx.signer).to_wire()
    _client(fed, cm).publish_accounts(wire)
    return wire


def a_hash_that_is_no_scrypt(fed: Federation, cm: Node, cr: Node) -> dict[str, Any]:
    good = _accounts(CHIANG_MAI, 50)
    good["accounts"][0]["password_hash"] = "plain-text-password"
    return sign_envelope(ACCOUNTS_KIND, good, cm.ctx.signer).to_wire()


ATTACKS: dict[str, tuple[Callable[[Federation, Node, Node], dict[str, Any]], int, str]] = {
    "bad_signature": (tampered, 400, "bad_signature"),
    "signed_by_another_office": (signed_by_another_office, 403, "wrong_signer"),
    "naming_another_office": (naming_another_office, 403, "wrong_office"),
    "signed_by_an_unknown_key": (signed_by_an_unknown_key, 400, "unknown_key"),
    "older_version_replayed": (older_version_replayed, 409, "replayed"),
    "same_version_again": (same_version_again, 409, "replayed"),
    "a_hash_that_is_no_scrypt": (a_hash_that_is_no_scrypt, 400, "bad_message"),
}
"""Each bad ``accounts`` envelope, the status and the reason it gets."""


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_hub_refuses_a_bad_accounts_envelope_and_stores_nothing(
    fed: Federation, attack: str
) -> None:
    make, status, code = ATTACKS[attack]
    cm, cr = office_with_clerk(fed), office_with_clerk(fed, CHIANG_RAI)
    assert cm.sync().ok and cr.sync().ok
    wire = make(fed, cm, cr)
    before = hub_state(fed, CHIANG_MAI), hub_state(fed, CHIANG_RAI)
    with pytest.raises(HubHTTPError) as refused:
        _client(fed, cm).publish_accounts(wire)
    assert (refused.value.status, refused.value.error) == (status, code), refused.value.reason
    assert refused.value.reason
    assert (hub_state(fed, CHIANG_MAI), hub_state(fed, CHIANG_RAI)) == before
    assert hub_account(fed, CHIANG_MAI, "intruder") in (None, before[0][1][-1])
    if code == "replayed":
        assert refused.value.body["held_version"] == before[0][0]
    answer = json.dumps(refused.value.body, ensure_ascii=False)
    sent = json.loads(base64.b64decode(wire["payload"]))
    assert not any(a["password_hash"] in answer for a in sent["accounts"])


def test_a_node_restored_from_an_old_copy_publishes_above_the_hubs_version(
    fed: Federation,
) -> None:
    cm = office_with_clerk(fed)
    with cm.store() as s:
        for n in range(3):
            set_password(cm.ctx, s, "somsri", f"{PASSWORD}-{n}", actor="admin")
    assert cm.sync().ok
    held = hub_state(fed, CHIANG_MAI)[0]
    with cm.store() as s, s.transaction():  # what an old copy of the database counted
        s.execute("DELETE FROM settings WHERE key IN ('accounts_version', 'accounts_published')")
        s.execute("UPDATE users SET display_name = 'สมศรี ธุรการ (ย้ายกลับ)' WHERE username = 'somsri'")
    result = cm.sync()
    assert result.ok, result
    assert result.accounts_published == held + 1
    assert hub_state(fed, CHIANG_MAI)[0] == held + 1
    assert hub_account(fed, CHIANG_MAI, "somsri")["display_name"] == "สมศรี ธุรการ (ย้ายกลับ)"  # type: ignore[index]


def test_a_refused_list_makes_the_round_not_ok_with_a_thai_warning_and_no_hash_logged(
    fed: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    cm = office_with_clerk(fed)
    with cm.store() as s, s.transaction():
        s.execute("UPDATE users SET password_hash = 'md5$0cc175b9c0f1b6a831c399e269772661'")
    result = cm.sync()
    assert not result.ok and result.error_code == "accounts_refused"
    assert "accounts_invalid" in (result.error or "")
    assert any("ศูนย์กลางไม่รับรายชื่อผู้ใช้" in w for w in result.warnings)
    assert hub_state(fed, CHIANG_MAI) == (0, [])

    with cm.store() as s, s.transaction():
        s.execute("UPDATE users SET password_hash = ?", (hash_password(PASSWORD),))
    fed.hub_app.config["MAX_CONTENT_LENGTH"] = 200  # the hub refuses the list as too large
    try:
        refused = cm.sync()
    finally:
        fed.hub_app.config["MAX_CONTENT_LENGTH"] = 8 * 1024 * 1024
    assert not refused.ok and refused.error_code == "accounts_refused"
    assert "too_large" in (refused.error or "") and refused.online
    with cm.store() as s:
        hashes = [r["password_hash"] for r in s.query("SELECT password_hash FROM users")]
        logged = json.dumps(s.query("SELECT * FROM sync_log"), ensure_ascii=False)
    assert "accounts_refused" in logged
    everything = logged + caplog.text + json.dumps(refused.to_json(), ensure_ascii=False)
    assert not any(h in everything or h.split("$")[-1] in everything for h in hashes)
    assert "md5$" not in everything

    assert cm.sync().ok  # the next round publishes what was refused
    assert len(hub_state(fed, CHIANG_MAI)[1]) == 2


def test_an_office_without_accounts_publishes_nothing(fed: Federation) -> None:
    cm = fed.node(CHIANG_MAI)
    result = cm.sync()
    assert result.ok and result.accounts_published is None
    assert hub_state(fed, CHIANG_MAI) == (0, [])
    with cm.store() as s:
        add_user(cm.ctx, s, "somsri", "สมศรี ธุรการ", PASSWORD, ["clerk"])
    assert cm.sync().accounts_published is not None
    assert [a["username"] for a in hub_state(fed, CHIANG_MAI)[1]] == ["somsri"]


def test_a_change_of_an_account_asks_the_live_sync_for_a_round_once_committed(
    fed: Federation,
) -> None:
    cm = office_with_clerk(fed)
    kicks: list[int] = []

    def kick() -> None:  # what another connection sees when the round is asked for
        with cm.store() as other:
            kicks.append(accounts_version(other))

    cm.ctx.on_feed_change = kick
    with cm.ctx.open_store() as s:
        before = accounts_version(s)
        set_active(cm.ctx, s, "somsri", False, actor="admin")
        with pytest.raises(Exception, match="last active administrator"):
            set_active(cm.ctx, s, "admin", False, actor="somsri")
    assert kicks == [before + 1]
