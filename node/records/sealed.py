"""Sealed (classified) letters at the office: sealing what it sends, opening what it receives.

A ลับ or ลับมาก letter leaves the office sealed (:mod:`protocol.sealing`, ADR 0022): its
subject, body, salutation, references, enclosures and attachments (names, types and bytes)
are encrypted with a fresh content key, wrapped for each recipient office's X25519 key as
the directory publishes it now. The signed body shows the neutral subject
:data:`~protocol.sealing.SEALED_SUBJECT`, the secrecy class, the number and the parties,
and cites the attachments by the hashes of their ciphertext, which this node keeps as blobs
of their own and uploads like any other. The sender keeps its own plaintext copy.

A received sealed letter is stored as it came (its envelope in the mailbox, the neutral
subject in ``letters``); :func:`open_letter` opens it for whoever the office lets open it
(:meth:`node.records.access.Viewer.may_open`: the classified registrar, its assistants
and those it is assigned to), with the office's X25519 keys, older ones included
(``keys/seal.key`` and any ``keys/seal-*.key`` kept from before a key change). Each
opening and each attachment download is recorded in the audit trail.

Does not: decide who may open a letter (:mod:`node.records.access`), keep the classified
control register (:mod:`node.records.registers`), or talk to the hub.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from node.context import SEAL_KEY_FILE, NodeContext
from node.errors import BadInput, NotFound
from node.records.access import OPERATOR, Viewer
from node.records.directory import require_trusted
from node.storage import audit, blobs
from node.storage.store import Store
from protocol.canonical import parse_canonical
from protocol.envelope import Envelope
from protocol.errors import SarabanError, SealingUnavailable, SealRefused
from protocol.lettertypes import TOP_SECRET
from protocol.sealing import (
    SEALED_SUBJECT,
    ContentKey,
    check_sealing_support,
    load_seal_private,
    private_key_id,
    seal_letter,
    wire_attachment,
)
from protocol.sealing import open_letter as open_sealed

OPENED_FIELDS = ("subject", "body", "salutation", "references", "enclosures")
"""The fields a sealed letter's content gives back when it is opened."""


def is_sealed(secrecy: str | None) -> bool:
    """Whether a letter of ``secrecy`` travels sealed (ลับ, ลับมาก; ลับที่สุด never travels)."""
    return bool(secrecy) and secrecy != TOP_SECRET


@cache
def sealing_problem() -> str | None:
    """Why the installed ``cryptography`` cannot seal or open letters, or None when it can;
    checked once per process (the node says it at start)."""
    try:
        check_sealing_support()
    except SealingUnavailable as e:
        return str(e)
    return None


def require_sealing() -> None:
    """:class:`BadInput` ``sealing_unavailable`` when this installation cannot seal."""
    problem = sealing_problem()
    if problem is not None:
        raise BadInput(
            problem,
            code="sealing_unavailable",
            message_th=(
                "เครื่องนี้ปิดผนึกหรือเปิดหนังสือลับไม่ได้ เพราะไลบรารีเข้ารหัสไม่รองรับ"
                " ให้ผู้ดูแลระบบปรับรุ่นโปรแกรม ระหว่างนี้ให้ส่งหนังสือลับเป็นเอกสาร"
            ),
        )


def office_seal_keys(ctx: NodeContext) -> dict[str, X25519PrivateKey]:
    """This office's X25519 private keys by key id: the current one, any kept older ones,
    and one a cut-off ``saraban node rekey`` left to adopt (the hub may publish it already)."""
    current = ctx.instance / SEAL_KEY_FILE
    pending = current.with_name(current.name + ".new")
    paths = [current, pending, *sorted(current.parent.glob("seal-*.key"))]
    keys: dict[str, X25519PrivateKey] = {}
    for path in paths:
        if path.is_file():
            key = load_seal_private(path.read_bytes())
            keys[private_key_id(key)] = key
    return keys


def keep_old_seal_key(path: Path) -> None:
    """Before a new key takes the place of the X25519 key at ``path``, keep the old one as
    ``seal-<key id>.key`` beside it, so the letters sealed to it stay readable."""
    if path.is_file():
        kid = private_key_id(load_seal_private(path.read_bytes()))
        os.replace(path, path.with_name(f"seal-{kid}.key"))


