"""The nightly numbering reconciliation: the dated report, what got worse, the scheduler that
runs it at 02:00 Bangkok time, the console's numbering page and `saraban hub reconcile`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from console_support import console_login, post_form, text_of
from support import CHIANG_MAI, Clock
from test_hub_support import Hub, Office

from hub.jobs import (
    ALERTS_JOB,
    HEARTBEAT_JOB,
    RECONCILE_JOB,
    build_scheduler,
    nightly_reconciliation,
    parse_time_of_day,
    refresh_condition_alerts,
    start_scheduler,
)
from hub.numbering.reconcile import ReportNotWritten, run_nightly, worsened
from protocol.thai import BANGKOK
from scripts.cli.main import main

OWN = f"{CHIANG_MAI}|ส่ง|2569"
DAY = 24 * 3600
FIRST_DAY = "2026-11-18"  # the Bangkok day of support.START
NEXT_DAY = "2026-11-19"


@pytest.fixture
def cm(hub: Hub) -> Office:
    return hub.office(CHIANG_MAI)


def run(hub: Hub) -> Any:
    with hub.store() as s:
        return run_nightly(s, hub.app.config, hub.clock())


def report_dir(hub: Hub) -> Path:
    return Path(hub.app.config["REPORT_DIR"])


def numbering_alerts(hub: Hub) -> list[dict[str, Any]]:
    with hub.store() as s:
        return [a for a in s.alerts(None) if a["kind"] == "numbering_worse"]


def row(register: str = OWN, gaps: list[int] | None = None, **counts: int) -> dict[str, Any]:
    return {
        "register": register,
        "gaps": gaps or [],
        "duplicates": counts.get("duplicates", 0),
        "provisional_pending": counts.get("provisional_pending", 0),
    }


# -- what counts as worse -------------------------------------------------------------------

WORSENED = [
    pytest.param([row(gaps=[2])], [row(gaps=[2])], {}, id="unchanged"),
    pytest.param([row(gaps=[2])], [row(gaps=[2, 4])], {"gaps": (1, 2)}, id="a-gap-more"),
    pytest.param(
        [row(gaps=[2])], [row(gaps=[5])], {"gaps": (1, 1)}, id="gap-filled-another-opened"
    ),
    pytest.param([row(gaps=[2, 3])], [row(gaps=[3])], {}, id="gap-filled"),
    pytest.param([row()], [row(duplicates=1)], {"duplicates": (0, 1)}, id="a-duplicate"),
    pytest.param(
        [row(provisional_pending=1)],
        [row(provisional_pending=2)],
        {"provisional_pending": (1, 2)},
        id="more-provisionals-pending",
    ),
    pytest.param([row(provisional_pending=2)], [row(provisional_pending=1)], {}, id="fewer"),
    pytest.param([row(gaps=[4])], [], {}, id="register-gone"),
    pytest.param(
        [],
        [row(gaps=[4], duplicates=2)],
        {"gaps": (0, 1), "duplicates": (0, 2)},
        id="new-register-with-problems",
    ),
    pytest.param([], [row(provisional_pending=3)], {}, id="new-register-only-provisionals"),
]


@pytest.mark.parametrize(("previous", "current", "expected"), WORSENED)
def test_worsened_flags_what_got_worse_per_register(
    previous: list[dict[str, Any]],
    current: list[dict[str, Any]],
    expected: dict[str, tuple[int, int]],
) -> None:
    found = worsened(previous, current)
    if not expected:
        assert found == []
        return
    assert [w["register"] for w in found] == [OWN]
    assert found[0]["new_register"] is (not previous)
    changes = found[0]["changes"]
    assert {p: (c["before"], c["after"]) for p, c in changes.items()} == expected


def test_worsened_names_the_new_gaps_as_ranges_and_keeps_only_the_first_twenty() -> None:
    found = worsened([row(gaps=[2])], [row(gaps=[2, *range(10, 110, 2)])])
    gaps = found[0]["changes"]["gaps"]
    assert gaps["new_gaps"] == [[n, n] for n in range(10, 50, 2)]
    assert gaps["new_gap_count"] == 50


def test_worsened_compares_gap_ranges_with_the_bare_numbers_of_older_reports() -> None:
    before = row(gaps=[2, 3, 4])  # a report stored when gaps were listed number by number
    after = {**row(), "gaps": [[2, 1_000_000]], "gap_count": 999_999}
    [item] = worsened([before], [after])
    assert item["changes"]["gaps"] == {
        "before": 3,
        "after": 999_999,
        "new_gaps": [[5, 1_000_000]],
        "new_gap_count": 999_996,
    }


# -- the nightly run --------------------------------------------------------------------------


def test_nightly_run_writes_the_dated_file_and_keeps_the_report(hub: Hub, cm: Office) -> None:
    cm.push_ok(cm.register_entry(OWN, 1), cm.register_entry(OWN, 3))
    result = run(hub)
    assert result.day == FIRST_DAY
    assert result.path == report_dir(hub) / f"numbering-{FIRST_DAY}.json"
    document = json.loads(result.path.read_text(encoding="utf-8"))
    assert document["day"] == FIRST_DAY
    assert document["previous_day"] is None
    [register] = document["registers"]
    assert (register["register"], register["issued"], register["gaps"]) == (OWN, 2, [[2, 2]])
    assert register["gap_count"] == 1
    assert [p.name for p in report_dir(hub).iterdir()] == [f"numbering-{FIRST_DAY}.json"]
    with hub.store() as s:
        stored = s.numbering_report_of(FIRST_DAY)
    assert stored is not None
    assert json.loads(stored["report"]) == document["registers"]
    # The first report compares with nothing: a register that starts with a gap is flagged.
    assert [w["register"] for w in result.worse] == [OWN]


def test_a_night_that_got_worse_raises_one_alert_naming_the_register(
    hub: Hub, clock: Clock, cm: Office
) -> None:
    cm.push_ok(cm.register_entry(OWN, 1), cm.register_entry(OWN, 2))
    assert run(hub).worse == []
    assert numbering_alerts(hub) == []

    clock.advance(DAY)
    cm.push_ok(cm.register_entry(OWN, 5))  # 3 and 4 now missing
    cm.push_ok(cm.register_entry(OWN, 1))  # refused: already issued
    result = run(hub)
    assert result.day == NEXT_DAY
    assert result.previous_day == FIRST_DAY
    [item] = result.worse
    assert item["register"] == OWN
    assert item["changes"]["gaps"]["new_gaps"] == [[3, 4]]
    assert item["changes"]["duplicates"] == {"before": 0, "after": 1}
    [alert] = numbering_alerts(hub)
    assert alert["status"] == "open"
    assert OWN in alert["detail"]
    assert "19 พฤศจิกายน 2569" in alert["detail"]
    with hub.store() as s:
        flags = json.loads(s.numbering_report_of(NEXT_DAY)["worse"])  # type: ignore[index]
    assert flags == result.worse

    clock.advance(3600)  # the same Bangkok day: the same report, the same alert
    again = run(hub)
    assert again.worse == result.worse
    assert len(numbering_alerts(hub)) == 1
    assert hub.count("numbering_reports") == 2


def test_running_twice_the_same_day_keeps_one_report_the_latest(
    hub: Hub, clock: Clock, cm: Office
) -> None:
    cm.push_ok(cm.register_entry(OWN, 1))
    run(hub)
    clock.advance(3600)
    cm.push_ok(cm.register_entry(OWN, 2))
    second = run(hub)
    assert hub.count("numbering_reports") == 1
    document = json.loads(second.path.read_text(encoding="utf-8"))
    assert document["registers"][0]["issued"] == 2
    assert len(list(report_dir(hub).iterdir())) == 1  # no temporary file left behind


def test_a_report_that_cannot_be_written_stores_nothing(tmp_path: Path, clock: Clock) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    hub = Hub(tmp_path, clock, REPORT_DIR=str(blocker / "reports"))
    office = hub.office(CHIANG_MAI)
    office.push_ok(office.register_entry(OWN, 2))  # a gap: would raise an alert
    with pytest.raises(ReportNotWritten):
        run(hub)
    assert hub.counts("numbering_reports", "alerts") == {"numbering_reports": 0, "alerts": 0}


# -- the scheduler ----------------------------------------------------------------------------


def test_the_nightly_job_fires_at_two_in_the_morning_bangkok(hub: Hub, clock: Clock) -> None:
    scheduler = build_scheduler(hub.app)
    job = scheduler.get_job(RECONCILE_JOB)
    assert job is not None
    moment = datetime.fromtimestamp(clock(), BANGKOK)  # 18 Nov 2026, after 02:00
    fire = job.trigger.get_next_fire_time(None, moment)
    assert fire == datetime(2026, 11, 19, 2, 0, tzinfo=BANGKOK)
    assert fire.utcoffset() == timedelta(hours=7)
    alerts_job = scheduler.get_job(ALERTS_JOB)
    assert alerts_job is not None
    assert alerts_job.trigger.interval == timedelta(minutes=1)

    scheduler.start(paused=True)
    try:
        planned = scheduler.get_job(RECONCILE_JOB).next_run_time
        assert (planned.hour, planned.minute, str(planned.tzinfo)) == (2, 0, "Asia/Bangkok")
    finally:
        scheduler.shutdown(wait=False)


def test_the_jobs_run_the_report_and_the_condition_alerts(
    hub: Hub, clock: Clock, cm: Office
) -> None:
    cm.push_ok(cm.register_entry(OWN, 2))
    assert nightly_reconciliation(hub.app).day == FIRST_DAY
    assert hub.count("numbering_reports") == 1
    clock.advance(2 * DAY)
    refresh_condition_alerts(hub.app)
    with hub.store() as s:
        assert [a["office"] for a in s.alerts("open") if a["kind"] == "silent_office"] == [
            CHIANG_MAI
        ]


def test_a_hub_without_the_scheduler_runs_no_job_but_counts_as_serving(
    tmp_path: Path, clock: Clock
) -> None:
    hub = Hub(tmp_path, clock, SCHEDULER=False)
    scheduler = start_scheduler(hub.app)
    try:
        assert [job.id for job in scheduler.get_jobs()] == [HEARTBEAT_JOB]
        with hub.store() as store:
            assert len(store.live_processes(clock() - 1)) == 1
    finally:
        scheduler.shutdown(wait=False)


@pytest.mark.parametrize("value", ["25:00", "02:60", "2am", "", "02:00:00", " ", 200, None])
def test_reconcile_at_must_be_a_time_of_day(value: object) -> None:
    with pytest.raises(ValueError, match=r"RECONCILE_AT must be .*HH:MM"):
        parse_time_of_day(value)


@pytest.mark.parametrize(("value", "expected"), [("02:00", (2, 0)), ("23:59", (23, 59))])
def test_reconcile_at_is_read_as_hour_and_minute(value: str, expected: tuple[int, int]) -> None:
    assert parse_time_of_day(value) == expected


def test_a_bad_reconcile_at_stops_the_hub_at_start_up(tmp_path: Path, clock: Clock) -> None:
    hub = Hub(tmp_path, clock, RECONCILE_AT="ตีสอง")
    with pytest.raises(ValueError, match="RECONCILE_AT"):
        start_scheduler(hub.app)
    assert "saraban_scheduler" not in hub.app.extensions


# -- the console ------------------------------------------------------------------------------


def test_numbering_page_shows_the_live_report_and_the_stored_reports(
    hub: Hub, clock: Clock, cm: Office
) -> None:
    cm.push_ok(cm.register_entry(OWN, 1), cm.register_entry(OWN, 4))
    viewer = console_login(hub, "watcher")
    page = text_of(viewer.get("/numbering"))
    assert "สถานะปัจจุบัน" in page
    assert f'<tr class="problem" data-register="{OWN}">' in page
    assert "2–3" in page  # the missing numbers, as a range
    assert "ยังไม่มีรายงานประจำคืน" in page
    assert "สร้างรายงานตอนนี้" not in page  # a viewer has no action button

    ops = console_login(hub)
    assert "สร้างรายงานตอนนี้" in text_of(ops.get("/numbering"))
    answer = post_form(ops, "/numbering/run", {}, "/numbering")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/numbering/reports/{FIRST_DAY}")
    shown = text_of(ops.get(answer.headers["Location"]))
    assert "รายงานเลขหนังสือประจำวันที่ 18 พฤศจิกายน 2569" in shown
    assert f"numbering-{FIRST_DAY}.json" in shown
    assert "สร้างรายงานแล้ว" in shown
    with hub.store() as s:
        [action] = s.actions(10, target=FIRST_DAY)
    assert (action["operator"], action["action"]) == ("ops", "run_numbering_report")
    assert (report_dir(hub) / f"numbering-{FIRST_DAY}.json").exists()

    listed = text_of(viewer.get("/numbering"))
    assert f'data-day="{FIRST_DAY}"' in listed
    assert "แย่ลง 1 ทะเบียน" in listed


def test_a_viewer_cannot_run_the_report(hub: Hub, cm: Office) -> None:
    cm.push_ok(cm.register_entry(OWN, 2))
    viewer = console_login(hub, "watcher")
    answer = post_form(viewer, "/numbering/run", {}, "/numbering")
    assert answer.status_code == 403
    assert "ดูได้อย่างเดียว" in text_of(answer)
    assert hub.counts("numbering_reports", "alerts") == {"numbering_reports": 0, "alerts": 0}
    assert not report_dir(hub).exists()


def test_a_run_without_the_forms_token_is_refused(hub: Hub) -> None:
    ops = console_login(hub)
    answer = ops.post("/numbering/run", data={})
    assert answer.status_code == 400
    assert "แบบฟอร์มไม่ถูกต้อง" in text_of(answer)
    assert hub.count("numbering_reports") == 0


BAD_DAYS = [
    pytest.param("2026-13-01", 400, "วันที่ของรายงานไม่ถูกต้อง", id="no-13th-month"),
    pytest.param("18-11-2569", 400, "วันที่ของรายงานไม่ถูกต้อง", id="thai-order"),
    pytest.param("2026-11-18x", 400, "วันที่ของรายงานไม่ถูกต้อง", id="trailing"),
    pytest.param("2026-11-19", 404, "ไม่พบรายงานเลขหนังสือประจำวันที่ 19 พฤศจิกายน 2569", id="no-report"),
    pytest.param("2569-11-18", 404, "ไม่พบรายงานเลขหนังสือ", id="buddhist-year-typed"),
]  # fmt: skip


@pytest.mark.parametrize(("day", "status", "words"), BAD_DAYS)
def test_report_page_of_a_bad_or_unknown_day_says_so_in_thai(
    hub: Hub, day: str, status: int, words: str
) -> None:
    run(hub)
    answer = console_login(hub, "watcher").get(f"/numbering/reports/{day}")
    assert answer.status_code == status
    assert answer.mimetype == "text/html"
    assert words in text_of(answer)


# -- the command line -----------------------------------------------------------------------


def test_cli_reconcile_prints_what_got_worse(
    hub: Hub, cm: Office, capsys: pytest.CaptureFixture[str]
) -> None:
    cm.push_ok(cm.register_entry(OWN, 3))
    assert main(["hub", "reconcile", "--instance", str(hub.instance), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [w["register"] for w in data["worse"]] == [OWN]
    assert Path(data["file"]).exists()
    assert main(["hub", "reconcile", "--instance", str(hub.instance)]) == 0
    out = capsys.readouterr().out
    assert "แย่ลง 1 ทะเบียน" in out
    assert OWN in out


@pytest.mark.sqlite_only("a hub folder without its SQLite file")
def test_cli_reconcile_without_a_hub_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hub", "reconcile", "--instance", str(tmp_path / "nothing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("saraban: ") and err.count("\n") == 1
    assert "saraban hub init" in err
