"""Delivery an office can trust, with a real hub and real nodes over loopback HTTP: nothing
the recipient cannot verify is skipped (held, shown, alerted, applied once it verifies),
bytes travel before the letters and receipts that name them, and a node marks nothing
pushed without the hub's signed ack covering it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock
from test_node_support import Federation, Node, federation
from web_support import add_users, login

from hub.admin.offices import revoke_office
from hub.admin.tokens import issue_enrollment_token
from hub.store import HubStore
from node.context import SEAL_KEY_FILE, SIGN_KEY_FILE
from node.storage import blobs
from node.sync.hubclient import HubClient, hub_client
from node.sync.push import push_outbox
from node.sync.restore import restore_from_hub
from node.sync.state import SyncResult
from node.sync.verify import verify_office_envelope
from protocol.canonical import parse_canonical
from protocol.directory import TrustedDirectory
from protocol.envelope import Envelope, sign_envelope
from protocol.errors import UnknownKey
from protocol.hub_messages import Directory
from protocol.keys import Signer, generate_seal_key, save_signer
from protocol.messages import Letter

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[Federation]:
    with federation(tmp_path, Clock()) as f:
        yield f


# -- what stands between the nodes and the hub ----------------------------------------------


class DirectoryCache:
    """A cache in front of the hub that answers ``GET /directory`` with an old copy while
    ``stale`` is set, as a lagging replica or proxy would; everything else goes through."""

    def __init__(self, app: Wsgi) -> None:
        self.app = app
        self.stale: dict[str, Any] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if (
            self.stale is not None
            and environ["REQUEST_METHOD"] == "GET"
            and environ["PATH_INFO"].endswith("/directory")
        ):
            body = json.dumps({"directory": self.stale}).encode()
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]
        return self.app(environ, start_response)


class AnswerRewriter:
    """Between the nodes and the hub on one endpoint (``/push``, ``/pull``): remembers every
    answer the hub gave and, while ``rewrite`` is set, hands the node a changed one instead
    (the hub itself did its work as usual)."""

    def __init__(self, app: Wsgi, endpoint: str) -> None:
        self.app = app
        self.endpoint = endpoint
        self.answers: list[dict[str, Any]] = []
        self.rewrite: Callable[[dict[str, Any], list[dict[str, Any]]], dict[str, Any]] | None
        self.rewrite = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not environ["PATH_INFO"].endswith(self.endpoint):
            return self.app(environ, start_response)
        got: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            got.update(status=status, headers=headers)
            return lambda _data: None

        body = b"".join(self.app(environ, keep))
        if got["status"].startswith("200"):
            answer = json.loads(body)
            rewrite = self.rewrite
            if rewrite is not None:
                body = json.dumps(rewrite(json.loads(body), list(self.answers))).encode()
            self.answers.append(answer)
        headers = [(k, v) for k, v in got["headers"] if k.lower() != "content-length"]
        start_response(got["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]


def in_front_of_hub(fed: Federation, make: Callable[[Wsgi], Any]) -> Any:
    """Put ``make(hub)`` between the nodes and the hub's app; return it."""
    middle = make(fed.hub_app.wsgi_app)
    fed.hub_app.wsgi_app = middle  # type: ignore[method-assign]
    return middle


# -- helpers ------------------------------------------------------------------------------------


def rekey(fed: Federation, node: Node) -> Node:
    """The office enrols again with key number 2 (what a rebuilt node does) and keeps its
    database; the hub retires key 1. Returns the node as it runs with the new key."""
    token = issue_enrollment_token(fed.hub_dir, node.office, now=fed.clock())
    signer = Signer.generate(node.office, 2)
    client = HubClient(fed.url, None, fed.clock)
    try:
        client.enroll(
            {
                "token": token,
                "office": node.office,
                "sign_keyid": signer.keyid,
                "sign_public": signer.public_b64(),
                "seal_public": generate_seal_key(node.instance / SEAL_KEY_FILE),
            }
        )
    finally:
        client.close()
    save_signer(signer, node.instance / SIGN_KEY_FILE)
    return Node(node.instance, node.clock)


def hub_alerts(fed: Federation, kind: str, status: str | None = "open") -> list[dict[str, Any]]:
    store = HubStore.open(fed.hub_app.config["DATABASE"], create=False)
    try:
        return [dict(a) for a in store.alerts(status) if a["kind"] == kind]
    finally:
        store.close()


def receipts(node: Node) -> list[dict[str, Any]]:
    """The bodies of the node's own receipts, in feed order (one per letter a
    ``deliveries`` envelope names)."""
    return node.answers()


