"""Every setting and every CLI command is documented in the README."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from hub.config import settings_table as hub_settings
from node.config import settings_table as node_settings
from scripts.cli.main import build_parser

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("prefix", "table"),
    [
        pytest.param("SARABAN_HUB_", hub_settings, id="hub"),
        pytest.param("SARABAN_NODE_", node_settings, id="node"),
    ],
)
def test_every_setting_is_in_the_readme(prefix: str, table) -> None:
    missing = [name for name, _, _ in table() if f"`{prefix}{name}`" not in README]
    assert len(table()) > 10
    assert missing == []


def test_every_cli_command_is_in_the_readme() -> None:
    parser = build_parser()
    groups = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    missing = []
    for group, sub in groups.items():
        actions = [a for a in sub._actions if hasattr(a, "choices") and isinstance(a.choices, dict)]
        names = list(actions[0].choices) if actions else [""]
        for name in names:
            command = f"saraban {group} {name}".strip()
            if command not in README:
                missing.append(command)
    assert missing == []


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    assert first_block.strip().splitlines() == ["make demo", "make test"]


DESIGN = (Path(__file__).resolve().parent.parent / "docs" / "design.md").read_text(encoding="utf-8")
DOTTED = re.compile(r"`((?:node|hub|protocol|scripts)(?:\.[A-Za-z_]\w*)+)`")


def resolves(dotted: str) -> bool:
    """Whether ``a.b.c`` names a module, or an attribute of one (``module.Class.method``)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_every_module_and_function_the_design_names_exists() -> None:
    names = sorted(set(DOTTED.findall(DESIGN)))
    assert len(names) > 50
    assert [n for n in names if not resolves(n)] == []


def test_the_design_maps_every_package() -> None:
    root = Path(__file__).resolve().parent.parent
    packages = [
        ".".join(p.parent.relative_to(root).parts)
        for side in ("node", "hub", "scripts")
        for p in (root / side).glob("*/__init__.py")
    ]
    assert [p for p in packages if f"`{p}`" not in DESIGN] == []


def test_the_readme_points_to_the_design_in_the_project() -> None:
    assert "docs/design.md" in README
    assert "../shared" not in README
