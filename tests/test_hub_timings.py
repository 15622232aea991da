"""How long letters take, measured from the moment the sender's clerk sent them: to the hub,
to the recipient's inbox and to ลงรับ, with the median and 95th percentile by nearest rank.

Signed letters and receipts go through the hub's push API on a movable clock (Friday 4 Dec
2569, Bangkok); the figures are read back as other code reads them
(:func:`hub.monitoring.timings.delivery_timings`), as ``/metrics`` shows them and as an
operator sees them on the statistics page and in its CSV and Excel files.
"""

from __future__ import annotations

import csv
import io
import math
import random
import re
from datetime import UTC, datetime
from typing import Any

import openpyxl
import pytest
from console_support import console_login, text_of
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock, bangkok
from test_hub_support import METRICS_AUTH, Hub, Office

from hub.app import create_app
from hub.monitoring.timing_facts import CLOCK_ALLOWANCE
from hub.monitoring.timings import delivery_timings, thai_span
from protocol.canonical import parse_canonical
from protocol.envelope import Envelope
from protocol.messages import Receipt

URGENT_ENOUGH = "ด่วน"
SENT = bangkok(2026, 12, 4, 9, 59, 57)
"""The clerk at เชียงใหม่ presses ส่ง; the node reaches the hub three seconds later."""


def iso(moment: float) -> str:
    """A Unix time as the ISO text a node signs (UTC)."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def december(hub: Hub) -> dict[str, Any]:
    with hub.store() as s:
        return delivery_timings(s, bangkok(2026, 12, 1), bangkok(2027, 1, 1))


def signed_receipt(
    office: Office, letter: Envelope, at: float, status: str, **fields: Any
) -> Envelope:
    """A recipient's receipt saying ``at`` on its clock."""
    msg = Receipt(
        **office._next(),
        letter=letter.env_id,
        letter_origin=parse_canonical(letter.body)["origin"],
        status=status,
        at=iso(at),
        **fields,
    )
    return office.seal("receipt", msg.to_dict())


def reply(office: Office, letter: Envelope, status: str, at: float, **fields: Any) -> None:
    office.push_ok(signed_receipt(office, letter, at, status, **fields))


def one_letter(hub: Hub, clock: Clock) -> dict[str, Any]:
    """เชียงใหม่ sends a ด่วน letter to เชียงราย and ขอนแก่น; เชียงราย registers it (ลงรับ),
    ขอนแก่น returns it. Returns the offices and the letter."""
    cm, cr, kk = hub.office(CHIANG_MAI), hub.office(CHIANG_RAI), hub.office(KHON_KAEN)
    letter = cm.letter([CHIANG_RAI, KHON_KAEN], speed=URGENT_ENOUGH, created_at=iso(SENT))
    clock.t = bangkok(2026, 12, 4, 10)
    cm.push_ok(letter)
    clock.t = bangkok(2026, 12, 4, 10, 30)
    reply(cr, letter, "delivered", bangkok(2026, 12, 4, 10, 1, 2))
    reply(kk, letter, "delivered", bangkok(2026, 12, 4, 10, 20))
    clock.t = bangkok(2026, 12, 4, 11)
    reply(kk, letter, "returned", bangkok(2026, 12, 4, 10, 55), reason="ไม่ใช่หน่วยงานที่รับผิดชอบ")
    clock.t = bangkok(2026, 12, 4, 12, 15)
    reply(cr, letter, "registered", bangkok(2026, 12, 4, 12, 10), receipt_number="ชร 0017/412")
    # A second delivered receipt (a node restored from an old copy) changes nothing.
    reply(cr, letter, "delivered", bangkok(2026, 12, 4, 12, 14))
    return {"cm": cm, "cr": cr, "kk": kk, "letter": letter}


def test_times_run_from_the_moment_the_clerk_pressed_send(hub: Hub, clock: Clock) -> None:
    letter = one_letter(hub, clock)["letter"]
    with hub.store() as s:
        rows = {r["recipient"]: r for r in s.delivery_times_of(letter.env_id)}
    hub_at = bangkok(2026, 12, 4, 10)
    assert {k: rows[CHIANG_RAI][k] for k in rows[CHIANG_RAI] if k != "letter"} == {
        "recipient": CHIANG_RAI,
        "origin": CHIANG_MAI,
        "speed": URGENT_ENOUGH,
        "sent_at": SENT,
        "sent_replaced": 0,
        "hub_at": hub_at,
        "delivered_at": bangkok(2026, 12, 4, 10, 1, 2),
        "delivered_hub_at": bangkok(2026, 12, 4, 10, 30),
        "registered_at": bangkok(2026, 12, 4, 12, 10),
        "registered_hub_at": bangkok(2026, 12, 4, 12, 15),
        "receipt_number": "ชร 0017/412",
        "returned_at": None,
        "returned_hub_at": None,
    }
    khon_kaen = rows[KHON_KAEN]
    assert (khon_kaen["delivered_at"], khon_kaen["registered_at"], khon_kaen["returned_at"]) == (
        bangkok(2026, 12, 4, 10, 20),
        None,
        bangkok(2026, 12, 4, 10, 55),
    )

    figures = december(hub)
    spans = figures["overall"]
    assert spans["to_hub"] == {"count": 1, "p50_s": 3.0, "p95_s": 3.0}
    # the wait for เชียงราย's sync is in: 65 s from ส่ง, not 0 from the node's storing it
    assert spans["to_inbox"] == {"count": 2, "p50_s": 65.0, "p95_s": 1203.0}
    assert spans["to_registered"] == {"count": 1, "p50_s": 7803.0, "p95_s": 7803.0}
    assert figures["by_speed"][URGENT_ENOUGH] == spans
    assert figures["by_speed"]["ปกติ"]["to_inbox"] == {"count": 0, "p50_s": None, "p95_s": None}
    assert (figures["send_to_inbox_p95_s"], figures["send_to_registered_p95_s"]) == (1203.0, 7803.0)
    assert (figures["send_to_inbox_p50_s"], figures["send_to_registered_p50_s"]) == (65.0, 7803.0)
    assert {
        k: figures[k]
        for k in ("letters", "sent_clock_replaced", "deliveries", "delivered", "registered")
    } == {"letters": 1, "sent_clock_replaced": 0, "deliveries": 2, "delivered": 2, "registered": 1}
    assert figures["returned"] == 1
    with hub.store() as s:
        november = delivery_timings(s, bangkok(2026, 11, 1), bangkok(2026, 12, 1))
    assert november["letters"] == 0 and november["send_to_inbox_p95_s"] is None


def test_a_sending_clock_set_ahead_gives_way_to_the_hub_time_and_is_counted(
    hub: Hub, clock: Clock
) -> None:
    cm, cr = hub.office(CHIANG_MAI), hub.office(CHIANG_RAI)
    now = bangkok(2026, 12, 4, 10)
    clock.t = now
    ahead = cm.letter([CHIANG_RAI], subject="นาฬิกาเร็วไปสองชั่วโมง", created_at=iso(now + 7200))
    slightly = cm.letter(
        [CHIANG_RAI], subject="นาฬิกาเร็วไปสองนาที", created_at=iso(now + CLOCK_ALLOWANCE - 60)
    )
    nonsense = cm.letter([CHIANG_RAI], subject="เวลาอ่านไม่ได้", created_at="เมื่อวานนี้")
    cm.push_ok(ahead, slightly, nonsense)
    clock.t = now + 600
    reply(cr, ahead, "delivered", now + 300)
    reply(cr, slightly, "delivered", now + 300)
    reply(cr, nonsense, "delivered", now + 7200)  # the recipient's clock is ahead too
    with hub.store() as s:
        sent = {
            letter.env_id: s.delivery_times_of(letter.env_id)[0]
            for letter in (ahead, slightly, nonsense)
        }
    assert (sent[ahead.env_id]["sent_at"], sent[ahead.env_id]["sent_replaced"]) == (now, 1)
    assert (sent[slightly.env_id]["sent_at"], sent[slightly.env_id]["sent_replaced"]) == (
        now + CLOCK_ALLOWANCE - 60,
        0,
    )
    assert (sent[nonsense.env_id]["sent_at"], sent[nonsense.env_id]["sent_replaced"]) == (now, 1)
    assert sent[nonsense.env_id]["delivered_at"] == now + 600  # the hub's time of the receipt
    figures = december(hub)
    assert figures["sent_clock_replaced"] == 2
    # the letter stamped a little ahead reached the hub and the inbox in no time, not less
    assert figures["overall"]["to_hub"] == {"count": 3, "p50_s": 0.0, "p95_s": 0.0}
    assert figures["overall"]["to_inbox"] == {"count": 3, "p50_s": 300.0, "p95_s": 600.0}


