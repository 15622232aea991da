"""The record of operator actions in Thai: what each recorded action means, who did it, what
it was done to (an office by its Thai name and code), why, and what the operator should do
about it.

The hub writes short English codes to the append-only ``operator_actions`` table
(``revoke_office``, ``release_quarantine``, ...; see :data:`ACTIONS`). :func:`action_views`
turns rows of it into what the console's ``/actions`` page and an office's page show; a
code this version does not know still shows as readable Thai with the code beside it.

Does not: write the record (:func:`hub.console.kit.record`,
:meth:`hub.store.HubStore.log_action`) or change the stored rows; their codes, reasons and
details stay as written, for the hash chain over them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from hub.console.operators import ROLES
from hub.monitoring.alerts import kind_of, reason_label
from hub.store import HubStore
from protocol.thai import format_thai_date

OFFICE, OPERATOR, LIST, HUB_KEY, DAY = "office", "operator", "list", "hub_key", "day"
"""What an action's target names."""


@dataclass(frozen=True)
class ActionKind:
    """One recorded action in Thai: its ``title``, the ``why`` shown when no reason was
    recorded (the hub or the office did it, or none is asked for), what to do next
    (``todo``) and what its target names."""

    title: str
    why: str
    todo: str
    target: str = OFFICE


NO_ACTION = "ไม่ต้องดำเนินการเพิ่ม"

