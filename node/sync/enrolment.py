"""Setting a node up: enrolment with the hub, and starting its scheduler.

:func:`init_node` generates the office's signing and sealing keys (files 0600), enrols
with the hub using a one-time token, verifies the hub-signed directory and pins the hub's
keys, and writes ``config.json`` and the local API token. If the hub refuses, the keys it
generated are removed so the command can simply be run again. With ``reenroll`` it gives
an office that lost its key the next key number (ADR 0018); a rekey without a token is
:mod:`node.sync.rekey`.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Flask

from node.config import write_instance_config
from node.context import API_TOKEN_FILE, SEAL_KEY_FILE, SIGN_KEY_FILE, SOFTWARE, NodeContext
from node.errors import BadInput, Conflict, from_protocol
from node.records.directory import (
    accept_and_store,
    keys_from_list,
    load_trusted,
    next_key_number,
)
from node.records.sealed import keep_old_seal_key
from node.search.indexer import SearchIndexer
from node.storage import audit
from node.storage.store import SIDECAR_NAME, Store
from node.sync.hubclient import HubClient, HubHTTPError
from node.sync.jobs import build_scheduler
from node.sync.live import LiveSync
from protocol.api import BAD_KEY_NUMBER
from protocol.directory import TrustedDirectory
from protocol.envelope import Envelope
from protocol.errors import SarabanError
from protocol.filemodes import private_folder
from protocol.keys import Signer, fingerprint, generate_seal_key, make_keyid, save_signer
from protocol.numbers import parse_unit_code
from protocol.settings import CONFIG_FILE


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def init_node(
    instance_path: str | Path,
    hub_url: str,
    office: str,
    token: str,
    timeout: float = 20.0,
    *,
    reenroll: bool = False,
) -> dict[str, Any]:
    """Enrol ``office`` at the hub and create its node in ``instance_path``.

    With ``reenroll``, an office the hub knows that lost its signing key (or fears it was
    taken) enrolls its next key number with a token the operator issued, and the hub
    retires the old key (ADR 0018). The folder keeps what it still holds (the database, the
    API token; what the database lacks comes back from the hub at the next sync), its key
    files are replaced, and an empty ``hub_url`` or ``office`` is taken from its
    ``config.json``. Without it, a folder holding a key, or an office the hub holds a key
    of, is refused with the advice to re-enroll.
    """
    instance = Path(instance_path)
    if reenroll:
        hub_url, office = _configured(instance, hub_url, office)
    try:
        office = parse_unit_code(office)
    except SarabanError as e:
        raise BadInput(str(e), code="bad_office", message_th="รหัสหน่วยงานไม่ถูกต้อง") from e
    sign_path, seal_path = instance / SIGN_KEY_FILE, instance / SEAL_KEY_FILE
    if sign_path.exists() and not reenroll:
        raise Conflict(
            f"{instance} already holds an enrolled node (re-enroll with --reenroll)",
            code="already_initialised",
            message_th="โฟลเดอร์นี้ลงทะเบียนหน่วยงานไว้แล้ว"
            " (ถ้ากุญแจหายหรือรั่วไหลให้ขอรหัสลงทะเบียนใหม่แล้วใช้ --reenroll)",
        )
    if not hub_url:
        raise BadInput("the hub's URL is needed", code="no_hub", message_th="ต้องระบุที่อยู่ศูนย์กลาง")
    private_folder(instance)
    had_config = (instance / CONFIG_FILE).exists()
    held = _held_directory(instance) if reenroll else None
    key_no = next_key_number(held, office) if held is not None else 2 if reenroll else 1
    # The new keys take the place of the old ones only once the hub has taken them.
    new_sign, new_seal = _pending(sign_path), _pending(seal_path)
    signer = Signer.generate(office, key_no)
    save_signer(signer, new_sign)
    seal_public = generate_seal_key(new_seal)
    client = HubClient(hub_url, None, time.time, timeout=timeout)
    done = False
    try:
        answer, signer = _redeem(client, token, signer, seal_public, new_sign, reenroll)
        pins = [{"keyid": k["keyid"], "public": k["public"]} for k in answer["hub_keys"]]
        env = Envelope.from_wire(answer["directory"])
        os.replace(new_sign, sign_path)
        keep_old_seal_key(seal_path)
        os.replace(new_seal, seal_path)
        write_instance_config(instance, {"HUB_URL": hub_url, "OFFICE": office})
        ctx = NodeContext.load(instance)
        with Store(ctx.settings["DATABASE"], sidecar=instance / SIDECAR_NAME) as store:
            with store.transaction():
                # A node that held a directory trusts the hub keys it pinned, not the answer.
                trusted = accept_and_store(
                    store,
                    env,
                    time.time(),
                    pinned=None if held is not None else keys_from_list(pins),
                    pinned_list=None if held is not None else pins,
                    instance=instance,
                )
                store.set_setting("office", office)
                audit.record(
                    store,
                    time.time(),
                    "admin",
                    "reenrolled" if reenroll else "enrolled",
                    f"office:{office}",
                    {"hub": hub_url, "keyid": signer.keyid, "directory_version": trusted.version},
                )
        done = True
    except (SarabanError, KeyError, TypeError) as e:
        if isinstance(e, SarabanError):
            raise from_protocol(e) from e
        raise BadInput(
            f"the hub's enrolment answer is malformed: {e}", code="bad_enrol_answer"
        ) from e
    finally:
        client.close()
        for path in (new_sign, new_seal):
            path.unlink(missing_ok=True)
        if not done and not reenroll:
            made = [sign_path, seal_path] + ([] if had_config else [instance / CONFIG_FILE])
            for path in made:
                path.unlink(missing_ok=True)
    if not (instance / API_TOKEN_FILE).exists():
        _write_secret(instance / API_TOKEN_FILE, secrets.token_urlsafe(32) + "\n")
    return {
        "office": office,
        "keyid": signer.keyid,
        "fingerprint": fingerprint(signer.public_b64()),
        "hub_url": hub_url,
        "directory_version": trusted.version,
        "reenrolled": reenroll,
        "instance": str(instance),
        "api_token_file": str(instance / API_TOKEN_FILE),
    }


def _pending(path: Path) -> Path:
    return path.with_name(path.name + ".new")


def _configured(instance: Path, hub_url: str, office: str) -> tuple[str, str]:
    """``hub_url`` and ``office``, each from the folder's ``config.json`` when empty."""
    if (hub_url and office) or not (instance / CONFIG_FILE).exists():
        return hub_url, office
    settings = NodeContext.load(instance).settings
    return hub_url or str(settings.get("HUB_URL") or ""), office or str(
        settings.get("OFFICE") or ""
    )


