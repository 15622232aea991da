"""Usage statistics in the hub's console: the numbers equal what the nodes themselves
registered, the working-day and percentile rules, the page, the CSV and Excel exports,
bad filters refused in Thai, and nobody signed in sent to the login page.

The scripted days run through a real hub on 127.0.0.1 and real in-process nodes with the
shared movable clock: Monday 30 Nov 2569 to Tuesday 8 Dec 2569, with Monday 7 Dec a public
holiday (the substitute day for 5 December, a Saturday).
"""

from __future__ import annotations

import csv
import io
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from console_support import PASSWORD, text_of
from flask.testing import FlaskClient
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY, Clock
from test_hub_support import Hub, kinds
from test_node_support import Federation, Node, federation

from hub.app import create_app
from hub.console import charts
from hub.console.operators import add_operator
from hub.monitoring.periods import Period
from hub.monitoring.timings import MEASURES, timing_report
from hub.monitoring.usage import registration_times, usage_report
from hub.monitoring.workdays import WorkCalendar
from hub.store import HubStore
from hub.store.schema import TABLES
from protocol.canonical import parse_canonical
from protocol.envelope import Envelope
from protocol.messages import Receipt
from protocol.thai import BANGKOK

SONGKHLA = "สข 0017"
HOLIDAY = date(2026, 12, 7)
WORKDAY_END = time(16, 30)
URGENT = "ด่วนที่สุด"
DECEMBER = (date(2026, 12, 1), date(2026, 12, 31))
PLACES = {
    CHIANG_MAI: ("เชียงใหม่", 15),
    CHIANG_RAI: ("เชียงราย", 16),
    KHON_KAEN: ("ขอนแก่น", 13),
    MINISTRY: ("ส่วนกลาง", None),
    SONGKHLA: ("สงขลา", 8),
}
"""Province and provincial group of each office in the scripted days (the pilot's data)."""


def moment(month: int, day: int, hour: int, minute: int = 0) -> float:
    """Unix time of a Bangkok wall-clock moment in 2026 (2569)."""
    return datetime(2026, month, day, hour, minute, tzinfo=BANGKOK).timestamp()


# -- the scripted days -------------------------------------------------------------------------


@dataclass
class ScriptedDays:
    """The federation after the script, its nodes by office, and the last moment."""

    fed: Federation
    nodes: dict[str, Node]
    now: float
    client: FlaskClient | None = None
    viewer: FlaskClient | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def hub_store(self) -> HubStore:
        return HubStore.open(self.fed.hub_app.config["DATABASE"], create=False)


def received_id(node: Node, subject: str) -> int:
    rows = node.rows("SELECT id FROM letters WHERE direction = 'in' AND subject = ?", (subject,))
    assert len(rows) == 1, (node.office, subject)
    return int(rows[0]["id"])


def register(node: Node, subject: str) -> None:
    node.call("POST", f"/api/letters/{received_id(node, subject)}/register", {})


def give_back(node: Node, subject: str) -> None:
    node.call(
        "POST",
        f"/api/letters/{received_id(node, subject)}/return",
        {"reason": "ไม่ใช่หน่วยงานที่รับผิดชอบ"},
    )


def play(fed: Federation) -> ScriptedDays:
    """Letters of every speed class sent, delivered and registered at known times."""
    clock = fed.clock
    fed.hub_app.config["HOLIDAYS"] = HOLIDAY.isoformat()
    nodes = {office: fed.node(office) for office in (CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY)}
    fed.node(SONGKHLA)  # enrolled on 30 Nov and never used
    cm, cr, kk, mt = (nodes[o] for o in (CHIANG_MAI, CHIANG_RAI, KHON_KAEN, MINISTRY))

    def at(when: float, *syncing: Node) -> None:
        clock.t = when
        for node in syncing:
            assert node.sync().ok, node.office

    # Monday 30 Nov: a letter of November, registered on 1 Dec.
    at(moment(11, 30, 9))
    cm.send(recipients=[CHIANG_RAI], subject="หนังสือปลายเดือนพฤศจิกายน")
    at(moment(11, 30, 9, 5), cm)
    at(moment(11, 30, 10), cr)
    at(moment(12, 1, 9))
    register(cr, "หนังสือปลายเดือนพฤศจิกายน")
    at(moment(12, 1, 9, 5), cr)

    # Friday 4 Dec.
    at(moment(12, 4, 8, 30))
    cm.send(recipients=[CHIANG_RAI, KHON_KAEN], subject="ก ด่วนที่สุด ประชุมด่วน", speed=URGENT)
    at(moment(12, 4, 8, 35), cm)
    at(moment(12, 4, 9), cr, kk)
    at(moment(12, 4, 9, 40))
    register(cr, "ก ด่วนที่สุด ประชุมด่วน")
    at(moment(12, 4, 10))
    kk.send(recipients=[CHIANG_MAI, MINISTRY], subject="ข ด่วนมาก รายงานน้ำท่วม", speed="ด่วนมาก")
    mt.send(recipients=[CHIANG_MAI], subject="ค ด่วน สำรวจข้อมูล", speed="ด่วน")
    at(moment(12, 4, 10, 5), cr, kk, mt)
    at(moment(12, 4, 11), cm, mt)
    at(moment(12, 4, 13, 15))
    register(cm, "ข ด่วนมาก รายงานน้ำท่วม")
    at(moment(12, 4, 14))
    mt.send(recipients=[CHIANG_RAI, KHON_KAEN], subject="ง แจ้งเวียนทราบ")
    kk.send(recipients=[CHIANG_MAI], subject="จ ด่วนที่สุด ขอข้อมูลภายในวันนี้", speed=URGENT)
    at(moment(12, 4, 14, 5), cm, mt, kk)
    at(moment(12, 4, 14, 30), cr, kk, cm)
    at(moment(12, 4, 15))
    register(kk, "ก ด่วนที่สุด ประชุมด่วน")
    register(kk, "ง แจ้งเวียนทราบ")
    at(moment(12, 4, 15, 30))
    cm.send(recipients=[CHIANG_RAI], subject="ฉ ด่วนที่สุด ส่งผิดหน่วยงาน", speed=URGENT)
    at(moment(12, 4, 15, 35), cm, kk)
    at(moment(12, 4, 15, 45), cr)
    give_back(cr, "ฉ ด่วนที่สุด ส่งผิดหน่วยงาน")
    at(moment(12, 4, 16, 45))
    mt.send(recipients=[CHIANG_RAI], subject="ช ด่วนที่สุด หลังเวลาราชการ", speed=URGENT)
    at(moment(12, 4, 16, 47), mt)
    at(moment(12, 4, 16, 50), cr)
    at(moment(12, 4, 17), cm, cr, kk, mt)

    # Saturday 5 Dec: a letter delivered on a day off; a clerk registers on Saturday.
    at(moment(12, 5, 10))
    cm.send(recipients=[KHON_KAEN], subject="ซ ด่วนที่สุด วันเสาร์", speed=URGENT)
    at(moment(12, 5, 10, 5), cm)
    at(moment(12, 5, 10, 30), kk)
    at(moment(12, 5, 11))
    register(cr, "ง แจ้งเวียนทราบ")
    at(moment(12, 5, 11, 5), cr, kk)

    # Tuesday 8 Dec (Monday 7 Dec is the holiday).
    at(moment(12, 8, 10))
    register(cr, "ช ด่วนที่สุด หลังเวลาราชการ")
    at(moment(12, 8, 17))
    register(kk, "ซ ด่วนที่สุด วันเสาร์")
    at(moment(12, 8, 17, 5))
    mt.send(recipients=[KHON_KAEN], subject="ฌ ด่วนที่สุด พรุ่งนี้เช้า", speed=URGENT)
    at(moment(12, 8, 17, 7), mt)
    at(moment(12, 8, 17, 10), kk)
    at(moment(12, 8, 17, 20), cm, cr, kk, mt)
    at(moment(12, 8, 17, 30))
    return ScriptedDays(fed, nodes, clock.t)


