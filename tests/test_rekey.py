"""A new signing key (ADR 0018): `saraban node rekey`, re-enrollment with a token, and the
retired key that still verifies what it signed before and nothing after.

The hub's rules are checked in-process (its own clock moved by hand); the office's side runs
against a hub served as a process of its own (`saraban hub serve`, the real clock), with the
nodes in-process and the commands an office's administrator types run as processes.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY, Clock
from test_cli import saraban
from test_hub_support import Hub, Office
from test_node_support import Node

from hub.admin.instance import init_hub
from hub.admin.tokens import issue_enrollment_token
from hub.store import HubStore
from node.context import SIGN_KEY_FILE
from node.records.directory import load_trusted
from node.records.sealed import office_seal_keys
from node.sync.enrolment import init_node
from node.sync.hubclient import HubClient, HubHTTPError
from node.sync.rekey import PENDING_KEY_FILE, PENDING_SEAL_FILE, rekey_node
from node.sync.verify import verify_office_envelope
from protocol.canonical import parse_canonical
from protocol.directory import accept_directory
from protocol.envelope import Envelope, sign_envelope
from protocol.errors import UnknownKey
from protocol.keys import (
    Signer,
    generate_seal_key,
    load_signer,
    make_keyid,
    public_key_from_b64,
    save_signer,
)
from protocol.sealing import seal_key_id
from scripts.fleet import STARTUP_TIMEOUT, free_ports, start_service

# -- the hub's rules, in-process ----------------------------------------------------------------


def rekey_request(office: Office, key: Signer, signer: Signer | None = None) -> Any:
    body = {"sign_keyid": key.keyid, "sign_public": key.public_b64()}
    return office.request("POST", "/rekey", body, signer=signer)


def directory_keys(answer: dict[str, Any], hub: Hub, office: str) -> dict[str, dict[str, Any]]:
    """The keys of ``office`` in the directory of a rekey answer, verified by the hub key."""
    with hub.store() as s:
        pins = {r["keyid"]: public_key_from_b64(r["public"]) for r in s.hub_keys()}
    trusted = accept_directory(Envelope.from_wire(answer["directory"]), pins, None)
    entry = trusted.office(office)
    assert entry is not None
    return {k["keyid"]: k for k in entry["keys"]}


def test_rekey_retires_the_signing_key_at_the_offices_last_seq(hub: Hub) -> None:
    cm = hub.office(CHIANG_MAI)
    first = [cm.letter([CHIANG_RAI], subject=f"ฉบับที่ {i}") for i in (1, 2)]
    assert [r["status"] for r in cm.push_ok(*first)] == ["accepted", "accepted"]
    old, new = cm.signer, Signer.generate(CHIANG_MAI, 2)

    answer = rekey_request(cm, new)
    assert answer.status == 200, answer.body
    assert answer.json["retired"] == {"keyid": old.keyid, "last_seq": 2}
    keys = directory_keys(answer.json, hub, CHIANG_MAI)
    assert keys[old.keyid]["status"] == "retired" and keys[old.keyid]["last_seq"] == 2
    assert keys[new.keyid]["status"] == "active"

    # The retired key signs no request, and nothing later than its last seq is taken.
    assert cm.request("POST", "/pull", {"cursor": None}).status == 401
    late = cm.letter([CHIANG_RAI], subject="ลงนามด้วยกุญแจที่เลิกใช้", advance=False)
    cm.signer = new
    [refused] = cm.push_ok(late)
    assert (refused["status"], refused["reason"]) == ("rejected", "unknown_key")
    body = json.loads(late.body)
    [taken] = cm.push_ok(sign_envelope("letter", body, new))
    assert taken["status"] == "accepted"
    assert rekey_request(cm, Signer.generate(CHIANG_MAI, 3), signer=old).status == 401


def test_a_new_key_takes_the_next_number_and_is_new(hub: Hub) -> None:
    cm = hub.office(CHIANG_MAI)
    skipped = Office(hub, CHIANG_MAI, key_no=3).enroll(hub.token(CHIANG_MAI))
    assert (skipped.status, skipped.json["error"], skipped.json["next_key_no"]) == (
        400,
        "bad_key_number",
        2,
    )
    again = rekey_request(cm, Signer(make_keyid(CHIANG_MAI, 2), cm.signer.private_key))
    assert again.status == 400 and "before" in again.json["reason"]
    taken = rekey_request(cm, Signer.generate(CHIANG_MAI, 1))
    assert (taken.status, taken.json["error"], taken.json["next_key_no"]) == (
        400,
        "bad_key_number",
        2,
    )
    assert hub.count("keys") == 1


def test_a_second_new_key_within_the_hour_is_refused_with_retry_after(
    hub: Hub, clock: Clock
) -> None:
    cm = hub.office(CHIANG_MAI)
    second = Signer.generate(CHIANG_MAI, 2)
    assert rekey_request(cm, second).status == 200  # right after enrolling: allowed
    cm.signer = second
    clock.advance(600)
    soon = rekey_request(cm, Signer.generate(CHIANG_MAI, 3))
    assert (soon.status, soon.json["error"], soon.headers["Retry-After"]) == (
        429,
        "rate_limited",
        "3001",
    )
    assert hub.count("keys") == 2
    clock.advance(3000)
    assert rekey_request(cm, Signer.generate(CHIANG_MAI, 3)).status == 200


def test_a_new_seal_key_comes_with_the_new_signing_key_in_the_directory(hub: Hub) -> None:
    cm = hub.office(CHIANG_MAI)
    enrolled = base64.b64encode(b"\x01" * 32).decode()
    new, seal = Signer.generate(CHIANG_MAI, 2), base64.b64encode(b"\x02" * 32).decode()
    body = {"sign_keyid": new.keyid, "sign_public": new.public_b64()}

    short = cm.request("POST", "/rekey", {**body, "seal_public": "AAAA"})
    assert short.status == 400 and "32 bytes" in short.json["reason"]
    same = cm.request("POST", "/rekey", {**body, "seal_public": enrolled})
    assert same.status == 400 and "seal key" in same.json["reason"]
    assert hub.count("keys") == 1  # refused whole: no signing key either

    answer = cm.request("POST", "/rekey", {**body, "seal_public": seal})
    assert answer.status == 200, answer.body
    with hub.store() as s:
        pins = {r["keyid"]: public_key_from_b64(r["public"]) for r in s.hub_keys()}
    trusted = accept_directory(Envelope.from_wire(answer.json["directory"]), pins, None)
    entry = trusted.office(CHIANG_MAI)
    assert entry is not None and entry["seal_public"] == seal


# -- the office's side, with the hub as a process ------------------------------------------------


@dataclass
class HubProcess:
    """A hub served by `saraban hub serve` on the real clock, and the nodes enrolled there."""

    instance: Path
    url: str
    root: Path
    nodes: dict[str, Node] = field(default_factory=dict)

    def token(self, office: str) -> str:
        return issue_enrollment_token(self.instance, office, 1)

    def node(self, office: str) -> Node:
        """The node of ``office``, enrolled at the first call."""
        if office not in self.nodes:
            instance = self.root / office.replace(" ", "_")
            init_node(instance, self.url, office, self.token(office))
            self.nodes[office] = Node(instance, time.time)  # type: ignore[arg-type]
        return self.nodes[office]

    def keys(self, office: str) -> dict[str, tuple[str, int | None]]:
        store = HubStore.open(self.instance / "hub.sqlite", create=False)
        try:
            return {k["keyid"]: (k["status"], k["retired_seq"]) for k in store.keys_of(office)}
        finally:
            store.close()


@pytest.fixture(scope="module")
def hub_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    root = tmp_path_factory.mktemp("rekey")
    instance = root / "hub"
    init_hub(instance)
    [port] = free_ports(1)
    url = f"http://127.0.0.1:{port}"
    argv = ["hub", "serve", "--instance", str(instance), "--port", str(port)]
    service = start_service("hub", argv, url, "/api/v1/health", root / "hub.log")
    try:
        service.wait_ready(time.monotonic() + STARTUP_TIMEOUT)
        yield HubProcess(instance, url, root)
    finally:
        service.stop()


def signed_letters(node: Node) -> dict[str, str]:
    """The subject of every letter in the node's mailbox, with the key id that signed it."""
    out = {}
    for row in node.rows("SELECT envelope FROM mailbox WHERE kind = 'letter'"):
        env = Envelope.from_bytes(row["envelope"])
        out[parse_canonical(env.body)["subject"]] = env.signatures[0].keyid
    return out


