"""Printed documents: tables as A4 PDF (Thai shaped, font embedded) and as Excel, and the
receipt stamp on a received PDF.

A :class:`TableDoc` is what every printed register and list is made of: a title, a
subtitle, columns and rows of text. Registers (:mod:`node.reports`) and the destruction
list (:mod:`node.retention`) build one; this module renders it:

* :func:`table_pdf`: A4 through fpdf2, with the Thai font embedded (subset) and shaped by
  HarfBuzz, so that tone marks and upper and lower vowels sit where Thai readers expect
  them; the header row repeats on every page, and every page says ``หน้า x/y`` and when it
  was printed (Buddhist era, Bangkok time).
* :func:`table_xlsx`: the same table as an Excel workbook (openpyxl), ready to print.
* :func:`stamp_pdf`: a stamped copy of a received PDF, with the receipt stamp
  (ตรารับหนังสือ) drawn at the top right of its first page.

The font is resolved by :func:`resolve_font`: the ``PRINT_FONT`` setting, else Sarabun from
the ``fontpkg-sarabun`` package, else Debian's Laksaman. Every PDF made here goes through
:func:`repair_text_layer`, so that its Thai copies and searches as written (ำ included).

Does not: read the database or decide what a register contains (:mod:`node.reports`),
segment Thai words with a dictionary (an over-long Thai word is broken between character
clusters, never between a consonant and its vowels or tone marks), or sign PDFs.
"""

from __future__ import annotations

import io
import logging
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import TableCellFillMode, VAlign, XPos, YPos
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.generic import StreamObject

from protocol.thai import format_thai_datetime, normalize_thai

from .errors import BadInput, NodeError

log = logging.getLogger(__name__)

LAKSAMAN = Path("/usr/share/fonts/truetype/tlwg/Laksaman.ttf")
"""Debian's ``fonts-tlwg-laksaman``, derived from TH Sarabun New: the last resort."""

XLSX_FONT = "TH SarabunPSK"
"""The official Thai font, named in Excel cells (Excel substitutes it where missing)."""

_FAMILY = "saraban-print"
_THAI_PROBE = "\u0e01\u0e48"  # ก and MAI EK: a font without them cannot print Thai
_REFERENCE_HEIGHT = 586.0  # height of ก in Sarabun (units per em 1000): sizes are Sarabun's


@dataclass(frozen=True)
class Column:
    """One column: its Thai header, its share of the page width (mm) and alignment."""

    header: str
    width_mm: float
    align: str = "L"  # "L", "C" or "R"


@dataclass
class TableDoc:
    """A titled table to print: registers, the destruction list, the archives list."""

    title: str
    subtitle: str
    columns: list[Column]
    rows: list[list[str]]
    footer: list[str] = field(default_factory=list)
    landscape: bool = True
    filename: str = "document"
    """Base of the download's file name, without extension (ASCII)."""
    display_name: str = ""
    """The download's Thai file name without extension (``filename*``); empty: ``filename``."""
    printed_at: float | None = None
    """When it was printed (Unix seconds, from the node's clock); None: the rendering time."""


@dataclass(frozen=True)
class ReceiptStamp:
    """What the receipt stamp (ตรารับหนังสือ) says: the unit, เลขรับ, วันที่ and เวลา."""

    unit_name: str
    receipt_number: str
    date_th: str
    time_th: str


class PrintFontMissing(NodeError):
    """No font that can print Thai was found on this machine."""

    status = 503
    code = "print_font_missing"
    message_th = (
        "ไม่พบฟอนต์ภาษาไทยสำหรับพิมพ์เอกสาร กรุณาติดตั้งฟอนต์ Sarabun หรือ Laksaman "
        "หรือกำหนดค่า SARABAN_NODE_PRINT_FONT"
    )


# -- fonts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrintFont:
    """A TrueType font to print with: regular and bold files, and how to size it.

    ``size_factor`` makes a font whose Thai letters are smaller for the same point size
    (TH Sarabun New, for one) print as large as Sarabun does.
    """

    regular: Path
    bold: Path | None = None
    size_factor: float = 1.0


