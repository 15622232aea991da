"""`saraban letter ...` and `saraban unit ...`: correspondence at a node, from a terminal.

Each command is one call to the node's local API, run in-process on the node's instance
folder (ADR 0004), so it works whether or not the node is serving.
"""

from __future__ import annotations

import argparse
import base64
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import quote

from protocol.lettertypes import LETTER_TYPES, SECRECY_CLASSES, SPEED_CLASSES
from scripts.cli.kit import CLIError, Cmd, Groups, Parser, emit, node_api, thai_time
from scripts.nodeapi import NodeAPIError


def _attachment(path: str) -> dict[str, str]:
    p = Path(path)
    if not p.is_file():
        raise CLIError(f"attachment not found: {path}")
    media = mimetypes.guess_type(p.name)[0] or "application/octet-stream"
    return {
        "name": p.name,
        "media_type": media,
        "content_base64": base64.b64encode(p.read_bytes()).decode("ascii"),
    }


def _draft(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "subject": args.subject,
        "letter_type": args.type,
        "sub_type": args.sub_type,
        "speed": args.speed,
        "deadline": args.deadline,
        "secrecy": args.secrecy,
        "recipients": args.to or [],
        "lists": args.list or [],
        "parties": args.party or [],
        "unit": args.unit,
        "series": args.series,
        "body": args.body or "",
        "salutation": args.salutation or "",
        "sender": args.sender or "",
        "references": args.ref or [],
        "enclosures": args.enclosure or [],
        "attachments": [_attachment(a) for a in args.attach or []],
    }


def _sent_line(d: dict[str, Any]) -> str:
    return f"{d.get('number') or '-'}  {d.get('state')}  id={d['id']}"


def letter_send(args: argparse.Namespace) -> None:
    body = {**_draft(args), "method": args.method or ""}
    emit(node_api(args).call("POST", "/api/letters", body), args.json, _sent_line)


def letter_compose(args: argparse.Namespace) -> None:
    data = node_api(args).call("POST", "/api/drafts", _draft(args))
    emit(data, args.json, lambda d: f"ร่างหนังสือแล้ว id={d['id']}")


def letter_number(args: argparse.Namespace) -> None:
    body = {"reserved_number": args.reserved} if args.reserved else {}
    data = node_api(args).call("POST", f"/api/letters/{args.id}/number", body)
    emit(data, args.json, lambda d: f"ออกเลขแล้ว {d['number']} ลงวันที่ {d['letter_date']}")


def letter_dispatch(args: argparse.Namespace) -> None:
    body = {"method": args.method or "", "note": args.note or ""}
    data = node_api(args).call("POST", f"/api/letters/{args.id}/dispatch", body)
    emit(data, args.json, _sent_line)


