"""Usage statistics of the federation: what offices sent, received and registered.

Does:

* records two kinds of fact inside the ingest transaction, called by :mod:`hub.federation.routing`:
  a routed letter (:func:`record_letter`: origin, time sent, speed class, type) and a
  routed receipt (:func:`record_receipt`: recipient, letter, status and the receipt's own
  time, which is the legal time on the recipient's clock);
* fills those facts once from the stored feed for a hub that ran before they existed
  (:func:`backfill`);
* computes, for a :class:`Period` (days or months, Bangkok dates) and optionally one
  provincial group: letters sent, received (``delivered`` receipts) and registered
  (``registered`` receipts, ลงรับ) per office, province, provincial group and period; the
  time from delivery to ลงรับ per speed class (median and 90th percentile, nearest rank);
  the share of ด่วนที่สุด letters registered the same working day (:class:`WorkCalendar`);
  the enrolled offices that have not used the system for N days;
* flattens a report into plain tables (:func:`report_tables`) for CSV and Excel export.

Counting happens in SQL per ``(office, day or month)`` (:class:`hub.store.HubStore`), so a
report over years of letters reads a few thousand rows; offices roll up into provinces
and groups here.

Does not: render anything (:mod:`hub.console.stats`, :mod:`hub.console.charts`), read request
arguments, or know what a node has not pushed yet: a node that works offline is counted
when its envelopes reach the hub, on the days its own clock gave them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from hub.clock import bangkok_day
from hub.store import HubStore
from protocol.envelope import Envelope
from protocol.errors import SarabanError
from protocol.messages import Letter, Receipt, parse_feed_message
from protocol.thai import (
    BANGKOK,
    THAI_MONTHS,
    THAI_MONTHS_ABBR,
    as_bangkok,
    be_year,
    format_thai_date,
)

log = logging.getLogger(__name__)

BACKFILL_META = "stats_backfilled"
"""Meta key set once the facts hold everything the feed held when the hub started."""

BACKFILL_BATCH = 500
"""Feed envelopes read and recorded per write transaction of the backfill."""

URGENT = "ด่วนที่สุด"
"""The speed class whose same-working-day registration is measured."""

SPEED_ROWS: tuple[tuple[str, str], ...] = (
    ("ด่วนที่สุด", "ด่วนที่สุด"),
    ("ด่วนมาก", "ด่วนมาก"),
    ("ด่วน", "ด่วน"),
    ("ด่วนภายใน", "ด่วนภายใน"),
    ("", "ปกติ"),
)
"""Speed classes in the order shown: the envelope's value and its Thai label."""

CENTRAL_TH = "ส่วนกลาง"
"""Province and group label of offices that belong to no province (the ministry)."""

PERCENTS = (50, 90)
"""The percentiles of the registration time: median and 90th."""

DAY_SECONDS = 86_400


# -- facts recorded at ingest ----------------------------------------------------------------


def moment_of(text: str, fallback: float) -> float:
    """Unix seconds of an ISO 8601 time from an envelope; ``fallback`` if it is not one.

    A time without an offset is Bangkok wall time (:func:`protocol.thai.as_bangkok`).
    """
    try:
        moment = as_bangkok(datetime.fromisoformat(text)).timestamp()
        bangkok_day(moment)
    except (TypeError, ValueError, OverflowError, OSError):
        return fallback
    return moment


def record_letter(store: HubStore, letter: Letter, env_id: str, routed: int, now: float) -> None:
    """Remember a letter the hub routed to ``routed`` offices; sent when it says it was."""
    sent_at = moment_of(letter.created_at, now)
    store.add_letter_fact(
        env_id,
        letter.origin,
        sent_at,
        bangkok_day(sent_at),
        letter.speed,
        letter.letter_type,
        routed,
    )


