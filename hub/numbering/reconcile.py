"""The nightly numbering reconciliation: a dated report, and what got worse since the last one.

:func:`run_nightly` takes the numbering report of every register
(:func:`hub.numbering.authority.numbering_report`), compares it with the newest stored report of an
earlier Bangkok day (:func:`worsened`), keeps it in the database (one report per Bangkok
day: running again the same day replaces that day's report) and writes it to
``<REPORT_DIR>/numbering-<YYYY-MM-DD>.json`` (Christian-era ISO date, written to a temporary
file and renamed, so a reader never sees half a report). When something got worse it
raises one ``numbering_worse`` alert for that day naming the registers.

The database row, the alert and the file are made in one transaction: if the file cannot be
written, nothing is stored (:class:`ReportNotWritten`).

Does not: schedule itself (:mod:`hub.jobs`), render pages (:mod:`hub.console.numbering`)
or print (``saraban hub reconcile`` in :mod:`scripts.cli.main`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from hub.clock import bangkok_day, iso_utc
from hub.errors import HubError
from hub.numbering.authority import numbering_report
from hub.store import HubStore
from protocol import ledger
from protocol.filemodes import private_folder
from protocol.thai import format_thai_date

PROBLEMS = ("gaps", "duplicates", "provisional_pending")
"""What the reconciliation watches in each register, in the order it reports them."""
NEW_REGISTER_PROBLEMS = ("gaps", "duplicates")
"""What makes a register seen for the first time count as worse (a new register's
provisional numbers waiting for their office are normal)."""
PROBLEM_LABELS = {
    "gaps": "ช่องว่าง",
    "duplicates": "เลขซ้ำ",
    "provisional_pending": "เลขชั่วคราวรอเลขจริง",
}
"""How the console, the alert and the command line name each problem."""
NEW_GAPS_KEPT = 20
"""New gap ranges kept in a worse-flag (the count of numbers is always kept)."""
ALERT_KIND = "numbering_worse"
ALERT_REGISTERS = 10
"""Registers named in the alert's words; the console's report page lists them all."""
DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class ReportNotWritten(HubError):
    """The dated report file could not be written; the run stored nothing."""

    status = 500
    code = "report_not_written"


@dataclass(frozen=True)
class Reconciliation:
    """One run: the Bangkok day, the report, what got worse and where the file is."""

    day: str
    at: float
    registers: list[dict[str, Any]]
    worse: list[dict[str, Any]]
    previous_day: str | None
    path: Path
    alert_id: int | None

    def document(self) -> dict[str, Any]:
        """The report as written to its file (and printed by ``--json``)."""
        return report_document(self.day, self.at, self.previous_day, self.registers, self.worse)


def report_document(
    day: str,
    at: float,
    previous_day: str | None,
    registers: list[dict[str, Any]],
    worse: list[dict[str, Any]],
) -> dict[str, Any]:
    """The JSON document of one day's report, as its file holds it."""
    return {
        "day": day,
        "generated_at": iso_utc(at),
        "previous_day": previous_day,
        "registers": registers,
        "worse": worse,
    }


def parse_day(text: str) -> str | None:
    """``text`` as an ISO date (``YYYY-MM-DD``, Christian era), or None when it is not one."""
    if not DAY_RE.fullmatch(text or ""):
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def report_path(report_dir: str | os.PathLike[str], day: str) -> Path:
    """Where the report of ``day`` is written."""
    return Path(report_dir) / f"numbering-{day}.json"


def gap_ranges(row: Mapping[str, Any]) -> list[ledger.NumberRange]:
    """A report row's gaps as sorted ranges: ``[first, last]`` pairs, or the bare numbers
    that reports stored before gaps were ranges hold."""
    out: list[ledger.NumberRange] = []
    for item in row.get("gaps") or []:
        if isinstance(item, int):
            out.append((item, item))
        else:
            out.append((int(item[0]), int(item[1])))
    return ledger.merge_ranges(out)


def problem_count(row: Mapping[str, Any], problem: str) -> int:
    """How many of ``problem`` a report row has (for gaps, how many numbers they hold)."""
    if problem == "gaps":
        count = row.get("gap_count")
        return int(count) if count is not None else ledger.count_numbers(gap_ranges(row))
    return int(row.get(problem) or 0)