def _letter_rows(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(ไม่มีหนังสือ)"
    return "\n".join(
        f"{r['id']:>5}  {r.get('number') or r.get('receipt_number') or '-':<22} "
        f"{r.get('speed') or '':<10} {r.get('stage_th') or r.get('state', ''):<14} "
        f"{r.get('subject', '')}"
        for r in rows
    )


def letter_inbox(args: argparse.Namespace) -> None:
    data = node_api(args).call("GET", f"/api/letters?box={args.box}")
    emit(data["letters"], args.json, _letter_rows)


def letter_register(args: argparse.Namespace) -> None:
    data = node_api(args).call("POST", f"/api/letters/{args.id}/register", {})
    emit(data, args.json, lambda d: f"ลงรับแล้ว เลขรับ {d['receipt_number']}")


def letter_paper(args: argparse.Namespace) -> None:
    body = {
        "subject": args.subject,
        "origin": args.origin,
        "number": args.number or "",
        "letter_date": args.date or "",
        "addressee": args.addressee or "",
        "secrecy": args.secrecy,
        "speed": args.speed,
        "letter_type": args.type,
        "sub_type": args.sub_type,
        "attachments": [_attachment(a) for a in args.scan or []],
        "confirm_duplicate": args.confirm_duplicate,
    }
    try:
        data = node_api(args).call("POST", "/api/paper-letters", body)
    except NodeAPIError as e:
        if e.code != "possible_duplicate":
            raise
        raise CLIError(
            f"{e.message_th} — หากเป็นหนังสือคนละฉบับ ให้สั่งอีกครั้งพร้อม --confirm-duplicate"
        ) from e
    emit(data, args.json, lambda d: f"ลงรับแล้ว เลขรับ {d['receipt_number']} id={d['id']}")


def letter_return(args: argparse.Namespace) -> None:
    data = node_api(args).call("POST", f"/api/letters/{args.id}/return", {"reason": args.reason})
    emit(data, args.json, lambda d: "ส่งคืนแล้ว")


def letter_minute(args: argparse.Namespace) -> None:
    body = {"text": args.text, "instruction": args.instruction or "", "by": args.by or ""}
    data = node_api(args).call("POST", f"/api/letters/{args.id}/minute", body)
    emit(data, args.json, lambda d: "เกษียนแล้ว")


def letter_assign(args: argparse.Namespace) -> None:
    body = {"to": args.to, "note": args.note or ""}
    data = node_api(args).call("POST", f"/api/letters/{args.id}/{args.cmd}", body)
    verb = "ส่งต่อ" if args.cmd == "forward" else "มอบหมาย"
    emit(data, args.json, lambda d: f"{verb}ให้ {d['to']} แล้ว")


def letter_done(args: argparse.Namespace) -> None:
    data = node_api(args).call("POST", f"/api/letters/{args.id}/done", {"note": args.note or ""})
    emit(data, args.json, lambda d: "บันทึกว่าดำเนินการแล้ว")


def letter_track(args: argparse.Namespace) -> None:
    data = node_api(args).call("GET", f"/api/letters/{args.id}")

    def text(d: dict[str, Any]) -> str:
        lines = [f"{d.get('number') or '-'}  {d.get('subject')}"]
        for r in d.get("tracking", []):
            lines.append(
                f"  {r['office']:<10} {r['state']:<12} {r.get('receipt_number') or '':<8} "
                f"{thai_time(r.get('at'))} {r.get('reason') or ''}"
            )
        return "\n".join(lines)

    emit(data, args.json, text)


def letter_history(args: argparse.Namespace) -> None:
    data = node_api(args).call("GET", f"/api/letters/{args.id}/history")

    def text(d: dict[str, Any]) -> str:
        lines = []
        for h in d["history"]:
            detail = " ".join(f"{k}={v}" for k, v in h["detail"].items() if v)
            lines.append(f"{h['at_th']}  {h['actor']:<12} {h['action_th']:<18} {detail}")
        return "\n".join(lines) or "(ไม่มีประวัติ)"

    emit(data, args.json, text)


def unit_list(args: argparse.Namespace) -> None:
    data = node_api(args).call("GET", "/api/units?all=1")
    emit(
        data["units"],
        args.json,
        lambda rows: "\n".join(
            f"{u['code']:<14} {u['name']}{'' if u['active'] else '  (ไม่ใช้งาน)'}" for u in rows
        ),
    )


def unit_save(args: argparse.Namespace) -> None:
    body = {
        "code": args.code,
        "name": args.name,
        "issuer": args.issuer or "",
        "active": not args.inactive,
    }
    data = node_api(args).call("POST", "/api/units", body)
    emit(data, args.json, lambda d: f"{d['code']}  {d['name']}")


def register_list(args: argparse.Namespace) -> None:
    data = node_api(args).call("GET", "/api/registers")

    def text(rows: list[dict[str, Any]]) -> str:
        lines = [f"{'ทะเบียน':<28} {'ปี':>5} {'เลขล่าสุด':>9} {'รายการ':>7}"]
        for r in rows:
            shared = "  (ทะเบียนร่วม)" if r["shared"] else ""
            lines.append(
                f"{r['owner'] + ' ' + r['series']:<28} {r['year']:>5} {r['high']:>9} "
                f"{r['count']:>7}{shared}"
            )
        return "\n".join(lines)

    emit(data["registers"], args.json, text)


def register_reserve(args: argparse.Namespace) -> None:
    path = f"/api/registers/{quote(args.series)}/reserve"
    data = node_api(args).call("POST", path, {"reason": args.reason or ""})
    emit(data, args.json, lambda d: f"จองเลข {d['display']} แล้ว")


def register_void(args: argparse.Namespace) -> None:
    body = {"number": args.number, "reason": args.reason}
    path = f"/api/registers/{quote(args.series)}/void"
    data = node_api(args).call("POST", path, body)
    emit(data, args.json, lambda d: f"ยกเลิกเลข {d['number']} แล้ว: {d['reason']}")


def _letter_fields(c: argparse.ArgumentParser) -> None:
    c.add_argument("--subject", required=True, help="เรื่อง")
    c.add_argument("--type", default="ภายนอก", choices=LETTER_TYPES, help="ชนิดหนังสือ")
    c.add_argument("--sub-type", help="คำสั่ง, ระเบียบ, ข้อบังคับ, ประกาศ, แถลงการณ์, ข่าว, ...")
    c.add_argument("--speed", default="", choices=SPEED_CLASSES, help="ชั้นความเร็ว")
    c.add_argument("--deadline", help="for ด่วนภายใน: ISO date-time, e.g. 2026-11-25T16:00+07:00")
    c.add_argument("--secrecy", default="", choices=SECRECY_CLASSES, help="ชั้นความลับ")
    c.add_argument("--to", nargs="*", help="office ids, e.g. 'ชร 0017'")
    c.add_argument("--list", nargs="*", help="distribution list names (หนังสือเวียน)")
    c.add_argument("--party", nargs="*", help="addressees outside the federation (on paper)")
    c.add_argument("--unit", help="owning unit code, e.g. 'ชม 0017.3'")
    c.add_argument("--series", help="register series: ส่ง, ว, คำสั่ง, ประกาศ")
    c.add_argument("--body")
    c.add_argument("--salutation", help="เรียน / ถึง")
    c.add_argument("--sender", help="จาก")
    c.add_argument("--ref", nargs="*", help="อ้างถึง")
    c.add_argument("--enclosure", nargs="*", help="สิ่งที่ส่งมาด้วย")
    c.add_argument("--attach", nargs="*", help="files to attach")


def add_commands(groups: Groups, cmd: Cmd) -> None:
    """The letter and unit commands."""
    letter = groups["letter"]
    c = cmd(letter, "send", letter_send, "compose, number and send in one step", "node")
    _letter_fields(c)
    c.add_argument("--method", help="paper dispatch method, for --party")
    c = cmd(letter, "compose", letter_compose, "keep a new draft (ร่างหนังสือ)", "node")
    _letter_fields(c)
    c = cmd(letter, "number", letter_number, "issue the draft's number (ออกเลข)", "node")
    c.add_argument("id", type=int)
    c.add_argument("--reserved", type=int, help="use this reserved (จอง) number")
    c = cmd(letter, "dispatch", letter_dispatch, "send a numbered letter", "node")
    c.add_argument("id", type=int)
    c.add_argument("--method", help="paper dispatch method (ไปรษณีย์ลงทะเบียน, ...)")
    c.add_argument("--note", help="e.g. the postal tracking number")
    c = cmd(letter, "inbox", letter_inbox, "letters received (or --box sent/drafts/all)", "node")
    c.add_argument("--box", default="inbox", choices=["inbox", "sent", "drafts", "all"])
    c = cmd(letter, "register", letter_register, "register (ลงรับ) a received letter", "node")
    c.add_argument("id", type=int)
    c = cmd(letter, "paper", letter_paper, "register a letter that came on paper", "node")
    c.add_argument("--subject", required=True, help="เรื่อง")
    c.add_argument("--from", dest="origin", required=True, help="จาก: who sent it")
    c.add_argument("--number", help="the letter's own number (ที่)")
    c.add_argument("--date", help="ลงวันที่, e.g. '20 พฤศจิกายน 2569'")
    c.add_argument("--addressee", help="ถึง / เรียน")
    c.add_argument("--type", default="ภายนอก", choices=LETTER_TYPES)
    c.add_argument("--sub-type")
    c.add_argument("--speed", default="", choices=SPEED_CLASSES)
    c.add_argument("--secrecy", default="", choices=SECRECY_CLASSES)
    c.add_argument("--scan", nargs="*", help="scanned pages (PDF)")
    c.add_argument(
        "--confirm-duplicate",
        action="store_true",
        help="register it although it looks registered (same sender and number, or date, subject)",
    )
    c = cmd(letter, "return", letter_return, "return (ส่งคืน) a letter with a reason", "node")
    c.add_argument("id", type=int)
    c.add_argument("--reason", required=True)
    c = cmd(letter, "minute", letter_minute, "เกษียน: a superior's minute", "node")
    c.add_argument("id", type=int)
    c.add_argument("--text", required=True, help="the minute")
    c.add_argument("--instruction", help="สั่งการ")
    c.add_argument("--by", help="who wrote it")
    for name, help_ in (("assign", "มอบหมาย to a division or person"), ("forward", "ส่งต่อ")):
        c = cmd(letter, name, letter_assign, help_, "node")
        c.add_argument("id", type=int)
        c.add_argument("--to", required=True)
        c.add_argument("--note")
    c = cmd(letter, "done", letter_done, "ดำเนินการแล้ว", "node")
    c.add_argument("id", type=int)
    c.add_argument("--note")
    c = cmd(letter, "track", letter_track, "every recipient's state of a sent letter", "node")
    c.add_argument("id", type=int)
    c = cmd(letter, "history", letter_history, "every step of a letter: who and when", "node")
    c.add_argument("id", type=int)

    register = groups["register"]
    cmd(register, "list", register_list, "every register: year, last number, entries", "node")
    c = cmd(register, "reserve", register_reserve, "จองเลข: reserve the next number", "node")
    c.add_argument("series", help="ส่ง, ว, คำสั่ง, ประกาศ")
    c.add_argument("--reason")
    c = cmd(register, "void", register_void, "ยกเลิกเลข: void a number with a reason", "node")
    c.add_argument("series")
    c.add_argument("number", type=int)
    c.add_argument("--reason", required=True)

    unit = (
        groups["_root"]
        .add_parser("unit", help="the office's units and letter codes")
        .add_subparsers(dest="cmd", required=True, parser_class=Parser)
    )
    groups["unit"] = unit
    cmd(unit, "list", unit_list, "the office and its divisions", "node")
    c = cmd(unit, "save", unit_save, "add or rename a division (code and name)", "node")
    c.add_argument("code", help="e.g. 'ชม 0017.3'")
    c.add_argument("name")
    c.add_argument("--issuer", help="issuer in order numbers, e.g. 'จังหวัดเชียงใหม่'")
    c.add_argument("--inactive", action="store_true")
