"""`saraban demo`: a real hub and 19 real nodes on this machine playing a working day.

สป.มท. (มท 0200) and the 18 provincial-group centres each run a node process; the hub
runs as its own process. The day:

1. every office enrolls with a one-time token and takes its first lease of the shared
   circular register;
2. นครสวรรค์'s link goes down for the morning;
3. สป.มท. sends a ด่วนที่สุด circular with a PDF attachment to the 18 centres;
4. สป.มท. issues an order (คำสั่ง) to the centres from the command line; the centres that
   are online register what came (ลงรับ); several answer with numbered letters;
   เชียงใหม่'s clerk registers a paper letter with its scan, the governor minutes it
   (เกษียน) and it is assigned to a division, all with `saraban letter ...`; สงขลา sends a
   letter to ภูเก็ต by mistake and ภูเก็ต returns it with a reason;
5. นครสวรรค์, offline, keeps working: answers the circular, registers a paper letter and
   issues circulars to its neighbours until its lease runs out and it issues a
   provisional number;
6. at noon the link returns: นครสวรรค์ catches up, the hub finalises its provisional number;
7. everyone syncs until the federation is quiet; เชียงใหม่ prints its receipt register
   (PDF) and exports its sending register (Excel) into the work folder; the demo reads
   every store and checks DESIGN.md's invariants 1–4.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hub.numbering.reconcile import format_numbering_report
from scripts.fleet import Link, Service, free_ports, start_service
from scripts.invariants import check_federation
from scripts.nodeapi import NodeHTTP, read_token

CENTRAL = "มท 0200"
OFFLINE = "นว 0017"
PAPER = "ชม 0017"
MISADDRESSING = ("สข 0017", "ภก 0017")
ANSWERING = ("ชม 0017", "ขก 0017", "อด 0017", "สฎ 0017", "ชบ 0017", "พล 0017")
NEIGHBOURS = ("พล 0017", "ชร 0017", "ชม 0017")
SHARED = (CENTRAL, "ว")
OFFLINE_LEASE_SIZE = 2
DEMO_CLERK = "demo-clerk"
DEMO_OPERATOR = "demo-operator"
MAX_QUIET_ROUNDS = 8


def minimal_pdf(lines: list[str]) -> bytes:
    """A small, valid one-page PDF (Latin text) to stand for a scanned circular."""
    text = (
        "BT /F1 14 Tf 72 760 Td "
        + " ".join(f"({ln.replace('(', '[').replace(')', ']')}) Tj 0 -20 Td" for ln in lines)
        + " ET"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text.encode("latin-1")),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


class Day:
    """The federation of one demo run and the clerks' actions on it."""

    def __init__(self, workdir: Path, say: Any) -> None:
        self.workdir = workdir
        self.say = say
        self.services: list[Service] = []
        self.nodes: dict[str, NodeHTTP] = {}
        self.node_urls: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.link: Link | None = None
        self.hub_url = ""
        self.order = ""
        self.paper_letter_id = 0
        self.printed: list[str] = []
        self.sync_errors: list[str] = []

    # ---- setting up -------------------------------------------------------------------

    def start(self) -> None:
        from hub.admin import add_shared_register, init_hub, issue_enrollment_token, offices
        from node.sync.enrolment import init_node

        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        hub_dir = self.workdir / "hub"
        init_hub(hub_dir)
        fleet = offices(hub_dir)
        self.names = {o["id"]: o["name"] for o in fleet}
        add_shared_register(hub_dir, SHARED[0], SHARED[1], list(self.names), "calendar")

        ports = free_ports(len(fleet) + 2)
        hub_port, link_port, node_ports = ports[0], ports[1], ports[2:]
        self.hub_url = f"http://127.0.0.1:{hub_port}"
        self._spawn(
            "hub",
            ["hub", "serve", "--instance", str(hub_dir), "--port", str(hub_port)],
            self.hub_url,
            "/api/v1/health",
            {},
        )
        self._wait_all()
        self.say(f"ศูนย์กลาง (hub) พร้อมที่ {self.hub_url}")

        self.link = Link(link_port, hub_port)
        self.link.restore()
        link_url = f"http://127.0.0.1:{link_port}"

        def enroll(office: dict[str, Any], port: int) -> None:
            oid = office["id"]
            inst = self._instance(oid)
            token = issue_enrollment_token(hub_dir, oid, 24)
            hub_for_node = link_url if oid == OFFLINE else self.hub_url
            init_node(inst, hub_for_node, oid, token)
            env = {"SARABAN_NODE_SYNC_INTERVAL_MINUTES": "30"}
            if oid == OFFLINE:
                env["SARABAN_NODE_LEASE_SIZE"] = str(OFFLINE_LEASE_SIZE)
            url = f"http://127.0.0.1:{port}"
            self.node_urls[oid] = url
            self._spawn(
                oid,
                ["node", "serve", "--instance", str(inst), "--port", str(port)],
                url,
                "/api/health",
                env,
            )

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(enroll, fleet, node_ports))
        self._wait_all()
        for oid in self.names:
            self.nodes[oid] = NodeHTTP(self.node_urls[oid], read_token(self._instance(oid)))
        self.say(f"สำนักงาน {len(self.nodes)} แห่งลงทะเบียนกับศูนย์กลางและเปิดให้บริการแล้ว")

    def _instance(self, office: str) -> Path:
        return self.workdir / "nodes" / office.replace(" ", "_")

    def _spawn(
        self, name: str, argv: list[str], url: str, health: str, env: dict[str, str]
    ) -> None:
        log = self.workdir / "logs" / f"{name.replace(' ', '_')}.log"
        self.services.append(start_service(name, argv, url, health, log, env))

    def _wait_all(self) -> None:
        deadline = time.monotonic() + 90
        for s in self.services:
            s.wait_ready(deadline)

    def stop(self) -> None:
        if self.link is not None:
            self.link.cut()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda s: s.stop(), self.services))

    # ---- clerks' actions --------------------------------------------------------------

    def cli(self, office: str, *argv: str) -> dict[str, Any]:
        """Run `saraban <argv> --instance <office's node> --json` as a clerk would."""
        instance = str(self._instance(office))
        proc = subprocess.run(
            [sys.executable, "-m", "scripts.cli.main", *argv, "--json", "--instance", instance],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"saraban {' '.join(argv[:2])}: {proc.stderr.strip()}")
        result: dict[str, Any] = json.loads(proc.stdout)
        return result

    def sync(self, offices: list[str] | None = None) -> dict[str, dict[str, Any]]:
        targets = offices or list(self.nodes)
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = dict(
                pool.map(lambda o: (o, self.nodes[o].call("POST", "/api/sync", {})), targets)
            )
        for office, r in results.items():
            if not r.get("ok") and self._online(office):
                self.sync_errors.append(f"{office}: {r.get('error_code')}: {r.get('error')}")
        return results

    def sync_until_quiet(self) -> int:
        """Sync everyone in rounds until a round moves nothing and every sync succeeded
        (a failed sync moves nothing either, but is not quiet); returns the rounds used."""
        for round_no in range(1, MAX_QUIET_ROUNDS + 1):
            results = self.sync([o for o in self.nodes if self._online(o)])
            moved = sum(int(r.get("pushed", 0)) + int(r.get("pulled", 0)) for r in results.values())
            if moved == 0 and all(r.get("ok") for r in results.values()):
                return round_no
        return MAX_QUIET_ROUNDS

    def _online(self, office: str) -> bool:
        return office != OFFLINE or (self.link is not None and self.link.up)

    def send(self, office: str, **letter: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.nodes[office].call("POST", "/api/letters", letter)
        return result

    def inbox(self, office: str) -> list[dict[str, Any]]:
        data = self.nodes[office].call("GET", "/api/letters?box=inbox")
        rows: list[dict[str, Any]] = data["letters"]
        return rows

    def register_all(self, office: str, skip_from: str | None = None) -> int:
        done = 0
        for letter in self.inbox(office):
            if letter.get("state") != "delivered" or letter.get("origin") == skip_from:
                continue
            self.nodes[office].call("POST", f"/api/letters/{letter['id']}/register", {})
            done += 1
        return done

    # ---- the working day --------------------------------------------------------------

    def play(self) -> None:
        assert self.link is not None
        self.sync()
        self.say("08.00 น. ทุกสำนักงานซิงก์ครั้งแรก และรับการจัดสรรเลขทะเบียนหนังสือเวียนร่วม")

        self.link.cut()
        self.say(f"08.15 น. เครือข่ายของ{self.names[OFFLINE]}ขัดข้อง (ทำงานแบบออฟไลน์)")

        pdf = minimal_pdf(["Ministry of Interior - e-Saraban pilot", "Circular: urgent"])
        circular = self.send(
            CENTRAL,
            subject="ขอให้รายงานความพร้อมการใช้ระบบสารบรรณอิเล็กทรอนิกส์",
            lists=["pilot-centres"],
            letter_type="ภายนอก",
            speed="ด่วนที่สุด",
            series="ว",
            salutation="เรียน ผู้ว่าราชการจังหวัด (ศูนย์ปฏิบัติการกลุ่มจังหวัด)",
            body="ด้วยกระทรวงมหาดไทยเชื่อมโยงระบบสารบรรณอิเล็กทรอนิกส์ ขอให้จังหวัดรายงานความพร้อมภายในวันนี้",
            attachments=[
                {
                    "name": "circular.pdf",
                    "media_type": "application/pdf",
                    "content_base64": base64.b64encode(pdf).decode("ascii"),
                }
            ],
        )
        self.say(f"08.30 น. สป.มท. ส่งหนังสือเวียนด่วนที่สุด ที่ {circular['number']} ถึง 18 จังหวัด")
        self.order_from_the_ministry()
        self.sync([CENTRAL])
        online = [o for o in self.nodes if o not in (CENTRAL, OFFLINE)]
        self.sync(online)
        registered = sum(self.register_all(o) for o in online if o != MISADDRESSING[1])
        self.say(f"09.00 น. จังหวัดที่ออนไลน์ลงรับหนังสือเวียนแล้ว {registered} แห่ง")

        self.offline_morning()
        for office in ANSWERING:
            sent = self.send(
                office,
                subject="รายงานความพร้อมการใช้ระบบสารบรรณอิเล็กทรอนิกส์",
                recipients=[CENTRAL],
                letter_type="ภายนอก",
                speed="ด่วน",
                salutation="เรียน ปลัดกระทรวงมหาดไทย",
                body="จังหวัดพร้อมใช้ระบบสารบรรณอิเล็กทรอนิกส์แล้ว",
                references=[circular["number"]],
            )
            self.say(f"10.45 น. {self.names[office]} ตอบกลับ ที่ {sent['number']}")

        self.paper_letter_at_chiang_mai()

        wrong = self.send(
            MISADDRESSING[0],
            subject="ขอความร่วมมือตรวจสอบข้อมูลด่านพรมแดน",
            recipients=[MISADDRESSING[1]],
            salutation="เรียน ผู้ว่าราชการจังหวัดสตูล",
            body="ขอความร่วมมือตรวจสอบข้อมูลด่านพรมแดนในพื้นที่",
        )
        # The sender pushes before the addressee pulls: in one parallel round the pull
        # may come first and find nothing yet.
        self.sync([MISADDRESSING[0]])
        self.sync([MISADDRESSING[1]])
        self.register_all(MISADDRESSING[1], skip_from=MISADDRESSING[0])
        arrived = [x for x in self.inbox(MISADDRESSING[1]) if x.get("env_id") == wrong["env_id"]]
        if len(arrived) != 1:
            raise RuntimeError(
                f"the misaddressed letter reached {MISADDRESSING[1]} {len(arrived)} times"
            )
        self.nodes[MISADDRESSING[1]].call(
            "POST",
            f"/api/letters/{arrived[0]['id']}/return",
            {"reason": "ส่งผิดหน่วยงาน เรื่องนี้เป็นของจังหวัดสตูล"},
        )
        self.say(f"11.30 น. {self.names[MISADDRESSING[1]]} ส่งคืนหนังสือที่ส่งผิดหน่วยงาน")

        self.link.restore()
        self.say(f"12.00 น. เครือข่ายของ{self.names[OFFLINE]}กลับมาใช้งานได้")
        self.sync([OFFLINE])
        self.register_all(OFFLINE)
        for letter in self.nodes[OFFLINE].call("GET", "/api/letters?box=sent")["letters"]:
            if letter.get("number_notice"):
                self.say(f"12.05 น. {self.names[OFFLINE]}: {letter['number_notice']}")
        rounds = self.sync_until_quiet()
        for office in self.nodes:
            self.register_all(
                office, skip_from=MISADDRESSING[0] if office == MISADDRESSING[1] else None
            )
        rounds += self.sync_until_quiet()
        self.say(f"16.30 น. ทุกสำนักงานซิงก์ครบ ({rounds} รอบ)")
        self.print_registers()

    def order_from_the_ministry(self) -> None:
        """สป.มท. issues an order (คำสั่ง) to the pilot centres from the command line."""
        order = self.cli(
            CENTRAL,
            "letter",
            "send",
            "--type",
            "สั่งการ",
            "--sub-type",
            "คำสั่ง",
            "--subject",
            "แต่งตั้งคณะทำงานขับเคลื่อนระบบสารบรรณอิเล็กทรอนิกส์ระดับกลุ่มจังหวัด",
            "--list",
            "pilot-centres",
            "--body",
            "ให้ผู้ว่าราชการจังหวัดที่เป็นศูนย์ปฏิบัติการกลุ่มจังหวัดเป็นประธานคณะทำงาน",
        )
        self.order = order["number"]
        self.say(f"08.40 น. สป.มท. ออกคำสั่ง {order['number']} ถึง 18 จังหวัด")

    def paper_letter_at_chiang_mai(self) -> None:
        """A paper letter with its scan: ลงรับ, the governor's minute, then a division."""
        self.cli(PAPER, "unit", "save", "ชม 0017.3", "กลุ่มงานอำนวยการ")
        scan = self.workdir / "scan-ชม-5201-1234.pdf"
        scan.write_bytes(minimal_pdf(["Chiang Mai Provincial Public Relations Office"]))
        paper = self.cli(
            PAPER,
            "letter",
            "paper",
            "--number",
            "ชม 5201/1234",
            "--from",
            "สำนักงานประชาสัมพันธ์จังหวัดเชียงใหม่",
            "--subject",
            "ขอเชิญร่วมงานวันรัฐธรรมนูญ",
            "--date",
            time.strftime("%Y-%m-%d"),
            "--scan",
            str(scan),
        )
        self.say(f"11.00 น. {self.names[PAPER]} ลงรับหนังสือกระดาษ เลขรับ {paper['receipt_number']}")
        letter_id = str(paper["id"])
        self.cli(
            PAPER,
            "letter",
            "minute",
            letter_id,
            "--text",
            "ทราบ เห็นควรเข้าร่วมงาน",
            "--instruction",
            "มอบกลุ่มงานอำนวยการจัดผู้แทนเข้าร่วม",
            "--by",
            "ผู้ว่าราชการจังหวัดเชียงใหม่",
        )
        self.cli(PAPER, "letter", "assign", letter_id, "--to", "ชม 0017.3")
        self.say(f"11.10 น. ผู้ว่าราชการจังหวัดเชียงใหม่เกษียนสั่งการ มอบ{'กลุ่มงานอำนวยการ'}")
        self.paper_letter_id = int(letter_id)

    def add_demo_clerk(self) -> str:
        """A clerk account at เชียงใหม่ for trying the pages; its password is new each run."""
        return _add_account(
            "node",
            DEMO_CLERK,
            ("--name", "เจ้าหน้าที่สารบรรณ (สาธิต)", "--role", "clerk", "--role", "executive"),
            self._instance(PAPER),
        )

    def add_demo_operator(self) -> str:
        """An operator account of the hub's console; its password is new each run."""
        return _add_account(
            "hub",
            DEMO_OPERATOR,
            ("--name", "เจ้าหน้าที่ศูนย์กลาง (สาธิต)", "--role", "operator"),
            self.workdir / "hub",
        )

    def print_registers(self) -> None:
        """At day's end เชียงใหม่ prints its receipt register and exports its sending one."""
        for action, series, name in (
            ("print", "รับ", "ทะเบียนหนังสือรับ-ชม0017.pdf"),
            ("export", "ส่ง", "ทะเบียนหนังสือส่ง-ชม0017.xlsx"),
        ):
            path = self.workdir / name
            self.cli(PAPER, "register", action, "--series", series, "-o", str(path))
            self.printed.append(str(path))
        self.say(f"17.00 น. {self.names[PAPER]} พิมพ์ทะเบียนหนังสือรับ: {self.printed[0]}")

    def offline_morning(self) -> None:
        node = OFFLINE
        failed = self.nodes[node].call("POST", "/api/sync", {})
        assert not failed.get("ok"), "the offline node reached the hub"
        answer = self.send(
            node,
            subject="รายงานความพร้อมการใช้ระบบสารบรรณอิเล็กทรอนิกส์",
            recipients=[CENTRAL],
            salutation="เรียน ปลัดกระทรวงมหาดไทย",
            body="จังหวัดพร้อมใช้ระบบแล้ว (ส่งระหว่างเครือข่ายขัดข้อง)",
        )
        self.say(f"09.30 น. {self.names[node]} (ออฟไลน์) ออกเลข {answer['number']} รอส่ง")
        self.nodes[node].call(
            "POST",
            "/api/paper-letters",
            {
                "number": "นว 0023.4/567",
                "sender": "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดนครสวรรค์",
                "subject": "รายงานผลการเบิกจ่ายงบประมาณ",
                "letter_date": time.strftime("%Y-%m-%d"),
            },
        )
        for i in range(OFFLINE_LEASE_SIZE + 1):
            sent = self.send(
                node,
                subject=f"ประชุมเตรียมความพร้อมกลุ่มจังหวัด ครั้งที่ {i + 1}",
                recipients=list(NEIGHBOURS),
                series="ว",
                salutation="เรียน ผู้ว่าราชการจังหวัด",
                body="ขอเชิญประชุม",
            )
            self.say(
                f"10.{15 + i * 10} น. {self.names[node]} (ออฟไลน์) หนังสือเวียน ที่ {sent['number']}"
            )

    # ---- the report -------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        from hub.admin import numbering_report

        stats = {o: self.nodes[o].call("GET", "/api/stats") for o in self.nodes}
        numbering = numbering_report(self.workdir / "hub")
        checks = check_federation(self.workdir / "hub", {o: self._instance(o) for o in self.nodes})
        problems = [
            {
                "register": r["register"],
                "gaps": r["gaps"],
                "duplicates": r["duplicates"],
                "provisional_pending": r["provisional_pending"],
            }
            for r in numbering
            if r["gaps"] or r["duplicates"] or r["provisional_pending"]
        ]
        return {
            "offices": {o: {"name": self.names[o], **stats[o]} for o in self.nodes},
            "hub": self.hub_url,
            "nodes": self.node_urls,
            "letters_sent": checks["letters_sent"],
            "deliveries_expected": checks["deliveries_expected"],
            "deliveries_done": checks["deliveries_done"],
            "receipts_expected": checks["receipts_expected"],
            "receipts_registered": checks["receipts_registered"],
            "receipts_returned": checks["receipts_returned"],
            "numbering": numbering,
            "numbering_problems": problems,
            "invariant_violations": checks["violations"],
            "sync_errors": self.sync_errors,
            "order": self.order,
            "printed_registers": self.printed,
            "paper_letter_steps": [
                h["action"]
                for h in self.nodes[PAPER].call(
                    "GET", f"/api/letters/{self.paper_letter_id}/history"
                )["history"]
            ],
        }


def _print_report(report: dict[str, Any]) -> None:
    print()
    print(f"{'สำนักงาน':<36} {'ส่ง':>5} {'รับ':>5} {'ลงรับ':>6} {'ค้าง':>5}")
    for oid, s in report["offices"].items():
        label = f"{oid} {s['name']}"
        print(
            f"{label:<36} {s['sent']:>5} {s['received']:>5} {s['registered']:>6} {s['pending']:>5}"
        )
    print()
    print("รายงานการออกเลข (ศูนย์กลาง)")
    print(format_numbering_report(report["numbering"]))
    print()
    print(
        f"หนังสือที่ส่ง {report['letters_sent']} ฉบับ, ส่งถึง {report['deliveries_done']}"
        f"/{report['deliveries_expected']} ปลายทาง, ลงรับ {report['receipts_registered']}, "
        f"ส่งคืน {report['receipts_returned']}"
    )
    print(
        f"ปัญหาการออกเลข: {len(report['numbering_problems'])}, "
        f"การละเมิดข้อกำหนด: {len(report['invariant_violations'])}"
    )
    for v in report["invariant_violations"]:
        print(f"  ! {v}")


def day_shortfalls(report: dict[str, Any]) -> list[str]:
    """What kept the day from full success: empty when every delivery arrived, every
    receipt came back and nothing broke an invariant."""
    shortfalls = []
    if report["deliveries_done"] != report["deliveries_expected"]:
        shortfalls.append(f"deliveries {report['deliveries_done']}/{report['deliveries_expected']}")
    answered = report["receipts_registered"] + report["receipts_returned"]
    if answered != report["receipts_expected"]:
        shortfalls.append(f"receipts {answered}/{report['receipts_expected']}")
    if report["numbering_problems"]:
        shortfalls.append(f"numbering problems {report['numbering_problems']}")
    if report["invariant_violations"]:
        shortfalls.append(f"invariant violations {report['invariant_violations']}")
    if not report["order"].startswith("คำสั่งสำนักงานปลัดกระทรวงมหาดไทย ที่ "):
        shortfalls.append(f"order numbered {report['order']!r}")
    if report["paper_letter_steps"] != ["register_paper_letter", "minute", "assign"]:
        shortfalls.append(f"paper letter steps {report['paper_letter_steps']}")
    return shortfalls


def _add_account(side: str, username: str, fields: tuple[str, ...], instance: Path) -> str:
    """`saraban <side> adduser` with a fresh password, as an administrator would run it."""
    password = secrets.token_urlsafe(9)
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "scripts.cli.main", side, "adduser", username, *fields),
            *("--password-stdin", "--instance", str(instance)),
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"saraban {side} adduser: {proc.stderr.strip()}")
    return password


