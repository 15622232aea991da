"""A paper letter registered twice: the earlier entry of the same letter, if there is one.

A paper letter is taken to be one already registered when a received letter with a เลขรับ
came from the same sender with the same number (compared by the number's search key,
:func:`protocol.numbers.search_key`, so ``ชม0017/ว 5`` and ``ชม ๐๐๑๗/ว.๕`` are one), or
from the same sender on the same date with the same subject. Senders and subjects are
compared without spaces or case. :func:`node.records.inbox.register_paper_letter` then
refuses with :class:`PossibleDuplicate`, which names the earlier entry (its เลขรับ and when
it was registered, in the Buddhist era), unless the clerk confirms that it is another letter
(:func:`refuse_duplicate`).

Does not: register anything, or compare letters that came through the hub (their
envelopes are deduplicated by the sync).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from node.errors import Conflict
from node.storage.store import Store
from protocol.thai import format_thai_datetime, normalize_thai


def _folded(text: str | None) -> str:
    return "".join(normalize_thai(text or "").split()).casefold()


class PossibleDuplicate(Conflict):
    """The paper letter looks registered already; ``earlier`` is that entry."""

    code = "possible_duplicate"

    def __init__(self, earlier: dict[str, Any]) -> None:
        when = earlier["registered_at_th"]
        said = [f"จาก {earlier['origin']}"]
        if earlier.get("number"):
            said.append(f"ที่ {earlier['number']}")
        if earlier.get("letter_date"):
            said.append(f"ลงวันที่ {earlier['letter_date']}")
        super().__init__(
            f"this letter is already registered as receipt {earlier['receipt_number']} "
            f"(letter {earlier['id']}, registered {when}); confirm_duplicate registers it again",
            message_th=(
                f"หนังสือฉบับนี้ลงรับไว้แล้ว: เลขรับ {earlier['receipt_number']} "
                f"เมื่อ {when} ({' '.join(said)})"
            ),
        )
        self.earlier = earlier

    def to_json(self) -> dict[str, Any]:
        """The error body, with the earlier entry."""
        return {**super().to_json(), "earlier": self.earlier}


def earlier_registration(
    store: Store, *, origin: str, number_key: str, letter_day: str | None, subject: str
) -> dict[str, Any] | None:
    """The first received letter with a เลขรับ from ``origin`` with the same number key, or
    of the same day and subject; None when there is none."""
    sender = _folded(origin)
    found = []
    if number_key:
        found += store.query(
            "SELECT * FROM letters WHERE number_key = ? AND direction = 'in' "
            "AND receipt_number IS NOT NULL ORDER BY id",
            (number_key,),
        )
    if letter_day:
        same_day = store.query(
            "SELECT * FROM letters WHERE letter_day = ? AND direction = 'in' "
            "AND receipt_number IS NOT NULL ORDER BY id",
            (letter_day,),
        )
        found += [r for r in same_day if _folded(r["subject"]) == _folded(subject)]
    same_sender = [r for r in found if _folded(r["origin"]) == sender]
    row = min(same_sender, key=lambda r: int(r["id"]), default=None)
    if row is None:
        return None
    registered = float(row["registered_at"] or row["received_at"] or 0)
    return {
        "id": row["id"],
        "receipt_number": row["receipt_number"],
        "registered_at_th": format_thai_datetime(datetime.fromtimestamp(registered, UTC)),
        "origin": row["origin"],
        "number": row["number"] or "",
        "letter_date": row["letter_date"] or "",
    }


def refuse_duplicate(store: Store, letter: dict[str, Any], confirmed: bool) -> dict[str, Any]:
    """Raise :class:`PossibleDuplicate` if ``letter`` (the keyword arguments of
    :func:`earlier_registration`) looks registered already and the clerk has not
    ``confirmed`` it is another letter; what the audit row then notes (``duplicate_of``:
    the earlier เลขรับ), or nothing."""
    earlier = earlier_registration(store, **letter)
    if earlier is None:
        return {}
    if not confirmed:
        raise PossibleDuplicate(earlier)
    return {"duplicate_of": earlier["receipt_number"]}
