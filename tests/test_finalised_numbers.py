"""A provisional number the hub makes final reaches every recipient of the letter that
carried it: a real hub and two nodes over loopback HTTP. At the recipient the inbox, the
letter's page, the receipt register on screen and printed, and search show the final
number; search finds the letter by the provisional number too; the notice applied twice
changes nothing; the เลขรับ never changes. The hub-signed notice, and what an older or a
newer peer makes of it, are checked on their own."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from pypdf import PdfReader
from support import CHIANG_MAI, CHIANG_RAI, MINISTRY
from test_node_support import Federation, Node, closed_port_url
from web_support import add_users, login

from hub.admin.reports import numbering_report
from hub.store import open_store
from node.records.directory import pinned_keys
from node.records.leases import apply_lease
from node.sync.verify import verify_hub_envelope
from protocol.canonical import parse_canonical
from protocol.envelope import Envelope
from protocol.errors import BadMessage
from protocol.hub_messages import Lease, finalised_display

PROVISIONAL = "มท 0200/ว (ชั่วคราว 1)"
SUBJECT = "ขอเชิญประชุมเตรียมการรับมืออุทกภัย"
SHARED = f"{MINISTRY}|ว|2569"
FINALISATION = "SELECT envelope FROM mailbox WHERE kind = 'lease' AND outcome LIKE 'finalised %'"


def offices_sharing_circulars(fed: Federation) -> tuple[Node, Node]:
    """เชียงใหม่ (whose lease holds two numbers) and เชียงราย, both members of the
    ministry's shared ว register; เชียงใหม่ has taken its first lease and gone offline."""
    fed.share(MINISTRY, "ว", [CHIANG_MAI, CHIANG_RAI])
    cm = fed.node(CHIANG_MAI, LEASE_SIZE=2)
    cr = fed.node(CHIANG_RAI)
    add_users(cr)
    assert cm.sync().ok
    cm.set_hub_url(closed_port_url())
    return cm, cr


def back_online(fed: Federation, cm: Node) -> str:
    """เชียงใหม่ syncs until the hub has made its provisional number final; the final one."""
    cm.set_hub_url(fed.url)
    for _ in range(2):
        assert cm.sync().ok
    assert cm.call("GET", "/api/status")["provisional_pending"] == 0
    sent = {r["subject"]: r for r in cm.call("GET", "/api/letters?box=sent")["letters"]}
    final = str(sent[SUBJECT]["number"])
    assert final == finalised_display(PROVISIONAL, int(final.rsplit(" ", 1)[1]))
    return final


def received(node: Node) -> dict[str, Any]:
    return next(r for r in node.inbox() if r["subject"] == SUBJECT)


def search_ids(node: Node, text: str) -> list[int]:
    answer = node.call("GET", f"/api/search?{urlencode({'q': text})}")
    return [int(hit["id"]) for hit in answer["items"]]


def pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def what_the_recipient_holds(node: Node) -> dict[str, Any]:
    return {
        "letters": node.rows("SELECT * FROM letters ORDER BY id"),
        "aliases": node.rows("SELECT * FROM letter_number_aliases ORDER BY letter"),
        "audit": node.rows("SELECT action, subject, detail FROM audit ORDER BY id"),
        "feed": node.rows("SELECT env_id FROM feed ORDER BY seq"),
    }


