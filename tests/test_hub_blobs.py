"""Attachment bytes at the hub: resumable chunked upload, checks, and who may download."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock
from test_hub_support import Answer, Hub, Office

from protocol.api import BLOB_RECEIVED_HEADER, BLOB_SIZE_HEADER, MAX_CHUNK

DATA = os.urandom(2 * MAX_CHUNK + 1234)
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    return Hub(tmp_path, Clock())


@pytest.fixture
def cm(hub: Hub) -> Office:
    return hub.office(CHIANG_MAI)


def put(office: Office, sha: str, offset: int, size: int, chunk: bytes) -> Answer:
    return office.request(
        "PUT",
        f"/blobs/{sha}?offset={offset}&size={size}",
        raw=chunk,
        content_type="application/octet-stream",
    )


def upload(office: Office, data: bytes = DATA) -> None:
    sha = hashlib.sha256(data).hexdigest()
    for offset in range(0, len(data), MAX_CHUNK):
        answer = put(office, sha, offset, len(data), data[offset : offset + MAX_CHUNK])
        assert answer.status == 200, answer.body


def attachment(data: bytes = DATA) -> dict[str, object]:
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "media_type": "application/pdf",
        "name": "หนังสือเชิญ.pdf",
    }


def blob_files(hub: Hub) -> list[str]:
    folder = Path(hub.app.config["BLOB_DIR"])
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_resumable_upload_in_chunks(hub: Hub, cm: Office) -> None:
    head = cm.request("HEAD", f"/blobs/{SHA}")
    assert (head.status, head.headers[BLOB_RECEIVED_HEADER]) == (404, "0")
    first = put(cm, SHA, 0, len(DATA), DATA[:MAX_CHUNK])
    assert first.json == {"received": MAX_CHUNK, "complete": False}
    # The connection dropped here; the node asks how far it got and resumes.
    head = cm.request("HEAD", f"/blobs/{SHA}")
    assert head.headers[BLOB_RECEIVED_HEADER] == str(MAX_CHUNK)
    put(cm, SHA, MAX_CHUNK, len(DATA), DATA[MAX_CHUNK : 2 * MAX_CHUNK])
    last = put(cm, SHA, 2 * MAX_CHUNK, len(DATA), DATA[2 * MAX_CHUNK :])
    assert last.json == {"received": len(DATA), "complete": True}
    head = cm.request("HEAD", f"/blobs/{SHA}")
    assert (head.status, head.headers[BLOB_SIZE_HEADER]) == (200, str(len(DATA)))
    again = put(cm, SHA, 0, len(DATA), DATA[:10])
    assert again.json == {"received": len(DATA), "complete": True}
    assert blob_files(hub) == [SHA]


def test_chunk_at_the_wrong_offset_is_409_with_received(hub: Hub, cm: Office) -> None:
    put(cm, SHA, 0, len(DATA), DATA[:1000])
    answer = put(cm, SHA, 5000, len(DATA), DATA[5000:6000])
    assert answer.status == 409
    assert answer.json["error"] == "offset_mismatch"
    assert answer.json["received"] == 1000


def test_bytes_that_hash_to_another_name_are_422_and_discarded(hub: Hub, cm: Office) -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()
    answer = put(cm, wrong, 0, 100, os.urandom(100))
    assert (answer.status, answer.json["error"]) == (422, "blob_hash_mismatch")
    assert blob_files(hub) == []
    head = cm.request("HEAD", f"/blobs/{wrong}")
    assert head.headers[BLOB_RECEIVED_HEADER] == "0"


def test_oversize_chunk_is_413(hub: Hub, cm: Office) -> None:
    answer = put(cm, SHA, 0, len(DATA), DATA[: MAX_CHUNK + 1])
    assert (answer.status, answer.json["error"]) == (413, "too_large")
    assert blob_files(hub) == []


def test_recipient_downloads_and_a_non_recipient_is_told_nothing(hub: Hub, cm: Office) -> None:
    cr = hub.office(CHIANG_RAI)
    kk = hub.office(KHON_KAEN)
    absent = cr.request("GET", f"/blobs/{hashlib.sha256(b'never uploaded').hexdigest()}")
    upload(cm)
    before = cr.request("GET", f"/blobs/{SHA}")
    assert (before.status, before.body) == (404, absent.body)
    cm.push_ok(cm.letter([CHIANG_RAI], attachments=[attachment()]))
    got = cr.request("GET", f"/blobs/{SHA}")
    assert (got.status, got.body) == (200, DATA)
    assert cm.request("GET", f"/blobs/{SHA}").status == 200
    denied = kk.request("GET", f"/blobs/{SHA}")
    assert (denied.status, denied.body) == (404, absent.body)


def test_range_download_resumes_from_an_offset(hub: Hub, cm: Office) -> None:
    cr = hub.office(CHIANG_RAI)
    upload(cm)
    cm.push_ok(cm.letter([CHIANG_RAI], attachments=[attachment()]))
    part = cr.request("GET", f"/blobs/{SHA}", headers={"Range": "bytes=1000-"})
    assert part.status == 206
    assert part.body == DATA[1000:]


def test_letter_pushed_before_its_attachment_bytes_waits_for_them(hub: Hub, cm: Office) -> None:
    """The hub refuses the letter (retryable, no quarantine, no alert) until the bytes are
    whole; the office's next envelope waits behind it; both go once the bytes do."""
    cr = hub.office(CHIANG_RAI)
    data = b"bytes not uploaded yet"
    sha = hashlib.sha256(data).hexdigest()
    letter = cm.letter([CHIANG_RAI], attachments=[attachment(data)])
    entry = cm.register_entry(f"{CHIANG_MAI}|ส่ง|2569", 1)
    first, second = cm.push_ok(letter, entry)
    assert (first["status"], first["reason"], first["missing"]) == (
        "rejected",
        "blobs_incomplete",
        [sha],
    )
    assert (second["status"], second["reason"]) == ("rejected", "out_of_sequence")
    assert hub.counts("quarantine", "alerts", "feed") == {"quarantine": 0, "alerts": 0, "feed": 0}
    assert cr.pull_all() == []
    half = len(data) // 2
    assert put(cm, sha, 0, len(data), data[:half]).json == {"received": half, "complete": False}
    assert cm.push_ok(letter, entry)[0]["reason"] == "blobs_incomplete"  # half is not enough
    assert put(cm, sha, half, len(data), data[half:]).json["complete"] is True
    assert [r["status"] for r in cm.push_ok(letter, entry)] == ["accepted", "accepted"]
    assert [e.env_id for e in cr.pull_all()] == [letter.env_id]
    answer = cr.request("GET", f"/blobs/{sha}")
    assert (answer.status, answer.body) == (200, data)
