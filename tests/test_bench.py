"""`make bench` at tiny sizes (``--quick``): the whole run works end to end with real hub
and node processes, prints one line per figure and writes every figure to the results
file. Speed is not asserted here: the figures themselves are `make bench`'s business.
"""

from __future__ import annotations

import json
import subprocess
import sys
from numbers import Real
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FIGURES = (
    "sign_ratio",
    "verify_ratio",
    "hub_ingest_per_s",
    "e2e_per_s",
    "e2e_fan_in_per_s",
    "latency_send_to_inbox_p95_s",
    "catchup_100k_s",
    "catchup_100k_rss_mb",
    "storm_1000_drain_s",
    "storm_1000_5xx",
    "node_idle_rss_mb",
    "hub_ingest_per_s_pg",
    "storm_1000_drain_s_pg",
    "storm_1000_5xx_pg",
)
WITH_LIMIT = {"sign_ratio", "verify_ratio", "hub_ingest_per_s", "hub_ingest_per_s_pg"}


def is_number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


@pytest.mark.sqlite_only("the benchmark makes hubs of its own")
@pytest.mark.timeout(300)
def test_quick_bench_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]

    doc = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(doc["cpu_model"], str) and doc["cpu_model"]
    assert isinstance(doc["cores"], int) and doc["cores"] >= 1
    assert isinstance(doc["python"], str) and doc["python"].startswith("3.")
    assert isinstance(doc["started_at"], str) and "T" in doc["started_at"]

    results = {r["name"]: r for r in doc["results"]}
    assert sorted(results) == sorted(FIGURES)
    assert len(doc["results"]) == len(FIGURES)
    for name, r in results.items():
        assert set(r) == {"name", "value", "unit", "target", "limit", "ratio", "met", "note"}
        assert is_number(r["value"]), (name, r)
        assert is_number(r["target"]), (name, r)
        assert isinstance(r["unit"], str) and r["unit"], (name, r)
        assert isinstance(r["met"], bool), (name, r)
        assert isinstance(r["note"], str) and r["note"], (name, r)
        if name in WITH_LIMIT:
            assert is_number(r["limit"]) and r["limit"] > 0, (name, r)
            assert is_number(r["ratio"]), (name, r)
        else:
            assert r["limit"] is None and r["ratio"] is None, (name, r)

    printed = [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]
    for name in FIGURES:
        assert printed.count(name) == 1, proc.stdout