def run_demo(once: bool, as_json: bool, workdir: Path) -> int:
    """Play the day; serve until Ctrl-C unless ``once``. Exit code 0 only on full success."""

    def say(text: str) -> None:
        if not as_json:
            print(text, flush=True)

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # Ctrl-C and a service manager's SIGTERM both end the demo through the same cleanup,
    # even when the demo was started with SIGINT ignored (a background job of a script).
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    day = Day(workdir.resolve(), say)
    try:
        day.start()
        day.play()
        report = day.report()
        shortfalls = day_shortfalls(report)
        ok = not shortfalls
        if as_json:
            print(
                json.dumps(
                    {"ok": ok, "shortfalls": shortfalls} | report,
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            _print_report(report)
        for line in shortfalls + (report["sync_errors"] if shortfalls else []):
            print(f"saraban demo: {line}", file=sys.stderr)
        if once:
            return 0 if ok else 1
        print()
        print(f"ศูนย์กลาง: {day.hub_url}/")
        for oid, url in day.node_urls.items():
            print(f"  {oid:<8} {day.names[oid]:<28} {url}/")
        password = day.add_demo_clerk()
        print(
            f"เข้าสู่ระบบที่ {day.node_urls[PAPER]}/ ด้วยผู้ใช้ {DEMO_CLERK} "
            f"รหัสผ่าน {password} (บัญชีสาธิต สร้างใหม่ทุกครั้ง)"
        )
        password = day.add_demo_operator()
        print(
            f"หน้าผู้ดูแลศูนย์กลาง {day.hub_url}/ ด้วยผู้ใช้ {DEMO_OPERATOR} "
            f"รหัสผ่าน {password} (บัญชีสาธิต สร้างใหม่ทุกครั้ง)"
        )
        print("กด Ctrl-C เพื่อหยุด", flush=True)
        stop = threading.Event()
        try:
            stop.wait()
        except KeyboardInterrupt:
            print("\nกำลังหยุดบริการ...", flush=True)
        return 0 if ok else 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # the demo must end in one line, whatever failed
        print(f"saraban demo: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        day.stop()
