"""The figures `make bench` reports: their names, units and targets, one measured value
each, the machine they were measured on, and the JSON file they are written to.

:data:`TARGETS` is the one table of names (issue 12, docs/design.md §11). A family of
measurements returns :class:`Figure` values made by :func:`measured`; a family that could
not measure returns :func:`unmeasured` rows, so the file always holds every name.

Does not: measure anything (the family modules of :mod:`scripts.bench` do).
"""

from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from protocol.thai import BANGKOK


@dataclass(frozen=True)
class Target:
    """What one figure is and the value it must reach."""

    name: str
    family: str
    unit: str
    target: float
    at_most: bool
    """True for a "≤" target (a time, a size, a count of errors); False for "≥"."""


TARGETS: tuple[Target, ...] = (
    Target("sign_ratio", "signatures", "ratio", 0.90, at_most=False),
    Target("verify_ratio", "signatures", "ratio", 0.90, at_most=False),
    Target("hub_ingest_per_s", "ingest", "envelopes/s", 5000, at_most=False),
    Target("e2e_per_s", "e2e", "envelopes/s", 2000, at_most=False),
    Target("e2e_fan_in_per_s", "e2e", "envelopes/s", 2000, at_most=False),
    Target("latency_send_to_inbox_p95_s", "latency", "s", 5, at_most=True),
    Target("catchup_100k_s", "catchup", "s", 30, at_most=True),
    Target("catchup_100k_rss_mb", "catchup", "MB", 150, at_most=True),
    Target("storm_1000_drain_s", "storm", "s", 60, at_most=True),
    Target("storm_1000_5xx", "storm", "responses", 0, at_most=True),
    Target("node_idle_rss_mb", "idle", "MB", 120, at_most=True),
    Target("hub_ingest_per_s_pg", "postgresql", "envelopes/s", 5000, at_most=False),
    Target("storm_1000_drain_s_pg", "postgresql", "s", 60, at_most=True),
    Target("storm_1000_5xx_pg", "postgresql", "responses", 0, at_most=True),
    Target("portal_search_p95_ms", "portal_search", "ms", 50, at_most=True),
)
"""Every figure, in the order it is printed and written."""

MEASURED_ELSEWHERE: dict[str, str] = {"portal_search": "make bench-search"}
"""Families another command measures (it builds a database of a million letters first):
`make bench` keeps their last figures in the results file rather than running them."""

BY_NAME = {t.name: t for t in TARGETS}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(t.family for t in TARGETS))


@dataclass(frozen=True)
class Figure:
    """One measured figure as written to ``bench-results.json``.

    ``limit`` is the raw figure measured in the same run that bounds this one (None where
    none applies); ``ratio`` is how near the value came to it. For the ``*_ratio`` figures
    the value is itself that ratio (envelope rate ÷ raw Ed25519 rate), so ``ratio`` repeats
    it; elsewhere it is ``value / limit``.
    """

    target: Target
    value: float | None
    limit: float | None = None
    ratio: float | None = None
    note: str = ""
    beyond: bool = False
    """The true figure lies beyond ``value`` (a deadline ran out first): never met."""

    @property
    def met(self) -> bool:
        """Whether the value reaches the target (False when nothing was measured)."""
        if self.value is None or math.isnan(self.value) or self.beyond:
            return False
        if self.target.at_most:
            return self.value <= self.target.target
        return self.value >= self.target.target

    def to_json(self) -> dict[str, Any]:
        """The object of the ``results`` list."""
        return {
            "name": self.target.name,
            "value": self.value,
            "unit": self.target.unit,
            "target": self.target.target,
            "limit": self.limit,
            "ratio": self.ratio,
            "met": self.met,
            "note": self.note,
        }

    def line(self) -> str:
        """One printed line: name, value, target, limit and ratio, met or not, note."""
        t = self.target
        value = "—" if self.value is None else _number(self.value)
        if self.beyond:
            value = ("> " if t.at_most else "< ") + value
        sign = "≤" if t.at_most else "≥"
        parts = [f"{t.name:<28} {value:>12} {t.unit:<12} target {sign} {_number(t.target)}"]
        if self.limit is not None:
            parts.append(f"limit {_number(self.limit)}")
        if self.ratio is not None:
            parts.append(f"ratio {self.ratio:.2f}")
        parts.append("met" if self.met else "NOT MET")
        if self.note:
            parts.append(self.note)
        return "  ".join(parts)


def _number(x: float) -> str:
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:,.2f}" if abs(x) >= 1 else f"{x:.3f}"


def measured(
    name: str,
    value: float,
    note: str = "",
    *,
    limit: float | None = None,
    ratio: float | None = None,
    beyond: bool = False,
) -> Figure:
    """The figure ``name`` with its measured ``value``; ``ratio`` defaults to value/limit;
    ``beyond`` when the true figure is known only to lie beyond ``value``."""
    if ratio is None and limit:
        ratio = value / limit
    return Figure(BY_NAME[name], float(value), limit, ratio, note, beyond)


def from_json(row: dict[str, Any]) -> Figure | None:
    """A figure as the results file holds it (None for a name no longer in the table)."""
    target = BY_NAME.get(str(row.get("name")))
    if target is None:
        return None
    value = row.get("value")
    return Figure(
        target,
        None if value is None else float(value),
        row.get("limit"),
        row.get("ratio"),
        str(row.get("note") or ""),
    )


def read_figures(path: Path, families: set[str]) -> list[Figure]:
    """The figures of ``families`` the results file at ``path`` holds (none if it has no
    such file or cannot be read)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        rows = list(doc.get("results") or [])
    except (OSError, ValueError, AttributeError):
        return []
    found = [from_json(r) for r in rows if isinstance(r, dict)]
    return [f for f in found if f is not None and f.target.family in families]


def merge_results(path: Path, figures: list[Figure]) -> None:
    """Put ``figures`` in the results file, replacing the rows of the same names and
    keeping the others and the header (a new file gets this machine's header)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        header = {k: v for k, v in doc.items() if k not in ("sizes", "results")}
        sizes = dict(doc.get("sizes") or {})
        kept = [f for f in (from_json(r) for r in doc.get("results") or []) if f is not None]
    except (OSError, ValueError, AttributeError):
        header, sizes, kept = machine(), {}, []
    names = {f.target.name for f in figures}
    write_results(path, header, [f for f in kept if f.target.name not in names] + figures, sizes)


def unmeasured(name: str, why: str) -> Figure:
    """The row of a figure whose family failed: no value, ``met`` false, the reason."""
    return Figure(BY_NAME[name], None, note=f"not measured: {why}")


def cpu_model() -> str:
    """The processor's name as /proc/cpuinfo gives it (else what platform knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0))


def machine() -> dict[str, Any]:
    """The header of the results file: processor, cores, Python, when the run started."""
    return {
        "cpu_model": cpu_model(),
        "cores": cores(),
        "python": platform.python_version(),
        "started_at": datetime.now(BANGKOK).isoformat(timespec="seconds"),
    }


def write_results(
    path: Path, header: dict[str, Any], figures: list[Figure], sizes: dict[str, Any]
) -> None:
    """Write the results file: the header, the sizes measured with, every figure."""
    by_name = {f.target.name: f for f in figures}
    ordered = [by_name[t.name] for t in TARGETS if t.name in by_name]
    doc = {**header, "sizes": sizes, "results": [f.to_json() for f in ordered]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank ``p`` percentile (0 < p ≤ 100) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