def tracking(node: Node, letter_id: int) -> dict[str, str]:
    return {
        t["office"]: t["state"] for t in node.call("GET", f"/api/letters/{letter_id}")["tracking"]
    }


def file(content: bytes, name: str = "รายงาน.pdf") -> dict[str, str]:
    return {
        "name": name,
        "media_type": "application/octet-stream",
        "content_base64": base64.b64encode(content).decode(),
    }


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# -- nothing skipped at the recipient --------------------------------------------------------


def test_letters_of_a_rekeyed_sender_wait_at_a_stale_recipient_and_are_never_lost(
    fed: Federation,
) -> None:
    cache = in_front_of_hub(fed, DirectoryCache)
    cm, cr, kk = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI), fed.node(KHON_KAEN)
    before = cm.send(recipients=[CHIANG_RAI, KHON_KAEN], subject="ก่อนเปลี่ยนกุญแจ")
    assert cm.sync().ok
    [stale] = cr.rows("SELECT envelope FROM directory")
    cm = rekey(fed, cm)
    after = cm.send(recipients=[CHIANG_RAI, KHON_KAEN], subject="หลังเปลี่ยนกุญแจ")
    assert cm.sync().ok and cm.call("GET", "/api/status")["outbox"] == 0

    # ชร's directory predates the new key and the hub's cache keeps serving that copy.
    cache.stale = Envelope.from_bytes(stale["envelope"]).to_wire()
    first = cr.sync()
    assert (first.ok, first.held, first.held_from, first.error_code) == (
        False,
        1,
        [CHIANG_MAI],
        "held",
    )
    assert [r["subject"] for r in cr.inbox()] == ["ก่อนเปลี่ยนกุญแจ"]
    assert [r["status"] for r in receipts(cr)] == ["delivered"]
    for _ in range(2):  # tried at every sync; the third try reports it to the hub
        assert cr.sync().held == 1
    status = cr.call("GET", "/api/status")["held"]
    assert (status["count"], status["stuck"]) == (1, 1)
    assert status["senders"][0]["reason"].startswith("unknown_key")
    [alert] = hub_alerts(fed, "held_envelopes")
    assert alert["office"] == CHIANG_RAI
    assert CHIANG_MAI in alert["detail"] and CHIANG_RAI in alert["detail"]

    cache.stale = None
    fixed = cr.sync()
    assert (fixed.ok, fixed.held, fixed.released) == (True, 0, 1)
    assert sorted(r["subject"] for r in cr.inbox()) == ["ก่อนเปลี่ยนกุญแจ", "หลังเปลี่ยนกุญแจ"]
    assert [r["status"] for r in receipts(cr)] == ["delivered", "delivered"]
    assert cr.call("GET", "/api/status")["held"]["count"] == 0
    assert hub_alerts(fed, "held_envelopes") == []
    assert len(hub_alerts(fed, "held_envelopes", "resolved")) == 1

    # ขก holds the new directory: key 1 is retired there but still verifies what it signed.
    fresh = kk.sync()
    assert (fresh.ok, fresh.held, fresh.applied) == (True, 0, 2)

    assert cr.sync().ok and kk.sync().ok and cm.sync().ok
    assert tracking(cm, after["id"]) == {CHIANG_RAI: "delivered", KHON_KAEN: "delivered"}
    assert tracking(cm, before["id"]) == {CHIANG_RAI: "delivered", KHON_KAEN: "delivered"}
    mine = next(r for r in cr.inbox() if r["subject"] == "หลังเปลี่ยนกุญแจ")
    cr.call("POST", f"/api/letters/{mine['id']}/register", {})
    assert cr.sync().ok and cm.sync().ok
    assert tracking(cm, after["id"])[CHIANG_RAI] == "registered"


def damaged(env_id: str) -> Callable[[dict[str, Any], list[dict[str, Any]]], dict[str, Any]]:
    """A pull answer with the signature of envelope ``env_id`` damaged on the way."""

    def rewrite(answer: dict[str, Any], _earlier: list[dict[str, Any]]) -> dict[str, Any]:
        for wire in answer["envelopes"]:
            if Envelope.from_wire(wire).env_id == env_id:
                sig = base64.b64decode(wire["signatures"][0]["sig"])
                wire["signatures"][0]["sig"] = base64.b64encode(bytes([sig[0] ^ 1]) + sig[1:])
                wire["signatures"][0]["sig"] = wire["signatures"][0]["sig"].decode()
        return answer

    return rewrite