ACTIONS: dict[str, ActionKind] = {
    "enroll": ActionKind(
        "หน่วยงานลงทะเบียนเข้าระบบ",
        "หน่วยงานใช้รหัสลงทะเบียนที่ศูนย์กลางออกให้",
        "ตรวจว่าลายนิ้วมือกุญแจในหน้าหน่วยงานตรงกับที่ผู้ดูแลหน่วยงานแจ้ง หากไม่ได้ออกรหัสให้หน่วยงานนี้ ให้เพิกถอนทันที",
    ),
    "rekey": ActionKind(
        "หน่วยงานเปลี่ยนกุญแจลงนาม",
        "หน่วยงานสั่งเปลี่ยนกุญแจเอง (saraban node rekey)",
        "สอบถามผู้ดูแลหน่วยงานว่าเป็นผู้สั่งเปลี่ยนกุญแจจริง หากไม่ใช่ ให้เพิกถอนหน่วยงาน",
    ),
    "issue_token": ActionKind(
        "ออกรหัสลงทะเบียน",
        "ไม่ต้องระบุเหตุผล",
        "ส่งรหัสให้ผู้ดูแลหน่วยงานทางช่องทางที่ปลอดภัย หากส่งผิดคนให้ยกเลิกรหัส",
    ),
    "cancel_token": ActionKind(
        "ยกเลิกรหัสลงทะเบียน",
        "ไม่ได้ระบุเหตุผล",
        "หากหน่วยงานยังต้องลงทะเบียน ให้ออกรหัสใหม่ในหน้าการลงทะเบียน",
    ),
    "add_office": ActionKind(
        "เพิ่มหน่วยงานในทะเบียนหน่วยงาน",
        "ไม่ต้องระบุเหตุผล",
        "ออกรหัสลงทะเบียนให้หน่วยงานในหน้าการลงทะเบียน",
    ),
    "revoke_office": ActionKind(
        "เพิกถอนหน่วยงาน",
        "ไม่ได้ระบุเหตุผล",
        "แจ้งหน่วยงานและหน่วยงานที่ติดต่อด้วยว่าส่งและรับหนังสือผ่านศูนย์กลางไม่ได้แล้ว",
    ),
    "rotate_hub_key": ActionKind(
        "เปลี่ยนกุญแจลงนามของศูนย์กลาง",
        "ไม่ได้ระบุเหตุผล",
        "แจ้งลายนิ้วมือกุญแจใหม่ให้ผู้ดูแลหน่วยงานตรวจ หน่วยงานจะได้รับกุญแจใหม่เมื่อซิงค์",
        HUB_KEY,
    ),
    "create_list": ActionKind(
        "สร้างรายชื่อส่งหนังสือ",
        "ไม่ต้องระบุเหตุผล",
        f"{NO_ACTION} หน่วยงานจะได้รับรายชื่อเมื่อซิงค์ครั้งถัดไป",
        LIST,
    ),
    "update_list": ActionKind(
        "แก้ไขรายชื่อส่งหนังสือ",
        "ไม่ต้องระบุเหตุผล",
        f"{NO_ACTION} หน่วยงานจะได้รับรายชื่อใหม่เมื่อซิงค์ครั้งถัดไป",
        LIST,
    ),
    "delete_list": ActionKind(
        "ลบรายชื่อส่งหนังสือ",
        "ไม่ต้องระบุเหตุผล",
        "แจ้งหน่วยงานที่เคยใช้รายชื่อนี้ให้เลือกผู้รับเองหรือใช้รายชื่ออื่น",
        LIST,
    ),
    "run_numbering_report": ActionKind(
        "สร้างรายงานเลขหนังสือ",
        "เจ้าหน้าที่สั่งสร้างรายงานเอง",
        "หากมีทะเบียนที่แย่ลง เปิดหน้าเลขหนังสือแล้วติดต่อหน่วยงานเจ้าของทะเบียน",
        DAY,
    ),
    "close_alert": ActionKind(
        "ปิดการแจ้งเตือน",
        "ไม่ได้ระบุเหตุผล",
        f"{NO_ACTION} หากเหตุยังอยู่ ศูนย์กลางจะแจ้งเตือนอีก",
    ),
    "resolve_alert": ActionKind(
        "ศูนย์กลางปิดการแจ้งเตือนเอง",
        "เหตุของการแจ้งเตือนหายไปแล้ว",
        NO_ACTION,
    ),
    "release_quarantine": ActionKind(
        "ปล่อยซองที่ถูกกักไว้",
        "ไม่ได้ระบุเหตุผล",
        "ตรวจว่าหนังสือในซองถึงหน่วยงานผู้รับเมื่อซิงค์ครั้งถัดไป",
    ),
    "discard_quarantine": ActionKind(
        "ทิ้งซองที่ถูกกักไว้",
        "ไม่ได้ระบุเหตุผล",
        "แจ้งหน่วยงานผู้ส่งว่าหนังสือในซองไม่ถึงผู้รับ หากยังต้องส่ง ให้ส่งใหม่",
    ),
    "add_operator": ActionKind(
        "เพิ่มบัญชีเจ้าหน้าที่",
        "สั่งจากเครื่องศูนย์กลาง (saraban hub adduser)",
        "แจ้งรหัสผ่านแก่เจ้าหน้าที่เป็นการส่วนตัว และตรวจว่าสิทธิ์ของบัญชีถูกต้อง",
        OPERATOR,
    ),
    "set_password": ActionKind(
        "ตั้งรหัสผ่านใหม่ให้เจ้าหน้าที่",
        "สั่งจากเครื่องศูนย์กลาง (saraban hub passwd)",
        "ยืนยันกับเจ้าของบัญชีว่าขอเปลี่ยนรหัสผ่านจริง",
        OPERATOR,
    ),
    "login_failed": ActionKind(
        "เข้าสู่ระบบไม่สำเร็จ",
        "รหัสผ่านไม่ถูกต้อง",
        "หากเกิดซ้ำหลายครั้งโดยเจ้าของบัญชีไม่ได้เป็นผู้เข้าสู่ระบบ ให้แจ้งผู้ดูแลความปลอดภัย",
        OPERATOR,
    ),
}
"""Every action code the hub records, in Thai."""

UNKNOWN_TODO = "ดูรายละเอียดของการดำเนินการนี้ หากไม่แน่ใจ ให้สอบถามผู้ดูแลระบบศูนย์กลาง"

ACTORS = {
    "hub": "ศูนย์กลาง (อัตโนมัติ)",
    "cli": "คำสั่งบนเครื่องศูนย์กลาง",
}
"""Who did it, when it is not an operator or an office."""

_ALERT = re.compile(r"(?P<kind>[a-z_]+) #(?P<id>[0-9]+)")
_QUARANTINED = re.compile(r"(?P<which>ลำดับที่ \S+ \S+): (?P<outcome>[a-z_]+)")
_KEY = re.compile(r"key (?P<key>.+)")
_REKEY = re.compile(r"(?P<old>.+?) -> (?P<new>.+?)(?P<seal> and a new seal key)?")
RELEASED = {"accepted": "รับเข้าแล้ว", "duplicate": "ศูนย์กลางมีซองนี้อยู่แล้ว"}


