"""`saraban retention ...` and `saraban letter keep|borrow|return-loan`: keeping letters.

Keeping (จัดเก็บ) with a retention class, borrowing, the letters due, the 20-year list for
the National Archives, and the destruction list from proposal through the committee's
approval to destruction and its printout. Each command is one call to the node's local
API, run in-process on the node's instance folder (ADR 0004).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from protocol.thai import to_arabic_digits
from scripts.cli.kit import CLIError, Cmd, Groups, Parser, emit, node_api, write_output

KINDS = ("in_progress", "after_done", "reference")


def _year(text: str) -> int:
    """A Buddhist-era year typed with Arabic or Thai digits."""
    digits = to_arabic_digits(text).strip()
    if not digits.isascii() or not digits.isdigit():
        raise argparse.ArgumentTypeError(f"not a Buddhist-era year: {text!r}")
    return int(digits)


def _year_query(args: argparse.Namespace) -> str:
    return f"?year={args.year}" if args.year else ""


def letter_keep(args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"kind": args.kind}
    if args.retention:
        body["retention"] = args.retention
    data = node_api(args).call("POST", f"/api/letters/{args.id}/keep", body)
    emit(data, args.json, lambda d: f"จัดเก็บแล้ว ({d['keep_kind_th']}) {d['keep_until_th']}")


def letter_borrow(args: argparse.Namespace) -> None:
    body = {"borrower": args.by, "due": args.due or "", "note": args.note or ""}
    data = node_api(args).call("POST", f"/api/letters/{args.id}/borrow", body)
    emit(data, args.json, lambda d: f"ยืมโดย {d['borrower']} กำหนดส่งคืน {d['due_th']}")


def letter_return_loan(args: argparse.Namespace) -> None:
    data = node_api(args).call("POST", f"/api/letters/{args.id}/return-loan", {})
    emit(data, args.json, lambda d: "รับคืนแล้ว")


def _letters_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(ไม่มีหนังสือ)"
    return "\n".join(
        f"{r['id']:>5}  {r.get('number') or r.get('receipt_number') or '-':<22} "
        f"{r['letter_date']:<22} {r['keep_until_th']:<18} {r['subject']}"
        + (f"  [บัญชีที่ {r['on_list']}]" if r.get("on_list") else "")
        for r in rows
    )


def retention_list(args: argparse.Namespace) -> None:
    what = "archives" if args.archives else "due"
    data = node_api(args).call("GET", f"/api/retention/{what}{_year_query(args)}")
    emit(data if args.json else data["letters"], args.json, _letters_text)


def retention_loans(args: argparse.Namespace) -> None:
    query = "?overdue=1" if args.overdue else ""
    data = node_api(args).call("GET", f"/api/retention/loans{query}")

    def text(rows: list[dict[str, Any]]) -> str:
        return (
            "\n".join(
                f"{r['letter']:>5}  {r.get('number') or r.get('receipt_number') or '-':<22} "
                f"{r['borrower']:<20} ส่งคืน {r['due_th']}"
                + (f"  เกินกำหนด {r['days_overdue']} วัน" if r["days_overdue"] else "")
                for r in rows
            )
            or "(ไม่มีหนังสือที่ถูกยืม)"
        )

    emit(data if args.json else data["loans"], args.json, text)


def _list_text(d: dict[str, Any]) -> str:
    lines = [f"บัญชีหนังสือขอทำลาย ประจำปี พ.ศ. {d['year']}  (บัญชีที่ {d['id']}: {d['state_th']})"]
    for item in d["items"]:
        lines.append(
            f"{item['position']:>4}. {item['number'] or '-':<22} {item['letter_date']:<22} "
            f"{item['subject']}  {item['decision_th']}"
        )
    return "\n".join(lines)


def retention_propose(args: argparse.Namespace) -> None:
    body = {"year": args.year} if args.year else {}
    emit(node_api(args).call("POST", "/api/retention/lists", body), args.json, _list_text)


def retention_show(args: argparse.Namespace) -> None:
    emit(node_api(args).call("GET", f"/api/retention/lists/{args.list_id}"), args.json, _list_text)


def retention_approve(args: argparse.Namespace) -> None:
    body = {
        "chair": args.chair,
        "members": args.member or [],
        "archives_ref": args.archives_ref,
        "decided_at": args.decided or "",
        "excluded_letter_ids": args.exclude or [],
    }
    if args.extend_years is not None:
        body["extend_years"] = args.extend_years
    data = node_api(args).call("POST", f"/api/retention/lists/{args.list_id}/approve", body)
    emit(data, args.json, _list_text)


def retention_destroy(args: argparse.Namespace) -> None:
    data = node_api(args).call("POST", f"/api/retention/lists/{args.list_id}/destroy", {})
    emit(data, args.json, lambda d: f"ทำลายแล้ว {len(d['destroyed'])} ฉบับ (บัญชีที่ {d['id']})")


def retention_print(args: argparse.Namespace) -> None:
    fmt = Path(args.output).suffix.lower().lstrip(".")
    if fmt not in ("pdf", "xlsx"):
        raise CLIError(f"-o must end in .pdf or .xlsx, not {args.output!r}")
    if args.archives == (args.list_id is not None):
        raise CLIError("give either a destruction LIST_ID or --archives")
    if args.archives:
        year = f"&year={args.year}" if args.year else ""
        path = f"/api/retention/archives/print?format={fmt}{year}"
    else:
        path = f"/api/retention/lists/{args.list_id}/print?format={fmt}"
    written = write_output(args.output, node_api(args).download(path))
    emit({"output": args.output}, args.json, lambda d: written)


def add_commands(groups: Groups, cmd: Cmd) -> None:
    """`saraban retention ...` and the keeping commands of `saraban letter`."""
    letter = groups["letter"]
    c = cmd(letter, "keep", letter_keep, "จัดเก็บ a letter with its retention", "node")
    c.add_argument("id", type=int)
    c.add_argument("--retention", help="years (10, 1, ...) or never (ห้ามทำลาย); default by type")
    c.add_argument("--kind", default="after_done", choices=KINDS, help="kind of keeping")
    c = cmd(letter, "borrow", letter_borrow, "lend a kept letter (การยืม)", "node")
    c.add_argument("id", type=int)
    c.add_argument("--by", required=True, help="the borrower")
    c.add_argument("--due", help="due back, e.g. '30 พฤศจิกายน 2569' (default: LOAN_DAYS)")
    c.add_argument("--note")
    c = cmd(letter, "return-loan", letter_return_loan, "a borrowed letter came back", "node")
    c.add_argument("id", type=int)

    retention = (
        groups["_root"]
        .add_parser("retention", help="keeping, the 20-year list and destruction")
        .add_subparsers(dest="cmd", required=True, parser_class=Parser)
    )
    groups["retention"] = retention
    c = cmd(retention, "list", retention_list, "kept letters expired (or --archives)", "node")
    c.add_argument("--year", type=_year, help="Buddhist-era year (default: this year)")
    c.add_argument("--archives", action="store_true", help="letters reaching 20 years")
    c = cmd(retention, "loans", retention_loans, "letters out on loan", "node")
    c.add_argument("--overdue", action="store_true", help="only those past their due date")
    c = cmd(retention, "propose", retention_propose, "make the บัญชีหนังสือขอทำลาย", "node")
    c.add_argument("--year", type=_year, help="Buddhist-era year (default: this year)")
    c = cmd(retention, "show", retention_show, "one destruction list", "node")
    c.add_argument("list_id", type=int)
    c = cmd(retention, "approve", retention_approve, "record the committee's review", "node")
    c.add_argument("list_id", type=int)
    c.add_argument("--chair", required=True, help="ประธานกรรมการ")
    c.add_argument("--member", action="append", help="กรรมการ (at least two)")
    c.add_argument("--archives-ref", required=True, help="the National Archives' agreement")
    c.add_argument("--decided", help="date of the decision (default: today)")
    c.add_argument("--exclude", type=int, action="append", help="letter id to keep longer")
    c.add_argument("--extend-years", type=int, help="years added for excluded letters")
    c = cmd(retention, "destroy", retention_destroy, "destroy an approved list's letters", "node")
    c.add_argument("list_id", type=int)
    c = cmd(retention, "print", retention_print, "print a destruction list (PDF/xlsx)", "node")
    c.add_argument("list_id", type=int, nargs="?")
    c.add_argument("--archives", action="store_true", help="print the 20-year list instead")
    c.add_argument("--year", type=_year, help="year of the 20-year list (default: this year)")
    c.add_argument("-o", "--output", required=True, help="FILE.pdf or FILE.xlsx")
