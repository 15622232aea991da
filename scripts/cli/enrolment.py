"""`saraban node init` and `saraban node rekey`: enrolling an office, re-enrolling one that
lost its key, and a working office's next signing key (ADR 0018).

The enrollment token is a secret: it is read from standard input (`--token -`, asked for
without echo on a terminal), from a file (`--token-file PATH`) or from the environment
(`SARABAN_ENROLL_TOKEN`), never from the command line, where every user of the machine
can read it in the process list. A token written there is refused, in one line saying how
to pass it, before anything is sent.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from scripts.cli.kit import CLIError, Cmd, Groups, emit, instance_dir

TOKEN_ENV = "SARABAN_ENROLL_TOKEN"  # noqa: S105 - the variable's name, not a secret
FROM_STDIN = "-"
HOW_TO_GIVE_TH = (
    "ใช้ --token - แล้วพิมพ์หรือส่งรหัสทาง stdin, --token-file PATH หรือตัวแปร SARABAN_ENROLL_TOKEN"
)
HOW_TO_GIVE_EN = "use --token - (typed or piped in), --token-file PATH or SARABAN_ENROLL_TOKEN"
REFUSED_ON_ARGV = (
    "ไม่รับรหัสลงทะเบียนในบรรทัดคำสั่ง เพราะผู้ใช้อื่นในเครื่องเห็นได้ในรายการโปรเซส "
    f"{HOW_TO_GIVE_TH} / the enrollment token is never taken from the command line, where"
    f" others see it in the process list: {HOW_TO_GIVE_EN}"
)


def read_token(args: argparse.Namespace) -> str:
    """The enrollment token from stdin, a file or the environment; a token given on the
    command line itself is refused."""
    if args.token is not None and args.token != FROM_STDIN:
        raise CLIError(REFUSED_ON_ARGV)
    if args.token == FROM_STDIN and args.token_file:
        raise CLIError("give the token one way: --token - or --token-file, not both")
    if args.token == FROM_STDIN:
        if sys.stdin.isatty():
            text = getpass.getpass("รหัสลงทะเบียน (enrollment token): ")
        else:
            text = sys.stdin.readline()
    elif args.token_file:
        try:
            text = Path(args.token_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CLIError(f"cannot read the token file {args.token_file}: {e}") from e
    else:
        text = os.environ.get(TOKEN_ENV, "")
        if not text:
            raise CLIError(f"ต้องมีรหัสลงทะเบียน: {HOW_TO_GIVE_TH} / no token: {HOW_TO_GIVE_EN}")
    token = text.strip()
    if not token:
        raise CLIError(f"รหัสลงทะเบียนว่าง / the enrollment token is empty: {HOW_TO_GIVE_EN}")
    return token


def node_init(args: argparse.Namespace) -> None:
    from node.sync.enrolment import init_node

    if not args.reenroll and not (args.hub and args.office):
        raise CLIError("--hub and --office are needed (a re-enrolment takes them from the folder)")
    token = read_token(args)
    info = init_node(
        instance_dir(args, "node"), args.hub or "", args.office or "", token, reenroll=args.reenroll
    )
    emit(info, args.json, _init_text)


def _init_text(info: dict[str, Any]) -> str:
    if info.get("reenrolled"):
        return (
            f"node {info['office']} re-enrolled at {info['hub_url']} with key {info['keyid']}"
            " (the old key is retired)"
        )
    return f"node {info['office']} enrolled at {info['hub_url']}"


def node_rekey(args: argparse.Namespace) -> None:
    from node.sync.rekey import rekey_node

    emit(rekey_node(instance_dir(args, "node")), args.json, format_rekey)


def format_rekey(info: dict[str, Any]) -> str:
    """What a rekey did, in one Thai line."""
    retired = info.get("retired") or {}
    after = retired.get("last_seq")
    until = f" (ใช้ตรวจได้เฉพาะที่ลงนามถึงลำดับที่ {after})" if after is not None else ""
    seal = info.get("seal_keyid")
    sealed = f" กุญแจปิดผนึกหนังสือลับใหม่ {seal} (หนังสือลับที่ปิดผนึกด้วยกุญแจเดิมยังเปิดได้)" if seal else ""
    return (
        f"เปลี่ยนกุญแจลงนามของ {info['office']} แล้ว: กุญแจใหม่ {info['keyid']}"
        f" ลายนิ้วมือ {info['fingerprint']} กุญแจเดิม {retired.get('keyid', '-')} เลิกใช้{until}"
        f"{sealed} ทะเบียนหน่วยงานฉบับที่ {info['directory_version']}"
    )


def add_commands(groups: Groups, cmd: Cmd) -> None:
    """`node init` and `node rekey`, in the node group."""
    node = groups["node"]
    c = cmd(node, "init", node_init, "generate keys and enroll at the hub", "node")
    c.add_argument("--hub", help="hub URL (a re-enrolment keeps the folder's)")
    c.add_argument("--office", help="office id, e.g. 'ชม 0017' (a re-enrolment keeps the folder's)")
    c.add_argument(
        "--token", help="'-': read the enrollment token from stdin (never the token itself)"
    )
    c.add_argument("--token-file", help="read the enrollment token from this file")
    c.add_argument(
        "--reenroll",
        action="store_true",
        help="an enrolled office that lost its key: enroll key #n+1, the hub retires the old",
    )
    cmd(
        node,
        "rekey",
        node_rekey,
        "make the next signing key and a new seal key, register them at the hub and retire"
        " the current signing key (the old seal key is kept for older letters)",
        "node",
    )