def _alert_detail(detail: str) -> str:
    if match := _ALERT.fullmatch(detail):
        return f"{kind_of(match['kind']).title} (การแจ้งเตือนที่ {match['id']})"
    return detail


def _released(detail: str) -> str:
    if match := _QUARANTINED.fullmatch(detail):
        outcome = RELEASED.get(match["outcome"], match["outcome"])
        return f"{match['which']}: {outcome}"
    return detail


def _discarded(detail: str) -> str:
    if match := _QUARANTINED.fullmatch(detail):
        return f"{match['which']}: ถูกกักเพราะ{reason_label(match['outcome'])}"
    return detail


def _enrolled(detail: str) -> str:
    match = _KEY.fullmatch(detail)
    return f"กุญแจ {match['key']}" if match else detail


def _rekeyed(detail: str) -> str:
    if match := _REKEY.fullmatch(detail):
        seal = " และเปลี่ยนกุญแจเข้ารหัสด้วย" if match["seal"] else ""
        return f"จากกุญแจ {match['old']} เป็น {match['new']}{seal}"
    return detail


DETAILS: dict[str, Callable[[str], str]] = {
    "enroll": _enrolled,
    "rekey": _rekeyed,
    "close_alert": _alert_detail,
    "resolve_alert": _alert_detail,
    "release_quarantine": _released,
    "discard_quarantine": _discarded,
    "add_operator": lambda role: f"สิทธิ์: {ROLES.get(role, role)}",
}
"""The details some actions record in English, said in Thai (other details are Thai)."""


def action_kind(code: str) -> ActionKind:
    """The Thai words of an action code; for a code this version does not know, a generic
    title that keeps the code."""
    known = ACTIONS.get(code)
    if known is not None:
        return known
    return ActionKind(f"การดำเนินการอื่น ({code})", "ไม่ได้ระบุเหตุผล", UNKNOWN_TODO, "")


def _day(text: str) -> str:
    try:
        return f"รายงานประจำวันที่ {format_thai_date(date.fromisoformat(text))}"
    except ValueError:
        return text


@dataclass(frozen=True)
class Names:
    """Offices by code and operators by user name, to show people's words for both."""

    offices: Mapping[str, str]
    operators: Mapping[str, str]

    @classmethod
    def of(cls, store: HubStore) -> Names:
        return cls(
            {o["id"]: o["name"] for o in store.offices()},
            {o["username"]: o["display_name"] for o in store.operators()},
        )

    def office(self, code: str) -> str:
        """``สำนักงานจังหวัดเชียงใหม่ (ชม 0017)``, or the code alone when unknown."""
        name = self.offices.get(code)
        return f"{name} ({code})" if name else code

    def actor(self, who: str) -> str:
        if who in ACTORS:
            return ACTORS[who]
        if who in self.operators:
            return f"{self.operators[who]} ({who})"
        if who in self.offices:
            return self.office(who)
        return who

    def target(self, kind: ActionKind, target: str | None) -> str:
        if not target:
            return "-"
        if kind.target == OPERATOR:
            return self.actor(target)
        if kind.target == LIST:
            return f"รายชื่อ {target}"
        if kind.target == HUB_KEY:
            return f"กุญแจ {target}"
        if kind.target == DAY:
            return _day(target)
        return self.office(target)


def action_view(row: Mapping[str, Any], names: Names) -> dict[str, Any]:
    """One recorded action as the console shows it: ``at``, ``code``, ``title``, ``who``,
    ``target``, ``reason`` (what was recorded, else ``why`` with ``reason_given`` False),
    ``detail`` and ``todo``, all in Thai."""
    code = str(row["action"])
    kind = action_kind(code)
    reason = (row["reason"] or "").strip()
    detail = row["detail"] or ""
    translate = DETAILS.get(code)
    return {
        "at": row["at"],
        "code": code,
        "title": kind.title,
        "who": names.actor(str(row["operator"])),
        "target": names.target(kind, row["target"]),
        "reason": reason or kind.why,
        "reason_given": bool(reason),
        "detail": translate(detail) if translate and detail else detail,
        "todo": kind.todo,
    }


def action_views(store: HubStore, rows: list[Any]) -> list[dict[str, Any]]:
    """Recorded actions as the console shows them (see :func:`action_view`)."""
    names = Names.of(store)
    return [action_view(row, names) for row in rows]
