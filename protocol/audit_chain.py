"""Whether an office's audit chain still extends the head the hub verified before.

A node keeps an append-only, hash-chained audit log (:mod:`node.storage.audit`). With every
sync it signs its chain head, an ``audit_head`` envelope (``office``, ``last_id``, ``head``:
the stored hash of entry ``last_id``, ``count``: entries up to it, ``at``), and sends the
*links* of the entries since the head the hub last verified: ``[id, prev_hash, hash]`` per
entry, ``prev_hash`` as stored and ``hash`` recomputed from the entry's content. The hub
never sees the content, only these hashes, and :func:`check_extension` says whether they
join the verified head to the new one.

It names three conditions: ``rollback`` (the chain is now shorter than what was verified:
entries deleted from the end, or the whole database replaced with an older copy),
``rewritten`` (the chain no longer passes through the verified head: history before it was
rewritten, or an older copy kept working) and ``broken`` (the links sent do not join: an
entry deleted, edited, inserted or reordered since the verified head).

This module does not sign, store or raise alerts (see :mod:`hub.federation.audit_heads`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import limits
from .canonical import canonical_bytes
from .errors import BadMessage

AUDIT_HEAD_KIND = "audit_head"
"""The envelope kind of a signed audit chain head."""
GENESIS = "0" * 64
"""The ``prev_hash`` of the first entry of every chain."""
MAX_AUDIT_LINKS = 1000
"""Links one request carries (about 150 kB); a longer stretch goes in several heads."""
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")
_MAX_ID = 2**53


def entry_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """The hash of one chained entry: SHA-256 of the previous hash and the entry's
    canonical JSON (its id included, so moving an entry changes its hash)."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_bytes(dict(content))).hexdigest()


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _MAX_ID:
        raise BadMessage(f"{name} must be a whole number from 0")
    return value


def _hash(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _HASH_RE.match(value):
        raise BadMessage(f"{name} must be 64 lowercase hex digits")
    return value


@dataclass(frozen=True)
class AuditHead:
    """The signed body: which office, its last entry's id and hash, and how many entries."""

    office: str
    last_id: int
    head: str
    count: int
    at: int

    def to_dict(self) -> dict[str, Any]:
        """The body to sign."""
        return {
            "office": self.office,
            "last_id": self.last_id,
            "head": self.head,
            "count": self.count,
            "at": self.at,
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> AuditHead:
        """Read and check a signed body; :class:`BadMessage` when a field is wrong."""
        office = body.get("office")
        if not isinstance(office, str):
            raise BadMessage("office must be text")
        limits.check_text(office, "office", limits.MAX_OFFICE_ID)
        last_id = _whole(body.get("last_id"), "last_id")
        count = _whole(body.get("count"), "count")
        if count > last_id:
            raise BadMessage("count cannot exceed last_id")
        return cls(
            office, last_id, _hash(body.get("head"), "head"), count, _whole(body.get("at"), "at")
        )


def parse_links(value: Any) -> list[tuple[int, str, str]]:
    """The request's ``links``: a list of ``[id, prev_hash, hash]``, ids increasing."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_AUDIT_LINKS:
        raise BadMessage(f"links must be a list of at most {MAX_AUDIT_LINKS} entries")
    out: list[tuple[int, str, str]] = []
    for item in value:
        if not isinstance(item, list) or len(item) != 3:
            raise BadMessage("each link must be [id, prev_hash, hash]")
        row_id = _whole(item[0], "a link's id")
        if out and row_id <= out[-1][0]:
            raise BadMessage("links must be in increasing id order")
        out.append((row_id, _hash(item[1], "a link's prev_hash"), _hash(item[2], "a link's hash")))
    return out


@dataclass
class ChainCheck:
    """What :func:`check_extension` found: ``problems`` as ``(condition, text)``; when the
    links start after the verified head, ``need_from`` (the first id the hub needs)."""

    problems: list[tuple[str, str]] = field(default_factory=list)
    need_from: int | None = None

    @property
    def ok(self) -> bool:
        """The new head extends the verified one."""
        return not self.problems and self.need_from is None


def check_extension(
    verified_id: int,
    verified_hash: str,
    head: AuditHead,
    links: list[tuple[int, str, str]],
    after: int | None = None,
) -> ChainCheck:
    """Check that ``links`` join the verified head (``verified_id``, ``verified_hash``;
    ``0`` and :data:`GENESIS` before the first) to ``head``, naming every break.

    ``after`` is the id the node sent the links after: when it is at or before the
    verified head, links that start later mean the entries between were deleted.
    """
    check = ChainCheck()
    problems = check.problems
    if head.last_id < verified_id:
        first = head.last_id + 1
        problems.append(
            (
                "rollback",
                f"the chain ends at entry {head.last_id}, before entry {verified_id} already "
                f"verified: entries {first}-{verified_id} were deleted, or the database "
                "was replaced with an older copy",
            )
        )
        return check
    if head.count != head.last_id:
        problems.append(
            (
                "broken",
                f"{head.count} entries for ids up to {head.last_id}: "
                f"{head.last_id - head.count} entries were deleted",
            )
        )
    if head.last_id == verified_id and not links:
        if head.head != verified_hash:
            problems.append(
                ("rewritten", f"entry {verified_id} differs from the head verified before")
            )
        return check
    if not links or links[0][0] > verified_id + 1:
        if after is None or after > verified_id:
            check.need_from = verified_id + 1
            return check
        first, last = verified_id + 1, (links[0][0] - 1 if links else head.last_id)
        span = f"entry {first}" if first == last else f"entries {first}-{last}"
        problems.append(("broken", f"{span} deleted"))
        if not links:
            return check
    _check_links(verified_id, verified_hash, head, links, problems)
    return check


def _check_links(
    verified_id: int,
    verified_hash: str,
    head: AuditHead,
    links: list[tuple[int, str, str]],
    problems: list[tuple[str, str]],
) -> None:
    previous: tuple[int, str, str] | None = None
    for link in links:
        row_id, prev, digest = link
        if previous is None:
            if row_id == verified_id + 1 and prev != verified_hash:
                problems.append(
                    (
                        "rewritten",
                        f"entry {row_id} does not continue from entry {verified_id} verified "
                        f"before: the entries up to {verified_id} were rewritten or replaced",
                    )
                )
        elif row_id != previous[0] + 1:
            first, last = previous[0] + 1, row_id - 1
            span = f"entry {first}" if first == last else f"entries {first}-{last}"
            problems.append(("broken", f"{span} deleted"))
        elif prev != previous[2]:
            problems.append(
                (
                    "broken",
                    f"entry {previous[0]} edited, or entry {row_id} inserted or moved: "
                    f"entry {row_id} does not link to it",
                )
            )
        if row_id == verified_id and digest != verified_hash:
            problems.append(("rewritten", f"entry {row_id} differs from the head verified before"))
        previous = link
    last_id, _, last_hash = links[-1]
    if last_id != head.last_id:
        problems.append(
            ("broken", f"the links end at entry {last_id}, the signed head at {head.last_id}")
        )
    elif last_hash != head.head:
        problems.append(
            ("broken", f"entry {last_id} edited: its content does not match the signed head")
        )
