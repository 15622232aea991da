"""Printed documents: tables as A4 PDF (Thai shaped, font embedded) and as Excel.

A :class:`~node.printing.tabledoc.TableDoc` is what every printed register and list is made
of: a title, a subtitle, columns and rows of text. Registers (:mod:`node.printing.registers`),
the 20-year list (:mod:`node.keeping.archives`) and the destruction list
(:mod:`node.keeping.destruction_lists`) build one; this module renders it (and is imported
at the first print, so a node starts without fpdf2, openpyxl and pypdf):

* :func:`table_pdf`: A4 through fpdf2, with the Thai font (:mod:`node.printing.fonts`) embedded
  (subset) and shaped by HarfBuzz, so that tone marks and upper and lower vowels sit where
  Thai readers expect them; cells and titles wrap between Thai words
  (:mod:`node.printing.thaiwrap`); the header row repeats on every page, the last row is
  printed on the page of the total under it, and every page says ``หน้า x/y`` and when it
  was printed (Buddhist era, Bangkok time). The text layer is repaired
  (:mod:`node.printing.pdftext`) so that its Thai copies and searches as written (ำ included).
* :func:`table_xlsx`: the same table as an Excel workbook (openpyxl), ready to print.

Does not: read the database or decide what a register contains (:mod:`node.printing.registers`),
choose the font (:mod:`node.printing.fonts`), stamp received PDFs (:mod:`node.printing.stamp`), or
sign PDFs.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from fpdf import FPDF
from fpdf.enums import TableCellFillMode, VAlign, XPos, YPos
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from node.printing.fonts import FAMILY, PrintFont, resolve_font, use_font
from node.printing.pdftext import repair_text_layer
from node.printing.tabledoc import TableDoc
from node.printing.thaiwrap import wrap_text
from protocol.thai import format_thai_datetime, normalize_thai

XLSX_FONT = "TH SarabunPSK"
"""The official Thai font, named in Excel cells (Excel substitutes it where missing)."""


# -- tables as PDF -----------------------------------------------------------------------

_BODY_PT = 9.0
_HEAD_PT = 9.0
_TITLE_PT = 16.0
_SUBTITLE_PT = 12.0
_SMALL_PT = 8.0
_PAD_MM = 1.2  # left and right padding inside a cell
_PAD_TOP_MM = 0.8  # and above and below
_LINE = 1.5  # line height as a multiple of the font size: room for stacked Thai marks
_FOOTER_GAP_MM = 3.0  # between the table and the lines under it


def _printed_moment(doc: TableDoc) -> datetime:
    """When ``doc`` was printed: its ``printed_at``, else now."""
    return datetime.fromtimestamp(
        doc.printed_at if doc.printed_at is not None else time.time(), UTC
    )


def _printed_text(doc: TableDoc) -> str:
    return format_thai_datetime(_printed_moment(doc))


class _TablePDF(FPDF):
    """An A4 document whose pages carry the title (after the first), page x/y and date."""

    def __init__(self, doc: TableDoc, font: PrintFont) -> None:
        super().__init__(orientation="L" if doc.landscape else "P", unit="mm", format="A4")
        self.doc = doc
        self.scale = font.size_factor
        self.printed = _printed_text(doc)
        use_font(self, font)
        self.set_margins(10, 12, 10)
        self.set_auto_page_break(True, margin=14)

    def pt(self, size: float) -> float:
        """A Sarabun point size in this font."""
        return size * self.scale

    def header(self) -> None:
        if self.page_no() > 1:
            self.set_font(FAMILY, "", self.pt(_SMALL_PT))
            self.set_y(5)
            self.cell(0, 5, normalize_thai(f"{self.doc.title} {self.doc.subtitle} (ต่อ)"))
            self.set_y(12)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(FAMILY, "", self.pt(_SMALL_PT))
        half = self.epw / 2
        self.cell(half, 5, f"พิมพ์เมื่อ {self.printed}", align="L")
        self.cell(half, 5, f"หน้า {self.page_no()}/{{nb}}", align="R")


def _cell_lines(pdf: FPDF, text: str, width: float) -> list[str]:
    """``text`` normalised and wrapped to ``width`` mm in the current font."""
    return wrap_text(normalize_thai(text), width, pdf.get_string_width)


def _title(pdf: _TablePDF, doc: TableDoc) -> None:
    for text, style, size in ((doc.title, "B", _TITLE_PT), (doc.subtitle, "", _SUBTITLE_PT)):
        if text:
            pdf.set_font(FAMILY, style, pdf.pt(size))
            pdf.multi_cell(
                0,
                pdf.pt(size) * 0.55,
                "\n".join(_cell_lines(pdf, text, pdf.epw)),
                align="C",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
    pdf.ln(3)


@dataclass(frozen=True)
class _Grid:
    """How the table is laid out: column widths (mm), the header's lines, the line height."""

    doc: TableDoc
    width: float
    widths: list[float]
    headers: list[list[str]]
    line_h: float

    def row_height(self, cells: list[list[str]]) -> float:
        """How tall fpdf2 draws a row of these lines (top-aligned, padded)."""
        return max((len(lines) for lines in cells), default=1) * self.line_h + 2 * _PAD_TOP_MM