def worsened(
    previous_rows: Iterable[Mapping[str, Any]], current_rows: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Registers whose numbering got worse from ``previous_rows`` to ``current_rows``.

    A register known before is worse when its duplicates or provisional numbers pending
    went up, or when it has a gap that it did not have before (so a gap filled while
    another opened still counts). A register not in ``previous_rows`` is worse when it has
    gaps or duplicates. Each item: ``{"register", "new_register", "changes"}`` where
    ``changes`` maps each problem that got worse to ``{"before", "after"}`` (counts), and
    for gaps also ``new_gaps`` (the first :data:`NEW_GAPS_KEPT` ranges ``[first, last]``
    of numbers that were not gaps before) and ``new_gap_count`` (how many numbers).
    Registers that disappeared, or got better, are not listed.
    """
    before = {str(r["register"]): r for r in previous_rows}
    out: list[dict[str, Any]] = []
    for row in current_rows:
        old = before.get(str(row["register"]))
        changes: dict[str, dict[str, Any]] = {}
        for problem in PROBLEMS if old is not None else NEW_REGISTER_PROBLEMS:
            was = 0 if old is None else problem_count(old, problem)
            now = problem_count(row, problem)
            if problem == "gaps":
                opened = ledger.subtract_ranges(gap_ranges(row), gap_ranges(old or {}))
                if opened:
                    changes["gaps"] = {
                        "before": was,
                        "after": now,
                        "new_gaps": [[first, last] for first, last in opened[:NEW_GAPS_KEPT]],
                        "new_gap_count": ledger.count_numbers(opened),
                    }
            elif now > was:
                changes[problem] = {"before": was, "after": now}
        if changes:
            out.append(
                {"register": row["register"], "new_register": old is None, "changes": changes}
            )
    return out


def describe_change(item: Mapping[str, Any]) -> str:
    """One worse-flag in Thai: ``ชม 0017|ส่ง|2569 (ช่องว่าง 2 → 4, เลขซ้ำ 0 → 1)``."""
    parts = [
        f"{PROBLEM_LABELS.get(p, p)} {c['before']:,} → {c['after']:,}"
        for p, c in item["changes"].items()
    ]
    new = " ทะเบียนใหม่" if item.get("new_register") else ""
    return f"{item['register']}{new} ({', '.join(parts)})"


def _alert_detail(day: str, previous_day: str | None, worse: list[dict[str, Any]]) -> str:
    since = (
        f"เทียบกับรายงานวันที่ {format_thai_date(date.fromisoformat(previous_day))}"
        if previous_day
        else "รายงานฉบับแรก"
    )
    listed = "; ".join(describe_change(w) for w in worse[:ALERT_REGISTERS])
    if len(worse) > ALERT_REGISTERS:
        listed += f"; และอีก {len(worse) - ALERT_REGISTERS} ทะเบียน"
    return (
        f"รายงานเลขหนังสือวันที่ {format_thai_date(date.fromisoformat(day))} ({since})"
        f" แย่ลง {len(worse)} ทะเบียน: {listed}"
    )


def write_report_file(report_dir: str | os.PathLike[str], day: str, document: Any) -> Path:
    """Write ``document`` as the JSON report of ``day``: all of it or, on failure, nothing.

    Raises :class:`ReportNotWritten`.
    """
    target = report_path(report_dir, day)
    tmp: str | None = None
    try:
        private_folder(target.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(document, f, ensure_ascii=False, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise ReportNotWritten(f"cannot write the numbering report {target}: {e}") from e
    return target


def run_nightly(store: HubStore, settings: Mapping[str, Any], now: float) -> Reconciliation:
    """Take, compare, keep and write the numbering report of the Bangkok day of ``now``.

    Runs in one write transaction (joining the caller's, so the console can record the
    operator's action with it). Running it again the same day replaces that day's report,
    file and comparison; the day's alert stays one while it is open. The first report of
    all compares with nothing: every register with gaps or duplicates counts as worse, so
    the operator hears of the problems the hub started with.
    """
    day = bangkok_day(now)
    with store.write():
        rows = numbering_report(store)
        previous = store.numbering_report_before(day)
        previous_rows = [] if previous is None else json.loads(previous["report"])
        previous_day = None if previous is None else str(previous["day"])
        worse = worsened(previous_rows, rows)
        store.add_numbering_report(
            day,
            json.dumps(rows, ensure_ascii=False),
            json.dumps(worse, ensure_ascii=False),
            now,
        )
        alert_id = None
        if worse:
            alert_id = store.raise_alert(
                ALERT_KIND,
                None,
                _alert_detail(day, previous_day, worse),
                now,
                key=f"{ALERT_KIND}:{day}",
            )
        path = write_report_file(
            settings["REPORT_DIR"], day, report_document(day, now, previous_day, rows, worse)
        )
    return Reconciliation(day, now, rows, worse, previous_day, path, alert_id)


def format_numbering_report(rows: list[dict[str, Any]]) -> str:
    """The numbering report as a plain-text table, for a terminal or a log."""
    head = f"{'ทะเบียน':<28} {'ออกเลข':>6} {'ยกเลิก':>6} {'ช่องว่าง':>8} {'ซ้ำ':>4} {'รอเลขจริง':>9}"
    lines = [head]
    replacements = []
    for r in rows:
        lines.append(
            f"{r['register']:<28} {r['issued']:>6} {r['voided']:>6} "
            f"{problem_count(r, 'gaps'):>8} "
            f"{r['duplicates']:>4} {r['provisional_pending']:>9}"
        )
        replacements += [
            f"  {r['register']}: {x['office']} ใช้เลข {x['number']} แทนเลข {x['replaces']} "
            "ที่ออกซ้ำจากข้อมูลสำรองเก่า"
            for x in r.get("replaced", ())
        ]
    if len(lines) == 1:
        lines.append("(ยังไม่มีการออกเลข)")
    return "\n".join(lines + replacements)
