"""Files for their owner only: how the hub and a node create what they keep, and the check.

An instance folder holds private keys, databases, letters' bytes and backups: nobody but
the account that runs the hub or the node may read them. Everything either makes there is
created owner-only from the start, folders 0700 (:func:`private_folder`) and files 0600
(:func:`create_private_file`, or ``open(path, mode, opener=private_opener)``), never made
wider first and narrowed after. SQLite gives a database's ``-wal`` and ``-shm`` files the
mode of the database file, so creating that file 0600 before SQLite opens it covers them.

:func:`too_open` walks an instance and finds what is wider than that (made by hand, copied,
restored from a backup, or left by an older version), looking at a sample of the files of
each folder of attachment bytes so that it stays quick however many letters there are;
:func:`too_open_warning` says so in one line with the command that fixes it. Both apps log
that line when they start.

Does not: log, refuse to start, or change the mode of anything it did not create.
"""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PRIVATE_FOLDER = 0o700
"""The mode of every folder the hub or a node creates."""

PRIVATE_FILE = 0o600
"""The mode of every file the hub or a node creates."""

OTHERS = stat.S_IRWXG | stat.S_IRWXO
"""The permission bits of the group and of everyone else: none may be set."""

NAMED_AT_MOST = 10
"""Paths a warning names before it only counts the rest."""

SAMPLED_FILES = 20
"""Files :func:`too_open` looks at in each folder of attachment bytes."""


def private_folder(path: Path) -> Path:
    """Create the folder ``path`` and each missing parent with mode 0700; return ``path``.

    A folder that exists already is left as it is (the start-time check reports it when it
    is wider).
    """
    missing: list[Path] = []
    at = path
    while not at.exists() and at.parent != at:
        missing.append(at)
        at = at.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(PRIVATE_FOLDER)
        except FileExistsError:  # another process made it a moment ago
            pass
    return path


def private_opener(path: str, flags: int) -> int:
    """An ``opener`` for :func:`open` that creates a missing file with mode 0600."""
    return os.open(path, flags, PRIVATE_FILE)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (and its folder 0700) unless it exists."""
    if path.exists():
        return
    private_folder(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))


@dataclass(frozen=True)
class TooOpen:
    """A file or folder that the group or other users may use, and its permission bits."""

    path: Path
    mode: int

    def __str__(self) -> str:
        return f"{self.path} ({self.mode:04o})"


def _wider(path: str, info: os.stat_result) -> TooOpen | None:
    if stat.S_ISLNK(info.st_mode) or not info.st_mode & OTHERS:
        return None
    return TooOpen(Path(path), stat.S_IMODE(info.st_mode))


def too_open(roots: Iterable[Path], sampled: Iterable[Path] = ()) -> list[TooOpen]:
    """Every file and folder at or under ``roots`` that the group or others may use.

    Under a ``sampled`` folder (attachment bytes: up to millions of files, all made alike)
    every folder is looked at but only the first :data:`SAMPLED_FILES` files of each, so
    the check takes moments however many letters there are: a folder 0700 keeps its files
    from others whatever their modes, and a copy that widened some widened them all.
    Symbolic links are not followed (their own mode means nothing); a root that does not
    exist is skipped, and one under another root is walked once.
    """
    roots = list(dict.fromkeys(roots))
    outer = [r for r in roots if not any(o != r and o in r.parents for o in roots)]
    thin = {str(p) for p in sampled}
    found: list[TooOpen] = []
    for root in outer:
        try:
            info = root.lstat()
        except OSError:  # absent (a WAL between connections), or not ours to look at
            continue
        if (wide := _wider(str(root), info)) is not None:
            found.append(wide)
        if stat.S_ISDIR(info.st_mode):
            found.extend(_wider_inside(str(root), thin))
    return sorted(found, key=lambda t: str(t.path))


def _wider_inside(top: str, thin: set[str]) -> Iterator[TooOpen]:
    """What is wider under the folder ``top``: a walk of its own, by ``os.scandir``, since
    one ``lstat`` per entry is all it costs."""
    folders = [(top, top in thin)]
    while folders:
        folder, sampling = folders.pop()
        files = 0
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for entry in entries:
                is_folder = entry.is_dir(follow_symlinks=False)
                if sampling and not is_folder:
                    files += 1
                    if files > SAMPLED_FILES:
                        continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if (wide := _wider(entry.path, info)) is not None:
                    yield wide
                if is_folder:
                    folders.append((entry.path, sampling or entry.path in thin))


def fix_command(found: Iterable[TooOpen], roots: Iterable[Path]) -> str:
    """The shell command that makes everything in ``found`` its owner's only: ``chmod -R
    go-rwx`` on each root that holds some of it (a root inside another is left out)."""
    paths = [t.path for t in found]
    holding = [r for r in roots if any(p == r or r in p.parents for p in paths)]
    outer = [r for r in holding if not any(o != r and o in r.parents for o in holding)]
    targets = list(dict.fromkeys(outer))
    return "chmod -R go-rwx " + " ".join(shlex.quote(str(t)) for t in targets)


def too_open_warning(found: list[TooOpen], roots: Iterable[Path]) -> str:
    """One line naming what ``found`` holds (the first :data:`NAMED_AT_MOST`) and the fix."""
    roots = list(roots)
    named = ", ".join(str(t) for t in found[:NAMED_AT_MOST])
    more = len(found) - NAMED_AT_MOST
    if more > 0:
        named += f" and {more} more"
    return (
        f"{len(found)} file(s) or folder(s) can be read by other users of this machine: "
        f"{named}; make them the owner's only with: {fix_command(found, roots)}"
    )
