"""Feed rules: is this envelope the next one of its origin's append-only hash chain?

Each office's envelopes form a single-writer feed: ``seq`` runs 1, 2, 3 ... with no gap,
and ``prev`` names the env_id of the previous envelope (null for seq 1). The same bytes
arriving twice are a harmless duplicate; a *different* body under an existing
``(origin, seq)`` is equivocation, evidence of a forked or cloned office key.

These are pure decisions over values the caller looked up; this module stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    """What to do with an envelope offered to a feed."""

    ACCEPT = "accepted"
    DUPLICATE = "duplicate"
    REJECT = "rejected"
    EQUIVOCATION = "equivocation"


@dataclass(frozen=True)
class FeedHead:
    """The last accepted envelope of a feed."""

    seq: int
    env_id: str


@dataclass(frozen=True)
class AppendDecision:
    """The verdict and, when not accepted, the reason code and words for it."""

    verdict: Verdict
    reason: str = ""
    detail: str = ""


def decide_append(
    head: FeedHead | None,
    seq: int,
    prev: str | None,
    env_id: str,
    existing_at_seq: str | None,
) -> AppendDecision:
    """Decide whether ``(seq, prev, env_id)`` continues a feed whose head is ``head``.

    ``existing_at_seq`` is the env_id already stored at this ``seq`` of this origin, if any.
    """
    if existing_at_seq is not None:
        if existing_at_seq == env_id:
            return AppendDecision(Verdict.DUPLICATE)
        return AppendDecision(
            Verdict.EQUIVOCATION,
            "equivocation",
            f"seq {seq} already holds a different envelope {existing_at_seq[:12]}",
        )
    expected = 1 if head is None else head.seq + 1
    if seq != expected:
        return AppendDecision(
            Verdict.REJECT, "out_of_sequence", f"expected seq {expected}, got {seq}"
        )
    expected_prev = None if head is None else head.env_id
    if prev != expected_prev:
        return AppendDecision(
            Verdict.REJECT, "broken_chain", f"prev does not name the envelope at seq {seq - 1}"
        )
    return AppendDecision(Verdict.ACCEPT)
