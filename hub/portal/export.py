"""A portal result list as an Excel workbook (openpyxl): the letters found, in the order
shown, with Buddhist-era dates, and the search that found them.

Each letter is one row: ลำดับ, ที่ (its number, and the provisional one it replaced),
ลงวันที่, จาก, ถึง, เรื่อง, ชนิด, ชั้นความเร็ว, ชั้นความลับ. A letter whose content the
person may not read (the ministry's view of another office's letter, a sealed letter)
shows no subject, as on the page. The file is named with the Buddhist-era date of the
export (:func:`file_names`). A text cell a spreadsheet would read as a formula is kept as
text.

Does not: search (the caller hands the rows over) or decide what a person may read.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from hub.portal.search import PortalRow
from protocol.thai import BANGKOK, be_year, format_thai_date, format_thai_datetime

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HEADERS = (
    "ลำดับ",
    "ที่",
    "ลงวันที่",
    "จาก",
    "ถึง",
    "เรื่อง",
    "ชนิด",
    "ชั้นความเร็ว",
    "ชั้นความลับ",
)
WIDTHS = (7, 22, 18, 30, 40, 60, 16, 12, 12)

HIDDEN_SUBJECT_TH = "(ไม่แสดงเนื้อหา)"
"""What stands for the subject of a letter the person may not read."""


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def letter_cells(index: int, row: PortalRow) -> list[Any]:
    """One letter's cells."""
    number = row.number or "-"
    if row.earlier_number:
        number = f"{number} (เดิม {row.earlier_number})"
    origin = f"{row.origin} {row.origin_name}".strip()
    recipients = ", ".join(f"{o} {n}".strip() for o, n in row.recipients)
    subject = row.subject if row.readable else HIDDEN_SUBJECT_TH
    kind = " ".join(k for k in (row.letter_type, row.sub_type) if k)
    return [
        index,
        number,
        row.date_th or row.letter_date or "-",
        origin,
        recipients,
        subject,
        kind,
        row.speed or "ปกติ",
        row.secrecy or "-",
    ]


def workbook(
    rows: Sequence[PortalRow], about: Iterable[tuple[str, str]], title: str, now: float
) -> bytes:
    """The workbook of ``rows``: a title, ``about`` (what was searched, as label and value
    pairs), when it was made, then the table."""
    from openpyxl import Workbook  # openpyxl: at the first export, not at the hub's start
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "ผลการค้นหา"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    made = format_thai_datetime(datetime.fromtimestamp(now, BANGKOK))
    for label, value in [*about, ("จัดทำเมื่อ", made), ("จำนวน", f"{len(rows):,} ฉบับ")]:
        sheet.append([label, _cell(value)])
    sheet.append([])
    head_row = sheet.max_row + 1
    sheet.append(list(HEADERS))
    fill = PatternFill("solid", fgColor="E9EDF3")
    for col, width in enumerate(WIDTHS, 1):
        cell = sheet.cell(row=head_row, column=col)
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(col)].width = width
    for index, row in enumerate(rows, 1):
        sheet.append([_cell(v) for v in letter_cells(index, row)])
        for col in range(1, len(HEADERS) + 1):
            sheet.cell(row=sheet.max_row, column=col).alignment = Alignment(
                wrap_text=True, vertical="top"
            )
    sheet.freeze_panes = sheet.cell(row=head_row + 1, column=1)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def file_names(stem_ascii: str, stem_thai: str, now: float) -> tuple[str, str]:
    """The download's names with the Buddhist-era date: ASCII
    (``saraban-portal-search-2569-12-06.xlsx``) and Thai
    (``ผลการค้นหาหนังสือ 6 ธันวาคม 2569.xlsx``)."""
    day = datetime.fromtimestamp(now, BANGKOK).date()
    iso = f"{be_year(day.year)}-{day.month:02d}-{day.day:02d}"
    return f"{stem_ascii}-{iso}.xlsx", f"{stem_thai} {format_thai_date(day)}.xlsx"


def attachment(names: tuple[str, str]) -> str:
    """A Content-Disposition (RFC 6266): the ASCII name for old clients, the Thai one as
    ``filename*`` in UTF-8."""
    ascii_name, thai_name = names
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(thai_name, safe='')}"
