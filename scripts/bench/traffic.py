"""Offices simulated in the bench process, and the letters they send.

A :class:`SimOffice` is an office enrolled at a real hub with a key of its own: it signs
letters into its own feed (``seq`` and ``prev`` in order), signs its requests
(:func:`protocol.auth.sign_request`) and pushes and pulls over HTTP as a sender node
does. Every letter is the same 3–4 KB Thai letter (:func:`thai_letter`) with its own
subject line and number. :class:`Tally` counts the hub's answers (429s waited out, 5xx).

Does not: start processes (:mod:`scripts.bench.federation`) or time anything.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from protocol.api import API_PREFIX
from protocol.auth import sign_request
from protocol.envelope import Envelope, sign_envelope
from protocol.keys import Signer, b64encode
from protocol.messages import Letter

HTTP_TIMEOUT = 120.0
RATE_LIMITED = 429

BODY = (
    "ตามที่กระทรวงมหาดไทยได้แจ้งให้จังหวัดจัดทำแผนปฏิบัติราชการประจำปีงบประมาณ พ.ศ. ๒๕๗๐ "
    "ให้สอดคล้องกับยุทธศาสตร์ชาติ แผนแม่บทภายใต้ยุทธศาสตร์ชาติ และแผนพัฒนากลุ่มจังหวัด "
    "และให้รายงานผลการดำเนินงานเป็นรายไตรมาสผ่านระบบสารบรรณอิเล็กทรอนิกส์ นั้น\n"
    "ในการนี้ จังหวัดได้ดำเนินการตามแผนปฏิบัติราชการในไตรมาสที่ผ่านมาแล้ว "
    "ประกอบด้วยโครงการพัฒนาโครงสร้างพื้นฐานด้านการเกษตรและแหล่งน้ำ จำนวน ๑๒ โครงการ "
    "โครงการส่งเสริมการท่องเที่ยวเชิงวัฒนธรรมและชุมชน จำนวน ๘ โครงการ "
    "และโครงการพัฒนาคุณภาพชีวิตผู้สูงอายุและผู้ด้อยโอกาส จำนวน ๖ โครงการ "
    "โดยมีผลการเบิกจ่ายงบประมาณคิดเป็นร้อยละ ๗๘.๔๕ ของงบประมาณที่ได้รับจัดสรร "
    "ทั้งนี้ มีโครงการที่ยังไม่สามารถดำเนินการได้ตามกำหนด จำนวน ๓ โครงการ "
    "เนื่องจากอยู่ระหว่างการแก้ไขแบบรูปรายการ "
    "จังหวัดได้กำชับให้หน่วยงานที่รับผิดชอบเร่งรัดการดำเนินงานให้แล้วเสร็จ\n"
    "จึงเรียนมาเพื่อโปรดทราบ และโปรดพิจารณาให้ความเห็นชอบการขยายระยะเวลาดำเนินโครงการ "
    "ที่ยังไม่แล้วเสร็จต่อไปด้วย จะขอบคุณยิ่ง"
)


def thai_letter(origin: str, seq: int, prev: str | None, to: Sequence[str]) -> dict[str, Any]:
    """The body of letter ``seq`` of ``origin``'s feed: a provincial report of 3–4 KB."""
    return Letter(
        origin=origin,
        seq=seq,
        prev=prev,
        created_at="2026-11-24T09:00:00+07:00",
        subject=f"รายงานผลการดำเนินงานตามแผนปฏิบัติราชการประจำปีงบประมาณ พ.ศ. ๒๕๗๐ ครั้งที่ {seq}",
        number=f"{origin}/{seq}",
        letter_date="2026-11-24",
        speed="ด่วน",
        sender="สำนักงานจังหวัด กลุ่มงานยุทธศาสตร์และข้อมูลเพื่อการพัฒนาจังหวัด",
        salutation="เรียน ปลัดกระทรวงมหาดไทย",
        body=BODY,
        references=["หนังสือกระทรวงมหาดไทย ที่ มท 0200/ว 1234 ลงวันที่ 1 ตุลาคม 2569"],
        enclosures=["รายงานผลการดำเนินงานรายไตรมาส จำนวน 1 ชุด"],
        recipients=list(to),
    ).to_dict()


@dataclass
class Tally:
    """The hub's answers over many threads: statuses, and requests that got no answer."""

    statuses: Counter[int] = field(default_factory=Counter)
    no_answer: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, status: int | None) -> None:
        """Count one answer (None: the connection failed or timed out)."""
        with self._lock:
            if status is None:
                self.no_answer += 1
            else:
                self.statuses[status] += 1

    @property
    def server_errors(self) -> int:
        """Answers with a 5xx status."""
        return sum(n for status, n in self.statuses.items() if status >= 500)


class HubRefused(RuntimeError):
    """The hub answered a bench request with an error the bench did not expect."""


