"""The receipt stamp (ตรารับหนังสือ) on a copy of a received PDF.

:func:`stamp_pdf` draws the stamp (the unit, เลขรับ, วันที่ and เวลา, in stamp-pad blue)
with fpdf2 and merges it with pypdf at the top right of the first page as it is displayed,
its crop box and /Rotate honoured.

Does not: change the stored original or any page but the first, decide what the stamp
says (:func:`node.printing.registers.stamped_copy` does), or sign PDFs. Not a PDF, damaged or
encrypted: :class:`~node.errors.BadInput` ``bad_pdf``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from pypdf import PageObject, PdfReader, PdfWriter, Transformation

from node.errors import BadInput
from node.printing.fonts import FAMILY, PrintFont, resolve_font, use_font
from node.printing.pdftext import repair_text_layer
from node.printing.thaiwrap import wrap_text
from protocol.thai import normalize_thai


@dataclass(frozen=True)
class ReceiptStamp:
    """What the receipt stamp (ตรารับหนังสือ) says: the unit, เลขรับ, วันที่ and เวลา."""

    unit_name: str
    receipt_number: str
    date_th: str
    time_th: str


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
    use_font(pdf, font)
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.add_page()
    mm = _PT_PER_MM
    w, h = _STAMP_W_MM * mm, _STAMP_H_MM * mm
    pad = 2.0 * mm
    name = normalize_thai(stamp.unit_name)
    size = 11.0 * font.size_factor
    pdf.set_font(FAMILY, "B", size)
    while pdf.get_string_width(name) > w - 2 * pad and size > 7.0 * font.size_factor:
        size -= 0.5
        pdf.set_font(FAMILY, "B", size)
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
        pdf.set_font(FAMILY, "B", 10.0 * font.size_factor)
        pdf.cell(label_w, row_h, label)
        pdf.set_font(FAMILY, "", 10.5 * font.size_factor)
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