def fetch(client: FlaskClient, path: str, data: dict[str, str] | None = None) -> Any:
    """GET (or POST ``data`` to) ``path`` and close the answer at once.

    The hub counts requests in flight until their answer is closed, and this module's hub
    answers well over its ``MAX_INFLIGHT`` requests.
    """
    answer = client.get(path) if data is None else client.post(path, data=data)
    answer.get_data()
    answer.close()
    return answer


def sign_in(app: Any, username: str) -> FlaskClient:
    client: FlaskClient = app.test_client()
    login = text_of(fetch(client, "/login"))
    match = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert match
    form = {"username": username, "password": PASSWORD, "csrf_token": match.group(1)}
    answer = fetch(client, "/login", form)
    assert answer.status_code == 302, text_of(answer)
    return client


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScriptedDays]:
    tmp = tmp_path_factory.mktemp("stats")
    with federation(tmp, Clock(moment(11, 30, 8))) as fed:
        played = play(fed)
        store = played.hub_store()
        try:
            assert store.count("quarantine") == 0
            add_operator(store, "ops", "สมชาย ดูแลระบบ", PASSWORD, "operator", played.now)
            add_operator(store, "watcher", "สมหญิง เฝ้าระวัง", PASSWORD, "viewer", played.now)
        finally:
            store.close()
        played.client = sign_in(fed.hub_app, "ops")
        played.viewer = sign_in(fed.hub_app, "watcher")
        yield played


# -- what the nodes themselves recorded ---------------------------------------------------------


def bangkok_day(ts: float) -> date:
    return datetime.fromtimestamp(ts, BANGKOK).date()


def deadline(delivered: float) -> float:
    """End of the working day a delivery belongs to, worked out here on its own."""
    local = datetime.fromtimestamp(delivered, BANGKOK)
    day = local.date()
    working = day.weekday() < 5 and day != HOLIDAY
    if not working or local.time() > WORKDAY_END:
        day += timedelta(days=1)
        while day.weekday() >= 5 or day == HOLIDAY:
            day += timedelta(days=1)
    return datetime.combine(day, WORKDAY_END, BANGKOK).timestamp()


def nearest_rank(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(percent * len(ordered) / 100) - 1]


@dataclass
class Expected:
    """Counts, registration times and urgent letters as the nodes' own databases say."""

    usage: dict[str, list[int]]
    durations: dict[str, list[float]]
    urgent: dict[str, int]


