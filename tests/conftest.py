"""Fixtures shared by every test module: one chromium for all browser tests, one throwaway
PostgreSQL server per pytest worker with a fresh database for each test that asks, a movable
clock, a hub with console operators (a module may define its own ``hub``), a hand-made
directory for nodes that never see a hub, and a real hub with enrolled nodes.

The hypothesis profile is chosen by ``SARABAN_HYPOTHESIS_PROFILE``: ``make-test`` for
``make test`` (hypothesis's defaults without its deadline and speed check), ``fuzz`` for
``make fuzz`` (many more examples for every property, no deadline)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_support import add_operators, console_login
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from jinja2.bccache import Bucket, BytecodeCache
from support import Clock
from test_hub_support import Hub
from test_node_support import Federation, PaperHub, federation
from web_support import CHROMIUM
from werkzeug.routing import Rule

from hub.store.postgres import close_pools
from hub.store.sqlite_pool import close_idle
from scripts.pgcluster import (
    ServerNotInstalled,
    drop_database,
    fresh_database,
    server_bindir,
    throwaway_cluster,
)

FUZZ_EXAMPLES = 50_000
"""Examples per property under ``make fuzz``."""

settings.register_profile(
    "fuzz",
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("make-test", deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Hypothesis's defaults without its timings: on a loaded 2-core machine a property failed
because drawing one input took 1.1 s (``too_slow``); speed is ``make bench``'s business."""
settings.load_profile(os.environ.get("SARABAN_HYPOTHESIS_PROFILE", "make-test"))


def _share_url_builders() -> None:
    """Let equal routes of the many apps the tests create share werkzeug's URL builders.

    For each route of a Flask app werkzeug writes two URL-building functions as Python
    syntax trees and compiles them: half the time it takes to create a hub or a node app
    (0.3 ms a builder, a hundred routes an app), and the tests create thousands of apps.
    A builder depends only on the rule's parsed parts, its defaults and, for a default in
    a variable part, that part's converter, so rules equal in those share one (each rule
    still binds it to itself). Served processes and ``make demo`` are not touched.
    """
    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:  # another werkzeug: every app compiles its own
        return
    builders: dict[tuple[Any, ...], Any] = {}

    def shared(self: Rule, append_unknown: bool = True) -> Any:
        key = (
            append_unknown,
            self.rule,
            tuple(self._trace),
            tuple(sorted((k, repr(v)) for k, v in (self.defaults or {}).items())),
            tuple((k, type(c)) for k, c in sorted(self._converters.items())),
        )
        builder = builders.get(key)
        if builder is None:
            builder = builders[key] = compile_builder(self, append_unknown)
        return builder

    Rule._compile_builder = shared  # type: ignore[method-assign]


_share_url_builders()


class _SharedTemplateCode(BytecodeCache):
    """Jinja's compiled templates, kept in memory for every app of the test process.

    Each Flask app has a Jinja environment of its own, which compiles a page's template
    the first time it renders it (tens of milliseconds for the larger pages); the tests
    render the same templates in thousands of apps. A template is found by its file and
    checked against its source, as Jinja's file cache does.
    """

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _SharedTemplateCode()}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright, launched once per run."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a throwaway PostgreSQL server (scripts/pgcluster.py), one per worker.

    Skipped when Debian's server is not installed, except in CI (``CI`` set), where that
    fails: CI never skips the PostgreSQL tests silently."""
    try:
        server_bindir()
    except ServerNotInstalled as e:
        if os.environ.get("CI"):
            pytest.fail(str(e))
        pytest.skip(str(e))
    with throwaway_cluster() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """The URL of a new empty database on the worker's server, dropped after the test."""
    url = fresh_database(postgres_server, f"t_{uuid.uuid4().hex}")
    try:
        yield url
    finally:
        drop_database(url)


BACKEND_ENV = "SARABAN_TEST_HUB_BACKEND"
"""``postgresql`` runs every hub of every test (in the test's process or a process it starts)
on a fresh PostgreSQL database of its own (`make pytest-postgresql`); unset, the hubs use
their SQLite files, and the modules of :data:`BOTH_ENGINES` run twice, once on each."""

BOTH_ENGINES = frozenset(
    {
        "test_hub_api.py",
        "test_hub_numbering.py",
        "test_hub_processes.py",
        "test_portal_search.py",
        "faults/test_hub_processes.py",
        "faults/test_crash_points.py::test_hub_killed_after_commit_before_answer_loses_nothing",
    }
)
"""The hub's store and federation tests that `make test` runs on both engines (a module, or
one test of it): enrollment, pushes, pulls, receipts and routing, the numbering authority
and its leases, the portal's search (final numbers included), the hub killed after
committing a push, two hub processes on one database."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test of :data:`BOTH_ENGINES` once on SQLite, once on PostgreSQL."""
    module = Path(str(metafunc.definition.fspath)).relative_to(Path(__file__).parent)
    named = {module.as_posix(), f"{module.as_posix()}::{metafunc.function.__name__}"}
    if "hub_backend" in metafunc.fixturenames and named & BOTH_ENGINES:
        if os.environ.get(BACKEND_ENV, "sqlite") == "sqlite":
            metafunc.parametrize("hub_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(autouse=True)
def hub_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The hub's engine for this test (:data:`BACKEND_ENV`, or the module's turn of
    :data:`BOTH_ENGINES`). On PostgreSQL, every hub the test creates finds its database in
    ``SARABAN_HUB_DATABASE_URL``; a test of what only the SQLite store has (its file, an
    older file's upgrade, a hub shared by a module's tests) is marked ``sqlite_only`` and
    skipped there."""
    engine = getattr(request, "param", None) or os.environ.get(BACKEND_ENV, "sqlite")
    if engine != "postgresql":
        # The connections an in-process hub kept open end with the test, not the worker.
        request.addfinalizer(close_idle)
        return "sqlite"
    marker = request.node.get_closest_marker("sqlite_only")
    if marker is not None:
        pytest.skip(f"SQLite only: {marker.args[0] if marker.args else 'the hub file'}")
    url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("SARABAN_HUB_DATABASE_URL", url)
    request.addfinalizer(close_pools)  # before the database is dropped
    return "postgresql"


@pytest.fixture
def clock() -> Clock:
    """A clock the test moves by hand."""
    return Clock()


@pytest.fixture
def hub(tmp_path: Path, clock: Clock) -> Hub:
    """A hub in ``tmp_path`` with the console operators of tests/console_support.py."""
    h = Hub(tmp_path, clock)
    add_operators(h)
    return h


@pytest.fixture
def ops(hub: Hub) -> FlaskClient:
    """A console client signed in as an operator."""
    return console_login(hub)


@pytest.fixture
def paper() -> PaperHub:
    """A hub signing key and directory made by hand (``offline_node``, ``publish``)."""
    return PaperHub()


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[Federation]:
    """A real hub on 127.0.0.1, on a clock of its own, ready to enroll nodes."""
    with federation(tmp_path, Clock()) as f:
        yield f
