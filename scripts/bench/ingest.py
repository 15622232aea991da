"""``hub_ingest_per_s``: signed letters pushed to a real hub process over loopback HTTP.

Several offices simulated in the bench process (``--ingest-senders``) push their own
feeds at once, in batches of ``--batch`` prepared beforehand; the time runs from the
first push to the last answer, every envelope accepted. The limit is what the hub must do
for each envelope at the least: parse the push body and verify the envelope
(:meth:`Envelope.from_wire`, :func:`verify_envelope`), timed on one core in this process
and multiplied by the cores.

Does not: count preparing the letters, or the hub's start.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from protocol.envelope import Envelope, verify_envelope
from protocol.keys import Signer
from scripts.bench.federation import BenchFederation
from scripts.bench.figures import Figure, cores, measured
from scripts.bench.plan import Sizes
from scripts.bench.traffic import Pushers, push_bodies, shares

LIMIT_LOOPS = 3
LIMIT_ENVELOPES = 6000
"""Envelopes the single-core parse + verify is timed on (the first of the pushed ones)."""


def parse_and_verify_rate(bodies: list[bytes], signers: list[Signer]) -> tuple[float, int]:
    """Envelopes per second parsed from push bodies and verified, on one core (best of
    :data:`LIMIT_LOOPS`), over at most :data:`LIMIT_ENVELOPES`; and the envelopes timed."""
    keys = {s.keyid: s.private_key.public_key() for s in signers}.get
    chosen, count = [], 0
    for body in bodies:
        if count >= LIMIT_ENVELOPES:
            break
        chosen.append(body)
        count += len(json.loads(body)["envelopes"])
    best = 0.0
    for _ in range(LIMIT_LOOPS):
        start = time.perf_counter()
        for body in chosen:
            for wire in json.loads(body)["envelopes"]:
                verify_envelope(Envelope.from_wire(wire), keys)
        best = max(best, count / (time.perf_counter() - start))
    return best, count


def database_bytes(instance: Path) -> int:
    """The size of a hub's database: its SQLite file with the WAL, or its PostgreSQL
    database (``pg_database_size``)."""
    from hub.config import load_settings
    from hub.store.postgres import is_postgres

    target = load_settings(instance)["DATABASE"]
    if is_postgres(target):
        import psycopg

        with psycopg.connect(target) as pg:
            row = pg.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0
    return sum(p.stat().st_size for p in Path(target).parent.glob(Path(target).name + "*"))


def run(sizes: Sizes, workdir: Path) -> list[Figure]:
    """Measure the hub's ingest rate and its limit."""
    with BenchFederation(workdir) as fed:
        pilots = fed.pilot_offices()
        to, senders = pilots[0], pilots[1 : 1 + sizes.ingest_senders]
        work = []
        for office, count in zip(senders, shares(sizes.ingest, len(senders)), strict=True):
            sim = fed.enroll(office)
            work.append((sim, push_bodies(sim.letters([to], count), sizes.batch)))
        total = sizes.ingest
        pushers = Pushers(work)
        start = pushers.start()
        elapsed = pushers.join() - start
        stored = database_bytes(fed.hub_instance)
    per_core, timed = parse_and_verify_rate(
        [b for _, bodies in work for b in bodies], [sim.signer for sim, _ in work]
    )
    limit = per_core * cores()
    return [
        measured(
            "hub_ingest_per_s",
            total / elapsed,
            f"{total:,} letters from {len(senders)} offices pushing at once, "
            f"batches of {sizes.batch}, in {elapsed:.1f} s; limit: parse + verify "
            f"{per_core:,.0f}/s on one core ({timed:,} envelopes) × {cores()} cores; the hub's"
            f" database holds {stored / 1e6:,.1f} MB ({stored / total / 1024:,.1f} KB a letter)",
            limit=limit,
        )
    ]
