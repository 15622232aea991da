"""When this office's feed and what the hub published part ways: take the hub's, keep ours.

A node started from an old copy of its folder (a backup, a copied disk) cannot know, while
the hub is out of reach, that the office already went further: it signs new envelopes on
feed seqs the hub already holds, and may issue letter numbers and เลขรับ the office already
issued. At its first contact with the hub (:func:`reconcile_with_hub`) the node notices
that the hub holds a different envelope at one of its seqs (a fork) and rebases, in one
SQLite transaction:

1. the envelopes the hub published after the last one both sides share are fetched back,
   verified against the office's own key and replayed (:mod:`node.sync.replay`), so the
   registers know every number the office already issued;
2. every local envelope after the fork (never accepted by the hub) is kept: a number it
   issued that the hub's copy already used is replaced by the register's next free number
   (a shared register's by a provisional number the hub will make final), the letter and
   its register entry carry a Thai notice saying which number replaced which, and the
   envelope is signed again on the next free seq;
3. a receipt the hub's copy already holds (the same letter received or registered twice)
   is not sent again; a เลขรับ taken for such a second ลงรับ is voided with its reason.

Nothing is deleted that the hub did not already hold, nothing the hub holds is contradicted,
and the clerk is told. Pulls do not wait for any of this.

Does not: decide what a number means (:mod:`node.records.registers`), restore a lost
database (:mod:`node.sync.restore`), or talk to the hub except through the client it is
given.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from node.context import NodeContext
from node.records.directory import load_trusted
from node.records.letters import mark_sent
from node.records.registers import display_number
from node.storage import audit, feed
from node.storage.highwater import local_marks
from node.storage.store import Store, lower_sidecar_feed_seq, read_sidecar
from node.sync.hubclient import HubClient
from node.sync.replay import FEED_PAGE, reconcile_leases, replay_own
from node.sync.verify import verify_own_envelope
from protocol.canonical import parse_canonical
from protocol.directory import TrustedDirectory
from protocol.envelope import Envelope
from protocol.keys import public_key_from_b64
from protocol.messages import (
    Deliveries,
    FeedMessage,
    Letter,
    Receipt,
    RegisterEntry,
    Withdraw,
    parse_feed_message,
)
from protocol.numbers import Series, search_key

FINAL_RECEIPTS = ("registered", "returned", "invalid")
NOTICE_DAYS = 14
"""How long a rebase's notice stays at the top of the clerk's pages."""
LOST_REASON = "เลขที่ออกแล้วแต่สูญหายก่อนส่งถึงศูนย์กลาง (กู้คืนระบบ)"
SECOND_RECEIPT_REASON = "ลงรับซ้ำ: หนังสือฉบับนี้ลงรับไว้แล้วเป็นเลขรับที่ {number} (พบเมื่อเชื่อมต่อศูนย์กลาง)"
RENUMBER_NOTICE = (
    "เลข {old} ซ้ำกับเลขที่หน่วยงานออกไปแล้วก่อนกู้คืนข้อมูลเครื่อง จึงเปลี่ยนเป็นเลข {new} "
    "(แก้เลขบนหนังสือฉบับกระดาษให้ตรงกัน)"
)
RENUMBER_REASON = "แทนเลข {old} ที่ซ้ำกับเลขที่ออกไปแล้ว (เครื่องเริ่มจากข้อมูลสำรองเก่า)"


@dataclass
class Renumbered:
    """One number replaced because the hub's copy had already used it."""

    register: str
    old: str
    new: str
    letter: int | None


