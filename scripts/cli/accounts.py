"""`saraban node adduser` and `saraban node passwd`: accounts of the clerk's pages.

Run by the node's operator on the node machine (they open the database directly, like
`node init`); the first administrator is created this way. The password is read from the
terminal without echo, or from standard input with `--password-stdin` for scripts.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from scripts.cli.kit import CLIError, Cmd, Groups, emit, instance_dir


def read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise CLIError("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass("รหัสผ่าน: ")
    if getpass.getpass("ยืนยันรหัสผ่าน: ") != first:
        raise CLIError("the two passwords differ")
    return first


def node_adduser(args: argparse.Namespace) -> None:
    from node.context import NodeContext
    from node.staff.accounts import add_user

    ctx = NodeContext.load(instance_dir(args, "node"))
    with ctx.open_store() as store:
        user = add_user(
            ctx,
            store,
            args.username,
            args.name,
            read_password(args),
            args.role,
            args.division or [],
        )
    emit(user, args.json, lambda d: f"เพิ่มผู้ใช้ {d['username']} ({', '.join(d['roles'])}) แล้ว")


def node_passwd(args: argparse.Namespace) -> None:
    from node.context import NodeContext
    from node.staff.accounts import set_password

    ctx = NodeContext.load(instance_dir(args, "node"))
    with ctx.open_store() as store:
        set_password(ctx, store, args.username, read_password(args))
    emit({"username": args.username}, args.json, lambda d: "เปลี่ยนรหัสผ่านแล้ว")


def add_commands(groups: Groups, cmd: Cmd) -> None:
    """The account commands, in the node group."""
    c = cmd(groups["node"], "adduser", node_adduser, "add a user of the clerk's pages", "node")
    c.add_argument("username", help="3-32 of a-z 0-9 . _ -")
    c.add_argument("--name", required=True, help="ชื่อ-สกุล")
    c.add_argument(
        "--role",
        action="append",
        required=True,
        help="clerk, officer, executive, registrar, registrar_assistant, admin (repeatable)",
    )
    c.add_argument("--division", action="append", help="unit code(s) the user works in")
    c.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    c = cmd(groups["node"], "passwd", node_passwd, "set a user's password, lifting a lock", "node")
    c.add_argument("username")
    c.add_argument("--password-stdin", action="store_true")
