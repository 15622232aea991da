"""What a printed table holds: a title, a subtitle, columns and rows of Thai text.

Registers (:mod:`node.printing.registers`), the 20-year list (:mod:`node.keeping.archives`)
and the destruction list (:mod:`node.keeping.destruction_lists`) build a :class:`TableDoc`;
:mod:`node.printing.tables` renders it as PDF or Excel.

Does not: import fpdf2, openpyxl or pypdf. Those load with :mod:`node.printing.tables` at
the first print or export, so a node starts (and idles) without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