def recipient_seal_keys(store: Store, offices: list[str]) -> dict[str, str]:
    """Each office's X25519 public key as the directory shows it now; :class:`BadInput`
    naming the offices that publish none (they cannot receive a sealed letter)."""
    require_sealing()
    trusted = require_trusted(store)
    found: dict[str, str] = {}
    for office in offices:
        entry = trusted.office(office) or {}
        public = entry.get("seal_public")
        if isinstance(public, str) and public:
            found[office] = public
    missing = [o for o in offices if o not in found]
    if missing:
        names = ", ".join(missing)
        raise BadInput(
            f"no sealing key published for {names}: a classified letter cannot be sent to them",
            code="no_seal_key",
            message_th=(
                f"หน่วยงาน {names} ยังไม่มีกุญแจสำหรับรับหนังสือลับในทะเบียนหน่วยงาน"
                " ส่งหนังสือชั้นความลับทางระบบไม่ได้ ให้ส่งเป็นเอกสาร"
            ),
        )
    return found


def seal_outgoing(
    ctx: NodeContext, store: Store, row: dict[str, Any], fields: dict[str, Any], offices: list[str]
) -> dict[str, Any]:
    """The signed-body fields of the sealed letter ``fields`` (a letter's wire fields, in
    plaintext) from this office's letter ``row`` to ``offices``: the content sealed, the
    attachments replaced by their ciphertext, saved as blobs to upload. Call inside the
    dispatch transaction."""
    publics = recipient_seal_keys(store, offices)
    key = ContentKey.fresh()
    root = ctx.blob_dir()
    wire: list[dict[str, Any]] = []
    listed: list[dict[str, Any]] = []
    for i, att in enumerate(json.loads(row["attachments"] or "[]"), start=1):
        plain = blobs.blob_path(root, att["sha256"]).read_bytes()
        blob = key.seal_attachment(plain)
        entry = wire_attachment(i, blob)
        blobs.save_blob(root, blob)
        store.execute(
            "INSERT OR IGNORE INTO attachments (sha256, size, media_type, name, present, "
            "uploaded, direction) VALUES (?, ?, ?, ?, 1, 0, 'out')",
            (entry["sha256"], entry["size"], entry["media_type"], entry["name"]),
        )
        wire.append(entry)
        listed.append({**att, "blob": entry["sha256"]})
    content = {name: fields[name] for name in OPENED_FIELDS}
    content["attachments"] = listed
    sealed = seal_letter(key, content, sender=ctx.office, recipients=publics)
    return {
        **fields,
        "subject": SEALED_SUBJECT,
        "body": "",
        "salutation": "",
        "references": [],
        "enclosures": [],
        "attachments": wire,
        "extra": {"sealed": sealed},
    }


def _received(ctx: NodeContext, store: Store, letter_id: int, viewer: Viewer) -> dict[str, Any]:
    row = store.one("SELECT * FROM letters WHERE id = ?", (letter_id,))
    if row is None or not viewer.may_open(row):
        raise NotFound(f"no letter {letter_id}", message_th="ไม่พบหนังสือ")
    return row


def carries_seal(store: Store, row: dict[str, Any]) -> bool:
    """Whether the received letter ``row`` came sealed (an older letter of a classified
    class, from before sealing, did not, and shows as it came)."""
    if row["direction"] != "in" or not is_sealed(row.get("secrecy")) or not row.get("env_id"):
        return False
    held = store.one("SELECT envelope FROM mailbox WHERE env_id = ?", (row["env_id"],))
    if held is None:
        return False
    try:
        return "sealed" in parse_canonical(Envelope.from_bytes(held["envelope"]).body)
    except SarabanError:
        return False


def _opened(
    ctx: NodeContext, store: Store, row: dict[str, Any]
) -> tuple[dict[str, Any], ContentKey]:
    """The content and key of the received sealed letter ``row``; :class:`BadInput` with
    the reason when it cannot be opened."""
    require_sealing()
    held = store.one("SELECT envelope FROM mailbox WHERE env_id = ?", (row["env_id"],))
    if row["direction"] != "in" or held is None:
        raise BadInput(
            "not a received sealed letter",
            code="not_sealed",
            message_th="หนังสือนี้ไม่ใช่หนังสือลับที่ได้รับทางระบบ",
        )
    try:
        body = parse_canonical(Envelope.from_bytes(held["envelope"]).body)
        return open_sealed(
            body.get("sealed"),
            sender=str(body.get("origin")),
            office=ctx.office,
            private_keys=office_seal_keys(ctx),
        )
    except SealRefused as e:
        raise BadInput(
            f"the sealed letter cannot be opened: {e}",
            code=f"seal_{e.reason}",
            message_th=(
                "เปิดหนังสือลับฉบับนี้ไม่ได้ "
                + (
                    "เพราะสำนักงานไม่มีกุญแจที่ใช้ปิดผนึก ให้ขอต้นเรื่องส่งใหม่"
                    if e.reason == "key_not_held"
                    else "เพราะข้อมูลที่ปิดผนึกไม่ถูกต้องหรือถูกแก้ไข ให้แจ้งต้นเรื่อง"
                )
            ),
        ) from e
    except SarabanError as e:
        raise BadInput(
            f"the sealed letter cannot be read: {e}",
            code="seal_unreadable",
            message_th="อ่านหนังสือลับฉบับนี้ไม่ได้ ให้แจ้งผู้ดูแลระบบ",
        ) from e


