"""The font printed documents are set in: finding a Thai TrueType font and embedding it.

:func:`resolve_font` picks the font to print with: the ``PRINT_FONT`` setting, else Sarabun
from the ``fontpkg-sarabun`` package, else Debian's Laksaman, the first that can print Thai
(it has ก and MAI EK), with the bold file beside it and a size factor that makes every font
print Thai letters as large as Sarabun does. :func:`use_font` embeds the font in an fpdf2
document and turns on HarfBuzz shaping.

Does not: lay out or render anything (:mod:`node.printing.tables` and :mod:`node.printing.stamp`
do), or
download fonts. No usable font at all: :class:`PrintFontMissing` (503).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from node.errors import NodeError

if TYPE_CHECKING:
    from fpdf import FPDF

log = logging.getLogger(__name__)

LAKSAMAN = Path("/usr/share/fonts/truetype/tlwg/Laksaman.ttf")
"""Debian's ``fonts-tlwg-laksaman``, derived from TH Sarabun New: the last resort."""

FAMILY = "saraban-print"
"""The family name the font is embedded under in every PDF made here."""

_THAI_PROBE = "\u0e01\u0e48"  # ก and MAI EK: a font without them cannot print Thai
_REFERENCE_HEIGHT = 586.0  # height of ก in Sarabun (units per em 1000): sizes are Sarabun's


class PrintFontMissing(NodeError):
    """No font that can print Thai was found on this machine."""

    status = 503
    code = "print_font_missing"
    message_th = (
        "ไม่พบฟอนต์ภาษาไทยสำหรับพิมพ์เอกสาร กรุณาติดตั้งฟอนต์ Sarabun หรือ Laksaman "
        "หรือกำหนดค่า SARABAN_NODE_PRINT_FONT"
    )


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
    from fontTools.pens.boundsPen import BoundsPen  # fontTools: at the first print only
    from fontTools.ttLib import TTFont

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


def use_font(pdf: FPDF, font: PrintFont) -> None:
    """Embed the font (regular and bold) and shape Thai through HarfBuzz."""
    pdf.add_font(FAMILY, "", str(font.regular))
    pdf.add_font(FAMILY, "B", str(font.bold or font.regular))
    # Without shaping, tone marks over an upper vowel (ที่) overprint it and marks over a
    # tall consonant (ปี่) collide with its stroke: the font's GPOS placement needs HarfBuzz.
    pdf.set_text_shaping(use_shaping_engine=True, script="thai", language="th")
