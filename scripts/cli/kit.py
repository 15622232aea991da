"""What every `saraban` command module shares: one-line errors, output, instances, nodes.

Command modules (``scripts/cli/*.py``) each expose ``add_commands(groups, cmd)``;
:mod:`scripts.cli.main` builds the parser from them and runs the chosen command.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, Protocol

from protocol.thai import format_thai_datetime
from scripts.nodeapi import NodeInProcess

EXIT_USAGE = 2
EXIT_FAILED = 1


class CLIError(Exception):
    """A failure to report in one line."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line."""

    def error(self, message: str) -> NoReturn:
        # One line, not a usage dump: clerks read this in a terminal or a log.
        self.exit(EXIT_USAGE, f"saraban: {message} (see 'saraban --help')\n")


def emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    """Print ``data`` as JSON or through ``text``."""
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(text(data))


def instance_dir(args: argparse.Namespace, kind: str) -> Path:
    """The instance folder of ``--instance``, $SARABAN_<KIND>_INSTANCE or instance/<kind>."""
    default = os.environ.get(f"SARABAN_{kind.upper()}_INSTANCE", f"instance/{kind}")
    return Path(args.instance or default)


def node_api(args: argparse.Namespace) -> NodeInProcess:
    """The node of ``--instance``, its app run in this process."""
    return NodeInProcess(instance_dir(args, "node"))


def thai_time(iso: str | None) -> str:
    """An ISO timestamp as clerks read it: Buddhist-era date and 24-hour time, Bangkok."""
    if not iso:
        return ""
    try:
        return format_thai_datetime(datetime.fromisoformat(iso))
    except ValueError:
        return iso


def write_output(path: str, data: bytes) -> str:
    """Write a produced file (PDF, xlsx) to ``path``; return a one-line confirmation."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    except OSError as e:
        raise CLIError(f"cannot write {path}: {e.strerror}") from e
    return f"{path} ({len(data):,} bytes)"


class Cmd(Protocol):
    """``cmd(group, name, fn, help, kind)``: add one command with --instance and --json."""

    def __call__(
        self, parent: Any, name: str, fn: Callable[..., Any], help_: str, kind: str
    ) -> argparse.ArgumentParser: ...


Groups = dict[str, Any]
"""Subparser groups by name ("hub", "node", "letter", ...), plus "_root" for new groups."""
