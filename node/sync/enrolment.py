"""Setting a node up: enrolment with the hub, and starting its scheduler.

:func:`init_node` generates the office's signing and sealing keys (files 0600), enrols
with the hub using a one-time token, verifies the hub-signed directory and pins the hub's
keys, and writes ``config.json`` and the local API token. If the hub refuses, the keys it
generated are removed so the command can simply be run again.
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
from node.records.directory import accept_and_store, keys_from_list
from node.search.indexer import SearchIndexer
from node.storage import audit
from node.storage.store import SIDECAR_NAME, Store
from node.sync.hubclient import HubClient
from node.sync.jobs import build_scheduler
from node.sync.live import LiveSync
from protocol.envelope import Envelope
from protocol.errors import SarabanError
from protocol.keys import Signer, fingerprint, generate_seal_key, save_signer
from protocol.numbers import parse_unit_code


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def init_node(
    instance_path: str | Path, hub_url: str, office: str, token: str, timeout: float = 20.0
) -> dict[str, Any]:
    """Enrol ``office`` at the hub and create its node in ``instance_path``."""
    instance = Path(instance_path)
    try:
        office = parse_unit_code(office)
    except SarabanError as e:
        raise BadInput(str(e), code="bad_office", message_th="รหัสหน่วยงานไม่ถูกต้อง") from e
    sign_path, seal_path = instance / SIGN_KEY_FILE, instance / SEAL_KEY_FILE
    if sign_path.exists():
        raise Conflict(
            f"{instance} already holds an enrolled node",
            code="already_initialised",
            message_th="โฟลเดอร์นี้ลงทะเบียนหน่วยงานไว้แล้ว",
        )
    instance.mkdir(parents=True, exist_ok=True)
    signer = Signer.generate(office)
    save_signer(signer, sign_path)
    seal_public = generate_seal_key(seal_path)
    client = HubClient(hub_url, None, time.time, timeout=timeout)
    try:
        answer = client.enroll(
            {
                "token": token,
                "office": office,
                "sign_keyid": signer.keyid,
                "sign_public": signer.public_b64(),
                "seal_public": seal_public,
                "software": SOFTWARE,
            }
        )
        pins = [{"keyid": k["keyid"], "public": k["public"]} for k in answer["hub_keys"]]
        env = Envelope.from_wire(answer["directory"])
        write_instance_config(instance, {"HUB_URL": hub_url, "OFFICE": office})
        ctx = NodeContext.load(instance)
        with Store(ctx.settings["DATABASE"], sidecar=instance / SIDECAR_NAME) as store:
            with store.transaction():
                trusted = accept_and_store(
                    store,
                    env,
                    time.time(),
                    pinned=keys_from_list(pins),
                    pinned_list=pins,
                    instance=instance,
                )
                store.set_setting("office", office)
                audit.record(
                    store,
                    time.time(),
                    "admin",
                    "enrolled",
                    f"office:{office}",
                    {"hub": hub_url, "keyid": signer.keyid, "directory_version": trusted.version},
                )
    except (SarabanError, KeyError, TypeError) as e:
        for path in (sign_path, seal_path, instance / "config.json"):
            path.unlink(missing_ok=True)
        if isinstance(e, SarabanError):
            raise from_protocol(e) from e
        raise BadInput(
            f"the hub's enrolment answer is malformed: {e}", code="bad_enrol_answer"
        ) from e
    finally:
        client.close()
    token_text = secrets.token_urlsafe(32)
    _write_secret(instance / API_TOKEN_FILE, token_text + "\n")
    return {
        "office": office,
        "keyid": signer.keyid,
        "fingerprint": fingerprint(signer.public_b64()),
        "hub_url": hub_url,
        "directory_version": trusted.version,
        "instance": str(instance),
        "api_token_file": str(instance / API_TOKEN_FILE),
    }


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
