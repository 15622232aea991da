"""A usage report and its timings flattened into plain tables, for the console's CSV and
Excel export.

Numbers stay numbers (the times from sending in seconds) and dates are written in Thai;
each table has a short name (the CSV choice) and a Thai title (also the Excel sheet name).

Does not: compute the report (:mod:`hub.monitoring.usage`, :mod:`hub.monitoring.timings`)
nor write CSV or Excel bytes (:mod:`hub.console.stats`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.monitoring.timings import MEASURE_TITLES, MEASURES, Spread, TimingReport, TimingRow
from hub.monitoring.usage import Usage, UsageReport
from protocol.thai import BANGKOK, format_thai_date


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
    "timing_speeds": "เวลาตั้งแต่ส่ง ตามชั้นความเร็ว",
    "timing_provinces": "เวลาตั้งแต่ส่ง รายจังหวัด",
    "timing_groups": "เวลาตั้งแต่ส่ง รายกลุ่มจังหวัด",
    "timing_offices": "เวลาตั้งแต่ส่ง รายหน่วยงาน",
    "urgent": "ด่วนที่สุดลงรับในวันเดียวกัน",
    "inactive": "หน่วยงานที่ไม่ได้ใช้งาน",
}
"""Every exported table by name, with its Thai title (also the Excel sheet name)."""

USAGE_HEADERS = ("หนังสือส่ง", "หนังสือรับ", "ลงรับแล้ว")


def _thai_day(moment: float | None) -> str:
    if moment is None:
        return ""
    return format_thai_date(datetime.fromtimestamp(moment, BANGKOK))


def _usage(u: Usage) -> tuple[int, int, int]:
    return (u.sent, u.received, u.registered)


TIMING_HEADERS = tuple(
    f"{MEASURE_TITLES[m]}: {what}"
    for m in MEASURES
    for what in ("จำนวน", "มัธยฐาน (วินาที)", "เปอร์เซ็นไทล์ที่ 95 (วินาที)")
)
"""Each span from sending: how many, median and 95th percentile in seconds."""


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _spread(s: Spread) -> tuple[int, float | None, float | None]:
    return (s.count, _seconds(s.p50), _seconds(s.p95))


def _timing(row: TimingRow) -> tuple[Any, ...]:
    return tuple(cell for spread in row.spreads() for cell in _spread(spread))


def timing_tables(timings: TimingReport) -> list[Table]:
    """The times from sending as plain tables: per speed class, province, group, office."""
    return [
        Table(
            "timing_speeds",
            TABLE_TITLES["timing_speeds"],
            ("ชั้นความเร็ว", *TIMING_HEADERS),
            [(r.label, *_timing(r)) for r in [*timings.speeds, timings.overall]],
        ),
        Table(
            "timing_provinces",
            TABLE_TITLES["timing_provinces"],
            ("กลุ่มที่", "กลุ่มจังหวัด", "จังหวัด", *TIMING_HEADERS),
            [(r.group_no, r.group_name, r.province, *_timing(r)) for r in timings.provinces],
        ),
        Table(
            "timing_groups",
            TABLE_TITLES["timing_groups"],
            ("กลุ่มที่", "กลุ่มจังหวัด", *TIMING_HEADERS),
            [(r.group_no, r.group_name, *_timing(r)) for r in timings.groups],
        ),
        Table(
            "timing_offices",
            TABLE_TITLES["timing_offices"],
            ("รหัสหน่วยงาน", "หน่วยงาน", "จังหวัด", "กลุ่มที่", *TIMING_HEADERS),
            [(r.key, r.label, r.province, r.group_no, *_timing(r)) for r in timings.offices],
        ),
    ]


def report_tables(report: UsageReport, timings: TimingReport) -> list[Table]:
    """The report and its timings as plain tables (numbers as numbers, dates in Thai), in
    page order."""
    usage = usage_tables(report)
    after = next(i for i, t in enumerate(usage) if t.name == "registration") + 1
    return usage[:after] + timing_tables(timings) + usage[after:]


def usage_tables(report: UsageReport) -> list[Table]:
    """The usage report as plain tables, in page order."""
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
            # seconds, as the timing table: a letter registered in minutes reads 0.0 in hours
            ("ชั้นความเร็ว", "จำนวนที่ลงรับ", "มัธยฐาน (วินาที)", "เปอร์เซ็นไทล์ที่ 90 (วินาที)"),
            [(r.label, r.count, _seconds(r.median), _seconds(r.p90)) for r in report.registration],
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