def nearest_rank(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(percent * len(ordered) / 100) - 1]


PERCENTILE_CASES = {
    "": ([1], 1, 1),
    "ด่วน": ([40, 10, 30, 20], 20, 40),
    "ด่วนมาก": ([5, 1, 4, 2, 3], 3, 5),
    "ด่วนที่สุด": (list(range(1, 21)), 10, 19),
}
"""Per speed class: minutes from ส่ง to the inbox -> (median, 95th percentile) by nearest
rank. Of 20 spans the 95th percentile is the 19th, not the largest nor a value between."""


def test_percentiles_are_the_nearest_rank_per_speed_class(hub: Hub, clock: Clock) -> None:
    cm, cr = hub.office(CHIANG_MAI), hub.office(CHIANG_RAI)
    clock.t = SENT
    spans = [(speed, m) for speed, (minutes, _, _) in PERCENTILE_CASES.items() for m in minutes]
    random.Random(2569).shuffle(spans)
    letters = [
        (cm.letter([CHIANG_RAI], subject=f"หนังสือที่ {i}", speed=speed, created_at=iso(SENT)), m)
        for i, (speed, m) in enumerate(spans)
    ]
    cm.push_ok(*(letter for letter, _ in letters))
    clock.t = SENT + 3600
    cr.push_ok(*(signed_receipt(cr, letter, SENT + m * 60, "delivered") for letter, m in letters))
    by_speed = december(hub)["by_speed"]
    for speed, (minutes, median, p95) in PERCENTILE_CASES.items():
        assert (median, p95) == (nearest_rank(minutes, 50), nearest_rank(minutes, 95))
        assert by_speed[speed or "ปกติ"]["to_inbox"] == {
            "count": len(minutes),
            "p50_s": median * 60.0,
            "p95_s": p95 * 60.0,
        }, speed
    assert by_speed["ด่วนภายใน"]["to_inbox"]["count"] == 0


THAI_SPANS = {
    "three_seconds": (3, "3 วินาที"),
    "a_minute_and_five_seconds": (65, "1 นาที 5 วินาที"),
    "a_minute_exactly": (60, "1 นาที"),
    "two_hours_ten_minutes": (2 * 3600 + 10 * 60 + 3, "2 ชม. 10 นาที"),
    "seven_seconds_never_hundredths_of_an_hour": (7.2, "7 วินาที"),
    "two_hours_exactly": (7200, "2 ชม."),
    "a_day_and_three_hours": (86400 + 3 * 3600 + 59, "1 วัน 3 ชม."),
    "under_half_a_second": (0.4, "ไม่ถึง 1 วินาที"),
    "nothing_measured": (None, "-"),
}


@pytest.mark.parametrize("case", sorted(THAI_SPANS))
def test_spans_are_said_in_thai_words(case: str) -> None:
    seconds, words = THAI_SPANS[case]
    assert thai_span(seconds) == words


