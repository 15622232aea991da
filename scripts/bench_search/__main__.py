"""``python -m scripts.bench_search`` (``make bench-search``): build if needed, time, report.

Reuses ``bench-results/search-<letters>.sqlite`` while it was built for the same number of
letters by the same build version, else builds it (``--rebuild`` forces that). Times the
query families ``--rounds`` times, keeping the last round, as an ordinary clerk of one
unit; prints each family's and each kind's figures, writes ``bench-results/search.json``
and prints the same JSON. Exits 1 when a family other than ``filtered`` misses the p95
target or any number query misses its letter.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from node.records.access import Viewer
from node.storage.store import Store
from scripts.bench_search.corpus import BUILD_VERSION, build
from scripts.bench_search.timing import query_sets, run_family

TARGET_P95_MS = 20.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench-search")
    p.add_argument("--letters", type=int, default=1_000_000)
    p.add_argument("--db", default=None, help="default: bench-results/search-<letters>.sqlite")
    p.add_argument("--rebuild", action="store_true", help="build the database again")
    p.add_argument("--seed", type=int, default=2569)
    p.add_argument("--rounds", type=int, default=2, help="timed passes; the last one counts")
    args = p.parse_args(argv)
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    path = Path(args.db or out / f"search-{args.letters}.sqlite")
    results: dict[str, Any] = {
        "letters": args.letters,
        "machine_cores": len(os.sched_getaffinity(0)),
    }
    built = None
    if path.exists() and not args.rebuild:
        with Store(path) as store:
            built = store.get_setting("bench_search_build")
    if built != {"letters": args.letters, "version": BUILD_VERSION}:
        print(f"building {path} with {args.letters:,} letters", file=sys.stderr)
        results.update(build(path, args.letters, args.seed))
    results["db_bytes"] = path.stat().st_size
    viewer = Viewer("bench-clerk", frozenset({"clerk"}), frozenset({"ชม 0017.3"}))
    with Store(path) as store:
        families = query_sets(store, args.seed)
        report: dict[str, Any] = {}
        for _ in range(max(1, args.rounds)):
            report = {name: run_family(store, viewer, qs) for name, qs in families.items()}
    results["families"] = report
    ok = True
    for name, fig in report.items():
        target = "" if name == "filtered" else f"  target p95 ≤ {TARGET_P95_MS:.0f} ms"
        if name != "filtered" and fig["p95_ms"] > TARGET_P95_MS:
            target += " BELOW TARGET"
            ok = False
        if fig["missed"]:
            ok = False
        print(
            f"{name:<9} n={fig['queries']:<4} p50 {fig['p50_ms']:7.2f} ms  "
            f"p95 {fig['p95_ms']:7.2f} ms  max {fig['max_ms']:7.2f} ms  "
            f"missed {len(fig['missed'])}{target}"
        )
        for kind, k in fig["kinds"].items():
            print(
                f"  {kind:<16} n={k['queries']:<4} p50 {k['p50_ms']:7.2f} ms  "
                f"p95 {k['p95_ms']:7.2f} ms  max {k['max_ms']:7.2f} ms"
            )
    print(f"database {results['db_bytes'] / 2**30:.2f} GiB at {path}")
    (out / "search.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(json.dumps(results, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
