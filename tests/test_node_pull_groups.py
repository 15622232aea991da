"""A catch-up writes several pulled batches in one SQLite transaction
(:class:`node.sync.pull._Group`): every letter once, with its delivered answer, and fewer
transactions than batches."""

from __future__ import annotations

from support import CHIANG_MAI, CHIANG_RAI
from test_node_support import Federation

BATCH = 10
LETTERS = 4 * BATCH


def test_a_catch_up_writes_several_batches_in_one_transaction(fed: Federation) -> None:
    cm = fed.node(CHIANG_MAI)
    cr = fed.node(CHIANG_RAI, PULL_BATCH=BATCH)
    for i in range(LETTERS):
        cm.send(recipients=[CHIANG_RAI], subject=f"รายงานประจำวัน ฉบับที่ {i + 1}")
    assert cm.sync().ok

    result = cr.sync()
    assert result.ok and result.pulled == LETTERS and result.applied == LETTERS
    numbers = sorted(r["number"] for r in cr.inbox())
    assert numbers == sorted(f"ชม 0017/{i}" for i in range(1, LETTERS + 1))
    delivered = sorted(a["letter"] for a in cr.answers() if a["status"] == "delivered")
    assert delivered == sorted(r["env_id"] for r in cr.rows("SELECT env_id FROM letters"))
    # The clock stands still, so each write transaction signed one deliveries envelope for
    # its sender: fewer envelopes than the four batches pulled.
    signed = cr.rows("SELECT COUNT(*) AS n FROM feed WHERE kind = 'deliveries'")[0]["n"]
    assert 1 <= signed < LETTERS // BATCH
    assert cr.rows("SELECT cursor FROM sync_state")[0]["cursor"]
    assert cr.sync().applied == 0  # nothing twice
