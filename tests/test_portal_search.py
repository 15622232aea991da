"""The portal's search over the letters a hub accepted (ADR 0024): offices push letters to
a hub served as a process of its own (`saraban hub serve`, the real clock), and the search
finds them by a Thai word in the body, a two-character word, a number in Thai digits with
odd spacing, the provisional and the final number, a Buddhist-era date range; an office
never sees another office's letter, the ministry sees tracking but not content, a sealed
letter's content is nowhere in the hub's files; a hub database from before the index is
indexed from its feed when the hub starts.

The offices are stand-ins that sign and push their envelopes themselves
(tests/test_hub_support.py); the search runs on the hub's database file as the portal's
pages will.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY, Clock
from test_hub_support import Answer, Hub, Office

from hub.admin.instance import init_hub
from hub.admin.offices import add_shared_register
from hub.admin.tokens import issue_enrollment_token
from hub.federation.exchanges import BUSY_BATCH, QUIET_SECONDS, Exchanges
from hub.federation.letter_index import backfill_step, catch_up, follow_step, index_pending
from hub.jobs import keep_portal_index
from hub.portal.search import PortalQuery, PortalQueryError, PortalRow, Scope, search
from hub.store import HubStore, open_store
from hub.store.portal_letters_schema import PORTAL_INDEX_SETTINGS
from protocol.envelope import Envelope
from protocol.keys import b64encode
from protocol.sealing import SEALED_SUBJECT, ContentKey, seal_letter
from scripts.fleet import Service, free_ports, start_service

MEETING = "ขอเชิญประชุมเตรียมการรับมืออุทกภัย"
BUDGET = "รายงานผลการเบิกจ่ายงบประมาณ"
RULES = "ระเบียบกระทรวงมหาดไทยว่าด้วยงานสารบรรณ"
CIRCULAR = "แจ้งแนวทางการจัดงานวันท้องถิ่นไทย"
SIGNED_LATER = "ขอส่งสำเนาคำสั่งแต่งตั้งคณะทำงาน"
SECRET_SUBJECT = "แผนเคลื่อนย้ายกำลังพลชายแดนลับเฉพาะ"
SECRET_BODY = "รหัสปฏิบัติการนกอินทรีย์เหล็กกล้า"
SHARED = f"{MINISTRY}|ว|2569"
PROVISIONAL = "มท 0200/ว (ชั่วคราว 1)"
PROVISIONAL_LATER = "มท 0200/ว (ชั่วคราว 2)"


class HubProcess:
    """What :class:`Office` needs of a hub, for a hub process on ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url

    def clock(self) -> float:
        return time.time()

    def send(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        r = requests.request(method, self.url + path, data=body, headers=headers, timeout=60)
        return Answer(r.status_code, dict(r.headers), r.content)


def serve_hub(instance: Path, logs: Path) -> tuple[Service, str]:
    """`saraban hub serve` on ``instance``, ready."""
    port = free_ports(1)[0]
    url = f"http://127.0.0.1:{port}"
    argv = ["hub", "serve", "--instance", str(instance), "--port", str(port)]
    service = start_service("hub", argv, url, "/api/v1/health", logs / "hub.log")
    service.wait_ready(time.monotonic() + 60)
    return service, url


def sealed_fields(recipients: list[str]) -> dict[str, Any]:
    public = b64encode(X25519PrivateKey.generate().public_key().public_bytes_raw())
    sealed = seal_letter(
        ContentKey.fresh(),
        {"subject": SECRET_SUBJECT, "body": SECRET_BODY},
        sender=CHIANG_MAI,
        recipients=dict.fromkeys(recipients, public),
    )
    return {"subject": SEALED_SUBJECT, "body": "", "salutation": "", "sealed": sealed}


@dataclass
class Served:
    instance: Path
    offices: dict[str, Office]
    letters: dict[str, Envelope]
    final: str
    final_later: str

    def store(self) -> HubStore:
        return open_store(self.instance / "hub.sqlite", create=False)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A hub process to which four offices pushed the letters of this module."""
    tmp = tmp_path_factory.mktemp("portal")
    instance = tmp / "hub"
    init_hub(instance)
    add_shared_register(instance, MINISTRY, "ว", [CHIANG_MAI, CHIANG_RAI])
    service, url = serve_hub(instance, tmp)
    try:
        offices = {}
        for office_id in (CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY):
            office = offices[office_id] = Office(HubProcess(url), office_id)  # type: ignore[arg-type]
            assert office.enroll(issue_enrollment_token(instance, office_id)).status == 200
        cm, kk, mt = offices[CHIANG_MAI], offices[KHON_KAEN], offices[MINISTRY]
        letters = {
            MEETING: cm.letter(
                [CHIANG_RAI],
                subject=MEETING,
                body="ด้วยจังหวัดเชียงใหม่ขอเชิญประชุม ณ ห้องประชุมศาลากลางจังหวัด",
                number="ชม 0017.3/ว 456",
                letter_date="18 พฤศจิกายน 2569",
            ),
            SECRET_SUBJECT: cm.letter([CHIANG_RAI], secrecy="ลับ", **sealed_fields([CHIANG_RAI])),
        }
        provisional = cm.letter([CHIANG_RAI], subject=CIRCULAR, number=PROVISIONAL, register=SHARED)
        entry = cm.register_entry(
            SHARED, None, provisional=True, provisional_id="cm-1", display=PROVISIONAL,
            letter=provisional.env_id,
        )  # fmt: skip
        # Numbered, then dispatched: the hub makes the number final before the letter comes.
        entry_first = cm.register_entry(
            SHARED, None, provisional=True, provisional_id="cm-2", display=PROVISIONAL_LATER
        )
        dispatched = cm.letter(
            [CHIANG_RAI], subject=SIGNED_LATER, number=PROVISIONAL_LATER, register=SHARED
        )
        letters.update({CIRCULAR: provisional, SIGNED_LATER: dispatched})
        results = cm.push_ok(letters[MEETING], letters[SECRET_SUBJECT], provisional, entry)
        results += cm.push_ok(entry_first, dispatched)
        letters[BUDGET] = kk.letter(
            [MINISTRY],
            subject=BUDGET,
            body="ฝนตกหนักทำให้การเบิกจ่ายงบประมาณล่าช้า",
            number="ขก 0017.2/1234",
            letter_date="2 ธันวาคม 2569",
        )
        results += kk.push_ok(letters[BUDGET])
        letters[RULES] = mt.letter(
            [CHIANG_MAI, KHON_KAEN],
            subject=RULES,
            body="ให้ทุกหน่วยงานถือปฏิบัติตามระเบียบนี้",
            number="มท 0200/ว 77",
            letter_date="5 ธันวาคม 2569",
            library=True,
        )
        results += mt.push_ok(letters[RULES])
        assert {r["status"] for r in results} == {"accepted"}, results
        finals = [r["detail"].rsplit(" ", 1)[1] for r in results if r["detail"]]
        yield Served(
            instance,
            offices,
            letters,
            final=f"มท 0200/ว {finals[0]}",
            final_later=f"มท 0200/ว {finals[1]}",
        )
    finally:
        service.kill()


def find(store: HubStore, scope: Scope, **params: str) -> list[PortalRow]:
    """The rows of a search, as a portal page finds them: after recording the letters the
    hub accepted since its last step."""
    catch_up(store)
    return search(store, scope, PortalQuery.from_params(params)).rows


def subjects(store: HubStore, scope: Scope, **params: str) -> list[str]:
    return [row.subject for row in find(store, scope, **params)]


@pytest.fixture
def store(served: Served) -> Iterator[HubStore]:
    s = served.store()
    try:
        yield s
    finally:
        s.close()


def test_pushed_letter_is_found_by_a_thai_word_of_its_body(store: HubStore) -> None:
    for office in (CHIANG_MAI, CHIANG_RAI):
        [row] = find(store, Scope(office), q="ห้องประชุมศาลากลาง")
        assert row.subject == MEETING and row.origin == CHIANG_MAI
        assert row.recipients == [(CHIANG_RAI, "สำนักงานจังหวัดเชียงราย")]
        assert row.snippet is not None and "ห้องประชุมศาลากลาง" in row.snippet
        start, end = row.snippet_marks[0]
        assert row.snippet[start:end] == "ห้องประชุมศาลากลาง"
        assert row.date_th == "18 พฤศจิกายน 2569"
    [row] = find(store, Scope(CHIANG_MAI), q="รับมือ")
    assert [row.subject[s:e] for s, e in row.subject_marks] == ["รับมือ"]


def test_two_character_word_is_found(store: HubStore) -> None:
    assert subjects(store, Scope(KHON_KAEN), q="ตก") == [BUDGET]


@pytest.mark.parametrize(
    "typed",
    ["ชม  ๐๐๑๗.๓ /ว.  ๔๕๖", "ชม0017.3/ว456", "ที่ ชม ๐๐๑๗.๓/ว ๔๕๖"],
)
def test_number_typed_with_thai_digits_and_odd_spacing(store: HubStore, typed: str) -> None:
    [row] = find(store, Scope(CHIANG_RAI), number=typed)
    assert (row.subject, row.number, row.exact_number) == (MEETING, "ชม 0017.3/ว 456", True)
    assert subjects(store, Scope(CHIANG_RAI), q=typed) == [MEETING]


def test_found_by_the_provisional_and_the_final_number(served: Served, store: HubStore) -> None:
    for subject, provisional, final in (
        (CIRCULAR, PROVISIONAL, served.final),
        (SIGNED_LATER, PROVISIONAL_LATER, served.final_later),
    ):
        for typed in (provisional, final, provisional.replace(" ", "")):
            [row] = find(store, Scope(CHIANG_RAI), number=typed)
            assert (row.subject, row.number, row.earlier_number) == (subject, final, provisional)
    assert served.final != served.final_later


def test_buddhist_era_date_range(store: HubStore) -> None:
    ministry = Scope(MINISTRY, ministry=True)
    assert subjects(store, ministry, **{"from": "1 ธ.ค. 69", "to": "31/12/2569"}) == [
        RULES,
        BUDGET,
    ]
    assert subjects(store, ministry, q="ประชุม", **{"from": "๑/๑๑/๒๕๖๙", "to": "30 พ.ย. 69"}) == [
        MEETING
    ]
    assert subjects(store, ministry, q="ประชุม", **{"from": "1 ธ.ค. 69"}) == []


def test_words_with_a_number_sender_or_recipient(store: HubStore) -> None:
    office, ministry = Scope(CHIANG_RAI), Scope(MINISTRY, ministry=True)
    assert subjects(store, office, q="ประชุม", number="ชม0017.3/ว456") == [MEETING]
    assert subjects(store, office, q="ประชุม", number="ว ๔๕๖") == [MEETING]  # a fragment
    assert subjects(store, office, q="ประชุม", number="ขก 0017.2/1234") == []
    assert subjects(store, ministry, sender="ขก0017") == [BUDGET]
    assert subjects(store, ministry, q="งบประมาณ", recipient=MINISTRY) == [BUDGET]
    assert subjects(store, Scope(KHON_KAEN), sender=MINISTRY) == [RULES]


def test_an_office_never_sees_another_offices_letter(served: Served, store: HubStore) -> None:
    assert subjects(store, Scope(CHIANG_RAI), q="งบประมาณ") == []
    assert subjects(store, Scope(CHIANG_RAI), number="ขก 0017.2/1234") == []
    assert subjects(store, Scope(KHON_KAEN), q="ประชุม") == []
    for office in (CHIANG_MAI, CHIANG_RAI, KHON_KAEN, "ชบ 0017"):
        for row in find(store, Scope(office, registrar=True), per_page="100"):
            parties = {row.origin, *(o for o, _ in row.recipients)}
            assert office in parties or row.library, (office, row)
    # A letter the ministry office sent to every office is in the library for all of them.
    assert subjects(store, Scope("ชบ 0017"), q="งานสารบรรณ") == [RULES]
    assert subjects(store, Scope("ชบ 0017")) == [RULES]


def test_ministry_sees_tracking_but_not_content_it_is_not_party_to(store: HubStore) -> None:
    ministry = Scope(MINISTRY, ministry=True)
    assert subjects(store, ministry, q="ห้องประชุมศาลากลาง") == []  # only in the body
    [row] = find(store, ministry, q="อุทกภัย")
    assert (row.subject, row.readable, row.snippet) == (MEETING, False, None)
    [row] = find(store, ministry, q="ล่าช้า")  # addressed to the ministry: content readable
    assert row.subject == BUDGET and row.readable and row.snippet
    assert len(find(store, ministry, per_page="100")) == 5  # every unsealed letter


def test_sealed_letter_is_tracking_for_a_registrar_and_nowhere_in_the_hubs_files(
    served: Served, store: HubStore
) -> None:
    [row] = find(store, Scope(CHIANG_RAI, registrar=True), q=SEALED_SUBJECT)
    assert (row.subject, row.secrecy, row.sealed, row.snippet) == (SEALED_SUBJECT, "ลับ", True, None)
    assert row.env_id == served.letters[SECRET_SUBJECT].env_id
    assert subjects(store, Scope(CHIANG_RAI), q=SEALED_SUBJECT) == []
    assert subjects(store, Scope(KHON_KAEN, registrar=True), q=SEALED_SUBJECT) == []
    assert subjects(store, Scope(CHIANG_RAI, registrar=True), q="กำลังพลชายแดน") == []
    files = b"".join(p.read_bytes() for p in served.instance.rglob("*") if p.is_file())
    for marker in (SECRET_SUBJECT, SECRET_BODY, "นกอินทรีย์"):
        assert marker.encode() not in files


QUERIES: list[dict[str, str]] = [
    {"q": "อุทกภัย"},
    {"q": "ประชุม ศาลากลาง"},
    {"q": "ตก"},
    {"q": "๔๕๖"},
    {"q": "ประชุม", "number": "ว 456"},
    {"number": "ชม0017.3/ว456"},
    {"q": "ล่าช้า งบประมาณ"},
    {"q": "งานสารบรรณ"},
    {"sender": KHON_KAEN},
    {},
]
SCOPES = [Scope(CHIANG_MAI), Scope(CHIANG_RAI), Scope(KHON_KAEN), Scope(MINISTRY, ministry=True)]


def meetings(*numbers: int) -> list[str]:
    """The subjects of the numbered meeting letters of :func:`hub_with_meetings`."""
    return [f"{MEETING} ครั้งที่ {n}" for n in numbers]


def hub_with_meetings(tmp_path: Path, count: int) -> Hub:
    """A hub to which Chiang Mai pushed ``count`` meeting letters to Chiang Rai, in one push."""
    hub = Hub(tmp_path, Clock())
    cm = hub.office(CHIANG_MAI)
    hub.office(CHIANG_RAI)
    cm.push_ok(
        *(cm.letter([CHIANG_RAI], subject=subject) for subject in meetings(*range(1, count + 1)))
    )
    return hub


def test_letters_accepted_a_moment_ago_are_found_as_when_indexed(tmp_path: Path) -> None:
    hub = Hub(tmp_path, Clock())
    cm, kk, mt = (hub.office(o) for o in (CHIANG_MAI, KHON_KAEN, MINISTRY))
    hub.office(CHIANG_RAI)
    cm.push_ok(
        cm.letter(
            [CHIANG_RAI],
            subject=MEETING,
            body="ขอเชิญประชุม ณ ห้องประชุมศาลากลางจังหวัด",
            number="ชม 0017.3/ว 456",
        )
    )
    kk.push_ok(kk.letter([MINISTRY], subject=BUDGET, body="ฝนตกหนักทำให้การเบิกจ่ายล่าช้า"))
    mt.push_ok(mt.letter([CHIANG_MAI], subject=RULES, body="ให้ถือปฏิบัติ", library=True))
    with closing(open_store(hub.app.config["DATABASE"], create=False)) as store:
        assert store.portal_unrecorded() == 3  # the pushes stored the letters only
        queued = [[subjects(store, s, **q) for q in QUERIES] for s in SCOPES]
        assert queued[1][0] == [MEETING] and queued[2][2] == [BUDGET]
        assert store.portal_unrecorded() == 0 and store.portal_pending_count() == 3
        assert index_pending(store) == 3 and store.portal_pending_count() == 0
        assert [[subjects(store, s, **q) for q in QUERIES] for s in SCOPES] == queued


def test_a_burst_not_recorded_yet_is_counted_on_the_page_and_found_once_recorded(
    tmp_path: Path,
) -> None:
    hub = hub_with_meetings(tmp_path, 3)

    def found(store: HubStore) -> tuple[list[str], int]:
        page = search(store, Scope(CHIANG_RAI), PortalQuery(text="อุทกภัย"))
        return [r.subject for r in page.rows], page.unindexed

    with closing(open_store(hub.app.config["DATABASE"], create=False)) as store:
        assert found(store) == ([], 3)  # the page says what it cannot reach yet
        assert follow_step(store, batch=2) == 2
        assert found(store) == (meetings(2, 1), 1)
        assert follow_step(store) == 1 and follow_step(store) == 0
        assert found(store) == (meetings(3, 2, 1), 0)


@pytest.mark.sqlite_only("a SQLite file an older hub wrote")
def test_a_hub_that_recorded_letters_as_it_accepted_them_records_none_twice(
    tmp_path: Path,
) -> None:
    hub = hub_with_meetings(tmp_path, 2)
    database = Path(hub.app.config["DATABASE"])
    with closing(open_store(database, create=False)) as store:
        assert catch_up(store) == 2  # as the hub of before recorded them, at ingest
    with sqlite3.connect(database) as db:  # which kept no place in the feed
        db.execute("DELETE FROM meta WHERE key = 'portal_followed'")
        db.execute("UPDATE meta SET value = 'of before' WHERE key = 'schema_version'")
    with closing(open_store(database)) as store:  # the new code opens it
        assert store.portal_unrecorded() == 0 and catch_up(store) == 0
        assert store.count("portal_letters") == 2


def test_while_offices_push_the_index_job_takes_a_small_batch_and_catches_up_after(
    tmp_path: Path,
) -> None:
    hub = Hub(tmp_path, Clock())
    now = [1_000.0]
    activity = Exchanges(clock=lambda: now[0])
    hub.app.extensions["saraban_exchanges"] = activity
    cm = hub.office(CHIANG_MAI)
    hub.office(CHIANG_RAI)
    letters = [cm.letter([CHIANG_RAI], body=f"รายงานน้ำท่วม ฉบับที่ {i}") for i in range(130)]
    cm.push_ok(*letters)  # through the push route: the activity saw it end at 1,000 s

    def waiting() -> tuple[int, int]:
        """Letters not recorded for the portal yet, and recorded but not indexed."""
        with closing(open_store(hub.app.config["DATABASE"], create=False)) as store:
            return store.portal_unrecorded(), store.portal_pending_count()

    assert waiting() == (130, 0)
    # the push ended a moment ago: one small batch recorded and one indexed
    assert keep_portal_index(hub.app) == (BUSY_BATCH, BUSY_BATCH)
    with activity.serving():  # another office's push or pull is being served
        now[0] += QUIET_SECONDS
        assert keep_portal_index(hub.app) == (BUSY_BATCH, BUSY_BATCH)
    assert waiting() == (130 - 2 * BUSY_BATCH, 0)
    now[0] += QUIET_SECONDS  # the offices are quiet: the rest at once
    assert keep_portal_index(hub.app) == (130 - 2 * BUSY_BATCH, 130 - 2 * BUSY_BATCH)
    assert waiting() == (0, 0)


def test_indexed_letter_whose_number_becomes_final_is_found_by_both(tmp_path: Path) -> None:
    clock = Clock()
    hub = Hub(tmp_path, clock)
    add_shared_register(hub.instance, MINISTRY, "ว", [CHIANG_MAI, CHIANG_RAI], now=clock())
    cm = hub.office(CHIANG_MAI)
    hub.office(CHIANG_RAI)
    letter = cm.letter([CHIANG_RAI], subject=CIRCULAR, number=PROVISIONAL, register=SHARED)
    cm.push_ok(letter)
    with closing(open_store(hub.app.config["DATABASE"], create=False)) as store:
        assert catch_up(store) == 1 and index_pending(store) == 1
    entry = cm.register_entry(
        SHARED, None, provisional=True, provisional_id="cm-1", display=PROVISIONAL,
        letter=letter.env_id,
    )  # fmt: skip
    [result] = cm.push_ok(entry)
    final = f"มท 0200/ว {result['detail'].rsplit(' ', 1)[1]}"
    with closing(open_store(hub.app.config["DATABASE"], create=False)) as store:
        assert store.portal_pending_count() == 1  # out of the index with its old number
        assert index_pending(store) == 1
        if not store.on_postgres:  # FTS5's own check that the index holds what it should
            store.conn.execute("INSERT INTO portal_fts (portal_fts) VALUES ('integrity-check')")
        for typed in (PROVISIONAL, final, "วันท้องถิ่น"):
            [row] = find(store, Scope(CHIANG_RAI), q=typed)
            assert (row.number, row.earlier_number) == (final, PROVISIONAL)


def make_older(database: Path) -> None:
    """The hub database as a hub from before the portal's index left it."""
    with sqlite3.connect(database) as db:
        for table in ("portal_fts", "portal_letters", "portal_recipients", "portal_pending"):
            db.execute(f"DROP TABLE {table}")
        db.execute("DELETE FROM meta WHERE key LIKE 'portal_backfill%' OR key = 'portal_followed'")
        db.execute("DELETE FROM meta WHERE key = 'schema_version'")  # older hubs had none


@pytest.mark.sqlite_only("a SQLite file an older hub wrote")
def test_older_hub_database_is_indexed_from_its_feed_where_it_stopped(tmp_path: Path) -> None:
    hub = hub_with_meetings(tmp_path, 3)
    database = Path(hub.app.config["DATABASE"])
    make_older(database)
    with closing(open_store(database)) as store:  # the new code opens it: the tables come
        assert store.count("portal_letters") == 0
        assert backfill_step(store, batch=2) == 2
        page = search(store, Scope(CHIANG_MAI), PortalQuery(text="อุทกภัย"))
        assert page.backfilling and [r.subject for r in page.rows] == meetings(2, 1)
    with closing(open_store(database)) as store:  # the backfill goes on where it stopped
        assert backfill_step(store, batch=2) == 1 and backfill_step(store) == 0
        page = search(store, Scope(CHIANG_MAI), PortalQuery(text="อุทกภัย"))
        assert not page.backfilling and [r.subject for r in page.rows] == meetings(3, 2, 1)


@pytest.mark.sqlite_only("a SQLite file an older hub wrote")
def test_older_hub_database_is_indexed_when_the_hub_starts(tmp_path: Path) -> None:
    hub = Hub(tmp_path, Clock())
    cm = hub.office(CHIANG_MAI)
    hub.office(CHIANG_RAI)
    cm.push_ok(cm.letter([CHIANG_RAI], subject=MEETING, body="ณ ห้องประชุมศาลากลางจังหวัด"))
    database = Path(hub.app.config["DATABASE"])
    make_older(database)
    service, url = serve_hub(hub.instance, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            with closing(open_store(database, create=False)) as store:
                found = subjects(store, Scope(CHIANG_RAI), q="ห้องประชุมศาลากลาง")
                indexed = store.portal_pending_count() == 0 and store.count("portal_letters")
            if found and indexed:
                break
            assert time.monotonic() < deadline, "the older feed was not indexed"
            time.sleep(0.1)  # polling another process's database for the backfill
        cm.hub = HubProcess(url)  # type: ignore[assignment]
        cm.push_ok(cm.letter([CHIANG_RAI], subject=BUDGET, body="ณ ห้องประชุมศาลากลางจังหวัด"))
        with closing(open_store(database, create=False)) as store:
            assert subjects(store, Scope(CHIANG_RAI), q="ห้องประชุมศาลากลาง") == [BUDGET, MEETING]
    finally:
        service.kill()


REFUSED = {
    "unknown parameter": ({"box": "sent"}, "bad_parameter", "ไม่รู้จักเงื่อนไขการค้นหา"),
    "unreadable date": ({"from": "พรุ่งนี้"}, "bad_date", "อ่านวันที่ไม่ได้"),
    "christian-era slash date": ({"from": "1/12/2026"}, "bad_date", "พุทธศักราช"),
    "no such day": ({"to": "31/2/2569"}, "bad_date", "ไม่มีวันที่นี้ในปฏิทิน"),
    "range ends first": ({"from": "2 ธ.ค. 69", "to": "1 ธ.ค. 69"}, "bad_date_range", "วันที่เริ่มต้น"),
    "sender not an office": ({"sender": "เชียงใหม่"}, "bad_sender", "ไม่ใช่รหัสหน่วยงาน"),
    "recipient not an office": ({"recipient": "x"}, "bad_recipient", "ไม่ใช่รหัสหน่วยงาน"),
    "unknown speed": ({"speed": "ช้า"}, "bad_speed", "ไม่รู้จักชั้นความเร็ว"),
    "unknown type": ({"type": "จดหมาย"}, "bad_type", "ไม่รู้จักชนิดหนังสือ"),
    "number without digits": ({"number": "ชม/ว"}, "bad_number", "เลขที่หนังสือต้องมีตัวเลข"),
    "page zero": ({"page": "0"}, "bad_page", "หน้าต้องเริ่มที่ 1"),
    "page not a number": ({"page": "สอง"}, "bad_page", "ตัวเลข"),
    "too many per page": ({"per_page": "500"}, "bad_per_page", "จำนวนรายการต่อหน้า"),
    "page too deep": ({"page": "9999"}, "page_too_deep", "ผลการค้นหามากเกิน"),
    "query too long": ({"q": "ก" * 201}, "query_too_long", "คำค้นยาวเกิน"),
    "too many words": ({"q": " ".join(["คำ"] * 11)}, "query_too_long", "ไม่เกิน 10 คำ"),
}


@pytest.mark.parametrize(("params", "code", "message"), REFUSED.values(), ids=list(REFUSED))
def test_search_that_cannot_be_read_is_refused_in_thai(
    params: dict[str, str], code: str, message: str
) -> None:
    with pytest.raises(PortalQueryError) as refused:
        PortalQuery.from_params(params)
    assert (refused.value.code, refused.value.status) == (code, 400)
    assert message in refused.value.message_th


def test_query_typed_as_clerks_type_it_is_understood() -> None:
    query = PortalQuery.from_params(
        {"q": " ประชุม ", "from": "๑ ธ.ค. ๖๙", "to": "31/12/2569", "sender": "ชม0017", "page": "๒"}
    )
    assert (query.sender, query.page, query.date_from and query.date_from.isoformat()) == (
        CHIANG_MAI,
        2,
        "2026-12-01",
    )
    assert query.to_json()["from_th"] == "1 ธันวาคม 2569"


@pytest.mark.sqlite_only("FTS5's settings of the SQLite index")
def test_a_new_and_an_older_hub_file_gather_a_whole_batch_before_writing_the_index(
    tmp_path: Path,
) -> None:
    database = Path(Hub(tmp_path, Clock()).app.config["DATABASE"])

    def settings() -> dict[str, Any]:
        with closing(sqlite3.connect(database)) as db:
            return dict(db.execute("SELECT k, v FROM portal_fts_config").fetchall())

    assert settings().items() >= dict(PORTAL_INDEX_SETTINGS).items()
    with closing(sqlite3.connect(database)) as db, db:
        db.execute("DELETE FROM portal_fts_config WHERE k = 'hashsize'")
        db.execute("DELETE FROM meta WHERE key = 'schema_version'")  # as an older hub left it
    assert "hashsize" not in settings()
    with closing(open_store(database)):
        pass
    assert settings().items() >= dict(PORTAL_INDEX_SETTINGS).items()
