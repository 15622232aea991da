"""Printed documents: registers and reports as A4 PDF and Excel, the receipt stamp on a
received PDF, the Thai font, Thai line breaking and the PDFs' text layer.

May import: :mod:`node.records` (what a register says), :mod:`node.storage`, the base
modules and :mod:`protocol`. Never the faces.
"""
