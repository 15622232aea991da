"""What the fault scenarios share: the offices they name, and what a whole office looks
like at the end of the day (nothing lost, nothing twice, every letter answered)."""

from __future__ import annotations

import json
import time
from typing import Any

from node.context import NodeContext
from node.sync.hubclient import HubClient
from scripts.faults.federation import FaultFederation, read_rows
from scripts.nodeapi import NodeAPIError

SENDER = "มท 0200"
RECIPIENTS = ("ชม 0017", "ขก 0017")
OFFICES = (SENDER, *RECIPIENTS)


def send_circulars(
    fed: FaultFederation, office: str, count: int, to: str = RECIPIENTS[1]
) -> dict[int, str]:
    """Letters numbered from the shared ว register, to ``to``; ``{letter id: env_id}``."""
    api = fed.api(office)
    sent: dict[int, str] = {}
    for i in range(count):
        letter = {
            "subject": f"หนังสือเวียนเลขร่วม ฉบับที่ {i + 1} จาก {office}",
            "recipients": [to],
            "salutation": "เรียน ผู้ว่าราชการจังหวัด",
            "body": "ทดสอบการออกเลขจากทะเบียนร่วม",
            "series": "ว",
        }
        answer = api.call("POST", "/api/letters", letter)
        sent[int(answer["id"])] = str(answer["env_id"])
    return sent


def assert_whole(report: dict[str, Any], *, letters: int, deliveries: int) -> None:
    """The checker found nothing, and every letter reached every addressee once and was
    answered once."""
    assert report["violations"] == [], "\n".join(report["violations"])
    assert (report["letters"], report["letters_sent"]) == (letters, letters)
    assert report["deliveries_expected"] == deliveries
    assert (report["deliveries"], report["deliveries_done"]) == (deliveries, deliveries)
    assert (report["lost"], report["duplicated"], report["numbers_reissued"]) == (0, 0, 0)
    assert report["receipts_registered"] + report["receipts_returned"] == deliveries


def assert_tracking_registered(fed: FaultFederation, sender: str, sent: dict[int, str]) -> None:
    """The sender's clerk sees every recipient of every letter as registered (ลงรับแล้ว)."""
    api = fed.api(sender)
    for letter_id in sent:
        tracking = api.call("GET", f"/api/letters/{letter_id}")["tracking"]
        states = {t["office"]: t["state"] for t in tracking}
        assert set(states.values()) == {"registered"}, (letter_id, states)


def sync_answer(fed: FaultFederation, office: str) -> dict[str, Any]:
    """What the clerk sees after pressing sync: the result, or the node's error answer."""
    try:
        return fed.sync(office)
    except NodeAPIError as e:
        return {"ok": False, "error": str(e), "status": e.status}


def finish_and_check(
    fed: FaultFederation, sent: dict[str, dict[int, str]], recipients: dict[str, tuple[str, ...]]
) -> dict[str, Any]:
    """End the day and check it: ``sent`` is each sender's ``{letter id: env_id}``,
    ``recipients`` each sender's addressees."""
    report = fed.finish_day()
    letters = sum(len(s) for s in sent.values())
    deliveries = sum(len(s) * len(recipients[o]) for o, s in sent.items())
    assert_whole(report, letters=letters, deliveries=deliveries)
    for office, letters_sent in sent.items():
        assert_tracking_registered(fed, office, letters_sent)
        assert fed.status(office)["outbox"] == 0
    return report


def office_client(fed: FaultFederation, office: str) -> HubClient:
    """The hub's API as ``office`` (its own key), through its link: a second sender of the
    office's envelopes, as a replayed or misbehaving copy of its node would be."""
    ctx = NodeContext.load(fed.instance(office))
    return HubClient(fed.proxies[office].url, ctx.signer, time.time)


def outbox_wire(fed: FaultFederation, office: str, kind: str | None = None) -> list[Any]:
    """The office's own envelopes in feed order, as pushed."""
    rows = read_rows(fed.node_db(office), "SELECT kind, envelope FROM feed ORDER BY seq")
    return [json.loads(env) for k, env in rows if kind is None or k == kind]