def opened_content(ctx: NodeContext, store: Store, row: dict[str, Any]) -> dict[str, Any]:
    """The sealed fields of the received letter ``row`` (a ``letters`` row the caller has
    let the viewer open): subject, body, salutation, references, enclosures and
    attachments (name, type, size, and the hash of the ciphertext as ``sha256``). Records
    nothing; :class:`BadInput` with the reason when it cannot be opened."""
    content, _ = _opened(ctx, store, row)
    opened = {name: content.get(name) for name in OPENED_FIELDS}
    opened["attachments"] = [
        {
            "name": a.get("name"),
            "media_type": a.get("media_type"),
            "size": a.get("size"),
            "sha256": a.get("blob"),
        }
        for a in content.get("attachments") or []
        if isinstance(a, dict)
    ]
    return opened


def register_subject(ctx: NodeContext, store: Store, row: dict[str, Any]) -> str:
    """The subject sealed in the received letter ``row`` for the classified control
    register (the caller has let the viewer open it; the caller records the printing), or
    the Thai reason in brackets when it cannot be opened (a key the office no longer
    holds: the sender is asked to send it again)."""
    try:
        return str(opened_content(ctx, store, row).get("subject") or "")
    except BadInput as e:
        return f"({e.message_th})"


def open_letter(
    ctx: NodeContext, store: Store, letter_id: int, viewer: Viewer = OPERATOR
) -> dict[str, Any]:
    """Open a received sealed letter for ``viewer`` (:func:`opened_content`), recorded in
    the audit trail."""
    row = _received(ctx, store, letter_id, viewer)
    opened = opened_content(ctx, store, row)
    with store.transaction():
        audit.record(store, ctx.now(), viewer.user, "open_classified", f"letter:{letter_id}", {})
    return {"id": letter_id, "secrecy": row["secrecy"], **opened}


def open_attachment(
    ctx: NodeContext, store: Store, letter_id: int, blob_sha: str, viewer: Viewer = OPERATOR
) -> tuple[str, str, bytes]:
    """The name, media type and plaintext of attachment ``blob_sha`` (its ciphertext hash)
    of a received sealed letter, checked against the hash sealed with it. Recorded."""
    row = _received(ctx, store, letter_id, viewer)
    content, key = _opened(ctx, store, row)
    for a in content.get("attachments") or []:
        if isinstance(a, dict) and a.get("blob") == blob_sha:
            break
    else:
        raise NotFound(f"no attachment {blob_sha[:12]}", message_th="ไม่พบไฟล์แนบ")
    path = blobs.blob_path(ctx.blob_dir(), blob_sha)
    if not path.is_file():
        raise NotFound("the attachment has not arrived yet", message_th="ไฟล์แนบยังมาไม่ถึง")
    try:
        plain = key.open_attachment(path.read_bytes())
    except SealRefused as e:
        raise BadInput(
            f"the sealed attachment cannot be opened: {e}",
            code=f"seal_{e.reason}",
            message_th="เปิดไฟล์แนบลับไม่ได้ เพราะข้อมูลไม่ถูกต้องหรือถูกแก้ไข ให้แจ้งต้นเรื่อง",
        ) from e
    if hashlib.sha256(plain).hexdigest() != a.get("sha256"):
        raise BadInput(
            "the opened attachment does not match the hash sealed with it",
            code="seal_attachment_altered",
            message_th="ไฟล์แนบลับไม่ตรงกับที่ต้นเรื่องปิดผนึกไว้ ให้แจ้งต้นเรื่อง",
        )
    with store.transaction():
        audit.record(
            store,
            ctx.now(),
            viewer.user,
            "download_classified",
            f"letter:{letter_id}",
            {"attachment": blob_sha},
        )
    return str(a.get("name") or "attachment"), str(a.get("media_type") or ""), plain
