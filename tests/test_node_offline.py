"""A node working with no hub at all: composing, numbering, receiving, registering,
returning, and the feed and audit chains that record it all."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock, bangkok
from test_node_support import NORTH, Node, PaperHub, offline_node, publish

from node.records import inbox, leases
from node.storage.audit import verify_audit
from node.storage.store import read_sidecar
from protocol.canonical import parse_canonical
from protocol.envelope import Envelope
from protocol.messages import Letter


@pytest.fixture
def pair(tmp_path: Path, paper: PaperHub, clock: Clock) -> tuple[Node, Node]:
    cm = offline_node(tmp_path, CHIANG_MAI, paper, clock)
    cr = offline_node(tmp_path, CHIANG_RAI, paper, clock)
    paper.lists = NORTH
    offline_node(tmp_path, KHON_KAEN, paper, clock)
    publish(paper, cm, cr)
    return cm, cr


def feed_bodies(node: Node) -> list[dict[str, Any]]:
    return [
        parse_canonical(Envelope.from_bytes(r["envelope"]).body)
        for r in node.rows("SELECT envelope FROM feed ORDER BY seq")
    ]


def test_send_offline_numbers_and_queues(pair: tuple[Node, Node]) -> None:
    cm, _ = pair
    first = cm.send(recipients=[CHIANG_RAI], subject="ขอเชิญประชุม", speed="ด่วน")
    second = cm.send(recipients=[CHIANG_RAI, KHON_KAEN], subject="ขอส่งรายงาน")
    assert (first["number"], second["number"]) == ("ชม 0017/1", "ชม 0017/2")
    assert first["state"] == "queued"
    status = cm.call("GET", "/api/status")
    assert status["outbox"] == 4  # two letters, two register entries
    assert not status["online"]
    tracking = cm.call("GET", f"/api/letters/{second['id']}")["tracking"]
    assert [(t["office"], t["state"]) for t in tracking] == [
        (CHIANG_RAI, "queued"),
        (KHON_KAEN, "queued"),
    ]


def test_feed_is_a_hash_chain(pair: tuple[Node, Node]) -> None:
    cm, _ = pair
    cm.send(recipients=[CHIANG_RAI])
    cm.send(lists=["north"], subject="หนังสือเวียน")
    rows = cm.rows("SELECT seq, env_id FROM feed ORDER BY seq")
    bodies = feed_bodies(cm)
    assert [b["seq"] for b in bodies] == [1, 2, 3, 4]
    assert bodies[0]["prev"] is None
    for row, body in zip(rows[:-1], bodies[1:], strict=True):
        assert body["prev"] == row["env_id"]
    letter = bodies[0]
    assert letter["origin"] == CHIANG_MAI
    reg = bodies[1]
    assert reg["register"] == "ชม 0017|ส่ง|2569" and reg["letter"] == rows[0]["env_id"]


def test_circular_to_a_list_uses_the_circular_series_and_skips_self(
    pair: tuple[Node, Node],
) -> None:
    cm, _ = pair
    sent = cm.send(lists=["north"], subject="หนังสือเวียน")
    assert sent["number"] == "ชม 0017/ว 1"
    assert sent["recipients"] == [CHIANG_RAI]


def test_numbers_restart_at_one_in_a_new_bangkok_year(pair: tuple[Node, Node]) -> None:
    cm, _ = pair
    cm.clock.t = bangkok(2026, 12, 31, 23, 59)
    assert cm.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/1"
    assert cm.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/2"
    cm.clock.t = bangkok(2027, 1, 1, 0, 0, 30)  # 17:00 UTC on 31 Dec: already 2570 here
    third = cm.send(recipients=[CHIANG_RAI])
    assert third["number"] == "ชม 0017/1"
    regs = {r["id"]: r["high"] for r in cm.call("GET", "/api/registers")["registers"]}
    assert regs == {"ชม 0017|ส่ง|2569": 2, "ชม 0017|ส่ง|2570": 1}


def test_fiscal_register_restarts_on_first_october(
    tmp_path: Path, paper: PaperHub, clock: Clock
) -> None:
    node = offline_node(tmp_path, CHIANG_MAI, paper, clock, YEAR_BASIS={"ส่ง": "fiscal"})
    offline_node(tmp_path, CHIANG_RAI, paper, clock)
    publish(paper, node)
    clock.t = bangkok(2026, 9, 30, 23, 0)
    assert node.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/1"
    clock.t = bangkok(2026, 10, 1, 8, 0)
    assert node.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/1"
    ids = [r["id"] for r in node.call("GET", "/api/registers")["registers"]]
    assert sorted(ids) == ["ชม 0017|ส่ง|2569", "ชม 0017|ส่ง|2570"]


def test_reserve_then_void_keeps_the_row_with_its_reason(pair: tuple[Node, Node]) -> None:
    cm, _ = pair
    reserved = cm.call("POST", "/api/registers/ส่ง/reserve", {"reason": "จองให้ผู้ว่าฯ"}, ok=201)
    assert reserved["number"] == 1
    assert cm.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/2"
    cm.call("POST", "/api/registers/ส่ง/void", {"number": 1, "reason": "ไม่ได้ใช้"})
    reg = cm.call("GET", "/api/registers")["registers"][0]
    assert [(e["number"], e["action"], e["reason"]) for e in reg["entries"]] == [
        (1, "voided", "ไม่ได้ใช้"),
        (2, "issued", None),
    ]
    actions = [b.get("action") for b in feed_bodies(cm) if "action" in b]
    assert actions == ["reserved", "issued", "voided"]
    # a number carried by a sent letter cannot be voided
    resp = cm.call("POST", "/api/registers/ส่ง/void", {"number": 2, "reason": "x"}, ok=None)
    assert resp["error"] == "conflict"


def deliver(sender: Node, receiver: Node, paper: PaperHub, letter_id: int) -> int:
    """Hand the sender's letter envelope to the receiver as if pulled from the hub."""
    row = sender.rows("SELECT env_id FROM letters WHERE id = ?", (letter_id,))[0]
    env_bytes = sender.rows("SELECT envelope FROM feed WHERE env_id = ?", (row["env_id"],))
    env = Envelope.from_bytes(env_bytes[0]["envelope"])
    letter = Letter.from_dict(parse_canonical(env.body))
    with receiver.store() as s, s.transaction():
        inbox.apply_incoming_letter(receiver.ctx, s, env.env_id, letter, receiver.clock())
        inbox.apply_incoming_letter(receiver.ctx, s, env.env_id, letter, receiver.clock())
    return int(receiver.rows("SELECT id FROM letters WHERE env_id = ?", (env.env_id,))[0]["id"])


def test_receive_register_and_return_offline(pair: tuple[Node, Node], paper: PaperHub) -> None:
    cm, cr = pair
    a = cm.send(recipients=[CHIANG_RAI], subject="เรื่องที่หนึ่ง")
    b = cm.send(recipients=[CHIANG_RAI], subject="เรื่องที่สอง")
    first, second = deliver(cm, cr, paper, a["id"]), deliver(cm, cr, paper, b["id"])
    receipts = [x for x in cr.answers() if x.get("status") == "delivered"]
    # exactly one delivered answer per letter, even applied twice
    assert sorted(x["letter"] for x in receipts) == sorted(
        r["env_id"] for r in cr.rows("SELECT env_id FROM letters WHERE direction = 'in'")
    )
    reg = cr.call("POST", f"/api/letters/{first}/register", {})
    assert reg["receipt_number"] == "1"
    assert reg["registered_at_th"].startswith("18 พฤศจิกายน 2569 เวลา")
    again = cr.call("POST", f"/api/letters/{first}/register", {}, ok=None)
    assert again["error"] == "conflict" and again["message_th"]
    cr.call("POST", f"/api/letters/{second}/return", {"reason": "ส่งผิดหน่วยงาน"})
    statuses = [(x.get("status"), x.get("receipt_number")) for x in feed_bodies(cr)]
    assert ("registered", "1") in statuses and ("returned", None) in statuses
    paper_letter = cr.call(
        "POST",
        "/api/paper-letters",
        {"number": "ชม 5201/1234", "sender": "สำนักงานประชาสัมพันธ์จังหวัด", "subject": "เชิญ"},
        ok=201,
    )
    assert paper_letter["receipt_number"] == "2"
    assert feed_bodies(cr)[-1]["action"] == "paper_registered"
    assert cr.call("GET", "/api/stats")["registered"] == 2