def record_receipt(store: HubStore, receipt: Receipt, env_id: str, sender: str, now: float) -> None:
    """Remember a receipt the hub routed to the letter's ``sender``.

    Only the first receipt of each status per letter and recipient counts.
    """
    at = moment_of(receipt.at, now)
    store.add_receipt_fact(
        env_id, receipt.letter, receipt.origin, sender, receipt.status, at, bangkok_day(at)
    )


def backfill(store: HubStore, batch: int = BACKFILL_BATCH) -> int:
    """Record the facts of every stored letter and routed receipt, once per hub.

    Does nothing once :data:`BACKFILL_META` is set. Idempotent (facts are inserted once),
    so an interrupted backfill simply runs again at the next start; envelopes ingested
    meanwhile record their own facts. Returns how many envelopes were read.
    """
    if store.meta(BACKFILL_META):
        return 0
    after, seen = 0, 0
    while True:
        rows = store.feed_for_facts(after, batch)
        if not rows:
            break
        with store.write():
            for row in rows:
                _record_stored(store, row)
        after = int(rows[-1]["position"])
        seen += len(rows)
    with store.write():
        store.set_meta(BACKFILL_META, "1")
    if seen:
        log.info("statistics: recorded the facts of %d stored envelopes", seen)
    return seen


def _record_stored(store: HubStore, row: Mapping[str, Any]) -> None:
    try:
        env = Envelope.from_bytes(bytes(row["envelope"]))
        msg = parse_feed_message(row["kind"], json.loads(env.body))
    except (SarabanError, ValueError):
        log.warning("statistics: stored envelope %s does not parse; skipped", row["env_id"])
        return
    received_at = float(row["received_at"])
    if isinstance(msg, Letter):
        record_letter(store, msg, row["env_id"], int(row["routes"]), received_at)
    elif isinstance(msg, Receipt) and row["routed_to"] is not None:
        record_receipt(store, msg, row["env_id"], str(row["routed_to"]), received_at)


# -- working days ------------------------------------------------------------------------------


class SettingError(ValueError):
    """A statistics setting (``WORKDAY_END``, ``HOLIDAYS``) that cannot be read."""


