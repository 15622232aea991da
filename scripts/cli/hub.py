"""`saraban hub adduser` and `saraban hub passwd`: the operator accounts of the hub's console;
`saraban hub migrate --to postgresql://…`: the hub moved from SQLite to PostgreSQL
(:mod:`hub.admin.migrate`).

Run on the hub machine by whoever runs the hub (they open the database directly, like
`hub init`); the first operator is made this way. The password is read from the terminal
without echo, or from standard input with `--password-stdin` for scripts.
"""

from __future__ import annotations

import argparse
import time

from scripts.cli.accounts import read_password
from scripts.cli.kit import Cmd, Groups, emit, instance_dir


def hub_adduser(args: argparse.Namespace) -> None:
    from hub.admin.access import open_hub
    from hub.console.operators import add_operator

    with open_hub(instance_dir(args, "hub")) as (_, _, store):
        op = add_operator(
            store, args.username, args.name, read_password(args), args.role, time.time()
        )
    emit(op, args.json, lambda d: f"เพิ่มผู้ดูแล {d['username']} ({d['role']}) แล้ว")


def hub_passwd(args: argparse.Namespace) -> None:
    from hub.admin.access import open_hub
    from hub.console.operators import set_password

    with open_hub(instance_dir(args, "hub")) as (_, _, store):
        set_password(store, args.username, read_password(args), time.time())
    emit({"username": args.username}, args.json, lambda d: "เปลี่ยนรหัสผ่านแล้ว")


def hub_migrate(args: argparse.Namespace) -> None:
    from hub.admin.migrate import migrate_to_postgres

    done = migrate_to_postgres(instance_dir(args, "hub"), args.to)
    emit(
        done,
        args.json,
        lambda d: (
            f"ย้ายศูนย์กลางไปที่ {d['database']} แล้ว: {d['rows']:,} แถว"
            f" จาก {len(d['tables'])} ตาราง; เริ่ม saraban hub serve ใหม่ได้"
        ),
    )


def add_commands(groups: Groups, cmd: Cmd) -> None:
    """The operator account commands, in the hub group."""
    c = cmd(groups["hub"], "adduser", hub_adduser, "add an operator of the hub's console", "hub")
    c.add_argument("username", help="3-32 of a-z 0-9 . _ -")
    c.add_argument("--name", required=True, help="ชื่อ-สกุล")
    c.add_argument(
        "--role",
        default="operator",
        choices=["operator", "viewer"],
        help="operator acts; viewer watches",
    )
    c.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    c = cmd(
        groups["hub"], "passwd", hub_passwd, "set an operator's password, lifting a lock", "hub"
    )
    c.add_argument("username")
    c.add_argument("--password-stdin", action="store_true")
    c = cmd(
        groups["hub"],
        "migrate",
        hub_migrate,
        "move the stopped hub from its SQLite file to an empty PostgreSQL database",
        "hub",
    )
    c.add_argument("--to", required=True, help="postgresql://USER@HOST:PORT/NAME")
