"""`saraban hub migrate --to postgresql://…`: a hub that served offices from its SQLite file
moves to PostgreSQL, the invariant checker finds the federation whole on the new database,
and the offices go on exchanging letters with the hub now serving from it. Refused, with
nothing changed: a hub still serving, a hub on PostgreSQL already, a database that holds a
hub already."""

from __future__ import annotations

import json
import re
from contextlib import ExitStack, closing
from pathlib import Path

import psycopg
import pytest
from support import CHIANG_MAI, CHIANG_RAI, KHON_KAEN, Clock
from test_hub_support import METRICS_TOKEN, serve
from test_node_support import Federation, federation

from hub.admin.migrate import migrate_to_postgres
from hub.app import create_app
from hub.errors import AdminError
from hub.federation.letter_index import catch_up, index_pending
from hub.jobs import heartbeat
from hub.portal.app import create_portal_app
from hub.portal.search import PortalQuery, Scope, search
from hub.store import open_store
from scripts.cli.main import main
from scripts.invariants import check_federation, hub_rows

pytestmark = pytest.mark.sqlite_only("moves a hub from its SQLite file")


def busy_day(fed: Federation) -> None:
    """Letters numbered at the offices and by the hub's shared register, received,
    registered and returned, every receipt back at the senders."""
    fed.share(CHIANG_MAI, "ว", [CHIANG_MAI, CHIANG_RAI])
    cm, cr, kk = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI), fed.node(KHON_KAEN)
    for node in (cm, cr, kk):
        assert node.sync().ok
    for i in range(3):
        cm.send(recipients=[CHIANG_RAI, KHON_KAEN], subject=f"ขอเชิญประชุม ครั้งที่ {i + 1}")
        cr.send(recipients=[KHON_KAEN], subject=f"หนังสือเวียน ฉบับที่ {i + 1}", series="ว")
    settle(fed)
    for node in (cr, kk):
        for letter in node.inbox():
            node.call("POST", f"/api/letters/{letter['id']}/register", {})
    settle(fed)


def serial(number: str) -> int:
    """The running number at the end of a letter number (``ชม 0017/ว 14`` → 14)."""
    found = re.search(r"(\d+)$", number)
    assert found is not None, number
    return int(found.group(1))


def settle(fed: Federation) -> None:
    for _ in range(3):
        for node in fed.nodes:
            assert node.sync().ok


def migrate(hub_dir: Path, url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["hub", "migrate", "--instance", str(hub_dir), "--to", url])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_served_hub_moves_to_postgresql_whole_and_serves_on(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    with federation(tmp_path, clock) as fed:
        busy_day(fed)
        nodes = {n.office: n.instance for n in fed.nodes}
        before = check_federation(fed.hub_dir, nodes)
    assert before["violations"] == [] and before["letters"] == 6
    create_portal_app(instance_path=str(fed.hub_dir))  # its tables, as a hub that served it
    feed = len(hub_rows(fed.hub_dir, "SELECT env_id FROM feed"))
    circulars = [
        str(r["number"])
        for r in fed.nodes[1].rows("SELECT number FROM letters WHERE direction = 'out'")
    ]

    code, said = migrate(fed.hub_dir, postgres_url, capsys)
    assert code == 0, said
    assert "ย้ายศูนย์กลางไปที่ postgresql://" in said
    config = json.loads((fed.hub_dir / "config.json").read_text(encoding="utf-8"))
    assert config["DATABASE_URL"] == postgres_url
    with psycopg.connect(postgres_url) as pg:  # the rows are in PostgreSQL now
        assert pg.execute("SELECT count(*) FROM feed").fetchone() == (feed,)

    with closing(open_store(postgres_url, create=False)) as store:
        # The portal's index is built again from the letters the move queued for it, and
        # those the served hub had not recorded yet are recorded from the feed.
        catch_up(store)
        assert store.portal_unrecorded() == 0 and store.portal_pending_count() == 6
        while index_pending(store):
            pass
        found = search(store, Scope(KHON_KAEN), PortalQuery.from_params({"q": "ประชุม"}))
        assert len(found.rows) == 3

    after = check_federation(fed.hub_dir, nodes)
    assert after["violations"] == []
    assert {k: after[k] for k in ("letters", "deliveries", "numbers_issued")} == {
        k: before[k] for k in ("letters", "deliveries", "numbers_issued")
    }

    # The hub starts again on the same folder and serves from PostgreSQL: the offices go on
    # where they were, and the shared register goes on from its last number.
    with ExitStack() as stack:
        app = create_app(
            {"CLOCK": clock, "METRICS_TOKEN": METRICS_TOKEN}, instance_path=fed.hub_dir
        )
        url = stack.enter_context(serve(app))
        cm, cr, kk = fed.nodes
        for node in fed.nodes:
            node.set_hub_url(url)
        cm.send(recipients=[KHON_KAEN], subject="หลังย้ายฐานข้อมูล")
        numbered = cr.send(recipients=[KHON_KAEN], subject="หนังสือเวียนหลังย้าย", series="ว")
        settle(fed)
        assert serial(numbered["number"]) == max(serial(n) for n in circulars) + 1
        final = check_federation(fed.hub_dir, nodes)
    assert final["violations"] == []
    assert final["letters"] == 8
    assert (final["lost"], final["duplicated"], final["numbers_reissued"]) == (0, 0, 0)
    assert {r["subject"] for r in kk.inbox()} >= {"หลังย้ายฐานข้อมูล", "หนังสือเวียนหลังย้าย"}


def test_migrate_refuses_what_it_cannot_do_and_changes_nothing(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    with federation(tmp_path, clock) as fed:
        busy_day(fed)
        heartbeat(fed.hub_app)  # the hub process serving this file says it is alive
        with pytest.raises(AdminError, match="stop it first"):
            migrate_to_postgres(fed.hub_dir, postgres_url, now=clock())
        assert not (fed.hub_dir / "config.json").exists()
    other = Federation(tmp_path / "other", clock)
    other.close()

    code, said = migrate(fed.hub_dir, "sqlite:///nowhere", capsys)
    assert code != 0 and "postgresql://" in said and "Traceback" not in said
    assert len(said.strip().splitlines()) == 1

    # The process stopped without a word: 35 s later it no longer counts as serving.
    clock.advance(36)
    assert migrate_to_postgres(fed.hub_dir, postgres_url, now=clock())["rows"] > 0
    code, said = migrate(fed.hub_dir, postgres_url, capsys)
    assert code != 0 and "on PostgreSQL already" in said

    code, said = migrate(other.hub_dir, postgres_url, capsys)
    assert code != 0 and "holds a hub already" in said
    assert not (other.hub_dir / "config.json").exists()
