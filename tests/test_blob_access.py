"""Attachment bytes at the hub are for the sender and recipients of a letter citing them.

The attack: an office that is not a recipient pushes a letter of its own citing another
office's attachment hash, then downloads it, or asks ``HEAD`` whether the hub holds it.
What must hold: citing a blob grants nothing to an office that cannot read it; to such an
office the hub answers exactly as for a blob it lacks; a recipient may send on what it
received; an office holding the same file proves it by uploading it whole.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY, Clock
from test_hub_support import Answer, Hub, Office

from hub.app import create_app
from hub.federation.blobs import READERS_META
from protocol.api import BLOB_RECEIVED_HEADER, BLOB_SIZE_HEADER, MAX_CHUNK

DATA = os.urandom(MAX_CHUNK + 4321)
SHA = hashlib.sha256(DATA).hexdigest()
NEVER = hashlib.sha256(b"bytes the hub never saw").hexdigest()


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    return Hub(tmp_path, Clock())


@pytest.fixture
def cm(hub: Hub) -> Office:
    """The owner: uploads the file and sends it to Chiang Rai."""
    return hub.office(CHIANG_MAI)


@pytest.fixture
def cr(hub: Hub) -> Office:
    return hub.office(CHIANG_RAI)


@pytest.fixture
def kk(hub: Hub) -> Office:
    """Neither owner nor recipient."""
    return hub.office(KHON_KAEN)


def put(office: Office, sha: str, offset: int, size: int, chunk: bytes) -> Answer:
    return office.request(
        "PUT",
        f"/blobs/{sha}?offset={offset}&size={size}",
        raw=chunk,
        content_type="application/octet-stream",
    )


def upload(office: Office, data: bytes = DATA) -> list[dict[str, object]]:
    """Upload ``data`` whole in chunks; the answers, in order."""
    sha = hashlib.sha256(data).hexdigest()
    answers = []
    for offset in range(0, len(data), MAX_CHUNK):
        answer = put(office, sha, offset, len(data), data[offset : offset + MAX_CHUNK])
        assert answer.status == 200, answer.body
        answers.append(answer.json)
    return answers


def attachment(sha: str = SHA, size: int = len(DATA)) -> dict[str, object]:
    return {"sha256": sha, "size": size, "media_type": "application/pdf", "name": "คำสั่ง.pdf"}


def head(office: Office, sha: str) -> tuple[int, dict[str, str], bytes]:
    answer = office.request("HEAD", f"/blobs/{sha}")
    return answer.status, answer.headers, answer.body


def get(office: Office, sha: str) -> tuple[int, bytes]:
    answer = office.request("GET", f"/blobs/{sha}")
    return answer.status, answer.body


def send_to_chiang_rai(cm: Office) -> None:
    upload(cm)
    results = cm.push_ok(cm.letter([CHIANG_RAI], attachments=[attachment()]))
    assert results[0]["status"] == "accepted", results


def test_non_recipient_claiming_a_blob_gets_nothing(
    hub: Hub, cm: Office, cr: Office, kk: Office
) -> None:
    send_to_chiang_rai(cm)
    accomplice = hub.office(MINISTRY)
    claim = kk.letter([MINISTRY], attachments=[attachment()], advance=False)
    absent = kk.letter([MINISTRY], attachments=[attachment(NEVER, 10)], advance=False)

    (claimed,) = kk.push_ok(claim)
    (lacking,) = kk.push_ok(absent)
    assert (claimed["status"], claimed["reason"], claimed["missing"]) == (
        "rejected",
        "blobs_incomplete",
        [SHA],
    )
    assert (lacking["status"], lacking["reason"], lacking["missing"]) == (
        "rejected",
        "blobs_incomplete",
        [NEVER],
    )
    assert hub.counts("feed", "quarantine", "alerts") == {"feed": 1, "quarantine": 0, "alerts": 0}
    assert accomplice.pull_all() == []
    for office in (kk, accomplice):
        assert get(office, SHA) == get(office, NEVER)
        assert get(office, SHA)[0] == 404
    assert get(cr, SHA) == (200, DATA)


def test_head_does_not_reveal_a_blob_to_others(cm: Office, cr: Office, kk: Office) -> None:
    put(cm, SHA, 0, len(DATA), DATA[:MAX_CHUNK])  # an upload under way
    assert head(kk, SHA) == head(kk, NEVER)
    assert head(cr, SHA) == head(cr, NEVER)
    assert head(cm, SHA)[1][BLOB_RECEIVED_HEADER] == str(MAX_CHUNK)

    put(cm, SHA, MAX_CHUNK, len(DATA), DATA[MAX_CHUNK:])  # complete
    status, headers, _ = head(kk, SHA)
    assert (status, headers, b"") == head(kk, NEVER)
    assert (status, headers[BLOB_RECEIVED_HEADER], BLOB_SIZE_HEADER in headers) == (404, "0", False)
    # Nor does an upload: the hub takes its chunks as for a blob it lacks.
    first = put(kk, SHA, 0, len(DATA), b"x" * 100)
    assert first.json == put(kk, NEVER, 0, len(DATA), b"x" * 100).json
    assert first.json == {"received": 100, "complete": False}

    cm.push_ok(cm.letter([CHIANG_RAI], attachments=[attachment()]))
    status, headers, _ = head(cr, SHA)
    assert (status, headers[BLOB_SIZE_HEADER]) == (200, str(len(DATA)))
    assert head(kk, SHA) == head(kk, NEVER)


def test_another_office_s_upload_neither_shows_nor_disturbs(cm: Office, kk: Office) -> None:
    """Each office uploads into its own partial file: another office's garbage at the same
    name leaves the owner's upload where it was, and is discarded when it does not hash."""
    assert put(cm, SHA, 0, len(DATA), DATA[:MAX_CHUNK]).json["received"] == MAX_CHUNK
    garbage = put(kk, SHA, 0, len(DATA), os.urandom(len(DATA) - MAX_CHUNK))
    assert garbage.json == {"received": len(DATA) - MAX_CHUNK, "complete": False}
    wrong = put(kk, SHA, len(DATA) - MAX_CHUNK, len(DATA), os.urandom(MAX_CHUNK))
    assert (wrong.status, wrong.json["error"]) == (422, "blob_hash_mismatch")
    last = put(cm, SHA, MAX_CHUNK, len(DATA), DATA[MAX_CHUNK:])
    assert last.json == {"received": len(DATA), "complete": True}
    assert get(cm, SHA) == (200, DATA)
    assert get(kk, SHA)[0] == 404


