"""The hub's PostgreSQL server lost in the middle of a push, and its streaming standby
promoted in its place (docs/operations.md): the hub answers 503 meanwhile, the nodes retry,
and once the standby accepts writes the federation is whole again, even though the
standby had not received the last commits the old primary acknowledged (replication is
asynchronous): the offices give the hub back what it lost, as after a restore."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from faults.harness import RECIPIENTS, SENDER, finish_and_check
from hub.store.postgres import close_pools
from scripts.faults.federation import FaultFederation, wait_for
from scripts.faults.proxy import FaultPlan
from scripts.nodeapi import NodeAPIError
from scripts.pgcluster import REPLICATED_SETTINGS, Cluster, throwaway_server

Start = Callable[..., FaultFederation]


@pytest.fixture
def primary_and_standby(postgres_server: str) -> Iterator[tuple[Cluster, Cluster]]:
    """A primary and a hot standby following it (``postgres_server`` only to skip or fail
    where PostgreSQL is not installed)."""
    folder = Path(tempfile.mkdtemp(prefix="saraban-standby-"))
    with throwaway_server(settings=REPLICATED_SETTINGS) as primary:
        standby = primary.standby(folder)
        try:
            yield primary, standby
        finally:
            close_pools()
            standby.stop()
            shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.sqlite_only("a PostgreSQL primary and standby of its own")
def test_a_failover_to_the_standby_mid_push_loses_nothing(
    start_federation: Start,
    primary_and_standby: tuple[Cluster, Cluster],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    primary, standby = primary_and_standby
    hosts = f"127.0.0.1:{primary.port},127.0.0.1:{standby.port}"
    url = f"postgresql://saraban@{hosts}/saraban?target_session_attrs=read-write"
    monkeypatch.setenv("SARABAN_HUB_DATABASE_URL", url)
    fed = start_federation()
    sent = fed.send_letters(SENDER, RECIPIENTS, 12)  # 24 envelopes: three pushes of ten
    # Each push a little late, so that the primary dies between two of them.
    fed.proxies[SENDER].set_plan(
        FaultPlan({"delay": 1.0}, paths=("/push",), delay_seconds=(0.3, 0.4))
    )

    answers: list[Any] = []

    def sync() -> None:
        try:
            answers.append(fed.sync(SENDER))
        except NodeAPIError as e:
            answers.append(e)

    pushing = threading.Thread(target=sync)
    pushing.start()
    letters = "SELECT COUNT(*) FROM feed WHERE origin = ?"
    wait_for("the hub committed a push", lambda: fed.hub_count(letters, (SENDER,)) >= 10)
    primary.halt()
    pushing.join(timeout=120)
    assert answers and not (isinstance(answers[0], dict) and answers[0]["ok"])

    # No server accepts writes: the hub says so with 503 and the node keeps its outbox.
    refused = fed.sync(SENDER)
    assert not refused["ok"]
    assert fed.status(SENDER)["outbox"] > 0

    standby.promote()
    fed.proxies[SENDER].heal()
    finish_and_check(fed, {SENDER: sent}, {SENDER: RECIPIENTS})
    assert fed.hub_count(letters, (SENDER,)) == 24