def _draw(pdf: _TablePDF, grid: _Grid, rows: list[list[list[str]]], heading: bool) -> None:
    """Draw ``rows`` (each cell as its lines) as a table, under the header if ``heading``;
    without it, the rows go on from the table drawn just before.
    """
    with pdf.table(
        width=grid.width,
        col_widths=tuple(grid.widths),
        text_align=tuple(c.align for c in grid.doc.columns),
        v_align=VAlign.T,
        first_row_as_headings=heading,
        headings_style=FontFace(
            family=FAMILY, emphasis="BOLD", size_pt=pdf.pt(_HEAD_PT), fill_color=(225, 225, 225)
        ),
        line_height=grid.line_h,
        padding=(_PAD_TOP_MM, _PAD_MM),
        repeat_headings=1,
        cell_fill_mode=TableCellFillMode.NONE,
    ) as table:
        if heading:
            head = table.row()
            for lines in grid.headers:
                head.cell("\n".join(lines), align="C")
        if not rows:
            table.row().cell("ไม่มีรายการ", align="C", colspan=len(grid.doc.columns))
        for cells in rows:
            row = table.row()
            for lines in cells:
                row.cell("\n".join(lines))


def _table(pdf: _TablePDF, doc: TableDoc, footer: list[str]) -> None:
    """The table, its header repeated on every page; the last row on the page of ``footer``
    (the lines printed under it), so that a page never holds the total alone.
    """
    total = sum(c.width_mm for c in doc.columns) or 1.0
    width = min(total, pdf.epw)
    widths = [c.width_mm * width / total for c in doc.columns]
    inner = [w - 2 * _PAD_MM - 0.4 for w in widths]  # 0.4: the cell borders and a margin
    pdf.set_font(FAMILY, "B", pdf.pt(_HEAD_PT))
    headers = [_cell_lines(pdf, c.header, room) for c, room in zip(doc.columns, inner, strict=True)]
    pdf.set_font(FAMILY, "", pdf.pt(_BODY_PT))
    grid = _Grid(doc, width, widths, headers, pdf.font_size * _LINE)
    head_h = grid.row_height(headers)
    # fpdf2 cannot split a row across pages: a row taller than the room under the title
    # goes on in the rows that follow it, each at most that tall.
    room_below_title = pdf.h - pdf.b_margin - pdf.get_y()
    most_lines = max(1, int((room_below_title - head_h - 2 * _PAD_TOP_MM - 2) / grid.line_h))
    rows: list[list[list[str]]] = []
    for values in doc.rows:
        cells = [
            _cell_lines(pdf, str(values[i] or "") if i < len(values) else "", room)
            for i, room in enumerate(inner)
        ]
        tallest = max(len(lines) for lines in cells)
        rows += [
            [lines[start : start + most_lines] for lines in cells]
            for start in range(0, tallest, most_lines)
        ]
    if not footer or len(rows) < 2:
        _draw(pdf, grid, rows, heading=True)
        return
    _draw(pdf, grid, rows[:-1], heading=True)
    footer_h = _FOOTER_GAP_MM + len(footer) * grid.line_h
    new_page = pdf.will_page_break(grid.row_height(rows[-1]) + footer_h)
    if new_page:
        pdf.add_page()
    _draw(pdf, grid, rows[-1:], heading=new_page)