def test_a_withdrawal_of_a_held_letter_is_applied_after_it_never_before(fed: Federation) -> None:
    pulls = in_front_of_hub(fed, lambda app: AnswerRewriter(app, "/pull"))
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    sent = cm.send(recipients=[CHIANG_RAI], subject="ขอเชิญประชุม")
    assert cm.sync().ok
    [letter] = cm.rows("SELECT env_id FROM letters WHERE id = ?", (sent["id"],))
    pulls.rewrite = damaged(letter["env_id"])
    assert cr.sync().held == 1
    cm.call("POST", f"/api/letters/{sent['id']}/withdraw", {"reason": "ส่งผิดหน่วยงาน"})
    assert cm.sync().ok
    waiting = cr.sync()  # the withdrawal verifies, but what it withdraws is held
    assert (waiting.held, waiting.applied) == (2, 0)
    kinds = [(r["kind"], r["waits_for"]) for r in cr.rows("SELECT * FROM held_envelopes")]
    assert kinds == [("letter", None), ("withdraw", letter["env_id"])]
    assert cr.inbox() == []

    pulls.rewrite = None
    with cr.store() as s, s.transaction():  # the clerk pulls the mailbox again from the start
        s.execute("UPDATE sync_state SET cursor = NULL WHERE id = 1")
    again = cr.sync()
    assert (again.ok, again.held) == (True, 0)
    [received] = cr.inbox()
    assert received["state"] == "withdrawn"
    outcomes = [r["kind"] for r in cr.rows("SELECT kind FROM mailbox ORDER BY id")]
    assert outcomes == ["letter", "withdraw"]


def held_for_good(fed: Federation) -> tuple[Node, Node]:
    """ชม's letter reaches the hub, then ชม is revoked before ชร pulls it: ชร refuses the
    signature for good (revoked stays refused) and has tried three times."""
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    cm.send(recipients=[CHIANG_RAI], subject="ขอเชิญประชุมคณะทำงาน")
    assert cm.sync().ok
    revoke_office(fed.hub_dir, CHIANG_MAI, "กุญแจรั่วไหล", now=fed.clock())
    for _ in range(3):
        result = cr.sync()
        assert (result.ok, result.held, result.error_code) == (False, 1, "held")
    return cm, cr


def test_a_letter_held_for_good_shows_in_status_admin_page_and_a_hub_alert(
    fed: Federation,
) -> None:
    _, cr = held_for_good(fed)
    assert cr.inbox() == [] and receipts(cr) == []
    status = cr.call("GET", "/api/status")
    assert status["held"]["count"] == 1 and status["held"]["stuck"] == 1
    [sender] = status["held"]["senders"]
    assert (sender["origin"], sender["count"], sender["tries"]) == (CHIANG_MAI, 1, 3)
    assert any("ตรวจลายมือชื่อไม่ผ่าน" in w for w in status["warnings"])
    assert cr.call("POST", "/api/sync", {})["held"] == 1

    add_users(cr)
    page = login(cr, "admin").get("/admin/sync").get_data(as_text=True)
    assert "ซองเอกสารที่พักไว้" in page and CHIANG_MAI in page and "แจ้งศูนย์กลางแล้ว" in page

    [alert] = hub_alerts(fed, "held_envelopes")
    assert alert["office"] == CHIANG_RAI
    assert CHIANG_MAI in alert["detail"] and CHIANG_RAI in alert["detail"]
    from hub.monitoring.alerts import kind_of

    assert "ติดต่อทั้งสองหน่วยงาน" in kind_of("held_envelopes").todo
    cr.sync()  # one alert per recipient and sender, however often it is reported
    assert len(hub_alerts(fed, "held_envelopes")) == 1


