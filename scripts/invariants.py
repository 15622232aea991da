"""Read every store of a federation at rest and check DESIGN.md's invariants 1–5.

It trusts nothing it is told: every envelope is re-verified against the hub-signed
directory, and deliveries, receipts and numbers are counted from the signed envelopes
themselves, not from status columns.

1. every letter an office sent (in its feed) or the hub acknowledged (in the hub's feed)
   reached each addressee exactly once;
2. every delivery yielded exactly one valid delivered receipt back to the sender, and at
   most one registered or returned answer;
3. no stored envelope fails verification;
4. no number is issued twice in one register and year, counted from the node feeds, the
   hub-signed finalisations and the hub's ledger together (:func:`protocol.ledger.number_conflict`
   decides, so a number reserved and then used by the same office is one issue), and the
   hub's ledger has no unexplained gap (:func:`protocol.ledger.find_gaps`);
5. nothing an office acknowledged to its clerk is still waiting in its outbox.

Each violation names the envelopes involved (env_id, origin, seq, kind). The report also
counts letters, deliveries, lost and duplicated deliveries, and numbers issued twice, for
``make soak``. ``python -m scripts.invariants HUB NODE...`` prints the report of a
federation's folders.

Does not: write to any store, or judge a federation that is still syncing.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from protocol.directory import TrustedDirectory, accept_directory
from protocol.envelope import Envelope, verify_envelope
from protocol.errors import RemoteDataError
from protocol.hub_messages import HUB_KINDS
from protocol.keys import public_key_from_b64
from protocol.ledger import ISSUING_ACTIONS, LeaseBlock, LedgerEntry, find_gaps, number_conflict
from protocol.messages import parse_feed_message

NUMBERED_ACTIONS = tuple(sorted(ISSUING_ACTIONS))
"""Register actions that take a number."""


@dataclass(frozen=True)
class EnvelopeRef:
    """What a violation says about one envelope."""

    env_id: str
    origin: str
    seq: int | None
    kind: str

    def __str__(self) -> str:
        seq = "" if self.seq is None else f" seq {self.seq}"
        return f"{self.kind} {self.env_id[:16]} from {self.origin}{seq}"


@dataclass
class Violation:
    """One broken invariant and the envelopes involved."""

    invariant: int
    message: str
    envelopes: list[EnvelopeRef] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"invariant {self.invariant}: {self.message}"]
        lines += [f"    {e}" for e in self.envelopes]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The violation as a JSON object."""
        return {
            "invariant": self.invariant,
            "message": self.message,
            "envelopes": [asdict(e) for e in self.envelopes],
        }


def _rows(db: Path, sql: str) -> Iterator[tuple[Any, ...]]:
    uri = f"file:{db}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        yield from conn.execute(sql)


def _node_db(instance: Path) -> Path:
    return instance / "node.sqlite"