def test_an_older_hub_database_gets_its_timings_from_the_feed(hub: Hub, clock: Clock) -> None:
    one_letter(hub, clock)
    with hub.store() as s:
        before = sorted(tuple(r) for r in s.conn.execute("SELECT * FROM delivery_times"))
        facts = s.count("letter_facts")
    with hub.store() as s, s.write():  # the file as a hub before the timings left it
        s.conn.execute("DROP TABLE delivery_times")
        s.conn.execute("DELETE FROM meta WHERE key = 'timings_backfilled'")
        s.conn.execute("DELETE FROM meta WHERE key = 'schema_version'")  # older hubs had none
    create_app({"CLOCK": clock}, instance_path=hub.instance)
    with hub.store() as s:
        after = sorted(tuple(r) for r in s.conn.execute("SELECT * FROM delivery_times"))
        assert s.count("letter_facts") == facts
    assert len(before) == 2 and after == before
    create_app({"CLOCK": clock}, instance_path=hub.instance)  # once only
    assert hub.count("delivery_times") == 2


def test_metrics_carry_the_quantiles_of_the_last_week(hub: Hub, clock: Clock) -> None:
    one_letter(hub, clock)
    answer = hub.send("GET", "/metrics", headers=METRICS_AUTH)
    assert answer.status == 200
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(answer.body.decode("utf-8")):
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    quantiles = {
        (d["measure"], d["speed"], d["quantile"]): v
        for labels, v in samples["saraban_hub_letter_timing_seconds"].items()
        for d in [dict(labels)]
    }
    assert quantiles[("to_inbox", "all", "0.95")] == 1203
    assert quantiles[("to_registered", URGENT_ENOUGH, "0.5")] == 7803
    assert ("to_inbox", "ปกติ", "0.5") not in quantiles  # nothing measured: no quantile
    counts = {
        tuple(v for _, v in labels): n
        for labels, n in samples["saraban_hub_letter_timing_count"].items()
    }
    assert counts[("to_hub", "all")] == 1 and counts[("to_inbox", "ปกติ")] == 0


def cells(page: str, table_id: str) -> dict[str, list[str]]:
    """The cells' text of each row of a page's table, by the row's data-key."""
    match = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    assert match, f"no table {table_id}"
    rows = {}
    for key, body in re.findall(r'<tr data-key="([^"]*)"[^>]*>(.*?)</tr>', match.group(0), re.S):
        found = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", body, re.S)
        rows[key] = [" ".join(re.sub(r"<[^>]+>", "", c).split()) for c in found]
    return rows


def test_statistics_page_shows_the_times_from_sending(hub: Hub, clock: Clock) -> None:
    one_letter(hub, clock)
    ops = console_login(hub)
    answer = ops.get("/stats?month=2569-12")
    assert answer.status_code == 200
    page = text_of(answer)
    assert "ระยะเวลาตั้งแต่ผู้ส่งส่งหนังสือ" in page
    assert "ตั้งแต่ส่งถึงลงรับ" in page
    speeds = cells(page, "timing-speeds")
    assert speeds[URGENT_ENOUGH] == [
        URGENT_ENOUGH,
        *("1", "3 วินาที", "3 วินาที"),
        *("2", "1 นาที 5 วินาที", "20 นาที 3 วินาที"),
        *("1", "2 ชม. 10 นาที", "2 ชม. 10 นาที"),
    ]
    assert speeds["ปกติ"] == ["ปกติ", "0", "-", "-", "0", "-", "-", "0", "-", "-"]
    assert speeds["all"][0] == "ทุกชั้นความเร็ว" and speeds["all"][1:] == speeds[URGENT_ENOUGH][1:]
    provinces = cells(page, "timing-provinces")
    nothing = ["0", "-", "-"]
    # time to the hub is the sender's; to the inbox and to ลงรับ each recipient's
    assert provinces["เชียงใหม่"] == ["15", "เชียงใหม่", "1", "3 วินาที", "3 วินาที", *nothing * 2]
    assert provinces["เชียงราย"][2:] == [
        *nothing,
        *("1", "1 นาที 5 วินาที", "1 นาที 5 วินาที"),
        *("1", "2 ชม. 10 นาที", "2 ชม. 10 นาที"),
    ]
    assert provinces["ขอนแก่น"][5:] == ["1", "20 นาที 3 วินาที", "20 นาที 3 วินาที", *nothing]
    groups = cells(page, "timing-groups")
    assert groups["16"][:2] == ["16", "กลุ่มจังหวัดภาคเหนือตอนบน 2"]
    assert groups["16"][2:] == provinces["เชียงราย"][2:]
    offices = cells(page, "timing-offices")
    assert offices[CHIANG_RAI][2:] == provinces["เชียงราย"][2:]
    assert re.search(r'data-key="returned">1 ปลายทาง', page)
    assert re.search(r'data-key="delivered">2 จาก 2 ปลายทาง', page)
    assert re.search(r'data-key="replaced">0 ฉบับ', page)
    assert not re.search(r"[0-9]\.[0-9]+ ชม\.", page)  # never "0.002 ชม."

    one_group = text_of(ops.get("/stats?month=2569-12&group=16"))
    assert list(cells(one_group, "timing-provinces")) == ["เชียงราย"]
    assert cells(one_group, "timing-speeds")[URGENT_ENOUGH][1:4] == ["0", "-", "-"]