def test_recipient_shows_the_final_number_everywhere_and_finds_both(fed: Federation) -> None:
    cm, cr = offices_sharing_circulars(fed)
    cm.send(recipients=[CHIANG_RAI], series="ว", subject="หนังสือเวียนฉบับแรก")
    cm.send(recipients=[CHIANG_RAI], series="ว", subject="หนังสือเวียนฉบับที่สอง")
    sent = cm.send(recipients=[CHIANG_RAI], series="ว", subject=SUBJECT)
    assert sent["number"] == PROVISIONAL and sent["provisional"]
    final = back_online(fed, cm)
    hub = open_store(fed.hub_app.config["DATABASE"])
    try:
        # เชียงราย has not pulled yet: only เชียงใหม่'s own finalisation counts as pending.
        report = next(r for r in numbering_report(hub) if r["register"] == SHARED)
        assert report["provisional_pending"] == 0
        assert hub.pending_finalisations(CHIANG_RAI) == 0
    finally:
        hub.close()

    assert cr.sync().ok
    letter = received(cr)
    assert letter["number"] == final
    notice = f"เลขชั่วคราว {PROVISIONAL} ได้รับเลขจริงเป็น {final}"
    assert letter["number_notice"] == notice
    outcomes = [r["outcome"] for r in cr.rows("SELECT outcome FROM mailbox WHERE kind = 'lease'")]
    assert f"finalised {final}" in outcomes

    stamp = cr.call("POST", f"/api/letters/{letter['id']}/register", {})
    clerk = login(cr)
    inbox = clerk.get("/letters/inbox?state=all").get_data(as_text=True)
    assert final in inbox and "ชั่วคราว" not in inbox
    page = clerk.get(f"/letters/{letter['id']}").get_data(as_text=True)
    assert f"<dt>ที่</dt><dd>{final}" in page and notice in page
    assert f"เลขรับ {stamp['receipt_number']}" in page
    register = clerk.get("/registers?series=รับ&year=2569&month=11").get_data(as_text=True)
    assert SUBJECT in register and final in register and "ชั่วคราว" not in register
    printed = clerk.get(f"/registers/file?series={quote('รับ')}&year=2569&month=11&format=pdf")
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    text = pdf_text(printed.data)
    assert SUBJECT in text and final.replace(" ", "") in text and "ชั่วคราว" not in text

    # Found by the final number, the provisional one a clerk wrote down, and a fragment.
    assert search_ids(cr, final) == [letter["id"]]
    assert search_ids(cr, PROVISIONAL) == [letter["id"]]
    assert search_ids(cr, "มท0200/ว(ชั่วคราว๑)") == [letter["id"]]
    assert letter["id"] in search_ids(cr, "ว " + final.rsplit(" ", 1)[1])
    found = clerk.get(f"/search?{urlencode({'q': PROVISIONAL})}").get_data(as_text=True)
    assert SUBJECT in found and final in found

    # The sender finds its own letter by either number, and sees เชียงราย's เลขรับ.
    assert cr.sync().ok and cm.sync().ok
    own = next(
        r for r in cm.call("GET", "/api/letters?box=sent")["letters"] if r["subject"] == SUBJECT
    )
    assert search_ids(cm, PROVISIONAL) == search_ids(cm, final) == [own["id"]]
    tracking = cm.call("GET", f"/api/letters/{own['id']}")["tracking"]
    assert [(t["office"], t["receipt_number"]) for t in tracking] == [
        (CHIANG_RAI, stamp["receipt_number"])
    ]


def test_the_notice_applied_twice_changes_nothing(fed: Federation) -> None:
    cm, cr = offices_sharing_circulars(fed)
    for subject in ("หนังสือเวียนฉบับแรก", "หนังสือเวียนฉบับที่สอง", SUBJECT):
        cm.send(recipients=[CHIANG_RAI], series="ว", subject=subject)
    final = back_online(fed, cm)
    assert cr.sync().ok
    letter = received(cr)
    stamp = cr.call("POST", f"/api/letters/{letter['id']}/register", {})
    before = what_the_recipient_holds(cr)
    [row] = cr.rows(FINALISATION)
    env = Envelope.from_bytes(row["envelope"])
    [carrier] = cr.rows("SELECT env_id FROM letters WHERE id = ?", (letter["id"],))
    with cr.store() as store, store.transaction():
        lease = verify_hub_envelope(env, pinned_keys(store))
        assert isinstance(lease, Lease) and lease.letter == carrier["env_id"]
        assert apply_lease(cr.ctx, store, env, lease, cr.clock()) == "duplicate"
    # and pulled again from the start, after a lost cursor
    with cr.store() as store, store.transaction():
        store.execute("UPDATE sync_state SET cursor = 'not-a-cursor' WHERE id = 1")
    assert cr.sync().ok
    after = what_the_recipient_holds(cr)
    assert after == before
    assert received(cr)["number"] == final
    assert received(cr)["receipt_number"] == stamp["receipt_number"]


