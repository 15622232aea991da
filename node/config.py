"""The node's settings: one table of names, defaults and help lines.

Values are loaded in this order, each overriding the one before: the defaults below, the
instance folder's ``config.json``, environment variables ``SARABAN_NODE_<NAME>``, and a
``test_config`` mapping; the steps are :mod:`protocol.settings`, the same as the hub's.
:data:`SETTINGS` is what the README lists.

``SECURE_COOKIES`` is for a node whose pages are reached over HTTPS (a TLS proxy in front
of it): the browser then sends the session cookie over TLS only. Left off, the cookie also
travels over plain HTTP, as the office intranet usually serves it.

This module reads files and the environment (and writes ``config.json``, mode 0600); it
does not open the database.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from node.errors import BadInput
from protocol import settings as loading
from protocol.api import MAX_CHUNK
from protocol.filemodes import private_folder, private_opener
from protocol.settings import CONFIG_FILE, BadSetting, Setting

ENV_PREFIX = "SARABAN_NODE_"

SETTINGS: tuple[Setting, ...] = (
    Setting("HUB_URL", "", "Base URL of the hub, e.g. https://saraban.moi.go.th (set at init)."),
    Setting("OFFICE", "", "This office's id (its letter code, e.g. 'ชม 0017'; set at init)."),
    Setting("DATABASE", "", "SQLite file; empty means <instance>/node.sqlite."),
    Setting("SYNC_INTERVAL_MINUTES", 5, "Minutes between scheduled syncs while the node runs."),
    Setting(
        "WATCH_SECONDS",
        3.0,
        "Seconds between wake-up checks with the hub (ADR 0016); 0 leaves only the schedule.",
    ),
    Setting(
        "SEARCH_INDEX_SECONDS",
        1.0,
        "Longest a search spends indexing letters just stored before it answers (ADR 0019).",
    ),
    Setting("NIGHTLY_AT", "02:30", "Bangkok time (HH:MM) of the nightly catch-up and backup."),
    Setting("PUSH_BATCH", 200, "Envelopes per push request."),
    Setting("PULL_BATCH", 250, "Envelopes asked for per pull request."),
    Setting("BACKOFF_BASE_SECONDS", 2.0, "First retry delay after a failed sync."),
    Setting("BACKOFF_CAP_SECONDS", 600.0, "Longest retry delay after repeated failures."),
    Setting("HTTP_TIMEOUT_SECONDS", 20.0, "Timeout of one request to the hub."),
    Setting(
        "DIRECTORY_MAX_AGE_DAYS",
        7.0,
        "Warn of a frozen directory: the hub answers but its directory is older than this"
        " (the hub signs it again daily); 0 never warns.",
    ),
    Setting("LEASE_SIZE", 10, "Numbers asked for per lease of a shared register."),
    Setting("BACKUP_KEEP", 7, "Nightly database backups kept in <instance>/backups/."),
    Setting(
        "MAX_UPLOAD_BYTES",
        50 * 1024 * 1024,
        "Largest request carrying files (compose, paper letter, API letters); others 256 KB.",
    ),
    Setting("CHUNK_BYTES", MAX_CHUNK, "Attachment bytes per upload request to the hub."),
    Setting("SCHEDULER", True, "Run the sync and nightly jobs inside the node process."),
    Setting(
        "YEAR_BASIS",
        {},
        'Year basis per series, e.g. {"ส่ง": "fiscal"}; unlisted series use \'calendar\'.',
    ),
    Setting(
        "UNIT_CODES",
        {},
        'Display code per series when it differs from the office id, e.g. {"ส่ง": "ชม 0017.3"}.',
    ),
    Setting(
        "ISSUER",
        "",
        "Issuer named in order/announcement numbers, e.g. 'จังหวัดเชียงใหม่'.",
    ),
    Setting(
        "DISPATCH_METHODS",
        [
            "ไปรษณีย์ลงทะเบียน",
            "ไปรษณีย์ลงทะเบียนตอบรับ",
            "ไปรษณีย์ด่วนพิเศษ (EMS)",
            "ไปรษณีย์ธรรมดา",
            "เจ้าหน้าที่นำส่ง",
            "โทรสาร",
            "ไปรษณีย์อิเล็กทรอนิกส์",
        ],
        "How paper letters may be dispatched (the clerk picks one when sending).",
    ),
    Setting(
        "RETENTION_DEFAULT",
        "10",
        "Years a kept letter is kept when no class is given ('never' = ห้ามทำลาย).",
    ),
    Setting(
        "RETENTION_BY_TYPE",
        {"ประทับตรา": "1"},
        'Retention per letter type or sub-type (sub-type wins), e.g. {"คำสั่ง": "never"}.',
    ),
    Setting(
        "RETENTION_EXTEND_YEARS",
        5,
        "Years the destruction committee adds, from the list's year, to a letter it keeps.",
    ),
    Setting("LOAN_DAYS", 7, "Days a borrowed kept letter is due back when no date is given."),
    Setting(
        "PRINT_FONT",
        "",
        "TTF file to print PDFs with; empty: Sarabun (fontpkg-sarabun), else Debian's Laksaman.",
    ),
    Setting("SESSION_MINUTES", 480, "Minutes a clerk's web session may sit idle before login."),
    Setting(
        "SECURE_COOKIES",
        False,
        "Mark the session cookie Secure: turn on when the pages are reached over HTTPS (TLS).",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def load_settings(
    instance: Path,
    test_config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Every setting's value for the node in ``instance``, following the override order.

    Every value is read as its default's type, from the file and ``test_config`` too; names
    the table does not know are ignored in the file and kept from ``test_config``. A bad
    file or value is :class:`BadInput` (``bad_config``).
    """
    values = loading.defaults(SETTINGS)
    try:
        for name, value in loading.read_config_file(instance / CONFIG_FILE).items():
            if name in _BY_NAME:
                values[name] = loading.parse_setting(_BY_NAME[name], value)
        for name, text in loading.environment_values(SETTINGS, ENV_PREFIX, environ).items():
            values[name] = loading.parse_setting(_BY_NAME[name], text)
        for name, value in (test_config or {}).items():
            setting = _BY_NAME.get(name)
            values[name] = value if setting is None else loading.parse_setting(setting, value)
    except BadSetting as e:
        raise BadInput(str(e), code="bad_config") from e
    if not values["DATABASE"]:
        values["DATABASE"] = str(instance / "node.sqlite")
    return values


def write_instance_config(instance: Path, updates: Mapping[str, Any]) -> None:
    """Merge ``updates`` into ``<instance>/config.json``."""
    path = instance / CONFIG_FILE
    current: dict[str, Any] = {}
    if path.exists():
        current = json.loads(path.read_text(encoding="utf-8"))
    current.update(updates)
    tmp = path.with_suffix(".json.tmp")
    private_folder(instance)
    with open(tmp, "w", encoding="utf-8", opener=private_opener) as f:
        f.write(json.dumps(current, ensure_ascii=False, indent=2) + "\n")
    os.replace(tmp, path)


def settings_table() -> list[tuple[str, Any, str]]:
    """Every setting as ``(name, default, help)``, for the README and ``--help``."""
    return loading.settings_table(SETTINGS)
