"""Fixtures of the fault scenarios: a federation of real processes behind fault proxies,
and a small filesystem for a node whose disk fills up."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from faults.harness import OFFICES
from scripts.faults.federation import FaultFederation

REPORT_ENV = "SARABAN_FAULTS_REPORT"
"""When set, each scenario appends its figures to this JSON-lines file (the rows of
docs/reliability.md's table)."""


def record_figures(nodeid: str, fed: FaultFederation) -> None:
    """Append the scenario's letters, losses, duplicates, violations and faults."""
    report = fed.last_report or {}
    row = {
        "scenario": nodeid,
        "letters": report.get("letters"),
        "deliveries": report.get("deliveries"),
        "lost": report.get("lost"),
        "duplicated": report.get("duplicated"),
        "numbers_reissued": report.get("numbers_reissued"),
        "violations": len(report.get("violations") or []) if report else None,
        "faults_injected": dict(sorted(fed.faults_injected().items())),
    }
    with open(os.environ[REPORT_ENV], "a", encoding="utf-8") as out:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


@pytest.fixture
def start_federation(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., FaultFederation]]:
    """Start a hub and nodes (``OFFICES`` unless told) behind proxies; stopped at the end."""
    made: list[FaultFederation] = []

    def start(
        offices: Sequence[str] = OFFICES,
        *,
        seed: int = 0,
        node_env: dict[str, str] | None = None,
        hub_crash_at: str | None = None,
        node_crash_at: dict[str, str] | None = None,
        shared: Sequence[tuple[str, str, Sequence[str]]] = (),
        before_start: Callable[[FaultFederation], Any] | None = None,
        hub_processes: int = 1,
    ) -> FaultFederation:
        fed = FaultFederation(
            tmp_path / f"federation-{len(made)}",
            offices,
            seed,
            node_env,
            hub_processes=hub_processes,
        )
        made.append(fed)
        if before_start is not None:
            before_start(fed)
        fed.start(hub_crash_at, shared, node_crash_at)
        return fed

    try:
        yield start
    finally:
        for fed in made:
            fed.stop()
            if os.environ.get(REPORT_ENV):
                record_figures(request.node.nodeid, fed)


@pytest.fixture
def small_disk() -> Iterator[Callable[[Path, str], Path]]:
    """Mount a tmpfs of a given size (``"8m"``) at a folder; unmounted at the end.

    Skips with the reason when this machine does not let the tests mount (not root, or
    a container without CAP_SYS_ADMIN).
    """
    mounted: list[Path] = []

    def mount(folder: Path, size: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                capture_output=True,
                text=True,
            )
        except FileNotFoundError:
            pytest.skip("cannot mount a small tmpfs here: no mount command")
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    try:
        yield mount
    finally:
        for folder in reversed(mounted):
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)
