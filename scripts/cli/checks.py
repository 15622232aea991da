"""The findings of `saraban node doctor` and `saraban hub doctor`, and the checks both make.

A :class:`Finding` is one check's outcome: ``ok`` (fine), ``unknown`` (could not be checked
here) or ``problem``, with what is wrong and what to do; :func:`report` prints them as one
Thai line each and a count, or as one JSON object, and gives the exit status (1 when any
is a problem). What both doctors look at is here: the key files (present, readable, the
owner's only and owned by the folder's owner, :func:`key_findings`), every other file's
mode (:func:`mode_finding`, over :func:`protocol.filemodes.too_open`) and the free space
and writability of the disks the instance writes (:func:`disk_finding`).

Does not: change anything it finds: every fix is a command for the operator to run.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from protocol.filemodes import OTHERS, fix_command, too_open
from scripts.cli.kit import EXIT_FAILED

OK, PROBLEM, UNKNOWN = "ok", "problem", "unknown"
STATE_TH = {OK: "ปกติ", PROBLEM: "ปัญหา", UNKNOWN: "ตรวจไม่ได้"}
CHECK_TH = {
    "setup": "การตั้งเครื่อง",
    "keys": "กุญแจ",
    "file_modes": "สิทธิ์ไฟล์",
    "clock": "นาฬิกา",
    "disk": "พื้นที่ดิสก์",
    "hub": "การเชื่อมต่อศูนย์กลาง",
    "service": "บริการ",
    "schedule": "งานตามรอบเวลา",
}
"""Each check's name as the lines say it."""

NAMED = 5
"""Files a file-mode line names before it only counts the rest."""
DISK_FREE_MIN_BYTES = 1024**3
"""Free bytes below which a disk is a problem (databases, WAL and attachments grow)."""
DISK_FREE_MIN_SHARE = 0.05
"""Free share of a disk below which it is a problem, whatever its size."""
RUN_AS_OWNER_TH = (
    "รันคำสั่งด้วยบัญชีที่เป็นเจ้าของโฟลเดอร์ (บนเครื่องที่ติดตั้งด้วย make install: sudo saraban-as ชื่อ ...)"
)


@dataclass
class Finding:
    """One check's outcome: ``state`` is :data:`OK`, :data:`PROBLEM` or :data:`UNKNOWN`."""

    check: str
    state: str
    message_th: str
    fix_th: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """The check as one Thai line; a problem's line ends with what to do."""
        text = f"{STATE_TH[self.state]}  {CHECK_TH.get(self.check, self.check)}: {self.message_th}"
        return f"{text} — วิธีแก้: {self.fix_th}" if self.state == PROBLEM else text


def ok(check: str, message_th: str, **detail: Any) -> Finding:
    """A check that found nothing wrong."""
    return Finding(check, OK, message_th, detail=detail)


def problem(check: str, message_th: str, fix_th: str, **detail: Any) -> Finding:
    """A check that found something to fix, and how."""
    return Finding(check, PROBLEM, message_th, fix_th, detail)


def unknown(check: str, message_th: str, **detail: Any) -> Finding:
    """A check that could not be made here (no hub answer, no NTP service to ask)."""
    return Finding(check, UNKNOWN, message_th, detail=detail)