def test_a_retired_key_still_vouches_for_what_it_signed_before_and_nothing_after() -> None:
    """A retired key verifies up to its office's last seq when it was retired, never after;
    a revoked office's keys verify nothing."""
    old, new = Signer.generate(CHIANG_MAI, 1), Signer.generate(CHIANG_MAI, 2)
    hub = Signer.generate("hub")

    def directory(status: str, keys: list[dict[str, Any]]) -> TrustedDirectory:
        body = Directory(
            version=2,
            issued_at="2026-11-18T00:00:00Z",
            offices=[{"id": CHIANG_MAI, "name": "เชียงใหม่", "status": status, "keys": keys}],
        )
        env = sign_envelope("directory", body.to_dict(), hub)
        return TrustedDirectory(Directory.from_dict(parse_canonical(env.body)), env.env_id)

    keys = [
        {"keyid": old.keyid, "public": old.public_b64(), "status": "retired", "last_seq": 2},
        {"keyid": new.keyid, "public": new.public_b64(), "status": "active"},
    ]
    rotated, revoked = directory("enrolled", keys), directory("revoked", keys)

    def letter(seq: int, signer: Signer) -> Envelope:
        body = Letter(
            origin=CHIANG_MAI,
            seq=seq,
            prev=None if seq == 1 else "0" * 64,
            created_at="2026-11-18T10:00:00Z",
            subject="ทดสอบ",
            recipients=[CHIANG_RAI],
        )
        return sign_envelope("letter", body.to_dict(), signer)

    assert verify_office_envelope(letter(2, old), rotated).seq == 2
    assert verify_office_envelope(letter(3, new), rotated).seq == 3
    with pytest.raises(UnknownKey):
        verify_office_envelope(letter(3, old), rotated)  # signed after it was retired
    for signer in (old, new):
        with pytest.raises(UnknownKey):
            verify_office_envelope(letter(1, signer), revoked)


# -- bytes before receipts ----------------------------------------------------------------------


def test_a_letter_written_after_the_upload_step_still_goes_with_its_bytes(fed: Federation) -> None:
    """A letter sent while a round runs, after its upload step: the push uploads its bytes
    first, so the hub never holds a letter whose attachment it lacks."""
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    content = os.urandom(3000)
    cm.send(recipients=[CHIANG_RAI], attachments=[file(content)])
    result = SyncResult()
    client = hub_client(cm.ctx)
    with cm.store() as store:
        push_outbox(cm.ctx, store, client, result)
    assert client.blob_status(sha(content)) == (True, len(content))
    client.close()
    assert (result.uploaded, result.accepted, result.rejected) == ([sha(content)], 2, [])
    assert cr.sync().downloaded == [sha(content)]


def test_a_letter_whose_bytes_the_hub_lost_is_refused_then_arrives_once_they_are_back(
    fed: Federation,
) -> None:
    """The hub refuses a letter citing bytes it no longer holds (``blobs_incomplete``: not
    quarantined, no alert); the node uploads them again and the letter goes in the same
    round."""
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    content = os.urandom(5000)
    cm.send(recipients=[CHIANG_RAI], subject="ฉบับแรก", attachments=[file(content)])
    assert cm.sync().ok
    (fed.hub_dir / "blobs" / sha(content)).unlink()  # the hub's disk lost it
    cm.send(recipients=[CHIANG_RAI], subject="ฉบับที่สอง", attachments=[file(content)])
    second = cm.sync()
    assert (second.ok, second.uploaded, second.accepted) == (True, [sha(content)], 2)
    assert hub_alerts(fed, "quarantined") == [] and hub_alerts(fed, "equivocation") == []
    assert cr.sync().ok and len(cr.inbox()) == 2
    assert [r["status"] for r in receipts(cr)] == ["delivered", "delivered"]


def test_delivered_is_signed_only_once_every_attachment_is_held_and_names_the_letter(
    fed: Federation,
) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    report, scan = os.urandom(2500), os.urandom(3500)
    sent = cm.send(recipients=[CHIANG_RAI], attachments=[file(report), file(scan, "สำเนา.png")])
    assert cm.sync().ok
    # The second file arrives damaged: its hash does not check out and it is thrown away.
    partial = blobs.partial_path(cr.instance / "blobs", sha(scan))
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"\0" * 1000)
    first = cr.sync()
    assert first.downloaded == [sha(report)]
    [letter] = cr.inbox()
    assert receipts(cr) == []
    assert cr.call("GET", "/api/status")["awaiting_attachments"] == 1
    refused = cr.call("POST", f"/api/letters/{letter['id']}/register", {}, ok=None)
    assert (refused["error"], refused["message_th"]) == (
        "attachments_missing",
        "ยังได้รับไฟล์แนบของหนังสือนี้ไม่ครบ ลงรับได้เมื่อได้รับไฟล์แนบครบแล้ว",
    )
    assert cr.sync().downloaded == [sha(scan)]
    [delivered] = receipts(cr)
    # The answer names the letter's env_id: the hash of its bytes, which list both files'.
    [held] = cr.rows("SELECT env_id, attachments FROM letters WHERE direction = 'in'")
    assert (delivered["status"], delivered["letter"]) == ("delivered", held["env_id"])
    assert [a["sha256"] for a in json.loads(held["attachments"])] == [sha(report), sha(scan)]
    assert cr.call("GET", "/api/status")["awaiting_attachments"] == 0
    cr.call("POST", f"/api/letters/{letter['id']}/register", {})
    assert [r["status"] for r in receipts(cr)] == ["delivered", "registered"]
    assert cr.sync().ok and cm.sync().ok
    assert tracking(cm, sent["id"]) == {CHIANG_RAI: "registered"}


