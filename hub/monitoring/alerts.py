"""Alerts for the operator: what each kind means, what to do about it, and the alerts the
hub raises from the state of the federation rather than from one event.

Event alerts are raised where the event happens (equivocation and numbering refusals in
:mod:`hub.federation.ingest`, unroutable letters in :mod:`hub.federation.routing`, a directory
rollback reported by a node's heartbeat, envelopes a node holds unverified, one per
recipient and sender (:func:`report_held`, resolved when the heartbeat stops reporting
them), a report that got worse in :mod:`hub.numbering.reconcile`). Condition alerts are
kept by :func:`refresh_alerts`, which runs on every console page that shows alerts and
every minute in ``saraban hub serve``: an office gone silent, a node's clock off by more
than the limit, an office with envelopes waiting in quarantine. The hub resolves them by
itself when the condition has passed. So does
``clock_refused``, raised when an office's signed requests are refused because its clock is
outside the hub's window (:mod:`hub.federation.auth`, :func:`report_clock_refused`) and
resolved by its next accepted request.

Every alert is one per condition and office while open (:meth:`HubStore.raise_alert`):
raised again, it counts a repeat and shows the newest detail, so an office pushing garbage,
reporting a false directory rollback on every heartbeat or a wrong clock on every request
makes one alert that says how often. An office's ``quarantined`` alert counts each envelope
kept (:func:`report_quarantined`) and is resolved once none of them waits
(:func:`settle_quarantine`); ``quarantine_full`` counts the envelopes refused without
being kept because the office's quota was full (:mod:`hub.federation.refusals`).

Does not: render pages or decide what a quarantined envelope becomes
(:mod:`hub.federation.quarantine`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.directory import directory_version
from hub.monitoring.offices import Thresholds, clock_skew_text, office_rows
from hub.store import HubStore
from protocol.thai import format_thai_duration


@dataclass(frozen=True)
class AlertKind:
    """What an alert of one kind says to the operator."""

    title: str
    todo: str
    severity: str = "bad"


KINDS: dict[str, AlertKind] = {
    "equivocation": AlertKind(
        "หน่วยงานลงนามซองเอกสารสองฉบับในลำดับเดียวกัน",
        "อาจเป็นการกู้คืนเครื่องจากสำเนาเก่าแล้วทำงานต่อ หรือกุญแจของหน่วยงานรั่วไหล"
        " ติดต่อผู้ดูแลหน่วยงานเพื่อตรวจสอบ หากสงสัยว่ากุญแจรั่วไหลให้เพิกถอนแล้วลงทะเบียนใหม่"
        " จากนั้นทิ้งซองที่ถูกกักไว้พร้อมระบุเหตุผล",
    ),
    "quarantined": AlertKind(
        "ซองเอกสารถูกกักไว้",
        "ตรวจสอบเหตุผลที่ถูกปฏิเสธ หากแก้ไขต้นเหตุแล้ว (เช่น เพิ่มสมาชิกทะเบียนร่วม)"
        " ให้ปล่อยซองเพื่อรับเข้าอีกครั้ง หากซองไม่ถูกต้องให้ทิ้ง พร้อมระบุเหตุผลทุกครั้ง"
        " ซองถัดไปของหน่วยงานนี้จะรอจนกว่าจะจัดการซองนี้",
    ),
    "quarantine_full": AlertKind(
        "ที่กักซองของหน่วยงานเต็ม ศูนย์กลางไม่เก็บซองที่ถูกปฏิเสธเพิ่ม",
        "ซองใหม่ของหน่วยงานที่ถูกปฏิเสธจะไม่ถูกเก็บไว้ตรวจ (นับจำนวนไว้) แต่ไม่สูญหาย"
        " เพราะเครื่องของหน่วยงานยังถือซองไว้และจะส่งมาอีก ตรวจซองที่ถูกกักไว้ของหน่วยงานนี้"
        " แล้วปล่อยหรือทิ้งเพื่อคืนพื้นที่ หากหน่วยงานส่งซองเสียจำนวนมาก ให้ติดต่อผู้ดูแลหน่วยงาน"
        " (อาจเป็นข้อผิดพลาดของซอฟต์แวร์หรือการโจมตี) แล้วปิดการแจ้งเตือนนี้",
    ),
    "duplicate_number": AlertKind(
        "เลขหนังสือซ้ำในทะเบียนเดียวกัน",
        "หน่วยงานออกเลขที่มีผู้ใช้แล้ว มักเกิดจากการกู้คืนเครื่องจากสำเนาเก่า"
        " ให้หน่วยงานรัน saraban node restore แล้วออกเลขใหม่ จากนั้นทิ้งซองที่ถูกกักไว้",
    ),
    "number_not_leased": AlertKind(
        "เลขหนังสืออยู่นอกช่วงเลขที่ศูนย์กลางจัดสรร",
        "ตรวจสอบทะเบียนร่วมในหน้าเลขหนังสือ ให้หน่วยงานซิงค์เพื่อขอช่วงเลขใหม่ แล้วทิ้งซองที่ถูกกักไว้",
    ),
    "not_your_register": AlertKind(
        "หน่วยงานออกเลขในทะเบียนที่ไม่ใช่ของตน",
        "หากหน่วยงานควรใช้ทะเบียนนี้ ให้เพิ่มเป็นสมาชิกทะเบียนร่วม (saraban hub share)"
        " แล้วปล่อยซองที่ถูกกักไว้ มิฉะนั้นให้ทิ้งซอง",
    ),
    "unknown_provisional": AlertKind(
        "ยกเลิกเลขชั่วคราวที่ยังไม่เคยได้เลขจริง",
        "ให้หน่วยงานซิงค์เพื่อรับเลขจริงก่อน แล้วทิ้งซองที่ถูกกักไว้",
        "warn",
    ),
    "numbering_worse": AlertKind(
        "รายงานเลขหนังสือประจำคืนแย่ลง",
        "เปิดหน้าเลขหนังสือเพื่อดูทะเบียนที่มีช่องว่างหรือเลขซ้ำเพิ่มขึ้น แล้วติดต่อหน่วยงานเจ้าของทะเบียน",
    ),
    "silent_office": AlertKind(
        "หน่วยงานขาดการติดต่อ",
        "โทรสอบถามหน่วยงานว่าเครื่องแม่ข่ายเปิดอยู่และเชื่อมต่อเครือข่ายได้หรือไม่"
        " หนังสือที่ส่งถึงหน่วยงานจะรออยู่ที่ศูนย์กลางจนกว่าจะกลับมา",
    ),
    "clock_skew": AlertKind(
        "นาฬิกาของหน่วยงานคลาดเคลื่อน",
        "ให้ผู้ดูแลหน่วยงานตั้งเวลาเครื่องให้ตรง (NTP) เวลารับหนังสือตามกฎหมายใช้นาฬิกาของหน่วยงาน"
        " และคำขอที่เวลาคลาดเกินกำหนดจะถูกปฏิเสธ",
        "warn",
    ),
    "clock_refused": AlertKind(
        "ศูนย์กลางปฏิเสธคำขอของหน่วยงานเพราะนาฬิกาคลาดเคลื่อนเกินกำหนด",
        "หน่วยงานนี้ซิงค์ไม่ได้ หนังสือที่ส่งถึงและส่งจากหน่วยงานจะค้างอยู่จนกว่าจะแก้ไข"
        " ให้ผู้ดูแลหน่วยงานตั้งวันเวลาของเครื่องแม่ข่ายให้ตรง (เปิดการตั้งเวลาอัตโนมัติ/NTP)"
        " หน้าจอของหน่วยงานบอกว่านาฬิกาคลาดไปเท่าใด การแจ้งเตือนนี้ปิดเองเมื่อหน่วยงานซิงค์ได้อีกครั้ง",
    ),
    "audit_chain": AlertKind(
        "ประวัติการใช้งาน (audit) ของหน่วยงานไม่ต่อเนื่องจากที่ศูนย์กลางตรวจไว้",
        "มีการลบ แก้ไข แทรก หรือสลับรายการประวัติการใช้งานของหน่วยงาน หรือฐานข้อมูลถูกแทนด้วยสำเนาเก่า"
        " (หลัง saraban node restore ถือเป็นเรื่องที่คาดไว้ ประวัติเดิมอยู่ในฐานข้อมูลเดิมที่เก็บไว้)"
        " ติดต่อผู้ดูแลหน่วยงานให้รัน saraban node audit verify เพื่อดูรายการที่เสีย"
        " เก็บสำเนาฐานข้อมูลไว้เป็นหลักฐาน แล้วปิดการแจ้งเตือนพร้อมระบุผลการตรวจสอบ"
        " ประวัติที่หน่วยงานส่งมาครั้งถัดไปจะเป็นจุดตั้งต้นใหม่",
    ),
    "directory_rollback": AlertKind(
        "มีการส่งทะเบียนหน่วยงานฉบับเก่ากว่าที่หน่วยงานถืออยู่",
        "ฐานข้อมูลศูนย์กลางอาจถูกกู้คืนจากสำเนาเก่า หรือมีผู้พยายามย้อนทะเบียนหน่วยงาน"
        " ตรวจสอบฉบับของทะเบียนในหน้าภาพรวม และกู้คืนสำเนาล่าสุดของศูนย์กลาง",
    ),
    "unroutable": AlertKind(
        "หนังสือถึงหน่วยงานที่ไม่รู้จักหรือถูกเพิกถอน",
        "แจ้งหน่วยงานผู้ส่งให้ตรวจสอบผู้รับ หรือเพิ่มหน่วยงานผู้รับในหน้าการลงทะเบียน",
        "warn",
    ),
    "misrouted_receipt": AlertKind(
        "ใบตอบรับจากหน่วยงานที่ไม่ใช่ผู้รับหนังสือ",
        "ตรวจสอบกับหน่วยงานผู้ส่งใบตอบรับ อาจเป็นข้อผิดพลาดของซอฟต์แวร์หรือการปลอมแปลง",
        "warn",
    ),
    "misrouted_withdraw": AlertKind(
        "การถอนหนังสือจากหน่วยงานที่ไม่ใช่ผู้ส่ง",
        "ตรวจสอบกับหน่วยงานที่ส่งคำขอถอน อาจเป็นข้อผิดพลาดของซอฟต์แวร์หรือการปลอมแปลง",
        "warn",
    ),
    "office_revoked": AlertKind(
        "เพิกถอนหน่วยงานแล้ว",
        "หนังสือที่ส่งถึงหน่วยงานนี้จะไม่ถูกส่งต่อ หากต้องการให้กลับมาใช้งานให้ออกรหัสลงทะเบียนใหม่",
        "warn",
    ),
    "held_envelopes": AlertKind(
        "หน่วยงานผู้รับตรวจลายมือชื่อซองจากหน่วยงานผู้ส่งไม่ผ่าน จึงพักซองไว้",
        "ซองไม่สูญหาย หน่วยงานผู้รับเก็บไว้ครบและลองตรวจใหม่ทุกครั้งที่ซิงค์"
        " ตรวจในหน้าการลงทะเบียนว่ากุญแจของหน่วยงานผู้ส่งยังใช้งานอยู่และไม่ถูกเพิกถอน"
        " หากหน่วยงานผู้ส่งเพิ่งลงทะเบียนเครื่องใหม่ ให้หน่วยงานผู้รับซิงค์อีกครั้งเพื่อรับทะเบียนหน่วยงานฉบับล่าสุด"
        " หากยังไม่ผ่าน ให้ติดต่อทั้งสองหน่วยงาน (ซองที่ปลอมหรือเสียหายจะถูกพักไว้ตลอดไป)"
        " การแจ้งเตือนนี้ปิดเองเมื่อหน่วยงานผู้รับรับซองได้ครบ",
    ),
}

REASONS = {
    "out_of_sequence": "ลำดับซองไม่ต่อจากซองก่อนหน้า",
    "broken_chain": "ซองไม่เชื่อมกับซองก่อนหน้า",
    "equivocation": "ลงนามซองต่างกันสองฉบับในลำดับเดียวกัน",
    "bad_signature": "ลายมือชื่ออิเล็กทรอนิกส์ไม่ถูกต้อง",
    "unknown_key": "ลงนามด้วยกุญแจที่ไม่ใช่กุญแจที่ใช้งานของหน่วยงาน",
    "not_your_feed": "ซองไม่ใช่ของหน่วยงานที่ส่ง",
    "not_canonical": "ข้อมูลในซองไม่อยู่ในรูปแบบมาตรฐาน",
    "malformed_envelope": "รูปแบบซองไม่ถูกต้อง",
    "bad_message": "ข้อมูลในซองไม่ถูกต้อง",
    "out_of_bounds": "ข้อมูลในซองยาว มาก หรือใหญ่เกินขอบเขตที่กำหนด",
    "not_a_feed_kind": "ชนิดซองที่หน่วยงานส่งไม่ได้",
    "duplicate_number": "เลขหนังสือซ้ำ",
    "number_not_leased": "เลขอยู่นอกช่วงที่จัดสรร",
    "not_your_register": "ไม่ใช่ทะเบียนของหน่วยงาน",
    "unknown_provisional": "เลขชั่วคราวที่ไม่รู้จัก",
    "bad_register": "ทะเบียนไม่ถูกต้อง",
    "blobs_incomplete": "ไฟล์แนบยังส่งมาไม่ครบ (หน่วยงานจะส่งไฟล์แล้วส่งซองอีกครั้ง)",
    "unsealed_classified": "หนังสือชั้นความลับที่ไม่ได้ปิดผนึกด้วยการเข้ารหัส (ศูนย์กลางไม่รับและไม่เก็บเนื้อหา)",
}
"""Why an envelope was refused, in Thai, by the reason code of the push result."""


def reason_label(code: str | None) -> str:
    """The Thai words for a refusal's reason code (the code itself when unknown)."""
    return REASONS.get(code or "", code or "-")


