"""Units (หน่วยงาน) of this office and their letter codes, kept as data an administrator edits.

A unit is a letter code under the office (``ชม 0017`` itself, ``ชม 0017.3`` for one of its
divisions) with its Thai name and, for orders and announcements, the issuer named in their
numbers (``คำสั่งจังหวัดเชียงใหม่ ที่ 12/2569``). Each unit keeps its own numbering
registers. The table is seeded at init with the office itself, named from the seed list of
the pilot offices (DOMAIN.md) or the directory; divisions are added by the administrator
because the ministry's table of unit numbers is not public.

Does not: decide numbers (see :mod:`node.records.registers`) or know other offices (the directory).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from node.context import NodeContext
from node.errors import BadInput, Conflict, NotFound
from node.storage import audit
from node.storage.store import Store
from protocol.errors import BadLetterNumber
from protocol.ledger import owns_unit
from protocol.numbers import parse_unit_code
from protocol.thai import normalize_thai


def seed_offices() -> dict[str, dict[str, str]]:
    """The pilot offices of DOMAIN.md by code: ``{"name", "issuer"}``."""
    text = resources.files("node").joinpath("data/units.json").read_text(encoding="utf-8")
    return {u["code"]: u for u in json.loads(text)["units"]}


def seed_units(ctx: NodeContext, store: Store, name: str | None = None) -> None:
    """Create the office's own unit row if it is missing (init, or an older database)."""
    if store.scalar("SELECT 1 FROM units WHERE code = ?", (ctx.office,)):
        return
    seed = seed_offices().get(ctx.office, {})
    now = ctx.now()
    with store.transaction():
        store.insert(
            "units",
            {
                "code": ctx.office,
                "name": seed.get("name") or name or ctx.office,
                "issuer": seed.get("issuer") or "",
                "parent": None,
                "active": 1,
                "created_at": now,
                "updated_at": now,
            },
        )


def list_units(store: Store, include_inactive: bool = False) -> list[dict[str, Any]]:
    """Every unit, the office first, then its divisions by code."""
    where = "" if include_inactive else "WHERE active = 1"
    # The WHERE clause is one of two fixed strings.
    sql = f"SELECT * FROM units {where} ORDER BY parent IS NOT NULL, code"  # noqa: S608
    rows = store.query(sql)
    for r in rows:
        r["active"] = bool(r["active"])
    return rows


def get_unit(store: Store, code: str) -> dict[str, Any]:
    """One active unit; :class:`NotFound` otherwise."""
    row = store.one("SELECT * FROM units WHERE code = ? AND active = 1", (code,))
    if row is None:
        raise NotFound(f"no active unit {code!r}", message_th=f"ไม่พบหน่วยงาน {code}")
    return row


def require_unit(ctx: NodeContext, store: Store, code: str) -> dict[str, Any]:
    """The active unit ``code`` (typed in any form) names, for a letter; BadInput otherwise."""
    unit = canonical_code(ctx, code)
    row = store.one("SELECT * FROM units WHERE code = ? AND active = 1", (unit,))
    if row is None:
        raise BadInput(
            f"{unit} is not an active unit of this office",
            code="unknown_unit",
            message_th=f"ไม่พบหน่วยงาน {unit} ในสังกัด (เพิ่มได้ด้วย saraban unit save)",
        )
    return row


def issuer_of(store: Store, code: str) -> str:
    """The issuer named in a unit's order numbers: its own, else its parent office's."""
    row = store.one("SELECT issuer, parent FROM units WHERE code = ?", (code,))
    if row is None:
        return ""
    if row["issuer"]:
        return str(row["issuer"])
    if row["parent"]:
        return issuer_of(store, str(row["parent"]))
    return ""


def unit_name(store: Store, code: str) -> str:
    """The Thai name of a unit, or its code when unknown."""
    name = store.scalar("SELECT name FROM units WHERE code = ?", (code,))
    return str(name) if name else code


def canonical_code(ctx: NodeContext, code: str) -> str:
    """A unit code of this office in its canonical form; :class:`BadInput` otherwise."""
    try:
        unit = parse_unit_code(normalize_thai(code or ""))
    except BadLetterNumber as e:
        raise BadInput(
            f"{code!r} is not a letter code such as 'ชม 0017.3'",
            code="bad_unit_code",
            message_th="รหัสหน่วยงานไม่ถูกต้อง (ตัวอย่าง: ชม 0017.3)",
        ) from e
    if not owns_unit(ctx.office, unit):
        raise BadInput(
            f"{unit} is not a unit of {ctx.office}",
            code="foreign_unit",
            message_th=f"รหัส {unit} ไม่ใช่หน่วยงานในสังกัด {ctx.office}",
        )
    return unit


def save_unit(
    ctx: NodeContext,
    store: Store,
    code: str,
    name: str,
    issuer: str = "",
    active: bool = True,
    actor: str = "admin",
) -> dict[str, Any]:
    """Add a division (or rename one, or set it inactive); the office row can be renamed."""
    unit = canonical_code(ctx, code)
    name = normalize_thai(name or "").strip()
    if not name:
        raise BadInput("a unit needs a name", code="name_required", message_th="กรุณาระบุชื่อหน่วยงาน")
    if unit == ctx.office and not active:
        raise Conflict(
            "the office itself cannot be set inactive",
            message_th="ไม่สามารถปิดการใช้งานหน่วยงานหลักของสำนักงาน",
        )
    now = ctx.now()
    row = {
        "code": unit,
        "name": name,
        "issuer": normalize_thai(issuer or "").strip(),
        "parent": None if unit == ctx.office else ctx.office,
        "active": int(active),
        "updated_at": now,
    }
    with store.transaction():
        existed = store.one("SELECT * FROM units WHERE code = ?", (unit,))
        if existed is None:
            store.insert("units", {**row, "created_at": now})
        else:
            store.execute(
                "UPDATE units SET name = ?, issuer = ?, active = ?, updated_at = ? WHERE code = ?",
                (row["name"], row["issuer"], row["active"], now, unit),
            )
        audit.record(
            store,
            now,
            actor,
            "save_unit" if existed else "add_unit",
            f"unit:{unit}",
            {k: row[k] for k in ("name", "issuer", "active")},
        )
    return get_unit(store, unit) if active else {**row, "active": False}