@dataclass
class Rebase:
    """What a rebase did: the hub's envelopes replayed, ours signed again, what changed."""

    fork_seq: int
    replayed: int = 0
    republished: int = 0
    renumbered: list[Renumbered] = field(default_factory=list)
    dropped_receipts: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The rebase as the sync log and the sync result show it."""
        return {
            "fork_seq": self.fork_seq,
            "replayed": self.replayed,
            "republished": self.republished,
            "renumbered": [dataclasses.asdict(r) for r in self.renumbered],
            "dropped_receipts": self.dropped_receipts,
        }


def fetch_own_feed(
    ctx: NodeContext, client: HubClient, after: int, trusted: TrustedDirectory | None = None
) -> list[tuple[Envelope, FeedMessage]]:
    """Every envelope of this office's feed the hub holds after ``after``, verified, in order
    (by the office's key now, or by a key ``trusted`` says it retired, for what it signed
    before)."""
    own_key = public_key_from_b64(ctx.signer.public_b64())
    out: list[tuple[Envelope, FeedMessage]] = []
    while True:
        answer: dict[str, Any] = client.feed(after, FEED_PAGE)
        wires = answer.get("envelopes") or []
        for wire in wires:
            env = Envelope.from_wire(wire)
            msg = verify_own_envelope(env, ctx.signer.keyid, own_key, trusted)
            out.append((env, msg))
            after = max(after, msg.seq)
        if not answer.get("more") or not wires:
            break
    out.sort(key=lambda pair: pair[1].seq)
    return out


def _message_of(row: dict[str, Any]) -> FeedMessage:
    env = Envelope.from_bytes(row["envelope"])
    return parse_feed_message(env.kind, parse_canonical(env.body))


def fork_point(store: Store, published: list[tuple[Envelope, FeedMessage]]) -> int | None:
    """The first seq at which the local feed holds a different envelope than the hub's copy.

    Envelopes both hold identically are marked accepted on the way (an acknowledgement the
    node missed). None when the two agree wherever both hold something.
    """
    for env, msg in published:
        local = store.scalar("SELECT env_id FROM feed WHERE seq = ?", (msg.seq,))
        if local is None:
            return None
        if local != env.env_id:
            return msg.seq
        store.execute(
            "UPDATE feed SET state = ?, reason = NULL WHERE seq = ? AND state != ?",
            (feed.ACCEPTED, msg.seq, feed.ACCEPTED),
        )
    return None


def _published_numbers(published: list[tuple[Envelope, FeedMessage]]) -> dict[str, set[int]]:
    numbers: dict[str, set[int]] = {}
    for _, msg in published:
        if isinstance(msg, RegisterEntry) and msg.number is not None:
            numbers.setdefault(msg.register, set()).add(msg.number)
    return numbers


def _published_receipts(
    published: list[tuple[Envelope, FeedMessage]],
) -> dict[tuple[str, str], Receipt]:
    receipts: dict[tuple[str, str], Receipt] = {}
    for _, msg in published:
        for receipt in msg.receipts() if isinstance(msg, Deliveries) else [msg]:
            if isinstance(receipt, Receipt):
                kind = "final" if receipt.status in FINAL_RECEIPTS else receipt.status
                receipts.setdefault((receipt.letter, kind), receipt)
    return receipts


def _next_free(store: Store, register: str, taken: set[int]) -> int:
    high = int(
        store.scalar(
            "SELECT COALESCE(MAX(number), 0) FROM register_entries WHERE register = ?",
            (register,),
        )
    )
    return max(high, *taken, 0) + 1


def _renumber(
    ctx: NodeContext, store: Store, entry: dict[str, Any], taken: set[int], now: float
) -> Renumbered:
    """Give a local register entry whose number the hub's copy used the register's next one."""
    reg = store.one("SELECT * FROM registers WHERE id = ?", (entry["register"],))
    assert reg is not None  # an entry's register row is written with it
    series = Series(reg["series"])
    provisional_id: str | None = None
    if reg["shared"]:
        # Numbers of a shared register come from the hub: ask it for a final one.
        count = store.scalar(
            "SELECT COUNT(*) FROM register_entries "
            "WHERE register = ? AND provisional_id IS NOT NULL",
            (reg["id"],),
        )
        provisional_id = f"{ctx.office}:{reg['id']}:{int(count) + 1}"
        number = int(count) + 1
    else:
        number = _next_free(store, reg["id"], taken)
        taken.add(number)
    new = display_number(
        ctx, series, reg["display_code"], number, reg["year"], provisional_id is not None
    )
    reason = RENUMBER_REASON.format(old=entry["display"])
    store.execute(
        "UPDATE register_entries SET number = ?, display = ?, provisional_id = ?, reason = ? "
        "WHERE id = ?",
        (None if provisional_id else number, new, provisional_id, reason, entry["id"]),
    )
    notice = RENUMBER_NOTICE.format(old=entry["display"], new=new)
    letter_id = entry["letter"]
    if letter_id is not None:
        direction = store.scalar("SELECT direction FROM letters WHERE id = ?", (letter_id,))
        if direction == "out" and series not in (Series.RECEIPT, Series.CLASSIFIED):
            store.execute(
                "UPDATE letters SET number = ?, number_key = ?, register_number = ?, "
                "provisional_id = ?, number_notice = ? WHERE id = ?",
                (new, search_key(new), number, provisional_id, notice, letter_id),
            )
        else:
            store.execute(
                "UPDATE letters SET receipt_number = ?, number_notice = ? WHERE id = ?",
                (new, notice, letter_id),
            )
        audit.record(
            store,
            now,
            "sync",
            "number_replaced",
            f"letter:{letter_id}",
            {"register": reg["id"], "old": entry["display"], "new": new},
        )
    return Renumbered(reg["id"], entry["display"], new, letter_id)


def _entry_row(store: Store, env_id: str) -> dict[str, Any] | None:
    return store.one("SELECT * FROM register_entries WHERE env_id = ?", (env_id,))


def _kept_message(
    store: Store,
    msg: FeedMessage,
    old_env: str,
    new_envs: dict[str, str],
    dropped_registers: dict[str, str],
) -> FeedMessage:
    """The local message as it is signed again: new numbers, new envelope references."""
    blank: dict[str, Any] = {"seq": 0, "prev": None}
    if isinstance(msg, Letter):
        row = store.one("SELECT number FROM letters WHERE env_id = ?", (old_env,))
        if row is not None and row["number"] and msg.number:
            blank["number"] = row["number"]
    elif isinstance(msg, RegisterEntry):
        entry = _entry_row(store, old_env)
        if msg.letter:
            blank["letter"] = new_envs.get(msg.letter, msg.letter)
        if old_env in dropped_registers:
            blank.update(action="voided", reason=dropped_registers[old_env])
        elif entry is not None and entry["display"] != msg.display:
            blank.update(
                number=entry["number"],
                display=entry["display"],
                provisional=entry["provisional_id"] is not None,
                provisional_id=entry["provisional_id"],
                reason=entry["reason"],
                replaces=msg.display,
            )
    elif isinstance(msg, Receipt) and msg.status == "registered":
        number = store.scalar(
            "SELECT receipt_number FROM letters WHERE env_id = ? AND direction = 'in'",
            (msg.letter,),
        )
        if number:
            blank["receipt_number"] = number
    elif isinstance(msg, Withdraw):
        blank["letter"] = new_envs.get(msg.letter, msg.letter)
    extra = blank.pop("replaces", None)
    changed = dataclasses.replace(msg, **blank)
    if extra is not None:
        changed = dataclasses.replace(changed, extra={**changed.extra, "replaces": extra})
    return changed


def rebase(
    ctx: NodeContext,
    store: Store,
    published: list[tuple[Envelope, FeedMessage]],
    fork_seq: int,
    now: float,
) -> Rebase:
    """Replay the hub's envelopes from ``fork_seq`` and sign the local ones again after them.

    Must run inside ``store.transaction()``: a crash leaves the feed as it was.
    """
    report = Rebase(fork_seq=fork_seq)
    theirs = [(env, msg) for env, msg in published if msg.seq >= fork_seq]
    ours = [
        (row["env_id"], _message_of(row))
        for row in store.query(
            "SELECT env_id, envelope FROM feed WHERE seq >= ? ORDER BY seq", (fork_seq,)
        )
    ]
    numbers = _published_numbers(theirs)
    receipts = _published_receipts(theirs)

    # Second receipts: the hub's copy already answered for that letter.
    dropped: set[str] = set()
    dropped_registers: dict[str, str] = {}
    trimmed: dict[str, list[str]] = {}
    for env_id, msg in ours:
        if isinstance(msg, Deliveries):
            # Letters the hub's copy answered already are named no more.
            letters = [x for x in msg.letters if (x, "delivered") not in receipts]
            if not letters:
                dropped.add(env_id)
            elif len(letters) < len(msg.letters):
                trimmed[env_id] = letters
            continue
        if not isinstance(msg, Receipt):
            continue
        kind = "final" if msg.status in FINAL_RECEIPTS else msg.status
        earlier = receipts.get((msg.letter, kind))
        if earlier is None:
            continue
        dropped.add(env_id)
        report.dropped_receipts.append(env_id)
        if msg.status == "registered" and msg.receipt_number:
            for entry_env, entry in ours:
                if (
                    isinstance(entry, RegisterEntry)
                    and entry.letter == msg.letter
                    and entry.display == msg.receipt_number
                ):
                    reason = SECOND_RECEIPT_REASON.format(number=earlier.receipt_number or "-")
                    dropped_registers[entry_env] = reason
                    store.execute(
                        "UPDATE register_entries SET action = 'voided', reason = ?, letter = NULL "
                        "WHERE env_id = ?",
                        (reason, entry_env),
                    )

    # Numbers the hub's copy already used move to the next free number of their register.
    taken: dict[str, set[int]] = {reg: set(nums) for reg, nums in numbers.items()}
    for env_id, msg in ours:
        if not isinstance(msg, RegisterEntry) or msg.number is None:
            continue
        if msg.number not in numbers.get(msg.register, set()):
            continue
        row = _entry_row(store, env_id)
        if row is None:
            continue
        if env_id in dropped_registers:
            # A voided second เลขรับ keeps no number the hub's copy holds.
            store.execute("UPDATE register_entries SET number = NULL WHERE id = ?", (row["id"],))
            continue
        report.renumbered.append(
            _renumber(ctx, store, row, taken.setdefault(msg.register, set()), now)
        )

    feed.drop_from(store, fork_seq)
    for env, msg in theirs:
        if replay_own(ctx, store, env, msg, now):
            report.replayed += 1
    reconcile_leases(store)

    new_envs: dict[str, str] = {}
    for old_env, msg in ours:
        if old_env in dropped:
            continue
        kept = _kept_message(store, msg, old_env, new_envs, dropped_registers)
        if isinstance(kept, Deliveries) and old_env in trimmed:
            kept = dataclasses.replace(kept, letters=trimmed[old_env])
        _, env = feed.append(store, ctx.signer, kept, now)
        new_envs[old_env] = env.env_id
        report.republished += 1
    for old_env, new_env in new_envs.items():
        letter_id = store.scalar("SELECT id FROM letters WHERE env_id = ?", (old_env,))
        if letter_id is not None:
            # What the clerk saw sent keeps a trail to what the hub holds of it.
            audit.record(
                store,
                now,
                "sync",
                "letter_signed_again",
                f"letter:{letter_id}",
                {"old_env_id": old_env, "env_id": new_env},
            )
        store.execute("UPDATE letters SET env_id = ? WHERE env_id = ?", (new_env, old_env))
        store.execute("UPDATE register_entries SET env_id = ? WHERE env_id = ?", (new_env, old_env))
        store.execute(
            "UPDATE register_entries SET letter_env = ? WHERE letter_env = ?", (new_env, old_env)
        )
    if report.renumbered or report.dropped_receipts:
        # Only the notices still shown are kept, so the setting does not grow for ever.
        notices = [
            n
            for n in store.get_setting("notices", [])
            if isinstance(n, dict) and float(n.get("at") or 0) >= now - NOTICE_DAYS * 86400
        ]
        for r in report.renumbered:
            notices.append({"at": now, "text_th": RENUMBER_NOTICE.format(old=r.old, new=r.new)})
        for _ in dropped_registers:  # a second เลขรับ voided; a second delivered says nothing
            notices.append(
                {
                    "at": now,
                    "text_th": "พบการลงรับหนังสือฉบับเดียวกันซ้ำหลังกู้คืนข้อมูลเครื่อง "
                    "ระบบคงเลขรับเดิมไว้และยกเลิกเลขรับที่ซ้ำพร้อมเหตุผล",
                }
            )
        store.set_setting("notices", notices)
    store.log(now, "rebased", report.to_json())
    return report


def reconcile_with_hub(ctx: NodeContext, store: Store, client: HubClient) -> Rebase | None:
    """Fetch what the hub holds of this office's feed beyond what both surely share, then
    catch up (the hub is ahead) or rebase (the two parted ways). None when nothing moved."""
    shared = int(
        store.scalar("SELECT COALESCE(MAX(seq), 0) FROM feed WHERE state = ?", (feed.ACCEPTED,))
    )
    published = fetch_own_feed(ctx, client, shared, load_trusted(store))
    if not published:
        return None
    now = ctx.now()
    with store.transaction():
        fork = fork_point(store, published)
        for env, msg in published:
            if isinstance(msg, Letter):  # its acceptance learnt late (a lost or bad ack)
                mark_sent(store, env.env_id, now)
        if fork is None:
            report = Rebase(fork_seq=0)
            for env, msg in published:
                if replay_own(ctx, store, env, msg, now):
                    report.replayed += 1
            reconcile_leases(store)
            return report if report.replayed else None
        return rebase(ctx, store, published, fork, now)


def void_lost_numbers(
    ctx: NodeContext, store: Store, marks: dict[str, Any]
) -> list[dict[str, Any]]:
    """Void numbers the lost database issued but the hub never saw, so none is reused.

    The sidecar knows the highest number of each register; every number above what the
    rebuilt database holds is voided with a reason. Feed seqs the hub never saw are free
    to use again.
    """
    _, local = local_marks(store)
    voided: list[dict[str, Any]] = []
    now = ctx.now()
    with store.transaction():
        for reg, high in (marks.get("registers") or {}).items():
            for number in range(local.get(reg, 0) + 1, int(high) + 1):
                store.insert(
                    "register_entries",
                    {
                        "register": reg,
                        "number": number,
                        "action": "voided",
                        "reason": LOST_REASON,
                        "display": str(number),
                        "at": now,
                    },
                )
                entry = RegisterEntry(
                    register=reg, action="voided", number=number, reason=LOST_REASON
                )
                feed.append(store, ctx.signer, entry, now)
                voided.append({"register": reg, "number": number})
    return voided


def settle_lost_tail(ctx: NodeContext, store: Store) -> list[dict[str, Any]]:
    """After this office's feed agrees with the hub's: what the sidecar remembers beyond the
    database was issued by a copy that is gone and never reached the hub.

    Its numbers are voided with their reason (none is given again, none is unexplained) and
    its feed seqs, which nobody ever saw, are free again. Returns the voided numbers.
    """
    if store.sidecar is None:
        return []
    voided = void_lost_numbers(ctx, store, read_sidecar(store.sidecar))
    lower_sidecar_feed_seq(store.sidecar, local_marks(store)[0])
    return voided


def recent_notices(store: Store, now: float, days: float = NOTICE_DAYS) -> list[str]:
    """The Thai notices of the last ``days`` for the top of the clerk's pages."""
    raw = store.get_setting("notices", [])
    return [
        str(n["text_th"])
        for n in raw
        if isinstance(n, dict) and float(n.get("at") or 0) >= now - days * 86400
    ]
