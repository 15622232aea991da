"""Where letters wait: the letters not registered (ลงรับ) by a recipient beyond the time their
speed class allows, by office, province and provincial group, for the ministry's view.

A letter's time runs from the moment the hub accepted it (from then the recipient could
have it) in working days of the statistics' calendar
(:class:`hub.monitoring.workdays.WorkCalendar`: Monday to Friday, the hub's ``HOLIDAYS``,
a day ending at ``WORKDAY_END``), the same calendar by which the console judges ด่วนที่สุด
letters registered the same working day. A letter is late once the end of the working day
:data:`ALLOWED_WORKING_DAYS` days after the one it reached the hub in has passed:

* ด่วนที่สุด and ด่วนภายใน: the same working day (the console's measure);
* ด่วนมาก: by the end of the next working day; ด่วน: the one after;
* a letter without speed class: by the end of the third working day after.

A letter returned (ส่งคืน) or found invalid by the recipient no longer waits. Letters
waiting at the hub (the recipient has not fetched them) are counted apart from those
delivered and not registered, so the ministry sees whether an office is cut off or slow.

Does not: read the tables (:mod:`hub.store.portal_tracking`) or render anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from hub.monitoring.usage import CENTRAL_TH
from hub.monitoring.workdays import WorkCalendar
from hub.store import HubStore
from hub.store.portal_tracking import PortalTracking
from protocol.thai import BANGKOK

ALLOWED_WORKING_DAYS: dict[str, int] = {
    "ด่วนที่สุด": 0,
    "ด่วนภายใน": 0,
    "ด่วนมาก": 1,
    "ด่วน": 2,
    "": 3,
}
"""Working days after the one a letter reached the hub in, by speed class, by whose end
it should be registered."""

SPEED_TITLES = {"": "ปกติ"}
"""A speed class's Thai label where it differs from its value."""

OLDEST_SHOWN = 50
"""Longest-waiting letters listed."""


def deadline_cutoff(calendar: WorkCalendar, allowed: int, now: float) -> float:
    """The latest moment a letter may have reached the hub and be late at ``now``: the end
    of the latest working day whose ``allowed``-th following working day has ended."""
    day = datetime.fromtimestamp(now, BANGKOK).date()
    for _ in range(400):
        if calendar.is_working_day(day):
            last = day
            for _ in range(allowed):
                last = calendar.next_working_day(last)
            if _end_of(calendar, last) < now:
                return _end_of(calendar, day)
        day = date.fromordinal(day.toordinal() - 1)
    return 0.0


def _end_of(calendar: WorkCalendar, day: date) -> float:
    return datetime.combine(day, calendar.day_end, BANGKOK).timestamp()


@dataclass
class WaitingRow:
    """Late letters of one office, province or group: how many, how many still at the
    hub, and the oldest (when the hub accepted it)."""

    key: str
    label: str
    letters: int = 0
    undelivered: int = 0
    oldest: float | None = None
    by_speed: dict[str, int] = field(default_factory=dict)

    def add(self, letters: int, undelivered: int, oldest: float | None, speed: str) -> None:
        """Count one office's letters of one speed class."""
        self.letters += letters
        self.undelivered += undelivered
        self.by_speed[speed] = self.by_speed.get(speed, 0) + letters
        if oldest is not None and (self.oldest is None or oldest < self.oldest):
            self.oldest = oldest


@dataclass
class WaitingReport:
    """Late letters at ``now``: per group, per province, per office, and the oldest."""

    now: float
    cutoffs: dict[str, float]
    groups: list[WaitingRow]
    provinces: list[WaitingRow]
    offices: list[WaitingRow]
    oldest: list[dict[str, Any]]

    @property
    def total(self) -> int:
        """Late letter and recipient pairs in all."""
        return sum(r.letters for r in self.offices)


def waiting_report(store: HubStore, config: Mapping[str, Any], now: float) -> WaitingReport:
    """The late letters at ``now`` by the hub's calendar settings."""
    calendar = WorkCalendar.from_settings(config)
    tracking = PortalTracking(store)
    directory = {r["id"]: r for r in tracking.all_offices()}
    groups: dict[str, WaitingRow] = {}
    provinces: dict[str, WaitingRow] = {}
    offices: dict[str, WaitingRow] = {}
    cutoffs: dict[str, float] = {}
    oldest: list[dict[str, Any]] = []
    for speed, allowed in ALLOWED_WORKING_DAYS.items():
        cutoff = cutoffs[speed] = deadline_cutoff(calendar, allowed, now)
        for row in tracking.waiting_by_office(speed, cutoff):
            office = directory.get(row["office"]) or {}
            group_no = office.get("group_no")
            province = office.get("province") or CENTRAL_TH
            group_label = (
                f"{group_no} {office.get('group_name') or ''}".strip() if group_no else CENTRAL_TH
            )
            counts = (int(row["letters"]), int(row["undelivered"]), row["oldest"], speed)
            for table, key, label in (
                (groups, str(group_no or 0), group_label),
                (provinces, province, province),
                (offices, row["office"], f"{row['office']} {office.get('name') or ''}".strip()),
            ):
                table.setdefault(key, WaitingRow(key, label)).add(*counts)
        oldest += tracking.oldest_waiting(speed, cutoff, OLDEST_SHOWN)
    oldest.sort(key=lambda r: float(r["hub_at"]))
    oldest = oldest[:OLDEST_SHOWN]
    for row in oldest:
        row["recipient_name"] = (directory.get(row["recipient"]) or {}).get("name") or ""
        row["origin_name"] = (directory.get(row["origin"]) or {}).get("name") or ""
        row["number"] = (store.portal_letter(row["letter"]) or {}).get("number")
    return WaitingReport(
        now,
        cutoffs,
        sorted(groups.values(), key=lambda r: int(r.key)),
        sorted(provinces.values(), key=lambda r: (-r.letters, r.key)),
        sorted(offices.values(), key=lambda r: (-r.letters, r.key)),
        oldest,
    )


def speed_title(speed: str) -> str:
    """A speed class as a person reads it."""
    return SPEED_TITLES.get(speed, speed)
