"""Read every store of a federation at rest and check DESIGN.md's invariants 1–4.

It trusts nothing it is told: every envelope is re-verified against the hub-signed
directory, and deliveries, receipts and numbers are counted from the signed envelopes
themselves, not from status columns.

1. every letter the hub acknowledged reached each addressee exactly once;
2. every delivery yielded exactly one valid delivered receipt back to the sender, and a
   registered or returned answer;
3. no stored envelope fails verification;
4. no number is issued twice in one register and year, and the hub reports no
   unexplained gap.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from protocol.directory import TrustedDirectory, accept_directory
from protocol.envelope import Envelope, verify_envelope
from protocol.errors import RemoteDataError
from protocol.hub_messages import HUB_KINDS
from protocol.keys import public_key_from_b64
from protocol.messages import parse_feed_message

NUMBERED_ACTIONS = ("issued", "paper_registered", "reserved")


def _rows(db: Path, sql: str) -> Iterator[tuple[Any, ...]]:
    uri = f"file:{db}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        yield from conn.execute(sql)


def _node_db(instance: Path) -> Path:
    return instance / "node.sqlite"


def _hub_db(instance: Path) -> Path:
    return instance / "hub.sqlite"


def _directory(nodes: dict[str, Path]) -> TrustedDirectory:
    """The newest directory any node holds, verified against that node's pinned hub keys."""
    best: TrustedDirectory | None = None
    for inst in nodes.values():
        for env_bytes, hub_keys in _rows(
            _node_db(inst), "SELECT envelope, hub_keys FROM directory"
        ):
            pinned = {k: public_key_from_b64(v) for k, v in json.loads(hub_keys).items()}
            trusted = accept_directory(Envelope.from_bytes(env_bytes), pinned, None)
            if best is None or trusted.version > best.version:
                best = trusted
    if best is None:
        raise RuntimeError("no node holds a directory")
    return best


def _verify(env: Envelope, directory: TrustedDirectory) -> dict[str, Any]:
    if env.kind in HUB_KINDS:
        keyid, body = verify_envelope(env, directory.hub_keys().get)
        return body
    keyid, body = verify_envelope(env, directory.office_key)
    msg = parse_feed_message(env.kind, body)
    if keyid.rpartition("#")[0] != msg.origin:
        raise RemoteDataError(f"{env.env_id[:12]} signed by {keyid}, not its origin")
    return body


def check_federation(hub: Path, nodes: dict[str, Path]) -> dict[str, Any]:
    """Counts and violations for the federation whose instance folders are given."""
    violations: list[str] = []
    directory = _directory(nodes)

    def verified(where: str, blobs: list[bytes]) -> list[tuple[Envelope, dict[str, Any]]]:
        out = []
        for b in blobs:
            env = Envelope.from_bytes(b)
            try:
                out.append((env, _verify(env, directory)))
            except RemoteDataError as e:
                violations.append(f"invariant 3: {where} stores an invalid envelope: {e}")
        return out

    hub_feed = verified("hub", [r[0] for r in _rows(_hub_db(hub), "SELECT envelope FROM feed")])
    feeds = {
        o: verified(f"{o} feed", [r[0] for r in _rows(_node_db(i), "SELECT envelope FROM feed")])
        for o, i in nodes.items()
    }
    mailboxes = {
        o: verified(
            f"{o} mailbox", [r[0] for r in _rows(_node_db(i), "SELECT envelope FROM mailbox")]
        )
        for o, i in nodes.items()
    }
    incoming_letters = {
        o: Counter(
            r[0] for r in _rows(_node_db(i), "SELECT env_id FROM letters WHERE direction = 'in'")
        )
        for o, i in nodes.items()
    }

    # 1. exactly-once delivery of every acknowledged letter
    letters = [(env, body) for env, body in hub_feed if env.kind == "letter"]
    expected = done = 0
    for env, body in letters:
        for r in body["recipients"]:
            if r not in nodes:
                continue
            expected += 1
            in_mailbox = sum(1 for e, _ in mailboxes[r] if e.env_id == env.env_id)
            applied = incoming_letters[r][env.env_id]
            if in_mailbox == 1 and applied == 1:
                done += 1
            else:
                violations.append(
                    f"invariant 1: letter {body.get('number') or env.env_id[:12]} from "
                    f"{body['origin']} reached {r} {in_mailbox} time(s), applied {applied}"
                )

    # 2. one delivered receipt per delivery, and the clerk's answer, back at the sender
    answers: Counter[str] = Counter()
    for env, body in letters:
        sender = body["origin"]
        if sender not in nodes:
            continue
        for r in body["recipients"]:
            if r not in nodes:
                continue
            own = [
                b
                for e, b in feeds[r]
                if e.kind == "receipt" and b["letter"] == env.env_id and b["status"] == "delivered"
            ]
            back = [
                b
                for e, b in mailboxes[sender]
                if e.kind == "receipt" and b["letter"] == env.env_id and b["origin"] == r
            ]
            statuses = Counter(b["status"] for b in back)
            if len(own) != 1 or statuses["delivered"] != 1:
                violations.append(
                    f"invariant 2: {r} issued {len(own)} delivered receipt(s) for "
                    f"{body.get('number') or env.env_id[:12]}; {sender} holds "
                    f"{statuses['delivered']}"
                )
            final = statuses["registered"] + statuses["returned"]
            if final == 1:
                answers["registered" if statuses["registered"] else "returned"] += 1
            elif final > 1:
                violations.append(f"invariant 2: {r} answered {body.get('number')} {final} times")

    # 4. no number twice in a register and year
    issued: Counter[tuple[str, int]] = Counter()
    for entries in feeds.values():
        for env, body in entries:
            if env.kind == "register" and body["action"] in NUMBERED_ACTIONS and body.get("number"):
                issued[(body["register"], body["number"])] += 1
    for entries in mailboxes.values():
        for env, body in entries:
            if env.kind == "lease" and body.get("action") == "finalise":
                issued[(body["register"], body["number"])] += 1
    per_register: dict[str, int] = defaultdict(int)
    for (register, number), count in issued.items():
        per_register[register] += 1
        if count > 1:
            violations.append(f"invariant 4: {register} number {number} issued {count} times")

    return {
        "letters_sent": len(letters),
        "deliveries_expected": expected,
        "deliveries_done": done,
        "receipts_expected": expected,
        "receipts_registered": answers["registered"],
        "receipts_returned": answers["returned"],
        "numbers_issued": sum(per_register.values()),
        "violations": violations,
    }
