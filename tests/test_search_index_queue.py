"""The search index a moment behind the letters (ADR 0019): letters are queued for the
index as they are stored, a search indexes a short queue itself first, a long one (a week's
catch-up) is searched as far as it is indexed and the page says how many letters it does
not see yet, the background worker finishes the queue, and a database of the previous
version loses the triggers that indexed inside the writer.

Letters of a catch-up are written straight into a real node database (as the pull writes
them, many per transaction) so the queue is long without pulling thousands of letters.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_node_support import Node, office_knowing
from web_support import add_users, login

from node.search import index as searchindex
from node.search.engine import COUNT_LIMIT, UNINDEXED_SCAN_LIMIT
from node.search.indexer import SearchIndexer

WORD = "ขอความร่วมมือสำรวจแหล่งน้ำ"


@pytest.fixture
def cr(tmp_path: Path, clock: Clock) -> Node:
    """ชร 0017 with searches that index one batch at most before they answer."""
    return office_knowing(tmp_path, CHIANG_RAI, CHIANG_MAI, clock=clock, SEARCH_INDEX_SECONDS=0)


def arrive(node: Node, count: int) -> list[int]:
    """``count`` received letters written in one transaction, oldest first; their ids."""
    with node.store() as s, s.transaction():
        for i in range(count):
            s.execute(
                "INSERT INTO letters (direction, env_id, origin, number, number_key, subject, "
                "body, letter_day, created_at) VALUES ('in', ?, ?, ?, ?, ?, ?, '2026-11-18', 1)",
                (
                    f"env-{i}",
                    CHIANG_MAI,
                    f"ชม 0017.3/{i + 1}",
                    f"ชม0017.3{i + 1}",
                    f"{WORD} ฉบับที่ {i + 1}",
                    ("ป่าชายเลน " if i == 0 else "") + "เนื้อความของหนังสือ " * 50,
                ),
            )
        return [int(r[0]) for r in s.conn.execute("SELECT id FROM letters ORDER BY id")]


def find(node: Node, q: str) -> dict[str, Any]:
    resp = node.client.get(f"/api/search?{urlencode({'q': q})}", headers=node.headers)
    assert resp.status_code == 200, resp.get_json()
    data: dict[str, Any] = resp.get_json()
    return data


def pending(node: Node) -> int:
    with node.store() as s:
        return searchindex.pending_count(s)


def test_a_short_queue_is_indexed_by_the_search_itself(cr: Node) -> None:
    letters = arrive(cr, 40)
    assert pending(cr) == 40
    page = find(cr, "แหล่งน้ำ")
    assert page["total"] == 40 and page["unindexed"] == 0
    assert [hit["id"] for hit in page["items"]][:3] == letters[::-1][:3]  # newest first
    assert pending(cr) == 0


def test_letters_the_index_has_not_reached_are_still_found_by_their_words(cr: Node) -> None:
    count = searchindex.INDEX_BATCH + 200
    letters = arrive(cr, count)
    page = find(cr, "ป่าชายเลน")  # only in the oldest letter, left in the queue
    assert pending(cr) == 200
    assert [hit["id"] for hit in page["items"]] == [letters[0]] and page["unindexed"] == 0


def test_a_long_queue_is_searched_as_far_as_indexed_and_the_rest_said(cr: Node) -> None:
    count = UNINDEXED_SCAN_LIMIT + searchindex.INDEX_BATCH + 7
    letters = arrive(cr, count)
    page = find(cr, "แหล่งน้ำ")
    # One batch indexed, the newest: the clerk sees the newest letters and is told the rest.
    assert page["unindexed"] == UNINDEXED_SCAN_LIMIT + 7
    assert page["total"] == min(searchindex.INDEX_BATCH, COUNT_LIMIT)
    assert page["items"][0]["id"] == letters[-1]
    # The next search indexes another batch, and the queue is then short enough to read.
    assert [hit["id"] for hit in find(cr, "ป่าชายเลน")["items"]] == [letters[0]]
    # A whole letter number is found whether or not the letter is indexed yet.
    oldest = find(cr, "ชม 0017.3/1")
    assert [hit["id"] for hit in oldest["items"]] == [letters[0]]


def test_the_background_worker_finishes_the_queue_and_then_everything_is_found(
    cr: Node,
) -> None:
    count = searchindex.INDEX_BATCH * 2 + 30
    letters = arrive(cr, count)
    indexer = SearchIndexer(cr.ctx, idle_seconds=0.05).start()
    try:
        deadline = time.monotonic() + 60
        while pending(cr) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        indexer.stop()
    assert pending(cr) == 0 and indexer.indexed == count
    assert cr.rows("SELECT COUNT(*) AS n FROM letter_fts")[0]["n"] == count
    page = find(cr, "ป่าชายเลน")  # only in the oldest letter, indexed last
    assert [hit["id"] for hit in page["items"]] == [letters[0]] and page["unindexed"] == 0


def test_a_changed_letter_is_queued_again_and_found_by_its_new_words(cr: Node) -> None:
    (letter,) = arrive(cr, 1)
    assert find(cr, "แหล่งน้ำ")["total"] == 1
    with cr.store() as s, s.transaction():
        s.execute("UPDATE letters SET subject = 'ขอเชิญประชุมคณะกรรมการ' WHERE id = ?", (letter,))
    assert pending(cr) == 1
    assert [hit["id"] for hit in find(cr, "คณะกรรมการ")["items"]] == [letter]
    assert find(cr, "แหล่งน้ำ")["total"] == 0


def test_the_search_page_tells_the_clerk_the_index_is_behind(cr: Node) -> None:
    add_users(cr)
    arrive(cr, UNINDEXED_SCAN_LIMIT + searchindex.INDEX_BATCH + 7)
    resp = login(cr).get(f"/search?{urlencode({'q': 'แหล่งน้ำ'})}")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "กำลังปรับปรุงดัชนีค้นหา" in text and f"อีก {UNINDEXED_SCAN_LIMIT + 7:,} ฉบับ" in text


def test_a_database_of_the_previous_version_loses_the_triggers_that_indexed_in_the_writer(
    cr: Node,
) -> None:
    with sqlite3.connect(cr.instance / "node.sqlite") as conn:
        conn.execute(
            "CREATE TRIGGER letters_search_insert AFTER INSERT ON letters BEGIN "
            "INSERT INTO letter_fts (rowid, subject) VALUES (-new.id, new.subject); END"
        )
        conn.execute("PRAGMA user_version = 0")  # files of that version carry no stamp
    with cr.store() as s:
        names = {
            r[0] for r in s.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
    assert "letters_search_insert" not in names
    assert "letters_search_queue_insert" in names
    arrive(cr, 3)
    assert find(cr, "แหล่งน้ำ")["total"] == 3
