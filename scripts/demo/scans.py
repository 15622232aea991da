"""The PDF the demo attaches: a small valid page standing for a scanned letter.

Does not: render Thai (the text is Latin, in a standard font), or make the printed
registers (the node does, through ``saraban register``).
"""

from __future__ import annotations


def minimal_pdf(lines: list[str]) -> bytes:
    """A small, valid one-page PDF (Latin text) to stand for a scanned circular."""
    text = (
        "BT /F1 14 Tf 72 760 Td "
        + " ".join(f"({ln.replace('(', '[').replace(')', ']')}) Tj 0 -20 Td" for ln in lines)
        + " ET"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text.encode("latin-1")),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