def test_a_restored_office_fetches_its_own_attachments_back_from_the_hub(
    fed: Federation,
) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    content = os.urandom(4000)
    sent = cm.send(recipients=[CHIANG_RAI], attachments=[file(content)])
    assert cm.sync().ok
    lost = blobs.blob_path(cm.instance / "blobs", sha(content))
    lost.unlink()  # the disk went, the database with it
    Path(cm.ctx.settings["DATABASE"]).unlink()
    restore_from_hub(cm.instance, {"CLOCK": cm.clock})
    fresh = Node(cm.instance, cm.clock)
    result = fresh.sync()
    assert (result.ok, result.downloaded) == (True, [sha(content)])
    assert lost.read_bytes() == content
    assert fresh.call("GET", f"/api/letters/{sent['id']}")["state"] == "sent"
    assert cr.sync().downloaded == [sha(content)]


# -- the hub's ack ---------------------------------------------------------------------------------


def ack_body(ack: dict[str, Any]) -> dict[str, Any]:
    return parse_canonical(Envelope.from_wire(ack).body)


def _without_ack(answer: dict[str, Any], _earlier: list[dict[str, Any]]) -> dict[str, Any]:
    del answer["ack"]
    return answer


def _ack_by_a_stranger(answer: dict[str, Any], _earlier: list[dict[str, Any]]) -> dict[str, Any]:
    answer["ack"] = sign_envelope("ack", ack_body(answer["ack"]), Signer.generate("hub")).to_wire()
    return answer


def _ack_edited(answer: dict[str, Any], _earlier: list[dict[str, Any]]) -> dict[str, Any]:
    body = ack_body(answer["ack"])
    body["last_seq"] += 10
    answer["ack"]["payload"] = base64.b64encode(json.dumps(body).encode()).decode()
    return answer


def _ack_replayed(answer: dict[str, Any], earlier: list[dict[str, Any]]) -> dict[str, Any]:
    mine = [a["ack"] for a in earlier if ack_body(a["ack"])["office"] == CHIANG_MAI]
    answer["ack"] = mine[0]  # genuine, but from the push before this one
    return answer


def _ack_of_another_office(answer: dict[str, Any], earlier: list[dict[str, Any]]) -> dict[str, Any]:
    answer["ack"] = next(a["ack"] for a in earlier if ack_body(a["ack"])["office"] == KHON_KAEN)
    return answer


BAD_ACKS = {
    "missing": _without_ack,
    "signed by a key the node never pinned": _ack_by_a_stranger,
    "edited after the hub signed it": _ack_edited,
    "replayed from an earlier push": _ack_replayed,
    "another office's": _ack_of_another_office,
}


@pytest.mark.parametrize("bad", BAD_ACKS.values(), ids=list(BAD_ACKS))
def test_a_push_answered_without_a_good_ack_marks_nothing_pushed(
    fed: Federation, bad: Callable[[dict[str, Any], list[dict[str, Any]]], dict[str, Any]]
) -> None:
    pushes = in_front_of_hub(fed, lambda app: AnswerRewriter(app, "/push"))
    cm, _, kk = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI), fed.node(KHON_KAEN)
    kk.send(recipients=[CHIANG_RAI])
    cm.send(recipients=[CHIANG_RAI], subject="ฉบับแรก")
    assert kk.sync().ok and cm.sync().ok
    second = cm.send(recipients=[CHIANG_RAI], subject="ฉบับที่สอง")
    pushes.rewrite = bad
    refused = cm.sync()
    assert (refused.ok, refused.error_code, refused.accepted) == (False, "bad_ack", 0)
    assert cm.call("GET", "/api/status")["outbox"] == 2
    assert cm.call("GET", f"/api/letters/{second['id']}")["state"] == "queued"

    pushes.rewrite = None
    cm.clock.advance(3600)  # past the back-off
    assert cm.sync().ok  # the hub had stored them all along: now its word is checked
    assert cm.call("GET", "/api/status")["outbox"] == 0
    assert cm.call("GET", f"/api/letters/{second['id']}")["state"] == "sent"
