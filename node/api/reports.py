"""Local API for printed registers (PDF, Excel) and the stamped copy of a received PDF.

``GET /api/registers/<series>/print?year=2569&month=11&owner=...&format=pdf|xlsx`` and
``GET /api/letters/<id>/attachments/<sha256>/stamped`` answer with the file as an
attachment (an ASCII file name plus ``filename*`` in UTF-8 for the Thai one); the stamped
copy of a classified letter is recorded in the audit trail (the classified register's
printing is, by :func:`~node.printing.registers.register_doc`). What the
files say is decided in :mod:`node.printing.registers`, how they look in
:mod:`node.printing.tables`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, request

from node.api.files import PDF, document_format, document_response, file_response
from node.api.kit import ctx, protected_blueprint, store, viewer
from node.errors import BadInput
from node.printing import registers as reports
from node.storage import audit
from protocol.thai import as_bangkok, be_year

bp = protected_blueprint("reports", __name__)


def _whole_number(name: str, name_th: str) -> int | None:
    """An optional whole-number query parameter, or :class:`BadInput`."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise BadInput(
            f"{name} must be a whole number, not {raw[:20]!r}",
            code=f"bad_{name}",
            message_th=f"{name_th}ต้องเป็นตัวเลข",
        )
    return int(raw)


@bp.get("/registers/<series>/print")
def print_register(series: str) -> Response:
    """A register as PDF (default) or xlsx: ``?year=2569&month=11&owner=ชม 0017.3``."""
    fmt = document_format()
    node = ctx()
    year = _whole_number("year", "ปี")
    if year is None:
        year = be_year(as_bangkok(datetime.fromtimestamp(node.now(), UTC)).year)
    month = _whole_number("month", "เดือน")
    doc = reports.register_doc(
        node, store(), series, year, month, viewer(), owner=request.args.get("owner")
    )
    return document_response(doc, fmt)


@bp.get("/letters/<int:letter_id>/attachments/<sha256>/stamped")
def stamped_attachment(letter_id: int, sha256: str) -> Response:
    """A received PDF attachment with the receipt stamp (ตรารับหนังสือ) on its first page."""
    data = reports.stamped_copy(ctx(), store(), letter_id, sha256, viewer())
    s = store()
    if s.scalar("SELECT secrecy FROM letters WHERE id = ?", (letter_id,)):
        with s.transaction():
            audit.record(
                s,
                ctx().now(),
                viewer().user,
                "download_classified",
                f"letter:{letter_id}",
                {"sha256": sha256.lower(), "stamped": True},
            )
    return file_response(
        data,
        PDF,
        f"letter-{letter_id}-{sha256[:12]}-stamped.pdf",
        f"หนังสือรับ {letter_id} ประทับตรารับ.pdf",
    )
