"""Text of attached PDFs for letter search, kept in ``attachment_text``.

Does: read the text layer of a PDF attachment (:func:`extract_pdf_text`), normalised and
capped; read what a clerk attaches before the write (:func:`prepare_attachment_text`) and
keep it in the transaction that records the attachment (:func:`keep_prepared_text`); read
a blob the sync worker downloaded (:func:`index_blob`); and catch up on present PDFs with
no text yet (:func:`extract_missing`, the nightly job). Triggers in :mod:`node.storage.schema`
carry the text into the search index.

Does not: OCR scanned images, repair the text layer of PDFs this node generates
(:mod:`node.printing.pdftext`), or search (:mod:`node.search.engine`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from node.context import NodeContext
from node.storage.store import Store
from protocol.thai import fold_spaces, normalize_thai

log = logging.getLogger(__name__)
# A damaged scan is the clerk's everyday reality, not an operator's alarm: its text simply
# is not searchable (recorded with the attachment's text), so pypdf's repair chatter and
# ours stay below the level a terminal shows.
logging.getLogger("pypdf").setLevel(logging.ERROR)

PDF_MAX_PAGES = 50
PDF_MAX_CHARS = 100_000
PDF_MEDIA_TYPES = frozenset({"application/pdf", "application/x-pdf"})


class AttachmentBytes(Protocol):
    """An attachment as a clerk gives it (see :class:`node.records.letters.NewAttachment`)."""

    @property
    def name(self) -> str: ...

    @property
    def media_type(self) -> str: ...

    @property
    def content(self) -> bytes: ...


@dataclass(frozen=True)
class ExtractedText:
    """Text read from one attachment, and why there is none when there is none."""

    text: str
    pages: int = 0
    note: str | None = None


def is_pdf(media_type: str | None, content: bytes) -> bool:
    """Whether bytes are a PDF, by media type or by the ``%PDF`` signature."""
    return (media_type or "").lower() in PDF_MEDIA_TYPES or content[:1024].lstrip().startswith(
        b"%PDF"
    )


def _clean_extracted(text: str) -> str:
    # Fonts map some shaped Thai glyphs (SARA AM's ligature) to control or private-use
    # code points; left in, they would split "อำเภอ" into "อำ\x16เภอ" and hide the word.
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Co", "Cs")
    )
    return fold_spaces(normalize_thai(kept))


def extract_pdf_text(content: bytes) -> ExtractedText:
    """Text of a PDF's first :data:`PDF_MAX_PAGES` pages, normalised, at most
    :data:`PDF_MAX_CHARS` characters. A PDF that cannot be read gives no text and a note,
    never an error: the letter is kept and found by its other fields.
    """
    from pypdf import PdfReader

    pages = 0
    parts: list[str] = []
    size = 0
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            return ExtractedText("", 0, "encrypted")
        for page in reader.pages[:PDF_MAX_PAGES]:
            pages += 1
            text = _clean_extracted(page.extract_text() or "")
            if text:
                parts.append(text)
                size += len(text) + 1
            if size >= PDF_MAX_CHARS:
                break
    # pypdf raises many kinds of error on damaged files; any of them only means "no text".
    except Exception as e:
        log.info("cannot read text from a PDF attachment: %s: %s", type(e).__name__, e)
        return ExtractedText(" ".join(parts)[:PDF_MAX_CHARS], pages, f"unreadable: {e}"[:200])
    return ExtractedText(" ".join(parts)[:PDF_MAX_CHARS], pages)


def _save_text(store: Store, sha256: str, extracted: ExtractedText, now: float) -> None:
    """Keep the text of one attachment; the triggers refresh every letter listing it."""
    with store.transaction():
        store.execute(
            "INSERT INTO attachment_text (sha256, text, pages, note, extracted_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET text = excluded.text, "
            "pages = excluded.pages, note = excluded.note, extracted_at = excluded.extracted_at",
            (sha256, extracted.text, extracted.pages, extracted.note, now),
        )


def _has_text(store: Store, sha256: str) -> bool:
    return bool(store.scalar("SELECT 1 FROM attachment_text WHERE sha256 = ?", (sha256,)))


# Text read from PDFs a clerk just attached, by SHA-256, until the transaction that records
# the attachment keeps it (keep_prepared_text). Reading happens before that transaction
# where the caller allows, so a long PDF does not hold the database's write lock; the few
# entries whose letter was never written are dropped oldest first.
_PREPARED: OrderedDict[str, ExtractedText] = OrderedDict()
_PREPARED_MAX = 32
_PREPARED_LOCK = threading.Lock()  # the server handles requests in several threads


def prepare_attachment_text(files: Iterable[AttachmentBytes]) -> None:
    """Read the text of the PDFs among attachments a clerk gives (send, draft, paper
    letter), to be kept by :func:`keep_prepared_text` when the letter is written."""
    for f in files:
        if is_pdf(f.media_type, f.content):
            sha = hashlib.sha256(f.content).hexdigest()
            extracted = extract_pdf_text(f.content)
            with _PREPARED_LOCK:
                _PREPARED[sha] = extracted
                _PREPARED.move_to_end(sha)
                while len(_PREPARED) > _PREPARED_MAX:
                    _PREPARED.popitem(last=False)


def keep_prepared_text(store: Store, sha256: str) -> None:
    """Inside the transaction that records an attachment: keep its prepared text, which
    the triggers add to the index of every letter listing it."""
    with _PREPARED_LOCK:
        extracted = _PREPARED.pop(sha256, None)
    if extracted is not None:
        _save_text(store, sha256, extracted, time.time())


def index_blob(ctx: NodeContext, store: Store, sha256: str) -> bool:
    """Extract the text of a blob that just became present (downloaded from the hub) and
    refresh the letters that list it; True if text was read from a PDF."""
    if _has_text(store, sha256):
        return False
    from node.storage.blobs import blob_path

    media = store.scalar("SELECT media_type FROM attachments WHERE sha256 = ?", (sha256,))
    path = blob_path(ctx.blob_dir(), sha256)
    try:
        with path.open("rb") as f:
            head = f.read(1024)
            pdf = is_pdf(media, head)
            content = head + f.read() if pdf else b""
    except OSError as e:
        log.info("attachment %s is not readable: %s", sha256[:12], e)
        return False
    # A row for every present blob, text or not, so the nightly catch-up reads each once.
    extracted = extract_pdf_text(content) if pdf else ExtractedText("", 0, "not a PDF")
    _save_text(store, sha256, extracted, ctx.now())
    return pdf


def extract_missing(ctx: NodeContext) -> int:
    """Extract every present PDF attachment that has no text yet (the nightly job's
    catch-up after a restore or an interrupted download); return how many were read."""
    done = 0
    with ctx.open_store() as store:
        for row in store.query(
            "SELECT sha256 FROM attachments WHERE present = 1 "
            "AND sha256 NOT IN (SELECT sha256 FROM attachment_text)"
        ):
            if index_blob(ctx, store, row["sha256"]):
                done += 1
    return done
