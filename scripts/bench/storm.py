"""``storm_1000_drain_s`` and ``storm_1000_5xx``: ``--storm`` offices reconnecting to a
real hub process at the same moment.

The offices are simulated in the bench process, each enrolled at the hub with keys of its
own (the hub is given that many offices beside the pilot ones before it starts). Before
the storm each pushes ``--storm-waiting`` letters to the next office, so that much waits
in every mailbox. Then every office, each in its own thread and all released at once,
does what a node back online does: pushes ``--storm-push`` new letters (one signed
request), pulls its mailbox until ``more`` is false, and closes its connection. A 429 is
waited out as its Retry-After says. The drain is the time until the last office finished;
the second figure counts the hub's 5xx answers over the storm.

Does not: count the enrolment or the letters pushed before the storm.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scripts.bench.federation import BenchFederation, extra_office_ids, process_memory_mb
from scripts.bench.figures import Figure, measured
from scripts.bench.plan import Sizes
from scripts.bench.traffic import SimOffice, Tally, push_bodies

SETUP_THREADS = 4
NEXT_OFFICE = 7
"""The storm's new letters go this many offices along, not to the next one."""


class Reconnect:
    """One office's round at the storm, run in its own thread."""

    def __init__(self, office: SimOffice, body: bytes, ready: threading.Barrier) -> None:
        self.office = office
        self.body = body
        self.ready = ready
        self.pulled = 0
        self.finished = 0.0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.ready.wait()
        try:
            self.office.push(self.body)
            self.pulled = self.office.pull_all()
        except Exception as e:  # the office did not drain: counted by the caller
            self.error = e
        finally:
            self.finished = time.perf_counter()
            self.office.close()


def prepare(fed: BenchFederation, ids: list[str], waiting: int, batch: int) -> list[SimOffice]:
    """Enroll every office and push the letters that wait for each at the storm."""
    with ThreadPoolExecutor(max_workers=SETUP_THREADS) as pool:
        offices = list(pool.map(fed.enroll, ids))

    def send(i: int) -> None:
        office = offices[i]
        for body in push_bodies(office.letters([ids[(i + 1) % len(ids)]], waiting), batch):
            office.push(body)

    with ThreadPoolExecutor(max_workers=SETUP_THREADS) as pool:
        list(pool.map(send, range(len(ids))))
    return offices


def run(sizes: Sizes, workdir: Path) -> list[Figure]:
    """Reconnect every office at once; the drain time and the hub's 5xx answers."""
    ids = extra_office_ids(sizes.storm)
    with BenchFederation(workdir, extra_offices=ids) as fed:
        offices = prepare(fed, ids, sizes.storm_waiting, sizes.batch)
        tally = Tally()
        ready = threading.Barrier(len(offices) + 1)
        rounds = []
        for i, office in enumerate(offices):
            office.tally = tally
            to = ids[(i + NEXT_OFFICE) % len(ids)]
            body = push_bodies(office.letters([to], sizes.storm_push), sizes.batch)[0]
            rounds.append(Reconnect(office, body, ready))
        for r in rounds:
            r.thread.start()
        ready.wait()
        start = time.perf_counter()
        for r in rounds:
            r.thread.join()
        drain = max(r.finished for r in rounds) - start
        _, hub_peak_mb = process_memory_mb(fed.hub.proc.pid)
    failed = [r for r in rounds if r.error is not None]
    short = [r for r in rounds if r.error is None and r.pulled < sizes.storm_waiting]
    statuses = ", ".join(f"{n} × {status}" for status, n in sorted(tally.statuses.items()))
    what = (
        f"{len(offices):,} offices at once, each pushing new letters ({sizes.storm_push}) "
        f"and pulling those waiting for it (at least {sizes.storm_waiting}); hub's answers: "
        f"{statuses}"
    )
    what += f"; the hub process's peak resident memory {hub_peak_mb:,.0f} MB"
    if tally.no_answer:
        what += f"; {tally.no_answer} requests got no answer"
    if failed:
        what += f"; {len(failed)} offices failed, e.g. {failed[0].office.office}: {failed[0].error}"
    if short:
        what += f"; {len(short)} offices pulled fewer letters than waited for them"
    return [
        measured("storm_1000_drain_s", drain, what, beyond=bool(failed or short)),
        measured(
            "storm_1000_5xx",
            tally.server_errors,
            f"5xx answers of the hub during the storm of {len(offices):,} offices",
        ),
    ]
