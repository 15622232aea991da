"""``python -m scripts.bench`` (``make bench``): run the families, print one line per
figure, write ``bench-results.json`` (or ``--out``). The figures of a family another
command measures (:data:`~scripts.bench.figures.MEASURED_ELSEWHERE`: the portal's search,
by ``make bench-search``) are kept from the file as that command last wrote them.

``--only ingest,storm`` runs some families (a figure's name picks its family too);
``--quick`` runs everything at tiny sizes, as a smoke test; every size has an option
(``--help``). Each family runs in a fresh temporary folder that is removed afterwards. A
family that fails is reported with its figures unmeasured and the run goes on; the exit
status is 1 when any family failed, 0 otherwise, whether the targets were met or not.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from scripts.bench import (
    catchup,
    delivery,
    idle,
    ingest,
    latency,
    postgresql,
    signatures,
    storm,
)
from scripts.bench.figures import (
    BY_NAME,
    FAMILIES,
    MEASURED_ELSEWHERE,
    TARGETS,
    Figure,
    machine,
    read_figures,
    unmeasured,
    write_results,
)
from scripts.bench.plan import OPTIONS, Sizes, sizes_for

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "bench-results.json"

RUNNERS: dict[str, ModuleType] = {
    "signatures": signatures,
    "ingest": ingest,
    "e2e": delivery,
    "latency": latency,
    "catchup": catchup,
    "storm": storm,
    "idle": idle,
    "postgresql": postgresql,
}
"""The module measuring each family of :data:`scripts.bench.figures.FAMILIES`."""


def chosen_families(only: str | None) -> list[str]:
    """The families ``--only`` names (families or figure names), in run order."""
    if not only:
        return [f for f in FAMILIES if f in RUNNERS]
    wanted = set()
    for word in (w.strip() for w in only.split(",") if w.strip()):
        family = BY_NAME[word].family if word in BY_NAME else word if word in FAMILIES else None
        if family in MEASURED_ELSEWHERE:
            raise SystemExit(f"bench: {word!r} is measured by `{MEASURED_ELSEWHERE[family]}`")
        if family is None:
            choices = ", ".join([*RUNNERS, *BY_NAME])
            raise SystemExit(f"bench: --only {word!r}: not a family or figure ({choices})")
        wanted.add(family)
    return [f for f in FAMILIES if f in wanted]


def run_family(family: str, sizes: Sizes, say: Callable[[str], None]) -> list[Figure]:
    """Run one family in its own temporary folder; a failure becomes unmeasured rows."""
    names = [t.name for t in TARGETS if t.family == family]
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix=f"saraban-bench-{family}-") as tmp:
            figures: list[Figure] = RUNNERS[family].run(sizes, Path(tmp))
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        return [unmeasured(name, f"{type(e).__name__}: {e}") for name in names]
    say(f"# {family}: {time.monotonic() - started:.0f} s")
    missing = set(names) - {f.target.name for f in figures}
    return figures + [unmeasured(name, "the family did not report it") for name in sorted(missing)]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench", description="Saraban's performance targets")
    p.add_argument("--only", help=f"families or figures, comma-separated: {', '.join(FAMILIES)}")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results file")
    for name, help_ in OPTIONS.items():
        kind = float if name in ("latency_deadline", "idle_seconds") else int
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, help=help_)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen families; the exit status says whether every one measured."""
    args = parse_args(argv)
    sizes = sizes_for(args.quick, {name: getattr(args, name) for name in OPTIONS})
    families = chosen_families(args.only)
    header = machine()
    print(f"# {header['cpu_model']}, {header['cores']} cores, Python {header['python']}")
    figures: list[Figure] = []
    failed = []
    for family in families:
        done = run_family(family, sizes, print)
        for figure in done:
            print(figure.line(), flush=True)
        if any(f.value is None for f in done):
            failed.append(family)
        figures += done
    # Figures another command measures stay as it last wrote them.
    for figure in read_figures(args.out, set(MEASURED_ELSEWHERE)):
        print(figure.line(), f"(from `{MEASURED_ELSEWHERE[figure.target.family]}`)")
        figures.append(figure)
    write_results(args.out, header, figures, sizes.as_json())
    met = sum(f.met for f in figures)
    print(f"# {met} of {len(figures)} targets met; written to {args.out}")
    if failed:
        print(f"# not measured: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
