"""The text layer of the PDFs made here: Thai that copies and searches as written.

:func:`repair_text_layer` fixes the ToUnicode maps fpdf2 writes for HarfBuzz-shaped Thai,
where SARA AM (ำ) is drawn as two glyphs and only one of them carries the text.

Does not: change how a page looks, make PDFs (:mod:`node.printing.tables`,
:mod:`node.printing.stamp`), or
touch PDFs made elsewhere (it reads the structure fpdf2 writes: Type0 fonts, a CIDToGIDMap
stream and a /W array).
"""

from __future__ import annotations

import io
import re
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import StreamObject

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