@dataclass(frozen=True)
class WorkCalendar:
    """Working days: Monday to Friday except ``holidays``, ending at ``day_end`` (Bangkok).

    A moment belongs to its own date when that is a working day and the moment is not
    after ``day_end``; otherwise to the next working day. A letter delivered at 16.45 น.
    on a Friday belongs to Monday (or the first working day after it).
    """

    day_end: time = time(16, 30)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def from_settings(cls, config: Mapping[str, Any]) -> WorkCalendar:
        """The calendar of the hub's ``WORKDAY_END`` and ``HOLIDAYS`` settings."""
        end_text = str(config.get("WORKDAY_END") or "16:30").strip()
        try:
            hours, minutes = (int(part) for part in end_text.replace(".", ":").split(":"))
            day_end = time(hours, minutes)
        except ValueError as e:
            raise SettingError(f"WORKDAY_END {end_text!r} is not HH:MM") from e
        holidays: set[date] = set()
        raw = config.get("HOLIDAYS") or ""
        items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
        for item in items:
            text = str(item).strip()
            if not text:
                continue
            try:
                holidays.add(date.fromisoformat(text))
            except ValueError as e:
                raise SettingError(f"HOLIDAYS item {text!r} is not an ISO date") from e
        return cls(day_end, frozenset(holidays))

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday and not a holiday."""
        return day.weekday() < 5 and day not in self.holidays  # Saturday is 5, Sunday 6

    def next_working_day(self, day: date) -> date:
        """The first working day after ``day``."""
        for offset in range(1, 367):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise SettingError("HOLIDAYS leave no working day within a year")

    def working_day_of(self, moment: float) -> date:
        """The working day a moment (Unix seconds) belongs to."""
        local = datetime.fromtimestamp(moment, BANGKOK)
        day = local.date()
        if self.is_working_day(day) and local.time() <= self.day_end:
            return day
        return self.next_working_day(day)

    def deadline_of(self, moment: float) -> float:
        """The end of the working day ``moment`` belongs to, Unix seconds."""
        day = self.working_day_of(moment)
        return datetime.combine(day, self.day_end, BANGKOK).timestamp()

    def same_working_day(self, delivered_at: float, registered_at: float) -> bool:
        """Registered no later than the end of the working day of the delivery."""
        return registered_at <= self.deadline_of(delivered_at)


# -- periods -------------------------------------------------------------------------------------


GRANULARITIES = {"day": "รายวัน", "month": "รายเดือน"}
"""Per day or per month, with the Thai words of the form."""


def _month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """The days ``first`` .. ``last`` (inclusive, Bangkok dates), counted per ``by``."""

    first: date
    last: date
    by: str = "day"

    @classmethod
    def month(cls, year: int, month: int, by: str = "day") -> Period:
        """One calendar month (Christian-era ``year``)."""
        first = date(year, month, 1)
        return cls(first, _next_month(first) - timedelta(days=1), by)

    @property
    def days(self) -> int:
        """How many days the period spans."""
        return (self.last - self.first).days + 1

    @property
    def is_month(self) -> bool:
        """Exactly one calendar month."""
        return self.first.day == 1 and self.last == _next_month(self.first) - timedelta(days=1)

    def keys(self) -> list[str]:
        """Every period key in order: ISO days or ``YYYY-MM`` months."""
        if self.by == "month":
            keys, day = [], self.first.replace(day=1)
            while day <= self.last:
                keys.append(_month_key(day))
                day = _next_month(day)
            return keys
        return [(self.first + timedelta(days=n)).isoformat() for n in range(self.days)]

    def label(self, key: str) -> str:
        """A period key in Thai: ``4 ธ.ค. 2569`` or ``ธันวาคม 2569``."""
        if self.by == "month":
            year, month = (int(part) for part in key.split("-"))
            return f"{THAI_MONTHS[month - 1]} {be_year(year)}"
        return format_thai_date(date.fromisoformat(key), abbreviated=True)

    def short_label(self, key: str) -> str:
        """A compact label for a chart axis: ``4`` (a day) or ``ธ.ค. 69`` (a month)."""
        if self.by == "month":
            year, month = (int(part) for part in key.split("-"))
            return f"{THAI_MONTHS_ABBR[month - 1]} {be_year(year) % 100:02d}"
        return str(date.fromisoformat(key).day)

    def title(self) -> str:
        """The whole period in Thai: ``ธันวาคม 2569`` or ``1 ธันวาคม 2569 ถึง 9 ธันวาคม 2569``."""
        if self.is_month:
            return f"{THAI_MONTHS[self.first.month - 1]} {be_year(self.first.year)}"
        if self.first == self.last:
            return format_thai_date(self.first)
        return f"{format_thai_date(self.first)} ถึง {format_thai_date(self.last)}"


# -- the report -----------------------------------------------------------------------------------


@dataclass
class Usage:
    """Letters sent, received (delivered) and registered (ลงรับ)."""

    sent: int = 0
    received: int = 0
    registered: int = 0

    def add(self, other: Usage) -> None:
        """Add ``other``'s counts to these."""
        self.sent += other.sent
        self.received += other.received
        self.registered += other.registered


@dataclass
class UsageRow:
    """One office, province or provincial group and its usage."""

    key: str
    label: str
    province: str
    group_no: int | None
    group_name: str
    usage: Usage = field(default_factory=Usage)
    offices: int = 0


@dataclass(frozen=True)
class PeriodRow:
    """One day or month of the period and the usage in it."""

    key: str
    label: str
    short_label: str
    usage: Usage