def hub_rows(instance: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of the hub's database, read without writing: its SQLite file, or the PostgreSQL
    database its settings name (``DATABASE_URL``, the SQL as :mod:`hub.store.postgres`
    rewrites it)."""
    from hub.config import load_settings
    from hub.store.pg_dialect import to_postgres
    from hub.store.postgres import is_postgres

    target = load_settings(instance)["DATABASE"]
    if not is_postgres(target):
        uri = f"file:{target}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=10)) as conn:
            return list(conn.execute(sql, params))
    import psycopg

    with psycopg.connect(target) as pg:
        return [tuple(r) for r in pg.execute(to_postgres(sql), params).fetchall()]


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


def ref(env: Envelope, body: dict[str, Any] | None) -> EnvelopeRef:
    """An envelope as a violation names it."""
    body = body or {}
    origin = str(body.get("origin") or ("hub" if env.kind in HUB_KINDS else "?"))
    seq = body.get("seq")
    return EnvelopeRef(env.env_id, origin, seq if isinstance(seq, int) else None, env.kind)


Verified = list[tuple[Envelope, dict[str, Any]]]


class _Reader:
    """Every store's envelopes, verified once; violations of invariant 3 as they show."""

    def __init__(self, hub: Path, nodes: dict[str, Path]) -> None:
        self.violations: list[Violation] = []
        self.directory = _directory(nodes)
        self.by_id: dict[str, EnvelopeRef] = {}
        self.hub_feed = self._verified("the hub", hub_rows(hub, "SELECT envelope FROM feed"))
        self.feeds = {
            o: self._verified(f"{o}'s feed", _rows(_node_db(i), "SELECT envelope FROM feed"))
            for o, i in nodes.items()
        }
        self.mailboxes = {
            o: self._verified(f"{o}'s mailbox", _rows(_node_db(i), "SELECT envelope FROM mailbox"))
            for o, i in nodes.items()
        }

    def _verified(self, where: str, rows: Iterable[tuple[Any, ...]]) -> Verified:
        out: Verified = []
        for (raw,) in rows:
            env = Envelope.from_bytes(raw)
            try:
                body = _verify(env, self.directory)
            except RemoteDataError as e:
                self.violations.append(
                    Violation(
                        3,
                        f"{where} stores an envelope that fails verification: {e}",
                        [ref(env, None)],
                    )
                )
                continue
            out.append((env, body))
            self.by_id.setdefault(env.env_id, ref(env, body))
        return out


def _deliveries(
    reader: _Reader, nodes: dict[str, Path], letters: dict[str, tuple[Envelope, dict[str, Any]]]
) -> dict[str, int]:
    """Invariant 1: each addressee holds each letter once."""
    incoming = {
        o: Counter(
            r[0] for r in _rows(_node_db(i), "SELECT env_id FROM letters WHERE direction = 'in'")
        )
        for o, i in nodes.items()
    }
    at_hub = {env.env_id for env, _ in reader.hub_feed}
    counts = Counter[str]()
    for env_id, (env, body) in letters.items():
        if env_id not in at_hub and body["origin"] in nodes:
            reader.violations.append(
                Violation(
                    1, f"a letter {body['origin']} sent never reached the hub", [ref(env, body)]
                )
            )
        for r in body["recipients"]:
            if r not in nodes:
                continue
            counts["expected"] += 1
            in_mailbox = sum(1 for e, _ in reader.mailboxes[r] if e.env_id == env_id)
            held = incoming[r][env_id]
            if held == 0:
                counts["lost"] += 1
            else:
                counts["delivered"] += 1
                counts["duplicated"] += held - 1
            if in_mailbox == 1 and held == 1:
                counts["done"] += 1
            else:
                reader.violations.append(
                    Violation(
                        1,
                        f"letter {body.get('number') or env_id[:12]} from {body['origin']} is "
                        f"{in_mailbox} time(s) in {r}'s mailbox and held {held} time(s)",
                        [ref(env, body)],
                    )
                )
    return counts


def _answers(
    entries: Iterable[tuple[Envelope, dict[str, Any]]],
) -> Iterator[tuple[Envelope, dict[str, Any]]]:
    """The receipts among ``entries``, a ``deliveries`` envelope giving one ``delivered``
    receipt body for each letter it names."""
    for e, b in entries:
        if e.kind == "receipt":
            yield e, b
        elif e.kind == "deliveries":
            for letter in b.get("letters") or []:
                yield e, {**b, "letter": letter, "status": "delivered"}


def _receipts(
    reader: _Reader, nodes: dict[str, Path], letters: dict[str, tuple[Envelope, dict[str, Any]]]
) -> Counter[str]:
    """Invariant 2: one delivered receipt per delivery, at most one answer, at the sender."""
    counts: Counter[str] = Counter()
    own_receipts: dict[tuple[str, str], list[tuple[Envelope, dict[str, Any]]]] = defaultdict(list)
    for office, entries in reader.feeds.items():
        for e, b in _answers(entries):
            own_receipts[(office, b["letter"])].append((e, b))
    back: dict[tuple[str, str], list[tuple[Envelope, dict[str, Any]]]] = defaultdict(list)
    for office, entries in reader.mailboxes.items():
        for e, b in _answers(entries):
            back[(office, b["letter"])].append((e, b))
    for env_id, (env, body) in letters.items():
        sender = body["origin"]
        if sender not in nodes:
            continue
        for r in body["recipients"]:
            if r not in nodes:
                continue
            own = [(e, b) for e, b in own_receipts[(r, env_id)] if b["status"] == "delivered"]
            answers = [(e, b) for e, b in back[(sender, env_id)] if b["origin"] == r]
            statuses = Counter(b["status"] for _, b in answers)
            if len(own) != 1 or statuses["delivered"] != 1:
                counts["duplicated"] += max(0, len(own) - 1) + max(0, statuses["delivered"] - 1)
                reader.violations.append(
                    Violation(
                        2,
                        f"{r} signed {len(own)} delivered receipt(s) for "
                        f"{body.get('number') or env_id[:12]}; {sender} holds "
                        f"{statuses['delivered']}",
                        [ref(env, body), *(ref(e, b) for e, b in own + answers)],
                    )
                )
            final = statuses["registered"] + statuses["returned"]
            if final == 1:
                counts["registered" if statuses["registered"] else "returned"] += 1
            elif final > 1:
                counts["duplicated"] += final - 1
                reader.violations.append(
                    Violation(
                        2,
                        f"{r} answered {body.get('number') or env_id[:12]} {final} times",
                        [ref(env, body), *(ref(e, b) for e, b in answers)],
                    )
                )
    return counts


def _numbers(reader: _Reader, hub: Path) -> tuple[int, int]:
    """Invariant 4: ``(numbers issued, numbers issued twice)``, and unexplained gaps."""
    takings: dict[tuple[str, int], list[tuple[str, LedgerEntry]]] = defaultdict(list)
    seen: set[str] = set()
    reissued = 0

    def take(
        register: str, number: int, action: str, office: str, identity: str, env_id: str
    ) -> None:
        nonlocal reissued
        if identity in seen:
            return
        seen.add(identity)
        held = takings[(register, number)]
        conflict = number_conflict((entry for _, entry in held), office, action, identity)
        if conflict is not None:
            reissued += 1
            involved = [other for other, entry in held if entry is conflict] + [env_id]
            reader.violations.append(
                Violation(
                    4,
                    f"{register} number {number} was {conflict.action} by {conflict.office} "
                    f"and {action} again by {office}",
                    [
                        reader.by_id.get(i) or EnvelopeRef(i, office, None, "register")
                        for i in involved
                    ],
                )
            )
        held.append((env_id, LedgerEntry(number, action, office, identity)))

    for office in sorted(reader.feeds):
        entries = sorted(reader.feeds[office], key=lambda eb: int(eb[1]["seq"]))
        for env, body in entries:
            if env.kind == "register" and body["action"] in ISSUING_ACTIONS and body.get("number"):
                take(
                    body["register"],
                    int(body["number"]),
                    body["action"],
                    office,
                    env.env_id,
                    env.env_id,
                )
    for _, entries in sorted(reader.mailboxes.items()):
        for env, body in entries:
            if env.kind == "lease" and body.get("action") == "finalise" and body.get("number"):
                # Recipients of the letter hold copies: the number is the sender's.
                identity = f"provisional:{body['provisional_id']}"
                owner = str(body.get("office") or "")
                take(body["register"], int(body["number"]), "issued", owner, identity, env.env_id)
    ledger = hub_rows(
        hub,
        "SELECT register, number, action, office, env_id, provisional_id FROM ledger "
        "WHERE number IS NOT NULL ORDER BY id",
    )
    for register, number, action, office, env_id, provisional_id in ledger:
        if action in ISSUING_ACTIONS:
            identity = f"provisional:{provisional_id}" if provisional_id else env_id
            take(register, int(number), action, office, identity, env_id)
    _gaps(reader, hub, ledger)
    return len(takings), reissued


def _gaps(reader: _Reader, hub: Path, ledger: list[tuple[Any, ...]]) -> None:
    issued: dict[str, set[int]] = defaultdict(set)
    voided: dict[str, set[int]] = defaultdict(set)
    for register, number, action, *_ in ledger:
        (voided if action == "voided" else issued)[register].add(int(number))
    blocks: dict[str, list[LeaseBlock]] = defaultdict(list)
    for register, office, start, end in hub_rows(
        hub, 'SELECT register, office, start, "end" FROM leases'
    ):
        blocks[register].append(LeaseBlock(office, int(start), int(end)))
    for register in sorted(set(issued) | set(voided)):
        gaps = find_gaps(issued[register], voided[register], blocks[register])
        if gaps:
            reader.violations.append(
                Violation(4, f"{register} has numbers nobody issued or voided: {gaps[:20]}")
            )


def _outboxes(reader: _Reader, nodes: dict[str, Path]) -> None:
    """Invariant 5: everything an office acknowledged to its clerk has left its outbox."""
    for office, inst in nodes.items():
        waiting = list(
            _rows(
                _node_db(inst),
                "SELECT env_id, seq, kind, state, COALESCE(reason, '') FROM feed "
                "WHERE state != 'accepted' ORDER BY seq",
            )
        )
        if waiting:
            states = Counter(str(r[3]) for r in waiting)
            reason = next((r[4] for r in waiting if r[4]), "")
            reader.violations.append(
                Violation(
                    5,
                    f"{office} still holds {len(waiting)} envelope(s) the hub has not accepted "
                    f"({dict(states)}){': ' + reason if reason else ''}",
                    [EnvelopeRef(str(e), office, int(s), str(k)) for e, s, k, _, _ in waiting[:5]],
                )
            )


def check_federation(hub: Path, nodes: dict[str, Path]) -> dict[str, Any]:
    """Counts and violations for the federation whose instance folders are given.

    ``violations`` holds each violation as text (its envelopes on the following lines);
    ``violation_details`` the same as JSON objects.
    """
    reader = _Reader(hub, nodes)
    letters: dict[str, tuple[Envelope, dict[str, Any]]] = {}
    for env, body in [*reader.hub_feed, *(eb for f in reader.feeds.values() for eb in f)]:
        if env.kind == "letter":
            letters.setdefault(env.env_id, (env, body))
    delivered = _deliveries(reader, nodes, letters)
    answered = _receipts(reader, nodes, letters)
    numbers, reissued = _numbers(reader, hub)
    _outboxes(reader, nodes)
    violations = sorted(reader.violations, key=lambda v: v.invariant)
    return {
        "letters": len(letters),
        "letters_sent": sum(1 for env, _ in reader.hub_feed if env.kind == "letter"),
        "deliveries": delivered["delivered"],
        "deliveries_expected": delivered["expected"],
        "deliveries_done": delivered["done"],
        "lost": delivered["lost"],
        "duplicated": delivered["duplicated"] + answered["duplicated"],
        "receipts_expected": delivered["expected"],
        "receipts_registered": answered["registered"],
        "receipts_returned": answered["returned"],
        "numbers_issued": numbers,
        "numbers_reissued": reissued,
        "violations": [str(v) for v in violations],
        "violation_details": [v.to_json() for v in violations],
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as lines a person reads: the counts, then every violation."""
    keys = ("letters", "deliveries", "lost", "duplicated", "numbers_issued", "numbers_reissued")
    lines = [", ".join(f"{k} {report[k]}" for k in keys)]
    lines += report["violations"] or ["no violations"]
    return "\n".join(lines)


def _office_of(instance: Path) -> str:
    config = json.loads((instance / "config.json").read_text(encoding="utf-8"))
    return str(config["OFFICE"])


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m scripts.invariants HUB NODE...``: print the report; 1 on any violation."""
    parser = argparse.ArgumentParser(prog="python -m scripts.invariants", description=__doc__)
    parser.add_argument("hub", type=Path, help="the hub's instance folder")
    parser.add_argument("nodes", type=Path, nargs="+", help="node instance folders")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report = check_federation(args.hub, {_office_of(p): p for p in args.nodes})
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
    return 1 if report["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
