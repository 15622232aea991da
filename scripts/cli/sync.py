"""`saraban node sync`: one round with the hub now, told in Thai (or as JSON with --json).

The summary says what the round did: what went up to the hub and what the hub took, what
came down, the letters that arrived, provisional numbers the hub made final, attachments,
blocks of shared numbers, numbers changed after an old copy, and, when the round failed,
why in the words of the clerk's sync badge (:data:`node.web.sync.FAILURE_TH`) and when the
node tries again. The letters that arrived and the numbers made final are what the node's
status counted before and after the round (``GET /api/status``); the rest is the round's
own result (``POST /api/sync``, :class:`node.sync.state.SyncResult`), which ``--json``
prints as it is.

A failed round prints its summary too, then one line on stderr, and exits 1.

Does not: run the round itself (the node's API does) or decide when to retry.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from node.web.sync import FAILURE_TH
from protocol.thai import format_thai_datetime
from scripts.cli.kit import CLIError, emit
from scripts.cli.kit import node_api as _node

ERRORS_TH: dict[str, str] = {
    **FAILURE_TH,
    "clock_refused": "ศูนย์กลางไม่รับเวลาของเครื่องนี้ (นาฬิกาคลาดเคลื่อน)",
    "key_refused": "ศูนย์กลางไม่รับลายมือชื่อของเครื่องนี้ (กุญแจถูกเลิกใช้)",
    "disk_full": "บันทึกข้อมูลลงเครื่องนี้ไม่ได้ เพราะดิสก์เต็ม",
    "disk_read_only": "บันทึกข้อมูลลงเครื่องนี้ไม่ได้ เพราะดิสก์เขียนไม่ได้",
    "stale_directory": ("ศูนย์กลางส่งทะเบียนหน่วยงานฉบับเก่ากว่าที่เครื่องนี้มี เครื่องจึงไม่รับ ให้แจ้งผู้ดูแลศูนย์กลาง"),
}
"""Why a round failed, by its ``error_code``: the badge's words, and a few more."""


def node_sync(args: argparse.Namespace) -> None:
    """Run one round now; print the Thai summary (or the round's JSON); exit 1 if it failed."""
    node = _node(args)
    before = None if args.json else node.call("GET", "/api/status")
    result = node.call("POST", "/api/sync", {})
    if args.json:
        emit(result, True, str)
    else:
        after = node.call("GET", "/api/status")
        print(sync_summary(result, before or {}, after))
    if not result.get("ok", False):
        error = result.get("error") or "hub unreachable"
        raise CLIError(f"ซิงค์ไม่สำเร็จ: {failure_th(result)} (sync failed: {error})")


def failure_th(result: dict[str, Any]) -> str:
    """Why the round failed, in one Thai phrase."""
    code = str(result.get("error_code") or "")
    if code == "push_rejected":
        first = (result.get("rejected") or [{}])[0]
        return f"ศูนย์กลางไม่รับรายการลำดับที่ {first.get('seq', '?')} ({first.get('reason', '')})"
    if code == "held":
        senders = ", ".join(result.get("held_from") or []) or "?"
        return (
            f"มีซองเอกสาร {int(result.get('held') or 0)} ซองจาก {senders} ที่ตรวจลายมือชื่อไม่ผ่าน"
            " เครื่องพักไว้และจะตรวจใหม่ทุกครั้งที่ซิงค์"
        )
    return ERRORS_TH.get(code) or f"ส่ง-รับกับศูนย์กลางไม่สำเร็จ (รหัส {code or 'error'})"


def _count(data: dict[str, Any], *path: str) -> int:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return int(value) if isinstance(value, int | float) else 0