def from_nodes(days: ScriptedDays, first: date, last: date) -> Expected:
    usage = {office: [0, 0, 0] for office in PLACES}
    durations: dict[str, list[float]] = {}
    urgent = {"same_day": 0, "counted": 0, "pending": 0, "declined": 0}
    for office, node in days.nodes.items():
        # The sending register: every dispatched letter and the time its envelope was signed.
        for row in node.rows(
            "SELECT f.created_at FROM letters l JOIN feed f ON f.env_id = l.env_id"
            " WHERE l.direction = 'out' AND f.kind = 'letter'"
        ):
            if first <= bangkok_day(row["created_at"]) <= last:
                usage[office][0] += 1
        # Received letters: stored (delivered) and registered (ลงรับ) with their times.
        for row in node.rows(
            "SELECT speed, state, received_at, registered_at FROM letters"
            " WHERE direction = 'in' AND paper = 0"
        ):
            if first <= bangkok_day(row["received_at"]) <= last:
                usage[office][1] += 1
            registered = row["registered_at"]
            if registered is not None and first <= bangkok_day(registered) <= last:
                usage[office][2] += 1
                durations.setdefault(row["speed"], []).append(registered - row["received_at"])
            if row["speed"] != URGENT or not first <= bangkok_day(row["received_at"]) <= last:
                continue
            if row["state"] == "returned":
                urgent["declined"] += 1
            elif registered is None and days.now <= deadline(row["received_at"]):
                urgent["pending"] += 1
            else:
                urgent["counted"] += 1
                if registered is not None and registered <= deadline(row["received_at"]):
                    urgent["same_day"] += 1
    return Expected(usage, durations, urgent)


