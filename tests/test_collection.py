"""The collection job: orphan blobs and abandoned partial uploads are removed once their
grace period has passed, what a letter cites and what is still being uploaded stay, and
the hub says what it removed (its log and ``/metrics``).

Attack covered: an office uploading bytes no letter ever cites, or starting uploads it never
finishes, to fill the hub's disk.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_hub_support import METRICS_AUTH, Answer, Hub, Office

from hub.jobs import COLLECT_JOB, build_scheduler, collect_unused_files
from protocol.api import BLOB_RECEIVED_HEADER

DAY = 86_400


@pytest.fixture
def hub(tmp_path: Path, clock: Clock) -> Hub:
    return Hub(tmp_path, clock)


@pytest.fixture
def cm(hub: Hub) -> Office:
    return hub.office(CHIANG_MAI)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(office: Office, data: bytes, size: int | None = None, offset: int = 0) -> Answer:
    total = len(data) if size is None else size
    return office.request(
        "PUT",
        f"/blobs/{sha(data if size is None else data.ljust(total, b'.'))}?offset={offset}"
        f"&size={total}",
        raw=data,
        content_type="application/octet-stream",
    )


def blob_folder(hub: Hub) -> Path:
    return Path(hub.app.config["BLOB_DIR"])


def files(hub: Hub) -> set[str]:
    folder = blob_folder(hub)
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def age(hub: Hub, name_start: str, seconds: float) -> None:
    """Make the blob folder's files named ``name_start…`` last changed ``seconds`` before
    the hub's clock (as if uploaded then)."""
    when = hub.clock() - seconds
    for path in blob_folder(hub).glob(f"{name_start}*"):
        os.utime(path, (when, when))


def collected(hub: Hub) -> dict[tuple[str, str], float]:
    answer = hub.send("GET", "/metrics", headers=METRICS_AUTH)
    return {
        (s.name, s.labels["what"]): s.value
        for family in text_string_to_metric_families(answer.body.decode("utf-8"))
        for s in family.samples
        if s.name in ("saraban_hub_collected_files_total", "saraban_hub_collected_bytes_total")
    }


def test_an_orphan_blob_is_removed_after_its_grace_and_logged(
    hub: Hub, cm: Office, caplog: pytest.LogCaptureFixture
) -> None:
    orphan = b"bytes no letter ever cites " * 100
    assert put(cm, orphan).json["complete"]
    age(hub, sha(orphan), 6 * DAY)
    collect_unused_files(hub.app)
    assert files(hub) == {sha(orphan)}  # within the 7 days' grace: kept
    age(hub, sha(orphan), 8 * DAY)
    with caplog.at_level(logging.INFO, logger="hub.federation.collection"):
        done = collect_unused_files(hub.app)
    assert done.orphans == [(sha(orphan), len(orphan))]
    assert files(hub) == set()
    assert f"removed orphan_blob {sha(orphan)} ({len(orphan)} bytes)" in caplog.text
    assert "collected 1 orphan blob(s)" in caplog.text
    assert collected(hub) == {
        ("saraban_hub_collected_files_total", "orphan_blob"): 1,
        ("saraban_hub_collected_bytes_total", "orphan_blob"): len(orphan),
        ("saraban_hub_collected_files_total", "partial_upload"): 0,
        ("saraban_hub_collected_bytes_total", "partial_upload"): 0,
    }
    # The uploader may send the same bytes again and cite them.
    assert put(cm, orphan).json["complete"]
    attachment = {"sha256": sha(orphan), "size": len(orphan), "media_type": "text/plain"}
    letter = cm.letter([CHIANG_RAI], attachments=[{**attachment, "name": "แนบ.txt"}])
    assert cm.push_ok(letter)[0]["status"] == "accepted"


def test_a_blob_a_letter_cites_is_kept_however_old(hub: Hub, cm: Office) -> None:
    data = b"%PDF-1.4 a letter's attachment"
    assert put(cm, data).json["complete"]
    attachment = {"sha256": sha(data), "size": len(data), "media_type": "application/pdf"}
    letter = cm.letter([CHIANG_RAI], attachments=[{**attachment, "name": "หนังสือ.pdf"}])
    assert cm.push_ok(letter)[0]["status"] == "accepted"
    age(hub, sha(data), 400 * DAY)
    assert collect_unused_files(hub.app).orphans == []
    assert files(hub) == {sha(data)}


def test_a_stale_partial_upload_is_removed_and_a_live_one_kept(hub: Hub, cm: Office) -> None:
    stale, live = b"started and abandoned", b"still being uploaded"
    assert put(cm, stale, size=1000).json["complete"] is False
    assert put(cm, live, size=1000).json["complete"] is False
    age(hub, sha(stale.ljust(1000, b".")), 25 * 3600)
    age(hub, sha(live.ljust(1000, b".")), 23 * 3600)
    done = collect_unused_files(hub.app)
    assert [name.split(".")[0] for name, _ in done.partials] == [sha(stale.ljust(1000, b"."))]
    assert done.partials[0][1] == len(stale)
    remaining = files(hub)
    assert len(remaining) == 1 and remaining.pop().startswith(sha(live.ljust(1000, b".")))
    # The office whose upload was collected starts it again from the first byte.
    head = cm.request("HEAD", f"/blobs/{sha(stale.ljust(1000, b'.'))}")
    assert head.status == 404 and head.headers[BLOB_RECEIVED_HEADER] == "0"
    assert put(cm, stale, size=1000).status == 200


def test_grace_periods_are_settings(tmp_path: Path, clock: Clock) -> None:
    hub = Hub(tmp_path, clock, ORPHAN_BLOB_GRACE_DAYS=1, PARTIAL_UPLOAD_GRACE_HOURS=1)
    cm = hub.office(CHIANG_MAI)
    orphan, partial = b"an orphan", b"a partial"
    put(cm, orphan)
    put(cm, partial, size=500)
    age(hub, "", 2 * 3600)
    done = collect_unused_files(hub.app)
    assert (len(done.orphans), len(done.partials)) == (0, 1)
    age(hub, "", DAY + 60)
    assert len(collect_unused_files(hub.app).orphans) == 1
    assert files(hub) == set()


def test_the_collection_is_a_scheduled_job(hub: Hub) -> None:
    scheduler = build_scheduler(hub.app)
    job = scheduler.get_job(COLLECT_JOB)
    assert job is not None
    assert job.trigger.interval.total_seconds() == 3600
