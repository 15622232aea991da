"""Printed documents: tables as A4 PDF (Thai shaped, font embedded) and as Excel.

A :class:`TableDoc` is what every printed register and list is made of: a title, a
subtitle, columns and rows of text. Registers (:mod:`node.reports`) and the destruction
list (:mod:`node.retention`) build one; this module renders it.
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
