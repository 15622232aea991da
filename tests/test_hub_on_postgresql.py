"""A hub whose database is PostgreSQL (``DATABASE_URL``), as an operator meets it: created
and served on the database, checked by `saraban hub doctor`, and answering 503 with a
reason and Retry-After (never a traceback, never the database's address) while its
database server cannot be reached."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_hub_support import Hub

from hub.admin.instance import init_hub
from hub.app import create_app
from hub.portal.app import create_portal_app
from hub.store.postgres import close_pools
from scripts.cli.main import main
from scripts.pgcluster import drop_database

pytestmark = pytest.mark.sqlite_only("a PostgreSQL database of its own")


@pytest.fixture
def on_postgresql(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SARABAN_HUB_DATABASE_URL", postgres_url)
    return postgres_url


def test_a_hub_is_created_served_and_checked_on_postgresql(
    tmp_path: Path, on_postgresql: str, capsys: pytest.CaptureFixture[str]
) -> None:
    made = init_hub(tmp_path / "hub")
    assert made["database"] == on_postgresql and made["offices"] == 19
    assert not (tmp_path / "hub" / "hub.sqlite").exists()
    hub = Hub(tmp_path, Clock())
    cm = hub.office(CHIANG_MAI)
    hub.office(CHIANG_RAI)
    assert cm.push_ok(cm.letter([CHIANG_RAI]))[0]["status"] == "accepted"
    with psycopg.connect(on_postgresql) as pg:
        assert pg.execute("SELECT count(*) FROM feed").fetchone() == (1,)

    main(["hub", "doctor", "--instance", str(tmp_path / "hub"), "--json"])
    findings = {f["check"]: f for f in json.loads(capsys.readouterr().out)["checks"]}
    assert findings["setup"]["state"] == "ok", findings["setup"]


def test_a_database_that_does_not_answer_is_a_503_the_offices_retry(
    tmp_path: Path, on_postgresql: str, capsys: pytest.CaptureFixture[str]
) -> None:
    hub = Hub(tmp_path, Clock())
    cm = hub.office(CHIANG_MAI)
    hub.office(CHIANG_RAI)
    letter = cm.letter([CHIANG_RAI])
    close_pools()
    drop_database(on_postgresql)  # the server no longer has the hub's database

    answer = cm.push(letter)
    assert answer.status == 503, answer.body
    assert answer.json["error"] == "database_unavailable"
    assert answer.headers["Retry-After"] == "5" and answer.json["retry_after"] == 5
    assert "127.0.0.1" not in answer.body.decode() and "Traceback" not in answer.body.decode()
    assert hub.client.get("/api/v1/health").status_code in (200, 503)

    code = main(["hub", "doctor", "--instance", str(tmp_path / "hub")])
    said = capsys.readouterr().out
    assert code == 1
    assert "เปิดฐานข้อมูล postgresql://" in said and "PostgreSQL ทำงาน" in said


def test_hub_processes_starting_at_once_on_a_new_database_all_start(
    tmp_path: Path, on_postgresql: str
) -> None:
    init_hub(tmp_path / "hub")
    instance = str(tmp_path / "hub")

    def start(_: int) -> str:
        create_app(instance_path=instance)
        return create_portal_app(instance_path=instance).name

    with ThreadPoolExecutor(max_workers=4) as pool:  # tables made by whichever comes first
        assert len(list(pool.map(start, range(4)))) == 4
    with psycopg.connect(on_postgresql) as pg:
        made = pg.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'portal_audit'")
        assert made.fetchone() == (1,)
