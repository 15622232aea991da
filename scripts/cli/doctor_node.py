"""What `saraban node doctor` checks on an office's node, beyond what every instance shares.

* setup: the folder holds an enrolled node (its settings name the office and the hub, its
  signing key and database exist);
* keys and file modes, disk (:mod:`scripts.cli.checks`): the signing and seal keys, kept
  older seal keys and the local API token;
* the hub: it answers at ``HUB_URL`` (``GET /api/v1/health``) and takes a request signed by
  this node's key (``GET /api/v1/highwater``), which says the office is enrolled and its key
  current, not retired or revoked;
* the clock: this machine's time against the hub's, from the ``Date`` of the hub's answer
  (or the time the hub gives when it refuses the request's), judged as the clerk's pages
  judge it (:func:`node.sync.clock.clock_warning`: a problem from half the hub's window on);
  with no answer from the hub, the skew the last round measured;
* the schedule: the last successful sync is no older than three scheduled rounds
  (``SYNC_INTERVAL_MINUTES``, at least 15 minutes): the node is serving and its jobs run.

Does not: sync, or write anything to the hub but the one signed read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests

from node.context import API_TOKEN_FILE, SEAL_KEY_FILE, SIGN_KEY_FILE, NodeContext
from node.errors import NodeError
from node.storage.modes import BLOB_FOLDER, node_paths
from node.storage.store import Store
from node.sync.clock import EARLY_WARNING_SHARE, SET_THE_CLOCK_TH, skew_against
from node.sync.hubclient import HubClient, HubHTTPError
from node.sync.state import sync_state
from protocol.auth import DEFAULT_WINDOW_SECONDS
from protocol.errors import SarabanError, TransportError
from protocol.keys import load_signer
from protocol.sealing import load_seal_private
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
from scripts.cli.sync import ERRORS_TH

SCHEDULE_ROUNDS = 3
"""Scheduled rounds that may pass without a successful sync before it is a problem."""
SCHEDULE_MIN_SECONDS = 15 * 60.0
"""However often the schedule runs, a sync this recent is never a problem."""
BUSY = (429, 503)


def node_findings(instance: Path, timeout: float) -> list[Finding]:
    """Every check of the node in ``instance``, in the order they are printed."""
    ctx, setup = _load(instance)
    if ctx is None:
        return [setup]
    findings = [setup]
    keys = [
        (instance / SIGN_KEY_FILE, load_signer),
        (instance / SEAL_KEY_FILE, lambda p: load_seal_private(p.read_bytes())),
        *((p, lambda p: load_seal_private(p.read_bytes())) for p in _kept_seal_keys(instance)),
        (instance / API_TOKEN_FILE, _read_token),
    ]
    findings += key_findings(
        instance,
        keys,
        "กู้คืนไฟล์จากสำรองของโฟลเดอร์นี้ หากไม่มีสำรองให้ขอรหัสลงทะเบียนใหม่จากศูนย์กลาง"
        " แล้วรัน saraban node init --reenroll --token -",
        "ถ้ารั่วให้เปลี่ยนกุญแจ: saraban node rekey",
    )
    database = Path(ctx.settings["DATABASE"])
    roots = node_paths(instance, database)
    findings.append(mode_finding(roots, [instance / BLOB_FOLDER], [p for p, _ in keys]))
    findings.append(disk_finding([instance, database.parent]))
    with Store(database) as store:
        state = sync_state(store)
    probe = probe_hub(ctx, timeout)
    findings.append(_clock_finding(probe, state))
    findings.append(_hub_finding(ctx, probe))
    findings.append(_schedule_finding(ctx, state, time.time()))
    return findings


def _kept_seal_keys(instance: Path) -> list[Path]:
    return sorted((instance / SEAL_KEY_FILE).parent.glob("seal-*.key"))


def _read_token(path: Path) -> None:
    if not path.read_text(encoding="utf-8").strip():
        raise ValueError("empty")


def _load(instance: Path) -> tuple[NodeContext | None, Finding]:
    """The node's context and the setup line, or None and the problem that stops the rest."""
    run_init = (
        f"รัน saraban node init --hub URL --office รหัสหน่วยงาน --token - --instance {instance}"
        " ด้วยรหัสลงทะเบียนจากผู้ดูแลศูนย์กลาง"
    )
    if not (instance / CONFIG_FILE).is_file():
        return None, problem("setup", f"{instance} ยังไม่ได้ตั้งเป็นเครื่องของหน่วยงาน", run_init)
    try:
        ctx = NodeContext.load(instance)
    except (BadSetting, ValueError) as e:
        return None, problem("setup", f"ค่าตั้งใน {instance / CONFIG_FILE} ผิด: {e}", "แก้ค่าตั้งนั้น")
    except PermissionError:
        return None, problem(
            "setup", f"อ่านค่าตั้งใน {instance} ไม่ได้ (ไม่มีสิทธิ์)", "รันด้วยบัญชีเจ้าของโฟลเดอร์"
        )
    office, hub = ctx.settings.get("OFFICE"), ctx.settings.get("HUB_URL")
    if not office or not hub or not (instance / SIGN_KEY_FILE).exists():
        return None, problem("setup", f"{instance} ยังลงทะเบียนกับศูนย์กลางไม่เสร็จ", run_init)
    database = Path(ctx.settings["DATABASE"])
    if not database.is_file():
        return None, problem(
            "setup",
            f"ไม่พบฐานข้อมูล {database}",
            f"กู้คืนจากสำรองใน {instance / 'backups'}"
            f" หรือรัน saraban node restore --instance {instance}",
        )
    return ctx, ok("setup", f"หน่วยงาน {office} ศูนย์กลาง {hub}", office=office, hub_url=hub)


