"""The import rules of DESIGN.md §2, checked on the source: hub → protocol ← node."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOREIGN_TO_PROTOCOL = {
    "flask",
    "sqlite_utils",
    "requests",
    "apscheduler",
    "hub",
    "node",
    "werkzeug",
}


def imported_roots(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        roots: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = roots
    return found


def test_protocol_imports_no_framework_database_or_network_library() -> None:
    offenders = {
        f: sorted(r & FOREIGN_TO_PROTOCOL)
        for f, r in imported_roots("protocol").items()
        if r & FOREIGN_TO_PROTOCOL
    }
    assert offenders == {}


@pytest.mark.parametrize(("package", "other"), [("hub", "node"), ("node", "hub")])
def test_hub_and_node_never_import_each_other(package: str, other: str) -> None:
    offenders = [f for f, roots in imported_roots(package).items() if other in roots]
    assert offenders == []


def test_only_the_hub_client_imports_requests_in_node() -> None:
    users = [f for f, roots in imported_roots("node").items() if "requests" in roots]
    assert users == ["node/hubclient.py"]