def csv_table(ops: FlaskClient, name: str) -> list[dict[str, str]]:
    answer = ops.get(f"/stats/export.csv?month=2569-12&table={name}")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(answer.get_data().decode("utf-8-sig"))))


def test_exports_carry_the_times_in_seconds(hub: Hub, clock: Clock) -> None:
    one_letter(hub, clock)
    ops = console_login(hub)
    rows = {r["ชั้นความเร็ว"]: r for r in csv_table(ops, "timing_speeds")}
    urgent = rows[URGENT_ENOUGH]
    assert urgent["ถึงศูนย์กลาง: มัธยฐาน (วินาที)"] == "3.0"
    assert urgent["ถึงหน่วยงานผู้รับ: จำนวน"] == "2"
    assert urgent["ถึงหน่วยงานผู้รับ: เปอร์เซ็นไทล์ที่ 95 (วินาที)"] == "1203.0"
    assert urgent["ถึงลงรับ: มัธยฐาน (วินาที)"] == "7803.0"
    assert rows["ปกติ"]["ถึงลงรับ: มัธยฐาน (วินาที)"] == ""
    assert rows["ทั้งหมด"]["ถึงหน่วยงานผู้รับ: จำนวน"] == "2"
    by_province = {r["จังหวัด"]: r for r in csv_table(ops, "timing_provinces")}
    assert by_province["เชียงราย"]["ถึงลงรับ: เปอร์เซ็นไทล์ที่ 95 (วินาที)"] == "7803.0"

    book = openpyxl.load_workbook(
        io.BytesIO(ops.get("/stats/export.xlsx?month=2569-12").get_data())
    )
    sheet = list(book["เวลาตั้งแต่ส่ง ตามชั้นความเร็ว"].iter_rows(values_only=True))
    assert sheet[0][:4] == (
        "ชั้นความเร็ว",
        "ถึงศูนย์กลาง: จำนวน",
        "ถึงศูนย์กลาง: มัธยฐาน (วินาที)",
        "ถึงศูนย์กลาง: เปอร์เซ็นไทล์ที่ 95 (วินาที)",
    )
    by_label = {row[0]: row for row in sheet[1:]}
    assert by_label[URGENT_ENOUGH][1:] == (1, 3, 3, 2, 65, 1203, 1, 7803, 7803)
    assert {"เวลาตั้งแต่ส่ง รายจังหวัด", "เวลาตั้งแต่ส่ง รายกลุ่มจังหวัด", "เวลาตั้งแต่ส่ง รายหน่วยงาน"} <= set(
        book.sheetnames
    )
