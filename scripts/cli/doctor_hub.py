"""What `saraban hub doctor` checks on the hub's machine, beyond what every instance shares.

* setup: the folder holds a hub (its database and a current signing key);
* keys and file modes, disk (:mod:`scripts.cli.checks`): the current and previous hub
  signing keys and the /metrics token file; the database, attachment bytes and reports;
* the service: the hub answers ``GET /api/v1/health`` at its address (``--url``, else
  ``http://HOST:PORT`` of its settings), with the directory version of this folder's
  database (another answer means another hub is listening there);
* the clock: every office's requests are judged against this machine's time, so it must be
  kept by NTP (``timedatectl``: ``NTPSynchronized``); without timedatectl it cannot be told;
* the schedule: the directory is signed again every day by the hub's jobs, and the nightly
  numbering report is made at ``RECONCILE_AT``: neither may be older than a day and two
  hours once the hub is that old.

Does not: sign, publish or report anything itself.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import requests

from hub.config import load_settings
from hub.directory import DIRECTORY_REISSUE_SECONDS, hub_key_path
from hub.errors import HubError
from hub.store import HubStore, shown
from hub.store.modes import hub_paths
from hub.store.postgres import is_postgres
from protocol.api import API_PREFIX
from protocol.keys import load_signer
from protocol.settings import CONFIG_FILE, BadSetting
from protocol.thai import format_thai_datetime, format_thai_duration
from scripts.cli.checks import (
    Finding,
    disk_finding,
    key_findings,
    mode_finding,
    ok,
    problem,
    unknown,
)

LATE = DIRECTORY_REISSUE_SECONDS + 2 * 3600.0
"""How old the directory or the last numbering report may grow while the jobs run (a day
and the hour between two runs of the directory job, with room)."""
SERVICE_FIX_TH = (
    "ตรวจว่าบริการทำงานอยู่: systemctl status saraban-hub (ดูบันทึก: journalctl -u saraban-hub -e;"
    " เริ่ม: systemctl start saraban-hub) หรือบนเครื่องที่ไม่ใช้ systemd ให้เปิด saraban hub serve"
)
NTP_FIX_TH = (
    "เปิดการตั้งเวลาอัตโนมัติ: sudo timedatectl set-ntp true (ถ้ายังไม่มีบริการเวลา"
    " ให้ติดตั้ง systemd-timesyncd หรือ chrony) แล้วตรวจด้วย timedatectl status"
)


def hub_findings(instance: Path, url: str | None, timeout: float) -> list[Finding]:
    """Every check of the hub in ``instance``, in the order they are printed."""
    try:
        settings = load_settings(instance)
    except (BadSetting, ValueError) as e:
        return [problem("setup", f"ค่าตั้งใน {instance / CONFIG_FILE} ผิด: {e}", "แก้ค่าตั้งนั้น")]
    target = settings["DATABASE"]
    on_postgres = is_postgres(target)
    where = shown(target)
    if not on_postgres and not Path(target).is_file():
        return [
            problem(
                "setup",
                f"{instance} ยังไม่ได้สร้างเป็นศูนย์กลาง (ไม่พบ {where})",
                f"รัน saraban hub init --instance {instance}",
            )
        ]
    try:
        store = HubStore.open(target, create=False)
    except (HubError, OSError) as e:
        fix = (
            "ตรวจว่าเซิร์ฟเวอร์ PostgreSQL ทำงานและ DATABASE_URL ถูกต้อง (psql กับ URL เดียวกัน)"
            if on_postgres
            else "รันด้วยบัญชีเจ้าของโฟลเดอร์"
        )
        return [problem("setup", f"เปิดฐานข้อมูล {where} ไม่ได้ ({e})", fix)]
    try:
        in_use = [r for r in store.hub_keys() if r["status"] in ("current", "previous")]
        keys: list[tuple[Path, Callable[[Path], object]]] = [
            (hub_key_path(instance, int(r["key_no"])), load_signer) for r in in_use
        ]
        head = store.directory_head()
        reports = store.numbering_reports(limit=1)
        born = min((float(r["created_at"] or 0) for r in store.hub_keys()), default=0.0)
    finally:
        store.close()
    if not keys:
        return [problem("setup", f"ไม่พบกุญแจลงนามของศูนย์กลางใน {where}", "กู้คืนโฟลเดอร์จากสำรอง")]
    findings = [
        ok("setup", f"ศูนย์กลางในโฟลเดอร์ {instance} ทะเบียนหน่วยงานฉบับที่ {head and head['version']}")
    ]
    token_file = Path(settings.get("METRICS_TOKEN_FILE") or instance / "metrics_token")
    if token_file.exists():
        keys.append((token_file, lambda p: p.read_bytes()))
    findings += key_findings(
        instance,
        keys,
        "กู้คืนไฟล์จากสำรองของโฟลเดอร์ศูนย์กลาง ห้ามสร้างศูนย์กลางใหม่ทับ (สำนักงานทุกแห่งยึดกุญแจเดิมไว้)",
        "ถ้ารั่วให้เปลี่ยนกุญแจ: saraban hub rotate-key",
    )
    roots = hub_paths(instance, settings)
    findings.append(mode_finding(roots, [Path(settings["BLOB_DIR"])], [p for p, _ in keys]))
    folders = [instance, Path(settings["BLOB_DIR"])]
    findings.append(disk_finding(folders if on_postgres else [*folders, Path(target).parent]))
    findings.append(_clock_finding())
    address = url or _own_url(str(settings["HOST"]), int(settings["PORT"]))
    findings.append(
        _service_finding(address, None if head is None else int(head["version"]), timeout)
    )
    now = time.time()
    findings.append(
        _schedule_finding(
            now,
            born,
            None if head is None else float(head["at"]),
            float(reports[0]["at"]) if reports else None,
        )
    )
    return findings


def _own_url(host: str, port: int) -> str:
    # A hub listening on every address is asked on the loopback one.
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _service_finding(url: str, version: int | None, timeout: float) -> Finding:
    health = url.rstrip("/") + API_PREFIX + "/health"
    try:
        answer = requests.get(health, timeout=timeout)
        data = answer.json() if answer.status_code == 200 else None
    except (requests.RequestException, ValueError) as e:
        return problem(
            "service", f"ศูนย์กลางไม่ตอบที่ {url} ({type(e).__name__})", SERVICE_FIX_TH, url=url
        )
    if not isinstance(data, dict):
        return problem(
            "service",
            f"ที่อยู่ {url} ตอบ HTTP {answer.status_code} ไม่ใช่ศูนย์กลางที่ทำงานปกติ",
            SERVICE_FIX_TH,
            url=url,
        )
    answered = data.get("directory_version")
    if version is not None and answered != version:
        return problem(
            "service",
            f"ที่อยู่ {url} ตอบด้วยศูนย์กลางอื่น (ทะเบียนหน่วยงานฉบับที่ {answered}"
            f" ไม่ใช่ฉบับที่ {version} ของโฟลเดอร์นี้)",
            "ตรวจว่าบริการ saraban-hub ใช้โฟลเดอร์นี้ (SARABAN_HUB_INSTANCE ใน /etc/saraban/hub.env)"
            " และไม่มีโปรแกรมอื่นใช้พอร์ตนั้น (ss -ltnp)",
            url=url,
        )
    return ok("service", f"ศูนย์กลางตอบที่ {url}", url=url)


def _clock_finding() -> Finding:
    try:
        done = subprocess.run(
            ["timedatectl", "show", "--property=NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        done = None
    answer = done.stdout.strip() if done is not None and done.returncode == 0 else ""
    if answer == "yes":
        return ok("clock", "นาฬิกาของเครื่องตั้งเวลาอัตโนมัติ (NTP) และตรงแล้ว")
    if answer == "no":
        return problem(
            "clock",
            "นาฬิกาของเครื่องศูนย์กลางไม่ได้ตั้งตามเวลามาตรฐาน (NTP) ทุกสำนักงานถูกตรวจเวลาเทียบกับเครื่องนี้",
            NTP_FIX_TH,
        )
    return unknown(
        "clock", "ตรวจไม่ได้ว่าเครื่องตั้งเวลาอัตโนมัติหรือไม่ (ไม่มี timedatectl หรือเครื่องไม่ได้ใช้ systemd)"
    )


def _thai(seconds: float) -> str:
    return format_thai_datetime(datetime.fromtimestamp(seconds, UTC))


def _schedule_finding(
    now: float, born: float, directory_at: float | None, report_at: float | None
) -> Finding:
    late: list[str] = []
    if directory_at is not None and now - directory_at > LATE:
        late.append(
            f"ทะเบียนหน่วยงานลงนามครั้งล่าสุดเมื่อ {_thai(directory_at)}"
            f" ({format_thai_duration(now - directory_at)}ที่แล้ว ปกติทุกวัน)"
        )
    if born and now - born > LATE and (report_at is None or now - report_at > LATE):
        when = "ยังไม่เคยทำ" if report_at is None else f"ครั้งล่าสุดเมื่อ {_thai(report_at)}"
        late.append(f"รายงานเลขหนังสือประจำคืน{when}")
    detail = {"directory_at": directory_at, "report_at": report_at}
    if late:
        fix = f"{SERVICE_FIX_TH}; ตรวจว่าค่า SCHEDULER เปิดอยู่ (ค่าเริ่มต้น)"
        return problem(
            "schedule", "งานตามรอบเวลาของศูนย์กลางไม่ทำงาน: " + "; ".join(late), fix, **detail
        )
    said = "ทะเบียนหน่วยงานลงนามใหม่ทุกวัน"
    if report_at is not None:
        said += f" รายงานเลขหนังสือล่าสุดเมื่อ {_thai(report_at)}"
    return ok("schedule", said, **detail)
