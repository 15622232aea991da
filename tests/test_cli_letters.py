"""`saraban letter ...` at a node as a clerk types it: a paper letter registered with its scan,
then minuted, assigned, forwarded and done, each answered with one Thai line, and the letter's
history printed in the Buddhist era; a mistake ends in one line on stderr and exit 1.

The node is enrolled with `saraban node init` at a real hub on 127.0.0.1. The CLI runs in its
own process on the real clock, so dates are checked against the clock around the command.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import CHIANG_MAI, Clock
from test_cli import saraban
from test_node_support import Federation

from protocol.thai import format_thai_date


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A node of ชม 0017 enrolled through the CLI at a hub that then goes away."""
    from hub.admin.tokens import issue_enrollment_token

    root = tmp_path_factory.mktemp("cli_letters")
    fed = Federation(root, Clock(time.time()))  # the CLI's process reads the real clock
    try:
        token = issue_enrollment_token(fed.hub_dir, CHIANG_MAI, now=fed.clock())
        node_dir = root / "node"
        proc = saraban(
            "node", "init", "--hub", fed.url, "--office", CHIANG_MAI, "--token", "-",
            "--instance", str(node_dir), stdin=token + "\n",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == f"node {CHIANG_MAI} enrolled at {fed.url}"
    finally:
        fed.close()
    yield node_dir


def letter(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return saraban("letter", *args, "--instance", str(instance))


def thai_dates_between(start: float, end: float) -> set[str]:
    return {format_thai_date(datetime.fromtimestamp(t, UTC)) for t in (start, end)}


def test_paper_letter_is_worked_through_from_the_terminal(instance: Path, tmp_path: Path) -> None:
    scan = tmp_path / "หนังสือเข้า.pdf"
    scan.write_bytes(b"%PDF-1.4 scanned letter")
    start = time.time()
    steps = [
        (
            (
                "paper", "--subject", "ขอความอนุเคราะห์ข้อมูลสถิติจังหวัด",
                "--from", "มหาวิทยาลัยเชียงใหม่", "--number", "อว 8393/1234",
                "--date", "15 พฤศจิกายน 2569", "--scan", str(scan),
            ),
            re.compile(r"ลงรับแล้ว เลขรับ (\d+) id=(\d+)"),
        ),
        (("minute", "{id}", "--text", "ทราบ มอบ กยศ.", "--by", "ผวจ.ชม."), re.compile("เกษียนแล้ว")),
        (("assign", "{id}", "--to", "ชม 0017.3"), re.compile("มอบหมายให้ ชม 0017.3 แล้ว")),
        (("done", "{id}", "--note", "ส่งข้อมูลแล้ว"), re.compile("บันทึกว่าดำเนินการแล้ว")),
    ]  # fmt: skip
    letter_id = ""
    for args, expected in steps:
        proc = letter(instance, *(a.format(id=letter_id) for a in args))
        assert (proc.returncode, proc.stderr) == (0, "")
        match = expected.fullmatch(proc.stdout.strip())
        assert match, proc.stdout
        if args[0] == "paper":
            letter_id = match.group(2)

    proc = letter(instance, "history", letter_id)
    end = time.time()
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    shape = re.compile(r"(?P<date>\d{1,2} \S+ 25\d\d) เวลา \d{1,2}\.\d\d น\.  clerk +(?P<rest>.+)")
    rows = [shape.fullmatch(line) for line in lines]
    assert all(rows), lines
    assert {r["date"] for r in rows if r} <= thai_dates_between(start, end)
    rest = [re.sub(" +", " ", r["rest"]) for r in rows if r]
    assert rest == [
        "ลงรับหนังสือกระดาษ from=มหาวิทยาลัยเชียงใหม่ number=อว 8393/1234 receipt_number=1",
        "เกษียน/สั่งการ by=ผวจ.ชม. minute=ทราบ มอบ กยศ.",
        "มอบหมาย to=ชม 0017.3",
        "ดำเนินการแล้ว note=ส่งข้อมูลแล้ว",
    ]

    again = letter(instance, "done", letter_id)
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.splitlines() == [
        f"saraban: หนังสือนี้ดำเนินการแล้ว (letter {letter_id} is already done; conflict, HTTP 409)"
    ]


def test_paper_letter_registered_again_is_named_in_one_line_until_confirmed(
    instance: Path,
) -> None:
    args = ("paper", "--subject", "เชิญประชุม", "--from", "อำเภอเมืองเชียงใหม่", "--number")
    first = letter(instance, *args, "ชม 0117/77")
    registered = re.fullmatch(r"ลงรับแล้ว เลขรับ (\d+) id=\d+", first.stdout.strip())
    assert first.returncode == 0 and registered, first.stderr
    number = int(registered[1])

    again = letter(instance, *args, "ชม ๐๑๑๗/๗๗")  # the same number, typed in Thai digits
    assert (again.returncode, again.stdout) == (1, "")
    (line,) = again.stderr.splitlines()
    assert re.fullmatch(
        f"saraban: หนังสือฉบับนี้ลงรับไว้แล้ว: เลขรับ {number} เมื่อ \\d{{1,2}} \\S+ 25\\d\\d "
        r"เวลา \d{1,2}\.\d\d น\. \(จาก อำเภอเมืองเชียงใหม่ ที่ ชม 0117/77\) "
        "— หากเป็นหนังสือคนละฉบับ ให้สั่งอีกครั้งพร้อม --confirm-duplicate",
        line,
    ), line

    confirmed = letter(instance, *args, "ชม 0117/77", "--confirm-duplicate")
    assert confirmed.returncode == 0, confirmed.stderr
    assert confirmed.stdout.startswith(f"ลงรับแล้ว เลขรับ {number + 1} ")


BAD_COMMANDS = {
    "minute_of_an_unknown_letter": (
        ("minute", "9999", "--text", "ทราบ"),
        "ไม่พบหนังสือรับ (no received letter 9999; not_found, HTTP 404)",
    ),
    "paper_letter_with_an_unreadable_date": (
        ("paper", "--subject", "เชิญประชุม", "--from", "อำเภอเมือง", "--date", "เมื่อวาน"),
        "อ่านวันที่ของหนังสือไม่ได้ (ตัวอย่าง: 23 พฤศจิกายน 2569) "
        "(cannot read the letter's date 'เมื่อวาน'; bad_date, HTTP 400)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_COMMANDS))
def test_mistake_ends_in_one_line_and_exit_one(instance: Path, case: str) -> None:
    args, reason = BAD_COMMANDS[case]
    proc = letter(instance, *args)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.splitlines() == [f"saraban: {reason}"]