def rolled_up(usage: dict[str, list[int]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for office, counts in usage.items():
        into = out.setdefault(PLACES[office][0], [0, 0, 0])
        for i, n in enumerate(counts):
            into[i] += n
    return out


def csv_rows(client: FlaskClient, query: str) -> list[dict[str, str]]:
    answer = fetch(client, f"/stats/export.csv?{query}")
    assert answer.status_code == 200, text_of(answer)
    assert answer.mimetype == "text/csv"
    raw = answer.get_data()
    assert raw.startswith("\ufeff".encode())  # so that Excel reads the Thai as UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_statistics_equal_what_the_nodes_registered(days: ScriptedDays) -> None:
    expected = from_nodes(days, *DECEMBER)
    assert expected.usage == {
        CHIANG_MAI: [3, 3, 1],
        CHIANG_RAI: [0, 4, 4],
        KHON_KAEN: [2, 4, 3],
        MINISTRY: [4, 1, 0],
        SONGKHLA: [0, 0, 0],
    }  # the script as written, so that a wrong script cannot pass quietly
    assert days.client is not None
    provinces = csv_rows(days.client, "month=2569-12&table=provinces")
    assert {
        r["จังหวัด"]: [int(r["หนังสือส่ง"]), int(r["หนังสือรับ"]), int(r["ลงรับแล้ว"])] for r in provinces
    } == rolled_up(expected.usage)
    assert {r["จังหวัด"]: r["กลุ่มที่"] for r in provinces} == {
        name: "" if group is None else str(group) for name, group in PLACES.values()
    }
    offices = csv_rows(days.client, "month=2569-12&table=offices")
    assert {
        r["รหัสหน่วยงาน"]: [int(r["หนังสือส่ง"]), int(r["หนังสือรับ"]), int(r["ลงรับแล้ว"])] for r in offices
    } == expected.usage
    groups = csv_rows(days.client, "month=2569-12&table=groups")
    by_group = {
        (g or 0): counts
        for (_, g), counts in zip(PLACES.values(), expected.usage.values(), strict=True)
    }
    assert {
        int(r["กลุ่มที่"] or 0): [int(r["หนังสือส่ง"]), int(r["หนังสือรับ"]), int(r["ลงรับแล้ว"])]
        for r in groups
    } == by_group

    registration = {
        r["ชั้นความเร็ว"]: r for r in csv_rows(days.client, "month=2569-12&table=registration")
    }
    for speed, label in ((URGENT, URGENT), ("ด่วนมาก", "ด่วนมาก"), ("", "ปกติ")):
        values = expected.durations[speed]
        row = registration[label]
        assert int(row["จำนวนที่ลงรับ"]) == len(values)
        assert float(row["มัธยฐาน (วินาที)"]) == round(nearest_rank(values, 50), 1)
        assert float(row["เปอร์เซ็นไทล์ที่ 90 (วินาที)"]) == round(nearest_rank(values, 90), 1)
    assert registration["ด่วน"]["จำนวนที่ลงรับ"] == "0"
    assert registration["ด่วน"]["มัธยฐาน (วินาที)"] == ""

    store = days.hub_store()
    try:
        report = usage_report(
            store,
            Period.month(2026, 12),
            None,
            7,
            WorkCalendar.from_settings(days.fed.hub_app.config),
            days.now,
        )
    finally:
        store.close()
    times = {t.speed: t for t in report.registration}
    for speed, values in expected.durations.items():
        assert (times[speed].count, times[speed].median, times[speed].p90) == (
            len(values),
            nearest_rank(values, 50),
            nearest_rank(values, 90),
        )
    share = report.same_day
    assert (
        {
            "same_day": share.same_day,
            "counted": share.counted,
            "pending": share.pending,
            "declined": share.declined,
        }
        == expected.urgent
        == {"same_day": 3, "counted": 5, "pending": 1, "declined": 1}
    )
    urgent = csv_rows(days.client, "month=2569-12&table=urgent")
    assert urgent == [
        {
            "ลงรับภายในวันทำการเดียวกัน": "3",
            "จำนวนที่นับ": "5",
            "ร้อยละ": "60.0",
            "ยังอยู่ในวันทำการ": "1",
            "ส่งคืนหรือไม่ถูกต้อง": "1",
        }
    ]


def spans_from_nodes(
    days: ScriptedDays, first: date, last: date
) -> dict[str, dict[str, list[float]]]:
    """Speed class -> span -> seconds, of the letters sent between two days, from the nodes'
    own databases: the sender's feed (when its clerk sent the letter, when the hub
    acknowledged it) and the recipient's letters (when it stored it, when it was registered)."""
    sent: dict[str, tuple[float, str]] = {}
    spans: dict[str, dict[str, list[float]]] = {}
    for node in days.nodes.values():
        for row in node.rows(
            "SELECT l.env_id, l.speed, f.created_at, f.acked_at FROM letters l"
            " JOIN feed f ON f.env_id = l.env_id WHERE l.direction = 'out' AND f.kind = 'letter'"
        ):
            if first <= bangkok_day(row["created_at"]) <= last:
                sent[row["env_id"]] = (row["created_at"], row["speed"])
                into = spans.setdefault(row["speed"], {})
                into.setdefault("to_hub", []).append(row["acked_at"] - row["created_at"])
    for node in days.nodes.values():
        for row in node.rows(
            "SELECT env_id, received_at, registered_at FROM letters"
            " WHERE direction = 'in' AND paper = 0"
        ):
            if row["env_id"] not in sent:
                continue
            at, speed = sent[row["env_id"]]
            into = spans.setdefault(speed, {})
            into.setdefault("to_inbox", []).append(row["received_at"] - at)
            if row["registered_at"] is not None:
                into.setdefault("to_registered", []).append(row["registered_at"] - at)
    return spans


def test_times_from_sending_equal_what_the_nodes_recorded(days: ScriptedDays) -> None:
    expected = spans_from_nodes(days, *DECEMBER)
    store = days.hub_store()
    try:
        timings = timing_report(store, Period.month(2026, 12), None)
    finally:
        store.close()
    for row in timings.speeds:
        for measure, spread in zip(MEASURES, row.spreads(), strict=True):
            values = expected.get(row.key, {}).get(measure, [])
            assert spread.count == len(values), (row.label, measure)
            if values:
                assert (spread.p50, spread.p95) == (
                    nearest_rank(values, 50),
                    nearest_rank(values, 95),
                ), (row.label, measure)
    assert days.client is not None
    page = text_of(fetch(days.client, "/stats?month=2569-12"))
    # ด่วนที่สุด: ก sent 08.30, in เชียงราย's inbox at 09.00 and registered 09.40 (70 minutes
    # from ส่ง, 40 from the inbox); the wait for sync is counted, the November letter is not.
    assert table_rows(page, "timing-speeds")[URGENT] == [
        URGENT,
        *("6", "5 นาที", "5 นาที"),
        *("7", "30 นาที", "30 นาที"),
        *("4", "6 ชม. 30 นาที", "3 วัน 17 ชม."),
    ]
    assert table_rows(page, "registration")[URGENT][2] == "6 ชม."  # from the inbox, not ส่ง
    # เชียงราย's inbox, every class: ช 5 minutes after ส่ง, ฉ 15, ก and ง 30
    assert table_rows(page, "timing-provinces")["เชียงราย"][5:8] == ["4", "15 นาที", "30 นาที"]


def test_days_and_months_count_by_the_day_the_node_gave(days: ScriptedDays) -> None:
    assert days.client is not None
    expected = from_nodes(days, date(2026, 11, 30), date(2026, 12, 8))
    per_day = csv_rows(days.client, "from=30/11/2569&to=8/12/2569&by=day&table=periods")
    assert [r["วันที่ (ค.ศ.)"] for r in per_day] == [
        (date(2026, 11, 30) + timedelta(days=n)).isoformat() for n in range(9)
    ]
    assert per_day[0]["วันที่"] == "30 พ.ย. 2569"
    totals = [sum(int(r[h]) for r in per_day) for h in ("หนังสือส่ง", "หนังสือรับ", "ลงรับแล้ว")]
    assert totals == [sum(c[i] for c in expected.usage.values()) for i in range(3)]
    friday = next(r for r in per_day if r["วันที่ (ค.ศ.)"] == "2026-12-04")
    november_30 = per_day[0]
    assert (november_30["หนังสือส่ง"], november_30["หนังสือรับ"]) == ("1", "1")
    assert (friday["หนังสือส่ง"], friday["หนังสือรับ"], friday["ลงรับแล้ว"]) == ("7", "10", "4")
    per_month = csv_rows(days.client, "from=1/11/2569&to=31/12/2569&by=month&table=periods")
    assert [(r["เดือน (ค.ศ.)"], r["เดือน"], r["หนังสือส่ง"]) for r in per_month] == [
        ("2026-11", "พฤศจิกายน 2569", "1"),
        ("2026-12", "ธันวาคม 2569", "9"),
    ]


def test_one_provincial_group_shows_only_its_provinces(days: ScriptedDays) -> None:
    assert days.client is not None
    rows = csv_rows(days.client, "month=2569-12&group=16&table=provinces")
    assert [(r["จังหวัด"], r["หนังสือรับ"], r["ลงรับแล้ว"]) for r in rows] == [("เชียงราย", "4", "4")]
    central = csv_rows(days.client, "month=2569-12&group=0&table=offices")
    assert [(r["รหัสหน่วยงาน"], r["หนังสือส่ง"]) for r in central] == [(MINISTRY, "4")]
    urgent = csv_rows(days.client, "month=2569-12&group=16&table=urgent")[0]
    # เชียงราย: ก registered at 09.40, ช delivered after hours and registered Tuesday, ฉ returned
    assert (urgent["ลงรับภายในวันทำการเดียวกัน"], urgent["จำนวนที่นับ"]) == ("2", "2")
    assert urgent["ส่งคืนหรือไม่ถูกต้อง"] == "1"


def test_offices_idle_for_n_days_are_listed_with_their_last_use(days: ScriptedDays) -> None:
    assert days.client is not None
    week = csv_rows(days.client, "month=2569-12&table=inactive")
    assert [(r["รหัสหน่วยงาน"], r["ใช้งานล่าสุด"], r["ไม่ได้ใช้งาน (วัน)"]) for r in week] == [
        (SONGKHLA, "ไม่เคยใช้งาน", "8"),
    ]
    three = csv_rows(days.client, "month=2569-12&days=3&table=inactive")
    # เชียงใหม่ last sent a letter on Saturday 5 Dec at 10.00 and has registered nothing since
    assert [(r["รหัสหน่วยงาน"], r["ใช้งานล่าสุด"], r["ไม่ได้ใช้งาน (วัน)"]) for r in three] == [
        (SONGKHLA, "ไม่เคยใช้งาน", "8"),
        (CHIANG_MAI, "5 ธันวาคม 2569", "3"),
    ]


# -- the page and the Excel file ----------------------------------------------------------------


def table_rows(page: str, table_id: str) -> dict[str, list[str]]:
    """The cells' text of each row of a page's table, by the row's data-key."""
    match = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    assert match, f"no table {table_id}"
    rows = {}
    for key, body in re.findall(r'<tr data-key="([^"]*)"[^>]*>(.*?)</tr>', match.group(0), re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", body, re.S)
        rows[key] = [" ".join(re.sub(r"<[^>]+>", "", c).split()) for c in cells]
    return rows


def tile(page: str, tile_id: str) -> str:
    match = re.search(rf'id="{tile_id}"[^>]*>(.*?)</div>', page, re.S)
    assert match, tile_id
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_page_shows_the_numbers_charts_and_rules(days: ScriptedDays) -> None:
    assert days.client is not None
    answer = fetch(days.client, "/stats?month=2569-12")
    assert answer.status_code == 200
    page = text_of(answer)
    assert "ช่วงเวลา <strong>ธันวาคม 2569</strong>" in page
    assert tile(page, "total-sent") == "9 หนังสือส่ง"
    assert tile(page, "total-received") == "12 หนังสือรับ"
    assert tile(page, "total-registered") == "8 ลงรับแล้ว"
    assert tile(page, "total-urgent") == "60.0% ด่วนที่สุดลงรับภายในวันทำการเดียวกัน (3 จาก 5)"
    assert tile(page, "total-inactive") == "1 หน่วยงานไม่ได้ใช้งานเกิน 7 วัน"
    provinces = table_rows(page, "provinces")
    assert provinces["เชียงราย"] == ["16", "เชียงราย", "0", "4", "4"]
    assert provinces["ส่วนกลาง"] == ["-", "ส่วนกลาง", "4", "1", "0"]
    assert provinces["total"] == ["รวม", "9", "12", "8"]
    registration = table_rows(page, "registration")
    assert registration[URGENT] == [URGENT, "4", "6 ชม.", "3 วัน 17 ชม."]
    assert registration["ด่วนมาก"] == ["ด่วนมาก", "1", "2 ชม. 15 นาที", "2 ชม. 15 นาที"]
    assert registration["ปกติ"] == ["ปกติ", "3", "20 ชม. 30 นาที", "23 ชม."]
    assert registration["ด่วน"] == ["ด่วน", "0", "-", "-"]
    assert 'ยังอยู่ในวันทำการ (ยังไม่นับ)</dt><dd data-key="pending">1 ฉบับ' in page
    assert "หนังสือที่เข้าหลัง 16.30 น. หรือในวันหยุด" in page
    assert "วันหยุดที่ตั้งไว้: 7 ธันวาคม 2569" in page
    inactive = table_rows(page, "inactive")
    assert inactive[SONGKHLA][3] == "ไม่เคยใช้งาน (ลงทะเบียน 30 พฤศจิกายน 2569)"
    # three charts, each an accessible image whose description carries the numbers
    svgs = re.findall(r"<svg .*?</svg>", page, re.S)
    assert len(svgs) == 3
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.get("role") == "img" and root.get("aria-labelledby")
        assert root.find("{http://www.w3.org/2000/svg}title") is not None
    assert "เชียงราย: หนังสือส่ง 0, หนังสือรับ 4, ลงรับแล้ว 4" in svgs[0]
    assert " style=" not in page and "<script" not in page  # the console's CSP forbids both
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_a_viewer_sees_the_statistics_too(days: ScriptedDays) -> None:
    assert days.viewer is not None
    page = text_of(fetch(days.viewer, "/stats?month=2569-12&group=15"))
    assert "· กลุ่มจังหวัดภาคเหนือตอนบน 1\n" in page
    assert table_rows(page, "provinces")["เชียงใหม่"] == ["15", "เชียงใหม่", "3", "3", "1"]


def test_excel_export_has_every_table_with_thai_headers(days: ScriptedDays) -> None:
    assert days.client is not None
    answer = fetch(days.client, "/stats/export.xlsx?month=2569-12")
    assert answer.status_code == 200
    assert "saraban-stats-all-2569-12.xlsx" in answer.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(answer.get_data()))
    assert book.sheetnames == [
        "เงื่อนไข",
        "รายจังหวัด",
        "รายกลุ่มจังหวัด",
        "รายหน่วยงาน",
        "รายวันหรือรายเดือน",
        "ระยะเวลาลงรับ",
        "เวลาตั้งแต่ส่ง ตามชั้นความเร็ว",
        "เวลาตั้งแต่ส่ง รายจังหวัด",
        "เวลาตั้งแต่ส่ง รายกลุ่มจังหวัด",
        "เวลาตั้งแต่ส่ง รายหน่วยงาน",
        "ด่วนที่สุดลงรับในวันเดียวกัน",
        "หน่วยงานที่ไม่ได้ใช้งาน",
    ]
    about = {r[0]: r[1] for r in book["เงื่อนไข"].iter_rows(values_only=True)}
    assert about["ช่วงเวลา"] == "ธันวาคม 2569" and about["กลุ่มจังหวัด"] == "ทุกกลุ่ม"
    sheet = list(book["รายจังหวัด"].iter_rows(values_only=True))
    assert sheet[0] == ("กลุ่มที่", "กลุ่มจังหวัด", "จังหวัด", "หนังสือส่ง", "หนังสือรับ", "ลงรับแล้ว")
    from_csv = csv_rows(days.client, "month=2569-12&table=provinces")
    assert [(r[2], r[3], r[4], r[5]) for r in sheet[1:]] == [
        (r["จังหวัด"], int(r["หนังสือส่ง"]), int(r["หนังสือรับ"]), int(r["ลงรับแล้ว"])) for r in from_csv
    ]
    urgent = list(book["ด่วนที่สุดลงรับในวันเดียวกัน"].iter_rows(values_only=True))
    assert urgent[1] == (3, 5, 60.0, 1, 1)


PERIODS_AS_TYPED = {
    "nothing_means_this_month": ("", "ธันวาคม 2569"),
    "buddhist_year_month": ("month=2569-12", "ธันวาคม 2569"),
    "month_slash_year": ("month=12/2569", "ธันวาคม 2569"),
    "month_in_words": ("month=ธันวาคม 2569", "ธันวาคม 2569"),
    "thai_digits": ("month=๒๕๖๙-๑๒", "ธันวาคม 2569"),
    "day_slash_month_slash_year": ("from=1/12/2569&to=8/12/2569", "1 ธันวาคม 2569 ถึง 8 ธันวาคม 2569"),
    "iso_days": ("from=2026-12-01&to=2026-12-08", "1 ธันวาคม 2569 ถึง 8 ธันวาคม 2569"),
    "thai_dates": ("from=1 ธ.ค. 2569&to=8 ธันวาคม 2569", "1 ธันวาคม 2569 ถึง 8 ธันวาคม 2569"),
    "a_range_wins_over_the_month": (
        "month=2569-11&from=4/12/2569&to=4/12/2569",
        "4 ธันวาคม 2569",
    ),
}


@pytest.mark.parametrize("case", sorted(PERIODS_AS_TYPED))
def test_period_is_read_as_people_type_it(days: ScriptedDays, case: str) -> None:
    assert days.client is not None
    query, title = PERIODS_AS_TYPED[case]
    answer = fetch(days.client, f"/stats?{query}")
    assert answer.status_code == 200
    assert f"ช่วงเวลา <strong>{title}</strong>" in text_of(answer)


# -- bad filters and nobody signed in --------------------------------------------------------------

BAD_FILTERS = {
    "month_13": ("month=2569-13", "เดือนต้องอยู่ระหว่าง 1 ถึง 12"),
    "month_in_christian_era": ("month=2026-12", "ปีต้องเป็นพุทธศักราช"),
    "month_in_words_unknown": ("month=เดือนหน้า", "เดือนไม่ถูกต้อง"),
    "from_after_to": ("from=9/12/2569&to=1/12/2569", "วันที่เริ่มต้นต้องไม่อยู่หลังวันที่สิ้นสุด"),
    "letters_in_a_date": ("from=1/ธค/2569&to=8/12/2569", "วันที่เริ่มต้นไม่ถูกต้อง"),
    "no_such_day": ("from=31/11/2569&to=8/12/2569", "วันที่เริ่มต้นไม่มีในปฏิทิน"),
    "only_one_end": ("to=8/12/2569", "กรุณากรอกทั้งวันที่เริ่มต้นและวันที่สิ้นสุด"),
    "group_99": ("group=99", "ไม่มีกลุ่มจังหวัดที่เลือก"),
    "group_words": ("group=เหนือ", "ไม่มีกลุ่มจังหวัดที่เลือก"),
    "days_negative": ("days=-1", "จำนวนวันที่ไม่ได้ใช้งานต้องเป็นจำนวนเต็มตั้งแต่ 1 ถึง 3,650"),
    "days_huge": ("days=99999999999", "จำนวนวันที่ไม่ได้ใช้งานต้องเป็นจำนวนเต็มตั้งแต่ 1 ถึง 3,650"),
    "days_zero": ("days=0", "จำนวนวันที่ไม่ได้ใช้งานต้องเป็นจำนวนเต็มตั้งแต่ 1 ถึง 3,650"),
    "granularity": ("by=week", "กรุณาเลือกแสดงผลรายวันหรือรายเดือน"),
    "daily_for_two_years": ("from=1/1/2568&to=31/12/2569&by=day", "แสดงรายวันได้ไม่เกิน 366 วัน"),
    "overlong": ("month=" + "2" * 500, "เดือนยาวเกิน 40 ตัวอักษร"),
}


@pytest.mark.parametrize("path", ["/stats", "/stats/export.csv", "/stats/export.xlsx"])
@pytest.mark.parametrize("case", sorted(BAD_FILTERS))
def test_bad_filter_is_refused_in_thai_and_stores_nothing(
    days: ScriptedDays, case: str, path: str
) -> None:
    assert days.client is not None
    query, message = BAD_FILTERS[case]
    store = days.hub_store()
    try:
        before = {t: store.count(t) for t in sorted(TABLES)}
        answer = fetch(days.client, f"{path}?{query}")
        after = {t: store.count(t) for t in sorted(TABLES)}
    finally:
        store.close()
    assert answer.status_code == 400
    assert answer.mimetype == "text/html"
    assert message in text_of(answer)
    assert after == before


def test_unknown_csv_table_is_refused(days: ScriptedDays) -> None:
    assert days.client is not None
    answer = fetch(days.client, "/stats/export.csv?month=2569-12&table=passwords")
    assert answer.status_code == 400
    assert "ไม่มีตารางที่เลือก" in text_of(answer)


@pytest.mark.parametrize(
    "path", ["/stats", "/stats/export.csv", "/stats/export.xlsx?month=2569-12"]
)
def test_nobody_signed_in_is_sent_to_the_login_page(days: ScriptedDays, path: str) -> None:
    answer = fetch(days.fed.hub_app.test_client(), path)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/login")


# -- the rules, one by one -------------------------------------------------------------------------


def bkk(day: date, hour: int, minute: int = 0, second: int = 0) -> float:
    return datetime.combine(day, time(hour, minute, second), BANGKOK).timestamp()


FRIDAY, SATURDAY, MONDAY, TUESDAY = (date(2026, 12, d) for d in (4, 5, 7, 8))
CALENDAR = WorkCalendar(time(16, 30), frozenset({HOLIDAY}))

WORKING_DAY_CASES = {
    "friday_morning": (bkk(FRIDAY, 9), FRIDAY),
    "friday_at_the_end_of_the_day": (bkk(FRIDAY, 16, 30), FRIDAY),
    "friday_a_second_later": (bkk(FRIDAY, 16, 30, 1), TUESDAY),
    "saturday": (bkk(SATURDAY, 10), TUESDAY),
    "holiday_monday": (bkk(MONDAY, 9), TUESDAY),
    "tuesday_evening": (bkk(TUESDAY, 20), date(2026, 12, 9)),
}


@pytest.mark.parametrize("case", sorted(WORKING_DAY_CASES))
def test_delivery_belongs_to_a_working_day(case: str) -> None:
    delivered, day = WORKING_DAY_CASES[case]
    assert CALENDAR.working_day_of(delivered) == day
    assert CALENDAR.deadline_of(delivered) == bkk(day, 16, 30)


SAME_DAY_CASES = {
    "registered_by_1630": (bkk(FRIDAY, 9), bkk(FRIDAY, 16, 30), True),
    "registered_at_1631": (bkk(FRIDAY, 9), bkk(FRIDAY, 16, 31), False),
    "after_hours_registered_next_working_day": (bkk(FRIDAY, 17), bkk(TUESDAY, 8), True),
    "saturday_registered_on_saturday": (bkk(SATURDAY, 10), bkk(SATURDAY, 11), True),
    "saturday_registered_tuesday_evening": (bkk(SATURDAY, 10), bkk(TUESDAY, 17), False),
}


@pytest.mark.parametrize("case", sorted(SAME_DAY_CASES))
def test_same_working_day_rule(case: str) -> None:
    delivered, registered, same = SAME_DAY_CASES[case]
    assert CALENDAR.same_working_day(delivered, registered) is same


def test_calendar_reads_the_hub_settings() -> None:
    calendar = WorkCalendar.from_settings(
        {"WORKDAY_END": "15.45", "HOLIDAYS": "2026-12-07, 2026-12-10,"}
    )
    assert calendar.day_end == time(15, 45)
    assert calendar.holidays == {date(2026, 12, 7), date(2026, 12, 10)}
    assert not calendar.is_working_day(date(2026, 12, 10))
    for bad in ({"WORKDAY_END": "บ่ายสี่โมง"}, {"HOLIDAYS": "7/12/2569"}):
        with pytest.raises(ValueError):
            WorkCalendar.from_settings(bad)


PERCENTILE_CASES = {
    "one": ([600], 600, 600),
    "four_minutes": ([40, 10, 30, 20], 20, 40),
    "five": ([5, 1, 4, 2, 3], 3, 5),
    "ten": ([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 5, 9),
    "ties": ([7, 7, 7, 100], 7, 100),
}
"""Durations in minutes -> (median, 90th percentile) by nearest rank."""


@pytest.mark.parametrize("case", sorted(PERCENTILE_CASES))
def test_registration_time_percentiles_by_nearest_rank(tmp_path: Path, case: str) -> None:
    minutes, median, p90 = PERCENTILE_CASES[case]
    store = HubStore.open(tmp_path / "hub.sqlite")
    try:
        start = bkk(FRIDAY, 9)
        store.add_letter_facts([("other", KHON_KAEN, start, "2026-12-04", "ด่วน", "ภายนอก", 1)])
        for i, m in enumerate(minutes):
            letter = f"letter-{i}"
            store.add_letter_facts([(letter, CHIANG_MAI, start, "2026-12-04", URGENT, "ภายนอก", 1)])
            store.add_receipt_facts(
                [
                    (f"d{i}", letter, CHIANG_RAI, CHIANG_MAI, "delivered", start, "2026-12-04"),
                    (
                        f"r{i}",
                        letter,
                        CHIANG_RAI,
                        CHIANG_MAI,
                        "registered",
                        start + m * 60,
                        "2026-12-04",
                    ),
                ]
            )
        times = {t.label: t for t in registration_times(store, Period.month(2026, 12), None)}
    finally:
        store.close()
    assert (times[URGENT].count, times[URGENT].median, times[URGENT].p90) == (
        len(minutes),
        median * 60,
        p90 * 60,
    )
    assert (times["ด่วน"].count, times["ด่วน"].median) == (0, None)


def test_chart_escapes_labels_and_is_well_formed_svg() -> None:
    svg = charts.horizontal_bars(
        "chart-x",
        'ทดสอบ <b>"&',
        ["<script>alert(1)</script>", "ศูนย์ราชการ & จังหวัด"],
        [charts.Series("หนังสือส่ง", charts.BLUE, (3.0, 12.0))],
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = ET.fromstring(str(svg))
    assert root.get("role") == "img"
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert titles[0] == 'ทดสอบ <b>"&'
    assert "ศูนย์ราชการ & จังหวัด หนังสือส่ง: 12" in titles


# -- facts at ingest and the backfill ---------------------------------------------------------


def receipt(office: Any, letter: Envelope, status: str, at: str, **fields: Any) -> Envelope:
    origin = parse_canonical(letter.body)["origin"]
    msg = Receipt(
        **office._next(), letter=letter.env_id, letter_origin=origin, status=status, at=at, **fields
    )
    return office.seal("receipt", msg.to_dict())


def facts(hub: Hub) -> dict[str, list[tuple[Any, ...]]]:
    with hub.store() as s:
        return {
            "letters": sorted(tuple(r) for r in s.conn.execute("SELECT * FROM letter_facts")),
            "receipts": sorted(tuple(r) for r in s.conn.execute("SELECT * FROM receipt_facts")),
        }


def test_facts_follow_routing_and_a_restarted_hub_backfills_them(tmp_path: Path) -> None:
    clock = Clock(moment(12, 4, 12))
    hub = Hub(tmp_path, clock)
    cm, cr, kk = hub.office(CHIANG_MAI), hub.office(CHIANG_RAI), hub.office(KHON_KAEN)
    letter = cm.letter([CHIANG_RAI], speed=URGENT, created_at="2026-12-04T09:00:00+07:00")
    odd = cm.letter([KHON_KAEN], created_at="เมื่อวานนี้")  # not a time: the hub's time counts
    cm.push_ok(letter, odd)
    cr.push_ok(
        receipt(cr, letter, "delivered", "2026-12-04T02:10:00Z"),
        receipt(cr, letter, "registered", "2026-12-04T09:30:00+07:00", receipt_number="7"),
    )
    stray = kk.push_ok(receipt(kk, letter, "delivered", "2026-12-04T09:20:00+07:00"))
    assert stray[0]["status"] == "accepted" and "not routed" in stray[0]["detail"]
    recorded = facts(hub)
    assert [(r[1], r[3], r[4], r[6]) for r in recorded["letters"]] == sorted(
        [(CHIANG_MAI, "2026-12-04", URGENT, 1), (CHIANG_MAI, "2026-12-04", "", 1)]
    )
    odd_row = next(r for r in recorded["letters"] if r[0] == odd.env_id)
    assert odd_row[2] == clock()
    assert sorted((r[1], r[2], r[5]) for r in recorded["receipts"]) == [
        (CHIANG_RAI, "delivered", moment(12, 4, 9, 10)),
        (CHIANG_RAI, "registered", moment(12, 4, 9, 30)),
    ]  # the stray receipt from ขก 0017, not a recipient, is not counted

    with hub.store() as s, s.write():
        s.conn.execute("DELETE FROM letter_facts")
        s.conn.execute("DELETE FROM receipt_facts")
        s.conn.execute("DELETE FROM meta WHERE key = 'stats_backfilled'")
    create_app({"CLOCK": clock}, instance_path=hub.instance)
    assert facts(hub) == recorded


def test_a_deliveries_envelope_counts_each_letter_it_names_and_an_older_file_replays_it(
    tmp_path: Path,
) -> None:
    clock = Clock(moment(12, 4, 12))
    hub = Hub(tmp_path, clock)
    cm, cr = hub.office(CHIANG_MAI), hub.office(CHIANG_RAI)
    hub.office(KHON_KAEN)  # enrolled: letters are routed to it
    first, second = cm.letter([CHIANG_RAI]), cm.letter([CHIANG_RAI, KHON_KAEN])
    elsewhere = cm.letter([KHON_KAEN])
    cm.push_ok(first, second, elsewhere)
    [result] = cr.push_ok(cr.deliveries(first, second, elsewhere, at="2026-12-04T02:10:00Z"))
    assert result["status"] == "accepted"
    assert "1 letter(s)" in result["detail"] and elsewhere.env_id[:12] in result["detail"]
    recorded = facts(hub)
    assert sorted((r[0], r[1], r[2], r[5]) for r in recorded["receipts"]) == sorted(
        (letter.env_id, CHIANG_RAI, "delivered", moment(12, 4, 9, 10)) for letter in (first, second)
    )
    with hub.store() as s:
        delivered = {
            (letter.env_id, r["recipient"]): r["delivered_at"]
            for letter in (first, second, elsewhere)
            for r in s.delivery_times_of(letter.env_id)
        }
        assert [a["kind"] for a in s.alerts()] == ["misrouted_receipt"]
    assert delivered == {
        (first.env_id, CHIANG_RAI): moment(12, 4, 9, 10),
        (second.env_id, CHIANG_RAI): moment(12, 4, 9, 10),
        (second.env_id, KHON_KAEN): None,
        (elsewhere.env_id, KHON_KAEN): None,
    }
    assert kinds(cm.pull_all()) == ["deliveries"]

    with hub.store() as s, s.write():  # the file as a hub that knew only receipts left it
        s.conn.execute("DROP TABLE receipt_facts")
        s.conn.execute(
            "CREATE TABLE receipt_facts (letter TEXT NOT NULL, office TEXT NOT NULL,"
            " status TEXT NOT NULL, env_id TEXT NOT NULL UNIQUE, sender TEXT NOT NULL,"
            " at REAL NOT NULL, day TEXT NOT NULL, PRIMARY KEY (letter, office, status))"
        )
        s.conn.execute("DELETE FROM meta WHERE key IN ('stats_backfilled', 'schema_version')")
    create_app({"CLOCK": clock}, instance_path=hub.instance)
    assert facts(hub) == recorded
