"""Installing Saraban prints no warnings from setuptools, and the wheel holds what it serves.

`make demo` installs the project with `pip install -q -e .` and `make install` with
`pip install <repo>`; pip shows the build backend's warnings to whoever runs them. Both
kinds of install are made here from a copy of the project (so that no build folder lands in
the working tree) with the project's pip, into a fresh virtualenv, and their output is
read as the user reads it. pip's own lines about the machine's index configuration
(``WARNING: Location ... is ignored``) are not the project's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("protocol", "hub", "node", "scripts")
BACKEND_WARNING = re.compile(r"Warning\b|InformationOnly|^\s*!!\s*$", re.M)
"""A setuptools warning as pip shows it (``BuildBackendWarning: ...``, ``_Warning``,
``SetuptoolsDeprecationWarning``) or its ``!!`` frame; pip's own are ``WARNING:``."""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files a build reads, copied."""
    copy = tmp_path_factory.mktemp("project") / "saraban"
    copy.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, copy / name)
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return copy


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=300
    )


def backend_warnings(output: str) -> list[str]:
    return [line for line in output.splitlines() if BACKEND_WARNING.search(line)]


def test_editable_install_as_make_demo_does_prints_no_setuptools_warning(
    project: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    done = pip(
        "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps", "-e", str(project)
    )
    assert done.returncode == 0, done.stderr
    assert backend_warnings(done.stdout + done.stderr) == []
    # A plain path entry to the project folder: imports come from where the code is edited.
    [pth] = venv.glob("lib/python3*/site-packages/__editable__.saraban-*.pth")
    assert pth.read_text(encoding="utf-8").split() == [str(project)]


def test_wheel_for_make_install_prints_no_warning_and_holds_pages_styles_and_data(
    project: Path, tmp_path: Path
) -> None:
    done = pip("wheel", "-q", "--no-deps", "-w", str(tmp_path), str(project))
    assert done.returncode == 0, done.stderr
    assert backend_warnings(done.stdout + done.stderr) == []
    [wheel] = tmp_path.glob("saraban-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "hub/templates/base.html",
        "hub/static/console.css",
        "hub/data/offices.json",
        "node/templates/letter.html",
        "node/static/saraban.css",
        "node/data/units.json",
        "scripts/cli/main.py",
        "protocol/envelope.py",
    }
    assert expected <= names
    assert not any("__pycache__" in n or n.startswith("tests/") for n in names)
    metadata = zipfile.ZipFile(wheel).read("saraban-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata
