"""The portal benchmark's database: a hub's ten years of letters between the ministry and
the provinces, built once.

:class:`HubLetterMaker` composes, from a seed, the letters a hub accepts in order: the 77
provincial halls (``ชม 0017``) writing to one to three other provinces or to the ministry,
the ministry's offices (สป.มท. ``มท 0200`` and three departments) writing to a few
provinces or, for circulars, to every one (some put in the library), a few sealed
letters (neutral subject, no body), numbers in the project's formats. Subjects and bodies
are the node benchmark's (:class:`scripts.bench_search.corpus.LetterMaker`).
:func:`build_hub` writes them into a new hub database through the real schema, and
indexes each batch as the hub's job would
(:func:`hub.federation.letter_index.index_pending`).

Does not: time anything (:mod:`scripts.bench_search.portal_timing`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from hub.federation.letter_index import index_pending
from hub.portal.search import MINISTRY_OFFICE_NAME
from hub.store import HubStore
from protocol.numbers import search_key
from protocol.sealing import SEALED_SUBJECT
from protocol.thai import format_thai_date
from scripts.bench_search.corpus import LetterMaker
from scripts.bench_search.vocabulary import PROVINCES

PORTAL_BUILD_VERSION = 1
"""Stored with the database; a database built by another version is built again."""

MINISTRY = "มท 0200"
MINISTRY_OFFICES = {
    MINISTRY: MINISTRY_OFFICE_NAME,
    "มท 0300": "กรมการปกครอง",
    "มท 0600": "กรมป้องกันและบรรเทาสาธารณภัย",
    "มท 0800": "กรมส่งเสริมการปกครองท้องถิ่น",
}
PROVINCIAL = {f"{code} 0017": f"สำนักงานจังหวัด{name}" for name, code in PROVINCES.items()}
OFFICES = {**MINISTRY_OFFICES, **PROVINCIAL}
"""Every office of the benchmark's hub, id to name."""


class HubLetterMaker(LetterMaker):
    """``(row, recipients)`` of each letter a hub accepts, oldest first."""

    def __init__(self, total: int, seed: int) -> None:
        super().__init__(total, seed)
        self.provinces = sorted(PROVINCIAL)

    def hub_rows(self) -> Iterator[tuple[dict[str, Any], list[str]]]:
        """Each letter's ``portal_letters`` values and its recipients."""
        r = self.rng
        for i in range(self.total):
            day = self.start + timedelta(days=i * self.days // self.total)
            year = day.year + 543
            subject = self._subject(year)
            if r.random() < 0.8:
                origin = r.choice(self.provinces)
                if r.random() < 0.3:
                    recipients = [r.choice(sorted(MINISTRY_OFFICES))]
                else:
                    recipients = r.sample(
                        [p for p in self.provinces if p != origin], r.randint(1, 3)
                    )
                sender = f"ผู้ว่าราชการ{OFFICES[origin].removeprefix('สำนักงาน')}"
            else:
                origin = r.choice(sorted(MINISTRY_OFFICES))
                if r.random() < 0.25:
                    recipients = list(self.provinces)
                else:
                    recipients = r.sample(self.provinces, r.randint(1, 4))
                sender = "ปลัดกระทรวงมหาดไทย" if origin == MINISTRY else f"อธิบดี{OFFICES[origin]}"
            circular = len(recipients) > 10
            unit = f"{origin}.{r.randint(1, 6)}" if origin not in MINISTRY_OFFICES else origin
            number = f"{unit}/{'ว ' if circular or r.random() < 0.1 else ''}{self._next(unit)}"
            sealed = not circular and r.random() < 0.025
            row: dict[str, Any] = {
                "env_id": f"{i:064x}",
                "origin": origin,
                "register": f"{origin}|{'ว' if '/ว ' in number else 'ส่ง'}|{year}",
                "number": number,
                "number_key": search_key(number),
                "letter_date": format_thai_date(day),
                "letter_day": day.isoformat(),
                "letter_type": "ภายใน" if r.random() < 0.25 else "ภายนอก",
                "sub_type": None,
                "speed": r.choice(("", "", "", "", "", "ด่วน", "ด่วน", "ด่วนมาก", "ด่วนที่สุด")),
                "secrecy": r.choice(("ลับ", "ลับมาก")) if sealed else "",
                "sealed": int(sealed),
                "subject": SEALED_SUBJECT if sealed else subject,
                "body": "" if sealed else self._body(subject, day),
                "sender": sender,
                "parties": " ".join(
                    part
                    for office in (origin, *recipients)
                    for part in (office, OFFICES[office], sender if office == origin else "")
                    if part
                ),
                "library": int(circular and r.random() < 0.3),
                "accepted_at": time.mktime(day.timetuple()),
            }
            yield row, recipients


def build_hub(path: Path, total: int, seed: int, batch: int = 20_000) -> dict[str, Any]:
    """Fill a new hub database with ``total`` letters and their index."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = HubStore.open(path)
    # Durability does not matter for a file the benchmark rebuilds; the schema does.
    store.conn.execute("PRAGMA synchronous = OFF")
    store.conn.execute("PRAGMA cache_size = -262144")
    with store.write():
        for office, name in OFFICES.items():
            store.add_office(office, name, None, None, None, 0.0)
    maker = HubLetterMaker(total, seed)
    rows = maker.hub_rows()
    started = time.perf_counter()
    done = 0
    while done < total:
        with store.write():
            taken = [(row, recipients, None) for row, recipients in _take(rows, batch)]
            store.add_portal_letters(taken)
            done += len(taken)
        while index_pending(store, batch):
            pass
        elapsed = time.perf_counter() - started
        print(
            f"  {done:>9,} hub letters  {elapsed:7.1f} s  {done / elapsed:7.0f} letters/s",
            file=sys.stderr,
            flush=True,
        )
    with store.write():
        store.set_meta("bench_portal_build", f"{total}:{PORTAL_BUILD_VERSION}")
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return {"build_seconds": round(time.perf_counter() - started, 1)}


def built_for(path: Path) -> str | None:
    """What the hub database at ``path`` was built for (``letters:version``), if it was."""
    if not path.exists():
        return None
    store = HubStore.open(path, create=False)
    try:
        return store.meta("bench_portal_build")
    finally:
        store.close()


def _take(it: Iterator[Any], n: int) -> Iterator[Any]:
    for _ in range(n):
        try:
            yield next(it)
        except StopIteration:
            return