UNKNOWN = AlertKind("การแจ้งเตือน", "ตรวจสอบรายละเอียด", "warn")


def kind_of(kind: str) -> AlertKind:
    """The words of an alert kind (a generic one for a kind this version does not know)."""
    return KINDS.get(kind, UNKNOWN)


def alert_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """An alert row with its Thai title, what to do, severity and the quarantined envelope
    it is about (None: the caller may name the office's oldest open one)."""
    kind = kind_of(row["kind"])
    key = row.get("key") or ""
    named = key.split(":", 1)[1] if key.startswith("quarantine:") else ""
    quarantine_id = int(named) if named.isdigit() else None  # alerts of an older hub
    return {
        **row,
        "title": kind.title,
        "todo": kind.todo,
        "severity": kind.severity,
        "quarantine_id": quarantine_id,
    }


def _resolve(store: HubStore, alert_id: int, by: str, note: str, now: float) -> None:
    """Resolve an open alert the hub found settled, on the hub's audit chain (an operator's
    own actions are put there by the console)."""
    row = store.alert(alert_id)
    store.close_alert(alert_id, by, note, now, status="resolved")
    if row is not None:
        store.log_action(
            by, "resolve_alert", row["office"], note, f"{row['kind']} #{alert_id}", now
        )


def _sync(
    store: HubStore,
    prefix: str,
    wanted: dict[str, tuple[str, str | None, str]],
    now: float,
) -> None:
    """Open the alerts in ``wanted`` (key -> kind, office, detail) not yet open, and
    resolve the open ones under ``prefix`` no longer wanted."""
    held = store.open_alert_keys(prefix)
    for key, (kind, office, detail) in wanted.items():
        if key not in held:
            store.raise_alert(kind, office, detail, now, key=key)
    for key, alert_id in held.items():
        if key not in wanted:
            _resolve(store, alert_id, "hub", "แก้ไขแล้ว", now)