def _held_directory(instance: Path) -> TrustedDirectory | None:
    """The directory the folder's database holds, if it has one (re-enrolment)."""
    if not (instance / CONFIG_FILE).exists():
        return None
    ctx = NodeContext.load(instance)
    if not Path(ctx.settings["DATABASE"]).exists():
        return None
    with ctx.open_store() as store:
        return load_trusted(store)


def _redeem(
    client: HubClient,
    token: str,
    signer: Signer,
    seal_public: str,
    key_path: Path,
    reenroll: bool,
) -> tuple[dict[str, Any], Signer]:
    """Redeem the token for ``signer``'s key; a re-enrolment whose key number the hub
    corrects (``next_key_no``) asks once more with that number. The answer and the key."""

    def ask(key: Signer) -> dict[str, Any]:
        return client.enroll(
            {
                "token": token,
                "office": key.office,
                "sign_keyid": key.keyid,
                "sign_public": key.public_b64(),
                "seal_public": seal_public,
                "software": SOFTWARE,
            }
        )

    try:
        return ask(signer), signer
    except HubHTTPError as e:
        number = e.body.get("next_key_no")
        if e.error != BAD_KEY_NUMBER or isinstance(number, bool) or not isinstance(number, int):
            raise
        if not reenroll:
            raise Conflict(
                f"the hub holds a key of {signer.office} already: re-enroll with --reenroll",
                code="already_enrolled",
                message_th="ศูนย์กลางลงทะเบียนหน่วยงานนี้ไว้แล้ว ถ้าเครื่องเดิมเสียหรือกุญแจหาย"
                "ให้ขอรหัสลงทะเบียนใหม่จากศูนย์กลางแล้วรัน saraban node init --reenroll",
            ) from e
    signer = Signer(make_keyid(signer.office, number), signer.private_key)
    save_signer(signer, key_path)
    return ask(signer), signer


def start_scheduler(app: Flask) -> Any:
    """Start the sync and nightly jobs for a node app unless ``SCHEDULER`` is off, with the
    search index's worker (:mod:`node.search.indexer`) and the live sync
    (:mod:`node.sync.live`) unless ``WATCH_SECONDS`` is 0."""
    if not app.config.get("SCHEDULER", True):
        return None
    ctx: NodeContext = app.extensions["saraban_node"]
    scheduler = build_scheduler(ctx)
    scheduler.start()
    app.extensions["saraban_scheduler"] = scheduler
    app.extensions["saraban_indexer"] = SearchIndexer(ctx).start()
    if float(ctx.settings["WATCH_SECONDS"]) > 0:
        app.extensions["saraban_live"] = LiveSync(ctx).start()
    return scheduler
