"""`saraban letter search`: find letters by words, number or filters, from a terminal.

One call to the node's ``GET /api/search``, run in-process on the node's instance folder
like every letter command. Prints a table (id, number, receipt number, date, stage,
subject) or, with ``--json``, the page as the API returns it.

Does not: validate filter values; the node does, and its Thai message is printed.
"""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlencode

from scripts.cli.kit import Cmd, Groups, emit, node_api

_FILTERS = (
    ("type", "type"),
    ("sub_type", "sub_type"),
    ("speed", "speed"),
    ("secrecy", "secrecy"),
    ("series", "series"),
    ("status", "status"),
    ("direction", "direction"),
    ("date_from", "from"),
    ("date_to", "to"),
    ("page", "page"),
    ("per_page", "per_page"),
)


def search_path(args: argparse.Namespace) -> str:
    """The API path of this search, every value URL-encoded."""
    params: dict[str, Any] = {"q": " ".join(args.query)} if args.query else {}
    for attr, name in _FILTERS:
        value = getattr(args, attr)
        if value not in (None, ""):
            params[name] = value
    return f"/api/search?{urlencode(params)}"


def format_page(page: dict[str, Any]) -> str:
    """A page of results as a plain table, with the count first."""
    total = page["total"]
    found = f"พบ {total:,} ฉบับ" if page["total_exact"] else f"พบมากกว่า {total:,} ฉบับ"
    head = f"{found}  หน้า {page['page']}/{page['pages']}"
    if page.get("recent_only"):
        head += f"  (ค้นคำสั้นเฉพาะหนังสือล่าสุด {page['recent_only']:,} ฉบับ)"
    lines = [head]
    for r in page["items"]:
        number = r.get("number") or "-"
        mark = "*" if r.get("exact_number") else " "
        lines.append(
            f"{r['id']:>7}{mark} {number:<26} {r.get('receipt_number') or '':<7} "
            f"{r.get('letter_date') or '':<20} {r.get('stage_th') or r.get('state') or '':<14} "
            f"{r.get('subject') or ''}"
        )
    if not page["items"]:
        lines.append("(ไม่พบหนังสือ)")
    return "\n".join(lines)


def letter_search(args: argparse.Namespace) -> None:
    """Search the node's letters."""
    emit(node_api(args).call("GET", search_path(args)), args.json, format_page)


def add_commands(groups: Groups, cmd: Cmd) -> None:
    """Add ``letter search``."""
    c = cmd(
        groups["letter"],
        "search",
        letter_search,
        "find letters by words, letter or receipt number, and filters",
        "node",
    )
    c.add_argument(
        "query", nargs="*", help="words, or a number as typed: ชม 0017.3/ว 456 (quotes optional)"
    )
    c.add_argument("--type", help="ภายนอก, ภายใน, ประทับตรา, สั่งการ, ประชาสัมพันธ์, ...")
    c.add_argument("--sub-type", help="คำสั่ง, ประกาศ, ...")
    c.add_argument("--speed", help="ด่วน, ด่วนมาก, ด่วนที่สุด, ด่วนภายใน")
    c.add_argument("--secrecy", help="ลับ, ลับมาก, ลับที่สุด")
    c.add_argument("--series", help="register series (ส่ง, ว, รับ, ลับ, ...) or register id")
    c.add_argument("--status", help="state or stage: registered, assigned, done, ...")
    c.add_argument("--direction", choices=["in", "out"], help="received (in) or sent (out)")
    c.add_argument("--from", dest="date_from", help="from this date (พ.ศ.), e.g. 1/11/2569")
    c.add_argument("--to", dest="date_to", help="to this date (พ.ศ.), e.g. 30/11/2569")
    c.add_argument("--page", type=int, help="page number, from 1")
    c.add_argument("--per-page", type=int, help="results per page (at most 100)")
