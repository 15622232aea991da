"""The period a usage report covers: Bangkok dates from a first to a last day, counted per
day or per month, and how its days and months are named in Thai.

Does not: count anything (:mod:`hub.monitoring.usage`) nor read the console's form
(:mod:`hub.console.stats` turns the operator's choice into a :class:`Period`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from protocol.thai import BANGKOK, THAI_MONTHS, THAI_MONTHS_ABBR, be_year, format_thai_date

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

    def bounds(self) -> tuple[float, float]:
        """The period as Unix seconds ``[since, until)``: Bangkok midnight of the first day to
        Bangkok midnight after the last."""
        since = datetime.combine(self.first, time(0), BANGKOK)
        until = datetime.combine(self.last + timedelta(days=1), time(0), BANGKOK)
        return since.timestamp(), until.timestamp()

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
