"""The import rules of docs/design.md, checked on the source.

The faces (the clerk's pages, the local API, the console, the command line) call the
domain; the domain calls storage; everything may call ``protocol``, which calls none of
them. hub and node never import each other, and no module imports itself back through a
circle of others.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("protocol", "hub", "node", "scripts")
FOREIGN_TO_PROTOCOL = {
    "flask",
    "sqlite_utils",
    "requests",
    "apscheduler",
    "hub",
    "node",
    "werkzeug",
}

FACE, DOMAIN, STORAGE, PROTOCOL = 3, 2, 1, 0
LAYER_NAMES = {FACE: "face", DOMAIN: "domain", STORAGE: "storage", PROTOCOL: "protocol"}
LAYERS: dict[str, int] = {
    "protocol": PROTOCOL,
    "scripts": FACE,
    "node.app": FACE,
    "node.responses": FACE,
    "node.web": FACE,
    "node.api": FACE,
    "node.records": DOMAIN,
    "node.keeping": DOMAIN,
    "node.search": DOMAIN,
    "node.printing": DOMAIN,
    "node.staff": DOMAIN,
    "node.sync": DOMAIN,
    "node.storage": STORAGE,
    "node.context": STORAGE,
    "node.config": STORAGE,
    "node.errors": STORAGE,
    "node": STORAGE,
    "hub.app": FACE,
    "hub.api": FACE,
    "hub.audit_api": FACE,
    "hub.accounts_api": FACE,
    "hub.console": FACE,
    "hub.portal": FACE,
    "hub.portal.query": DOMAIN,
    "hub.portal.search": DOMAIN,
    "hub.context": FACE,
    "hub.responses": FACE,
    "hub.jobs": FACE,
    "hub.admin": DOMAIN,
    "hub.federation": DOMAIN,
    "hub.numbering": DOMAIN,
    "hub.monitoring": DOMAIN,
    "hub.store": STORAGE,
    "hub.config": STORAGE,
    "hub.errors": STORAGE,
    "hub.clock": STORAGE,
    "hub": STORAGE,
}
"""Every module's layer, by the longest prefix of its name listed here."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


@cache
def imports_of(name: str) -> frozenset[str]:
    """The project modules ``name`` imports (a package's ``from p import m`` counts as m)."""
    path = modules()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return frozenset(m for m in found if m in modules() and m != name)


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


def layer_of(name: str) -> int:
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"{name} has no layer: add its package to LAYERS")


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
    assert users == ["node/sync/hubclient.py"]


def test_every_module_has_a_layer() -> None:
    for name in modules():
        layer_of(name)


def test_imports_point_from_the_faces_down_to_protocol() -> None:
    wrong = sorted(
        f"{name} ({LAYER_NAMES[layer_of(name)]}) imports {target} ({LAYER_NAMES[layer_of(target)]})"
        for name in modules()
        for target in imports_of(name)
        if layer_of(target) > layer_of(name)
    )
    assert wrong == []


def find_circle(graph: dict[str, frozenset[str]]) -> list[str] | None:
    """One circle of imports in ``graph``, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for target in sorted(graph.get(name, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (circle := visit(target)):
                return circle
        stack.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state and (circle := visit(name)):
            return circle
    return None


def test_no_module_imports_itself_back_through_others() -> None:
    graph = {
        name: frozenset(t for t in imports_of(name) if not name.startswith(f"{t}."))
        for name in modules()
    }
    assert find_circle(graph) is None


def test_find_circle_sees_a_circle() -> None:
    assert find_circle({"a": frozenset({"b"}), "b": frozenset({"a"})}) == ["a", "b", "a"]
    assert find_circle({"a": frozenset({"b"}), "b": frozenset()}) is None


def package_of(name: str) -> str:
    """The room a module lives in: ``node.records`` for ``node.records.inbox``."""
    return ".".join(name.split(".")[:2])


def test_no_package_imports_itself_back_through_others() -> None:
    graph: dict[str, set[str]] = {}
    for name in modules():
        for target in imports_of(name):
            if package_of(target) != package_of(name) and not name.startswith(f"{target}."):
                graph.setdefault(package_of(name), set()).add(package_of(target))
    assert find_circle({k: frozenset(v) for k, v in graph.items()}) is None


LINE_LIMITS = {"hub.store": 400}
"""Packages held to a smaller limit than :data:`MAX_LINES`."""
MAX_LINES = 500


def test_no_module_is_too_long_to_read() -> None:
    def limit(name: str) -> int:
        return next((n for p, n in LINE_LIMITS.items() if name.startswith(p)), MAX_LINES)

    long = {
        name: lines
        for name, path in modules().items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > limit(name)
    }
    assert long == {}


PRINTING_LIBRARIES = ("fpdf", "openpyxl", "pypdf", "fontTools", "pythainlp")


STARTS = {
    "node": "import node.app as a; modules = a.WEB_MODULES + a.API_MODULES",
    "hub": "import hub.app as a, hub.portal.app; modules = a.CONSOLE_MODULES",
}
"""What a service imports as it starts: its app module and the page and API modules its
``create_app`` imports by name."""


@pytest.mark.parametrize("service", sorted(STARTS))
def test_services_start_without_the_printing_libraries(service: str) -> None:
    """A node or hub process imports fpdf2, openpyxl, pypdf and PyThaiNLP at the first
    print or export, not at start: they would cost every start half a second of CPU."""
    probe = "\n".join(
        [
            "import importlib, sys",
            STARTS[service],
            "for name in modules: importlib.import_module(name)",
            f"print(' '.join(m for m in {PRINTING_LIBRARIES!r} if m in sys.modules))",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_a_node_process_loads_neither_the_hubs_store_nor_its_database_driver() -> None:
    """`saraban node serve` builds the whole command line first: no command's module may
    load the hub's store or PostgreSQL's driver on the way (~10 MB of a node's memory)."""
    probe = "\n".join(
        [
            "import importlib, sys",
            "from scripts.cli.main import build_parser",
            "build_parser()",
            STARTS["node"],
            "for name in modules: importlib.import_module(name)",
            "import scripts.serving, node.sync.jobs",
            "print(' '.join(m for m in sys.modules"
            " if m.split('.')[0] in ('psycopg', 'psycopg_pool') or m.startswith('hub.store')))",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []
