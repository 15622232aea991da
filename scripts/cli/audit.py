"""`saraban node audit verify` and `saraban hub audit verify`: check an audit chain.

The node's command reads the node database directly (it runs beside the server, read
only) and checks its chain entry by entry against the head recorded after the last commit
and the head the hub last verified; the hub's checks the hub's own chain of operator,
enrollment, key and alert actions. Each prints one line per problem, naming the entry and
what is wrong, and exits 1; or a Thai and English summary and exits 0.
"""

from __future__ import annotations

import argparse
from typing import Any

from scripts.cli.kit import EXIT_FAILED, Cmd, Groups, emit, instance_dir, thai_time


def _problem_lines(data: dict[str, Any]) -> str:
    return "\n".join(f"audit: {p}" for p in data["problems"])


def node_audit(args: argparse.Namespace) -> int:
    from node.context import NodeContext
    from node.storage.audit import verify_audit
    from node.storage.store import SIDECAR_NAME, read_sidecar
    from node.sync.audit_heads import VERIFIED_SETTING

    instance = instance_dir(args, "node")
    ctx = NodeContext.load(instance)
    with ctx.open_store() as store:
        report = verify_audit(store, read_sidecar(instance / SIDECAR_NAME).get("audit"))
        hub = store.get_setting(VERIFIED_SETTING) or {}
    problems = list(report.problems)
    hub_id = int(hub.get("id") or 0)
    if hub_id > report.last_id:
        problems.append(
            f"entries {report.last_id + 1}-{hub_id} deleted: the hub verified up to entry {hub_id}"
        )
    data = {
        "ok": not problems,
        "entries": report.rows,
        "last_id": report.last_id,
        "head": report.head,
        "problems": problems,
        "hub_verified": hub or None,
    }
    emit(data, args.json, _node_text)
    return 0 if data["ok"] else EXIT_FAILED


def _node_text(data: dict[str, Any]) -> str:
    if not data["ok"]:
        return _problem_lines(data)
    lines = [
        f"ประวัติการใช้งานครบถ้วน ไม่ถูกแก้ไข: {data['entries']:,} รายการ ล่าสุดรายการที่ {data['last_id']}",
        f"audit chain intact: {data['entries']} entries, head {data['head'][:16]}",
    ]
    hub = data.get("hub_verified") or {}
    if hub.get("id"):
        lines.append(
            f"ศูนย์กลางตรวจแล้วถึงรายการที่ {hub['id']} เมื่อ {thai_time(hub.get('at'))}"
            + ("" if hub.get("ok") else " (ศูนย์กลางพบความไม่ต่อเนื่อง)")
        )
    return "\n".join(lines)


def hub_audit(args: argparse.Namespace) -> int:
    from hub.admin.access import open_hub
    from hub.admin.audit import verify_hub_audit

    with open_hub(instance_dir(args, "hub")) as (_, _, store):
        report = verify_hub_audit(store)
    data = {
        "ok": report.ok,
        "entries": report.rows,
        "last_id": report.last_id,
        "head": report.head,
        "problems": report.problems,
    }
    emit(data, args.json, _hub_text)
    return 0 if data["ok"] else EXIT_FAILED


def _hub_text(data: dict[str, Any]) -> str:
    if not data["ok"]:
        return _problem_lines(data)
    return (
        f"ประวัติการดำเนินการของศูนย์กลางครบถ้วน ไม่ถูกแก้ไข: {data['entries']:,} รายการ\n"
        f"hub audit chain intact: {data['entries']} entries, head {data['head'][:16]}"
    )


def add_commands(groups: Groups, cmd: Cmd) -> None:
    """``audit verify`` in the node and hub groups."""
    c = cmd(groups["node"], "audit", node_audit, "check the office's audit chain", "node")
    c.add_argument("action", choices=["verify"])
    c = cmd(groups["hub"], "audit", hub_audit, "check the hub's own audit chain", "hub")
    c.add_argument("action", choices=["verify"])