@dataclass(frozen=True)
class RegistrationTime:
    """Delivery to ลงรับ for one speed class: how many, median and 90th percentile (s)."""

    speed: str
    label: str
    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class SameDayShare:
    """ด่วนที่สุด letters delivered in the period, by whether they were registered in time.

    ``counted`` letters are judged: ``same_day`` of them were registered by the end of the
    working day they were delivered in. Not judged: ``pending`` (not registered and that
    working day has not ended yet) and ``declined`` (returned or found invalid).
    """

    same_day: int = 0
    counted: int = 0
    pending: int = 0
    declined: int = 0

    @property
    def share(self) -> float | None:
        """``same_day / counted`` (None when nothing was judged)."""
        return self.same_day / self.counted if self.counted else None

    @property
    def percent(self) -> float | None:
        """The share in percent, one decimal."""
        return None if self.share is None else round(self.share * 100, 1)


@dataclass(frozen=True)
class InactiveOffice:
    """An enrolled office with no letter sent or registered for at least N days."""

    office: str
    name: str
    province: str
    group_no: int | None
    last_use: float | None
    enrolled_at: float | None
    idle_days: int


@dataclass
class UsageReport:
    """Everything the statistics page shows for one period, group and N."""

    period: Period
    group: int | None
    inactive_days: int
    now: float
    total: Usage
    offices: list[UsageRow]
    provinces: list[UsageRow]
    groups: list[UsageRow]
    series: list[PeriodRow]
    registration: list[RegistrationTime]
    same_day: SameDayShare
    inactive: list[InactiveOffice]
    calendar: WorkCalendar


def _group_no(office: Mapping[str, Any]) -> int:
    return int(office["group_no"] or 0)


def _in_group(office: Mapping[str, Any], group: int | None) -> bool:
    return group is None or _group_no(office) == group


def group_choices(offices: Iterable[Mapping[str, Any]]) -> list[tuple[int, str]]:
    """Provincial groups the offices belong to, with ``(0, ส่วนกลาง)`` for those in none."""
    seen: dict[int, str] = {}
    for o in offices:
        no = _group_no(o)
        seen.setdefault(no, CENTRAL_TH if no == 0 else str(o["group_name"] or f"กลุ่ม {no}"))
    return sorted(seen.items())


def usage_report(
    store: HubStore,
    period: Period,
    group: int | None,
    inactive_days: int,
    calendar: WorkCalendar,
    now: float,
) -> UsageReport:
    """The statistics of ``period`` for provincial ``group`` (None: all, 0: ส่วนกลาง)."""
    first, last = period.first.isoformat(), period.last.isoformat()
    offices = {o["id"]: o for o in store.offices() if _in_group(o, group)}
    by_office: dict[str, Usage] = {}
    by_period: dict[str, Usage] = {key: Usage() for key in period.keys()}
    counted = (
        ("sent", store.letters_sent_by(first, last, period.by)),
        ("received", store.receipts_by("delivered", first, last, period.by)),
        ("registered", store.receipts_by("registered", first, last, period.by)),
    )
    for measure, rows in counted:
        for r in rows:
            if r["office"] not in offices:
                continue
            for usage in (
                by_office.setdefault(r["office"], Usage()),
                by_period.setdefault(r["period"], Usage()),
            ):
                setattr(usage, measure, getattr(usage, measure) + int(r["n"]))
    office_rows = [
        _office_row(o, by_office.get(o["id"], Usage()))
        for o in offices.values()
        if o["status"] == "enrolled" or o["id"] in by_office
    ]
    total = Usage()
    for row in office_rows:
        total.add(row.usage)
    return UsageReport(
        period=period,
        group=group,
        inactive_days=inactive_days,
        now=now,
        total=total,
        offices=office_rows,
        provinces=_roll_up(office_rows, lambda r: (r.group_no or 0, r.province)),
        groups=_roll_up(office_rows, lambda r: (r.group_no or 0, "")),
        series=[
            PeriodRow(key, period.label(key), period.short_label(key), usage)
            for key, usage in sorted(by_period.items())
        ],
        registration=registration_times(store, period, group),
        same_day=same_day_share(store, period, group, calendar, now),
        inactive=inactive_offices(store, offices.values(), inactive_days, now),
        calendar=calendar,
    )


