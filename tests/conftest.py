"""Fixtures shared by every test module: one chromium for all browser tests, a movable
clock, a hub with console operators (a module may define its own ``hub``), a hand-made
directory for nodes that never see a hub, and a real hub with enrolled nodes.

The hypothesis profile is chosen by ``SARABAN_HYPOTHESIS_PROFILE``: ``default`` for
``make test``, ``fuzz`` for ``make fuzz`` (many more examples for every property, no
deadline)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_support import add_operators, console_login
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from support import Clock
from test_hub_support import Hub
from test_node_support import Federation, PaperHub, federation
from web_support import CHROMIUM

FUZZ_EXAMPLES = 50_000
"""Examples per property under ``make fuzz``."""

settings.register_profile(
    "fuzz",
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("SARABAN_HYPOTHESIS_PROFILE", "default"))


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
