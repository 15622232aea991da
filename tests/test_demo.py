"""The main job: `saraban demo --once --json` plays the working day on real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.sqlite_only("the demo makes hubs of its own")
@pytest.mark.timeout(450)  # 86 s seen on a slow machine under make test; the default is 120
def test_demo_day_delivers_every_letter_and_every_receipt(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.cli.main",
            "demo",
            "--once",
            "--json",
            "--workdir",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=420,
        cwd=REPO,
    )
    # what fell short comes first on stderr, ahead of the long report
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[:3000]
    report = json.loads(proc.stdout)
    assert len(report["offices"]) == 19
    assert report["letters_sent"] >= 10
    # the circular alone reaches the 18 centres
    assert report["deliveries_expected"] >= 18
    assert report["deliveries_done"] == report["deliveries_expected"]
    assert report["receipts_returned"] == 1
    assert (
        report["receipts_registered"] + report["receipts_returned"] == report["receipts_expected"]
    )
    assert report["numbering_problems"] == []
    assert report["invariant_violations"] == []
    # Nobody synced by hand: every online recipient was timed, and the figures are there.
    assert report["deliveries_timed"] >= 17 and report["registrations_timed"] >= 16
    assert report["send_to_inbox_p95_s"] > 0 and report["send_to_registered_p95_s"] > 0
    offline = report["offices"]["นว 0017"]
    assert offline["sent"] >= 4 and offline["pending"] == 0
    shared = [r for r in report["numbering"] if r["register"].startswith("มท 0200|ว|")]
    assert shared and shared[0]["provisional_pending"] == 0 and shared[0]["gaps"] == []
    # A ลับ and a ลับมาก letter went sealed, the registrar opened and registered both, and
    # none of their subjects, bodies, files or keys is anywhere in the hub's files.
    assert report["classified_sent"] == 2 and report["classified_opened"] == 2
    assert len(report["classified_subjects"]) == 2
    assert report["classified_leaks"] == []
    hub_files = [tmp_path / "demo" / "hub", tmp_path / "demo" / "logs" / "hub.log"]
    held = b"".join(
        p.read_bytes()
        for root in hub_files
        for p in ([root] if root.is_file() else sorted(root.rglob("*")))
        if p.is_file()
    )
    assert [s for s in report["classified_subjects"] if s.encode() in held] == []
    # the recipient registered both in its control register of classified letters
    assert report["offices"]["ชม 0017"]["pending"] == 0
