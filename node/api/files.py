"""Files the local API hands out: printed documents (PDF, Excel) and other downloads.

The PDF and spreadsheet libraries (fpdf2, openpyxl, pypdf, fontTools) load at the first
document a clerk prints or exports, not when the node starts.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, request

from node.api.kit import ctx
from node.errors import BadInput
from node.printing.fonts import resolve_font
from node.printing.tabledoc import TableDoc

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_response(data: bytes, mimetype: str, ascii_name: str, thai_name: str) -> Response:
    """``data`` as a download: an ASCII ``filename`` and the Thai one as ``filename*``."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in ascii_name)
    disposition = f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quote(thai_name, safe='')}"
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": disposition})


def document_format() -> str:
    """``?format=pdf`` (default) or ``xlsx``; :class:`BadInput` otherwise."""
    fmt = (request.args.get("format") or "pdf").strip().lower()
    if fmt not in ("pdf", "xlsx"):
        raise BadInput(
            f"format must be pdf or xlsx, not {fmt!r}",
            code="bad_format",
            message_th="รูปแบบไฟล์ต้องเป็น pdf หรือ xlsx",
        )
    return fmt


def document_response(doc: TableDoc, fmt: str) -> Response:
    """A printed document as a PDF (in the node's print font) or Excel download."""
    from node.printing.tables import table_pdf, table_xlsx  # loaded at the first print

    name = doc.display_name or doc.filename
    if fmt == "xlsx":
        return file_response(table_xlsx(doc), XLSX, f"{doc.filename}.xlsx", f"{name}.xlsx")
    font = resolve_font(str(ctx().settings.get("PRINT_FONT") or ""))
    return file_response(table_pdf(doc, font), PDF, f"{doc.filename}.pdf", f"{name}.pdf")