def refresh_alerts(store: HubStore, now: float, settings: Mapping[str, Any]) -> None:
    """Open and resolve the condition alerts for the federation as it is at ``now``."""
    limits = Thresholds.from_settings(settings)
    silent: dict[str, tuple[str, str | None, str]] = {}
    skewed: dict[str, tuple[str, str | None, str]] = {}
    with store.write():
        for row in office_rows(store, now, limits):
            if row["state"] == "silent":
                silent[f"silent:{row['id']}"] = (
                    "silent_office",
                    row["id"],
                    f"{row['id']} {row['name']} ไม่ได้ติดต่อศูนย์กลางเกิน"
                    f" {format_thai_duration(limits.silent_after)}",
                )
            if row["skew_too_large"] and row["state"] not in ("revoked", "never enrolled"):
                skewed[f"skew:{row['id']}"] = (
                    "clock_skew",
                    row["id"],
                    f"นาฬิกาของ {row['id']} {clock_skew_text(row['clock_skew'])}",
                )
        quarantined: dict[str, tuple[str, str | None, str]] = {
            quarantine_key(office): (
                "quarantined",
                office,
                f"{q['count']} ซองรอตรวจสอบ ซองแรก: "
                + _quarantine_detail(office, q["first_seq"], q["first_reason"], q["first_detail"]),
            )
            for office, q in store.open_quarantine_by_office().items()
        }
        _sync(store, "silent:", silent, now)
        _sync(store, "skew:", skewed, now)
        _sync(store, "quarantine:", quarantined, now)


