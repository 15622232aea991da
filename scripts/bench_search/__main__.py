"""``python -m scripts.bench_search`` (``make bench-search``): build if needed, time, report.

Two parts, each on a database of ``--letters`` letters built once and reused while it was
built for the same number by the same build version (``--rebuild`` builds again):

* ``node``: ``bench-results/search-<letters>.sqlite``, an office's letters, searched as an
  ordinary clerk of one unit; each family's and kind's figures are printed; a family other
  than ``filtered`` must reach p95 ≤ :data:`TARGET_P95_MS`;
* ``portal``: ``bench-results/portal-<letters>.sqlite``, a hub's letters, searched through
  the portal as a provincial hall and as the ministry
  (:mod:`scripts.bench_search.portal_timing`); the p95 of its Thai word and number queries
  is ``portal_search_p95_ms`` (target ≤ 50 ms), written into ``bench-results.json``
  (``--out``) in the format of :mod:`scripts.bench.figures`, the file's other figures kept.

The query families run ``--rounds`` times, the last round counting. Everything is also
written to ``search.json`` beside the databases and printed as JSON. ``--only node`` or
``--only portal`` runs one part; ``--quick`` runs both on 2,000 letters in
``bench-results/quick/`` (the figure then goes to ``bench-results/quick/bench-results.json``
unless ``--out`` says otherwise), as a smoke test; ``--dir`` puts the databases elsewhere.
Exits 1 when a number query misses its letter or, except with ``--quick`` (whose sizes time
nothing worth a verdict), when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from hub.store import HubStore
from node.records.access import Viewer
from node.storage.store import Store
from scripts.bench.figures import measured, merge_results, percentile
from scripts.bench_search.corpus import BUILD_VERSION, build
from scripts.bench_search.portal_corpus import PORTAL_BUILD_VERSION, build_hub, built_for
from scripts.bench_search.portal_timing import portal_probes, run_probes
from scripts.bench_search.timing import query_sets, run_family

TARGET_P95_MS = 20.0
PORTAL_FIGURE = "portal_search_p95_ms"
PORTAL_TARGET_FAMILIES = ("thai", "number")
"""The portal's families whose queries make its figure (date ranges are reported only)."""
QUICK_LETTERS = 2_000
ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench-search")
    p.add_argument("--letters", type=int, default=None, help="default 1,000,000")
    p.add_argument("--db", default=None, help="node database (default in the results folder)")
    p.add_argument("--rebuild", action="store_true", help="build the databases again")
    p.add_argument("--seed", type=int, default=2569)
    p.add_argument("--rounds", type=int, default=2, help="timed passes; the last one counts")
    p.add_argument("--only", choices=("node", "portal"), help="run one part")
    p.add_argument("--quick", action="store_true", help="2,000 letters: a smoke test")
    p.add_argument("--out", type=Path, default=None, help="results file for the portal figure")
    p.add_argument("--dir", type=Path, default=ROOT / "bench-results", help="databases' folder")
    args = p.parse_args(argv)
    letters = args.letters or (QUICK_LETTERS if args.quick else 1_000_000)
    folder = args.dir / ("quick" if args.quick else "")
    folder.mkdir(parents=True, exist_ok=True)
    out = args.out or (folder / "bench-results.json" if args.quick else ROOT / "bench-results.json")
    results: dict[str, Any] = {"letters": letters, "machine_cores": len(os.sched_getaffinity(0))}
    ok = True
    if args.only in (None, "node"):
        ok &= _node(args, Path(args.db or folder / f"search-{letters}.sqlite"), letters, results)
    if args.only in (None, "portal"):
        ok &= _portal(args, folder / f"portal-{letters}.sqlite", letters, out, results)
    summary = folder / "search.json"
    if args.only and summary.exists():  # the other part's figures stay
        results = {**json.loads(summary.read_text(encoding="utf-8")), **results}
    summary.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(json.dumps(results, ensure_ascii=False))
    return 0 if ok else 1


def _node(args: argparse.Namespace, path: Path, letters: int, results: dict[str, Any]) -> bool:
    built = None
    if path.exists() and not args.rebuild:
        with Store(path) as store:
            built = store.get_setting("bench_search_build")
    if built != {"letters": letters, "version": BUILD_VERSION}:
        print(f"building {path} with {letters:,} letters", file=sys.stderr)
        results.update(build(path, letters, args.seed))
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
            ok = args.quick and ok  # a smoke test's tiny sizes time nothing worth a verdict
        ok &= not fig["missed"]
        _print_family(name, fig, target)
    print(f"database {results['db_bytes'] / 2**30:.2f} GiB at {path}")
    return ok


def _portal(
    args: argparse.Namespace, path: Path, letters: int, out: Path, results: dict[str, Any]
) -> bool:
    if args.rebuild or built_for(path) != f"{letters}:{PORTAL_BUILD_VERSION}":
        print(f"building {path} with {letters:,} hub letters", file=sys.stderr)
        results["portal_build_seconds"] = build_hub(path, letters, args.seed)["build_seconds"]
    results["portal_db_bytes"] = path.stat().st_size
    store = HubStore.open(path, create=False)
    try:
        families = portal_probes(store, args.seed)
        report: dict[str, Any] = {}
        for _ in range(max(1, args.rounds)):
            report = {name: run_probes(store, probes) for name, probes in families.items()}
    finally:
        store.close()
    timed = [t for name in PORTAL_TARGET_FAMILIES for t in report[name].pop("all_ms")]
    for fig in report.values():
        fig.pop("all_ms", None)
    p95 = percentile(timed, 95)
    missed = sum(len(fig["missed"]) for fig in report.values())
    figure = measured(
        PORTAL_FIGURE,
        round(p95, 2),
        f"{len(timed)} Thai word and number queries over {letters:,} hub letters, as a"
        f" provincial hall and as the ministry; p50 {percentile(timed, 50):.2f} ms;"
        f" {missed} number(s) missing their letter",
    )
    merge_results(out, [figure])
    results["portal"] = {"families": report, PORTAL_FIGURE: figure.to_json()}
    for name, fig in report.items():
        target = f"  (in {PORTAL_FIGURE})" if name in PORTAL_TARGET_FAMILIES else ""
        _print_family(f"portal {name}", fig, target)
    print(figure.line())
    print(f"hub database {results['portal_db_bytes'] / 2**30:.2f} GiB at {path}; figure in {out}")
    return (figure.met or args.quick) and not missed


def _print_family(name: str, fig: dict[str, Any], note: str) -> None:
    print(
        f"{name:<16} n={fig['queries']:<4} p50 {fig['p50_ms']:7.2f} ms  "
        f"p95 {fig['p95_ms']:7.2f} ms  max {fig['max_ms']:7.2f} ms  "
        f"missed {len(fig['missed'])}{note}"
    )
    for kind, k in fig["kinds"].items():
        print(
            f"  {kind:<26} n={k['queries']:<4} p50 {k['p50_ms']:7.2f} ms  "
            f"p95 {k['p95_ms']:7.2f} ms  max {k['max_ms']:7.2f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
