"""How an operator action reaches a hub instance, and how it refuses.

Every operator action takes the instance folder (or a hub Flask app) and an optional
``now`` (Unix seconds; the wall clock when omitted, :func:`action_time`). Most also take an
optional ``store``: the console passes its own connection so that the change, the
directory that announces it and the operator's action record commit together (the
action's ``store.write()`` joins the caller's transaction). Without one, the action opens
the instance's database itself (the command line): :func:`open_for_action`.

Refusals are :class:`AdminRefused`: an English reason for logs and a Thai message that the
console shows and the command line prints.

Does not: carry out any action itself (the other modules of :mod:`hub.admin`), print, or
parse arguments.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

from hub.config import load_settings
from hub.errors import AdminError, ConsoleError
from hub.store import HubStore, database_exists
from hub.store.modes import check_file_modes

Instance = str | Path | Flask
"""A hub instance as the operator names it: its folder, or the Flask app serving it."""


class AdminRefused(ConsoleError, AdminError):
    """An operator action refused, with the Thai message the operator reads (an
    :class:`AdminError` for the callers that catch those)."""


def _instance_and_settings(instance: Instance) -> tuple[Path, dict[str, Any]]:
    if isinstance(instance, Flask):
        return Path(instance.instance_path), dict(instance.config)
    path = Path(instance)
    return path, load_settings(path)


@contextmanager
def open_hub(
    instance: Instance, create: bool = False
) -> Iterator[tuple[Path, dict[str, Any], HubStore]]:
    """``(instance path, settings, store)`` of a hub instance; the store is closed after.

    Opened by folder (the command line), the instance is started as the server starts it:
    its file modes are checked, with a warning in the log for anything others may read
    (:mod:`hub.store.modes`), and an existing database gets the columns this version adds.
    """
    path, settings = _instance_and_settings(instance)
    by_folder = not isinstance(instance, Flask)  # a running app did both when it started
    if by_folder:
        check_file_modes(path, settings)
        create = create or database_exists(settings["DATABASE"])
    store = HubStore.open(settings["DATABASE"], create=create)
    try:
        yield path, settings, store
    finally:
        store.close()


@contextmanager
def open_for_action(
    instance: Instance, store: HubStore | None
) -> Iterator[tuple[Path, dict[str, Any], HubStore]]:
    """Like :func:`open_hub`, but on the caller's ``store`` (left open) when given."""
    if store is None:
        with open_hub(instance) as opened:
            yield opened
        return
    path, settings = _instance_and_settings(instance)
    yield path, settings, store


def action_time(now: float | None) -> float:
    """``now``, or the wall clock when the caller gave none."""
    return time.time() if now is None else now