def _when(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or not seconds:
        return ""
    return format_thai_datetime(datetime.fromtimestamp(float(seconds), UTC))


def sync_summary(result: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> str:
    """The round (``result``) as Thai lines; ``before`` and ``after`` are the node's status
    around it (``{}`` when not known)."""
    office = after.get("office") or before.get("office") or ""
    done_at = _when(result.get("finished_at"))
    if result.get("ok"):
        head = f"ซิงค์กับศูนย์กลางเรียบร้อย {office}".rstrip()
    elif result.get("online") and result.get("error_code") in ("push_rejected", "held"):
        head = f"ซิงค์กับศูนย์กลางแล้ว แต่ยังมีปัญหา {office}".rstrip()
    else:
        head = f"ซิงค์กับศูนย์กลางไม่สำเร็จ {office}".rstrip()
    lines = [f"{head} ({done_at})" if done_at else head]
    if result.get("online") or result.get("pushed") or result.get("pulled"):
        lines += _counts(result, before, after)
    lines += _extras(result)
    if not result.get("ok"):
        lines.append(f"สาเหตุ: {failure_th(result)}")
        retry = _when(result.get("next_attempt"))
        if retry and result.get("error_code") not in ("push_rejected", "held"):
            lines.append(f"เครื่องที่เปิดบริการอยู่จะลองใหม่เองเมื่อ {retry}")
    if waiting := _count(after, "outbox_clerks"):
        lines.append(f"หนังสือรอส่งอยู่ในเครื่อง {waiting} รายการ")
    lines += [f"คำเตือน: {w}" for w in result.get("warnings") or [] if isinstance(w, str)]
    return "\n".join(lines)


def _counts(result: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What went up and came down, the letters that arrived and the numbers made final."""
    lines = []
    pushed, accepted, duplicates = (_count(result, k) for k in ("pushed", "accepted", "duplicates"))
    rejected = len(result.get("rejected") or [])
    lines.append(
        f"ส่งขึ้นศูนย์กลาง {pushed} รายการ: ศูนย์กลางรับ {accepted} เคยรับไว้แล้ว {duplicates} ไม่รับ {rejected}"
    )
    lines.append(
        f"รับจากศูนย์กลาง {_count(result, 'pulled')} รายการ: บันทึกใหม่ {_count(result, 'applied')}"
    )
    if before and after:
        arrived = _count(after, "counts", "received") - _count(before, "counts", "received")
        lines.append(f"หนังสือเข้าใหม่ {max(arrived, 0)} ฉบับ")
        finalised = _count(before, "provisional_pending") - _count(after, "provisional_pending")
        lines.append(f"เลขชั่วคราวที่ได้เลขจริงจากศูนย์กลาง {max(finalised, 0)} เลข")
    return lines


def _extras(result: dict[str, Any]) -> list[str]:
    """The lines of what a round does only sometimes; none when it did not."""
    lines = []
    uploaded, downloaded = len(result.get("uploaded") or []), len(result.get("downloaded") or [])
    if uploaded or downloaded:
        lines.append(f"ไฟล์แนบ: ส่งขึ้น {uploaded} ไฟล์ รับลง {downloaded} ไฟล์")
    if leases := len(result.get("leases") or []):
        lines.append(f"ได้รับช่วงเลขของทะเบียนร่วมจากศูนย์กลาง {leases} ทะเบียน")
    if caught_up := _count(result, "caught_up"):
        lines.append(f"รับรายการของหน่วยงานเองคืนจากศูนย์กลาง {caught_up} รายการ (เครื่องนี้ตามหลัง)")
    rebased = result.get("rebased") or {}
    if renumbered := rebased.get("renumbered") if isinstance(rebased, dict) else None:
        changed = ", ".join(f"{r.get('old')} → {r.get('new')}" for r in renumbered)
        lines.append(f"เปลี่ยนเลขที่ซ้ำกับที่ออกไปแล้ว (เครื่องเริ่มจากสำเนาเก่า): {changed}")
    if voided := len(result.get("lost_voided") or []):
        lines.append(f"ยกเลิกเลขที่ออกแล้วแต่สูญหายก่อนถึงศูนย์กลาง {voided} เลข")
    if released := _count(result, "released"):
        lines.append(f"ซองที่พักไว้ตรวจลายมือชื่อผ่านแล้ว {released} ซอง")
    return lines
