"""The hub's check that a classified letter is sealed before it is stored or routed.

A letter of secrecy class ลับ or ลับมาก travels sealed (docs/design.md §4): its content
encrypted with a fresh key, that key wrapped for each recipient office, so that the hub
routes it without being able to read it. The hub cannot decrypt and does not try; it
checks the shape sealing gives a letter body (ADR 0020):

* ``sealed``, an object with ``suite`` (:data:`protocol.sealing.SUITE`), ``content``, the
  SHA-256 (64 lowercase hex digits) of the content's ciphertext, ``box``, that ciphertext
  in base64 (it must hash to ``content``), and ``keys``, an object with one non-empty
  string (the wrapped content key) for each recipient office and for no other office;
* nothing on the wire that could carry content (:func:`protocol.sealing.plaintext_on_wire`):
  the subject is the neutral :data:`protocol.sealing.SEALED_SUBJECT`, body, salutation,
  references and enclosures are empty, attachments carry neutral names and the hashes of
  their ciphertext only (ADR 0022).

A classified letter without that shape is refused :data:`UNSEALED_CLASSIFIED` at push
(:mod:`hub.federation.ingest`): not stored, not routed, and quarantined without its bytes,
since the hub keeps no plaintext of a classified letter (invariant 6). ลับที่สุด never
reaches this check: the message itself refuses it (:class:`protocol.messages.Letter`).

Does not: decrypt, look inside a ciphertext, or decide who may read a blob
(:mod:`hub.federation.blobs`).
"""

from __future__ import annotations

import re

from protocol.errors import SealRefused
from protocol.messages import FeedMessage, Letter
from protocol.sealing import plaintext_on_wire, sealed_box

UNSEALED_CLASSIFIED = "unsealed_classified"
"""The reason code of a push result refusing a classified letter that is not sealed."""

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def unsealed_detail(msg: FeedMessage) -> str | None:
    """Why ``msg``, a classified letter, is not sealed; None when it is, or is no classified
    letter. The answer names fields, never their content."""
    if not isinstance(msg, Letter) or not msg.secrecy:
        return None
    refused = f"a {msg.secrecy} letter must be sealed"
    sealed = msg.extra.get("sealed")
    if not isinstance(sealed, dict):
        return f"{refused}: it has no sealed content"
    content = sealed.get("content")
    if not isinstance(content, str) or not _SHA_RE.match(content):
        return f"{refused}: sealed.content is not the SHA-256 of a ciphertext"
    keys = sealed.get("keys")
    if not isinstance(keys, dict) or not all(isinstance(k, str) and k for k in keys.values()):
        return f"{refused}: sealed.keys must give each recipient its wrapped key"
    if set(keys) != set(msg.recipients):
        return f"{refused}: sealed.keys must name every recipient and no other office"
    try:
        sealed_box(sealed)
    except SealRefused as e:
        return f"{refused}: {e}"
    leak = plaintext_on_wire(msg.to_dict())
    if leak is not None:
        return f"{refused}: its {leak} is plaintext"
    return None