def _thai_height(path: Path) -> float | None:
    """The height of ก in font units per 1000 em, or None if the font cannot print Thai."""
    try:
        font = TTFont(str(path), lazy=True)
        cmap = font.getBestCmap() or {}
        if not all(ord(c) in cmap for c in _THAI_PROBE):
            return None
        glyphs = font.getGlyphSet()
        pen = BoundsPen(glyphs)
        glyphs[cmap[ord(_THAI_PROBE[0])]].draw(pen)
        units = float(font["head"].unitsPerEm)
    except Exception:  # fontTools raises many kinds; any means the font is unusable
        return None
    if pen.bounds is None or units <= 0:
        return None
    return float(pen.bounds[3] - pen.bounds[1]) * 1000.0 / units


def _bold_beside(regular: Path) -> Path | None:
    """The bold file next to a regular one, by the names font families use."""
    stem = regular.stem
    names = [
        stem.replace("Regular", "Bold"),
        f"{stem}-Bold",
        f"{stem} Bold",
        f"{stem}Bold",
        f"{stem}_Bold",
    ]
    for name in names:
        candidate = regular.with_name(name + regular.suffix)
        if candidate != regular and candidate.is_file() and _thai_height(candidate):
            return candidate
    return None


def _sarabun() -> Path | None:
    try:
        import fontpkg_sarabun
    except ImportError:
        return None
    return Path(fontpkg_sarabun.ROOT) / "files" / "Sarabun-Regular.ttf"


def default_fonts() -> tuple[Path, ...]:
    """The fonts tried after the setting: Sarabun from fontpkg-sarabun, then Laksaman."""
    return tuple(p for p in (_sarabun(), LAKSAMAN) if p is not None)


@lru_cache(maxsize=8)
def resolve_font(configured: str = "", fallbacks: tuple[Path, ...] | None = None) -> PrintFont:
    """The font to print with: ``configured`` (the PRINT_FONT setting), then ``fallbacks``
    (default: :func:`default_fonts`), the first that can print Thai.

    A configured path that does not exist or cannot print Thai is skipped with a warning.
    Raises :class:`PrintFontMissing` when none is usable.
    """
    candidates = [Path(configured).expanduser()] if configured.strip() else []
    candidates += default_fonts() if fallbacks is None else fallbacks
    for path in candidates:
        height = _thai_height(path) if path.is_file() else None
        if height is None:
            if configured and path == candidates[0]:
                log.warning("PRINT_FONT %s is missing or cannot print Thai; skipped", path)
            continue
        return PrintFont(path, _bold_beside(path), round(_REFERENCE_HEIGHT / height, 3))
    tried = ", ".join(str(p) for p in candidates) or "nothing"
    raise PrintFontMissing(f"no usable Thai font to print with (tried {tried})")


def _use_font(pdf: FPDF, font: PrintFont) -> None:
    """Embed the font (regular and bold) and shape Thai through HarfBuzz."""
    pdf.add_font(_FAMILY, "", str(font.regular))
    pdf.add_font(_FAMILY, "B", str(font.bold or font.regular))
    # Without shaping, tone marks over an upper vowel (ที่) overprint it and marks over a
    # tall consonant (ปี่) collide with its stroke: the font's GPOS placement needs HarfBuzz.
    pdf.set_text_shaping(use_shaping_engine=True, script="thai", language="th")


# -- Thai line breaking --------------------------------------------------------------------

_FOLLOWING_VOWELS = frozenset("\u0e30\u0e32\u0e33\u0e45\u0e2f\u0e46")  # ะ า ำ ๅ ฯ ๆ
_LEADING_VOWELS = frozenset("\u0e40\u0e41\u0e42\u0e43\u0e44")  # เ แ โ ใ ไ
_NEEDS_FINAL = frozenset("\u0e31\u0e47")  # ั and ็ are always followed by a final consonant
_THANTHAKHAT = "\u0e4c"
_TONE_MARKS = frozenset("\u0e48\u0e49\u0e4a\u0e4b")
_AT_SPACE, _AT_SYLLABLE, _AT_CLUSTER = 2, 1, 0


def _is_thai(char: str) -> bool:
    return "\u0e00" <= char <= "\u0e7f"


