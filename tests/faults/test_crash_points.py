"""Invariant 5 at each named crash point (:mod:`protocol.crashpoints`): the process
SIGKILLs itself at the worst moment, is started again on the same folder, and the day
ends with nothing lost, nothing twice and no number issued twice."""

from __future__ import annotations

import ast
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from faults.harness import RECIPIENTS, SENDER, finish_and_check, sync_answer
from protocol.crashpoints import CRASH_ENV, CRASH_LINE, CRASH_POINTS, parse_crash_spec
from scripts.faults.federation import FaultFederation, read_rows
from scripts.nodeapi import NodeAPIError

ROOT = Path(__file__).resolve().parents[2]
Start = Callable[..., FaultFederation]


# ---- the crash points themselves ----------------------------------------------------------


def test_every_crash_point_is_placed_exactly_once_in_the_code() -> None:
    placed: list[str] = []
    for package in ("protocol", "hub", "node"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "crash_point"
                ):
                    arg = node.args[0]
                    assert isinstance(arg, ast.Constant), f"{path}: name the point literally"
                    placed.append(str(arg.value))
    assert sorted(placed) == sorted(CRASH_POINTS)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("hub_push_committed", ("hub_push_committed", 1)), ("node_nightly:3", ("node_nightly", 3))],
)
def test_a_crash_spec_names_a_point_and_a_pass(spec: str, expected: tuple[str, int]) -> None:
    assert parse_crash_spec(spec) == expected


BAD_SPECS = {
    "unknown point": "hub_after_lunch",
    "count of zero": "node_nightly:0",
    "count not a number": "node_nightly:x",
    "empty": "",
}


