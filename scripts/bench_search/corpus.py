"""The benchmark's database: a provincial hall's ten years of letters, built once.

:class:`LetterMaker` composes, from a seed, the rows of ``letters`` in date order: sent
letters with numbers of the office's registers (``ชม 0017.3/ว 456``, orders), received
letters with other provinces' and the ministry's numbers and a receipt number per year,
paper letters from outside bodies, a few classified ones, and the text of an attached PDF
for some. :func:`build` writes them into a new node database through the real schema and
indexes each batch as a node's indexer would (:func:`node.search.index.index_pending`).

Does not: time anything (:mod:`scripts.bench_search.timing`).
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from node.search.index import index_pending
from node.storage.store import Store
from protocol.numbers import search_key
from protocol.thai import format_thai_date
from scripts.bench_search.vocabulary import (
    CLOSINGS,
    COMMITTEES,
    DISTRICTS,
    DOCS,
    EVENTS,
    FIRST_YEAR_BE,
    MONTHS,
    OFFICE,
    PROJECTS,
    PROVINCES,
    TAMBONS,
    TOPICS,
    UNITS,
    YEARS,
    Vocabulary,
)

BUILD_VERSION = 2
"""Stored with the database; a database built by another version is built again."""


class LetterMaker:
    """Rows of ``letters`` as a provincial hall accumulates them, oldest first."""

    def __init__(self, total: int, seed: int) -> None:
        self.total = total
        self.rng = random.Random(seed)
        self.vocab = Vocabulary.make(seed)
        self.counters: dict[str, int] = {}
        self.start = date(FIRST_YEAR_BE - 543, 1, 2)
        self.days = YEARS * 365
        self.others = [(p, c) for p, c in PROVINCES.items() if c != "ชม"]

    def _next(self, register: str) -> int:
        self.counters[register] = self.counters.get(register, 0) + 1
        return self.counters[register]

    def _subject(self, year: int) -> str:
        r, v = self.rng, self.vocab
        province = r.choice(list(PROVINCES))
        n = r.randrange(30)
        if n < 4:
            return f"ขอเชิญประชุม{r.choice(COMMITTEES)} ครั้งที่ {r.randint(1, 12)}/{year}"
        if n < 8:
            return f"ขอความร่วมมือ{r.choice(TOPICS)} อำเภอ{r.choice(DISTRICTS)}"
        if n < 11:
            month = r.choice(MONTHS)
            return f"รายงานผลการดำเนินงาน{r.choice(PROJECTS)} ประจำเดือน{month} {year}"
        if n < 13:
            return f"การจัดงาน{r.choice(EVENTS)} ประจำปี {year}"
        if n < 15:
            return f"แต่งตั้งคณะกรรมการ{r.choice(TOPICS)[3:]}"
        if n < 17:
            return f"ขออนุมัติเดินทางไปราชการ ณ จังหวัด{province}"
        if n < 19:
            return f"ขอส่งสำเนา{r.choice(DOCS)}"
        if n < 21:
            return f"ซักซ้อมแนวทางการปฏิบัติ{r.choice(TOPICS)}"
        if n < 23:
            return f"การเบิกจ่ายงบประมาณรายจ่ายประจำปีงบประมาณ พ.ศ. {year} {r.choice(PROJECTS)}"
        if n < 25:
            return f"ขอให้ตรวจสอบข้อเท็จจริงกรณี{r.choice(v.persons)} ร้องเรียน{r.choice(TOPICS)}"
        if n < 27:
            return f"ขอรับการสนับสนุน{r.choice(PROJECTS)} ตำบล{r.choice(TAMBONS)}"
        if n < 28:
            return f"ขออนุญาตใช้สถานที่จัดกิจกรรม{r.choice(EVENTS)} ของ{r.choice(v.companies)}"
        return f"แจ้งผลการพิจารณา{r.choice(TOPICS)} จังหวัด{province}"

    def _body(self, subject: str, day: date) -> str:
        r = self.rng
        when = format_thai_date(day + timedelta(days=r.randint(3, 30)))
        detail = r.choice(
            (
                f"ในวันที่ {when} เวลา {r.randint(8, 15)}.{r.choice(('00', '30'))} น. "
                f"ณ ห้องประชุม{r.choice(('ศาลากลางจังหวัด', 'ที่ว่าการอำเภอ'))}"
                f"{r.choice(DISTRICTS)}",
                f"ภายในวันที่ {when} โดยให้รายงานผ่านระบบสารบรรณอิเล็กทรอนิกส์",
                f"ตามงบประมาณจำนวน {r.randint(10, 9000) * 1000:,} บาท",
            )
        )
        who = r.choice(("จังหวัด", "กระทรวงมหาดไทย", "อำเภอ"))
        return f"ด้วย{who}ได้ดำเนินการเรื่อง {subject} {detail} {r.choice(CLOSINGS)}"

    def _attachment_text(self, subject: str) -> str:
        r = self.rng
        parts = [f"รายละเอียดประกอบ {subject}"]
        for _ in range(r.randint(3, 6)):
            parts.append(
                f"{r.choice(TOPICS)} {r.choice(PROJECTS)} อำเภอ{r.choice(DISTRICTS)} "
                f"ตำบล{r.choice(TAMBONS)} จำนวน {r.randint(1, 500)} ราย "
                f"งบประมาณ {r.randint(1, 900) * 1000:,} บาท "
                f"ผู้ประสานงาน {r.choice(self.vocab.persons)}"
            )
        return " ".join(parts)

    def rows(self) -> Iterator[tuple[dict[str, Any], tuple[str, str] | None]]:
        """Each letter's row, and (sha256, text) of its attached PDF when it has one."""
        r = self.rng
        for i in range(self.total):
            day = self.start + timedelta(days=i * self.days // self.total)
            year = day.year + 543
            subject = self._subject(year)
            kind = r.random()
            row: dict[str, Any] = {
                "subject": subject,
                "letter_type": "ภายนอก",
                "sub_type": None,
                "speed": r.choice(("", "", "", "", "", "ด่วน", "ด่วน", "ด่วนมาก", "ด่วนที่สุด")),
                "secrecy": "",
                "letter_date": format_thai_date(day),
                "letter_day": day.isoformat(),
                "body": self._body(subject, day),
                "created_at": time.mktime(day.timetuple()),
                "attachments": "[]",
                "recipients": "[]",
                "paper": 0,
            }
            if r.random() < 0.25:
                row["letter_type"] = "ภายใน"
            if kind < 0.4:
                self._outgoing(row, year)
            elif kind < 0.9:
                self._incoming(row, year)
            else:
                self._paper(row, year)
            if r.random() < 0.025:
                row["secrecy"] = r.choice(("ลับ", "ลับ", "ลับมาก"))
                row["assigned_to"] = r.choice(UNITS[1:])
            attachment = None
            if r.random() < 0.15:
                text = self._attachment_text(subject)
                sha = hashlib.sha256(f"bench-{i}".encode()).hexdigest()
                name = f"{subject[:40]}.pdf"
                row["attachments"] = json.dumps(
                    [{"sha256": sha, "size": len(text) * 3, "media_type": "application/pdf",
                      "name": name}],
                    ensure_ascii=False,
                )  # fmt: skip
                attachment = (sha, text)
            yield row, attachment

    def _outgoing(self, row: dict[str, Any], year: int) -> None:
        r = self.rng
        unit = r.choice(UNITS)
        n = r.random()
        if n < 0.05:
            reg = f"{OFFICE}|คำสั่ง|{year}"
            number = f"คำสั่งจังหวัดเชียงใหม่ ที่ {self._next(reg)}/{year}"
            row.update(letter_type="สั่งการ", sub_type="คำสั่ง")
        elif n < 0.2:
            reg = f"{unit}|ว|{year}"
            number = f"{unit}/ว {self._next(reg)}"
        else:
            reg = f"{unit}|ส่ง|{year}"
            number = f"{unit}/{self._next(reg)}"
        others = r.sample(self.others, r.randint(1, 3))
        row.update(
            direction="out",
            origin=OFFICE,
            number=number,
            number_key=search_key(number),
            register=reg,
            sender="ผู้ว่าราชการจังหวัดเชียงใหม่",
            salutation=f"เรียน ผู้ว่าราชการจังหวัด{others[0][0]}",
            recipients=json.dumps([f"{c} 0017" for _, c in others], ensure_ascii=False),
            state="sent",
            stage="dispatched",
            unit=unit,
        )

    def _incoming(self, row: dict[str, Any], year: int) -> None:
        r = self.rng
        province, code = r.choice(self.others)
        if r.random() < 0.2:
            origin, unit, province = "มท 0200", f"มท 0212.{r.randint(1, 5)}", "กระทรวงมหาดไทย"
        else:
            origin, unit = f"{code} 0017", f"{code} 0017.{r.randint(1, 6)}"
        circular = r.random() < 0.3
        number = f"{unit}/{'ว ' if circular else ''}{r.randint(1, 9999)}"
        reg = f"{OFFICE}|รับ|{year}"
        row.update(
            direction="in",
            origin=origin,
            number=number,
            number_key=search_key(number),
            register=f"{unit.split('.')[0]}|{'ว' if circular else 'ส่ง'}|{year}",
            sender=f"ผู้ว่าราชการจังหวัด{province}" if origin != "มท 0200" else "ปลัดกระทรวงมหาดไทย",
            salutation="เรียน ผู้ว่าราชการจังหวัดเชียงใหม่",
            recipients=json.dumps([OFFICE], ensure_ascii=False),
            receipt_number=str(self._next(reg)),
            receipt_register=reg,
            state="registered",
            stage=r.choice(("registered", "assigned", "done", "done", "kept")),
        )

    def _paper(self, row: dict[str, Any], year: int) -> None:
        r = self.rng
        v = self.vocab
        origin = r.choice(
            (
                r.choice(v.companies),
                f"เทศบาลตำบล{r.choice(TAMBONS)}",
                f"องค์การบริหารส่วนตำบล{r.choice(TAMBONS)}",
                f"นาย{r.choice(v.persons)}",
                f"ที่ทำการปกครองอำเภอ{r.choice(DISTRICTS)}",
            )
        )
        number = ""
        if origin.startswith("ที่ทำการ"):
            number = f"ชม {r.randint(5100, 5125)}/{r.randint(1, 3000)}"
        classified = r.random() < 0.05
        reg = f"{OFFICE}|{'ลับ' if classified else 'รับ'}|{year}"
        row.update(
            direction="in",
            paper=1,
            origin=origin,
            number=number or None,
            number_key=search_key(number) if number else None,
            recipients=json.dumps(["ผู้ว่าราชการจังหวัดเชียงใหม่"], ensure_ascii=False),
            receipt_number=str(self._next(reg)),
            receipt_register=reg,
            state="registered",
            stage="registered",
        )
        if classified:
            row["secrecy"] = "ลับ"
            row["assigned_to"] = r.choice(UNITS[1:])


COLUMNS = (
    "direction origin number number_key register subject letter_type sub_type speed secrecy "
    "letter_date letter_day body salutation sender recipients attachments state stage paper "
    "created_at receipt_number receipt_register unit assigned_to"
).split()


def build(path: Path, total: int, seed: int, batch: int = 20_000) -> dict[str, Any]:
    """Fill a new node database with ``total`` letters through the schema, indexed."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = Store(path)
    # Durability does not matter for a file the benchmark rebuilds; the schema does.
    store.conn.execute("PRAGMA synchronous = OFF")
    store.conn.execute("PRAGMA cache_size = -262144")
    maker = LetterMaker(total, seed)
    marks = ", ".join("?" for _ in COLUMNS)
    insert = f"INSERT INTO letters ({', '.join(COLUMNS)}) VALUES ({marks})"  # noqa: S608
    started = time.perf_counter()
    done = 0
    rows = maker.rows()
    while done < total:
        with store.transaction():
            for row, attachment in _take(rows, batch):
                if attachment is not None:
                    store.execute(
                        "INSERT INTO attachment_text (sha256, text, pages) VALUES (?, ?, 1)",
                        attachment,
                    )
                store.execute(insert, [row.get(c) for c in COLUMNS])
                done += 1
        while index_pending(store, batch):
            pass
        elapsed = time.perf_counter() - started
        print(
            f"  {done:>9,} letters  {elapsed:7.1f} s  {done / elapsed:7.0f} letters/s",
            file=sys.stderr,
            flush=True,
        )
    with store.transaction():
        store.set_setting("bench_search_build", {"letters": total, "version": BUILD_VERSION})
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return {"build_seconds": round(time.perf_counter() - started, 1)}


def _take(it: Iterator[Any], n: int) -> Iterator[Any]:
    for _ in range(n):
        try:
            yield next(it)
        except StopIteration:
            return
