"""Running Saraban for real, as an administrator meets it on a Debian machine.

`deploy/install.sh` (what `make install` runs) lays out a hub and two offices in a temporary
root: folders and modes, the .env files, the systemd units and the `saraban-as` command.
The hub and an office are then started by the very command line their units run (the
unit's `ExecStart` with its `EnvironmentFile`), as real processes on 127.0.0.1; the offices
are enrolled, a letter is sent and `saraban node sync` tells in Thai what came (and prints
the round's JSON with --json); `saraban hub doctor` and `saraban node doctor` say all is
well, then name a key others can read and a hub that stopped answering, each in one Thai
line with what to do, and exit 1.

Without systemd on the test machine, no unit is started by systemd itself; when
`systemd-analyze` is there, the rendered units are checked with `systemd-analyze verify`.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support import CHIANG_MAI, CHIANG_RAI

from scripts.fleet import STARTUP_TIMEOUT, Service, free_ports

REPO = Path(__file__).resolve().parent.parent
INSTALL = REPO / "deploy" / "install.sh"
SARABAN = Path(sys.executable).with_name("saraban")

pytestmark = pytest.mark.slow


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def env_file(path: Path) -> dict[str, str]:
    """The ``KEY="value"`` lines of an .env file as install.sh writes it."""
    pairs = re.findall(r'^([A-Z_]+)="([^"]*)"$', path.read_text(encoding="utf-8"), re.M)
    return dict(pairs)


def exec_start(unit: Path, instance: str, env: dict[str, str]) -> list[str]:
    """The unit's ExecStart as systemd runs it: ``%i`` is the instance, ``${X}`` one word."""
    line = re.search(r"^ExecStart=(.+)$", unit.read_text(encoding="utf-8"), re.M)
    assert line is not None
    words = shlex.split(line.group(1).replace("%i", instance))
    return [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], w) for w in words]


@dataclass
class Machine:
    """A root folder laid out by install.sh, with the saraban command linked into PREFIX."""

    root: Path
    services: list[Service] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.root / name

    def install(
        self, *, role: str, name: str = "", port: int = 0
    ) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "ROLE": role,
            "NAME": "" if role == "hub" else name,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "SYSTEM": "no",
            "VENV": "no",
            "SARABAN_USER": getpass.getuser(),
        }
        for var, folder in [("PREFIX", "opt"), ("STATE_DIR", "var"), ("CONF_DIR", "etc"),
                            ("UNIT_DIR", "units"), ("BIN_DIR", "sbin")]:  # fmt: skip
            env[var] = str(self.path(folder))
        return subprocess.run([str(INSTALL)], env=env, capture_output=True, text=True, timeout=60)

    def saraban_as(
        self, name: str, *args: str, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.path("sbin") / "saraban-as"), name, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.root,
        )

    def start_unit(self, unit: str, name: str, health: str) -> Service:
        """Start the unit's ExecStart with its EnvironmentFile, as systemd would."""
        env = env_file(self.path("etc") / f"{name}.env")
        argv = exec_start(self.path("units") / unit, name, env)
        port = env.get("NODE_PORT") or env["SARABAN_HUB_PORT"]
        log = self.root / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                argv,
                env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        service = Service(name, f"http://127.0.0.1:{port}", health, proc, log)
        self.services.append(service)
        service.wait_ready(time.monotonic() + STARTUP_TIMEOUT)
        return service


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    root = tmp_path_factory.mktemp("machine")
    (root / "opt" / "bin").mkdir(parents=True)
    (root / "opt" / "bin" / "saraban").symlink_to(SARABAN)
    m = Machine(root)
    m.ports = dict(zip(["hub", "chiangmai", "chiangrai"], free_ports(3), strict=True))
    for name, port in m.ports.items():
        done = m.install(role="hub" if name == "hub" else "node", name=name, port=port)
        assert done.returncode == 0, done.stderr
    try:
        yield m
    finally:
        for service in m.services:
            service.stop()


def lines_of(proc: subprocess.CompletedProcess[str], state: str) -> list[str]:
    return [line for line in proc.stdout.splitlines() if line.startswith(state)]


