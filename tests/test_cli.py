"""The `saraban` command as a user meets it: one line and a non-zero exit on any mistake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def saraban(
    *args: str, cwd: Path = REPO, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        input=stdin,
        env=env,
    )


def assert_one_line_failure(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("saraban")
    assert needle in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param((), "required", id="no-command"),
        pytest.param(("hub", "frobnicate"), "invalid choice", id="unknown-subcommand"),
        pytest.param(("letter", "register", "abc"), "invalid int", id="letter-id-not-a-number"),
        pytest.param(("letter", "send"), "--subject", id="send-without-subject"),
    ],
)
def test_usage_mistakes_end_in_one_line(args: tuple[str, ...], needle: str) -> None:
    assert_one_line_failure(saraban(*args), needle)


def test_letter_command_on_a_folder_that_is_not_a_node(tmp_path: Path) -> None:
    proc = saraban("letter", "inbox", "--instance", str(tmp_path / "nowhere"))
    assert_one_line_failure(proc, "not an initialised node")


@pytest.fixture
def hub_dir(tmp_path: Path) -> Path:
    """A hub's instance folder, made by `saraban hub init`."""
    hub = tmp_path / "hub"
    assert saraban("hub", "init", "--instance", str(hub)).returncode == 0
    return hub


@pytest.mark.sqlite_only("reads the bytes of the hub's SQLite file")
def test_hub_enroll_issues_a_token_once_and_refuses_unknown_office(hub_dir: Path) -> None:
    ok = saraban("hub", "enroll", "ชม 0017", "--instance", str(hub_dir), "--json")
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["office"] == "ชม 0017" and len(data["token"]) >= 20
    assert data["token"] not in (hub_dir / "hub.sqlite").read_bytes().decode("latin-1")
    bad = saraban("hub", "enroll", "ZZ 9999", "--instance", str(hub_dir))
    assert_one_line_failure(bad, "ZZ 9999")


def test_numbering_report_of_a_new_hub_is_empty(hub_dir: Path) -> None:
    proc = saraban("hub", "report", "numbering", "--instance", str(hub_dir), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_tracking_times_are_shown_in_the_buddhist_era() -> None:
    from scripts.cli.kit import thai_time

    assert thai_time("2026-11-24T07:09:15Z") == "24 พฤศจิกายน 2569 เวลา 14.09 น."
    assert thai_time(None) == ""
