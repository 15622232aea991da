"""Nodes and a real hub over loopback HTTP: delivery exactly once with receipts back,
working offline and catching up, resumable attachments, leases and provisional numbers,
restoring a node, and refusing to reissue numbers after an old backup comes back."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY
from test_node_support import Federation, Node, closed_port_url

from node.sync.hubclient import hub_client
from node.sync.restore import restore_from_hub
from node.sync.worker import scheduled_sync


def feed_statuses(node: Node) -> list[str]:
    return [a["status"] for a in node.answers()]


def test_letter_is_delivered_exactly_once_and_receipts_reach_the_sender(fed: Federation) -> None:
    cm, cr, kk = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI), fed.node(KHON_KAEN)
    sent = cm.send(recipients=[CHIANG_RAI, KHON_KAEN], subject="ขอเชิญประชุมคณะทำงาน")
    assert cm.sync().ok
    for node in (cr, kk):
        assert node.sync().ok
        assert node.sync().applied == 0  # a second pull brings nothing new
    # a lost cursor only makes the node pull everything again: still nothing duplicated
    with cr.store() as s, s.transaction():
        s.execute("UPDATE sync_state SET cursor = 'not-a-cursor' WHERE id = 1")
    assert cr.sync().ok
    assert len(cr.inbox()) == 1 and len(kk.inbox()) == 1
    assert feed_statuses(cr) == ["delivered"]
    letter_id = cr.inbox()[0]["id"]
    stamp = cr.call("POST", f"/api/letters/{letter_id}/register", {})
    kk.call("POST", f"/api/letters/{kk.inbox()[0]['id']}/return", {"reason": "ไม่ใช่หน่วยงานที่รับผิดชอบ"})
    assert cr.sync().ok and kk.sync().ok and cm.sync().ok
    tracking = {t["office"]: t for t in cm.call("GET", f"/api/letters/{sent['id']}")["tracking"]}
    assert tracking[CHIANG_RAI]["state"] == "registered"
    assert tracking[CHIANG_RAI]["receipt_number"] == stamp["receipt_number"] == "1"
    assert tracking[CHIANG_RAI]["at"] == stamp["registered_at"]
    assert tracking[KHON_KAEN]["state"] == "returned"
    assert tracking[KHON_KAEN]["reason"] == "ไม่ใช่หน่วยงานที่รับผิดชอบ"
    assert cm.call("GET", "/api/status")["outbox"] == 0


def test_offline_node_keeps_working_then_catches_up(fed: Federation) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    cm.set_hub_url(closed_port_url())
    numbers = [cm.send(recipients=[CHIANG_RAI], subject=f"เรื่อง {i}")["number"] for i in range(3)]
    assert numbers == ["ชม 0017/1", "ชม 0017/2", "ชม 0017/3"]
    failed = cm.call("POST", "/api/sync", {})
    assert not failed["ok"] and not failed["online"] and failed["error_code"] == "unreachable"
    assert failed["next_attempt"] > cm.clock()
    status = cm.call("GET", "/api/status")
    assert not status["online"] and status["outbox"] == 6 and status["failures"] == 1
    assert scheduled_sync(cm.ctx) is None  # back-off: too early to try again
    second = cm.sync()
    assert not second.ok
    assert cm.call("GET", "/api/status")["failures"] == 2
    cm.set_hub_url(fed.url)
    cm.clock.advance(3600)
    result = scheduled_sync(cm.ctx)
    assert result is not None and result.ok and result.accepted == 6
    status = cm.call("GET", "/api/status")
    assert status["online"] and status["outbox"] == 0 and status["last_error"] is None
    assert cr.sync().ok
    assert sorted(r["number"] for r in cr.inbox()) == numbers


def test_attachments_upload_and_download_resume(fed: Federation) -> None:
    cm = fed.node(CHIANG_MAI, CHUNK_BYTES=1000)
    cr = fed.node(CHIANG_RAI)
    content = os.urandom(4500)
    sha = hashlib.sha256(content).hexdigest()
    cm.send(
        recipients=[CHIANG_RAI],
        attachments=[
            {
                "name": "รายงาน.pdf",
                "media_type": "application/pdf",
                "content_base64": base64.b64encode(content).decode(),
            }
        ],
    )
    client = hub_client(cm.ctx)
    client.put_blob_chunk(sha, 0, len(content), content[:1000])  # an upload cut short
    assert client.blob_status(sha) == (False, 1000)
    result = cm.sync()
    assert result.ok and result.uploaded == [sha]
    assert client.blob_status(sha) == (True, len(content))
    client.close()
    # the receiver already holds a partial download: it resumes from there
    partial = cr.instance / "blobs" / "partial" / sha
    partial.parent.mkdir(parents=True)
    partial.write_bytes(content[:2000])
    result = cr.sync()
    assert result.ok and result.downloaded == [sha]
    assert (cr.instance / "blobs" / sha[:2] / sha).read_bytes() == content
    assert not partial.exists()


def test_corrupt_partial_download_is_discarded_and_fetched_again(fed: Federation) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    content = os.urandom(3000)
    sha = hashlib.sha256(content).hexdigest()
    cm.send(
        recipients=[CHIANG_RAI],
        attachments=[
            {
                "name": "a.bin",
                "media_type": "application/octet-stream",
                "content_base64": base64.b64encode(content).decode(),
            }
        ],
    )
    assert cm.sync().ok
    partial = cr.instance / "blobs" / "partial" / sha
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"\0" * 1000)
    first = cr.sync()
    assert first.downloaded == [] and not partial.exists()
    assert cr.sync().downloaded == [sha]
    assert (cr.instance / "blobs" / sha[:2] / sha).read_bytes() == content


def test_lease_exhaustion_gives_provisional_number_finalised_after_sync(fed: Federation) -> None:
    fed.share(MINISTRY, "ว", [CHIANG_MAI, CHIANG_RAI])
    cm = fed.node(CHIANG_MAI, LEASE_SIZE=2)
    cr = fed.node(CHIANG_RAI, LEASE_SIZE=2)
    assert cm.sync().ok
    assert cm.rows('SELECT start, "end" FROM leases') == [{"start": 1, "end": 2}]
    cm.set_hub_url(closed_port_url())
    numbers = [cm.send(recipients=[CHIANG_RAI], series="ว")["number"] for _ in range(3)]
    assert numbers == ["มท 0200/ว 1", "มท 0200/ว 2", "มท 0200/ว (ชั่วคราว 1)"]
    assert cm.call("GET", "/api/status")["provisional_pending"] == 1
    cm.set_hub_url(fed.url)
    for _ in range(2):
        assert cm.sync().ok
    assert cm.call("GET", "/api/status")["provisional_pending"] == 0
    letter = cm.call("GET", "/api/letters?box=sent")["letters"][0]
    assert letter["number"].startswith("มท 0200/ว ") and "ชั่วคราว" not in letter["number"]
    assert letter["number"] not in numbers[:2]
    assert "ได้รับเลขจริง" in letter["number_notice"]
    assert cr.sync().ok and len(cr.inbox()) == 3


def backup_copy(node: Node, target: Path) -> None:
    src = sqlite3.connect(node.ctx.settings["DATABASE"])
    dst = sqlite3.connect(target)
    src.backup(dst)
    dst.close()
    src.close()


def put_back(node: Node, backup: Path) -> None:
    db = Path(node.ctx.settings["DATABASE"])
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    shutil.copy(backup, db)


def test_restored_node_does_not_reissue_numbers(fed: Federation, tmp_path: Path) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    cm.send(recipients=[CHIANG_RAI])
    assert cm.sync().ok
    backup = tmp_path / "backup.sqlite"
    backup_copy(cm, backup)
    cm.send(recipients=[CHIANG_RAI])
    cm.send(recipients=[CHIANG_RAI])
    assert cm.sync().ok
    put_back(cm, backup)  # the old copy comes back; highwater.json remembers better
    assert cm.rows("SELECT MAX(seq) AS s FROM feed")[0]["s"] == 2
    fourth = cm.send(recipients=[CHIANG_RAI])  # above every number the sidecar remembers
    assert fourth["number"] == "ชม 0017/4"
    result = cm.sync()
    assert result.ok and result.caught_up == 4 and result.rebased is not None
    assert cm.sync().ok and cm.sync().rejected == []
    assert cr.sync().ok
    assert sorted(r["number"] for r in cr.inbox()) == [f"ชม 0017/{n}" for n in (1, 2, 3, 4)]
    seqs = [r["seq"] for r in cm.rows("SELECT seq FROM feed ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))


def test_old_backup_with_its_old_sidecar_is_caught_by_the_hub(
    fed: Federation, tmp_path: Path
) -> None:
    cm = fed.node(CHIANG_MAI)
    fed.node(CHIANG_RAI)
    cm.send(recipients=[CHIANG_RAI])
    assert cm.sync().ok
    backup_copy(cm, tmp_path / "backup.sqlite")
    sidecar = cm.instance / "highwater.json"
    old_sidecar = sidecar.read_bytes()
    cm.send(recipients=[CHIANG_RAI])
    assert cm.sync().ok
    put_back(cm, tmp_path / "backup.sqlite")
    sidecar.write_bytes(old_sidecar)
    restarted = Node(cm.instance, cm.clock)  # a new process: checks the hub first
    sent = restarted.send(recipients=[CHIANG_RAI])
    assert sent["number"] == "ชม 0017/3"
    result = restarted.sync()
    assert result.ok and not result.rejected


def test_restore_from_hub_rebuilds_letters_registers_and_tracking(fed: Federation) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    out = cm.send(recipients=[CHIANG_RAI], subject="ส่งไป")
    cr.send(recipients=[CHIANG_MAI], subject="ส่งมา")
    assert cm.sync().ok and cr.sync().ok and cm.sync().ok
    received = cm.inbox()[0]["id"]
    stamp = cm.call("POST", f"/api/letters/{received}/register", {})
    cr.call("POST", f"/api/letters/{cr.inbox()[0]['id']}/register", {})
    assert cm.sync().ok and cr.sync().ok and cm.sync().ok
    before_tracking = cm.call("GET", f"/api/letters/{out['id']}")["tracking"]
    Path(cm.ctx.settings["DATABASE"]).unlink()
    info = restore_from_hub(cm.instance, {"CLOCK": cm.clock})
    assert info["letters"] == 2 and info["lost_numbers_voided"] == []
    fresh = Node(cm.instance, cm.clock)
    sent_box = fresh.call("GET", "/api/letters?box=sent")["letters"]
    inbox = fresh.inbox()
    assert [r["number"] for r in sent_box] == ["ชม 0017/1"]
    assert inbox[0]["state"] == "registered"
    assert inbox[0]["receipt_number"] == stamp["receipt_number"]
    tracking = fresh.call("GET", f"/api/letters/{sent_box[0]['id']}")["tracking"]
    assert [(t["office"], t["state"], t["receipt_number"]) for t in tracking] == [
        (t["office"], t["state"], t["receipt_number"]) for t in before_tracking
    ]
    assert fresh.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/2"
    result = fresh.sync()
    assert result.ok and not result.rejected
    assert feed_statuses(fresh).count("delivered") == 1


def test_nightly_job_voids_last_years_leases_compares_digests_and_backs_up(
    fed: Federation,
) -> None:
    from node.sync.enrolment import start_scheduler
    from node.sync.jobs import nightly

    fed.share(MINISTRY, "ว", [CHIANG_MAI, CHIANG_RAI])
    cm = fed.node(CHIANG_MAI, LEASE_SIZE=3, BACKUP_KEEP=2)
    fed.node(CHIANG_RAI)
    assert cm.sync().ok
    cm.send(recipients=[CHIANG_RAI], series="ว")
    cm.send(recipients=[CHIANG_RAI])
    reports = []
    for _ in range(3):
        reports.append(nightly(cm.ctx))
        cm.clock.advance(86400)
    assert reports[0]["sync"]["ok"] and reports[0]["digest_mismatches"] == []
    backups = sorted((cm.instance / "backups").glob("node-*.sqlite"))
    assert len(backups) == 2
    with sqlite3.connect(backups[-1]) as copy:
        assert copy.execute("SELECT COUNT(*) FROM letters").fetchone()[0] == 2
    cm.clock.advance(60 * 86400)  # into the next Bangkok year
    report = nightly(cm.ctx)
    assert report["year_end_voided"] == 2  # numbers 2 and 3 of the lease were never used
    voided = cm.rows("SELECT number, reason FROM register_entries WHERE action = 'voided'")
    assert [v["number"] for v in voided] == [2, 3]
    assert voided[0]["reason"] == "เลขที่ได้รับจัดสรรไม่ได้ใช้ สิ้นปี"
    assert report["sync"]["ok"] and report["digest_mismatches"] == []
    scheduler = start_scheduler(Node(cm.instance, cm.clock, SCHEDULER=True).app)
    try:
        assert {job.id for job in scheduler.get_jobs()} == {"sync", "nightly"}
    finally:
        scheduler.shutdown(wait=False)


def test_restore_voids_numbers_the_lost_database_never_pushed(fed: Federation) -> None:
    cm = fed.node(CHIANG_MAI)
    fed.node(CHIANG_RAI)
    cm.send(recipients=[CHIANG_RAI])
    assert cm.sync().ok
    cm.set_hub_url(closed_port_url())
    assert cm.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/2"  # never reaches the hub
    Path(cm.ctx.settings["DATABASE"]).unlink()
    info = restore_from_hub(cm.instance, {"CLOCK": cm.clock})
    assert info["lost_numbers_voided"] == [{"register": "ชม 0017|ส่ง|2569", "number": 2}]
    fresh = Node(cm.instance, cm.clock)
    assert fresh.send(recipients=[CHIANG_RAI])["number"] == "ชม 0017/3"
    result = fresh.sync()
    assert result.ok and not result.rejected


def test_failed_restore_leaves_the_database_alone(fed: Federation) -> None:
    cm = fed.node(CHIANG_MAI)
    fed.node(CHIANG_RAI)
    cm.send(recipients=[CHIANG_RAI])
    db = Path(cm.ctx.settings["DATABASE"])
    before = db.stat().st_size
    from node.errors import HubUnreachable

    with pytest.raises(HubUnreachable):
        restore_from_hub(cm.instance, {"CLOCK": cm.clock, "HUB_URL": closed_port_url()})
    assert db.stat().st_size == before
    assert len(cm.call("GET", "/api/letters?box=sent")["letters"]) == 1


def test_enrolment_with_a_bad_token_is_refused_and_leaves_no_keys(
    fed: Federation, tmp_path: Path
) -> None:
    from node.errors import HubRefused, NodeError
    from node.sync.enrolment import init_node

    instance = tmp_path / "refused"
    with pytest.raises(HubRefused) as refused:
        init_node(instance, fed.url, CHIANG_MAI, "not-a-token")
    assert refused.value.status == 502 and refused.value.message_th
    assert not (instance / "keys" / "sign.key").exists()
    assert not (instance / "api_token").exists()
    node = fed.node(CHIANG_MAI)
    key = node.instance / "keys" / "sign.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (node.instance / "api_token").stat().st_mode & 0o777 == 0o600
    with pytest.raises(NodeError) as again:
        init_node(node.instance, fed.url, CHIANG_MAI, "whatever")
    assert again.value.code == "already_initialised"