def _office_row(office: Mapping[str, Any], usage: Usage) -> UsageRow:
    no = office["group_no"]
    return UsageRow(
        key=office["id"],
        label=office["name"],
        province=office["province"] or CENTRAL_TH,
        group_no=no,
        group_name=office["group_name"] or CENTRAL_TH,
        usage=usage,
        offices=1,
    )


def _roll_up(rows: list[UsageRow], key_of: Callable[[UsageRow], tuple[int, str]]) -> list[UsageRow]:
    out: dict[tuple[int, str], UsageRow] = {}
    for row in rows:
        key = key_of(row)
        into = out.get(key)
        if into is None:
            label = key[1] or row.group_name
            into = out[key] = UsageRow(
                key=f"{key[0]}|{key[1]}" if key[1] else str(key[0]),
                label=label,
                province=key[1],
                group_no=row.group_no,
                group_name=row.group_name,
            )
        into.usage.add(row.usage)
        into.offices += 1
    return [out[k] for k in sorted(out)]


def registration_times(
    store: HubStore, period: Period, group: int | None
) -> list[RegistrationTime]:
    """Delivery to ลงรับ per speed class, for letters registered in ``period``.

    The median and the 90th percentile use the nearest-rank method: of ``n`` durations in
    ascending order, the p-th percentile is the one at rank ``ceil(p * n / 100)`` (1-based),
    always a duration that happened. The median of 4 durations is thus the 2nd. A
    duration is the registered receipt's time minus the delivered receipt's time, both on
    the recipient's clock (never below zero).
    """
    rows = store.registration_percentiles(
        period.first.isoformat(), period.last.isoformat(), group, PERCENTS
    )
    found = {r["speed"]: r for r in rows}
    labels = dict(SPEED_ROWS)
    speeds = [s for s, _ in SPEED_ROWS] + sorted(s for s in found if s not in labels)
    out = []
    for speed in speeds:
        r = found.get(speed)
        out.append(
            RegistrationTime(
                speed=speed,
                label=labels.get(speed) or speed,
                count=int(r["count"]) if r else 0,
                median=float(r["p_low"]) if r else None,
                p90=float(r["p_high"]) if r else None,
            )
        )
    return out


def same_day_share(
    store: HubStore, period: Period, group: int | None, calendar: WorkCalendar, now: float
) -> SameDayShare:
    """How many ด่วนที่สุด letters delivered in ``period`` were registered the same working
    day (see :class:`WorkCalendar` and :class:`SameDayShare`)."""
    same_day = counted = pending = declined = 0
    for r in store.deliveries_of_speed(
        URGENT, period.first.isoformat(), period.last.isoformat(), group
    ):
        registered_at = r["registered_at"]
        if registered_at is None and r["declined"]:
            declined += 1
            continue
        deadline = calendar.deadline_of(float(r["delivered_at"]))
        if registered_at is None and now <= deadline:
            pending += 1
            continue
        counted += 1
        if registered_at is not None and float(registered_at) <= deadline:
            same_day += 1
    return SameDayShare(same_day, counted, pending, declined)


def inactive_offices(
    store: HubStore, offices: Iterable[Mapping[str, Any]], days: int, now: float
) -> list[InactiveOffice]:
    """Enrolled offices with no letter sent or registered for at least ``days`` days.

    An office that never used the system is idle since it enrolled, so one enrolled a
    day ago is not listed yet. Never-used offices come first, then the longest idle.
    """
    last_use = store.last_use()
    out = []
    for o in offices:
        if o["status"] != "enrolled":
            continue
        last = last_use.get(o["id"])
        since = last if last is not None else o["enrolled_at"] or o["created_at"] or now
        idle = now - float(since)
        if idle < days * DAY_SECONDS:
            continue
        out.append(
            InactiveOffice(
                office=o["id"],
                name=o["name"],
                province=o["province"] or CENTRAL_TH,
                group_no=o["group_no"],
                last_use=last,
                enrolled_at=o["enrolled_at"],
                idle_days=int(idle // DAY_SECONDS),
            )
        )
    out.sort(key=lambda i: (i.last_use is not None, i.last_use or 0.0, i.office))
    return out


# -- plain tables for export ----------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """One exported table: a short ``name`` (CSV choice), Thai title, headers and rows."""

    name: str
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[Any, ...]]


