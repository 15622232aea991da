"""`saraban hub tokens`, `revoke`, `rotate-key`, `lists` and `list-save`: the console's
enrollment and distribution-list actions on the hub machine's command line.

The same :mod:`hub.admin` functions as the console run underneath; each change is recorded
as an operator action by ``cli`` (as `saraban hub adduser` does) in the transaction that
makes it and publishes the directory version announcing it.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from protocol.thai import BANGKOK, format_thai_datetime
from scripts.cli.kit import CLIError, Cmd, Groups, emit, instance_dir

if TYPE_CHECKING:
    from hub.store import HubStore

CLI_OPERATOR = "cli"


@dataclass
class Change:
    """One change the command line makes at a hub: its instance folder, its store (in the
    write transaction that makes the change) and the time of it."""

    instance: Path
    store: HubStore
    when: float

    def log(self, action: str, subject: str, reason: str | None, detail: str) -> None:
        """Record the change in the operator action log, as ``cli``'s."""
        self.store.log_action(CLI_OPERATOR, action, subject, reason, detail, self.when)


@contextmanager
def _change(args: argparse.Namespace) -> Iterator[Change]:
    """The hub of ``--instance``, opened for one change made now."""
    from hub.admin.access import open_hub

    instance = instance_dir(args, "hub")
    when = time.time()
    with open_hub(instance) as (_, _, store), store.write():
        yield Change(instance, store, when)


def _office_id(typed: str) -> str:
    """The canonical office id of what was typed (``ชม0017`` -> ``ชม 0017``), else as typed."""
    from protocol.errors import SarabanError
    from protocol.numbers import parse_unit_code

    try:
        return parse_unit_code(typed)
    except SarabanError:
        return typed


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return format_thai_datetime(datetime.fromtimestamp(seconds, tz=BANGKOK))


def format_tokens(rows: list[dict[str, Any]]) -> str:
    """Tokens as a plain table (never a secret: only the id of the stored hash)."""
    from hub.admin.tokens import TOKEN_STATES

    if not rows:
        return "(ยังไม่เคยออกรหัสลงทะเบียน)"
    return "\n".join(
        f"{r['id']}  {r['office']:<10} {TOKEN_STATES[r['state']]:<9} ออก {_when(r['issued_at'])}"
        f"  หมดอายุ {_when(r['expires_at'])}"
        for r in rows
    )


def hub_tokens(args: argparse.Namespace) -> None:
    from hub.admin.tokens import enrollment_tokens

    emit(enrollment_tokens(instance_dir(args, "hub")), args.json, format_tokens)


def hub_revoke(args: argparse.Namespace) -> None:
    from hub.admin.offices import revoke_office

    reason = args.reason.strip()
    if not reason:
        raise CLIError("--reason must say why the office is revoked")
    office = _office_id(args.office)
    with _change(args) as change:
        version = revoke_office(change.instance, office, reason, change.when, store=change.store)
        change.log("revoke_office", office, reason, f"ทะเบียนหน่วยงานฉบับที่ {version}")
    emit(
        {"office": office, "directory_version": version},
        args.json,
        lambda d: f"เพิกถอน {d['office']} แล้ว: ทะเบียนหน่วยงานฉบับที่ {d['directory_version']}",
    )


def hub_rotate_key(args: argparse.Namespace) -> None:
    from hub.admin.instance import rotate_hub_key
    from hub.directory import current_directory
    from protocol.keys import fingerprint

    with _change(args) as change:
        keyid = rotate_hub_key(change.instance, change.when, store=change.store)
        public = next(r["public"] for r in change.store.hub_keys() if r["keyid"] == keyid)
        head = current_directory(change.store)
        info = {
            "hub_keyid": keyid,
            "fingerprint": fingerprint(public),
            "directory_version": head[0] if head else 0,
        }
        change.log(
            "rotate_hub_key",
            keyid,
            None,
            f"ลายนิ้วมือ {info['fingerprint']}; ทะเบียนหน่วยงานฉบับที่ {info['directory_version']}",
        )
    emit(
        info,
        args.json,
        lambda d: (
            f"กุญแจศูนย์กลางใหม่ {d['hub_keyid']} ลายนิ้วมือ {d['fingerprint']}"
            f" (ทะเบียนหน่วยงานฉบับที่ {d['directory_version']})"
        ),
    )


def format_lists(rows: list[dict[str, Any]]) -> str:
    """Lists as a plain table: name, size, derived or not, title."""
    return "\n".join(
        f"{r['name']:<16} {len(r['members']):>4}  {'อัตโนมัติ' if r['derived'] else 'แก้ไขได้':<9}"
        f" {r['title']}"
        for r in rows
    )


def hub_lists(args: argparse.Namespace) -> None:
    from hub.admin.lists import distribution_lists

    emit(distribution_lists(instance_dir(args, "hub")), args.json, format_lists)


def hub_list_save(args: argparse.Namespace) -> None:
    from hub.admin.lists import save_list

    with _change(args) as change:
        saved = save_list(
            change.instance, args.name, args.title, args.member, change.when, store=change.store
        )
        if saved["changed"]:
            change.log(
                "create_list" if saved["created"] else "update_list",
                saved["name"],
                None,
                f"{saved['title']}; {len(saved['members'])} หน่วยงาน;"
                f" ทะเบียนหน่วยงานฉบับที่ {saved['directory_version']}",
            )

    def text(d: dict[str, Any]) -> str:
        if not d["changed"]:
            return f"รายชื่อ {d['name']} ไม่มีการเปลี่ยนแปลง"
        verb = "สร้าง" if d["created"] else "แก้ไข"
        return (
            f"{verb}รายชื่อ {d['name']} แล้ว ({len(d['members'])} หน่วยงาน):"
            f" ทะเบียนหน่วยงานฉบับที่ {d['directory_version']}"
        )

    emit(saved, args.json, text)


def add_commands(groups: Groups, cmd: Cmd) -> None:
    """Enrollment tokens, revocation, the hub key and distribution lists, in the hub group."""
    hub = groups["hub"]
    cmd(hub, "tokens", hub_tokens, "list enrollment tokens and their states", "hub")
    c = cmd(hub, "revoke", hub_revoke, "revoke an office (a new directory version)", "hub")
    c.add_argument("office", help="office id, e.g. 'ชม 0017'")
    c.add_argument("--reason", required=True, help="why (kept in the operator action log)")
    cmd(hub, "rotate-key", hub_rotate_key, "make a new hub signing key current", "hub")
    cmd(hub, "lists", hub_lists, "list the distribution lists", "hub")
    c = cmd(hub, "list-save", hub_list_save, "create or replace a distribution list", "hub")
    c.add_argument("name", help="2-40 of a-z 0-9 -, e.g. flood-2569")
    c.add_argument("--title", required=True, help="the title senders see (Thai)")
    c.add_argument(
        "--member",
        action="extend",
        nargs="+",
        required=True,
        help="office id(s), repeatable: --member 'ชม 0017' --member 'ชร 0017'",
    )