def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


def _marks_after(text: str, i: int) -> str:
    """The combining marks that follow the letter at ``i``."""
    j = i + 1
    while j < len(text) and _is_mark(text[j]):
        j += 1
    return text[i + 1 : j]


def _marks_before(text: str, i: int) -> str:
    """The combining marks right before ``i``."""
    j = i
    while j > 0 and _is_mark(text[j - 1]):
        j -= 1
    return text[j:i]


def _tone_without_vowel(text: str, i: int) -> bool:
    """Whether ``text[i]`` follows a consonant bearing only a tone mark, with no leading
    vowel: the syllable is not finished (ส่|ง, ก่|อน, ด่|วน), unlike แม่|น้ำ or ไม่|ได้.
    """
    marks = _marks_before(text, i)
    base = i - len(marks) - 1
    if not marks or base < 0 or not set(marks) <= _TONE_MARKS:
        return False
    return not (base > 0 and text[base - 1] in _LEADING_VOWELS)


def break_points(text: str) -> list[tuple[int, int]]:
    """Where a line may break (before ``text[i]``), each with how good a place it is.

    Best after a space; then before a leading vowel (เ แ โ ใ ไ), which always starts a
    syllable; then between any two Thai character clusters. Never before a combining mark
    or a following vowel (ะ า ำ ๅ ฯ ๆ), never after a leading vowel, never between a
    consonant carrying ั or ็ (or only a tone mark) and the rest of its syllable, never
    before a letter silenced by ์.
    Runs of Latin letters and digits (letter numbers, dates) are kept whole.
    """
    points = []
    for i in range(1, len(text)):
        before, here = text[i - 1], text[i]
        if before.isspace() and not here.isspace():
            points.append((i, _AT_SPACE))
        elif (
            _is_thai(before)
            and _is_thai(here)
            and not _is_mark(here)
            and here not in _FOLLOWING_VOWELS
            and before not in _LEADING_VOWELS
            and not set(_marks_before(text, i)) & _NEEDS_FINAL
            and not _tone_without_vowel(text, i)
            and _THANTHAKHAT not in _marks_after(text, i)
        ):
            points.append((i, _AT_SYLLABLE if here in _LEADING_VOWELS else _AT_CLUSTER))
    return points


def wrap_text(text: str, max_width: float, width_of: Callable[[str], float]) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width`` as measured by ``width_of``.

    Takes the best kind of break point (see :func:`break_points`) that still fills at
    least half the line, else the last one that fits; a run with no break point at all (a
    long number) is cut between characters, never before a combining mark.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        rest = paragraph.strip()
        while rest and width_of(rest) > max_width:
            cut = _fit(rest, max_width, width_of)
            lines.append(rest[:cut].rstrip())
            rest = rest[cut:].lstrip()
        lines.append(rest)
    return lines


def _last_fitting(
    text: str, points: list[int], max_width: float, width_of: Callable[[str], float]
) -> int | None:
    """The largest break point whose first part fits (widths grow with length)."""
    lo, hi, best = 0, len(points) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if width_of(text[: points[mid]].rstrip()) <= max_width:
            best, lo = points[mid], mid + 1
        else:
            hi = mid - 1
    return best


def _fit(text: str, max_width: float, width_of: Callable[[str], float]) -> int:
    """Where to end the first line of ``text``."""
    points = break_points(text)
    cut = _last_fitting(text, [i for i, _ in points], max_width, width_of)
    if cut is not None:
        for rank in (_AT_SPACE, _AT_SYLLABLE):
            better = [i for i, r in points if r == rank and i <= cut]
            if better and (better[-1] == cut or width_of(text[: better[-1]]) >= max_width / 2):
                return better[-1]
        return cut
    # Nothing fits: cut between characters, keeping each consonant with its marks.
    hard = [i for i in range(1, len(text)) if not _is_mark(text[i])]
    return _last_fitting(text, hard, max_width, width_of) or (hard[0] if hard else len(text))


# -- the text layer: copying and searching Thai in the PDF ----------------------------------

