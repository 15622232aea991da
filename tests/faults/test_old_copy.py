"""A node started again from an old copy of its folder (a backup, a copied disk) while
its link to the hub is down: it numbers letters the office already numbered. At the
first contact the node must give way to what the hub holds, and no number may end up
issued twice."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from faults.harness import RECIPIENTS, SENDER, assert_tracking_registered, assert_whole
from scripts.faults.federation import FaultFederation, read_rows

Start = Callable[..., FaultFederation]


def test_node_started_offline_from_an_old_copy_of_its_folder_reissues_no_number(
    start_federation: Start, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fed = start_federation()
    sent = set(fed.send_letters(SENDER, RECIPIENTS, 3).values())
    fed.sync_until_quiet()
    old_copy = fed.copy_node_folder(SENDER, tmp_path_factory.mktemp("old") / "node")
    sent |= set(fed.send_letters(SENDER, RECIPIENTS, 3, label="หลังสำเนา").values())
    fed.sync_until_quiet()

    fed.kill_node(SENDER)
    fed.put_back_node_folder(SENDER, old_copy)
    fed.proxies[SENDER].partition()
    fed.start_node(SENDER)
    offline = set(fed.send_letters(SENDER, RECIPIENTS, 2, label="จากสำเนาเก่า").values())

    report = fed.finish_day()
    assert_whole(report, letters=8, deliveries=16)
    out = read_rows(fed.node_db(SENDER), "SELECT id, env_id FROM letters WHERE direction = 'out'")
    # The six the hub held come back as they were; the two numbered offline on seqs the
    # hub already held are signed again on new seqs.
    assert len(out) == 8 and sent < {env_id for _, env_id in out}
    assert not offline & {env_id for _, env_id in out}
    assert_tracking_registered(fed, SENDER, dict(out))
    numbers = [fed.api(SENDER).call("GET", f"/api/letters/{i}")["number"] for i, _ in out]
    assert sorted(numbers) == sorted(f"{SENDER}/{n}" for n in range(1, 9)), numbers
