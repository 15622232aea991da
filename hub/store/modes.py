"""Whether the hub's files are its owner's only, checked when the hub starts.

The hub creates its instance folder 0700 and every file in it 0600
(:mod:`protocol.filemodes`). What is wider (a folder copied back from a backup, a file
made by hand or by an older version) is named in one warning in the log, with the command
that fixes it, each time the hub's app is built (``saraban hub serve``) and each time a
``saraban hub`` command opens the instance. Of the attachment bytes, the folder and a
sample of its files are looked at (:func:`protocol.filemodes.too_open`).

Does not: refuse to start, or change any mode itself: the fix is the operator's to run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub.store.postgres import is_postgres
from protocol.filemodes import too_open, too_open_warning

log = logging.getLogger(__name__)


def hub_paths(instance: Path, settings: Mapping[str, Any]) -> list[Path]:
    """What the hub keeps: its instance folder, its database (with its WAL), attachment
    bytes and reports, wherever the settings put them."""
    paths = [instance]
    if not is_postgres(settings["DATABASE"]):  # a PostgreSQL database is the server's
        db = Path(settings["DATABASE"])
        paths += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return paths + [Path(settings[name]) for name in ("BLOB_DIR", "REPORT_DIR")]


def check_file_modes(instance: Path, settings: Mapping[str, Any]) -> str | None:
    """Log a warning naming every file or folder of the hub that others may read, and the
    command that fixes them; return it (None when all is the owner's only)."""
    roots = hub_paths(instance, settings)
    found = too_open(roots, sampled=[Path(settings["BLOB_DIR"])])
    if not found:
        return None
    warning = too_open_warning(found, roots)
    log.warning("%s", warning)
    return warning
