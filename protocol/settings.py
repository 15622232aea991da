"""How the hub and a node load their settings: a table of names, defaults and help lines,
and the steps both take to resolve it.

Each side keeps its own table (:mod:`hub.config`, :mod:`node.config`) and loads it in the
same order, later winning: the table's defaults, the instance folder's ``config.json``,
environment variables ``<prefix><NAME>`` (``SARABAN_HUB_``, ``SARABAN_NODE_``), then the
``test_config`` mapping given to ``create_app``. An environment value is text, read as the
type of its setting's default (:func:`parse_setting`).

Does not: name any setting, decide where an instance's files go, or write ``config.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.errors import SarabanError

CONFIG_FILE = "config.json"
"""The settings file of an instance folder."""

ON_WORDS = ("1", "true", "yes", "on")
"""What turns a switch on (any case)."""

OFF_WORDS = ("0", "false", "no", "off")
"""What turns a switch off (any case)."""


class BadSetting(SarabanError, ValueError):
    """A setting's value cannot be read as its type, or ``config.json`` is not a JSON object.

    A local mistake, in neither of the protocol's two families; a ``ValueError`` too, so a
    caller that catches those keeps working.
    """

    code = "bad_setting"


@dataclass(frozen=True)
class Setting:
    """One setting: its name, its default (whose type says how to read a value) and the
    line of help the README shows."""

    name: str
    default: Any
    help: str


def defaults(settings: Iterable[Setting]) -> dict[str, Any]:
    """Every setting at its default, the first layer of a load."""
    return {s.name: s.default for s in settings}


def settings_table(settings: Iterable[Setting]) -> list[tuple[str, Any, str]]:
    """Every setting as ``(name, default, help)``, for the README and ``--help``."""
    return [(s.name, s.default, s.help) for s in settings]


def read_config_file(path: Path) -> dict[str, Any]:
    """The JSON object in ``path`` (``{}`` when there is no such file), or :class:`BadSetting`."""
    if not path.exists():
        return {}
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BadSetting(f"{path} is not valid JSON: {e}") from e
    if not isinstance(stored, dict):
        raise BadSetting(f"{path} must hold a JSON object")
    return stored


def environment_values(
    settings: Iterable[Setting], prefix: str, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The settings given as environment variables ``<prefix><NAME>``, still as text."""
    env = os.environ if environ is None else environ
    return {s.name: env[prefix + s.name] for s in settings if prefix + s.name in env}


def switched_on(text: str) -> bool:
    """Whether ``text`` is one of :data:`ON_WORDS`; any other word is off."""
    return text.strip().lower() in ON_WORDS


def parse_setting(setting: Setting, value: Any) -> Any:
    """``value`` (environment text, or a JSON value) as the type of the setting's default.

    A switch takes only :data:`ON_WORDS` and :data:`OFF_WORDS`; a mapping or a list may come
    as JSON text. Anything else is :class:`BadSetting`.
    """
    default = setting.default
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ON_WORDS:
            return True
        if text in OFF_WORDS:
            return False
        raise BadSetting(f"{setting.name} must be on or off, not {value!r}")
    try:
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, dict):
            parsed = json.loads(value) if isinstance(value, str) else value
            if not isinstance(parsed, dict):
                raise ValueError("expected a JSON object")
            return parsed
        if isinstance(default, list):
            parsed = json.loads(value) if isinstance(value, str) else value
            if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
                raise ValueError("expected a JSON list of text")
            return parsed
    except ValueError as e:
        raise BadSetting(f"{setting.name}: {e}") from e
    return str(value) if value is not None else ""
