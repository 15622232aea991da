"""An office whose node starts from an old copy of its folder (last week's backup, a copied
disk) while the hub is out of reach: it keeps working, gives out no number twice that it
knows of, and at its first contact with the hub takes the hub's history, keeps every letter
made meanwhile, and replaces any number that collided, telling the clerk which and why."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

from support import CHIANG_MAI, CHIANG_RAI, MINISTRY
from test_node_support import Federation, Node, closed_port_url

from hub.admin.reports import numbering_report
from hub.numbering.reconcile import format_numbering_report
from node.sync.rebase import recent_notices
from node.sync.restore import restore_from_hub
from scripts.invariants import check_federation, hub_rows


def copy_folder(node: Node, target: Path) -> None:
    """What a backup of the instance folder holds: the database and the sidecar beside it."""
    target.mkdir(parents=True)
    src = sqlite3.connect(node.ctx.settings["DATABASE"])
    dst = sqlite3.connect(target / "node.sqlite")
    src.backup(dst)
    dst.close()
    src.close()
    shutil.copy(node.instance / "highwater.json", target / "highwater.json")


def put_folder_back(node: Node, copy: Path) -> None:
    db = Path(node.ctx.settings["DATABASE"])
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    shutil.copy(copy / "node.sqlite", db)
    shutil.copy(copy / "highwater.json", node.instance / "highwater.json")


def numbers_at(node: Node, box: str) -> list[str]:
    return sorted(r["number"] for r in node.call("GET", f"/api/letters?box={box}")["letters"])


def contiguous_feed(node: Node) -> bool:
    seqs = [r["seq"] for r in node.rows("SELECT seq FROM feed ORDER BY seq")]
    return seqs == list(range(1, len(seqs) + 1))


def invariants(fed: Federation) -> list[str]:
    report = check_federation(fed.hub_dir, {n.office: n.instance for n in fed.nodes})
    return list(report["violations"])


def test_old_copy_started_offline_renumbers_collisions_and_loses_no_letter(
    fed: Federation, tmp_path: Path
) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    cm.send(recipients=[CHIANG_RAI], subject="ฉบับที่หนึ่ง")
    assert cm.sync().ok
    copy_folder(cm, tmp_path / "last-week")
    cm.send(recipients=[CHIANG_RAI], subject="ฉบับที่สอง")
    cm.send(recipients=[CHIANG_RAI], subject="ฉบับที่สาม")
    assert cm.sync().ok  # the hub now holds numbers 1, 2 and 3

    put_folder_back(cm, tmp_path / "last-week")
    offline = Node(cm.instance, cm.clock, HUB_URL=closed_port_url())
    made_offline = [
        offline.send(recipients=[CHIANG_RAI], subject=f"ส่งระหว่างติดต่อศูนย์กลางไม่ได้ {n}")
        for n in (1, 2)
    ]
    # The old copy cannot know about 2 and 3: it gives them out again, for now.
    assert [m["number"] for m in made_offline] == ["ชม 0017/2", "ชม 0017/3"]
    assert not offline.sync().ok

    back = Node(cm.instance, cm.clock)
    result = back.sync()
    assert result.ok and not result.rejected
    assert result.rebased is not None
    replaced = {(r["old"], r["new"]) for r in result.rebased["renumbered"]}
    assert replaced == {("ชม 0017/2", "ชม 0017/4"), ("ชม 0017/3", "ชม 0017/5")}
    assert numbers_at(back, "sent") == [f"ชม 0017/{n}" for n in (1, 2, 3, 4, 5)]
    letters = {r["subject"]: r for r in back.call("GET", "/api/letters?box=sent")["letters"]}
    moved = back.call("GET", f"/api/letters/{letters['ส่งระหว่างติดต่อศูนย์กลางไม่ได้ 1']['id']}")
    assert moved["number"] == "ชม 0017/4"
    assert "ชม 0017/2" in moved["number_notice"] and "ชม 0017/4" in moved["number_notice"]
    with back.store() as store:
        notices = recent_notices(store, back.clock())
    assert any("เปลี่ยนเป็นเลข ชม 0017/5" in n for n in notices)
    warnings = back.call("GET", "/api/status")["warnings"]  # the top of every clerk's page
    assert any("ชม 0017/2" in w and "ชม 0017/4" in w for w in warnings)
    assert contiguous_feed(back)
    # What the clerk saw sent keeps a trail to the envelope the hub holds now.
    history = moved["history"]
    again = [h for h in history if h["action"] == "letter_signed_again"]
    assert len(again) == 1 and again[0]["action_th"] == "ลงนามส่งหนังสือใหม่หลังกู้คืนข้อมูลเครื่อง"
    trail = {
        (d["old_env_id"], d["env_id"])
        for (d,) in (
            (json.loads(r["detail"]),)
            for r in back.rows("SELECT detail FROM audit WHERE action = 'letter_signed_again'")
        )
    }
    assert {old for old, _ in trail} == {m["env_id"] for m in made_offline}
    at_hub = {r[0] for r in hub_rows(fed.hub_dir, "SELECT env_id FROM feed WHERE kind = 'letter'")}
    assert {new for _, new in trail} <= at_hub and not {m["env_id"] for m in made_offline} & at_hub

    assert cr.sync().ok
    assert numbers_at(cr, "inbox") == [f"ชม 0017/{n}" for n in (1, 2, 3, 4, 5)]
    assert cr.sync().ok and back.sync().ok  # the delivered receipts go back
    assert invariants(fed) == []
    report = {r["register"]: r for r in numbering_report(fed.hub_dir)}
    sending = next(r for r in report.values() if r["owner"] == CHIANG_MAI and r["series"] == "ส่ง")
    assert sending["gaps"] == [] and sending["duplicates"] == 0
    assert [(x["number"], x["replaces"]) for x in sending["replaced"]] == [
        (4, "ชม 0017/2"),
        (5, "ชม 0017/3"),
    ]
    assert "ใช้เลข 4 แทนเลข ชม 0017/2" in format_numbering_report(list(report.values()))


def test_letter_registered_again_from_an_old_copy_keeps_its_first_receipt(
    fed: Federation, tmp_path: Path
) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    sent = cm.send(recipients=[CHIANG_RAI], subject="ขอข้อมูลประกอบการประชุม")
    assert cm.sync().ok and cr.sync().ok
    copy_folder(cr, tmp_path / "before-registering")
    letter_id = cr.inbox()[0]["id"]
    first = cr.call("POST", f"/api/letters/{letter_id}/register", {})
    assert cr.sync().ok

    put_folder_back(cr, tmp_path / "before-registering")
    cr.clock.advance(3600)  # the next morning, on the old copy
    offline = Node(cr.instance, cr.clock, HUB_URL=closed_port_url())
    offline.call("POST", f"/api/letters/{letter_id}/register", {})

    back = Node(cr.instance, cr.clock)
    result = back.sync()
    assert result.ok and result.rebased is not None
    assert len(result.rebased["dropped_receipts"]) == 1
    with back.store() as store:
        notices = recent_notices(store, back.clock())
    assert sum("ลงรับหนังสือฉบับเดียวกันซ้ำ" in n for n in notices) == 1  # one เลขรับ voided
    letter = back.call("GET", f"/api/letters/{letter_id}")
    assert letter["receipt_number"] == first["receipt_number"] == "1"
    voided = back.rows(
        "SELECT number, action, reason FROM register_entries WHERE action = 'voided'"
    )
    assert len(voided) == 1 and "ลงรับซ้ำ" in voided[0]["reason"]

    assert cm.sync().ok
    tracking = cm.call("GET", f"/api/letters/{sent['id']}")["tracking"]
    assert [(t["state"], t["receipt_number"]) for t in tracking] == [("registered", "1")]
    assert contiguous_feed(back)
    assert invariants(fed) == []


def test_database_alone_put_back_gives_out_no_number_twice(fed: Federation, tmp_path: Path) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    cm.send(recipients=[CHIANG_RAI])
    assert cm.sync().ok
    copy_folder(cm, tmp_path / "copy")
    cm.send(recipients=[CHIANG_RAI])
    cm.send(recipients=[CHIANG_RAI])
    assert cm.sync().ok
    db = Path(cm.ctx.settings["DATABASE"])
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    shutil.copy(tmp_path / "copy" / "node.sqlite", db)  # the sidecar remembers better

    offline = Node(cm.instance, cm.clock, HUB_URL=closed_port_url())
    assert offline.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/4"
    back = Node(cm.instance, cm.clock)
    result = back.sync()
    assert result.ok and not result.rejected
    assert result.rebased is not None and result.rebased["renumbered"] == []
    assert numbers_at(back, "sent") == [f"ชม 0017/{n}" for n in (1, 2, 3, 4)]
    assert cr.sync().ok
    assert numbers_at(cr, "inbox") == [f"ชม 0017/{n}" for n in (1, 2, 3, 4)]
    assert cr.sync().ok and back.sync().ok
    assert contiguous_feed(back) and invariants(fed) == []


def test_restore_keeps_letters_sent_while_the_link_was_down_and_lists_them(
    fed: Federation,
) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    cm.send(recipients=[CHIANG_RAI], subject="ก่อนสายขาด")
    assert cm.sync().ok
    cm.set_hub_url(closed_port_url())
    scan = os.urandom(3000)
    cm.send(
        recipients=[CHIANG_RAI],
        subject="ระหว่างสายขาด พร้อมสิ่งที่ส่งมาด้วย",
        attachments=[
            {
                "name": "แผนที่.pdf",
                "media_type": "application/pdf",
                "content_base64": base64.b64encode(scan).decode(),
            }
        ],
    )
    cm.send(recipients=[CHIANG_RAI], subject="ระหว่างสายขาด ฉบับที่สอง")
    assert not cm.sync().ok

    info = restore_from_hub(cm.instance, {"CLOCK": cm.clock})
    assert [(c["number"], c["subject"]) for c in info["carried_over"]] == [
        ("ชม 0017/2", "ระหว่างสายขาด พร้อมสิ่งที่ส่งมาด้วย"),
        ("ชม 0017/3", "ระหว่างสายขาด ฉบับที่สอง"),
    ]
    assert info["lost_numbers_voided"] == []
    fresh = Node(cm.instance, cm.clock)
    assert fresh.call("GET", "/api/status")["outbox"] > 0
    result = fresh.sync()
    assert result.ok and not result.rejected
    assert hashlib.sha256(scan).hexdigest() in result.uploaded
    assert numbers_at(fresh, "sent") == [f"ชม 0017/{n}" for n in (1, 2, 3)]
    assert cr.sync().ok
    assert numbers_at(cr, "inbox") == [f"ชม 0017/{n}" for n in (1, 2, 3)]
    assert cr.sync().ok and fresh.sync().ok
    assert invariants(fed) == []


def test_letter_received_after_the_copy_is_received_once_with_its_first_receipt(
    fed: Federation, tmp_path: Path
) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cr.sync().ok
    copy_folder(cr, tmp_path / "before-the-letter")
    sent = cm.send(recipients=[CHIANG_RAI], subject="แจ้งกำหนดการตรวจราชการ")
    assert cm.sync().ok and cr.sync().ok
    first = cr.call("POST", f"/api/letters/{cr.inbox()[0]['id']}/register", {})
    assert cr.sync().ok

    put_folder_back(cr, tmp_path / "before-the-letter")
    back = Node(cr.instance, cr.clock)
    result = back.sync()
    assert result.ok and not result.rejected
    inbox = back.inbox()
    assert [(r["state"], r["receipt_number"]) for r in inbox] == [
        ("registered", first["receipt_number"])
    ]
    assert sorted(a["status"] for a in back.answers()) == ["delivered", "registered"]
    assert cm.sync().ok
    tracking = cm.call("GET", f"/api/letters/{sent['id']}")["tracking"]
    assert [(t["state"], t["receipt_number"]) for t in tracking] == [("registered", "1")]
    assert invariants(fed) == []


def test_old_copy_from_before_a_lease_goes_on_after_the_numbers_it_gave(
    fed: Federation, tmp_path: Path
) -> None:
    fed.share(MINISTRY, "ว", [CHIANG_MAI, CHIANG_RAI])
    cm, cr = fed.node(CHIANG_MAI, LEASE_SIZE=5), fed.node(CHIANG_RAI)
    copy_folder(cm, tmp_path / "before-the-lease")
    assert cm.sync().ok  # the hub leases เชียงใหม่ มท 0200/ว 1-5
    given = [cm.send(recipients=[CHIANG_RAI], series="ว")["number"] for _ in range(2)]
    assert given == ["มท 0200/ว 1", "มท 0200/ว 2"]
    assert cm.sync().ok

    # The disk is replaced by the copy: its lease arrives again after the hub's copy of the
    # feed has brought back the two numbers taken from it.
    put_folder_back(cm, tmp_path / "before-the-lease")
    back = Node(cm.instance, cm.clock)
    assert back.sync().ok
    third = back.send(recipients=[CHIANG_RAI], series="ว")
    assert third["number"] == "มท 0200/ว 3"
    assert back.sync().ok and cr.sync().ok
    assert cr.sync().ok and back.sync().ok  # its receipts reach the hub, then เชียงใหม่
    assert sorted(r["number"] for r in cr.inbox()) == [*given, "มท 0200/ว 3"]
    assert invariants(fed) == []
