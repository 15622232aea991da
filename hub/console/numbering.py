"""The console's numbering page: the live numbering report and the nightly reports.

Routes (blueprint ``console_numbering``): ``GET /numbering`` (every register now: issued,
voided, highest, gaps as ranges of numbers, leased unused, duplicates, provisional pending,
rows with a problem marked; and the stored nightly reports with what got worse), ``GET
/numbering/reports/<day>`` (one stored report; ``day`` is a Christian-era ISO date) and
``POST /numbering/run`` (make today's report now, the operator role only, recorded as an
operator action in the same transaction).

Does not: compute or compare reports (:mod:`hub.numbering.authority`,
:mod:`hub.numbering.reconcile`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from flask import Blueprint, current_app, render_template
from werkzeug.wrappers import Response as BaseResponse

from hub.console.kit import done, now, record
from hub.console.session import login_required, operator_required
from hub.context import get_store
from hub.errors import ConsoleError
from hub.numbering.authority import numbering_report
from hub.numbering.reconcile import (
    PROBLEM_LABELS,
    describe_change,
    gap_ranges,
    parse_day,
    problem_count,
    report_path,
    run_nightly,
)
from protocol.thai import format_thai_date

bp = Blueprint("console_numbering", __name__)

GAPS_SHOWN = 10
"""Gap ranges listed in a table cell; the count says how many numbers they hold in all."""
REPORTS_LISTED = 60
RUN_ACTION = "run_numbering_report"


def range_text(first: int, last: int) -> str:
    """One range of numbers as the pages write it: ``7`` or ``3–120``."""
    return str(first) if first == last else f"{first}–{last}"


def ranges_shown(ranges: Iterable[Iterable[int]]) -> list[str]:
    """The first :data:`GAPS_SHOWN` ranges of numbers as the pages write them."""
    return [range_text(*pair) for pair in itertools.islice(ranges, GAPS_SHOWN)]


def register_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """A report row as the table shows it: the first gap ranges, how many numbers are
    missing, whether to mark it."""
    gaps = gap_ranges(row)
    return {
        **row,
        "gaps_shown": ranges_shown(gaps),
        "more_gaps": len(gaps) > GAPS_SHOWN,
        "gap_count": problem_count(row, "gaps"),
        "has_problem": bool(gaps or row.get("duplicates") or row.get("provisional_pending")),
    }


def _worse_view(item: Mapping[str, Any]) -> dict[str, Any]:
    changes = {}
    for problem, change in item["changes"].items():
        new_gaps = change.get("new_gaps") or []
        shown = ranges_shown(gap_ranges({"gaps": new_gaps}))
        changes[problem] = {
            **change,
            "new_gaps_shown": shown,
            "more_new_gaps": len(new_gaps) > len(shown),
        }
    return {**item, "changes": changes, "text": describe_change(item)}


def _stored_view(stored: Mapping[str, Any]) -> dict[str, Any]:
    registers = [register_view(r) for r in json.loads(stored["report"])]
    return {
        "day": stored["day"],
        "at": stored["at"],
        "registers": registers,
        "register_count": len(registers),
        "problem_count": sum(1 for r in registers if r["has_problem"]),
        "worse": [_worse_view(w) for w in json.loads(stored["worse"])],
    }


@bp.get("/numbering")
@login_required
def numbering() -> str:
    store = get_store()
    rows = [register_view(r) for r in numbering_report(store)]
    return render_template(
        "numbering.html",
        rows=rows,
        problem_rows=sum(1 for r in rows if r["has_problem"]),
        reports=[_stored_view(s) for s in store.numbering_reports(REPORTS_LISTED)],
        reconcile_at=current_app.config["RECONCILE_AT"],
    )


@bp.get("/numbering/reports/<day>")
@login_required
def report(day: str) -> str:
    iso = parse_day(day)
    if iso is None:
        raise ConsoleError(
            f"{day!r} is not an ISO date",
            "วันที่ของรายงานไม่ถูกต้อง ต้องอยู่ในรูป ปปปป-ดด-วว ตามปีคริสต์ศักราช เช่น 2026-11-18",
            code="bad_day",
        )
    stored = get_store().numbering_report_of(iso)
    if stored is None:
        raise ConsoleError(
            f"no numbering report of {iso}",
            f"ไม่พบรายงานเลขหนังสือประจำวันที่ {format_thai_date(date.fromisoformat(iso))}",
            code="not_found",
            status=404,
        )
    previous = get_store().numbering_report_before(iso)
    return render_template(
        "numbering_report.html",
        report=_stored_view(stored),
        previous_day=None if previous is None else previous["day"],
        file_name=report_path(current_app.config["REPORT_DIR"], iso).name,
        problem_labels=PROBLEM_LABELS,
    )


@bp.post("/numbering/run")
@operator_required
def run() -> BaseResponse:
    store = get_store()
    with store.write():
        result = run_nightly(store, current_app.config, now())
        record(
            RUN_ACTION,
            result.day,
            None,
            f"แย่ลง {len(result.worse)} ทะเบียน" if result.worse else "ไม่มีทะเบียนที่แย่ลง",
        )
    if result.worse:
        outcome = f"สร้างรายงานแล้ว: มีทะเบียนที่แย่ลง {len(result.worse)} ทะเบียน"
    else:
        outcome = "สร้างรายงานแล้ว: ไม่มีทะเบียนที่แย่ลง"
    return done(outcome, "console_numbering.report", day=result.day)
