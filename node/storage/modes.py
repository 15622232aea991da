"""Whether a node's files are its owner's only, checked when the node starts.

The node creates its instance folder 0700 and every file in it 0600
(:mod:`protocol.filemodes`). What is wider (a folder copied back from a backup, a file
made by hand or by an older version) is named in one warning in the log, with the command
that fixes it, each time the node's app is built (``saraban node serve`` and every
``saraban`` command that opens the node). Of the attachment bytes, every folder and a
sample of the files of each are looked at (:func:`protocol.filemodes.too_open`).

Does not: refuse to start, or change any mode itself: the fix is the operator's to run.
"""

from __future__ import annotations

import logging
from pathlib import Path

from protocol.filemodes import too_open, too_open_warning

log = logging.getLogger(__name__)

BLOB_FOLDER = "blobs"
"""The folder of attachment bytes in the instance (:meth:`node.context.NodeContext.blob_dir`)."""


def node_paths(instance: Path, database: str | Path) -> list[Path]:
    """What a node keeps: its instance folder and its database (with its WAL), wherever
    the ``DATABASE`` setting puts it."""
    db = Path(database)
    return [instance, db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]


def check_file_modes(instance: Path, database: str | Path) -> str | None:
    """Log a warning naming every file or folder of the node that others may read, and the
    command that fixes them; return it (None when all is the owner's only)."""
    roots = node_paths(instance, database)
    found = too_open(roots, sampled=[instance / BLOB_FOLDER])
    if not found:
        return None
    warning = too_open_warning(found, roots)
    log.warning("%s", warning)
    return warning
