"""The hub's settings: one table of names, defaults and help lines.

Load order (later wins): the defaults below, ``<instance>/config.json``, environment
variables ``SARABAN_HUB_<NAME>``, then the ``test_config`` mapping given to
:func:`hub.app.create_app`. The README lists the table from :func:`settings_table`.

This module reads configuration only; it opens no database and starts no server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "SARABAN_HUB_"


@dataclass(frozen=True)
class Setting:
    """One configurable value of the hub."""

    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE", None, "SQLite file of the hub (default <instance>/hub.sqlite)."),
    Setting("BLOB_DIR", None, "Folder of attachment bytes (default <instance>/blobs)."),
    Setting("MAX_CONTENT_LENGTH", 8 * 1024 * 1024, "Largest request body in bytes (413 beyond)."),
    Setting("CLOCK_WINDOW_SECONDS", 300, "How far a signed request's timestamp may be off."),
    Setting("MAX_INFLIGHT", 64, "Requests served at once before answering 429."),
    Setting("RETRY_AFTER_SECONDS", 5, "Retry-After sent with a 429 answer."),
    Setting("ENROLL_TOKEN_TTL_HOURS", 72, "Lifetime of a one-time enrollment token."),
    Setting("LEASE_MAX", 1000, "Most numbers one lease of a shared register may grant."),
    Setting("PULL_LIMIT_MAX", 500, "Most mailbox envelopes returned by one pull."),
    Setting("LATE_AFTER_MINUTES", 30, "Console: an office not heard from this long is 'late'."),
    Setting("SILENT_AFTER_HOURS", 24, "Console: an office not heard from this long is 'silent'."),
    Setting("CLOCK_SKEW_LIMIT_SECONDS", 120, "Console: alert when a node's clock is off more."),
    Setting("SESSION_MINUTES", 60, "Console: an idle operator session ends after this long."),
    Setting("INACTIVE_DAYS", 7, "Statistics: an office with no letters this long is inactive."),
    Setting("WORKDAY_END", "16:30", "Statistics: when the working day ends (Bangkok time)."),
    Setting("HOLIDAYS", "", "Statistics: public holidays, ISO dates separated by commas."),
    Setting("RECONCILE_AT", "02:00", "When the nightly numbering report runs (Asia/Bangkok)."),
    Setting("REPORT_DIR", None, "Folder of the dated numbering reports (<instance>/reports)."),
    Setting("SCHEDULER", True, "`saraban hub serve` runs the nightly and alert jobs."),
    Setting("METRICS_TOKEN", "", "Bearer token /metrics asks for (empty: open, as usual)."),
    Setting("HOST", "127.0.0.1", "Address `saraban hub serve` listens on."),
    Setting("PORT", 8700, "Port `saraban hub serve` listens on."),
    Setting("THREADS", 8, "Worker threads of the waitress server."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def settings_table() -> list[tuple[str, Any, str]]:
    """Every setting as ``(name, default, help)``, for the README and ``--help``."""
    return [(s.name, s.default, s.help) for s in SETTINGS]


def _from_env(setting: Setting, text: str) -> Any:
    # Environment values are text; read them as the type of the default.
    if isinstance(setting.default, bool):
        return text.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(setting.default, int):
        return int(text)
    if isinstance(setting.default, float):
        return float(text)
    return text


def load_settings(
    instance_path: str | os.PathLike[str],
    test_config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Resolve every setting for the hub whose instance folder is ``instance_path``."""
    instance = Path(instance_path)
    values: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    config_file = instance / "config.json"
    if config_file.exists():
        data = json.loads(config_file.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{config_file} must hold a JSON object")
        values.update(data)
    env = os.environ if environ is None else environ
    for setting in SETTINGS:
        text = env.get(ENV_PREFIX + setting.name)
        if text is not None:
            values[setting.name] = _from_env(setting, text)
    if test_config:
        values.update(test_config)
    if not values.get("DATABASE"):
        values["DATABASE"] = str(instance / "hub.sqlite")
    if not values.get("BLOB_DIR"):
        values["BLOB_DIR"] = str(instance / "blobs")
    if not values.get("REPORT_DIR"):
        values["REPORT_DIR"] = str(instance / "reports")
    return values


def setting_help(name: str) -> str:
    """The help line of one setting."""
    return _BY_NAME[name].help