def test_recipient_downloads_and_sender_reads_its_own(cm: Office, cr: Office) -> None:
    send_to_chiang_rai(cm)
    assert get(cr, SHA) == (200, DATA)
    assert get(cm, SHA) == (200, DATA)
    assert head(cr, SHA)[1][BLOB_SIZE_HEADER] == str(len(DATA))


def test_recipient_sends_a_received_attachment_on(
    hub: Hub, cm: Office, cr: Office, kk: Office
) -> None:
    """Chiang Rai received the file from Chiang Mai and sends it on to Khon Kaen without
    uploading it: the hub already holds it and Chiang Rai may read it."""
    send_to_chiang_rai(cm)
    complete = put(cr, SHA, 0, len(DATA), b"")
    assert complete.json == {"received": len(DATA), "complete": True}
    (forwarded,) = cr.push_ok(cr.letter([KHON_KAEN], attachments=[attachment()]))
    assert forwarded["status"] == "accepted", forwarded
    assert get(kk, SHA) == (200, DATA)
    # ... and Khon Kaen, a recipient now, may send it on in turn.
    ministry = hub.office(MINISTRY)
    assert kk.push_ok(kk.letter([MINISTRY], attachments=[attachment()]))[0]["status"] == "accepted"
    assert get(ministry, SHA) == (200, DATA)


def test_office_holding_the_same_file_proves_it_by_uploading_it_whole(
    hub: Hub, cm: Office, kk: Office
) -> None:
    """A regulation both offices hold: Khon Kaen's upload is taken chunk by chunk as if
    the hub lacked it, and afterwards Khon Kaen may send it."""
    send_to_chiang_rai(cm)
    answers = upload(kk)
    assert answers == [
        {"received": MAX_CHUNK, "complete": False},
        {"received": len(DATA), "complete": True},
    ]
    ministry = hub.office(MINISTRY)
    assert kk.push_ok(kk.letter([MINISTRY], attachments=[attachment()]))[0]["status"] == "accepted"
    assert get(ministry, SHA) == (200, DATA)
    assert get(kk, SHA) == (200, DATA)
    assert sorted(p.name for p in Path(hub.app.config["BLOB_DIR"]).iterdir()) == [SHA]


@pytest.mark.sqlite_only("a SQLite file an older hub wrote")
def test_readers_of_blobs_cited_before_the_upgrade(
    hub: Hub, cm: Office, cr: Office, kk: Office
) -> None:
    """A hub written before readers were recorded: the sender of the first letter citing a
    blob is taken as its owner, and a later letter citing it grants only if its sender
    could read it then."""
    send_to_chiang_rai(cm)
    ministry = hub.office(MINISTRY)
    claim = kk.letter([MINISTRY])
    assert kk.push_ok(claim)[0]["status"] == "accepted"
    db = sqlite3.connect(hub.app.config["DATABASE"])
    with db:  # what an older hub held: the citations, no readers
        db.execute("INSERT INTO blob_refs (sha256, letter) VALUES (?, ?)", (SHA, claim.env_id))
        db.execute("DROP TABLE blob_readers")
        db.execute("DELETE FROM meta WHERE key = ?", (READERS_META,))
        db.execute("DELETE FROM meta WHERE key = 'schema_version'")  # older hubs had none
    db.close()

    hub.app = create_app({"CLOCK": hub.clock}, instance_path=hub.instance)
    hub.client = hub.app.test_client()
    assert get(cm, SHA) == (200, DATA)
    assert get(cr, SHA) == (200, DATA)
    assert get(kk, SHA)[0] == 404
    assert get(ministry, SHA)[0] == 404
    assert hub.count("blob_readers") == 2