def quarantine_key(office: str) -> str:
    """The key of the one open ``quarantined`` alert of ``office``."""
    return f"quarantine:{office}"


def _quarantine_detail(office: str, seq: int | None, reason: str, detail: str | None) -> str:
    return (
        f"ซองลำดับที่ {seq if seq is not None else '-'} จาก {office}:"
        f" {reason_label(reason)} ({reason}) {detail or ''}"
    ).strip()


def report_quarantined(
    store: HubStore, office: str, seq: int | None, reason: str, detail: str | None, now: float
) -> None:
    """An envelope of ``office`` was kept in quarantine: raise or repeat its alert."""
    store.raise_alert(
        "quarantined",
        office,
        _quarantine_detail(office, seq, reason, detail),
        now,
        key=quarantine_key(office),
    )


def report_quarantine_full(store: HubStore, office: str, held: int, quota: int, now: float) -> None:
    """A refused envelope of ``office`` was not kept, its quarantine holding ``held`` of
    ``quota`` bytes: raise or repeat its ``quarantine_full`` alert."""
    store.raise_alert(
        "quarantine_full",
        office,
        f"ซองที่ถูกกักของ {office} ใช้พื้นที่ {_megabytes(held)} จาก {_megabytes(quota)}"
        " ซองที่ถูกปฏิเสธหลังจากนี้จะไม่ถูกเก็บไว้ (นับจำนวนครั้งไว้)",
        now,
        key=f"quarantine_full:{office}",
    )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"