@pytest.mark.sqlite_only("a hub process the module's tests share")
def test_letters_signed_before_and_after_a_rekey_verify_at_the_recipient(
    hub_process: HubProcess,
) -> None:
    cm, cr = hub_process.node(CHIANG_MAI), hub_process.node(CHIANG_RAI)
    cm.send(recipients=[CHIANG_RAI], subject="ก่อนเปลี่ยนกุญแจ")
    assert cm.sync().ok
    pushed = max(r["seq"] for r in cm.rows("SELECT seq FROM feed"))
    cm.send(recipients=[CHIANG_RAI], subject="ค้างส่งระหว่างเปลี่ยนกุญแจ")  # queued under #1

    done = saraban("node", "rekey", "--instance", str(cm.instance))
    assert done.returncode == 0, done.stderr
    assert f"กุญแจใหม่ {CHIANG_MAI}#2" in done.stdout
    assert f"กุญแจเดิม {CHIANG_MAI}#1 เลิกใช้ (ใช้ตรวจได้เฉพาะที่ลงนามถึงลำดับที่ {pushed})" in (done.stdout)
    assert hub_process.keys(CHIANG_MAI) == {
        f"{CHIANG_MAI}#1": ("retired", pushed),
        f"{CHIANG_MAI}#2": ("active", None),
    }
    assert load_signer(cm.instance / SIGN_KEY_FILE).keyid == f"{CHIANG_MAI}#2"
    # The seal key is new too; the old one is kept by its key id for the letters sealed to it.
    assert "กุญแจปิดผนึกหนังสือลับใหม่" in done.stdout
    names = sorted(p.name for p in (cm.instance / "keys").iterdir())
    assert names[0].startswith("seal-") and names[1:] == ["seal.key", "sign.key"]

    # The node object made before the rekey signs with the new key from now on.
    cm.send(recipients=[CHIANG_RAI], subject="หลังเปลี่ยนกุญแจ")
    sent = cm.sync()
    assert sent.ok and sent.rejected == [], sent.error
    assert cm.call("GET", "/api/status")["outbox"] == 0
    got = cr.sync()
    assert (got.ok, got.held) == (True, 0), got.error
    assert signed_letters(cr) == {
        "ก่อนเปลี่ยนกุญแจ": f"{CHIANG_MAI}#1",
        "ค้างส่งระหว่างเปลี่ยนกุญแจ": f"{CHIANG_MAI}#2",
        "หลังเปลี่ยนกุญแจ": f"{CHIANG_MAI}#2",
    }
    assert {r["subject"] for r in cr.inbox()} == set(signed_letters(cr))
    assert cm.call("GET", "/api/status")["warnings"] == []
    assert cr.call("GET", "/api/status")["warnings"] == []


