"""The audit trail: who, what, when, which letter, from which address; its chain checked
by ``saraban node audit verify`` at the office, and by the hub at every sync (issue 14).

Tampering is done the way an intruder with the database file would: straight in SQLite.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from console_support import PASSWORD, csrf
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY
from test_node_support import Federation, Node

from hub.admin.access import open_hub
from hub.console.operators import add_operator
from protocol.audit_chain import GENESIS, MAX_AUDIT_LINKS, entry_hash
from scripts.cli.main import main


def _db(node: Node) -> str:
    return str(node.ctx.settings["DATABASE"])


def _sql(node: Node, *statements: str) -> None:
    conn = sqlite3.connect(_db(node))
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def _verify(node: Node, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["node", "audit", "verify", "--instance", str(node.instance)])
    out = capsys.readouterr()
    return code, (out.out + out.err).strip().splitlines()


def _audit_alerts(fed: Federation) -> list[dict[str, Any]]:
    with open_hub(fed.hub_dir) as (_, _, store):
        return [dict(a) for a in store.alerts("open") if a["kind"] == "audit_chain"]


def _busy_office(fed: Federation, letters: int = 3) -> Node:
    cm = fed.node(CHIANG_MAI)
    fed.node(CHIANG_RAI)
    for n in range(letters):
        cm.send(recipients=[CHIANG_RAI], subject=f"ขอเชิญประชุม {n}")
    assert cm.sync().ok
    return cm


def test_an_entry_says_who_what_when_which_letter_and_from_where(fed: Federation) -> None:
    cm = fed.node(CHIANG_MAI)
    fed.node(CHIANG_RAI)
    letter = cm.client.post(
        "/api/letters",
        json={"recipients": [CHIANG_RAI], "subject": "ขอเชิญประชุม"},
        headers=cm.headers,
        environ_base={"REMOTE_ADDR": "10.20.30.40"},
    ).get_json()
    row = cm.rows("SELECT * FROM audit ORDER BY id DESC LIMIT 1")[0]
    assert row["subject"] == f"letter:{letter['id']}"
    assert row["address"] == "10.20.30.40"
    assert row["actor"] and row["action"] and row["at"]
    _sql(cm, "UPDATE audit SET address = '10.0.0.1'")  # the address is covered by the hash
    with cm.store() as s:
        from node.storage.audit import verify_audit

        assert not verify_audit(s).ok


def test_entries_written_together_or_after_a_rollback_chain_on(fed: Federation) -> None:
    """Entries written in one transaction chain on each other without reading the last one
    back, and a transaction rolled back leaves no link the next entry chains on."""
    from node.storage.audit import record, verify_audit

    cm = fed.node(CHIANG_MAI)
    with cm.store() as s:
        before = s.scalar("SELECT MAX(id) FROM audit") or 0
        with s.transaction():
            first = record(s, 1.0, "system", "letter_received", "letter:1", {"n": 1})
            second = record(s, 2.0, "system", "letter_received", "letter:2", {"n": 2})
        with pytest.raises(RuntimeError), s.transaction():
            record(s, 3.0, "system", "letter_received", "letter:3", {"n": 3})
            raise RuntimeError("the batch failed")
        with s.transaction():
            third = record(s, 4.0, "system", "letter_received", "letter:4", {"n": 4})
        assert (first, second, third) == (before + 1, before + 2, before + 3)
        assert [
            r["subject"] for r in s.query("SELECT subject FROM audit WHERE id > ?", (before,))
        ] == [
            "letter:1",
            "letter:2",
            "letter:4",
        ]
        assert verify_audit(s).ok


# -- at the node: `saraban node audit verify` names each broken entry --------------------


def test_verify_says_an_intact_chain_is_intact(
    fed: Federation, capsys: pytest.CaptureFixture[str]
) -> None:
    cm = _busy_office(fed)
    code, lines = _verify(cm, capsys)
    assert code == 0
    assert lines[0].startswith("ประวัติการใช้งานครบถ้วน")
    assert "audit chain intact" in lines[1]
    assert lines[2].startswith("ศูนย์กลางตรวจแล้วถึงรายการที่")


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (["UPDATE audit SET actor = 'someone else' WHERE id = 2"], "entry 2 edited"),
        (["DELETE FROM audit WHERE id = 2"], "entry 2 deleted"),
        (
            # swap entries 2 and 3, ids and all
            [
                "UPDATE audit SET id = -2 WHERE id = 2",
                "UPDATE audit SET id = 2 WHERE id = 3",
                "UPDATE audit SET id = 3 WHERE id = -2",
            ],
            "entry 2 reordered",
        ),
        (
            [
                "INSERT INTO audit (id, at, actor, action, subject, detail, prev_hash, hash)"
                " SELECT id + 1, at, 'intruder', 'open', subject, '{}', hash, hash FROM audit"
                " WHERE id = (SELECT MAX(id) FROM audit)"
            ],
            "inserted",
        ),
    ],
    ids=["edit", "delete", "reorder", "insert"],
)
def test_verify_names_the_tampered_entry(
    fed: Federation, capsys: pytest.CaptureFixture[str], tamper: list[str], named: str
) -> None:
    cm = _busy_office(fed)
    _sql(cm, *tamper)
    code, lines = _verify(cm, capsys)
    assert code == 1
    assert lines and all(line.startswith("audit: ") for line in lines)
    assert any(named in line for line in lines), lines


def test_verify_names_entries_deleted_from_the_end(
    fed: Federation, capsys: pytest.CaptureFixture[str]
) -> None:
    cm = _busy_office(fed)
    last = cm.rows("SELECT MAX(id) AS n FROM audit")[0]["n"]
    _sql(cm, f"DELETE FROM audit WHERE id >= {last - 1}")
    code, lines = _verify(cm, capsys)
    assert code == 1
    assert any(f"entries {last - 1}-{last} deleted from the end" in line for line in lines)


def test_verify_json(fed: Federation, capsys: pytest.CaptureFixture[str]) -> None:
    cm = _busy_office(fed)
    _sql(cm, "UPDATE audit SET detail = '{}' WHERE id = 1")
    code = main(["node", "audit", "verify", "--instance", str(cm.instance), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["ok"] is False
    assert data["problems"] == ["entry 1 edited: its content does not match its hash"]


# -- at the hub: the signed head of every sync must extend the verified one --------------


def _rehash_from(node: Node, first: int) -> None:
    """What an intruder who knows the algorithm does after editing: recompute the chain."""
    conn = sqlite3.connect(_db(node))
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute("SELECT * FROM audit WHERE id >= ? ORDER BY id", (first,)).fetchall()
        prev = conn.execute("SELECT hash FROM audit WHERE id = ?", (first - 1,)).fetchone()
        prev_hash = prev["hash"] if prev else GENESIS
        for r in rows:
            content = {
                "id": r["id"],
                "at": repr(float(r["at"])),
                "actor": r["actor"],
                "action": r["action"],
                "subject": r["subject"],
                "detail": r["detail"],
            }
            if r["address"] is not None:
                content["address"] = r["address"]
            digest = entry_hash(prev_hash, content)
            conn.execute(
                "UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?",
                (prev_hash, digest, r["id"]),
            )
            prev_hash = digest
        conn.commit()
    finally:
        conn.close()


def _conditions(fed: Federation) -> dict[str, str]:
    return {a["key"].split(":")[1]: a["detail"] for a in _audit_alerts(fed)}


def test_the_hub_verifies_each_sync_and_shows_the_head_on_the_office_page(
    fed: Federation,
) -> None:
    cm = _busy_office(fed)
    last = cm.rows("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")[0]
    with open_hub(fed.hub_dir) as (_, _, store):
        head = store.verified_audit_head(CHIANG_MAI)
        add_operator(store, "ops", "สมชาย ดูแลระบบ", PASSWORD, "operator", fed.clock())
    assert head is not None and (head["last_id"], head["head"]) == (last["id"], last["hash"])
    cm.send(recipients=[CHIANG_RAI])
    assert cm.sync().ok
    assert _audit_alerts(fed) == []
    client = fed.hub_app.test_client()
    token = csrf(client)
    client.post("/login", data={"username": "ops", "password": PASSWORD, "csrf_token": token})
    page = client.get(f"/offices/{CHIANG_MAI}").get_data(as_text=True)
    newest = cm.rows("SELECT MAX(id) AS n FROM audit")[0]["n"]
    assert "ตรวจต่อเนื่องแล้วถึงรายการที่</dt><dd>" + str(newest) in page
    assert "ตรวจผ่านเมื่อ</dt><dd>" in page and "ตรวจผ่านเมื่อ</dt><dd>-" not in page


def test_entries_deleted_from_the_end_raise_a_rollback_alert(fed: Federation) -> None:
    cm = _busy_office(fed)
    last = cm.rows("SELECT MAX(id) AS n FROM audit")[0]["n"]
    _sql(cm, f"DELETE FROM audit WHERE id > {last - 2}")
    cm.sync()
    detail = _conditions(fed)["rollback"]
    assert f"entries {last - 1}-{last} were deleted" in detail


def test_an_older_copy_of_the_whole_database_is_detected(fed: Federation) -> None:
    cm = _busy_office(fed)
    old = cm.instance / "older-copy"
    old.mkdir()
    for f in cm.instance.iterdir():
        if f.is_file():
            shutil.copy2(f, old / f.name)
    for n in range(2):
        cm.send(recipients=[CHIANG_RAI], subject=f"หนังสือหลังสำรอง {n}")
    assert cm.sync().ok
    for f in old.iterdir():
        shutil.copy2(f, cm.instance / f.name)
    for suffix in ("-wal", "-shm"):
        Path(_db(cm) + suffix).unlink(missing_ok=True)
        if (old / (Path(_db(cm)).name + suffix)).exists():
            shutil.copy2(old / (Path(_db(cm)).name + suffix), _db(cm) + suffix)
    cm.sync()
    conditions = _conditions(fed)
    assert conditions, "no audit alert after the database was replaced"
    assert {"rollback", "rewritten"} & set(conditions)


def test_history_rewritten_with_recomputed_hashes_is_detected(fed: Federation) -> None:
    cm = _busy_office(fed)
    _sql(cm, "UPDATE audit SET actor = 'someone else' WHERE id = 1")
    _rehash_from(cm, 1)
    cm.send(recipients=[CHIANG_RAI])
    cm.sync()
    assert "the entries up to" in _conditions(fed)["rewritten"]


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        ("UPDATE audit SET detail = '[]' WHERE id = {first}", "entry {first} edited"),
        ("DELETE FROM audit WHERE id = {first}", "entry {first} deleted"),
    ],
    ids=["edit", "delete"],
)
def test_entries_tampered_before_the_hub_saw_them_are_named(
    fed: Federation, tamper: str, named: str
) -> None:
    cm = _busy_office(fed)
    first = cm.rows("SELECT MAX(id) AS n FROM audit")[0]["n"] + 1
    cm.send(recipients=[CHIANG_RAI])
    cm.send(recipients=[CHIANG_RAI])
    _sql(cm, tamper.replace("{first}", str(first)))
    cm.sync()
    assert named.replace("{first}", str(first)) in _conditions(fed)["broken"]


def test_a_break_is_one_alert_repeated_not_one_per_sync(fed: Federation) -> None:
    cm = _busy_office(fed)
    _sql(cm, "DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit)")
    cm.sync()
    cm.sync()
    alerts = _audit_alerts(fed)
    assert len(alerts) == 1 and alerts[0]["repeats"] >= 1


# -- the hub's own chain: `saraban hub audit verify` -------------------------------------


def _hub_verify(fed: Federation, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["hub", "audit", "verify", "--instance", str(fed.hub_dir)])
    out = capsys.readouterr()
    return code, (out.out + out.err).strip().splitlines()


def _hub_sql(fed: Federation, statement: str) -> None:
    conn = sqlite3.connect(fed.hub_dir / "hub.sqlite")
    try:
        conn.executescript(statement)
        conn.commit()
    finally:
        conn.close()


@pytest.mark.sqlite_only("edits the hub's SQLite file behind its back")
@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        ("UPDATE operator_actions SET operator = 'x' WHERE id = 2", "entry 2 edited"),
        ("DELETE FROM operator_actions WHERE id = 2", "entry 2 deleted"),
        (
            "UPDATE operator_actions SET id = -2 WHERE id = 2;"
            " UPDATE operator_actions SET id = 2 WHERE id = 3;"
            " UPDATE operator_actions SET id = 3 WHERE id = -2;",
            "entry 2 reordered",
        ),
        (
            "INSERT INTO operator_actions (id, at, operator, action) VALUES (99, 1, 'x', 'y')",
            "entry 99 inserted",
        ),
    ],
    ids=["edit", "delete", "reorder", "insert"],
)
def test_the_hubs_own_chain_names_the_tampered_entry(
    fed: Federation, capsys: pytest.CaptureFixture[str], tamper: str, named: str
) -> None:
    for office in (CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY):
        fed.node(office)  # each enrollment is on the hub's chain
    with open_hub(fed.hub_dir) as (_, _, store):
        for n in range(4):
            store.log_action("ops", "close_alert", CHIANG_MAI, f"ตรวจแล้ว {n}", None, fed.clock())
    code, lines = _hub_verify(fed, capsys)
    assert code == 0 and "hub audit chain intact: 8 entries" in lines[1]
    _hub_sql(fed, tamper)
    code, lines = _hub_verify(fed, capsys)
    assert code == 1
    assert any(named in line for line in lines), lines


def test_closing_the_alert_makes_the_chain_as_it_is_the_new_baseline(fed: Federation) -> None:
    cm = _busy_office(fed)
    _sql(cm, "DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit)")
    cm.sync()
    [alert] = _audit_alerts(fed)
    with open_hub(fed.hub_dir) as (_, _, store):
        store.close_alert(alert["id"], "ops", "กู้คืนเครื่องแล้ว บันทึกเหตุไว้", fed.clock())
    cm.sync()
    cm.send(recipients=[CHIANG_RAI])
    cm.sync()
    assert _audit_alerts(fed) == []
    last = cm.rows("SELECT MAX(id) AS n FROM audit")[0]["n"]
    with open_hub(fed.hub_dir) as (_, _, store):
        head = store.verified_audit_head(CHIANG_MAI)
    assert head is not None and head["last_id"] == last


def test_a_long_stretch_goes_as_several_heads_in_one_sync(fed: Federation) -> None:
    from node.storage import audit

    cm = _busy_office(fed)
    with cm.store() as s, s.transaction():
        for n in range(MAX_AUDIT_LINKS + 200):
            audit.record(s, fed.clock(), "สมศรี", "view", f"letter:{n % 3 + 1}")
    assert cm.sync().ok
    last = cm.rows("SELECT MAX(id) AS n FROM audit")[0]["n"]
    with open_hub(fed.hub_dir) as (_, _, store):
        head = store.verified_audit_head(CHIANG_MAI)
        steps = store.audit_heads(CHIANG_MAI, 10)
    assert head is not None and head["last_id"] == last
    assert len(steps) >= 3 and all(h["status"] == "verified" for h in steps)
    assert _audit_alerts(fed) == []
