"""Usage statistics of the federation: what offices sent, received and registered.

Computes, for a :class:`hub.monitoring.periods.Period` (days or months, Bangkok dates) and
optionally one provincial group: letters sent, received (``delivered`` receipts) and
registered (``registered`` receipts, ลงรับ) per office, province, provincial group and
period; the time from delivery to ลงรับ per speed class (median and 90th percentile,
nearest rank); the share of ด่วนที่สุด letters registered the same working day
(:class:`hub.monitoring.workdays.WorkCalendar`); the enrolled offices that have not used
the system for N days. Together they make the :class:`UsageReport` the console shows.

Counting happens in SQL per ``(office, day or month)`` (:class:`hub.store.HubStore`) over
the facts of :mod:`hub.monitoring.usage_facts`, so a report over years of letters reads a
few thousand rows; offices roll up into provinces and groups here.

Does not: record the facts (:mod:`hub.monitoring.usage_facts`), flatten a report for export
(:mod:`hub.monitoring.usage_export`), render anything (:mod:`hub.console.stats`,
:mod:`hub.console.charts`) or read request arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.monitoring.periods import Period
from hub.monitoring.workdays import WorkCalendar
from hub.store import HubStore

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
