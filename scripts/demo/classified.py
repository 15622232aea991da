"""The demo's classified letters: sent sealed, opened and registered by the registrar, and
searched for in the hub's files afterwards.

During the day สป.มท. sends a ลับ letter and ขอนแก่น a ลับมาก letter to เชียงใหม่, each with
an attachment (:data:`LETTERS`). เชียงใหม่'s classified registrar (นายทะเบียนหนังสือลับ, an
account the demo adds there) opens each through the node's API as that user, downloads
its attachment and checks it against what was sent, then registers it (ลงรับ) in the
office's control register of classified letters. After the day, :func:`hub_leaks`
searches every file the hub keeps (databases with their WAL, blobs, quarantine, its log)
for each letter's subject, body, attachment name and bytes, and for the content keys the
recipient opened them with (invariant 6 of the design): the summary's
``classified_leaks`` names any found.

Does not: start processes or decide the rest of the day (:mod:`scripts.demo.day`); it
opens letters only as the registrar would, through the node's API.
"""

from __future__ import annotations

import base64
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.canonical import parse_canonical
from protocol.envelope import Envelope
from protocol.sealing import load_seal_private, open_letter, private_key_id
from scripts.demo.scans import minimal_pdf
from scripts.nodeapi import NodeAPIError, NodeHTTP, read_token

RECIPIENT = "ชม 0017"
REGISTRAR = "demo-registrar"
REGISTRAR_NAME = "นายทะเบียนหนังสือลับ (สาธิต)"
ATTACHMENT_TIMEOUT = 120.0
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Classified:
    """One classified letter of the day, in plaintext, as its sender wrote it."""

    sender: str
    secrecy: str
    subject: str
    body: str
    file_name: str
    file_line: str

    @property
    def file(self) -> bytes:
        return minimal_pdf([self.file_line])

    def letter(self) -> dict[str, Any]:
        """The letter as the sender's clerk sends it through the node's API."""
        return {
            "subject": self.subject,
            "recipients": [RECIPIENT],
            "secrecy": self.secrecy,
            "salutation": "เรียน ผู้ว่าราชการจังหวัดเชียงใหม่",
            "body": self.body,
            "attachments": [
                {
                    "name": self.file_name,
                    "media_type": "application/pdf",
                    "content_base64": base64.b64encode(self.file).decode("ascii"),
                }
            ],
        }

    def secrets(self) -> dict[str, bytes]:
        """What of this letter must never be found at the hub, by name."""
        return {
            f"{self.secrecy}: subject": self.subject.encode(),
            f"{self.secrecy}: body": self.body.encode(),
            f"{self.secrecy}: attachment name": self.file_name.encode(),
            f"{self.secrecy}: attachment text": self.file_line.encode("latin-1"),
            f"{self.secrecy}: attachment bytes": self.file,
        }


LETTERS = (
    Classified(
        "มท 0200",
        "ลับ",
        "การรักษาความปลอดภัยสถานที่ราชการช่วงงานพระราชพิธี จังหวัดเชียงใหม่",
        "ให้จังหวัดจัดเจ้าหน้าที่เฝ้าระวังจุดสำคัญตามบัญชีแนบ และรายงานภายในสามวัน",
        "บัญชีจุดเฝ้าระวัง.pdf",
        "Annex A - guard posts 7, 12 and 19, rotation B",
    ),
    Classified(
        "ขก 0017",
        "ลับมาก",
        "ข้อมูลเครือข่ายลักลอบขนยาเสพติดข้ามเขตจังหวัดขอนแก่น-เชียงใหม่",
        "ขอส่งข้อมูลบุคคลเป้าหมายและเส้นทางการขนส่ง เพื่อประสานการสกัดกั้นร่วมกัน",
        "เส้นทางและบุคคลเป้าหมาย.pdf",
        "Annex B - route KK-CM, vehicle plates on page 2",
    ),
)


def registrar_desk(url: str, instance: Path) -> NodeHTTP:
    """The recipient office's API as its classified registrar uses it."""
    desk = NodeHTTP(url, read_token(instance))
    desk.session.headers.update({"X-Saraban-User": REGISTRAR, "X-Saraban-Roles": "registrar"})
    return desk


def open_and_register(desk: NodeHTTP, env_id: str, letter: Classified) -> bool:
    """The registrar opens the received letter ``env_id``, downloads its attachment (once
    its ciphertext has arrived) and registers it; whether what opened is what was sent."""
    inbox = desk.call("GET", "/api/letters?box=inbox")["letters"]
    (row,) = [r for r in inbox if r.get("env_id") == env_id]
    opened = desk.call("GET", f"/api/letters/{row['id']}/sealed")
    (attachment,) = opened["attachments"]
    path = f"/api/letters/{row['id']}/sealed/{attachment['sha256']}"
    deadline = time.monotonic() + ATTACHMENT_TIMEOUT
    while True:
        try:
            data = desk.download(path)
            break
        except NodeAPIError as e:
            if e.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(POLL_SECONDS)  # polling a real node for the attachment's arrival
    desk.call("POST", f"/api/letters/{row['id']}/register", {})
    return (opened["subject"], opened["body"], attachment["name"], data) == (
        letter.subject,
        letter.body,
        letter.file_name,
        letter.file,
    )


def content_keys(instance: Path, env_ids: list[str]) -> dict[str, bytes]:
    """The content keys of the sealed letters ``env_ids`` received at ``instance``, as the
    office opens them with its own keys (to search the hub for them)."""
    held = [load_seal_private(p.read_bytes()) for p in (instance / "keys").glob("seal*.key")]
    keys = {private_key_id(k): k for k in held}
    found: dict[str, bytes] = {}
    db = sqlite3.connect(f"file:{instance / 'node.sqlite'}?mode=ro", uri=True)
    try:
        for env_id in env_ids:
            (raw,) = db.execute(
                "SELECT envelope FROM mailbox WHERE env_id = ?", (env_id,)
            ).fetchone()
            body = parse_canonical(Envelope.from_bytes(raw).body)
            _, key = open_letter(
                body["sealed"], sender=body["origin"], office=RECIPIENT, private_keys=keys
            )
            found[f"content key of {env_id[:12]}"] = key.secret
            found[f"content key of {env_id[:12]}, base64"] = base64.b64encode(key.secret)
            found[f"content key of {env_id[:12]}, hex"] = key.secret.hex().encode()
    finally:
        db.close()
    return found


def hub_leaks(hub_files: list[Path], secrets: dict[str, bytes]) -> list[str]:
    """Each secret found in ``hub_files`` (folders searched through), as
    ``"<secret> in <file name>"``; empty when the hub holds none of them."""
    files = sorted(p for root in hub_files for p in ([root] if root.is_file() else root.rglob("*")))
    leaks = []
    for path in files:
        if not path.is_file():
            continue
        data = path.read_bytes()
        leaks += [f"{name} in {path.name}" for name, secret in secrets.items() if secret in data]
    return leaks