@dataclass
class HubProbe:
    """What the hub said to one unsigned and one signed request."""

    url: str
    reachable: bool = False
    error: str = ""
    refusal: HubHTTPError | None = None
    skew: float | None = None
    """This machine's time minus the hub's, in seconds, when measured."""
    window: float | None = None
    """The hub's clock window, when it said it (refusing the request's time)."""
    signed: bool = False
    """Whether a signed request was made (not when the signing key cannot be read)."""


def probe_hub(ctx: NodeContext, timeout: float) -> HubProbe:
    """Ask the hub at ``HUB_URL`` whether it answers and takes this node's signature, and
    measure the clock against its answer."""
    url = str(ctx.settings["HUB_URL"])
    probe = HubProbe(url)
    try:
        signer = ctx.signer
    except (NodeError, SarabanError, OSError, ValueError):
        signer = None  # the key lines say why; the hub can still be asked whether it answers
    dates: list[str | None] = []
    session = requests.Session()
    session.hooks["response"].append(lambda resp, *a, **k: dates.append(resp.headers.get("Date")))
    client = HubClient(url, signer, time.time, timeout=timeout, session=session)
    try:
        client.health()
        probe.reachable = True
        if signer is not None:
            probe.signed = True
            sent = time.time()
            try:
                client.highwater()
            except HubHTTPError as e:
                probe.refusal = e
            _measure(probe, (sent + time.time()) / 2, dates[-1] if dates else None)
    except (TransportError, HubHTTPError) as e:
        probe.error = str(e)
    except (SarabanError, ValueError, TypeError) as e:
        probe.error = f"{type(e).__name__}: {e}"
    finally:
        client.close()
    return probe


def _measure(probe: HubProbe, middle: float, date: str | None) -> None:
    """The skew at ``middle`` (the local time halfway through the signed request), from the
    time the hub gave when it refused the request's, else from its answer's ``Date``."""
    body = probe.refusal.body if probe.refusal is not None else {}
    hub_time, window = body.get("hub_time"), body.get("window_seconds")
    if isinstance(window, int | float) and not isinstance(window, bool) and window > 0:
        probe.window = float(window)
    if isinstance(hub_time, str):
        probe.skew = skew_against(hub_time, middle)
    elif date:
        # The Date header has whole seconds: the hub's time was within the second after it.
        probe.skew = middle - (parsedate_to_datetime(date).timestamp() + 0.5)


def _hub_finding(ctx: NodeContext, probe: HubProbe) -> Finding:
    url, office = probe.url, ctx.office
    if not probe.reachable:
        return problem(
            "hub",
            f"ติดต่อศูนย์กลางที่ {url} ไม่ได้ ({probe.error})",
            f"ตรวจเครือข่ายและไฟร์วอลล์ของสำนักงาน ลองเปิด {url.rstrip('/')}/api/v1/health"
            " จากเครื่องนี้ หากเครือข่ายปกติให้แจ้งผู้ดูแลศูนย์กลาง"
            " (หนังสือที่ส่งจะรออยู่ในเครื่องและส่งเองเมื่อติดต่อได้)",
            url=url,
            error=probe.error,
        )
    e = probe.refusal
    if not probe.signed:
        return unknown("hub", f"ติดต่อ {url} ได้ (ตรวจการลงทะเบียนไม่ได้เพราะอ่านกุญแจลงนามไม่ได้)", url=url)
    if e is None:
        return ok("hub", f"ติดต่อ {url} ได้ ศูนย์กลางรับลายมือชื่อของ {office} (ลงทะเบียนแล้ว)", url=url)
    if e.error == "stale_request":
        return ok("hub", f"ติดต่อ {url} ได้ (ยืนยันการลงทะเบียนได้เมื่อนาฬิกาตรงแล้ว)", url=url)
    if e.status in BUSY:
        return ok("hub", f"ติดต่อ {url} ได้ (ศูนย์กลางมีงานมาก ขอให้รอ)", url=url)
    fixes = {
        "bad_request_signature": (
            f"ศูนย์กลางไม่รับลายมือชื่อของเครื่องนี้ (กุญแจ {ctx.signer.keyid} ถูกเลิกใช้ หรือเครื่องนี้เป็นสำเนาเก่า)",
            "ขอรหัสลงทะเบียนใหม่จากผู้ดูแลศูนย์กลาง แล้วรัน saraban node init --reenroll --token -",
        ),
        "revoked": (f"ศูนย์กลางเพิกถอนหน่วยงาน {office} แล้ว", "ติดต่อผู้ดูแลศูนย์กลาง"),
        "unknown_office": (
            f"ศูนย์กลางที่ {url} ไม่รู้จักหน่วยงาน {office}",
            "ตรวจ HUB_URL และ OFFICE ใน config.json ของโฟลเดอร์นี้ หรือขอลงทะเบียนใหม่",
        ),
    }
    message, fix = fixes.get(
        e.error,
        (f"ศูนย์กลางตอบกลับผิดปกติ (HTTP {e.status}: {e})", "แจ้งผู้ดูแลศูนย์กลาง"),
    )
    return problem("hub", message, fix, url=url, status=e.status, error=e.error)


