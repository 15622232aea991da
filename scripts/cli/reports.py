"""`saraban register print|export` and `saraban letter stamp`: printed registers and the
stamped copy of a received PDF, fetched from the node's API and written to a file.

Does not: render anything itself; the node's API does (see :mod:`node.api.reports`).
"""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote, urlencode

from scripts.cli.kit import Cmd, Groups, emit, node_api, write_output


def _register_path(args: argparse.Namespace, fmt: str) -> str:
    query: dict[str, Any] = {"format": fmt}
    if args.year is not None:
        query["year"] = args.year
    if args.month is not None:
        query["month"] = args.month
    if args.owner:
        query["owner"] = args.owner
    return f"/api/registers/{quote(args.series, safe='')}/print?{urlencode(query)}"


def _save(args: argparse.Namespace, path: str) -> None:
    data = node_api(args).download(path)
    line = write_output(args.output, data)
    emit({"path": args.output, "bytes": len(data)}, args.json, lambda _: line)


def register_print(args: argparse.Namespace) -> None:
    """Print a register as an A4 PDF."""
    _save(args, _register_path(args, "pdf"))


def register_export(args: argparse.Namespace) -> None:
    """Export a register as an Excel workbook."""
    _save(args, _register_path(args, "xlsx"))


def letter_stamp(args: argparse.Namespace) -> None:
    """A received letter's PDF attachment with the receipt stamp."""
    sha = quote(args.attachment.strip(), safe="")
    _save(args, f"/api/letters/{args.id}/attachments/{sha}/stamped")


def _register_args(c: argparse.ArgumentParser, suffix: str) -> None:
    c.add_argument("--series", required=True, help="รับ, ส่ง, ว, คำสั่ง, ประกาศ or ลับ")
    c.add_argument("--year", type=int, help="Buddhist-era year, e.g. 2569 (default: this year)")
    c.add_argument("--month", type=int, help="1-12; the whole year when left out")
    c.add_argument("--owner", help="unit code owning the register (default: the office)")
    c.add_argument("-o", "--output", required=True, help=f"file to write (*.{suffix})")


def add_commands(groups: Groups, cmd: Cmd) -> None:
    """Add the ``register`` group (print, export) and ``letter stamp``."""
    register = groups["register"]
    c = cmd(register, "print", register_print, "print a register as an A4 PDF", "node")
    _register_args(c, "pdf")
    c = cmd(register, "export", register_export, "export a register as Excel (xlsx)", "node")
    _register_args(c, "xlsx")
    c = cmd(
        groups["letter"],
        "stamp",
        letter_stamp,
        "a received PDF attachment with the receipt stamp (ตรารับ)",
        "node",
    )
    c.add_argument("id", type=int, help="the received letter's id")
    c.add_argument("--attachment", required=True, help="SHA-256 of the PDF attachment")
    c.add_argument("-o", "--output", required=True, help="file to write (*.pdf)")
