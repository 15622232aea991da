"""`make bench-search` at a small size (``--quick``): both parts build their databases
through the real schemas, time their queries, and the portal's figure is written into the
results file in the format of `make bench`, beside the figures already there. Speed is not
asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.sqlite_only("the benchmark makes hubs of its own")
@pytest.mark.timeout(300)
def test_quick_bench_search_writes_the_portal_figure_beside_the_others(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    earlier = {"name": "sign_ratio", "value": 0.9, "unit": "ratio", "target": 0.9}
    out.write_text(json.dumps({"cpu_model": "earlier run", "results": [earlier]}))
    argv = ["--quick", "--rounds", "1", "--dir", str(tmp_path), "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.bench_search", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["cpu_model"] == "earlier run"
    results = {r["name"]: r for r in doc["results"]}
    assert sorted(results) == ["portal_search_p95_ms", "sign_ratio"]
    figure = results["portal_search_p95_ms"]
    assert set(figure) == {"name", "value", "unit", "target", "limit", "ratio", "met", "note"}
    assert (figure["unit"], figure["target"], figure["met"]) == ("ms", 50, True)
    assert "2,000 hub letters" in figure["note"] and "0 number(s) missing" in figure["note"]
    assert "portal_search_p95_ms" in proc.stdout and "portal dates" in proc.stdout
    assert (tmp_path / "quick" / "portal-2000.sqlite").exists()