def _clock_finding(probe: HubProbe, state: dict[str, Any]) -> Finding:
    window = probe.window or float(state.get("clock_window") or DEFAULT_WINDOW_SECONDS)
    refused = probe.refusal is not None and probe.refusal.error == "stale_request"
    skew, measured = probe.skew, "เทียบกับเวลาของศูนย์กลางตอนนี้"
    if skew is None and not refused:
        skew, refused = state.get("clock_skew"), bool(state.get("clock_refused"))
        measured = "วัดเมื่อซิงค์ครั้งล่าสุด"
    allowed = format_thai_duration(window)
    detail = {"skew_seconds": None if skew is None else round(float(skew), 1), "window": window}
    if skew is None:
        if refused:
            return problem("clock", f"ศูนย์กลางไม่รับเวลาของเครื่องนี้ (เกิน {allowed})", SET_THE_CLOCK_TH)
        return unknown("clock", "ยังวัดไม่ได้ (ศูนย์กลางยังไม่เคยบอกเวลาให้เครื่องนี้)", **detail)
    way = "เร็ว" if skew > 0 else "ช้า"
    off = f"{way}กว่าศูนย์กลาง {format_thai_duration(skew)}" if abs(skew) >= 1 else "ตรงกับศูนย์กลาง"
    if refused or abs(skew) > window * EARLY_WARNING_SHARE:
        verdict = "ศูนย์กลางไม่รับการซิงค์" if refused else "ใกล้เกินที่ศูนย์กลางยอมรับ"
        return problem(
            "clock",
            f"นาฬิกาของเครื่องนี้{off} ({measured}) {verdict} (ยอมรับได้ไม่เกิน {allowed})",
            SET_THE_CLOCK_TH,
            **detail,
        )
    return ok("clock", f"นาฬิกาของเครื่องนี้{off} ({measured}; ยอมรับได้ไม่เกิน {allowed})", **detail)


def _schedule_finding(ctx: NodeContext, state: dict[str, Any], now: float) -> Finding:
    interval = float(ctx.settings["SYNC_INTERVAL_MINUTES"]) * 60
    limit = max(SCHEDULE_ROUNDS * interval, SCHEDULE_MIN_SECONDS)
    last_ok = state.get("last_ok")
    name = ctx.instance.resolve().name
    if not ctx.settings.get("SCHEDULER"):
        fix = "ตั้งค่า SCHEDULER เป็น true ใน config.json แล้วเริ่มบริการใหม่"
    else:
        fix = (
            f"ตรวจว่าบริการทำงานอยู่: systemctl status saraban-node@{name}"
            f" (ดูบันทึก: journalctl -u saraban-node@{name} -e; เริ่ม: systemctl start"
            f" saraban-node@{name}) หรือบนเครื่องที่ไม่ใช้ systemd ให้เปิด saraban node serve"
        )
    failures = int(state.get("failures") or 0)
    if failures:
        code = _last_error_code(state)
        why = ERRORS_TH.get(code, str(state.get("last_error") or code))
        fix = f"{fix}; ซิงค์ล้มเหลวติดกัน {failures} ครั้ง ล่าสุด: {why}"
    detail = {"last_ok": last_ok, "limit_seconds": limit, "failures": failures}
    if not last_ok:
        return problem("schedule", "ยังไม่เคยซิงค์กับศูนย์กลางสำเร็จ", fix, **detail)
    age = now - float(last_ok)
    when = format_thai_datetime(datetime.fromtimestamp(float(last_ok), UTC))
    said = f"ซิงค์สำเร็จครั้งล่าสุดเมื่อ {when} ({format_thai_duration(age)}ที่แล้ว)"
    if age > limit:
        return problem(
            "schedule",
            f"{said} เกินรอบปกติ (ทุก {format_thai_duration(interval)})",
            fix,
            **detail,
        )
    return ok("schedule", f"{said} รอบปกติทุก {format_thai_duration(interval)}", **detail)


def _last_error_code(state: dict[str, Any]) -> str:
    import json

    try:
        last = json.loads(state.get("last_result") or "{}")
    except ValueError:
        return ""
    return str(last.get("error_code") or "") if isinstance(last, dict) else ""
