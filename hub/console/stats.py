"""The console's usage statistics: per province and provincial group, per day or month, and
how long letters take from the moment their sender sent them (to the hub, to the
recipient's inbox, to ลงรับ) per speed class, province, group and office.

Routes (blueprint ``console_stats``): ``GET /stats`` (the filter form, charts and tables),
``GET /stats/export.csv`` (one table, ``?table=``, UTF-8 with a BOM so that Excel reads
Thai) and ``GET /stats/export.xlsx`` (every table, one sheet each), each named in Thai
with the Buddhist-era year (``filename*``) and in ASCII for old clients. All three read the
same query arguments:

* ``month``: a month in the Buddhist era, ``2569-12`` (also ``12/2569``, ``ธันวาคม 2569``);
  the current month by the hub's clock when neither a month nor dates are given;
* ``from`` and ``to``: a range of days, typed ``1/12/2569``, ``1 ธ.ค. 2569`` or ISO
  ``2026-12-01``; a range replaces the month;
* ``group``: a provincial group number (``0``: ส่วนกลาง), empty for all;
* ``by``: ``day`` or ``month``; ``days``: N of "not used for N days" (``INACTIVE_DAYS``).

Bad arguments are refused with a Thai page and status 400 (:class:`ConsoleError`); the
pages only read. Any signed-in operator, viewers included, may see and export them.

Does not: count anything itself (:mod:`hub.monitoring.usage`, :mod:`hub.monitoring.timings`)
or draw (:mod:`hub.console.charts`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, render_template, request

from hub.console import charts
from hub.console.kit import now, thai_duration
from hub.console.session import login_required
from hub.context import get_store
from hub.errors import ConsoleError
from hub.monitoring.periods import GRANULARITIES, Period
from hub.monitoring.timing_facts import CLOCK_ALLOWANCE
from hub.monitoring.timings import MEASURE_TITLES, TimingReport, thai_span, timing_report
from hub.monitoring.usage import UsageReport, group_choices, usage_report
from hub.monitoring.usage_export import TABLE_TITLES, report_tables
from hub.monitoring.workdays import SettingError, WorkCalendar
from protocol.errors import SarabanError
from protocol.thai import (
    BANGKOK,
    MAX_BE_YEAR,
    MIN_BE_YEAR,
    be_year,
    ce_year,
    format_thai_datetime,
    normalize_thai,
    parse_thai_date,
    thai_month_number,
    to_arabic_digits,
)

bp = Blueprint("console_stats", __name__)
bp.add_app_template_filter(thai_span, "thai_span")

MAX_ARG = 40
MAX_DAYS_IN_RANGE = 3660
MAX_DAILY_DAYS = 366
MAX_INACTIVE_DAYS = 3650

_YEAR_MONTH = re.compile(r"(?P<year>[0-9]{4})\s*[-/.]\s*(?P<month>[0-9]{1,2})")
_MONTH_YEAR = re.compile(r"(?P<month>[0-9]{1,2})\s*[-/.]\s*(?P<year>[0-9]{4})")
_NAMED_MONTH = re.compile(r"(?P<name>[^\s0-9]+)\s*(?:พ\.\s*ศ\.\s*)?(?P<year>[0-9]{4})")
_SLASH_DATE = re.compile(
    r"(?P<day>[0-9]{1,2})\s*[/.-]\s*(?P<month>[0-9]{1,2})\s*[/.-]\s*(?P<year>[0-9]{4})"
)

MONTH_HINT = "กรุณากรอกเดือนเป็น ปี พ.ศ.-เดือน เช่น 2569-12"
DATE_HINT = "กรุณากรอกเป็น วัน/เดือน/ปี พ.ศ. เช่น 1/12/2569"


def _refuse(reason: str, message_th: str, code: str = "bad_query") -> ConsoleError:
    return ConsoleError(reason, message_th, code=code, status=400)


def _arg(args: Mapping[str, str], name: str, label_th: str) -> str:
    text = args.get(name, "")
    if len(text) > MAX_ARG:
        raise _refuse(f"{name} is too long", f"{label_th}ยาวเกิน {MAX_ARG} ตัวอักษร")
    return to_arabic_digits(normalize_thai(text)).strip()


def _whole(text: str) -> bool:
    """Whether ``text`` is ASCII digits (``str.isdigit`` also takes ``²``, which int refuses)."""
    return text.isascii() and text.isdigit()


def _check_be_year(year: int, what: str, hint: str) -> int:
    if MIN_BE_YEAR <= year <= MAX_BE_YEAR:
        return ce_year(year)
    if 1900 <= year <= 2200:  # a Christian-era year typed by mistake
        raise _refuse(
            f"{what} year {year} looks Christian-era",
            f"{what}: ปีต้องเป็นพุทธศักราช (ค.ศ. + 543) {hint}",
        )
    raise _refuse(f"{what} year {year} out of range", f"{what}: ปีไม่ถูกต้อง {hint}")


def parse_month(text: str) -> tuple[int, int]:
    """``(Christian-era year, month)`` of a month typed in the Buddhist era."""
    if match := _YEAR_MONTH.fullmatch(text) or _MONTH_YEAR.fullmatch(text):
        year, month = int(match["year"]), int(match["month"])
    elif (match := _NAMED_MONTH.fullmatch(text)) and (named := thai_month_number(match["name"])):
        year, month = int(match["year"]), named
    else:
        raise _refuse(f"month {text!r} not understood", f"เดือนไม่ถูกต้อง: {MONTH_HINT}")
    if not 1 <= month <= 12:
        raise _refuse(f"month {month} out of range", f"เดือนต้องอยู่ระหว่าง 1 ถึง 12 ({MONTH_HINT})")
    return _check_be_year(year, "เดือน", MONTH_HINT), month


def parse_day(text: str, label_th: str) -> date:
    """A day typed ``1/12/2569`` (Buddhist era), ``1 ธ.ค. 2569`` or ISO ``2026-12-01``."""
    if match := _SLASH_DATE.fullmatch(text):
        year = _check_be_year(int(match["year"]), label_th, DATE_HINT)
        try:
            return date(year, int(match["month"]), int(match["day"]))
        except ValueError as e:
            raise _refuse(f"{text!r} is not a calendar date", f"{label_th}ไม่มีในปฏิทิน") from e
    try:
        return parse_thai_date(text)
    except SarabanError as e:
        raise _refuse(f"{text!r} is not a date", f"{label_th}ไม่ถูกต้อง: {DATE_HINT}") from e


@dataclass(frozen=True)
class StatsQuery:
    """What the operator asked for, checked."""

    period: Period
    group: int | None
    days: int
    month: str
    first: str
    last: str

    def args(self) -> dict[str, str]:
        """The query arguments that give this query again (for export links)."""
        out = {"by": self.period.by, "days": str(self.days)}
        if self.first:
            out.update({"from": self.first, "to": self.last})
        else:
            out["month"] = self.month
        if self.group is not None:
            out["group"] = str(self.group)
        return out


def read_query(
    args: Mapping[str, str], groups: set[int], default_days: int, today: date
) -> StatsQuery:
    """Check the query arguments of the statistics pages; a Thai :class:`ConsoleError`."""
    month_text = _arg(args, "month", "เดือน")
    first_text = _arg(args, "from", "วันที่เริ่มต้น")
    last_text = _arg(args, "to", "วันที่สิ้นสุด")
    by = _arg(args, "by", "การแสดงผล") or "day"
    if by not in GRANULARITIES:
        raise _refuse(f"by {by!r}", "กรุณาเลือกแสดงผลรายวันหรือรายเดือน")
    group_text = _arg(args, "group", "กลุ่มจังหวัด")
    group: int | None = None
    if group_text:
        if not _whole(group_text) or int(group_text) not in groups:
            raise _refuse(
                f"group {group_text!r} unknown",
                "ไม่มีกลุ่มจังหวัดที่เลือก กรุณาเลือกกลุ่มจังหวัดจากรายการ",
            )
        group = int(group_text)
    days_text = _arg(args, "days", "จำนวนวัน")
    days = default_days
    if days_text:
        if not _whole(days_text) or not 1 <= int(days_text) <= MAX_INACTIVE_DAYS:
            raise _refuse(
                f"days {days_text!r}",
                f"จำนวนวันที่ไม่ได้ใช้งานต้องเป็นจำนวนเต็มตั้งแต่ 1 ถึง {MAX_INACTIVE_DAYS:,}",
            )
        days = int(days_text)
    if first_text or last_text:
        if not (first_text and last_text):
            raise _refuse(
                "one end of the range missing",
                "กรุณากรอกทั้งวันที่เริ่มต้นและวันที่สิ้นสุด หรือเลือกเป็นเดือน",
            )
        first = parse_day(first_text, "วันที่เริ่มต้น")
        last = parse_day(last_text, "วันที่สิ้นสุด")
        if first > last:
            raise _refuse("from after to", "วันที่เริ่มต้นต้องไม่อยู่หลังวันที่สิ้นสุด")
        period = Period(first, last, by)
        month_text = ""
    else:
        year, month = parse_month(month_text) if month_text else (today.year, today.month)
        period = Period.month(year, month, by)
        month_text = f"{be_year(year)}-{month:02d}"
    if period.days > MAX_DAYS_IN_RANGE:
        raise _refuse("range too long", "ช่วงวันที่ยาวเกิน 10 ปี กรุณาเลือกช่วงที่สั้นลง")
    if by == "day" and period.days > MAX_DAILY_DAYS:
        raise _refuse(
            "too many days", f"แสดงรายวันได้ไม่เกิน {MAX_DAILY_DAYS} วัน กรุณาเลือกแสดงผลรายเดือน"
        )
    return StatsQuery(
        period,
        group,
        days,
        month_text,
        _typed(period.first) if first_text else "",
        _typed(period.last) if last_text else "",
    )


def _typed(day: date) -> str:
    # Shown back in the form the way the hint asks for it.
    return f"{day.day}/{day.month}/{be_year(day.year)}"


def _calendar() -> WorkCalendar:
    try:
        return WorkCalendar.from_settings(current_app.config)
    except SettingError as e:
        raise ConsoleError(
            str(e),
            "ค่าตั้ง WORKDAY_END หรือ HOLIDAYS ของศูนย์กลางไม่ถูกต้อง"
            " (เวลาเป็น ชั่วโมง:นาที เช่น 16:30 และวันหยุดเป็นวันที่ ค.ศ. เช่น 2026-12-07)",
            code="bad_setting",
            status=409,
        ) from e


def _report() -> tuple[StatsQuery, UsageReport, TimingReport, list[tuple[int, str]]]:
    store = get_store()
    moment = now()
    choices = group_choices(store.offices())
    query = read_query(
        request.args,
        {no for no, _ in choices},
        int(current_app.config["INACTIVE_DAYS"]),
        datetime.fromtimestamp(moment, BANGKOK).date(),
    )
    report = usage_report(store, query.period, query.group, query.days, _calendar(), moment)
    return query, report, timing_report(store, query.period, query.group), choices


SENT, RECEIVED, REGISTERED = "หนังสือส่ง", "หนังสือรับ", "ลงรับแล้ว"


def _usage_series(rows: list[Any]) -> list[charts.Series]:
    return [
        charts.Series(SENT, charts.BLUE, tuple(float(r.usage.sent) for r in rows)),
        charts.Series(RECEIVED, charts.ORANGE, tuple(float(r.usage.received) for r in rows)),
        charts.Series(REGISTERED, charts.GREEN, tuple(float(r.usage.registered) for r in rows)),
    ]


SPAN_UNITS = (3600, 60, 1)
"""The units a chart of spans counts in (hours, minutes, seconds): the largest that the
longest bar reaches, so that an axis of seconds never reads ``0.002 ชม.``."""


def span_unit(longest: float) -> int:
    """Seconds in the unit a chart whose longest span is ``longest`` seconds counts in."""
    return next((unit for unit in SPAN_UNITS if longest >= unit), 1)


def _span_axis(unit: int) -> tuple[Callable[[float], str], Callable[[float], str]]:
    """Bar and tick labels of a chart counting in ``unit``: Thai minutes and seconds."""

    def value_text(amount: float) -> str:
        return thai_duration(amount * unit)

    def tick_text(amount: float) -> str:
        return "0" if amount == 0 else thai_duration(amount * unit)

    return value_text, tick_text


def _charts(report: UsageReport) -> dict[str, Any]:
    timed = [r for r in report.registration if r.count]
    unit = span_unit(max((v for r in timed for v in (r.median, r.p90) if v is not None), default=0))
    value_text, tick_text = _span_axis(unit)
    return {
        "provinces": charts.horizontal_bars(
            "chart-provinces",
            f"หนังสือส่ง รับ และลงรับ รายจังหวัด {report.period.title()}",
            [r.label for r in report.provinces],
            _usage_series(report.provinces),
        ),
        "series": charts.vertical_bars(
            "chart-series",
            f"หนังสือส่ง รับ และลงรับ {GRANULARITIES[report.period.by]} {report.period.title()}",
            [r.label for r in report.series],
            _usage_series(report.series),
            axis_labels=[r.short_label for r in report.series],
        ),
        "registration": charts.horizontal_bars(
            "chart-registration",
            f"ระยะเวลาจากรับถึงลงรับ ตามชั้นความเร็ว {report.period.title()}",
            [r.label for r in timed],
            [
                charts.Series("มัธยฐาน", charts.BLUE, tuple((r.median or 0) / unit for r in timed)),
                charts.Series(
                    "เปอร์เซ็นไทล์ที่ 90", charts.VERMILLION, tuple((r.p90 or 0) / unit for r in timed)
                ),
            ],
            value_text=value_text,
            tick_text=tick_text,
            # Ticks of whole seconds: half a second would read "ไม่ถึง 1 วินาที".
            integer=unit == 1,
        ),
    }


@bp.get("/stats")
@login_required
def stats() -> str:
    query, report, timings, choices = _report()
    return render_template(
        "stats.html",
        q=query,
        r=report,
        t=timings,
        measures=MEASURE_TITLES,
        allowance=CLOCK_ALLOWANCE,
        groups=choices,
        granularities=GRANULARITIES,
        charts=_charts(report),
        tables=TABLE_TITLES,
        group_name=dict(choices).get(query.group) if query.group is not None else None,
        max_days=MAX_INACTIVE_DAYS,
    )


def _be_iso(day: date) -> str:
    # A Buddhist-era date in ISO order, so that the files sort by date: 2569-12-01.
    return f"{be_year(day.year)}-{day.month:02d}-{day.day:02d}"


def file_names(query: StatsQuery, what: str, suffix: str) -> tuple[str, str]:
    """The download's names, both with Buddhist-era years: ASCII
    (``saraban-stats-provinces-2569-12.csv``) and Thai
    (``สถิติการใช้งาน รายจังหวัด ธันวาคม 2569.csv``)."""
    p = query.period
    span = _be_iso(p.first)[:7] if p.is_month else f"{_be_iso(p.first)}_{_be_iso(p.last)}"
    group = f"-group{query.group}" if query.group is not None else ""
    thai_group = f" กลุ่มที่ {query.group}" if query.group is not None else ""
    title = TABLE_TITLES.get(what, "ทุกตาราง")
    return (
        f"saraban-stats-{what}-{span}{group}.{suffix}",
        f"สถิติการใช้งาน {title} {p.title()}{thai_group}.{suffix}",
    )


def attachment(names: tuple[str, str]) -> str:
    """A Content-Disposition for a download (RFC 6266): the ASCII name as ``filename`` for
    old clients, the Thai one as ``filename*`` in UTF-8, which browsers prefer."""
    ascii_name, thai_name = names
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(thai_name, safe='')}"


def _cell(value: Any) -> Any:
    # A text cell that a spreadsheet would read as a formula is kept as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


@bp.get("/stats/export.csv")
@login_required
def export_csv() -> Response:
    query, report, timings, _ = _report()
    name = request.args.get("table", "provinces")
    tables = {t.name: t for t in report_tables(report, timings)}
    if name not in tables:
        raise _refuse(f"table {name[:40]!r}", "ไม่มีตารางที่เลือก กรุณาเลือกจากหน้าสถิติ")
    table = tables[name]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headers)
    writer.writerows([_cell(v) for v in row] for row in table.rows)
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": attachment(file_names(query, name, "csv"))},
    )


@bp.get("/stats/export.xlsx")
@login_required
def export_xlsx() -> Response:
    from openpyxl import Workbook  # openpyxl: at the first export, not at the hub's start
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    query, report, timings, choices = _report()
    book = Workbook()
    about = book.active
    about.title = "เงื่อนไข"
    group = "ทุกกลุ่ม" if query.group is None else f"{query.group} {dict(choices)[query.group]}"
    for row in (
        ("สถิติการใช้งานระบบสารบรรณอิเล็กทรอนิกส์",),
        ("ช่วงเวลา", report.period.title()),
        ("การแสดงผล", GRANULARITIES[report.period.by]),
        ("กลุ่มจังหวัด", group),
        ("ไม่ได้ใช้งานตั้งแต่ (วัน)", report.inactive_days),
        ("จัดทำเมื่อ", format_thai_datetime(datetime.fromtimestamp(report.now, BANGKOK))),
    ):
        about.append(row)
    about["A1"].font = Font(bold=True, size=14)
    about.column_dimensions["A"].width = 28
    about.column_dimensions["B"].width = 40
    header_fill = PatternFill("solid", fgColor="ECE9F3")
    for table in report_tables(report, timings):
        sheet = book.create_sheet(table.title[:31])
        sheet.append(list(table.headers))
        for row in table.rows:
            sheet.append([_cell(v) for v in row])
        for col, header in enumerate(table.headers, 1):
            cell = sheet.cell(row=1, column=col)
            cell.font = Font(bold=True)
            cell.fill = header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            longest = max([len(str(header))] + [len(str(r[col - 1] or "")) for r in table.rows])
            sheet.column_dimensions[get_column_letter(col)].width = min(45, max(10, longest + 2))
        sheet.freeze_panes = "A2"
    data = io.BytesIO()
    book.save(data)
    return Response(
        data.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": attachment(file_names(query, "all", "xlsx"))},
    )
