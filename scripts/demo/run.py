"""``saraban demo``: start the federation, play the day, report, then serve until Ctrl-C.

With ``--once`` the demo stops after the report (exit code 0 only on full success);
otherwise it prints every office's address and two demonstration accounts made afresh
(a clerk at เชียงใหม่, an operator of the hub's console), and the classified registrar's
account made during the day, and serves until Ctrl-C or
SIGTERM. Whatever happens, every process it started is stopped.

Does not: parse the command line (:mod:`scripts.cli.main` does).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from scripts.demo.cast import DEMO_CLERK, DEMO_OPERATOR, PAPER
from scripts.demo.classified import RECIPIENT, REGISTRAR
from scripts.demo.day import Day
from scripts.demo.summary import day_shortfalls, print_report


def run_demo(once: bool, as_json: bool, workdir: Path) -> int:
    """Play the day; serve until Ctrl-C unless ``once``. Exit code 0 only on full success."""

    def say(text: str) -> None:
        if not as_json:
            print(text, flush=True)

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # Ctrl-C and a service manager's SIGTERM both end the demo through the same cleanup,
    # even when the demo was started with SIGINT ignored (a background job of a script).
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    day = Day(workdir.resolve(), say)
    try:
        day.start()
        day.play()
        report = day.report()
        shortfalls = day_shortfalls(report)
        ok = not shortfalls
        if as_json:
            print(
                json.dumps(
                    {"ok": ok, "shortfalls": shortfalls} | report,
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            print_report(report)
        for line in shortfalls + (report["sync_errors"] if shortfalls else []):
            print(f"saraban demo: {line}", file=sys.stderr)
        if once:
            return 0 if ok else 1
        print()
        print(f"ศูนย์กลาง: {day.hub_url}/")
        for oid, url in day.node_urls.items():
            print(f"  {oid:<8} {day.names[oid]:<28} {url}/")
        password = day.add_demo_clerk()
        print(
            f"เข้าสู่ระบบที่ {day.node_urls[PAPER]}/ ด้วยผู้ใช้ {DEMO_CLERK} "
            f"รหัสผ่าน {password} (บัญชีสาธิต สร้างใหม่ทุกครั้ง)"
        )
        print(
            f"นายทะเบียนหนังสือลับที่ {day.node_urls[RECIPIENT]}/ ด้วยผู้ใช้ "
            f"{REGISTRAR} รหัสผ่าน {day.registrar_password} (บัญชีสาธิต สร้างใหม่ทุกครั้ง)"
        )
        password = day.add_demo_operator()
        print(
            f"หน้าผู้ดูแลศูนย์กลาง {day.hub_url}/ ด้วยผู้ใช้ {DEMO_OPERATOR} "
            f"รหัสผ่าน {password} (บัญชีสาธิต สร้างใหม่ทุกครั้ง)"
        )
        print("กด Ctrl-C เพื่อหยุด", flush=True)
        stop = threading.Event()
        try:
            stop.wait()
        except KeyboardInterrupt:
            print("\nกำลังหยุดบริการ...", flush=True)
        return 0 if ok else 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # the demo must end in one line, whatever failed
        print(f"saraban demo: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        day.stop()
