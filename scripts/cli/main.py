"""The `saraban` command: a thin layer that parses arguments, calls hub/node and prints.

Every failure ends in one line on stderr and a non-zero exit; data commands take --json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hub.errors import HubError
from node.errors import NodeError
from protocol.errors import SarabanError
from scripts.cli.kit import EXIT_FAILED, CLIError, Groups, Parser, emit, instance_dir
from scripts.cli.kit import node_api as _node
from scripts.cli.logs import LOG_LEVELS, log_to_stderr
from scripts.nodeapi import NodeAPIError

COMMAND_MODULES: tuple[str, ...] = (
    "scripts.cli.enrolment",
    "scripts.cli.letters",
    "scripts.cli.retention",
    "scripts.cli.reports",
    "scripts.cli.search",
    "scripts.cli.accounts",
    "scripts.cli.hub",
    "scripts.cli.hub_admin",
    "scripts.cli.audit",
    "scripts.cli.doctor",
    "scripts.cli.portal",
)
"""Modules adding command groups through ``add_commands(groups, cmd)``."""


# ---- hub -------------------------------------------------------------------------------


def hub_init(args: argparse.Namespace) -> None:
    from hub.admin.instance import init_hub

    info = init_hub(instance_dir(args, "hub"))
    emit(info, args.json, lambda d: f"hub initialised in {instance_dir(args, 'hub')}")


def hub_serve(args: argparse.Namespace) -> None:
    from scripts.serving import serve_hub

    log_to_stderr(args.log_level)
    serve_hub(instance_dir(args, "hub"), args.host, args.port, args.threads, args.portal_bind)


def hub_enroll(args: argparse.Namespace) -> None:
    from hub.admin.tokens import issue_enrollment_token

    token = issue_enrollment_token(instance_dir(args, "hub"), args.office, args.ttl_hours)
    emit(
        {"office": args.office, "token": token, "expires_in_hours": args.ttl_hours},
        args.json,
        lambda d: d["token"],
    )


def hub_share(args: argparse.Namespace) -> None:
    from hub.admin.offices import add_shared_register

    add_shared_register(
        instance_dir(args, "hub"), args.owner, args.series, args.members, args.basis
    )
    emit({"ok": True}, args.json, lambda d: f"shared register {args.owner}|{args.series} set")


# ---- node ------------------------------------------------------------------------------


def node_serve(args: argparse.Namespace) -> None:
    from scripts.serving import serve_node

    log_to_stderr(args.log_level)
    serve_node(instance_dir(args, "node"), args.host, args.port, threads=args.threads)


def node_status(args: argparse.Namespace) -> None:
    data = _node(args).call("GET", "/api/status")
    emit(data, args.json, _status_text)


def _status_text(data: dict[str, Any]) -> str:
    # What needs doing (a clock the hub refuses, a disk that cannot be written) comes first.
    warnings = [f"คำเตือน: {w}" for w in data.get("warnings") or []]
    return "\n".join([*warnings, json.dumps(data, ensure_ascii=False, indent=2)])


def node_restore(args: argparse.Namespace) -> None:
    from node.sync.restore import restore_from_hub

    info = restore_from_hub(instance_dir(args, "node"))
    emit(info, args.json, format_restore)


def format_restore(info: dict[str, Any]) -> str:
    """What a restore rebuilt, kept and voided, in Thai lines a clerk can check."""
    lines = [
        f"กู้คืน {info['office']} จากศูนย์กลางแล้ว: หนังสือ {info['letters']} ฉบับ, "
        f"รายการทะเบียน {info['register_entries']} รายการ",
    ]
    carried = info.get("carried_over") or []
    if carried:
        lines.append(f"หนังสือที่ยังไม่ถึงศูนย์กลางและเก็บไว้ส่งใหม่ {len(carried)} ฉบับ:")
        for c in carried:
            replaced = f" (แทนเลข {c['replaced']})" if c.get("replaced") else ""
            lines.append(f"  {c['number'] or '-'}{replaced} {c['subject']}")
    for v in info.get("lost_numbers_voided") or []:
        lines.append(f"ยกเลิกเลข {v['number']} ของทะเบียน {v['register']} (ออกแล้วแต่สูญหาย)")
    if info.get("previous_database"):
        lines.append(f"ฐานข้อมูลเดิมเก็บไว้ที่ {info['previous_database']}")
    return "\n".join(lines)


# ---- demo ------------------------------------------------------------------------------


def demo(args: argparse.Namespace) -> int:
    from scripts.demo import run_demo

    return run_demo(once=args.once, as_json=args.json, workdir=Path(args.workdir))


# The commands below import what they need when they run: `saraban node serve` should not
# load the hub's store (and its PostgreSQL driver), nor the hub the node's pages.


def hub_report(args: argparse.Namespace) -> None:
    from scripts.cli.numbering import hub_report as report

    report(args)


def hub_reconcile(args: argparse.Namespace) -> None:
    from scripts.cli.numbering import hub_reconcile as reconcile

    reconcile(args)


def node_sync(args: argparse.Namespace) -> None:
    from scripts.cli.sync import node_sync as sync

    sync(args)


# ---- parser ----------------------------------------------------------------------------

LOG_HELP = "log at this level and above to stderr (the journal under systemd); default: warnings"


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    p = Parser(prog="saraban", description="Saraban e-correspondence federation")
    sub = p.add_subparsers(dest="group", required=True, parser_class=Parser)

    def cmd(parent: Any, name: str, fn: Callable[..., Any], help_: str, kind: str) -> Any:
        c = parent.add_parser(name, help=help_)
        c.set_defaults(fn=fn)
        c.add_argument("--instance", help=f"{kind} instance folder (default instance/{kind})")
        c.add_argument("--json", action="store_true", help="print JSON")
        return c

    hub = sub.add_parser("hub", help="the ministry hub").add_subparsers(
        dest="cmd", required=True, parser_class=Parser
    )
    cmd(hub, "init", hub_init, "create the hub instance, keys and directory", "hub")
    c = cmd(hub, "serve", hub_serve, "serve the hub API (cheroot)", "hub")
    c.add_argument("--host", help="default: setting HOST (127.0.0.1)")
    c.add_argument("--port", type=int, help="default: setting PORT (8700)")
    c.add_argument("--threads", type=int, help="default: setting THREADS (8)")
    c.add_argument("--log-level", choices=LOG_LEVELS, help=LOG_HELP)
    c.add_argument("--portal-bind", help="HOST:PORT of the portal too (setting PORTAL_BIND)")
    c = cmd(hub, "enroll", hub_enroll, "issue a one-time enrollment token", "hub")
    c.add_argument("office", help="office id, e.g. 'ชม 0017'")
    c.add_argument("--ttl-hours", type=int, default=72)
    c = cmd(hub, "report", hub_report, "reports: numbering", "hub")
    c.add_argument("report", choices=["numbering"])
    cmd(
        hub,
        "reconcile",
        hub_reconcile,
        "make today's numbering report now; print what got worse",
        "hub",
    )
    c = cmd(hub, "share", hub_share, "make a register shared (leased by the hub)", "hub")
    c.add_argument("owner")
    c.add_argument("series")
    c.add_argument("--members", nargs="+", required=True)
    c.add_argument("--basis", choices=["calendar", "fiscal"], default="calendar")

    node = sub.add_parser("node", help="an office node").add_subparsers(
        dest="cmd", required=True, parser_class=Parser
    )
    c = cmd(node, "serve", node_serve, "serve the node (waitress) with its scheduler", "node")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, default=8800)
    c.add_argument("--threads", type=int, default=4)
    c.add_argument("--log-level", choices=LOG_LEVELS, help=LOG_HELP)
    cmd(node, "sync", node_sync, "push and pull now", "node")
    cmd(node, "status", node_status, "outbox, last sync, counts", "node")
    cmd(node, "restore", node_restore, "rebuild this node from its feed at the hub", "node")

    letter = sub.add_parser("letter", help="letters at a node").add_subparsers(
        dest="cmd", required=True, parser_class=Parser
    )

    register = sub.add_parser(
        "register", help="numbering registers: list, reserve, void, print, export"
    ).add_subparsers(dest="cmd", required=True, parser_class=Parser)

    groups: Groups = {
        "_root": sub,
        "hub": hub,
        "node": node,
        "letter": letter,
        "register": register,
    }
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(groups, cmd)

    d = sub.add_parser("demo", help="a hub and 19 nodes playing a working day")
    d.set_defaults(fn=demo)
    d.add_argument("--once", action="store_true", help="play the day, report and exit")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.add_argument("--workdir", default="demo-run", help="where instances are created")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `saraban` console script."""
    args = build_parser().parse_args(argv)
    try:
        result = args.fn(args)
    except KeyboardInterrupt:
        return 130
    except NodeError as e:
        print(f"saraban: {e.message_th} ({e.reason}; {e.code})", file=sys.stderr)
        return EXIT_FAILED
    except HubError as e:
        message_th = getattr(e, "message_th", None)  # the console's refusals say it in Thai
        print(f"saraban: {message_th} ({e})" if message_th else f"saraban: {e}", file=sys.stderr)
        return EXIT_FAILED
    except (CLIError, NodeAPIError, SarabanError, OSError, ValueError) as e:
        print(f"saraban: {e}", file=sys.stderr)
        return EXIT_FAILED
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