def settle_quarantine(store: HubStore, office: str, by: str, note: str, now: float) -> None:
    """An operator released or discarded an envelope of ``office``: resolve its
    ``quarantined`` alert when no other one waits."""
    if store.quarantined("open", office=office, limit=1):
        return
    key = quarantine_key(office)
    alert_id = store.open_alert_keys(key).get(key)
    if alert_id is not None:
        store.close_alert(alert_id, by, note, now, status="resolved")


def clock_refused_key(office: str) -> str:
    """The key of the one open ``clock_refused`` alert of ``office``."""
    return f"clock_refused:{office}"


def report_clock_refused(
    store: HubStore, office: str, skew: float, window: float, now: float
) -> None:
    """A signed request of ``office`` was refused because its clock is ``skew`` seconds off
    the hub's (positive: ahead), beyond ``window``: count it and keep one alert open.

    The caller has checked the request's signature, so only the office itself counts here;
    :meth:`HubStore.record_clock_refusal` counts enrolled offices only.
    """
    store.record_clock_refusal(office, skew, now)
    way = "เร็ว" if skew > 0 else "ช้า"
    store.raise_alert(
        "clock_refused",
        office,
        f"นาฬิกาของ {office} {way}กว่าศูนย์กลาง {format_thai_duration(skew)}"
        f" (ยอมรับได้ไม่เกิน {format_thai_duration(window)}) ศูนย์กลางจึงปฏิเสธการซิงค์",
        now,
        key=clock_refused_key(office),
    )


