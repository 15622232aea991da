"""One letter as the hub holds it, and its tracking timeline across all its recipients.

:func:`held_letter` reads a letter from the hub's feed (the signed envelope, parsed), with
the offices it was addressed to and routed to. :func:`timeline` puts together, for each
recipient, what the hub knows of its path: sent by the sender's clerk, accepted by the hub,
delivered to the recipient's inbox (stored, with every attachment checked), registered
(ลงรับ) with its เลขรับ, or returned (ส่งคืน) or found invalid with the reason the recipient
gave, each with its time (the moment the recipient's node recorded it, as its signed
receipt says; a time its clock could not have had is replaced by the hub's, as the
statistics do: :func:`hub.monitoring.timing_facts.believed_moment`).

The times come from ``delivery_times`` and the reasons from the receipts in the feed
(``receipt_facts``); a recipient the hub could not route the letter to says so.

Does not: decide who may see the timeline (:mod:`hub.portal.access`) or render it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hub.monitoring.timing_facts import believed_moment
from hub.store import HubStore
from hub.store.portal_tracking import PortalTracking
from protocol.envelope import Envelope
from protocol.errors import SarabanError
from protocol.messages import Deliveries, Letter, Receipt, parse_feed_message

STATES = {
    "unrouted": "ศูนย์กลางส่งต่อไม่ได้ (ไม่รู้จักหน่วยงานผู้รับหรือถูกเพิกถอน)",
    "at_hub": "รอหน่วยงานผู้รับรับจากศูนย์กลาง",
    "delivered": "ถึงหน่วยงานผู้รับแล้ว รอลงรับ",
    "registered": "ลงรับแล้ว",
    "returned": "ส่งคืนแล้ว",
    "invalid": "หน่วยงานผู้รับแจ้งว่าหนังสือไม่ถูกต้อง",
}
"""Each recipient's state, in Thai."""


@dataclass(frozen=True)
class HeldLetter:
    """A letter the hub accepted: its envelope's body and where it went."""

    env_id: str
    letter: Letter
    hub_at: float
    sent_at: float
    routed: tuple[str, ...]

    @property
    def origin(self) -> str:
        """The sending office."""
        return self.letter.origin

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every office it was addressed to, then any it was routed to besides."""
        named = list(dict.fromkeys(self.letter.recipients))
        return tuple(named + [r for r in self.routed if r not in named])

    @property
    def sealed(self) -> bool:
        """Whether its content is sealed (classified): the hub cannot read it."""
        return bool(self.letter.secrecy)

    @property
    def library(self) -> bool:
        """Whether its sender marked it for the ministry's library."""
        return self.letter.extra.get("library") is True and not self.sealed


@dataclass(frozen=True)
class Step:
    """One step of a recipient's path: what, when (Unix seconds), and a detail."""

    what: str
    at: float | None
    detail: str = ""
    bad: bool = False


@dataclass(frozen=True)
class Track:
    """One recipient's path."""

    office: str
    name: str
    province: str
    state: str
    steps: tuple[Step, ...] = field(default_factory=tuple)
    receipt_number: str | None = None
    reason: str | None = None

    @property
    def state_th(self) -> str:
        """The state in Thai."""
        return STATES[self.state]


def held_letter(store: HubStore, env_id: str) -> HeldLetter | None:
    """The letter ``env_id`` as the hub holds it, or None when it holds no such letter."""
    tracking = PortalTracking(store)
    row = tracking.letter_envelope(env_id.lower()) if len(env_id) == 64 else None
    if row is None:
        return None
    try:
        body = json.loads(Envelope.from_bytes(bytes(row["envelope"])).body)
        letter = Letter.from_dict(body)
    except (SarabanError, ValueError):
        return None
    hub_at = float(row["received_at"])
    sent_at, _ = believed_moment(letter.created_at, hub_at)
    return HeldLetter(
        env_id.lower(), letter, hub_at, sent_at, tuple(store.letter_recipients(env_id))
    )


def _receipt(row: dict[str, Any], letter: str) -> Receipt | None:
    """The receipt a routed ``receipt`` or ``deliveries`` envelope gave ``letter``."""
    try:
        env = Envelope.from_bytes(bytes(row["envelope"]))
        msg = parse_feed_message(env.kind, json.loads(env.body))
    except (SarabanError, ValueError):
        return None
    if isinstance(msg, Deliveries):
        return next((r for r in msg.receipts() if r.letter == letter), None)
    return msg if isinstance(msg, Receipt) else None


def timeline(store: HubStore, held: HeldLetter) -> list[Track]:
    """Every recipient's path, in the order the letter names them."""
    tracking = PortalTracking(store)
    times = {r["recipient"]: r for r in store.delivery_times_of(held.env_id)}
    answers: dict[tuple[str, str], tuple[float, Receipt]] = {}
    for row in tracking.receipts_of(held.env_id):
        receipt = _receipt(row, held.env_id)
        if receipt is not None:
            at, _ = believed_moment(receipt.at or receipt.created_at, float(row["at"]))
            answers.setdefault((row["office"], row["status"]), (at, receipt))
    offices = tracking.offices_by_id(held.recipients)
    return [
        _track(office, held, times.get(office), answers, offices.get(office))
        for office in held.recipients
    ]


def _track(
    office: str,
    held: HeldLetter,
    times: dict[str, Any] | None,
    answers: dict[tuple[str, str], tuple[float, Receipt]],
    directory: dict[str, Any] | None,
) -> Track:
    name = str((directory or {}).get("name") or office)
    province = str((directory or {}).get("province") or "")
    if office not in held.routed:
        return Track(office, name, province, "unrouted")

    def moment(status: str, column: str) -> float | None:
        if times is not None and times.get(column) is not None:
            return float(times[column])
        answer = answers.get((office, status))
        return None if answer is None else answer[0]

    steps = []
    state = "at_hub"
    delivered = moment("delivered", "delivered_at")
    if delivered is not None:
        state = "delivered"
        steps.append(Step("ถึงหน่วยงานผู้รับ (เข้าระบบของหน่วยงาน)", delivered))
    number, reason = None, None
    registered = moment("registered", "registered_at")
    if registered is not None:
        state = "registered"
        found = answers.get((office, "registered"))
        number = (times or {}).get("receipt_number") or (found[1].receipt_number if found else None)
        steps.append(Step("ลงรับ", registered, f"เลขรับ {number}" if number else ""))
    for status, what in (("returned", "ส่งคืน"), ("invalid", "แจ้งว่าหนังสือไม่ถูกต้อง")):
        column = "returned_at" if status == "returned" else ""
        at = moment(status, column) if column else None
        found = answers.get((office, status))
        if at is None and found is not None:
            at = found[0]
        if at is None:
            continue
        state = status
        reason = found[1].reason if found else None
        steps.append(Step(what, at, f"เหตุผล: {reason}" if reason else "", bad=True))
    steps.sort(key=lambda s: s.at or 0.0)
    return Track(office, name, province, state, tuple(steps), number, reason)