_SARA_AM = "\u0e33"
_SARA_AA = "\u0e32"
_BFCHAR = re.compile(r"\d+\s+beginbfchar(.*?)endbfchar", re.S)
_BFCHAR_ENTRY = re.compile(r"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]*)>")


def _widths_by_code(w_array: Any) -> dict[int, float]:
    """Glyph widths from a CID font's /W array (fpdf2 uses each code as its CID)."""
    widths: dict[int, float] = {}
    items = list(w_array or [])
    i = 0
    while i + 1 < len(items):
        first, nxt = int(items[i]), items[i + 1]
        if isinstance(nxt, list):
            for k, width in enumerate(nxt):
                widths[first + k] = float(width)
            i += 2
        elif i + 2 < len(items):
            for code in range(first, int(nxt) + 1):
                widths[code] = float(items[i + 2])
            i += 3
        else:
            break
    return widths


def _repaired_cmap(cmap: str, widths: dict[int, float], gids: dict[int, int]) -> str | None:
    """The ToUnicode CMap with SARA AM on the glyph that carries its width, or None."""
    mapping: dict[int, str] = {}
    for block in _BFCHAR.findall(cmap):
        for code, dst in _BFCHAR_ENTRY.findall(block):
            mapping[int(code, 16)] = bytes.fromhex(dst).decode("utf-16-be", "replace")
    unmapped = [code for code, gid in gids.items() if code and gid and code not in mapping]
    if not unmapped:
        return None
    sara_aa = {gids.get(c) for c, text in mapping.items() if text == _SARA_AA}
    carriers = [
        c for c, text in mapping.items() if text.endswith(_SARA_AM) and not widths.get(c, 0)
    ]
    for code in unmapped:
        is_sara_aa = gids[code] in sara_aa or (not sara_aa and widths.get(code, 0) > 0)
        mapping[code] = _SARA_AM if carriers and is_sara_aa else ""
    if any(mapping[c] == _SARA_AM for c in unmapped):
        for code in carriers:
            mapping[code] = mapping[code][: -len(_SARA_AM)]
    entries = [
        f"<{code:04X}> <{text.encode('utf-16-be').hex().upper()}>"
        for code, text in sorted(mapping.items())
    ]
    blocks = "".join(
        f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar\n"
        for chunk in (entries[i : i + 100] for i in range(0, len(entries), 100))
    )
    start, end = cmap.find("beginbfchar"), cmap.rfind("endbfchar")
    head = cmap[:start].rstrip().rsplit("\n", 1)[0]  # drop the count before beginbfchar
    return f"{head}\n{blocks}{cmap[end + len('endbfchar') :].lstrip()}"