@pytest.mark.parametrize("spec", BAD_SPECS.values(), ids=BAD_SPECS.keys())
def test_a_harness_is_told_at_once_about_a_crash_point_that_cannot_fire(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_crash_spec(spec)


def run_crash_point(point: str, spec: str | None) -> subprocess.CompletedProcess[str]:
    code = (
        "from protocol.crashpoints import crash_point\n"
        f"for _ in range(3):\n    crash_point({point!r})\n    print('passed', flush=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if spec is not None:
        env[CRASH_ENV] = spec
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_a_process_dies_of_sigkill_on_the_pass_the_spec_names() -> None:
    done = run_crash_point("node_nightly", "node_nightly:2")
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.split() == ["passed"]
    assert CRASH_LINE.format(name="node_nightly", count=2) in done.stderr


@pytest.mark.parametrize("spec", [None, "hub_push_committed", "no_such_point"])
def test_a_process_passes_a_crash_point_the_environment_does_not_name(spec: str | None) -> None:
    done = run_crash_point("node_nightly", spec)
    assert done.returncode == 0
    assert done.stdout.split() == ["passed"] * 3


# ---- the scenarios ------------------------------------------------------------------------


def feed_states(fed: FaultFederation, office: str) -> dict[str, int]:
    rows = read_rows(fed.node_db(office), "SELECT state, COUNT(*) FROM feed GROUP BY state")
    return {str(state): int(n) for state, n in rows}


def test_hub_killed_after_commit_before_answer_loses_nothing(start_federation: Start) -> None:
    fed = start_federation(hub_crash_at="hub_push_committed:2")
    sent = fed.send_letters(SENDER, RECIPIENTS, 12)  # 24 envelopes: letters and numbers

    first = fed.sync(SENDER)
    assert fed.hub is not None
    fed.wait_for_crash(fed.hub, "hub_push_committed")
    assert not first["ok"]
    # The hub committed two batches of ten; the sender heard back about one.
    assert fed.hub_count("SELECT COUNT(*) FROM feed WHERE origin = ?", (SENDER,)) == 20
    assert feed_states(fed, SENDER) == {"accepted": 10, "pending": 14}

    fed.start_hub()
    again = fed.sync(SENDER)
    assert again["ok"], again["error"]
    assert again["accepted"] == 4  # the ten it never heard about are not stored again
    assert fed.hub_count("SELECT COUNT(*) FROM feed WHERE origin = ?", (SENDER,)) == 24
    assert feed_states(fed, SENDER) == {"accepted": 24}
    finish_and_check(fed, {SENDER: sent}, {SENDER: RECIPIENTS})


def killed_mid_pull(
    start_federation: Start, victim: str, letters: int, passes: int
) -> tuple[FaultFederation, dict[int, str]]:
    """``letters`` sent to ``victim``, whose node is killed as it applies the envelope of
    pass ``passes`` of its pull; the federation and what was sent."""
    fed = start_federation(node_crash_at={victim: f"node_pull_mid_batch:{passes}"})
    sent = fed.send_letters(SENDER, RECIPIENTS, letters)
    assert fed.sync(SENDER)["ok"]
    with pytest.raises(NodeAPIError):
        fed.sync(victim)
    fed.wait_for_crash(fed.nodes[victim], "node_pull_mid_batch")
    return fed, sent


def test_node_killed_mid_pull_batch_applies_it_once(start_federation: Start) -> None:
    victim = RECIPIENTS[0]
    fed, sent = killed_mid_pull(start_federation, victim, letters=12, passes=3)
    # Three envelopes were applied inside the transaction: none of them is there.
    assert fed.incoming(victim) == []
    assert fed.node_count(victim, "SELECT COUNT(*) FROM mailbox") == 0

    fed.start_node(victim)
    finish_and_check(fed, {SENDER: sent}, {SENDER: RECIPIENTS})
    assert len(fed.incoming(victim)) == 12


def test_node_killed_in_the_second_batch_of_a_transaction_loses_nothing(
    start_federation: Start,
) -> None:
    victim = RECIPIENTS[0]
    fed, sent = killed_mid_pull(start_federation, victim, letters=25, passes=15)
    # The first batch of ten shares the second's transaction, unless the second was slow
    # to come and the first was committed alone: never part of a batch.
    kept = len(fed.incoming(victim))
    assert kept in (0, 10)
    assert fed.node_count(victim, "SELECT COUNT(*) FROM mailbox") == kept

    fed.start_node(victim)
    finish_and_check(fed, {SENDER: sent}, {SENDER: RECIPIENTS})
    assert len(fed.incoming(victim)) == 25


def test_a_pull_the_hub_stops_keeps_every_whole_batch_before_it(
    start_federation: Start,
) -> None:
    victim = RECIPIENTS[0]
    fed = start_federation()
    sent = fed.send_letters(SENDER, RECIPIENTS, 35)
    assert fed.sync(SENDER)["ok"]

    # Three answers of ten pass; the fourth meets a 5xx on the link.
    fed.proxies[victim].fail_next("delay", "/pull", count=3)
    fed.proxies[victim].fail_next("http_5xx", "/pull")
    assert not sync_answer(fed, victim)["ok"]
    assert len(fed.incoming(victim)) == 30
    assert fed.node_count(victim, "SELECT COUNT(*) FROM mailbox") == 30

    finish_and_check(fed, {SENDER: sent}, {SENDER: RECIPIENTS})
    assert len(fed.incoming(victim)) == 35


def test_node_killed_mid_blob_upload_resumes_without_sending_a_chunk_twice(
    start_federation: Start,
) -> None:
    fed = start_federation(
        node_env={"SARABAN_NODE_CHUNK_BYTES": "1000"},
        node_crash_at={SENDER: "node_blob_mid_upload:2"},
    )
    # One letter with a 5,000-byte attachment: five chunks.
    sent = fed.send_letters(SENDER, RECIPIENTS, 1, attach_every=1, attachment_bytes=5000)

    with pytest.raises(NodeAPIError):
        fed.sync(SENDER)
    fed.wait_for_crash(fed.nodes[SENDER], "node_blob_mid_upload")
    parts = list((fed.hub_dir / "blobs").rglob("*.part"))
    assert [p.stat().st_size for p in parts] == [2000]
    assert fed.hub_letters_from(SENDER) == 0, "a letter went out before its attachment"

    proxy = fed.proxies[SENDER]
    puts_before = proxy.requests_to("PUT", "/blobs/")
    fed.start_node(SENDER)
    assert fed.sync(SENDER)["ok"]
    assert proxy.requests_to("PUT", "/blobs/") - puts_before == 3
    finish_and_check(fed, {SENDER: sent}, {SENDER: RECIPIENTS})
    for office in RECIPIENTS:
        assert fed.node_count(office, "SELECT COUNT(*) FROM attachments WHERE present = 1") == 1


def test_node_killed_between_number_and_envelope_reissues_no_number(
    start_federation: Start,
) -> None:
    fed = start_federation(node_crash_at={SENDER: "node_number_before_envelope:4"})
    sent = fed.send_letters(SENDER, RECIPIENTS, 3)
    with pytest.raises(NodeAPIError):  # the clerk's fourth send is never confirmed
        fed.send_letters(SENDER, RECIPIENTS, 1)
    fed.wait_for_crash(fed.nodes[SENDER], "node_number_before_envelope")

    fed.start_node(SENDER)
    sent.update(fed.send_letters(SENDER, RECIPIENTS, 3))
    numbers = [fed.api(SENDER).call("GET", f"/api/letters/{i}")["number"] for i in sorted(sent)]
    assert numbers == [f"{SENDER}/{n}" for n in range(1, 7)]
    finish_and_check(fed, {SENDER: sent}, {SENDER: RECIPIENTS})
    ledger = fed.hub_rows("SELECT number FROM ledger WHERE office = ? ORDER BY number", (SENDER,))
    assert [n for (n,) in ledger] == [1, 2, 3, 4, 5, 6]


NIGHTLY = """
import json, sys
from node.context import NodeContext
from node.sync.jobs import nightly
print(json.dumps(nightly(NodeContext.load(sys.argv[1])), default=str))
"""


def run_nightly(
    fed: FaultFederation, office: str, crash_at: str = ""
) -> subprocess.CompletedProcess[str]:
    """The node's nightly job, run as a process of its own beside the serving node."""
    env = {**os.environ, **fed.node_env, CRASH_ENV: crash_at}
    return subprocess.run(
        [sys.executable, "-c", NIGHTLY, str(fed.instance(office))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_node_killed_during_nightly_job_loses_nothing(start_federation: Start) -> None:
    fed = start_federation()
    sent = fed.send_letters(SENDER, RECIPIENTS, 5)

    crashed = run_nightly(fed, SENDER, crash_at="node_nightly")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-800:]
    assert CRASH_LINE.format(name="node_nightly", count=1) in crashed.stderr
    fed.injected["crash point node_nightly"] += 1
    assert fed.hub_letters_from(SENDER) == 5  # the nightly sync went through before the kill
    assert not (fed.instance(SENDER) / "backups").exists()

    done = run_nightly(fed, SENDER)
    assert done.returncode == 0, done.stderr[-800:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["sync"]["ok"] and report["digest_mismatches"] == []
    with closing(sqlite3.connect(report["backup"])) as backup:
        assert backup.execute("SELECT COUNT(*) FROM letters").fetchone() == (5,)
    finish_and_check(fed, {SENDER: sent}, {SENDER: RECIPIENTS})