def test_letter_numbered_then_dispatched_offline_is_followed_by_its_finalisation(
    fed: Federation,
) -> None:
    """ออกเลข and ส่ง as two steps: the register entry names no letter and reaches the hub
    first, so the finalisation is made before the letter is routed, and follows it."""
    cm, cr = offices_sharing_circulars(fed)
    for subject in ("หนังสือเวียนฉบับแรก", "หนังสือเวียนฉบับที่สอง"):
        cm.send(recipients=[CHIANG_RAI], series="ว", subject=subject)
    draft = cm.call(
        "POST", "/api/drafts", {"subject": SUBJECT, "recipients": [CHIANG_RAI], "series": "ว"}, 201
    )
    numbered = cm.call("POST", f"/api/letters/{draft['id']}/number", {})
    assert numbered["number"] == PROVISIONAL
    cm.call("POST", f"/api/letters/{draft['id']}/dispatch", {})
    final = back_online(fed, cm)
    assert cr.sync().ok
    letter = received(cr)
    assert letter["number"] == final
    assert letter["number_notice"] == f"เลขชั่วคราว {PROVISIONAL} ได้รับเลขจริงเป็น {final}"
    assert search_ids(cr, PROVISIONAL) == search_ids(cr, final) == [letter["id"]]
    [lease_row] = cr.rows(FINALISATION)
    body = Lease.from_dict(parse_canonical(Envelope.from_bytes(lease_row["envelope"]).body))
    assert (body.letter, body.provisional_display, body.display) == (None, PROVISIONAL, final)


# -- the notice itself ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provisional", "number", "final"),
    [
        ("มท 0200/ว (ชั่วคราว 1)", 183, "มท 0200/ว 183"),
        ("ชม 0017/(ชั่วคราว 3)", 12, "ชม 0017/12"),
        ("คำสั่งจังหวัดเชียงใหม่ ที่ (ชั่วคราว 2)/2569", 45, "คำสั่งจังหวัดเชียงใหม่ ที่ 45/2569"),
        ("มท 0200/ว 7", 183, None),  # already final
        ("(ชั่วคราว 3)", 4, None),  # a receipt register's provisional number
        ("ไม่ใช่เลขหนังสือ", 4, None),
    ],
)
def test_final_display_keeps_the_code_and_takes_the_number(
    provisional: str, number: int, final: str | None
) -> None:
    assert finalised_display(provisional, number) == final


OLD_FINALISATION = {
    "v": 1,
    "office": CHIANG_MAI,
    "register": SHARED,
    "action": "finalise",
    "start": None,
    "end": None,
    "provisional_id": f"{CHIANG_MAI}:{SHARED}:1",
    "number": 3,
    "at": "2026-11-18T11:06:40Z",
}


def test_a_finalisation_signed_before_the_letter_fields_still_reads() -> None:
    lease = Lease.from_dict(OLD_FINALISATION)
    assert (lease.letter, lease.provisional_display, lease.display) == (None, None, None)


BAD_LEASES = {
    "grant_naming_a_letter": {
        **OLD_FINALISATION,
        "action": "grant",
        "start": 1,
        "end": 2,
        "letter": "a" * 64,
    },
    "letter_not_an_env_id": {**OLD_FINALISATION, "letter": "ว 183"},
    "display_not_text": {**OLD_FINALISATION, "display": 183},
}


@pytest.mark.parametrize("body", BAD_LEASES.values(), ids=BAD_LEASES.keys())
def test_malformed_finalisation_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(BadMessage):
        Lease.from_dict(body)