class SimOffice:
    """An office in the bench process with its own key and feed, talking to the hub."""

    def __init__(self, office: str, hub_url: str, tally: Tally | None = None) -> None:
        self.office = office
        self.signer = Signer.generate(office)
        self.api = hub_url.rstrip("/") + API_PREFIX
        self.seq = 0
        self.prev: str | None = None
        self.tally = tally or Tally()
        self.session = requests.Session()

    def enroll(self, token: str) -> None:
        """Redeem ``token`` with this office's fresh keys."""
        enroll = {
            "token": token,
            "office": self.office,
            "sign_keyid": self.signer.keyid,
            "sign_public": self.signer.public_b64(),
            "seal_public": b64encode(X25519PrivateKey.generate().public_key().public_bytes_raw()),
            "software": "saraban-bench",
        }
        resp = self.session.post(self.api + "/enroll", json=enroll, timeout=HTTP_TIMEOUT)
        if resp.status_code != 200:
            raise HubRefused(f"enroll {self.office}: HTTP {resp.status_code} {resp.text[:200]}")

    def letters(self, to: Sequence[str], count: int) -> list[Envelope]:
        """The next ``count`` letters of this office's feed, signed, addressed to ``to``."""
        out = []
        for _ in range(count):
            self.seq += 1
            env = sign_envelope(
                "letter", thai_letter(self.office, self.seq, self.prev, to), self.signer
            )
            self.prev = env.env_id
            out.append(env)
        return out

    def close(self) -> None:
        """Close the HTTP connections."""
        self.session.close()

    def post(self, path: str, body: bytes) -> requests.Response:
        """POST a signed JSON request; a 429 is waited out (Retry-After) and sent again."""
        while True:
            headers = sign_request(self.signer, "POST", API_PREFIX + path, body, time.time())
            headers["Content-Type"] = "application/json"
            try:
                resp = self.session.post(
                    self.api + path, data=body, headers=headers, timeout=HTTP_TIMEOUT
                )
            except requests.RequestException:
                self.tally.count(None)
                raise
            self.tally.count(resp.status_code)
            if resp.status_code != RATE_LIMITED:
                return resp
            time.sleep(float(resp.headers.get("Retry-After") or 1))

    def push(self, body: bytes) -> int:
        """Push one prepared batch (:func:`push_bodies`); every envelope must be accepted."""
        resp = self.post("/push", body)
        if resp.status_code != 200:
            raise HubRefused(f"push {self.office}: HTTP {resp.status_code} {resp.text[:200]}")
        results = resp.json()["results"]
        refused = [r for r in results if r["status"] != "accepted"]
        if refused:
            raise HubRefused(f"push {self.office}: {refused[0]}")
        return len(results)

    def pull_all(self, limit: int = 500) -> int:
        """Pull the mailbox from the start until ``more`` is false; the envelopes pulled."""
        cursor: str | None = None
        pulled = 0
        while True:
            body = json.dumps({"cursor": cursor, "limit": limit}).encode()
            resp = self.post("/pull", body)
            if resp.status_code != 200:
                raise HubRefused(f"pull {self.office}: HTTP {resp.status_code} {resp.text[:200]}")
            answer = resp.json()
            pulled += len(answer["envelopes"])
            cursor = answer["cursor"]
            if not answer["more"]:
                return pulled


class Pushers:
    """Offices pushing their prepared batches in order, each in a thread, all at once."""

    def __init__(self, work: Sequence[tuple[SimOffice, Iterable[bytes]]]) -> None:
        self.errors: list[BaseException] = []
        self.finished: list[float] = []
        self._ready = threading.Barrier(len(work) + 1)
        self._threads = [threading.Thread(target=self._push, args=w, daemon=True) for w in work]

    def _push(self, office: SimOffice, bodies: Iterable[bytes]) -> None:
        self._ready.wait()
        try:
            for body in bodies:
                office.push(body)
        except BaseException as e:  # raised again by join(), not lost in the thread
            self.errors.append(e)
        finally:
            self.finished.append(time.perf_counter())

    def start(self) -> float:
        """Release every pusher at once; the ``perf_counter`` of that moment."""
        for t in self._threads:
            t.start()
        self._ready.wait()
        return time.perf_counter()

    def join(self) -> float:
        """Wait for every pusher; the ``perf_counter`` when the last one finished. Raises
        the first error a pusher met."""
        for t in self._threads:
            t.join()
        if self.errors:
            raise self.errors[0]
        return max(self.finished, default=time.perf_counter())


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` counts as even as can be."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def push_bodies(envelopes: Sequence[Envelope], batch: int) -> list[bytes]:
    """Push request bodies of ``batch`` envelopes each, in feed order."""
    return [
        json.dumps(
            {"envelopes": [e.to_wire() for e in envelopes[i : i + batch]]}, ensure_ascii=False
        ).encode()
        for i in range(0, len(envelopes), batch)
    ]


def feed_batches(office: SimOffice, to: Sequence[str], count: int, batch: int) -> Iterator[bytes]:
    """Push bodies of ``count`` new letters of ``office``, signed one batch at a time (for
    letters too many to hold prepared)."""
    for done in range(0, count, batch):
        yield from push_bodies(office.letters(to, min(batch, count - done)), batch)