def table_pdf(doc: TableDoc, font: PrintFont | None = None) -> bytes:
    """``doc`` as an A4 PDF: title, subtitle, a table whose header repeats, footer lines.

    The font (default: :func:`resolve_font`) is embedded as a subset and Thai is shaped;
    an empty table prints ``ไม่มีรายการ``. Cells wrap between Thai words; the page says
    ``หน้า x/y`` and when it was printed. The footer (the total) is printed on the page of
    the table's last row, never on a page of its own.
    """
    pdf = _TablePDF(doc, font or resolve_font())
    pdf.set_title(normalize_thai(doc.title))
    pdf.set_lang("th")
    pdf.set_creator("Saraban")
    pdf.set_creation_date(_printed_moment(doc))
    pdf.add_page()
    _title(pdf, doc)
    pdf.set_font(FAMILY, "", pdf.pt(_BODY_PT))
    footer = [line for text in doc.footer for line in _cell_lines(pdf, text, pdf.epw)]
    _table(pdf, doc, footer)
    if footer:
        pdf.ln(_FOOTER_GAP_MM)
        pdf.set_font(FAMILY, "", pdf.pt(_BODY_PT))
        pdf.multi_cell(
            0, pdf.font_size * _LINE, "\n".join(footer), new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
    return repair_text_layer(bytes(pdf.output()))


# -- tables as Excel -------------------------------------------------------------------------

_MM_PER_XLSX_CHAR = 1.9  # Excel widths count '0' characters of the default font (~1.9 mm)


def _sheet_title(title: str) -> str:
    cleaned = "".join(c for c in title if c not in "[]:*?/\\").strip()
    return (cleaned or "Sheet")[:31]


def table_xlsx(doc: TableDoc) -> bytes:
    """``doc`` as an Excel workbook: title and subtitle rows, a bold frozen header, wrapped
    cells, column widths from the columns, A4 page setup repeating the header when printed.
    """
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook always has its first sheet
    ws.title = _sheet_title(normalize_thai(doc.title))
    ncols = max(1, len(doc.columns))
    last = get_column_letter(ncols)
    plain = Font(name=XLSX_FONT, size=14)
    bold = Font(name=XLSX_FONT, size=14, bold=True)
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)

    ws.append([normalize_thai(doc.title)])
    ws.append([normalize_thai(doc.subtitle)])
    for row_no, size in ((1, 18), (2, 15)):
        ws.merge_cells(f"A{row_no}:{last}{row_no}")
        cell = ws.cell(row=row_no, column=1)
        cell.font = Font(name=XLSX_FONT, size=size, bold=row_no == 1)
        cell.alignment = Alignment(horizontal="center")

    ws.append([normalize_thai(c.header) for c in doc.columns])
    header_row = ws.max_row
    for col in range(1, ncols + 1):
        cell = ws.cell(row=header_row, column=col)
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        cell.fill = PatternFill("solid", fgColor="E1E1E1")
        cell.border = box
    if not doc.rows:
        ws.append(["ไม่มีรายการ"])
        ws.merge_cells(f"A{ws.max_row}:{last}{ws.max_row}")
        ws.cell(row=ws.max_row, column=1).alignment = Alignment(horizontal="center")
        ws.cell(row=ws.max_row, column=1).font = plain
    horizontal = {"L": "left", "C": "center", "R": "right"}
    for values in doc.rows:
        ws.append([normalize_thai(v or "") for v in values])
        for col, column in enumerate(doc.columns, start=1):
            cell = ws.cell(row=ws.max_row, column=col)
            cell.font = plain
            cell.alignment = Alignment(
                wrap_text=True, vertical="top", horizontal=horizontal.get(column.align, "left")
            )
            cell.border = box
    if doc.footer:
        ws.append([])
        for line in doc.footer:
            ws.append([normalize_thai(line)])
            ws.cell(row=ws.max_row, column=1).font = plain
            ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=False)

    for col, column in enumerate(doc.columns, start=1):
        ws.column_dimensions[get_column_letter(col)].width = round(
            column.width_mm / _MM_PER_XLSX_CHAR, 1
        )
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if doc.landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddFooter.left.text = f"พิมพ์เมื่อ {_printed_text(doc)}"
    ws.oddFooter.right.text = "หน้า &P/&N"
    ws.print_options.horizontalCentered = True
    moment = _printed_moment(doc).replace(tzinfo=None)  # openpyxl writes naive UTC
    wb.properties.created = moment
    wb.properties.modified = moment
    wb.properties.title = normalize_thai(doc.title)
    wb.properties.creator = "Saraban"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