def repair_text_layer(data: bytes) -> bytes:
    """Make the Thai text of an fpdf2 PDF copy and search as it was written.

    HarfBuzz draws SARA AM (ำ) as two glyphs, NIKHAHIT and SARA AA; fpdf2 maps the text to
    the first and leaves the second without any, so viewers extract ``สำ`` plus a stray
    character and a search for สำนักงาน fails. This moves ำ to the SARA AA glyph, which
    carries the width, and maps any other glyph without text to nothing. Rendering is not
    touched; a PDF with nothing to repair is returned as it is.
    """
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    repaired = False
    done: set[int] = set()
    for page in writer.pages:
        resources = page.get("/Resources")
        fonts = resources.get_object().get("/Font") if resources is not None else None
        for ref in (fonts.get_object() if fonts is not None else {}).values():
            font = ref.get_object()
            to_unicode = font.get("/ToUnicode")
            if font.get("/Subtype") != "/Type0" or to_unicode is None:
                continue
            stream = to_unicode.get_object()
            if id(stream) in done:
                continue
            done.add(id(stream))
            cid_font = font["/DescendantFonts"][0].get_object()
            gid_map = cid_font.get("/CIDToGIDMap")
            if gid_map is None or not isinstance(gid_map.get_object(), StreamObject):
                continue
            raw = gid_map.get_object().get_data()
            gids = {i // 2: int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)}
            cmap = _repaired_cmap(
                stream.get_data().decode("latin-1"),
                _widths_by_code(cid_font.get("/W")),
                {c: g for c, g in gids.items() if g},
            )
            if cmap is not None:
                stream.set_data(cmap.encode("latin-1"))
                repaired = True
    if not repaired:
        return data
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- tables as PDF -----------------------------------------------------------------------

_BODY_PT = 9.0
_HEAD_PT = 9.0
_TITLE_PT = 16.0
_SUBTITLE_PT = 12.0
_SMALL_PT = 8.0
_PAD_MM = 1.2  # left and right padding inside a cell
_PAD_TOP_MM = 0.8  # and above and below
_LINE = 1.5  # line height as a multiple of the font size: room for stacked Thai marks


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
        _use_font(self, font)
        self.set_margins(10, 12, 10)
        self.set_auto_page_break(True, margin=14)

    def pt(self, size: float) -> float:
        """A Sarabun point size in this font."""
        return size * self.scale

    def header(self) -> None:
        if self.page_no() > 1:
            self.set_font(_FAMILY, "", self.pt(_SMALL_PT))
            self.set_y(5)
            self.cell(0, 5, normalize_thai(f"{self.doc.title} {self.doc.subtitle} (ต่อ)"))
            self.set_y(12)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(_FAMILY, "", self.pt(_SMALL_PT))
        half = self.epw / 2
        self.cell(half, 5, f"พิมพ์เมื่อ {self.printed}", align="L")
        self.cell(half, 5, f"หน้า {self.page_no()}/{{nb}}", align="R")


def _cell_lines(pdf: FPDF, text: str, width: float) -> list[str]:
    """``text`` normalised and wrapped to ``width`` mm in the current font."""
    return wrap_text(normalize_thai(text), width, pdf.get_string_width)


def _title(pdf: _TablePDF, doc: TableDoc) -> None:
    for text, style, size in ((doc.title, "B", _TITLE_PT), (doc.subtitle, "", _SUBTITLE_PT)):
        if text:
            pdf.set_font(_FAMILY, style, pdf.pt(size))
            pdf.multi_cell(
                0,
                pdf.pt(size) * 0.55,
                normalize_thai(text),
                align="C",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
    pdf.ln(3)


def _table(pdf: _TablePDF, doc: TableDoc) -> None:
    total = sum(c.width_mm for c in doc.columns) or 1.0
    width = min(total, pdf.epw)
    widths = [c.width_mm * width / total for c in doc.columns]
    inner = [w - 2 * _PAD_MM - 0.4 for w in widths]  # 0.4: the cell borders and a margin
    pdf.set_font(_FAMILY, "B", pdf.pt(_HEAD_PT))
    headers = [_cell_lines(pdf, c.header, room) for c, room in zip(doc.columns, inner, strict=True)]
    pdf.set_font(_FAMILY, "", pdf.pt(_BODY_PT))
    line_h = pdf.font_size * _LINE
    head_h = max((len(h) for h in headers), default=1) * line_h + 2 * _PAD_TOP_MM
    # fpdf2 cannot split a row across pages: a row taller than the room under the title
    # goes on in the rows that follow it, each at most that tall.
    room_below_title = pdf.h - pdf.b_margin - pdf.get_y()
    most_lines = max(1, int((room_below_title - head_h - 2 * _PAD_TOP_MM - 2) / line_h))
    with pdf.table(
        width=width,
        col_widths=tuple(widths),
        text_align=tuple(c.align for c in doc.columns),
        v_align=VAlign.T,
        headings_style=FontFace(
            family=_FAMILY, emphasis="BOLD", size_pt=pdf.pt(_HEAD_PT), fill_color=(225, 225, 225)
        ),
        line_height=line_h,
        padding=(_PAD_TOP_MM, _PAD_MM),
        repeat_headings=1,
        cell_fill_mode=TableCellFillMode.NONE,
    ) as table:
        head = table.row()
        for lines in headers:
            head.cell("\n".join(lines), align="C")
        if not doc.rows:
            table.row().cell("ไม่มีรายการ", align="C", colspan=len(doc.columns))
        for values in doc.rows:
            cells = [
                _cell_lines(pdf, str(values[i] or "") if i < len(values) else "", room)
                for i, room in enumerate(inner)
            ]
            tallest = max(len(lines) for lines in cells)
            for start in range(0, tallest, most_lines):
                row = table.row()
                for lines in cells:
                    row.cell("\n".join(lines[start : start + most_lines]))


def table_pdf(doc: TableDoc, font: PrintFont | None = None) -> bytes:
    """``doc`` as an A4 PDF: title, subtitle, a table whose header repeats, footer lines.

    The font (default: :func:`resolve_font`) is embedded as a subset and Thai is shaped;
    an empty table prints ``ไม่มีรายการ``. Cells wrap; the page says ``หน้า x/y`` and when
    it was printed.
    """
    pdf = _TablePDF(doc, font or resolve_font())
    pdf.set_title(normalize_thai(doc.title))
    pdf.set_lang("th")
    pdf.set_creator("Saraban")
    pdf.set_creation_date(_printed_moment(doc))
    pdf.add_page()
    _title(pdf, doc)
    _table(pdf, doc)
    if doc.footer:
        pdf.ln(3)
        pdf.set_font(_FAMILY, "", pdf.pt(_BODY_PT))
        for line in doc.footer:
            text = "\n".join(_cell_lines(pdf, line, pdf.epw))
            pdf.multi_cell(0, pdf.font_size * _LINE, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
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


# -- the receipt stamp -------------------------------------------------------------------------

_PT_PER_MM = 72 / 25.4
_STAMP_W_MM = 50.0  # ตรารับหนังสือ: a 2.5 × 5 cm rectangle (ระเบียบงานสารบรรณ)
_STAMP_H_MM = 25.0
_STAMP_MARGIN_MM = 8.0
_INK = (20, 50, 160)  # stamp-pad blue, so the stamp stands apart from the black letter


def _bad_pdf(reason: str, message_th: str) -> BadInput:
    return BadInput(reason, code="bad_pdf", message_th=message_th)


def _stamp_overlay(
    stamp: ReceiptStamp, width_pt: float, height_pt: float, font: PrintFont
) -> bytes:
    """A one-page PDF as large as the displayed page with the stamp at its top right."""
    pdf = FPDF(orientation="P", unit="pt", format=(width_pt, height_pt))
    _use_font(pdf, font)
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.add_page()
    mm = _PT_PER_MM
    w, h = _STAMP_W_MM * mm, _STAMP_H_MM * mm
    pad = 2.0 * mm
    name = normalize_thai(stamp.unit_name)
    size = 11.0 * font.size_factor
    pdf.set_font(_FAMILY, "B", size)
    while pdf.get_string_width(name) > w - 2 * pad and size > 7.0 * font.size_factor:
        size -= 0.5
        pdf.set_font(_FAMILY, "B", size)
    name_lines = wrap_text(name, w - 2 * pad, pdf.get_string_width)
    name_h = len(name_lines) * size * 1.25
    h = max(h, name_h + 3 * 11.0 * font.size_factor * 1.35 + 3 * pad)
    x = max(0.0, width_pt - _STAMP_MARGIN_MM * mm - w)
    y = min(_STAMP_MARGIN_MM * mm, max(0.0, height_pt - h))

    with pdf.local_context(fill_opacity=0.85):
        pdf.set_fill_color(255, 255, 255)
        pdf.rect(x, y, w, h, style="F")
    pdf.set_draw_color(*_INK)
    pdf.set_text_color(*_INK)
    pdf.set_line_width(1.2)
    pdf.rect(x, y, w, h)
    pdf.set_xy(x + pad, y + pad * 0.6)
    for line in name_lines:
        pdf.cell(w - 2 * pad, size * 1.25, line, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    rule_y = pdf.get_y() + pad * 0.3
    pdf.set_line_width(0.6)
    pdf.line(x + pad, rule_y, x + w - pad, rule_y)
    rows = (("เลขรับ", stamp.receipt_number), ("วันที่", stamp.date_th), ("เวลา", stamp.time_th))
    row_h = (y + h - pad * 0.6 - rule_y) / len(rows)
    label_w = 12.0 * mm
    for i, (label, value) in enumerate(rows):
        pdf.set_xy(x + pad, rule_y + i * row_h)
        pdf.set_font(_FAMILY, "B", 10.0 * font.size_factor)
        pdf.cell(label_w, row_h, label)
        pdf.set_font(_FAMILY, "", 10.5 * font.size_factor)
        pdf.cell(w - 2 * pad - label_w, row_h, normalize_thai(value))
    return repair_text_layer(bytes(pdf.output()))


def _displayed_to_user(
    rotation: int, llx: float, lly: float, width: float, height: float
) -> Transformation:
    """Map the displayed page (origin bottom left, after /Rotate) to the page's user space.

    ``width`` and ``height`` are the crop box's, unrotated. /Rotate turns the page
    clockwise when it is shown.
    """
    a, b, c, d, e, f = {
        0: (1, 0, 0, 1, llx, lly),
        90: (0, 1, -1, 0, llx + width, lly),
        180: (-1, 0, 0, -1, llx + width, lly + height),
        270: (0, -1, 1, 0, llx, lly + height),
    }[rotation]
    return Transformation((a, b, c, d, e, f))


@dataclass
class _FirstPage:
    """A writable copy of a PDF and what its first page looks like when displayed."""

    writer: PdfWriter
    page: PageObject
    box: tuple[float, float, float, float]  # crop box: left, bottom, width, height
    rotation: int  # 0, 90, 180 or 270, clockwise


def _first_page(original: bytes) -> _FirstPage:
    """A copy of the PDF and its first page's geometry; :class:`BadInput` if unusable."""
    try:
        reader = PdfReader(io.BytesIO(original), strict=False)
        if reader.is_encrypted:
            raise _bad_pdf("the PDF is encrypted", "ไฟล์ PDF ถูกเข้ารหัส จึงประทับตรารับไม่ได้")
        writer = PdfWriter(clone_from=reader)
        page = writer.pages[0]
        crop = page.cropbox
        box = (float(crop.left), float(crop.bottom), float(crop.width), float(crop.height))
        rotation = round(float(page.rotation or 0) / 90) * 90 % 360
    except BadInput:
        raise
    except Exception as e:  # pypdf raises many kinds on a damaged file; any means unreadable
        raise _bad_pdf(
            f"the PDF cannot be read: {type(e).__name__}: {e}",
            "ไฟล์ PDF เสียหายหรืออ่านไม่ได้ จึงประทับตรารับไม่ได้",
        ) from e
    if box[2] <= 0 or box[3] <= 0:
        raise _bad_pdf("the first page has no area", "หน้าแรกของไฟล์ PDF ไม่มีขนาด")
    return _FirstPage(writer, page, box, rotation)


def stamp_pdf(original: bytes, stamp: ReceiptStamp, font: PrintFont | None = None) -> bytes:
    """A stamped copy of ``original``: the receipt stamp at the top right of its first page.

    The stamp is drawn with fpdf2 and merged with pypdf at the top right of the first page as
    it is displayed (its crop box and /Rotate honoured); every other page, and the original
    bytes, stay as they were. Not a PDF, damaged or encrypted: :class:`BadInput`
    ``bad_pdf``.
    """
    if b"%PDF-" not in original[:1024]:
        raise _bad_pdf("the attachment is not a PDF", "ไฟล์แนบนี้ไม่ใช่ไฟล์ PDF จึงประทับตรารับไม่ได้")
    font = font or resolve_font()
    first = _first_page(original)
    llx, lly, width, height = first.box
    shown_w, shown_h = (height, width) if first.rotation in (90, 270) else (width, height)
    overlay = PdfReader(io.BytesIO(_stamp_overlay(stamp, shown_w, shown_h, font))).pages[0]
    try:
        first.page.merge_transformed_page(
            overlay, _displayed_to_user(first.rotation, llx, lly, width, height), over=True
        )
        out = io.BytesIO()
        first.writer.write(out)
    except Exception as e:  # as in _first_page: a damaged page tree or content stream
        raise _bad_pdf(
            f"the PDF cannot be stamped: {type(e).__name__}: {e}",
            "ไฟล์ PDF เสียหาย ประทับตรารับไม่ได้",
        ) from e
    return out.getvalue()
