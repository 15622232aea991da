"""A node whose disk cannot be written: reads go on, writes are refused in Thai, the log says
it once, nothing is half-written, and it heals by itself when the disk is writable again.

The faults are real: the node's instance folder is a tmpfs of its own (16 MB), filled to
the last byte by a file for "disk full" (SQLite then fails with ``SQLITE_FULL`` or cannot
grow the WAL's shared memory, the OS with ``ENOSPC``), and remounted read-only for a disk
the kernel remounted after errors (``EROFS``: SQLite cannot even open the file for
writing). ``chmod`` would be no test here: the tests run as root, whom it does not stop.
Mounting needs root (or CAP_SYS_ADMIN); elsewhere these tests skip and say so.
"""

from __future__ import annotations

import errno
import logging
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_node_support import Node, PaperHub, offline_node, paper_letter, publish
from web_support import PASSWORD, add_users, csrf, login

from node.sync.worker import scheduled_sync

DISK_SIZE = "16m"


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True, timeout=30)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs of its own, mounted for this test."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a real full or read-only disk")
    try:
        _mount("-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs", str(folder))
    except subprocess.CalledProcessError as e:
        pytest.skip(f"mounting a tmpfs is not permitted here (needs root): {e.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False, timeout=30)


def fill(folder: Path) -> Callable[[], None]:
    """Fill the disk to the last byte; return how to make room again."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return filler.unlink


def remount_read_only(folder: Path) -> Callable[[], None]:
    """Remount the disk read-only; return how to make it writable again."""
    _mount("-o", "remount,ro", str(folder))
    return lambda: _mount("-o", "remount,rw", str(folder))


@dataclass(frozen=True)
class Fault:
    make: Callable[[Path], Callable[[], None]]
    said: str
    """What the refusal and every page say."""
    code: str


FAULTS = {
    "disk-full": Fault(fill, "พื้นที่ดิสก์ของเครื่องแม่ข่ายเต็ม", "disk_full"),
    "disk-read-only": Fault(remount_read_only, "อ่านได้อย่างเดียว", "disk_read_only"),
}

SUBJECT = "ขอเชิญประชุมเรื่องงบประมาณ"


def register_paper_letter(node: Node, subject: str) -> tuple[int, dict[str, object]]:
    answer = node.client.post(
        "/api/paper-letters",
        json={"subject": subject, "origin": "สำนักงานจังหวัดเชียงราย"},
        headers=node.headers,
    )
    return answer.status_code, answer.get_json()


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("fault", list(FAULTS))
def test_disk_that_cannot_be_written_keeps_reads_refuses_writes_and_heals(
    disk: Path, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    paper = PaperHub()
    node = offline_node(disk, CHIANG_MAI, paper, Clock())
    offline_node(disk, CHIANG_RAI, paper, node.clock)
    publish(paper, node)
    add_users(node)
    clerk = login(node)
    letter = paper_letter(node, SUBJECT)["id"]
    said, code = FAULTS[fault].said, FAULTS[fault].code

    undo = FAULTS[fault].make(disk)
    caplog.set_level(logging.INFO)
    try:
        assert clerk.get("/").status_code == 200
        page = clerk.get(f"/letters/{letter}")
        assert page.status_code == 200 and SUBJECT in page.get_data(as_text=True)
        assert SUBJECT in clerk.get("/search?q=งบประมาณ").get_data(as_text=True)
        assert SUBJECT in str(node.call("GET", "/api/search?q=งบประมาณ"))
        assert len(node.inbox()) == 1
        for _ in range(3):
            status, answer = register_paper_letter(node, "หนังสือที่บันทึกไม่ได้")
            assert status == 503 and answer["error"] == code
            assert said in str(answer["message_th"]) and "ยังไม่ได้บันทึกสิ่งใด" in str(
                answer["message_th"]
            )
        home = clerk.get("/").get_data(as_text=True)
        assert said in home and "ระบบจะกลับมาบันทึกได้เอง" in home
        stranger = node.app.test_client()  # signing in is written to the audit chain
        form = {"username": "boss", "password": PASSWORD, "csrf_token": csrf(stranger)}
        refused = stranger.post("/login", data=form)
        assert refused.status_code == 503 and said in refused.get_data(as_text=True)
        shown = node.call("GET", "/api/status")
        assert shown["disk"]["writable"] is False and said in shown["warnings"][0]
        assert scheduled_sync(node.ctx) is not None  # the scheduler's job: no traceback
        logged = warnings_logged(caplog)
        assert len(logged) == 1 and code in logged[0], logged
    finally:
        undo()

    caplog.clear()
    status, answer = register_paper_letter(node, "หนังสือหลังแก้ไขดิสก์แล้ว")
    assert status == 201, answer
    assert said not in clerk.get("/").get_data(as_text=True)
    logged = warnings_logged(caplog)
    assert len(logged) == 1 and "writable again" in logged[0], logged
    assert len(node.inbox()) == 2
    with sqlite3.connect(node.ctx.settings["DATABASE"]) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
