"""Envelopes from the hub that do not verify yet, kept until they do: nothing is skipped.

The pull (:mod:`node.sync.pull`) never passes over an envelope it cannot verify. It
refreshes the directory once and tries again (a sender that re-enrolled with a new key is
the usual cause); what still fails is kept here, bytes and all, in the transaction that
advances the pull cursor, with the origin and kind it claims, why it failed, how many
times it was tried and when. Every later sync refreshes the directory and tries each held
envelope again, in the order it arrived, and applies the ones that verify.

Holding one envelope does not stop the rest of the mailbox, because the rest does not
depend on it, with one exception: a withdrawal or a receipt about a letter that is held
waits for that letter (``waits_for``) and is applied after it, never before.

An envelope tried :data:`HELD_TRIES` times is *stuck*: still kept and still tried, and now
reported to the hub in the heartbeat, which raises one alert per recipient and sender.
:func:`held_status` is what ``node_status``, the admin page and the sync result show.

Does not: verify (:mod:`node.sync.verify`) or apply (:mod:`node.sync.pull`,
:mod:`node.records.inbox`); it only keeps the list.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from node.storage.store import Store
from protocol.canonical import parse_canonical
from protocol.envelope import Envelope
from protocol.errors import RemoteDataError

HELD_TRIES = 3
"""Tries after which a held envelope is reported to the hub as stuck."""

REASONS_TH = {
    "unknown_key": "ลงนามด้วยกุญแจที่ทะเบียนหน่วยงานฉบับที่เครื่องนี้ถือไม่รู้จัก หรือหน่วยงานผู้ส่งถูกเพิกถอน",
    "bad_signature": "ลายมือชื่ออิเล็กทรอนิกส์ไม่ถูกต้อง",
    "bad_message": "ข้อมูลในซองไม่ถูกต้อง",
    "out_of_bounds": "ข้อมูลในซองยาว มาก หรือใหญ่เกินขอบเขตที่กำหนด",
    "not_canonical": "ข้อมูลในซองไม่อยู่ในรูปแบบมาตรฐาน",
    "malformed_envelope": "รูปแบบซองไม่ถูกต้อง",
    "waits_for": "รอหนังสือที่อ้างถึงซึ่งยังตรวจไม่ผ่าน",
}
"""The Thai words for why an envelope is held, by the code its reason starts with."""


@dataclass(frozen=True)
class Unverified:
    """An envelope as received, with what it claims to be (nothing here is verified)."""

    env_id: str
    raw: bytes
    origin: str | None
    kind: str | None

    @classmethod
    def from_wire(cls, wire: Any) -> Unverified:
        """Keep the bytes of anything the hub sent, even what is not an envelope at all."""
        try:
            env = Envelope.from_wire(wire)
        except RemoteDataError:
            raw = json.dumps(wire, ensure_ascii=False, sort_keys=True, default=str).encode()
            return cls(hashlib.sha256(raw).hexdigest(), raw, None, None)
        try:
            claimed = parse_canonical(env.body).get("origin")
        except RemoteDataError:
            claimed = None
        origin = claimed if isinstance(claimed, str) and len(claimed) <= 64 else None
        return cls(env.env_id, env.to_bytes(), origin, env.kind)


def hold(
    store: Store,
    item: Unverified,
    reason: str,
    now: float,
    waits_for: str | None = None,
) -> None:
    """Keep an envelope that did not verify (or waits for one that did not); a second
    hold of the same envelope counts as another try. Inside the caller's transaction."""
    store.execute(
        "INSERT INTO held_envelopes (env_id, origin, kind, envelope, reason, waits_for,"
        " first_try, last_try) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (env_id) DO UPDATE"
        " SET tries = tries + 1, last_try = excluded.last_try, reason = excluded.reason,"
        " waits_for = excluded.waits_for",
        (item.env_id, item.origin, item.kind, item.raw, reason, waits_for, now, now),
    )


def held_rows(store: Store) -> list[dict[str, Any]]:
    """Every held envelope, in the order it arrived."""
    return store.query("SELECT * FROM held_envelopes ORDER BY id")


def any_held(store: Store) -> bool:
    """Whether any envelope is held here."""
    return bool(store.scalar("SELECT 1 FROM held_envelopes LIMIT 1"))


def is_held(store: Store, env_id: str | None) -> bool:
    """Whether the envelope ``env_id`` is held here."""
    return env_id is not None and bool(
        store.scalar("SELECT 1 FROM held_envelopes WHERE env_id = ?", (env_id,))
    )


def tried_again(store: Store, env_id: str, reason: str, now: float) -> None:
    """One more try of a held envelope failed, for ``reason``."""
    store.execute(
        "UPDATE held_envelopes SET tries = tries + 1, last_try = ?, reason = ? WHERE env_id = ?",
        (now, reason, env_id),
    )


def release(store: Store, env_id: str) -> None:
    """A held envelope verified and was applied: it is held no more."""
    store.execute("DELETE FROM held_envelopes WHERE env_id = ?", (env_id,))


def wire_of(row: dict[str, Any]) -> Any:
    """The held bytes as the JSON value the hub sent."""
    return json.loads(bytes(row["envelope"]))


def reason_th(reason: str | None) -> str:
    """The Thai words for a held envelope's reason (the code itself when unknown)."""
    code = (reason or "").split(":", 1)[0]
    return REASONS_TH.get(code, reason or "-")


def held_status(store: Store) -> dict[str, Any]:
    """How many envelopes are held, how many are stuck, and per sender the count, the
    tries, the first and last try and the last reason, for status pages and heartbeats."""
    senders = store.query(
        "SELECT COALESCE(origin, '') AS origin, COUNT(*) AS count,"
        " SUM(tries >= ?) AS stuck, MAX(tries) AS tries,"
        " MIN(first_try) AS first_try, MAX(last_try) AS last_try,"
        " (SELECT h2.reason FROM held_envelopes AS h2"
        "  WHERE COALESCE(h2.origin, '') = COALESCE(h.origin, '')"
        "  ORDER BY h2.last_try DESC, h2.id DESC LIMIT 1) AS reason"
        " FROM held_envelopes AS h GROUP BY COALESCE(origin, '') ORDER BY MIN(id)",
        (HELD_TRIES,),
    )
    for s in senders:
        s["stuck"] = int(s["stuck"] or 0)
        s["reason_th"] = reason_th(s["reason"])
    return {
        "count": sum(int(s["count"]) for s in senders),
        "stuck": sum(s["stuck"] for s in senders),
        "senders": senders,
    }


def stuck_report(store: Store) -> list[dict[str, Any]]:
    """For the heartbeat: per sender, the envelopes held past :data:`HELD_TRIES` tries."""
    return [
        {"origin": s["origin"] or "?", "count": s["stuck"], "reason": (s["reason"] or "")[:200]}
        for s in held_status(store)["senders"]
        if s["stuck"]
    ]


def held_list(store: Store) -> list[dict[str, Any]]:
    """Every held envelope without its bytes, oldest first, for the admin page."""
    rows = store.query(
        "SELECT id, env_id, origin, kind, reason, waits_for, tries, first_try, last_try"
        " FROM held_envelopes ORDER BY id"
    )
    for r in rows:
        r["reason_th"] = reason_th(r["reason"])
        r["stuck"] = r["tries"] >= HELD_TRIES
    return rows
