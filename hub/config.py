"""The hub's settings: one table of names, defaults and help lines.

Load order (later wins): the defaults below, ``<instance>/config.json``, environment
variables ``SARABAN_HUB_<NAME>``, then the ``test_config`` mapping given to
:func:`hub.app.create_app`; the steps are :mod:`protocol.settings`, the same as a node's.
The README lists the table from :func:`settings_table`.

The rate limits' rows (``RATE_<FAMILY>_PER_SECOND``) come from :data:`RATE_FAMILIES`, the
table :mod:`hub.federation.ratelimit` reads its families' settings from.

``SECURE_COOKIES`` is for a hub whose console is reached over HTTPS (a TLS proxy in front
of it): the browser then sends the operator's session cookie over TLS only.

This module reads configuration only; it opens no database and starts no server.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from protocol import settings as loading
from protocol.settings import CONFIG_FILE, Setting

ENV_PREFIX = "SARABAN_HUB_"

RATE_FAMILIES: dict[str, tuple[int, str]] = {
    "push": (50, "Pushes an office may make per second (0: no limit)."),
    "pull": (50, "Pulls and feed pages an office may ask per second."),
    "blobs": (100, "Blob requests (chunks, HEAD, GET) per office a second."),
    "watch": (2, "Wake-up checks per office a second (nodes: every 3 s)."),
    "other": (50, "Other signed requests per office a second."),
}
"""The families of the federation API's rate limits (:mod:`hub.federation.ratelimit`),
each with its default rate (requests a second per office) and the help line of its
setting, :func:`rate_setting`."""


def rate_setting(family: str) -> str:
    """The setting of a rate-limit family's rate: ``RATE_<FAMILY>_PER_SECOND``."""
    return f"RATE_{family.upper()}_PER_SECOND"


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE", None, "SQLite file of the hub (default <instance>/hub.sqlite)."),
    Setting(
        "DATABASE_URL",
        None,
        "PostgreSQL database of the hub instead of the SQLite file:"
        " postgresql://USER@HOST:PORT/NAME (the password from ~/.pgpass or PGPASSWORD).",
    ),
    Setting("BLOB_DIR", None, "Folder of attachment bytes (default <instance>/blobs)."),
    Setting(
        "MAX_CONTENT_LENGTH",
        8 * 1024 * 1024,
        "Largest push body in bytes (413 beyond); a blob chunk takes 1 MB, anything else 256 KB.",
    ),
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
    Setting(
        "SECURE_COOKIES",
        False,
        "Console: mark the session cookie Secure; turn on when it is reached over HTTPS (TLS).",
    ),
    Setting("INACTIVE_DAYS", 7, "Statistics: an office with no letters this long is inactive."),
    Setting("WORKDAY_END", "16:30", "Statistics: when the working day ends (Bangkok time)."),
    Setting("HOLIDAYS", "", "Statistics: public holidays, ISO dates separated by commas."),
    Setting("RECONCILE_AT", "02:00", "When the nightly numbering report runs (Asia/Bangkok)."),
    Setting("REPORT_DIR", None, "Folder of the dated numbering reports (<instance>/reports)."),
    Setting("SCHEDULER", True, "`saraban hub serve` runs its jobs (report, alerts, collection)."),
    Setting(
        "QUARANTINE_BYTES_PER_OFFICE",
        64 * 1024 * 1024,
        "Bytes of refused envelopes kept per office; beyond, new ones are refused and counted.",
    ),
    *(Setting(rate_setting(f), rate, text) for f, (rate, text) in RATE_FAMILIES.items()),
    Setting("RATE_BURST_SECONDS", 10, "Rate limits: an idle office may burst this many seconds."),
    Setting("ORPHAN_BLOB_GRACE_DAYS", 7, "Days after upload a blob no letter cites is removed."),
    Setting(
        "PARTIAL_UPLOAD_GRACE_HOURS",
        24,
        "Hours after its last chunk an unfinished upload is removed.",
    ),
    Setting(
        "METRICS_TOKEN",
        "",
        "Bearer token /metrics asks for (config.json or the environment, never a command line).",
    ),
    Setting(
        "METRICS_TOKEN_FILE",
        None,
        "File holding the /metrics token (default <instance>/metrics_token when it exists).",
    ),
    Setting(
        "METRICS_LISTEN",
        "",
        "host:port where `saraban hub serve` serves /metrics alone (token-free unless one is set).",
    ),
    Setting(
        "PORTAL_BIND",
        "",
        "host:port where `saraban hub serve` also serves the portal (empty: it does not).",
    ),
    Setting("PORTAL_SESSION_MINUTES", 30, "Portal: an idle session ends after this long."),
    Setting(
        "PORTAL_SIGN_INS_PER_MINUTE",
        10,
        "Portal: sign-in attempts (password or code) one address may make a minute.",
    ),
    Setting("PORTAL_PAGES_PER_MINUTE", 600, "Portal: requests one address may make a minute."),
    Setting(
        "PORTAL_MINISTRY_OFFICE",
        "มท 0200",
        "Portal: the office whose executives and administrators see every office's tracking.",
    ),
    Setting(
        "PORTAL_PROXY_HOPS",
        0,
        "Portal: reverse proxies in front of it whose X-Forwarded-For/-Proto are believed.",
    ),
    Setting("HOST", "127.0.0.1", "Address `saraban hub serve` listens on."),
    Setting("PORT", 8700, "Port `saraban hub serve` listens on."),
    Setting("THREADS", 8, "Request threads of the server, for each address it listens on."),
    Setting(
        "CONNECTIONS",
        4000,
        "Open connections the server keeps (every node keeps one for its wake-up check).",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def settings_table() -> list[tuple[str, Any, str]]:
    """Every setting as ``(name, default, help)``, for the README and ``--help``."""
    return loading.settings_table(SETTINGS)


def _from_env(setting: Setting, text: str) -> Any:
    # The hub has always read any word but the "on" ones as off; the node refuses them.
    if isinstance(setting.default, bool):
        return loading.switched_on(text)
    return loading.parse_setting(setting, text)


def load_settings(
    instance_path: str | os.PathLike[str],
    test_config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Resolve every setting for the hub whose instance folder is ``instance_path``.

    ``config.json`` and ``test_config`` values are taken as they are (only environment
    text is read as the default's type); a bad file or value is
    :class:`protocol.settings.BadSetting`.
    """
    instance = Path(instance_path)
    values = loading.defaults(SETTINGS)
    values.update(loading.read_config_file(instance / CONFIG_FILE))
    for name, text in loading.environment_values(SETTINGS, ENV_PREFIX, environ).items():
        values[name] = _from_env(_BY_NAME[name], text)
    if test_config:
        values.update(test_config)
    if values.get("DATABASE_URL"):
        values["DATABASE"] = str(values["DATABASE_URL"])  # the store opens either
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
