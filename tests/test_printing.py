"""Printed documents as a reader of the paper meets them: Thai that is shaped (tone marks
over their consonants, not beside them), the font embedded, a header on every page, text
that copies and searches as written, lines that end between Thai words, the total on the
page of the last rows, Excel that opens, and the receipt stamp at the top right of a
received PDF whatever its page box and rotation.

The PDFs are read back with pypdf: the text layer, the fonts, and where the content stream
draws each glyph. Registers built from a node's data are tested in test_reports.py.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from itertools import accumulate
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from openpyxl import load_workbook
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ContentStream

from node.errors import BadInput
from node.printing.fonts import LAKSAMAN, PrintFontMissing, resolve_font
from node.printing.registers import RECEIPT_COLUMNS
from node.printing.stamp import ReceiptStamp, stamp_pdf
from node.printing.tabledoc import Column, TableDoc
from node.printing.tables import table_pdf, table_xlsx
from node.printing.thaiwrap import wrap_text

PRINTED_AT = 1_795_000_000.0  # 18 พฤศจิกายน 2569, 18.06 น. Bangkok
SHAPING_WORDS = "ที่ ผู้ใหญ่ น้ำ กรุงเทพฯ ปลัดกระทรวง ชั่วคราว"

FONTS = [pytest.param("", id="sarabun")]
if LAKSAMAN.is_file():
    FONTS.append(pytest.param(str(LAKSAMAN), id="laksaman"))


def doc(rows: list[list[str]], **kw: Any) -> TableDoc:
    columns = [Column("ลำดับ", 15, "C"), Column("เรื่อง", 120), Column("หมายเหตุ", 40)]
    return TableDoc(
        kw.pop("title", "ทะเบียนทดสอบ"),
        kw.pop("subtitle", "สำนักงานจังหวัดเชียงใหม่"),
        columns,
        rows,
        printed_at=PRINTED_AT,
        **kw,
    )


def text_of(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def drawn_lines(data: bytes) -> list[tuple[int, str]]:
    """Every line of text as drawn, in drawing order, with its page number."""
    out: list[tuple[int, str]] = []
    for number, page in enumerate(PdfReader(io.BytesIO(data)).pages, start=1):

        def visit(text: str, *_: Any, number: int = number) -> None:
            if text.strip():
                out.append((number, text.strip()))

        page.extract_text(visitor_text=visit)
    return out


def lines_of(data: bytes, text: str) -> list[str]:
    """The lines a cell (or a stamp, or a title) holding ``text`` was drawn in."""
    drawn = drawn_lines(data)
    for k, (page, _) in enumerate(drawn):
        spelt, lines = "", []
        for more_page, more in drawn[k:]:
            if more_page != page or not text.startswith(spelt + more):
                break
            spelt, lines = spelt + more, [*lines, more]
            if spelt == text:
                return lines
    raise AssertionError(f"{text!r} is not drawn line after line")


def inside_a_word(lines: list[str], words: list[str]) -> list[str]:
    """The line ends that fall inside one of ``words`` (which spell the lines' text)."""
    ends = set(accumulate(map(len, words)))
    cuts = list(accumulate(map(len, lines)))[:-1]
    return [lines[k] for k, cut in enumerate(cuts) if cut not in ends]


def embedded_fonts(data: bytes) -> set[str]:
    """Base names of the fonts whose program is embedded (/FontFile2)."""
    names = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            for desc_font in font.get("/DescendantFonts", []):
                desc = desc_font.get_object()["/FontDescriptor"].get_object()
                if "/FontFile2" in desc:
                    names.add(str(desc["/FontName"]))
    return names


# -- where the content stream puts each glyph ---------------------------------------------


def _to_unicode(font: Any) -> dict[int, str]:
    cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
    out = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for code, dst in re.findall(r"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]*)>", block):
            out[int(code, 16)] = bytes.fromhex(dst).decode("utf-16-be")
    return out


def _widths(font: Any) -> dict[int, float]:
    items = list(font["/DescendantFonts"][0].get_object()["/W"])
    widths: dict[int, float] = {}
    i = 0
    while i < len(items):
        if isinstance(items[i + 1], list):
            for k, w in enumerate(items[i + 1]):
                widths[int(items[i]) + k] = float(w)
            i += 2
        else:
            for code in range(int(items[i]), int(items[i + 1]) + 1):
                widths[code] = float(items[i + 2])
            i += 3
    return widths


def glyphs(data: bytes) -> list[dict[str, Any]]:
    """Every glyph drawn on page 1: its text, x, y, advance and the font size."""
    reader = PdfReader(io.BytesIO(data))
    page = reader.pages[0]
    fonts = {
        name: (_to_unicode(ref.get_object()), _widths(ref.get_object()))
        for name, ref in page["/Resources"]["/Font"].items()
    }
    out: list[dict[str, Any]] = []
    font: tuple[dict[int, str], dict[int, float]] = ({}, {})
    size = 0.0
    x = y = line_x = line_y = 0.0
    for operands, op in ContentStream(page.get_contents(), reader).operations:
        if op == b"Tf":
            font, size = fonts[operands[0]], float(operands[1])
        elif op == b"BT":
            x = y = line_x = line_y = 0.0
        elif op == b"Td":
            line_x, line_y = line_x + float(operands[0]), line_y + float(operands[1])
            x, y = line_x, line_y
        elif op == b"Tm":
            x = line_x = float(operands[4])
            y = line_y = float(operands[5])
        elif op == b"Tj":
            raw = getattr(operands[0], "original_bytes", None) or bytes(operands[0])
            for i in range(0, len(raw), 2):
                code = int.from_bytes(raw[i : i + 2], "big")
                advance = font[1].get(code, 0.0) * size / 1000
                out.append(
                    {"text": font[0].get(code, ""), "x": x, "y": y, "adv": advance, "size": size}
                )
                x += advance
    return out


def find_word(drawn: list[dict[str, Any]], word: str) -> list[dict[str, Any]]:
    """The glyph records spelling ``word`` (one glyph per character)."""
    texts = [g["text"] for g in drawn]
    for i in range(len(texts) - len(word) + 1):
        if "".join(texts[i : i + len(word)]) == word:
            return drawn[i : i + len(word)]
    raise AssertionError(f"{word!r} is not drawn glyph by glyph")


# -- tables --------------------------------------------------------------------------------


@pytest.mark.parametrize("font_path", FONTS)
def test_tone_mark_over_a_tall_consonant_is_moved_clear_of_it(font_path: str) -> None:
    # ป has a tall stem on the right where the tone mark would sit; the font's GPOS rules
    # (applied only when HarfBuzz shapes the text) pull the mark left, over the letter.
    # Without shaping the mark is drawn where the pen stands after ป and ี: x(ป) + w(ป).
    data = table_pdf(doc([["1", "ปี่ ปี่", ""]]), resolve_font(font_path))
    po, vowel, tone = find_word(glyphs(data), "ปี่")
    pen_after_po = po["x"] + po["adv"]
    assert tone["x"] < pen_after_po - 0.05 * tone["size"], (po, vowel, tone)
    assert vowel["adv"] == 0 and tone["adv"] == 0  # marks take no room on the line


@pytest.mark.parametrize("font_path", FONTS)
def test_register_pdf_embeds_the_font_and_keeps_thai_searchable(font_path: str) -> None:
    rows = [[str(i), f"{SHAPING_WORDS} เรื่องที่ {i}", "ด่วนที่สุด"] for i in range(3)]
    rows.append(["4", "สำนักงานปลัดกระทรวงมหาดไทย", "คำสั่ง"])
    data = table_pdf(doc(rows), resolve_font(font_path))
    font = resolve_font(font_path)
    assert any(name.endswith(font.regular.stem.split("-")[0]) for name in embedded_fonts(data))
    assert all(re.fullmatch(r"/[A-Z]{6}\+\S+", n) for n in embedded_fonts(data))  # subsets
    text = text_of(data)[0]
    # ำ is drawn as two glyphs (ํ and า); the text layer must still read น้ำ, สำนักงาน.
    for word in [*SHAPING_WORDS.split(), "สำนักงานปลัดกระทรวงมหาดไทย", "คำสั่ง", "เรื่องที่ 2"]:
        assert word in text
    assert "พิมพ์เมื่อ 18 พฤศจิกายน 2569 เวลา 18.06 น." in text
    assert "หน้า 1/1" in text


def test_long_table_repeats_its_header_and_numbers_every_page() -> None:
    rows = [[str(i), f"ขอเชิญประชุมผู้ใหญ่บ้าน ครั้งที่ {i}", ""] for i in range(1, 81)]
    pages = text_of(table_pdf(doc(rows, footer=["รวม 80 รายการ"])))
    assert len(pages) >= 2
    for n, page in enumerate(pages, start=1):
        assert "ลำดับ" in page and "หมายเหตุ" in page  # the header row
        assert f"หน้า {n}/{len(pages)}" in page
    everything = "\n".join(pages)
    assert all(f"ครั้งที่ {i}" in everything for i in (1, 40, 80))
    assert "รวม 80 รายการ" in pages[-1] and "รวม 80 รายการ" not in pages[0]
    assert "ทะเบียนทดสอบ" in pages[0]


def test_a_cell_taller_than_a_page_goes_on_over_the_next_pages() -> None:
    minutes = " ".join(f"ข้อสั่งการที่ {i} ให้ทุกอำเภอรายงานผลภายในวันศุกร์" for i in range(1, 121))
    pages = text_of(table_pdf(doc([["1", minutes, "ด่วน"], ["2", "เรื่องถัดไป", ""]])))
    assert len(pages) >= 3
    everything = re.sub(r"\s+", "", "".join(pages))
    assert all(f"ข้อสั่งการที่{i}ให้ทุกอำเภอ" in everything for i in (1, 60, 120))
    assert "เรื่องถัดไป" in pages[-1] and all("หมายเหตุ" in page for page in pages)


def test_empty_table_says_there_is_nothing() -> None:
    page = text_of(table_pdf(doc([])))[0]
    assert "ไม่มีรายการ" in page and "เรื่อง" in page


def test_long_thai_cell_wraps_without_splitting_a_consonant_from_its_marks() -> None:
    subject = "ขอความร่วมมือผู้ใหญ่บ้านทุกหมู่บ้านสำรวจความเสียหายจากน้ำท่วมโดยด่วนที่สุด" * 2

    def width(s: str) -> float:  # every character as wide as the next; marks take none
        return sum(0 if "\u0e31" <= c <= "\u0e3a" or "\u0e47" <= c <= "\u0e4e" else 1 for c in s)

    for room in (20, 4):  # 4: most words are longer than the line
        lines = wrap_text(subject, room, width)
        assert len(lines) > 3 and "".join(lines) == subject
        for line in lines:
            assert width(line) <= room
            assert not ("\u0e31" <= line[0] <= "\u0e3a" or "\u0e47" <= line[0] <= "\u0e4e")
            assert line[0] not in "ะาำ" and line[-1] not in "เแโใไ"
    # The shaped PDF keeps every word of a wrapped cell.
    data = table_pdf(doc([["1", subject, ""]]))
    assert "ผู้ใหญ่บ้าน" in text_of(data)[0].replace("\n", "")


def test_wrap_prefers_a_space_that_fills_half_the_line() -> None:
    lines = wrap_text("ขอเชิญประชุม ครั้งที่หนึ่งประจำปี", 16, len)
    assert lines[0] == "ขอเชิญประชุม"


# Cells as a register holds them, split by hand into the words a Thai reader sees.
SENDER_WORDS = [
    "สำนักงาน ปลัด กระทรวง มหาดไทย",
    "องค์การ บริหาร ส่วน จังหวัด เชียงใหม่",
    "ที่ทำการ ปกครอง จังหวัด เชียงใหม่",
    "สำนักงาน คณะกรรมการ ข้าราชการ พลเรือน",
]
SUBJECT_WORDS = [
    "ขอ ความ ร่วมมือ ผู้ใหญ่ บ้าน ทุก หมู่ บ้าน สำรวจ ความ เสียหาย จาก น้ำ ท่วม โดย ด่วน ที่สุด",
    "ขอ ส่ง รายงาน ผล การ ดำเนินงาน ตาม แผน ปฏิบัติ ราชการ ประจำปี งบประมาณ",
    "การ จัด งาน เฉลิม พระ เกียรติ เนื่อง ใน โอกาส วัน เฉลิม พระชนมพรรษา",
]


def register_row(i: int, sender: str = "", subject: str = "") -> list[str]:
    number, date, addressee = f"ชม 0017/{i}", "28 พฤศจิกายน 2569", "ผู้ว่าราชการจังหวัด"
    subject = subject or f"ขอเชิญประชุม ครั้งที่ {i}"
    return [str(i), number, date, sender or "จังหวัดลำพูน", addressee, subject, "", "", date]


def register(rows: list[list[str]], **kw: Any) -> TableDoc:
    return TableDoc(
        "ทะเบียนหนังสือรับ",
        "สำนักงานจังหวัดเชียงใหม่ ประจำปี พ.ศ. 2569",
        RECEIPT_COLUMNS,
        rows,
        printed_at=PRINTED_AT,
        **kw,
    )


def test_register_lines_end_between_thai_words_never_inside_one() -> None:
    rows = [
        register_row(i, sender.replace(" ", ""), subject.replace(" ", ""))
        for i, (sender, subject) in enumerate(
            zip(SENDER_WORDS * 3, SUBJECT_WORDS * 4, strict=False), start=1
        )
    ]
    data = table_pdf(register(rows, footer=[f"รวม {len(rows)} รายการ"]))
    for words in map(str.split, SENDER_WORDS + SUBJECT_WORDS):
        lines = lines_of(data, "".join(words))
        assert len(lines) >= 2, lines  # each is too long for its column
        assert inside_a_word(lines, words) == [], lines  # not กระทรว|งมหาดไทย


def test_a_word_longer_than_the_line_breaks_between_the_words_it_is_made_of() -> None:
    # newmm reads สำนักงานคณะกรรมการข้าราชการพลเรือน as one dictionary word.
    lines = wrap_text("สำนักงานคณะกรรมการข้าราชการพลเรือน", 12, len)
    assert lines == ["สำนักงาน", "คณะกรรมการ", "ข้าราชการ", "พลเรือน"]
    # A word made of no shorter words breaks between clusters: ทร|วง, never ทรว|ง.
    assert wrap_text("กระทรวง", 3, len) == ["กระ", "ทร", "วง"]


OFFLINE_WRAP = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("no network on this office PC")
socket.socket.connect = refuse
import node.app
assert not [m for m in sys.modules if m.startswith("pythainlp")], "PyThaiNLP loaded at start"
from node.printing.thaiwrap import wrap_text
print("|".join(wrap_text("สำนักงานปลัดกระทรวงมหาดไทย", 12, len)))
"""


def test_words_come_from_the_installed_dictionary_offline_without_writing_home(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHAINLP")}
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE_WRAP],
        env={**env, "HOME": str(tmp_path)},
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "สำนักงาน|ปลัดกระทรวง|มหาดไทย"
    assert list(tmp_path.iterdir()) == []  # no ~/pythainlp-data, nothing downloaded


def test_the_stamp_and_a_long_title_wrap_between_thai_words() -> None:
    unit = "กอง อำนวยการ รักษา ความ มั่นคง ภายใน จังหวัด เชียงใหม่ สำนักงาน ปลัด".split()
    unit += ["กระทรวง", "มหาดไทย"]
    stamped = stamp_pdf(
        letter_pdf(), ReceiptStamp("".join(unit), "1234", "18 พ.ย. 2569", "9.00 น.")
    )
    lines = lines_of(stamped, "".join(unit))
    assert len(lines) >= 2 and inside_a_word(lines, unit) == [], lines
    title = [*unit, "ศาลา", "กลาง", "จังหวัด", "เชียงใหม่", "ถนน", "โชตนา"]
    portrait = table_pdf(doc([["1", "เรื่อง", ""]], subtitle="".join(title), landscape=False))
    lines = lines_of(portrait, "".join(title))
    assert len(lines) >= 2 and inside_a_word(lines, title) == [], lines


def test_the_total_is_printed_on_the_page_of_the_last_rows() -> None:
    def numbers(page: str) -> set[int]:
        return {int(n) for n in re.findall(r"ชม 0017/(\d+)", page)}

    first = text_of(table_pdf(register([register_row(i) for i in range(1, 61)])))[0]
    fill = max(numbers(first))  # as many rows as fill the first page: no room for the total
    for count in (fill - 1, fill, fill + 1):
        rows = [register_row(i) for i in range(1, count + 1)]
        pages = text_of(table_pdf(register(rows, footer=[f"รวม {count} รายการ"])))
        total = [page for page in pages if f"รวม {count} รายการ" in page]
        assert total == [pages[-1]] and numbers(pages[-1]), (count, pages[-1])
        assert set().union(*map(numbers, pages)) == set(range(1, count + 1))
        assert all(page.count("หมายเหตุ") == 1 for page in pages)  # the header, once a page


def test_xlsx_has_title_frozen_bold_header_rows_and_a4_setup() -> None:
    rows = [["1", "ขอเชิญประชุม น้ำท่วม", "ยกเลิกเลข: พิมพ์ผิด"], ["2", "ขอส่งรายงาน", ""]]
    wb = load_workbook(io.BytesIO(table_xlsx(doc(rows))))
    ws = wb.active
    assert ws["A1"].value == "ทะเบียนทดสอบ" and ws["A2"].value == "สำนักงานจังหวัดเชียงใหม่"
    assert [c.value for c in ws[3]] == ["ลำดับ", "เรื่อง", "หมายเหตุ"]
    assert all(c.font.b for c in ws[3])
    assert [[c.value or "" for c in ws[r]] for r in (4, 5)] == rows
    assert ws["B4"].font.name == "TH SarabunPSK" and ws["B4"].alignment.wrap_text
    assert ws.freeze_panes == "A4"
    assert ws.print_title_rows == "$3:$3"
    assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4  # 9: A4
    assert ws.page_setup.orientation == "landscape"
    assert ws.column_dimensions["B"].width > ws.column_dimensions["A"].width


def test_xlsx_of_an_empty_table_says_so() -> None:
    ws = load_workbook(io.BytesIO(table_xlsx(doc([])))).active
    assert ws["A4"].value == "ไม่มีรายการ"


def test_a_broken_font_setting_falls_back_to_sarabun(tmp_path: Path) -> None:
    not_a_font = tmp_path / "THSarabunNew.ttf"
    not_a_font.write_bytes(b"not a font")
    assert resolve_font(str(not_a_font)) == resolve_font()
    assert resolve_font().bold is not None  # Sarabun-Bold.ttf beside Sarabun-Regular.ttf


def test_no_thai_font_anywhere_is_a_clear_503(tmp_path: Path) -> None:
    latin_only = tmp_path / "latin.ttf"
    latin_only.write_bytes(b"not a font")
    with pytest.raises(PrintFontMissing) as info:
        resolve_font(str(latin_only), fallbacks=(tmp_path / "missing.ttf",))
    assert info.value.status == 503 and info.value.code == "print_font_missing"
    assert "ฟอนต์" in info.value.message_th
    assert info.value.to_json()["error"] == "print_font_missing"


# -- the receipt stamp -------------------------------------------------------------------------

STAMP = ReceiptStamp("สำนักงานจังหวัดเชียงใหม่", "1234", "18 พฤศจิกายน 2569", "14.46 น.")


def letter_pdf(orientation: str = "P") -> bytes:
    """A two-page letter made with fpdf2 and a core font."""
    pdf = FPDF(orientation=orientation)
    pdf.set_font("helvetica", size=14)
    pdf.add_page()
    pdf.cell(text="Letter page one")
    pdf.add_page()
    pdf.cell(text="Letter page two")
    return bytes(pdf.output())


def with_page_box(data: bytes, rotate: int, crop: tuple[float, float, float, float]) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    page = writer.pages[0]
    if rotate:
        page.rotate(rotate)
    page.cropbox.lower_left = crop[:2]
    page.cropbox.upper_right = crop[2:]
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def stamp_box(data: bytes) -> tuple[float, float, float, float]:
    """Where the stamp's text lands on page 1, in displayed coordinates relative to the
    crop box (x to the right, y up), as a viewer shows the rotated page."""
    reader = PdfReader(io.BytesIO(data))
    page = reader.pages[0]
    box = page.cropbox
    llx, lly, w, h = float(box.left), float(box.bottom), float(box.width), float(box.height)
    rotation = page.rotation % 360
    points = []

    def visit(text: str, cm: list[float], tm: list[float], *_: Any) -> None:
        if "เลขรับ" in text or "1234" in text:
            # text space -> user space: tm then cm
            ux = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            uy = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            u, v = ux - llx, uy - lly
            shown = {0: (u, v), 90: (v, w - u), 180: (w - u, h - v), 270: (h - v, u)}
            points.append(shown[rotation])

    page.extract_text(visitor_text=visit)
    assert points, "the stamp's text was not found"
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    shown_w, shown_h = (h, w) if rotation in (90, 270) else (w, h)
    return min(xs), min(ys), shown_w, shown_h


@pytest.mark.parametrize(
    ("rotate", "crop"),
    [
        pytest.param(0, (0, 0, 595.28, 841.89), id="a4"),
        pytest.param(0, (40, 60, 500, 780), id="cropped"),
        pytest.param(90, (30, 40, 560, 800), id="rotated-90"),
        pytest.param(180, (0, 0, 595.28, 841.89), id="rotated-180"),
        pytest.param(270, (20, 20, 580, 820), id="rotated-270"),
    ],
)
def test_stamp_lands_top_right_of_the_first_page_as_displayed(
    rotate: int, crop: tuple[float, float, float, float]
) -> None:
    original = with_page_box(letter_pdf(), rotate, crop)
    stamped = stamp_pdf(original, STAMP)
    x, y, width, height = stamp_box(stamped)
    assert x > width / 2 and y > height * 0.8, (x, y, width, height)
    first, second = text_of(stamped)
    assert "Letter page one" in first and "สำนักงานจังหวัดเชียงใหม่" in first
    assert "1234" in first and "18 พฤศจิกายน 2569" in first and "14.46 น." in first
    assert "เลขรับ" not in second  # only the first page is stamped


def test_stamp_returns_a_copy_and_leaves_the_original_alone() -> None:
    original = letter_pdf()
    before = bytes(original)
    stamped = stamp_pdf(original, STAMP)
    assert original == before and stamped != original
    assert len(PdfReader(io.BytesIO(stamped)).pages) == 2


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(letter_pdf())))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


BAD_PDFS = [
    pytest.param(b"GIF89a not a pdf at all", id="not-a-pdf"),
    pytest.param(b"", id="empty"),
    pytest.param(b"%PDF-1.4\n%garbage with no objects, no xref, no trailer\n", id="damaged"),
    pytest.param(letter_pdf()[:300], id="truncated"),
    pytest.param(encrypted_pdf(), id="encrypted"),
]


@pytest.mark.parametrize("content", BAD_PDFS)
def test_stamping_what_is_not_a_readable_pdf_is_refused(content: bytes) -> None:
    with pytest.raises(BadInput) as info:
        stamp_pdf(content, STAMP)
    assert info.value.code == "bad_pdf" and info.value.status == 400
    assert "PDF" in info.value.message_th