TABLE_TITLES = {
    "provinces": "รายจังหวัด",
    "groups": "รายกลุ่มจังหวัด",
    "offices": "รายหน่วยงาน",
    "periods": "รายวันหรือรายเดือน",
    "registration": "ระยะเวลาลงรับ",
    "urgent": "ด่วนที่สุดลงรับในวันเดียวกัน",
    "inactive": "หน่วยงานที่ไม่ได้ใช้งาน",
}
"""Every exported table by name, with its Thai title (also the Excel sheet name)."""

USAGE_HEADERS = ("หนังสือส่ง", "หนังสือรับ", "ลงรับแล้ว")


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _thai_day(moment: float | None) -> str:
    if moment is None:
        return ""
    return format_thai_date(datetime.fromtimestamp(moment, BANGKOK))


def _usage(u: Usage) -> tuple[int, int, int]:
    return (u.sent, u.received, u.registered)


def report_tables(report: UsageReport) -> list[Table]:
    """The report as plain tables (numbers as numbers, dates in Thai), in page order."""
    period_header = "วันที่" if report.period.by == "day" else "เดือน"
    share = report.same_day
    return [
        Table(
            "provinces",
            TABLE_TITLES["provinces"],
            ("กลุ่มที่", "กลุ่มจังหวัด", "จังหวัด", *USAGE_HEADERS),
            [(r.group_no, r.group_name, r.province, *_usage(r.usage)) for r in report.provinces],
        ),
        Table(
            "groups",
            TABLE_TITLES["groups"],
            ("กลุ่มที่", "กลุ่มจังหวัด", "จำนวนหน่วยงาน", *USAGE_HEADERS),
            [(r.group_no, r.group_name, r.offices, *_usage(r.usage)) for r in report.groups],
        ),
        Table(
            "offices",
            TABLE_TITLES["offices"],
            ("รหัสหน่วยงาน", "หน่วยงาน", "จังหวัด", "กลุ่มที่", *USAGE_HEADERS),
            [(r.key, r.label, r.province, r.group_no, *_usage(r.usage)) for r in report.offices],
        ),
        Table(
            "periods",
            TABLE_TITLES["periods"],
            (f"{period_header} (ค.ศ.)", period_header, *USAGE_HEADERS),
            [(r.key, r.label, *_usage(r.usage)) for r in report.series],
        ),
        Table(
            "registration",
            TABLE_TITLES["registration"],
            ("ชั้นความเร็ว", "จำนวนที่ลงรับ", "มัธยฐาน (ชั่วโมง)", "เปอร์เซ็นไทล์ที่ 90 (ชั่วโมง)"),
            [(r.label, r.count, _hours(r.median), _hours(r.p90)) for r in report.registration],
        ),
        Table(
            "urgent",
            TABLE_TITLES["urgent"],
            (
                "ลงรับภายในวันทำการเดียวกัน",
                "จำนวนที่นับ",
                "ร้อยละ",
                "ยังอยู่ในวันทำการ",
                "ส่งคืนหรือไม่ถูกต้อง",
            ),
            [(share.same_day, share.counted, share.percent, share.pending, share.declined)],
        ),
        Table(
            "inactive",
            TABLE_TITLES["inactive"],
            ("รหัสหน่วยงาน", "หน่วยงาน", "จังหวัด", "กลุ่มที่", "ใช้งานล่าสุด", "ไม่ได้ใช้งาน (วัน)"),
            [
                (
                    i.office,
                    i.name,
                    i.province,
                    i.group_no,
                    _thai_day(i.last_use) or "ไม่เคยใช้งาน",
                    i.idle_days,
                )
                for i in report.inactive
            ],
        ),
    ]