@pytest.mark.sqlite_only("a hub process the module's tests share")
def test_an_envelope_signed_by_the_retired_key_after_its_retirement_is_refused(
    hub_process: HubProcess,
) -> None:
    sender, recipient = hub_process.node(KHON_KAEN), hub_process.node(MINISTRY)
    sender.send(recipients=[MINISTRY], subject="ลงนามก่อนเลิกใช้กุญแจ")
    assert sender.sync().ok
    old = load_signer(sender.instance / SIGN_KEY_FILE)
    info = rekey_node(sender.instance)
    new = load_signer(sender.instance / SIGN_KEY_FILE)
    assert (info["keyid"], info["retired"]["keyid"], info["resumed"]) == (
        new.keyid,
        old.keyid,
        False,
    )
    last_seq = info["retired"]["last_seq"]
    [row] = sender.rows(
        "SELECT envelope FROM feed WHERE kind = 'letter' AND seq <= ? ORDER BY seq", (last_seq,)
    )
    before = Envelope.from_bytes(row["envelope"])
    head = sender.rows("SELECT env_id FROM feed WHERE seq = ?", (last_seq,))[0]["env_id"]
    body = {**parse_canonical(before.body), "seq": last_seq + 1, "prev": head}
    forged = sign_envelope("letter", {**body, "subject": "ลงนามหลังเลิกใช้กุญแจ"}, old)

    # The hub: refused in a push signed by the new key, and nothing is stored.
    client = HubClient(hub_process.url, new, time.time)
    try:
        [result] = client.push([forged.to_wire()])["results"]
        assert (result["status"], result["reason"]) == ("rejected", "unknown_key")
        assert client.highwater()["feed"]["seq"] == last_seq
    finally:
        client.close()
    stale = HubClient(hub_process.url, old, time.time)
    try:
        with pytest.raises(HubHTTPError) as refused:
            stale.highwater()
        assert (refused.value.status, refused.value.error) == (401, "bad_request_signature")
    finally:
        stale.close()

    # A recipient: what the old key signed before verifies, what it signed after does not.
    assert recipient.sync().ok
    with recipient.store() as s:
        trusted = load_trusted(s)
    assert trusted is not None
    assert verify_office_envelope(before, trusted).subject == "ลงนามก่อนเลิกใช้กุญแจ"
    with pytest.raises(UnknownKey):
        verify_office_envelope(forged, trusted)
    assert [r["subject"] for r in recipient.inbox()] == ["ลงนามก่อนเลิกใช้กุญแจ"]


