"""The demo's working day: the scenes played on the federation, from 08.00 to 17.00.

:meth:`Day.play` runs the scenes in the order the package docstring tells
(:mod:`scripts.demo`): the first sync and leases, the urgent circular with its PDF, the
ministry's order from the command line, registering at the online centres, นครสวรรค์'s
offline morning, the answers, เชียงใหม่'s paper letter, the misaddressed letter returned,
the link back at noon, syncing until quiet and printing the registers. Each scene tells
the watcher what happened, in Thai, through ``say``. :meth:`Day.report` gathers what the
day left: each office's counts, the hub's numbering report and the invariant checks.

Does not: start or stop processes (:mod:`scripts.demo.federation`) or judge and print the
report (:mod:`scripts.demo.summary`).
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

from scripts.demo.cast import (
    ANSWERING,
    CENTRAL,
    MISADDRESSING,
    NEIGHBOURS,
    OFFLINE,
    OFFLINE_LEASE_SIZE,
    PAPER,
)
from scripts.demo.classified import (
    LETTERS,
    RECIPIENT,
    REGISTRAR,
    REGISTRAR_NAME,
    content_keys,
    hub_leaks,
    open_and_register,
    registrar_desk,
)
from scripts.demo.federation import Federation
from scripts.demo.scans import minimal_pdf
from scripts.demo.timing import Stopwatch
from scripts.invariants import check_federation


class Day(Federation):
    """The working day played on one demo federation, and what it leaves for the report."""

    def __init__(self, workdir: Path, say: Any) -> None:
        super().__init__(workdir, say)
        self.stopwatch = Stopwatch(self.nodes)
        self.order = ""
        self.paper_letter_id = 0
        self.printed: list[str] = []
        self.classified_sent: list[dict[str, Any]] = []
        self.classified_opened = 0
        self.registrar_password = ""

    def play(self) -> None:
        """Play the day's scenes in order, from the first sync to the printed registers."""
        assert self.link is not None
        self.sync()
        self.say("08.00 น. ทุกสำนักงานซิงก์ครั้งแรก และรับการจัดสรรเลขทะเบียนหนังสือเวียนร่วม")

        self.link.cut()
        self.say(f"08.15 น. เครือข่ายของ{self.names[OFFLINE]}ขัดข้อง (ทำงานแบบออฟไลน์)")

        pdf = minimal_pdf(["Ministry of Interior - e-Saraban pilot", "Circular: urgent"])
        watch = self.stopwatch
        started = time.monotonic()
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
        # Nobody syncs by hand from here on: the send's commit pushes the letter and the
        # recipients' wake-up checks fetch it (ADR 0016); the day only waits and times it.
        online = [o for o in self.nodes if o not in (CENTRAL, OFFLINE)]
        watch.delivered(circular, online, started)
        self.say(
            f"08.31 น. หนังสือเวียนถึงจังหวัดที่ออนไลน์ครบ {len(online)} แห่ง "
            f"ภายใน {max(watch.to_inbox):.1f} วินาที โดยไม่มีใครกดซิงก์"
        )
        self.order_from_the_ministry()
        registering = [o for o in online if o != MISADDRESSING[1]]
        registered = sum(self.register_all(o, only=circular["env_id"]) for o in registering)
        watch.registered(CENTRAL, circular, registering, started)
        self.say(f"09.00 น. จังหวัดที่ออนไลน์ลงรับหนังสือเวียนแล้ว {registered} แห่ง")

        self.offline_morning()
        for office in ANSWERING:
            started = time.monotonic()
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
            watch.delivered(sent, [CENTRAL], started)
            self.say(f"10.45 น. {self.names[office]} ตอบกลับ ที่ {sent['number']}")

        self.paper_letter_at_chiang_mai()
        self.classified_letters()

        started = time.monotonic()
        wrong = self.send(
            MISADDRESSING[0],
            subject="ขอความร่วมมือตรวจสอบข้อมูลด่านพรมแดน",
            recipients=[MISADDRESSING[1]],
            salutation="เรียน ผู้ว่าราชการจังหวัดสตูล",
            body="ขอความร่วมมือตรวจสอบข้อมูลด่านพรมแดนในพื้นที่",
        )
        watch.delivered(wrong, [MISADDRESSING[1]], started)
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
        self.caught_up(OFFLINE)
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

    def offline_morning(self) -> None:
        """นครสวรรค์, cut off, answers, registers a paper letter and runs out of leased numbers."""
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

    def classified_letters(self) -> None:
        """A ลับ and a ลับมาก letter, each with an attachment, reach เชียงใหม่ sealed; its
        classified registrar opens each, checks its attachment and registers it."""
        office = RECIPIENT
        self.registrar_password = self.add_registrar(office, REGISTRAR, REGISTRAR_NAME)
        desk = registrar_desk(self.node_urls[office], self.instance_of(office))
        for i, letter in enumerate(LETTERS):
            started = time.monotonic()
            sent = self.send(letter.sender, **letter.letter())
            self.classified_sent.append(sent)
            self.say(
                f"11.{12 + 8 * i} น. {self.names[letter.sender]} ส่งหนังสือชั้น{letter.secrecy} "
                f"ที่ {sent['number']} ถึง{self.names[office]} (ปิดผนึก ศูนย์กลางอ่านไม่ได้)"
            )
            self.stopwatch.delivered(sent, [office], started)
            if open_and_register(desk, str(sent["env_id"]), letter):
                self.classified_opened += 1
            self.say(
                f"11.{16 + 8 * i} น. นายทะเบียนหนังสือลับของ{self.names[office]}เปิดอ่าน "
                f"ดาวน์โหลดไฟล์แนบ และลงรับหนังสือชั้น{letter.secrecy}แล้ว"
            )

    def classified_leaks(self) -> list[str]:
        """Every plaintext of the day's classified letters, and their content keys, found
        in the hub's files (its instance folder and its log): none, when sealing holds."""
        secrets: dict[str, bytes] = {}
        for letter in LETTERS:
            secrets |= letter.secrets()
        env_ids = [str(s["env_id"]) for s in self.classified_sent]
        secrets |= content_keys(self.instance_of(RECIPIENT), env_ids)
        return hub_leaks([self.workdir / "hub", self.workdir / "logs" / "hub.log"], secrets)

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

    # ---- the report -------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """What the day left, read from every node and the hub: the figures of ``--json``."""
        from hub.admin.reports import numbering_report
        from hub.monitoring.timings import delivery_timings
        from hub.store import open_store

        stats = {o: self.nodes[o].call("GET", "/api/stats") for o in self.nodes}
        numbering = numbering_report(self.workdir / "hub")
        checks = check_federation(
            self.workdir / "hub", {o: self.instance_of(o) for o in self.nodes}
        )
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
        hub_store = open_store(self.workdir / "hub" / "hub.sqlite", create=False)
        try:
            hub_timings = delivery_timings(hub_store, 0.0, time.time() + 1)
        finally:
            hub_store.close()
        return {
            **self.stopwatch.summary(),
            "hub_timings": {
                k: hub_timings[k] for k in ("send_to_inbox_p95_s", "send_to_registered_p95_s")
            },
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
            "classified_sent": len(self.classified_sent),
            "classified_opened": self.classified_opened,
            "classified_subjects": [letter.subject for letter in LETTERS],
            "classified_leaks": self.classified_leaks(),
            "paper_letter_steps": [
                h["action"]
                for h in self.nodes[PAPER].call(
                    "GET", f"/api/letters/{self.paper_letter_id}/history"
                )["history"]
            ],
        }
