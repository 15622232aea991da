"""The hub restored from an older backup: what it lost since the backup is still in the
offices' feeds and mailboxes, and the nodes must give it back so the ledger heals."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from faults.harness import RECIPIENTS, SENDER, finish_and_check
from scripts.faults.federation import FaultFederation

Start = Callable[..., FaultFederation]


@pytest.mark.sqlite_only("copies the hub's SQLite file and puts it back")
def test_hub_restored_from_older_backup_heals_from_the_nodes(
    start_federation: Start, tmp_path_factory
) -> None:
    fed = start_federation()
    sent = fed.send_letters(SENDER, RECIPIENTS, 4, attach_every=2)
    fed.sync_until_quiet()
    backup = fed.copy_hub(tmp_path_factory.mktemp("hub-backup"))

    # After the backup: more letters, their deliveries, and the recipients' ลงรับ.
    sent.update(fed.send_letters(SENDER, RECIPIENTS, 4, attach_every=2, label="หลังสำรอง"))
    fed.sync_until_quiet()
    fed.register_all()
    fed.sync_until_quiet()
    lost_at_hub = fed.hub_count("SELECT COUNT(*) FROM feed")

    assert fed.hub is not None
    fed.hub.stop()
    fed.put_back_hub(backup)
    fed.start_hub()
    assert fed.hub_count("SELECT COUNT(*) FROM feed") < lost_at_hub

    finish_and_check(fed, {SENDER: sent}, {SENDER: RECIPIENTS})
    assert fed.hub_count("SELECT COUNT(*) FROM feed") >= lost_at_hub
    # The ledger has every number again: eight ส่ง numbers and each recipient's eight เลขรับ.
    ledger = fed.hub_rows("SELECT register, COUNT(DISTINCT number) FROM ledger GROUP BY register")
    assert sorted(n for _, n in ledger) == [8, 8, 8], ledger