@pytest.mark.sqlite_only("a hub process the module's tests share")
def test_an_office_that_lost_its_key_reenrolls_with_a_token_and_its_old_copy_is_refused(
    hub_process: HubProcess,
) -> None:
    office = "นม 0017"
    node, recipient = hub_process.node(office), hub_process.node(CHIANG_RAI)
    node.send(recipients=[CHIANG_RAI], subject="ก่อนกุญแจหาย")
    assert node.sync().ok
    node.send(recipients=[CHIANG_RAI], subject="ค้างส่งตอนกุญแจหาย")
    copy = hub_process.root / "old-copy-of-นม"
    shutil.copytree(node.instance, copy)
    shutil.rmtree(node.instance / "keys")  # the key is lost

    proc = saraban(
        "node", "init", "--reenroll", "--token", "-", "--instance", str(node.instance),
        stdin=hub_process.token(office) + "\n",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        f"node {office} re-enrolled at {hub_process.url} with key {office}#2"
        " (the old key is retired)"
    )
    assert hub_process.keys(office)[f"{office}#1"][0] == "retired"
    again = Node(node.instance, time.time)  # type: ignore[arg-type]
    assert again.sync().ok
    assert again.call("GET", "/api/status")["outbox"] == 0
    assert recipient.sync().ok
    letters = signed_letters(recipient)
    assert letters["ก่อนกุญแจหาย"] == f"{office}#1"
    assert letters["ค้างส่งตอนกุญแจหาย"] == f"{office}#2"

    # The copy from before still holds key #1: the hub refuses it, and it says what to do.
    old_copy = Node(copy, time.time)  # type: ignore[arg-type]
    failed = old_copy.sync()
    assert (failed.ok, failed.error_code) == (False, "key_refused")
    [warning] = old_copy.call("GET", "/api/status")["warnings"]
    assert f"กุญแจ {office}#1" in warning and "saraban node init --reenroll" in warning
    refused = saraban("node", "rekey", "--instance", str(copy))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr


@pytest.mark.sqlite_only("a hub process the module's tests share")
def test_a_rekey_cut_off_after_the_hub_took_the_key_is_finished_by_running_it_again(
    hub_process: HubProcess,
) -> None:
    node = hub_process.node("อย 0017")
    current = load_signer(node.instance / SIGN_KEY_FILE)
    pending = Signer.generate(current.office, 2)
    save_signer(pending, node.instance / PENDING_KEY_FILE)
    client = HubClient(hub_process.url, current, time.time)
    try:  # the hub takes it; the answer never reaches the node
        client.rekey({"sign_keyid": pending.keyid, "sign_public": pending.public_b64()})
    finally:
        client.close()
    assert node.sync().error_code == "key_refused"

    info = rekey_node(node.instance)
    assert (info["keyid"], info["resumed"]) == (pending.keyid, True)
    assert load_signer(node.instance / SIGN_KEY_FILE).keyid == pending.keyid
    assert not (node.instance / PENDING_KEY_FILE).exists()
    assert node.sync().ok