def test_install_lays_out_folders_env_files_units_and_the_command(machine: Machine) -> None:
    hub_port, cm_port = machine.ports["hub"], machine.ports["chiangmai"]
    var, etc = machine.path("var"), machine.path("etc")
    assert {p.name: mode(p) for p in var.iterdir()} == {
        "hub": 0o700,
        "chiangmai": 0o700,
        "chiangrai": 0o700,
    }
    assert mode(etc) == 0o750
    assert {p.name: mode(p) for p in etc.iterdir()} == {
        "hub.env": 0o640,
        "chiangmai.env": 0o640,
        "chiangrai.env": 0o640,
    }
    assert env_file(etc / "chiangmai.env") == {
        "SARABAN_NODE_INSTANCE": str(var / "chiangmai"),
        "NODE_HOST": "127.0.0.1",
        "NODE_PORT": str(cm_port),
        "LOG_LEVEL": "info",
    }
    assert env_file(etc / "hub.env")["SARABAN_HUB_PORT"] == str(hub_port)
    units = machine.path("units")
    assert sorted(p.name for p in units.iterdir()) == [
        "saraban-hub.service",
        "saraban-node@.service",
    ]
    for unit in units.iterdir():
        text = unit.read_text(encoding="utf-8")
        assert mode(unit) == 0o644 and not re.search("@[A-Z_]+@", text)
        assert f"ExecStart={machine.path('opt')}/bin/saraban " in text
        assert "StandardError=journal" in text and "UMask=0077" in text
    assert mode(machine.path("sbin") / "saraban-as") == 0o755

    again = machine.install(role="node", name="chiangmai", port=1)
    assert again.returncode == 0 and f"keeping {etc}/chiangmai.env" in again.stdout
    assert env_file(etc / "chiangmai.env")["NODE_PORT"] == str(cm_port)
    wrong = machine.install(role="node", name="Chiang Mai")
    assert wrong.returncode == 1 and wrong.stderr.startswith("install: ROLE=node needs NAME")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_rendered_units_pass_systemd_analyze_verify(machine: Machine, tmp_path: Path) -> None:
    units = machine.path("units")
    # verify wants a concrete instance of the template
    shutil.copy(units / "saraban-node@.service", tmp_path / "saraban-node@chiangmai.service")
    shutil.copy(units / "saraban-hub.service", tmp_path / "saraban-hub.service")
    done = subprocess.run(
        ["systemd-analyze", "verify", "saraban-hub.service", "./saraban-node@chiangmai.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_offices_enroll_sync_in_thai_and_the_doctor_names_what_to_fix(machine: Machine) -> None:
    init = machine.saraban_as("hub", "hub", "init")
    assert init.returncode == 0, init.stderr
    hub = machine.start_unit("saraban-hub.service", "hub", "/api/v1/health")

    doctor = machine.saraban_as("hub", "hub", "doctor")
    assert (doctor.returncode, doctor.stdout.splitlines()[-1]) == (0, "ทุกข้อปกติ"), doctor.stdout
    assert f"ปกติ  บริการ: ศูนย์กลางตอบที่ {hub.url}" in doctor.stdout

    for name, office in [("chiangmai", CHIANG_MAI), ("chiangrai", CHIANG_RAI)]:
        token = machine.saraban_as("hub", "hub", "enroll", office).stdout.strip()
        enrolled = machine.saraban_as(
            name, "node", "init", "--hub", hub.url, "--office", office, "--token", "-",
            stdin=token + "\n",
        )  # fmt: skip
        assert enrolled.returncode == 0, enrolled.stderr

    sent = machine.saraban_as(
        "chiangrai", "letter", "send", "--subject", "ขอเชิญประชุม", "--to", CHIANG_MAI
    )
    assert sent.returncode == 0, sent.stderr
    pushed = machine.saraban_as("chiangrai", "node", "sync")
    assert pushed.returncode == 0, pushed.stderr
    assert re.search(r"^ส่งขึ้นศูนย์กลาง [1-9]\d* รายการ: ศูนย์กลางรับ [1-9]", pushed.stdout, re.M)

    pulled = machine.saraban_as("chiangmai", "node", "sync")
    assert (pulled.returncode, pulled.stderr) == (0, "")
    lines = pulled.stdout.splitlines()
    assert re.fullmatch(
        rf"ซิงค์กับศูนย์กลางเรียบร้อย {CHIANG_MAI} \(\d+ \S+ 25\d\d เวลา \d+\.\d\d น\.\)", lines[0]
    )
    assert "หนังสือเข้าใหม่ 1 ฉบับ" in lines
    assert "เลขชั่วคราวที่ได้เลขจริงจากศูนย์กลาง 0 เลข" in lines
    assert not pulled.stdout.lstrip().startswith("{")
    as_json = machine.saraban_as("chiangmai", "node", "sync", "--json")
    result = json.loads(as_json.stdout)
    assert as_json.returncode == 0 and result["ok"] is True
    assert {"pushed", "pulled", "applied", "error", "warnings"} <= result.keys()

    node = machine.start_unit("saraban-node@.service", "chiangmai", "/api/health")
    assert node.proc.poll() is None
    fine = machine.saraban_as("chiangmai", "node", "doctor")
    assert (fine.returncode, fine.stdout.splitlines()[-1]) == (0, "ทุกข้อปกติ"), fine.stdout
    assert lines_of(fine, "ปัญหา") == []
    assert f"ศูนย์กลางรับลายมือชื่อของ {CHIANG_MAI} (ลงทะเบียนแล้ว)" in fine.stdout
    report = json.loads(machine.saraban_as("chiangmai", "node", "doctor", "--json").stdout)
    assert report["ok"] is True
    assert [c["check"] for c in report["checks"]] == [
        "setup", "keys", "file_modes", "disk", "clock", "hub", "schedule",
    ]  # fmt: skip

    key = machine.path("var") / "chiangmai" / "keys" / "sign.key"
    key.chmod(0o644)
    try:
        opened = machine.saraban_as("chiangmai", "node", "doctor")
    finally:
        key.chmod(0o600)
    assert opened.returncode == 1
    assert lines_of(opened, "ปัญหา") == [
        f"ปัญหา  กุญแจ: กุญแจ {key} ผู้ใช้อื่นในเครื่องอ่านได้ (0644) ควรอ่านได้เฉพาะเจ้าของ (0600)"
        f" — วิธีแก้: chmod 600 {key} แล้วพิจารณาว่ากุญแจอาจรั่วไหล"
        " (ถ้ารั่วให้เปลี่ยนกุญแจ: saraban node rekey)"
    ]
    assert opened.stdout.splitlines()[-1] == "พบปัญหา 1 ข้อ"

    hub.stop()
    cut = machine.saraban_as("chiangmai", "node", "doctor")
    assert cut.returncode == 1
    [link] = lines_of(cut, "ปัญหา")
    assert link.startswith(f"ปัญหา  การเชื่อมต่อศูนย์กลาง: ติดต่อศูนย์กลางที่ {hub.url} ไม่ได้")
    assert "— วิธีแก้: ตรวจเครือข่ายและไฟร์วอลล์ของสำนักงาน" in link
    down = machine.saraban_as("hub", "hub", "doctor")
    assert down.returncode == 1
    assert [line.split(" — ")[0] for line in lines_of(down, "ปัญหา")] == [
        f"ปัญหา  บริการ: ศูนย์กลางไม่ตอบที่ {hub.url} (ConnectionError)"
    ]
    offline = machine.saraban_as("chiangmai", "node", "sync")
    assert offline.returncode == 1
    assert "สาเหตุ: ติดต่อศูนย์กลางไม่ได้ (ขาดการเชื่อมต่อ)" in offline.stdout.splitlines()
    assert offline.stderr.startswith("saraban: ซิงค์ไม่สำเร็จ: ติดต่อศูนย์กลางไม่ได้")
    assert len(offline.stderr.splitlines()) == 1

    # The office's service stopped three days ago, and its clock ran 15 minutes fast at its
    # last sync: the doctor says both, from what the last sync measured, with what to do.
    node.stop()
    database = machine.path("var") / "chiangmai" / "node.sqlite"
    with closing(sqlite3.connect(database)) as db, db:
        db.execute(
            "UPDATE sync_state SET last_ok = ?, clock_skew = 900, clock_refused = 0,"
            " clock_window = 1200 WHERE id = 1",
            (time.time() - 3 * 86_400,),
        )
    stale = machine.saraban_as("chiangmai", "node", "doctor")
    assert stale.returncode == 1
    found = {line.split(":")[0]: line for line in lines_of(stale, "ปัญหา")}
    assert "นาฬิกาของเครื่องนี้เร็วกว่าศูนย์กลาง 15 นาที (วัดเมื่อซิงค์ครั้งล่าสุด)" in found["ปัญหา  นาฬิกา"]
    assert "— วิธีแก้:" in found["ปัญหา  นาฬิกา"]
    schedule = found["ปัญหา  งานตามรอบเวลา"]
    assert "ซิงค์สำเร็จครั้งล่าสุดเมื่อ" in schedule and "เกินรอบปกติ" in schedule
    assert "systemctl status saraban-node@chiangmai" in schedule