def report(role: str, instance: Path, title_th: str, findings: list[Finding], as_json: bool) -> int:
    """Print the findings (lines, or one JSON object); 1 when any is a problem, else 0."""
    problems = [f for f in findings if f.state == PROBLEM]
    if as_json:
        import json

        print(
            json.dumps(
                {
                    "role": role,
                    "instance": str(instance),
                    "ok": not problems,
                    "problems": len(problems),
                    "checks": [asdict(f) for f in findings],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        lines = [title_th, *(f.line() for f in findings)]
        lines.append(f"พบปัญหา {len(problems)} ข้อ" if problems else "ทุกข้อปกติ")
        print("\n".join(lines))
    return EXIT_FAILED if problems else 0


# ---- what both check ---------------------------------------------------------------------


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def key_findings(
    instance: Path,
    keys: Iterable[tuple[Path, Callable[[Path], object]]],
    missing_fix_th: str,
    leaked_fix_th: str,
) -> list[Finding]:
    """Each key file present, readable, parsed by its loader, the owner's only and owned by
    the instance folder's owner; one problem per key and fault, or one line saying all is
    well. ``missing_fix_th`` says what to do for a key that is gone, ``leaked_fix_th`` for
    one others could read."""
    folder_uid = instance.stat().st_uid
    found: list[Finding] = []
    names: list[str] = []
    for path, load in keys:
        shown = str(path)
        names.append(path.name)
        try:
            info = path.stat()
        except FileNotFoundError:
            found.append(
                problem(
                    "keys",
                    f"ไม่พบไฟล์กุญแจ {shown}",
                    missing_fix_th,
                    path=shown,
                )
            )
            continue
        if info.st_mode & OTHERS:
            mode = f"{stat.S_IMODE(info.st_mode):04o}"
            found.append(
                problem(
                    "keys",
                    f"กุญแจ {shown} ผู้ใช้อื่นในเครื่องอ่านได้ ({mode}) ควรอ่านได้เฉพาะเจ้าของ (0600)",
                    f"chmod 600 {shlex.quote(shown)} แล้วพิจารณาว่ากุญแจอาจรั่วไหล ({leaked_fix_th})",
                    path=shown,
                    mode=mode,
                )
            )
        if info.st_uid != folder_uid:
            owner, want = _owner(info.st_uid), _owner(folder_uid)
            found.append(
                problem(
                    "keys",
                    f"กุญแจ {shown} เป็นของผู้ใช้ {owner} ไม่ใช่ของเจ้าของโฟลเดอร์ ({want})",
                    f"chown {want}: {shlex.quote(shown)}",
                    path=shown,
                    owner=owner,
                )
            )
        try:
            load(path)
        except PermissionError:
            found.append(
                problem("keys", f"อ่านกุญแจ {shown} ไม่ได้ (ไม่มีสิทธิ์)", RUN_AS_OWNER_TH, path=shown)
            )
        except (OSError, ValueError) as e:
            found.append(
                problem(
                    "keys",
                    f"กุญแจ {shown} เสียหายหรือไม่ใช่ไฟล์กุญแจ ({e})",
                    "กู้คืนไฟล์จากสำรองของโฟลเดอร์นี้",
                    path=shown,
                )
            )
    if found:
        return found
    return [ok("keys", f"ครบ อ่านได้เฉพาะเจ้าของ ({', '.join(names)})", files=names)]


def mode_finding(roots: list[Path], sampled: list[Path], skip: Iterable[Path]) -> Finding:
    """Every file and folder of the instance (``roots``) the owner's only, except ``skip``
    (the key files, which :func:`key_findings` names)."""
    skipped = {str(p) for p in skip}
    wide = [t for t in too_open(roots, sampled) if str(t.path) not in skipped]
    if not wide:
        return ok("file_modes", "ไฟล์และโฟลเดอร์ทั้งหมดเป็นของเจ้าของเท่านั้น (โฟลเดอร์ 0700 ไฟล์ 0600)")
    named = ", ".join(str(t) for t in wide[:NAMED])
    if len(wide) > NAMED:
        named += f" และอีก {len(wide) - NAMED} รายการ"
    fix = fix_command(wide, roots)
    return problem(
        "file_modes",
        f"ผู้ใช้อื่นในเครื่องอ่านได้ {len(wide)} รายการ: {named}",
        fix,
        paths=[str(t) for t in wide],
    )


def _gigabytes(n: int) -> str:
    return f"{n / 1024**3:,.1f} GB"


def disk_finding(folders: Iterable[Path]) -> Finding:
    """Room and writability of every disk holding one of ``folders`` (each disk once)."""
    seen: set[int] = set()
    parts: list[str] = []
    worst: list[tuple[str, str]] = []
    detail: list[dict[str, Any]] = []
    for folder in folders:
        try:
            device = folder.stat().st_dev
        except OSError:
            continue
        if device in seen:
            continue
        seen.add(device)
        usage = shutil.disk_usage(folder)
        share = usage.free / usage.total if usage.total else 0.0
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        detail.append({"folder": str(folder), "free": usage.free, "total": usage.total})
        text = f"{folder} ว่าง {_gigabytes(usage.free)} จาก {_gigabytes(usage.total)} ({share:.0%})"
        parts.append(text)
        if read_only:
            worst.append(
                (
                    f"ดิสก์ของ {folder} เขียนไม่ได้ (read-only)",
                    "ตรวจดิสก์ (dmesg, fsck) แล้ว mount ให้เขียนได้ แล้วเริ่มบริการใหม่",
                )
            )
        elif usage.free < DISK_FREE_MIN_BYTES or share < DISK_FREE_MIN_SHARE:
            worst.append(
                (
                    f"ดิสก์ใกล้เต็ม: {text}",
                    "ลบไฟล์ที่ไม่ใช้ในดิสก์นั้น (ไม่ใช่ไฟล์ในโฟลเดอร์ของระบบ) หรือเพิ่มขนาดดิสก์"
                    f" ให้ว่างอย่างน้อย {_gigabytes(DISK_FREE_MIN_BYTES)}"
                    f" และ {DISK_FREE_MIN_SHARE:.0%}",
                )
            )
    if worst:
        return problem("disk", "; ".join(w[0] for w in worst), worst[0][1], disks=detail)
    if not parts:
        return unknown("disk", "ไม่พบโฟลเดอร์ที่จะตรวจ")
    return ok("disk", "; ".join(parts), disks=detail)
