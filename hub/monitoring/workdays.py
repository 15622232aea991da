"""Working days of the usage statistics: Monday to Friday, the hub's holidays, and the
hour a working day ends (the ``WORKDAY_END`` and ``HOLIDAYS`` settings).

The share of ด่วนที่สุด letters registered the same working day (:mod:`hub.monitoring.usage`)
is judged against this calendar.

Does not: count letters, nor know the official Thai holidays: the operator lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from protocol.thai import BANGKOK


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