def test_top_secret_is_refused_and_nothing_is_stored(pair: tuple[Node, Node]) -> None:
    cm, _ = pair
    resp = cm.call(
        "POST",
        "/api/letters",
        {"subject": "ลับ", "recipients": [CHIANG_RAI], "secrecy": "ลับที่สุด"},
        ok=None,
    )
    assert resp["error"] == "top_secret_not_electronic"
    assert cm.rows("SELECT COUNT(*) AS n FROM feed")[0]["n"] == 0
    assert cm.rows("SELECT COUNT(*) AS n FROM register_entries")[0]["n"] == 0


def test_audit_chain_detects_an_edited_row(pair: tuple[Node, Node]) -> None:
    cm, _ = pair
    cm.send(recipients=[CHIANG_RAI])
    cm.send(recipients=[CHIANG_RAI])
    with cm.store() as s:
        assert verify_audit(s).ok
    conn = sqlite3.connect(cm.ctx.settings["DATABASE"])
    conn.execute("UPDATE audit SET actor = 'someone else' WHERE id = 2")
    conn.commit()
    conn.close()
    with cm.store() as s:
        report = verify_audit(s)
    assert not report.ok and "entry 2 edited" in report.problems[0]


def test_audit_chain_detects_deleted_rows(pair: tuple[Node, Node]) -> None:
    cm, _ = pair
    for _ in range(3):
        cm.send(recipients=[CHIANG_RAI])
    expected = read_sidecar(cm.instance / "highwater.json")["audit"]
    conn = sqlite3.connect(cm.ctx.settings["DATABASE"])
    conn.execute("DELETE FROM audit WHERE id = 2")
    conn.commit()
    with cm.store() as s:
        assert "entry 2 deleted" in " ".join(verify_audit(s).problems)
    conn.execute("DELETE FROM audit WHERE id >= 2")
    conn.commit()
    conn.close()
    with cm.store() as s:
        assert verify_audit(s).ok  # a truncated chain is self-consistent...
        report = verify_audit(s, expected)  # ...but not against the recorded head
    assert not report.ok and "deleted from the end" in report.problems[0]


def test_shared_register_without_lease_issues_provisional_numbers(
    tmp_path: Path, paper: PaperHub, clock: Clock
) -> None:
    node = offline_node(tmp_path, CHIANG_MAI, paper, clock)
    offline_node(tmp_path, CHIANG_RAI, paper, clock)
    paper.shared = [
        {
            "owner": "มท 0200",
            "series": "ว",
            "basis": "calendar",
            "members": [CHIANG_MAI, CHIANG_RAI],
        }
    ]
    publish(paper, node)
    sent = node.send(recipients=[CHIANG_RAI], series="ว")
    assert sent["number"] == "มท 0200/ว (ชั่วคราว 1)" and sent["provisional"]
    entry = next(b for b in feed_bodies(node) if b.get("provisional"))
    assert entry["provisional_id"] == f"{CHIANG_MAI}:มท 0200|ว|2569:1"
    assert node.call("GET", "/api/status")["provisional_pending"] == 1
    with node.store() as s, s.transaction():
        outcome = leases.finalise(node.ctx, s, entry["provisional_id"], 41, clock())
    assert outcome == "finalised มท 0200/ว 41"
    letter = node.call("GET", f"/api/letters/{sent['id']}")
    assert letter["number"] == "มท 0200/ว 41"
    assert "ได้รับเลขจริงเป็น มท 0200/ว 41" in letter["number_notice"]
    assert node.call("GET", "/api/status")["provisional_pending"] == 0