def report_clock_accepted(store: HubStore, office: str, now: float) -> None:
    """A signed request of ``office`` passed the clock window after refusals: resolve them."""
    store.clear_clock_refusal(office)
    key = clock_refused_key(office)
    alert_id = store.open_alert_keys(key).get(key)
    if alert_id is not None:
        _resolve(store, alert_id, "hub", "นาฬิกาของหน่วยงานตรงแล้ว ซิงค์ได้ตามปกติ", now)


def report_directory(
    store: HubStore, office: str, held_version: int | None, refused: bool, now: float
) -> None:
    """What a heartbeat says about the node's directory: the version it holds, and whether
    its last sync failed because the hub offered an older directory than it holds.

    Raises ``directory_rollback`` when the node holds a newer version than the hub serves
    (the hub's database went back in time) or refused the hub's directory as a rollback.
    """
    current = directory_version(store)
    store.set_office_directory_version(office, held_version)
    if held_version is not None and held_version > current:
        store.raise_alert(
            "directory_rollback",
            office,
            f"{office} ถือทะเบียนหน่วยงานฉบับที่ {held_version} แต่ศูนย์กลางมีถึงฉบับที่ {current} เท่านั้น",
            now,
            key=f"rollback:{office}",
        )
    elif refused:
        store.raise_alert(
            "directory_rollback",
            office,
            f"{office} ปฏิเสธทะเบียนหน่วยงานที่ศูนย์กลางส่งให้ว่าเก่ากว่าหรือขัดกับฉบับที่"
            f" {held_version} ที่ถืออยู่ (ศูนย์กลางมีฉบับที่ {current})",
            now,
            key=f"rollback:{office}",
        )


def held_key_prefix(recipient: str) -> str:
    """The key prefix of ``recipient``'s ``held_envelopes`` alerts (one per sender)."""
    return f"held:{recipient}:"


def report_held(store: HubStore, recipient: str, held: list[dict[str, Any]], now: float) -> None:
    """What a heartbeat says about envelopes the node holds because they do not verify:
    one open ``held_envelopes`` alert per (recipient, sender), naming both offices, and
    the alerts of senders no longer reported resolved."""
    prefix = held_key_prefix(recipient)
    wanted: dict[str, tuple[str, str | None, str]] = {}
    for entry in held:
        sender = entry["origin"]
        wanted[prefix + sender] = (
            "held_envelopes",
            recipient,
            f"{_named(store, recipient)} พักซองจาก {_named(store, sender)} ไว้"
            f" {entry['count']} ซอง เพราะตรวจลายมือชื่อไม่ผ่าน ({entry['reason'] or '-'})",
        )
    _sync(store, prefix, wanted, now)


def _named(store: HubStore, office: str) -> str:
    row = store.office(office)
    return f"{office} {row['name']}" if row is not None and row["name"] else office
