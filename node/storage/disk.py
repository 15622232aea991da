"""Whether the node can write its data now: a full or read-only disk, said once.

A disk that fills up, or is remounted read-only, or a data folder whose permissions were
taken away, shows itself as an error of SQLite (``database or disk is full``, ``attempt to
write a readonly database``, ``unable to open database file``) or of the operating system
(``ENOSPC``, ``EROFS``, ``EACCES``). :func:`refusal_for` turns such an error into the
refusal a clerk reads (:class:`node.errors.DiskFull`, :class:`node.errors.DiskReadOnly`);
any other error is not this module's business.

A condition is kept per *place* (the database file, or the instance folder for the
attachment bytes and the high-water sidecar), in this process: :func:`report` logs one
line when a condition starts (or changes kind), :func:`clear` one line when a write in that
place goes through again (for a full disk, with room to spare: :data:`FREE_TO_RESUME`), and
nothing in between, however many requests are refused.
:func:`conditions` is what the clerk's pages and ``saraban node status`` show.

Does not: open databases or files (:mod:`node.storage.store`, :mod:`node.storage.blobs`).
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from node.errors import CannotWrite, DiskFull, DiskReadOnly

log = logging.getLogger(__name__)

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
FULL_SQLITE = frozenset({"SQLITE_FULL", "SQLITE_IOERR_SHMSIZE"})
"""SQLite errors of a full disk; the WAL's shared-memory file that cannot grow is one."""
READ_ONLY_SQLITE = ("SQLITE_READONLY", "SQLITE_CANTOPEN")
"""SQLite error names (extended ones start with these) of a disk that cannot be written."""


NO_ROOM = 64 * 1024
"""Bytes free below which a disk counts as full when a write has failed."""
FREE_TO_RESUME = 2 * 1024 * 1024
"""Bytes a full disk must have free again before a write that went through ends the
condition: a nearly full disk takes some writes and refuses others, and the log should
say so once, not at every turn."""


@dataclass(frozen=True)
class Condition:
    """One place that cannot be written now."""

    place: str
    kind: type[CannotWrite]
    detail: str
    folder: str

    @property
    def code(self) -> str:
        return self.kind.code

    @property
    def message_th(self) -> str:
        return self.kind.banner_th


_LOCK = threading.Lock()
_CONDITIONS: dict[str, Condition] = {}


def database_place(path: str | Path) -> str:
    """The place of a database file."""
    return f"database {os.path.abspath(path)}"


def files_place(instance: str | Path) -> str:
    """The place of an instance folder's files (attachment bytes, high-water sidecar)."""
    return f"files {os.path.abspath(instance)}"


def _folder(place: str) -> str:
    kind, _, path = place.partition(" ")
    return os.path.dirname(path) if kind == "database" else path


def _free_bytes(folder: str) -> int | None:
    stat = _statvfs(folder)
    return None if stat is None else stat.f_bavail * stat.f_frsize


def _statvfs(folder: str) -> os.statvfs_result | None:
    try:
        return os.statvfs(folder)
    except (AttributeError, OSError):  # Windows, or the folder is gone
        return None


def kind_of(error: BaseException) -> type[CannotWrite] | None:
    """:class:`DiskFull` or :class:`DiskReadOnly` when ``error`` says the disk cannot be
    written, else None."""
    if isinstance(error, CannotWrite):
        return type(error)
    if isinstance(error, OSError):
        if error.errno in FULL_ERRNOS:
            return DiskFull
        if error.errno in READ_ONLY_ERRNOS:
            return DiskReadOnly
        return None
    if isinstance(error, sqlite3.Error):
        name = getattr(error, "sqlite_errorname", "") or ""
        text = str(error).lower()
        if name in FULL_SQLITE or "disk is full" in text:
            return DiskFull
        if name.startswith(READ_ONLY_SQLITE) or "readonly database" in text:
            return DiskReadOnly
    return None


def _disk_says(folder: str) -> type[CannotWrite] | None:
    # SQLite names the same full disk differently from one connection to the next (it
    # cannot grow the WAL's shared memory, then takes the file for read-only); the file
    # system says plainly whether it is mounted read-only or has no room left.
    stat = _statvfs(folder)
    if stat is None:
        return None
    if stat.f_flag & getattr(os, "ST_RDONLY", 1):
        return DiskReadOnly
    if stat.f_bavail * stat.f_frsize < NO_ROOM:
        return DiskFull
    return None


def refusal_for(error: BaseException, place: str) -> CannotWrite | None:
    """The clerk's refusal for ``error`` in ``place`` (the condition is reported), or None
    when the error is not about the disk."""
    kind = kind_of(error)
    if kind is None:
        return None
    kind = _disk_says(_folder(place)) or kind
    detail = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    report(place, kind, detail)
    return kind(f"cannot write {place}: {detail}")


def report(place: str, kind: type[CannotWrite], detail: str) -> None:
    """Remember that ``place`` cannot be written; log it when the condition is new."""
    with _LOCK:
        held = _CONDITIONS.get(place)
        if held is not None and held.kind is kind:
            return
        _CONDITIONS[place] = Condition(place, kind, detail, _folder(place))
    log.warning(
        "%s: %s (%s); writes are refused until this is fixed, reads go on",
        place,
        kind.code,
        detail,
    )


def clear(place: str, kind: type[CannotWrite] | None = None) -> None:
    """``place`` was written again (only a condition of ``kind``, when given, is over)."""
    with _LOCK:
        held = _CONDITIONS.get(place)
        if held is None or (kind is not None and held.kind is not kind):
            return
        if held.kind is DiskFull:
            free = _free_bytes(held.folder)
            if free is not None and free < FREE_TO_RESUME:
                return
        del _CONDITIONS[place]
    log.warning("%s: writable again (%s is over)", place, held.code)


def conditions(*places: str) -> list[Condition]:
    """The conditions of these places now, in the order given."""
    with _LOCK:
        return [_CONDITIONS[p] for p in places if p in _CONDITIONS]
