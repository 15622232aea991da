"""What the demo's day achieved: judged against full success, and printed for the watcher.

:func:`day_shortfalls` lists what kept the day from full success (the command's exit code
and the ``shortfalls`` of ``--json``); :func:`print_report` prints the offices' counts,
the hub's numbering report and the totals, in Thai.

Does not: gather the figures (:meth:`scripts.demo.day.Day.report` does).
"""

from __future__ import annotations

from typing import Any

from hub.numbering.reconcile import format_numbering_report


def print_report(report: dict[str, Any]) -> None:
    """The report as tables and totals for a terminal (the demo without ``--json``)."""
    print()
    print(f"{'สำนักงาน':<36} {'ส่ง':>5} {'รับ':>5} {'ลงรับ':>6} {'ค้าง':>5}")
    for oid, s in report["offices"].items():
        label = f"{oid} {s['name']}"
        print(
            f"{label:<36} {s['sent']:>5} {s['received']:>5} {s['registered']:>6} {s['pending']:>5}"
        )
    print()
    print("รายงานการออกเลข (ศูนย์กลาง)")
    print(format_numbering_report(report["numbering"]))
    print()
    print(
        f"หนังสือที่ส่ง {report['letters_sent']} ฉบับ, ส่งถึง {report['deliveries_done']}"
        f"/{report['deliveries_expected']} ปลายทาง, ลงรับ {report['receipts_registered']}, "
        f"ส่งคืน {report['receipts_returned']}"
    )
    print(
        f"ปัญหาการออกเลข: {len(report['numbering_problems'])}, "
        f"การละเมิดข้อกำหนด: {len(report['invariant_violations'])}"
    )
    for v in report["invariant_violations"]:
        print(f"  ! {v}")
    print(
        f"หนังสือชั้นความลับ: ส่ง {report['classified_sent']} ฉบับ, "
        f"นายทะเบียนหนังสือลับเปิดอ่านและลงรับ {report['classified_opened']} ฉบับ, "
        f"พบเนื้อหาหรือกุญแจที่ศูนย์กลาง {len(report['classified_leaks'])} รายการ"
    )
    for leak in report["classified_leaks"]:
        print(f"  ! {leak}")
    print(
        f"ส่งถึงกล่องหนังสือเข้าของปลายทาง (p95) {_seconds(report['send_to_inbox_p95_s'])}, "
        f"ผู้ส่งเห็นลงรับ (p95) {_seconds(report['send_to_registered_p95_s'])} "
        f"(วัดจาก {report['deliveries_timed']} ปลายทาง ไม่มีใครกดซิงก์)"
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} วินาที"


def day_shortfalls(report: dict[str, Any]) -> list[str]:
    """What kept the day from full success: empty when every delivery arrived, every
    receipt came back and nothing broke an invariant."""
    shortfalls = []
    if report["deliveries_done"] != report["deliveries_expected"]:
        shortfalls.append(f"deliveries {report['deliveries_done']}/{report['deliveries_expected']}")
    answered = report["receipts_registered"] + report["receipts_returned"]
    if answered != report["receipts_expected"]:
        shortfalls.append(f"receipts {answered}/{report['receipts_expected']}")
    if report["numbering_problems"]:
        shortfalls.append(f"numbering problems {report['numbering_problems']}")
    if report["invariant_violations"]:
        shortfalls.append(f"invariant violations {report['invariant_violations']}")
    if not report["order"].startswith("คำสั่งสำนักงานปลัดกระทรวงมหาดไทย ที่ "):
        shortfalls.append(f"order numbered {report['order']!r}")
    sealed = len(report["classified_subjects"])
    if (report["classified_sent"], report["classified_opened"]) != (sealed, sealed):
        shortfalls.append(
            f"classified letters sent {report['classified_sent']}, "
            f"opened {report['classified_opened']} of {sealed}"
        )
    if report["classified_leaks"]:
        shortfalls.append(f"classified plaintext or keys at the hub {report['classified_leaks']}")
    if report["paper_letter_steps"] != ["register_paper_letter", "minute", "assign"]:
        shortfalls.append(f"paper letter steps {report['paper_letter_steps']}")
    return shortfalls
