"""``hub_ingest_per_s_pg``, ``storm_1000_drain_s_pg`` and ``storm_1000_5xx_pg``: the hub's
ingest and the storm of reconnecting offices (:mod:`scripts.bench.ingest`,
:mod:`scripts.bench.storm`, the same sizes) with the hub's store on PostgreSQL.

A throwaway PostgreSQL server (:mod:`scripts.pgcluster`, on this machine, fsync off as in
the tests) holds a fresh database for each measurement; the hub is created and served on it
through ``SARABAN_HUB_DATABASE_URL``, exactly as an operator would set it.

Does not: tune PostgreSQL beyond the throwaway server's settings, or count its CPU apart
(the server shares the machine's two cores with the hub and the simulated offices).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts.bench import ingest, storm
from scripts.bench.figures import Figure, measured
from scripts.bench.plan import Sizes
from scripts.pgcluster import fresh_database, throwaway_cluster

HUB_DATABASE_ENV = "SARABAN_HUB_DATABASE_URL"
RENAMED = {
    "hub_ingest_per_s": "hub_ingest_per_s_pg",
    "storm_1000_drain_s": "storm_1000_drain_s_pg",
    "storm_1000_5xx": "storm_1000_5xx_pg",
}


@contextmanager
def hub_on(url: str) -> Iterator[None]:
    """Every hub made or served meanwhile (in this process or started from it) uses ``url``."""
    before = os.environ.get(HUB_DATABASE_ENV)
    os.environ[HUB_DATABASE_ENV] = url
    try:
        yield
    finally:
        if before is None:
            del os.environ[HUB_DATABASE_ENV]
        else:
            os.environ[HUB_DATABASE_ENV] = before


def _on_postgresql(figure: Figure) -> Figure:
    note = f"{figure.note}; the hub's store on PostgreSQL"
    assert figure.value is not None
    return measured(
        RENAMED[figure.target.name],
        figure.value,
        note,
        limit=figure.limit,
        ratio=figure.ratio,
        beyond=figure.beyond,
    )


def run(sizes: Sizes, workdir: Path) -> list[Figure]:
    """Measure ingest and the storm with the hub on a throwaway PostgreSQL server."""
    figures: list[Figure] = []
    with throwaway_cluster() as server:
        for name, family in (("ingest", ingest), ("storm", storm)):
            with hub_on(fresh_database(server, f"bench_{name}")):
                figures += [_on_postgresql(f) for f in family.run(sizes, workdir / name)]
    return figures
