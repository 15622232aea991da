"""The hub as numbering authority: duplicates, leases, provisional numbers and the report."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY, Clock
from test_hub_support import Hub, Office

from hub.admin.offices import add_shared_register
from hub.admin.reports import numbering_report
from protocol.envelope import Envelope, verify_envelope
from protocol.hub_messages import Lease
from protocol.keys import public_key_from_b64

OWN = f"{CHIANG_MAI}|ส่ง|2569"
SHARED = f"{MINISTRY}|ว|2569"


@pytest.fixture
def hub(tmp_path: Path, clock: Clock) -> Hub:
    h = Hub(tmp_path, clock)
    add_shared_register(h.app, MINISTRY, "ว", [CHIANG_MAI, CHIANG_RAI], now=clock())
    return h


@pytest.fixture
def cm(hub: Hub) -> Office:
    return hub.office(CHIANG_MAI)


@pytest.fixture
def cr(hub: Hub) -> Office:
    return hub.office(CHIANG_RAI)


def lease_of(hub: Hub, wire: dict[str, object]) -> Lease:
    with hub.store() as s:
        keys = {r["keyid"]: public_key_from_b64(r["public"]) for r in s.hub_keys()}
    _, body = verify_envelope(Envelope.from_wire(wire), keys.get)
    return Lease.from_dict(body)


def report_of(hub: Hub, register: str) -> dict[str, object]:
    with hub.store() as s:
        return next(r for r in numbering_report(s) if r["register"] == register)


def test_owned_register_numbers_are_recorded(hub: Hub, cm: Office) -> None:
    results = cm.push_ok(*[cm.register_entry(OWN, n) for n in (1, 2, 3)])
    assert [r["status"] for r in results] == ["accepted"] * 3
    high = cm.request("GET", "/highwater").json
    assert high["registers"] == {OWN: 3}


def test_duplicate_number_is_rejected_and_counted(hub: Hub, cm: Office) -> None:
    cm.push_ok(cm.register_entry(OWN, 1))
    dup = cm.register_entry(OWN, 1)
    results = cm.push_ok(dup)
    assert (results[0]["status"], results[0]["reason"]) == ("rejected", "duplicate_number")
    assert hub.count("ledger") == 1
    assert hub.count("feed") == 1
    assert report_of(hub, OWN)["duplicates"] == 1


def test_office_cannot_write_another_offices_register(hub: Hub, cm: Office, cr: Office) -> None:
    results = cr.push_ok(cr.register_entry(OWN, 9))
    assert results[0]["reason"] == "not_your_register"
    assert cm.push_ok(cm.register_entry(f"{CHIANG_MAI}.3|ส่ง|2569", 1))[0]["status"] == "accepted"


def test_lease_grants_the_next_block_and_lands_in_the_mailbox(
    hub: Hub, cm: Office, cr: Office
) -> None:
    first = cm.request("POST", "/lease", {"register": SHARED, "count": 10})
    assert first.status == 200, first.body
    grant = lease_of(hub, first.json["lease"])
    assert (grant.action, grant.office, grant.start, grant.end) == ("grant", CHIANG_MAI, 1, 10)
    second = lease_of(
        hub, cr.request("POST", "/lease", {"register": SHARED, "count": 5}).json["lease"]
    )
    assert (second.start, second.end) == (11, 15)
    mailbox = cm.pull_all()
    assert [e.env_id for e in mailbox] == [Envelope.from_wire(first.json["lease"]).env_id]


def test_lease_of_an_owned_register_or_by_a_non_member_is_refused(hub: Hub, cm: Office) -> None:
    owned = cm.request("POST", "/lease", {"register": OWN, "count": 10})
    assert owned.status == 403
    khon_kaen = hub.office(KHON_KAEN)
    outsider = khon_kaen.request("POST", "/lease", {"register": SHARED, "count": 10})
    assert (outsider.status, outsider.json["error"]) == (403, "not_your_register")
    too_many = cm.request("POST", "/lease", {"register": SHARED, "count": 100_000})
    assert too_many.status == 400
    assert hub.count("leases") == 0


def test_number_outside_the_offices_lease_is_rejected(hub: Hub, cm: Office, cr: Office) -> None:
    cm.request("POST", "/lease", {"register": SHARED, "count": 10})
    cr.request("POST", "/lease", {"register": SHARED, "count": 10})
    assert cm.push_ok(cm.register_entry(SHARED, 3))[0]["status"] == "accepted"
    results = cm.push_ok(cm.register_entry(SHARED, 12))
    assert results[0]["reason"] == "number_not_leased"
    assert cr.push_ok(cr.register_entry(SHARED, 12))[0]["status"] == "accepted"


def test_provisional_number_is_finalised_with_a_lease_in_the_mailbox(hub: Hub, cm: Office) -> None:
    cm.request("POST", "/lease", {"register": SHARED, "count": 2})
    cm.pull_all()
    provisional = cm.register_entry(SHARED, None, provisional=True, provisional_id="p-1")
    result = cm.push_ok(provisional)[0]
    assert result["status"] == "accepted"
    assert "finalised as 3" in result["detail"]
    assert report_of(hub, SHARED)["provisional_pending"] == 1
    pulled = cm.pull_all()
    assert len(pulled) == 1
    final = lease_of(hub, pulled[0].to_wire())
    assert (final.action, final.provisional_id, final.number) == ("finalise", "p-1", 3)
    cm.pull(cm.cursor)  # confirms what it pulled
    assert report_of(hub, SHARED)["provisional_pending"] == 0
    next_lease = lease_of(
        hub, cm.request("POST", "/lease", {"register": SHARED, "count": 1}).json["lease"]
    )
    assert next_lease.start == 4


def test_report_shows_gaps_voided_and_leased_unused(hub: Hub, cm: Office) -> None:
    cm.push_ok(
        cm.register_entry(OWN, 1),
        cm.register_entry(OWN, 2),
        cm.register_entry(OWN, 2, action="voided", reason="พิมพ์ผิด"),
        cm.register_entry(OWN, 5),
    )
    row = report_of(hub, OWN)
    assert row["issued"] == 3
    assert row["voided"] == 1
    assert (row["gaps"], row["gap_count"]) == ([[3, 4]], 2)
    cm.request("POST", "/lease", {"register": SHARED, "count": 10})
    cm.push_ok(cm.register_entry(SHARED, 1), cm.register_entry(SHARED, 2))
    shared = report_of(hub, SHARED)
    assert (shared["gaps"], shared["leased_unused"], shared["shared"]) == ([], 8, True)


def test_register_digests_match_the_pushed_entries(hub: Hub, cm: Office) -> None:
    from protocol.api import register_digest

    entries = [cm.register_entry(OWN, n) for n in (1, 2)]
    cm.push_ok(*entries)
    digests = cm.request("GET", "/registers/digests").json["registers"]
    assert digests == {OWN: {"count": 2, "digest": register_digest(e.env_id for e in entries)}}