@pytest.mark.sqlite_only("a hub process the module's tests share")
def test_a_new_seal_key_the_hub_published_before_the_answer_was_lost_is_adopted(
    hub_process: HubProcess,
) -> None:
    node = hub_process.node("อบ 0017")
    keys = node.instance / "keys"
    old_seal = set(office_seal_keys(node.ctx))
    current = load_signer(node.instance / SIGN_KEY_FILE)
    pending = Signer.generate(current.office, 2)
    save_signer(pending, node.instance / PENDING_KEY_FILE)
    seal_public = generate_seal_key(node.instance / PENDING_SEAL_FILE)
    client = HubClient(hub_process.url, current, time.time)
    try:  # the hub takes both; the answer never reaches the node
        client.rekey(
            {
                "sign_keyid": pending.keyid,
                "sign_public": pending.public_b64(),
                "seal_public": seal_public,
            }
        )
    finally:
        client.close()
    # Meanwhile a letter sealed to the published key opens: the pending key is among the
    # office's keys.
    assert set(office_seal_keys(node.ctx)) == old_seal | {seal_key_id(seal_public)}

    info = rekey_node(node.instance)
    assert (info["keyid"], info["seal_keyid"], info["resumed"]) == (
        pending.keyid,
        seal_key_id(seal_public),
        True,
    )
    assert sorted(p.name for p in keys.iterdir()) == sorted(
        [f"seal-{old_seal.pop()}.key", "seal.key", "sign.key"]
    )
    assert node.sync().ok


@pytest.mark.sqlite_only("a hub process the module's tests share")
def test_a_new_key_the_hub_never_saw_is_thrown_away_and_made_again(
    hub_process: HubProcess,
) -> None:
    node = hub_process.node("ลบ 0017")
    lost = Signer.generate("ลบ 0017", 2)
    save_signer(lost, node.instance / PENDING_KEY_FILE)
    info = rekey_node(node.instance)
    assert (info["keyid"], info["resumed"]) == ("ลบ 0017#2", False)
    assert load_signer(node.instance / SIGN_KEY_FILE).public_b64() != lost.public_b64()
    assert node.sync().ok


@pytest.mark.sqlite_only("a hub process the module's tests share")
def test_an_office_that_lost_its_whole_folder_reenrolls_and_gets_its_letters_back(
    hub_process: HubProcess,
) -> None:
    office = "ฉช 0017"
    node = hub_process.node(office)
    node.send(recipients=[CHIANG_RAI], subject="ลงนามด้วยกุญแจที่ 1")
    assert node.sync().ok
    assert rekey_node(node.instance)["keyid"] == f"{office}#2"
    node.send(recipients=[CHIANG_RAI], subject="ลงนามด้วยกุญแจที่ 2")
    assert node.sync().ok
    shutil.rmtree(node.instance)  # the machine is gone, and the folder with it

    # Nothing tells the new folder that key #2 exists: the hub names the next number.
    token = hub_process.token(office)
    info = init_node(node.instance, hub_process.url, office, token, reenroll=True)
    assert info["keyid"] == f"{office}#3"
    assert [s for s, _ in hub_process.keys(office).values()] == ["retired", "retired", "active"]
    rebuilt = Node(node.instance, time.time)  # type: ignore[arg-type]
    assert rebuilt.sync().ok  # its own feed comes back, signed by keys #1 and #2
    sent = rebuilt.call("GET", "/api/letters?box=sent")["letters"]
    assert sorted(letter["subject"] for letter in sent) == [
        "ลงนามด้วยกุญแจที่ 1",
        "ลงนามด้วยกุญแจที่ 2",
    ]
