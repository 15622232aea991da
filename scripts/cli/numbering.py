"""`saraban hub report` and `saraban hub reconcile`: the numbering authority's reports as
a clerk or an operator reads them in a terminal (the demo prints the same table).
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from typing import Any

from hub.admin.access import open_hub
from hub.admin.reports import numbering_report
from hub.numbering.reconcile import describe_change, format_numbering_report, run_nightly
from protocol.thai import format_thai_date
from scripts.cli.kit import emit, instance_dir


def hub_report(args: argparse.Namespace) -> None:
    rows = numbering_report(instance_dir(args, "hub"))
    emit(rows, args.json, format_numbering_report)


def hub_reconcile(args: argparse.Namespace) -> None:
    with open_hub(instance_dir(args, "hub")) as (_, settings, store):
        result = run_nightly(store, settings, time.time())
    emit({**result.document(), "file": str(result.path)}, args.json, format_reconciliation)


def format_reconciliation(data: dict[str, Any]) -> str:
    """What the nightly numbering report found, and what got worse, as plain lines."""

    def day(iso: str) -> str:
        return format_thai_date(date.fromisoformat(iso))

    since = f"เทียบกับวันที่ {day(data['previous_day'])}" if data["previous_day"] else "รายงานฉบับแรก"
    lines = [f"รายงานเลขหนังสือวันที่ {day(data['day'])} ({since}): {data['file']}"]
    if not data["worse"]:
        lines.append("ไม่มีทะเบียนที่แย่ลง")
    else:
        lines.append(f"แย่ลง {len(data['worse'])} ทะเบียน:")
        lines.extend(f"  {describe_change(w)}" for w in data["worse"])
    return "\n".join(lines)
