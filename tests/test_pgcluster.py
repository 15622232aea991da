"""The throwaway PostgreSQL server of scripts/pgcluster.py: its databases take tables and
rows, two fresh databases on one server share nothing, and leaving the context manager
stops the server and removes its folder, also when the body raised. The tests that start
a server of their own ask for ``postgres_server`` too, so that they skip (or fail in CI)
as the others do when PostgreSQL is not installed."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from scripts.pgcluster import drop_database, fresh_database, throwaway_cluster

pytestmark = pytest.mark.slow


def test_a_fresh_database_accepts_a_connection_and_keeps_a_table(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE letters (id serial PRIMARY KEY, subject text NOT NULL)")
        conn.execute("INSERT INTO letters (subject) VALUES (%s)", ("ขอเชิญประชุม",))
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT id, subject FROM letters").fetchall()
        user = conn.execute("SELECT current_user").fetchone()
    assert rows == [(1, "ขอเชิญประชุม")]
    assert user == ("saraban",)


def test_two_fresh_databases_are_separate(postgres_server: str) -> None:
    first = fresh_database(postgres_server, f"t_{uuid.uuid4().hex}")
    second = fresh_database(postgres_server, f"t_{uuid.uuid4().hex}")
    try:
        assert first != second
        with psycopg.connect(first) as conn:
            conn.execute("CREATE TABLE only_here (n int)")
        with psycopg.connect(second) as conn:
            found = conn.execute("SELECT to_regclass('only_here')").fetchone()
        assert found == (None,)
    finally:
        drop_database(first)
        drop_database(second)
    with psycopg.connect(postgres_server) as conn:
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()}
    assert {first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]}.isdisjoint(names)


def server_folder(url: str) -> Path:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None
    return Path(row[0])


@pytest.mark.usefixtures("postgres_server")
def test_leaving_stops_the_server_and_removes_its_folder() -> None:
    with throwaway_cluster() as url:
        folder = server_folder(url)
        assert (folder / "postmaster.pid").exists()
    assert not folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)


@pytest.mark.usefixtures("postgres_server")
def test_leaving_on_an_error_also_removes_the_folder() -> None:
    with pytest.raises(RuntimeError, match="the body failed"), throwaway_cluster() as url:
        folder = server_folder(url)
        raise RuntimeError("the body failed")
    assert not folder.exists()
